"""`import` and modules (spec/language.md §13): expansion, namespacing, binding of `requires`,
and located diagnostics for every way an import can go wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Diagnostic, KcheckError, render_all
from kcheck.lang.fmt import format_program
from kcheck.lang.frontend import CheckedModel, load
from kcheck.lang.parser import parse, read_source
from kcheck.model.compile import compile_model
from kcheck.result import CheckResult

HEAD = """model m
enum Effect { NoSchedule, PreferNoSchedule, NoExecute }
kind Node[2] { taints: set<Effect> }
kind Pod[2] { tolerations: set<Effect>  node: Node? = none }
"""
INIT = """init {
  create Node { taints: {NoSchedule} }
  create Node { taints: {} }
  create Pod { tolerations: {} }
}
"""
BIND = """process sched {
  action bind for p in Pod, n in Node where p.node == none and taints.tolerates(p, n) {
    p.node := n
  }
}
"""


def check(model: CheckedModel) -> CheckResult:
    return explore(compile_model(model.symbols))


def write(tmp: Path, name: str, text: str) -> str:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def errors(path: str) -> list[Diagnostic]:
    with pytest.raises(KcheckError) as info:
        load(path)
    return [d for d in info.value.diagnostics if d.severity == "error"]


def test_a_standard_module_is_imported_and_its_defs_namespaced(tmp_path: Path) -> None:
    inv = "invariant ok: forall p in Pod where p.node != none: taints.tolerates(p, p.node)\n"
    model = load(write(tmp_path, "m.kdsl", HEAD + "import k8s.taints\n" + INIT + BIND + inv))
    assert "taints.tolerates" in model.symbols.defs
    (result,) = check(model).properties
    assert result.status == "holds"


def test_the_imported_def_means_what_the_hand_written_one_does(tmp_path: Path) -> None:
    """The pod may only go to the untainted node: a broken filter would let it reach the other."""
    inv = "invariant on_untainted: forall p in Pod: p.node == none or p.node.taints == {}\n"
    model = load(write(tmp_path, "m.kdsl", HEAD + "import k8s.taints\n" + INIT + BIND + inv))
    assert [r.status for r in check(model).properties] == ["holds"]
    loose = (
        HEAD
        + "import k8s.taints\n"
        + INIT
        + BIND.replace("taints.tolerates", "not taints.tolerates")
    )
    model = load(write(tmp_path, "loose.kdsl", loose + inv.replace("== {}", "!= {}")))
    assert [r.status for r in check(model).properties] == ["holds"]


def test_two_modules_with_one_def_name_do_not_clash(tmp_path: Path) -> None:
    lib = "module {}\ndef f(): int = {}\n"
    write(tmp_path, "lib/a.kdsl", lib.format("a", 1))
    write(tmp_path, "lib/b.kdsl", lib.format("b", 2))
    text = 'model m\nimport "lib/a.kdsl"\nimport "lib/b.kdsl"\nvar x: 0..1 = 0\n'
    text += "invariant three: a.f() + b.f() == 3\n"
    model = load(write(tmp_path, "m.kdsl", text))
    assert {"a.f", "b.f"} <= set(model.symbols.defs)
    assert [r.status for r in check(model).properties] == ["holds"]


def test_an_import_name_taken_twice_is_located_with_a_hint(tmp_path: Path) -> None:
    write(tmp_path, "a.kdsl", "module a\ndef f(): int = 1\n")
    write(tmp_path, "x/a.kdsl", "module a\ndef g(): int = 1\n")
    (d,) = errors(write(tmp_path, "m.kdsl", 'model m\nimport "a.kdsl"\nimport "x/a.kdsl"\n'))
    assert (d.code, d.span.line, d.span.col) == ("KC0704", 3, 8)
    assert d.help is not None and "as a2" in d.help


def test_a_missing_required_field_is_reported_at_the_import(tmp_path: Path) -> None:
    text = HEAD.replace("tolerations", "tols") + "import k8s.taints\n" + BIND
    (d,) = errors(write(tmp_path, "m.kdsl", text))
    assert (d.code, d.span.line, d.span.col) == ("KC0703", 5, 1)
    assert "`taints.tolerates`, used at line 7, reads it" in d.notes
    assert "has no field `tolerations: set<Effect>`" in d.message
    assert d.help == "add `tolerations: set<Effect>` to `kind Pod`"
    assert any("taints.kdsl:" in n for n in d.notes)


def test_a_mistyped_required_field_is_reported(tmp_path: Path) -> None:
    text = (
        HEAD.replace("tolerations: set<Effect>", "tolerations: bool") + "import k8s.taints\n" + BIND
    )
    (d,) = errors(write(tmp_path, "m.kdsl", text))
    assert (
        d.code == "KC0703"
        and "is `bool`, but module `k8s.taints` requires `set<Effect>`" in d.message
    )


def test_with_binds_a_required_kind_to_the_models_own(tmp_path: Path) -> None:
    text = HEAD.replace("kind Pod[2]", "kind Workload[2]").replace("create Pod", "create Workload")
    text += "import k8s.taints with Pod = Workload\n"
    text += INIT.replace("create Pod", "create Workload")
    text += (
        "invariant i: forall w in Workload, n in Node: taints.tolerates(w, n) or n.taints != {}\n"
    )
    model = load(write(tmp_path, "m.kdsl", text))
    assert [r.status for r in check(model).properties] == ["holds"]


def test_a_missing_required_kind_suggests_a_binding(tmp_path: Path) -> None:
    text = HEAD.replace("kind Pod[2]", "kind Pods[2]") + "import k8s.taints\n" + BIND
    (d,) = errors(write(tmp_path, "m.kdsl", text))
    assert d.code == "KC0703" and d.help == "bind it: `import k8s.taints with Pod = Pods`"


def test_an_unknown_standard_module_suggests_the_nearest(tmp_path: Path) -> None:
    (d,) = errors(write(tmp_path, "m.kdsl", HEAD + "import k8s.taint\n"))
    assert (d.code, d.span.line, d.span.col, d.span.end_col) == ("KC0701", 5, 8, 17)
    assert d.help == "did you mean `k8s.taints`?"


def test_an_import_cycle_is_located(tmp_path: Path) -> None:
    write(tmp_path, "a.kdsl", 'module a\nimport "b.kdsl"\n')
    write(tmp_path, "b.kdsl", 'module b\nimport "a.kdsl"\n')
    diags = errors(write(tmp_path, "m.kdsl", 'model m\nimport "a.kdsl"\n'))
    cycle = [d for d in diags if d.code == "KC0702"]
    assert len(cycle) == 1
    assert cycle[0].message == "import cycle: a.kdsl -> b.kdsl -> a.kdsl"
    assert Path(cycle[0].span.file).name == "b.kdsl" and cycle[0].span.line == 2


def test_an_error_inside_a_module_points_into_the_module(tmp_path: Path) -> None:
    write(tmp_path, "lib.kdsl", "module lib\n\ndef f(): int = true\n")
    path = write(
        tmp_path,
        "m.kdsl",
        'model m\nimport "lib.kdsl"\nvar x: 0..1 = 0\ninvariant i: lib.f() == 1\n',
    )
    (d,) = errors(path)
    assert Path(d.span.file).name == "lib.kdsl" and d.span.line == 3
    text = render_all([d], read_source(path))
    assert f"{tmp_path / 'lib.kdsl'}:3:" in text and "def f(): int = true" in text


def test_a_syntax_error_inside_a_module_points_into_the_module(tmp_path: Path) -> None:
    write(tmp_path, "lib.kdsl", "module lib\ndef f(): int = = 1\n")
    diags = errors(write(tmp_path, "m.kdsl", 'model m\nimport "lib.kdsl"\n'))
    assert [(d.code, Path(d.span.file).name, d.span.line) for d in diags] == [
        ("KC0102", "lib.kdsl", 2),
        ("KC0701", "", 2),
    ]


def test_a_module_cannot_read_the_models_names_without_requiring_them(tmp_path: Path) -> None:
    write(tmp_path, "lib.kdsl", "module lib\ndef f(): int = LIMIT\n")
    (d,) = errors(write(tmp_path, "m.kdsl", 'model m\nconst LIMIT = 2\nimport "lib.kdsl"\n'))
    assert d.code == "KC0703" and d.message.endswith(
        "reads `LIMIT`, which it neither declares nor requires"
    )
    assert Path(d.span.file).name == "lib.kdsl" and (d.span.line, d.span.col) == (2, 16)


def test_an_unknown_module_function_suggests_the_nearest(tmp_path: Path) -> None:
    text = (
        HEAD + "import k8s.taints\ninvariant i: forall p in Pod, n in Node: taints.tolerate(p, n)\n"
    )
    (d,) = errors(write(tmp_path, "m.kdsl", text))
    assert (d.code, d.span.line, d.span.col) == ("KC0205", 6, 42)
    assert d.help == "did you mean `tolerates`?"


def test_a_module_is_not_checked_alone(tmp_path: Path) -> None:
    (d,) = errors(write(tmp_path, "lib.kdsl", "module lib\ndef f(): int = 1\n"))
    assert d.code == "KC0503" and d.help is not None and "import lib" in d.help


def test_module_state_actions_and_invariants_are_namespaced(tmp_path: Path) -> None:
    lib = "module counter\nvar n: 0..3 = 0\nprocess tick {\n  action inc when n < 3 {\n"
    lib += "    n := n + 1\n  }\n}\ninvariant small: n <= 1\n"
    write(tmp_path, "counter.kdsl", lib)
    model = load(
        write(tmp_path, "m.kdsl", 'model m\nimport "counter.kdsl"\ninvariant mine: counter.n < 3\n')
    )
    results = {r.name: r for r in check(model).properties}
    assert set(results) == {"counter.small", "mine"}
    assert not model.warnings  # the module's process acts: no "the model has no actions"
    small = results["counter.small"]
    assert small.status == "violated" and small.trace is not None
    assert (small.trace.steps[-1].action or "").startswith("counter.tick")


def test_import_and_requires_survive_fmt(tmp_path: Path) -> None:
    src = 'model m\n\nimport k8s.taints\nimport "lib/x.kdsl" as x with Pod = Workload, Node = Machine\n'
    path = write(tmp_path, "m.kdsl", src)
    assert format_program(parse(read_source(path))) == src
    lib = "module k8s.x\n\nrequires enum Effect { NoSchedule, NoExecute }\nrequires kind Pod { node: Node?  cpu: int }\n"
    path = write(tmp_path, "x.kdsl", lib)
    assert format_program(parse(read_source(path))) == lib


def test_as_and_with_stay_free_as_names(tmp_path: Path) -> None:
    model = load(write(tmp_path, "m.kdsl", "model m\nconst as = 1\nvar with: 0..1 = as\n"))
    assert "with" in model.symbols.vars


def test_a_modules_locals_may_be_named_like_the_models_declarations(tmp_path: Path) -> None:
    """k8s.fit binds `p`, `n` and `q`; a model with a const `n` and an invariant `p` imports it."""
    text = """model m
import k8s.fit
const n = 1
kind Node[1] { cpu: 1..2  mem: 1..2 }
kind Pod[1] { cpu: 1..2  mem: 1..2  node: Node? = none }
init { create Node { cpu: 2, mem: 2 } }
invariant p: forall x in Node: fit.within_allocatable(x) and n == 1
"""
    model = load(write(tmp_path, "m.kdsl", text))
    assert not [w for w in model.warnings if w.code == "KC0207"]
    assert [r.status for r in check(model).properties] == ["holds"]


def test_a_local_shadowing_a_local_inside_a_module_is_still_reported(tmp_path: Path) -> None:
    write(tmp_path, "lib.kdsl", "module lib\ndef f(x: int): bool = exists x in 0..2: x == 1\n")
    diags = errors(write(tmp_path, "m.kdsl", 'model m\nimport "lib.kdsl"\ninvariant i: lib.f(1)\n'))
    assert [(d.code, Path(d.span.file).name) for d in diags] == [("KC0207", "lib.kdsl")]


def test_a_local_cannot_take_an_imports_name(tmp_path: Path) -> None:
    text = HEAD + "import k8s.taints\ninvariant i: forall taints in Node: taints.taints == {}\n"
    (d,) = errors(write(tmp_path, "m.kdsl", text))
    assert (d.code, d.span.line, d.span.col) == ("KC0704", 6, 21)
