"""What a module requires is checked for what the model uses (spec/language.md §13): a model
that calls only `readiness.containers_ready` declares only the pod's containers, a model that
calls a function reading a requirement it does not meet gets KC0703 at the import naming the
call, and a required array of records (`containers: Container[_]`) is checked like any field."""

from __future__ import annotations

from pathlib import Path

import pytest

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Diagnostic, KcheckError
from kcheck.lang.frontend import load
from kcheck.model.compile import compile_model

MODEL = """model m
import k8s.readiness
record Container {
  ready: bool = false
}
kind Pod[1] {
  containers: Container[2]
  ready: bool = false
}
init {
  create Pod {}
}
process kubelet {
  action probe for p in Pod, c in p.containers where not c.ready {
    c.ready := true
  }
  action sync for p in Pod where p.ready != readiness.containers_ready(p) {
    p.ready := readiness.containers_ready(p)
  }
}
invariant ready_when_containers_are: forall p in Pod: p.ready implies readiness.containers_ready(p)
"""


def write(tmp: Path, text: str) -> str:
    path = tmp / "m.kdsl"
    path.write_text(text, encoding="utf-8")
    return str(path)


def errors(path: str) -> list[Diagnostic]:
    with pytest.raises(KcheckError) as info:
        load(path)
    return [d for d in info.value.diagnostics if d.severity == "error"]


def test_a_model_declares_only_what_the_functions_it_calls_read(tmp_path: Path) -> None:
    # no `app`, no `phase`, no enums: `serving` and `addresses` are left out of the expansion
    checked = load(write(tmp_path, MODEL))
    assert "readiness.containers_ready" in checked.symbols.defs
    assert "readiness.serving" not in checked.symbols.defs
    result = explore(compile_model(checked.symbols))
    assert [p.status for p in result.properties] == ["holds"]
    assert result.stats.states == 5  # containers (0, 0) (1, 0) (0, 1) (1, 1), then Ready


def test_calling_a_function_whose_requirement_is_unmet_names_the_call(tmp_path: Path) -> None:
    text = MODEL + "invariant addressed: forall p in Pod: readiness.serving(p) implies p.ready\n"
    diags = errors(write(tmp_path, text))
    assert {d.code for d in diags} == {"KC0703"}
    assert all((d.span.line, d.span.col) == (2, 1) for d in diags)
    messages = " | ".join(d.message for d in diags)
    assert "requires enum `Phase`, which the model does not declare" in messages
    assert "kind `Pod` has no field `phase: Phase`" in messages
    assert "kind `Pod` has no field `app: App`" not in messages  # serving does not read it
    assert all("`readiness.serving`, used at line 22, reads it" in d.notes for d in diags)


def test_a_missing_array_field_is_reported_at_the_import(tmp_path: Path) -> None:
    text = MODEL.replace("  containers: Container[2]\n", "").replace(
        "action probe for p in Pod, c in p.containers where not c.ready {\n    c.ready := true",
        "action probe for p in Pod where not p.ready {\n    p.ready := true",
    )
    (d,) = errors(write(tmp_path, text))
    assert (d.code, d.span.line, d.span.col) == ("KC0703", 2, 1)
    assert "kind `Pod` has no field `containers: Container[_]`" in d.message
    assert d.help == (
        "add `containers: Container[_]` to `kind Pod` (`_`: of any size, e.g. `Container[2]`)"
    )
    assert any(n.startswith("required at readiness.kdsl:") for n in d.notes)
    assert "`readiness.containers_ready`, used at line 16, reads it" in d.notes


def test_an_array_field_of_another_type_is_reported(tmp_path: Path) -> None:
    text = MODEL.replace("record Container {", "record Probe {").replace(
        "containers: Container[2]", "containers: Probe[2]"
    )
    (record, d) = errors(write(tmp_path, text))
    assert "requires record `Container`, which the model does not declare" in record.message
    assert d.code == "KC0703" and (d.span.line, d.span.col) == (2, 1)
    assert "field `Pod.containers` is `Probe[_]`, but module `k8s.readiness` requires" in d.message
    assert "`Pod.containers` declared at line 7" in d.notes


def test_a_required_record_may_be_bound_to_the_models_own(tmp_path: Path) -> None:
    text = (
        MODEL.replace("record Container {", "record Probe {")
        .replace("containers: Container[2]", "containers: Probe[2]")
        .replace("import k8s.readiness", "import k8s.readiness with Container = Probe")
    )
    result = explore(compile_model(load(write(tmp_path, text)).symbols))
    assert [p.status for p in result.properties] == ["holds"] and result.stats.states == 5


def test_a_required_record_without_the_field_is_reported(tmp_path: Path) -> None:
    text = MODEL.replace("  ready: bool = false\n}\nkind", "  up: bool = false\n}\nkind")
    text = text.replace("c.ready", "c.up").replace("readiness.containers_ready(p)", "p.ready")
    text += "invariant i: forall p in Pod: readiness.containers_ready(p) or not p.ready\n"
    (d,) = errors(write(tmp_path, text))
    assert d.code == "KC0703" and "record `Container` has no field `ready: bool`" in d.message
    assert d.help == "add `ready: bool` to `record Container`"


def test_a_missing_record_suggests_a_binding(tmp_path: Path) -> None:
    text = MODEL.replace("record Container {", "record Containers {").replace(
        "containers: Container[2]", "containers: Containers[2]"
    )
    record, field = errors(write(tmp_path, text))
    assert record.help == "bind it: `import k8s.readiness with Container = Containers`"
    assert field.message.startswith("field `Pod.containers` is `Containers[_]`")


def test_a_required_array_field_has_any_size(tmp_path: Path) -> None:
    (tmp_path / "lib.kdsl").write_text(
        "module lib\nrequires record C { ready: bool }\nrequires kind Pod { cs: C[2] }\n"
        "def all_ready(p: Pod): bool = forall c in p.cs: c.ready\n",
        encoding="utf-8",
    )
    (d,) = errors(write(tmp_path, 'model m\nimport "lib.kdsl"\n'))
    assert d.code == "KC0503" and Path(d.span.file).name == "lib.kdsl"
    assert (d.span.line, d.span.col) == (3, 25) and "`cs: C[_]`" in d.message


LIB = """module lib
requires kind Pod { ready: bool  cpu: int }
def heavy(p: Pod): bool = p.cpu > 1
def ready_and_heavy(p: Pod): bool = p.ready and heavy(p)
def readies(): int = count p in Pod where p.ready
"""
USER = """model m
import "lib.kdsl"
kind Pod[1] { ready: bool = false }
init {
  create Pod {}
}
process kubelet {
  action ready for p in Pod where not p.ready {
    p.ready := true
  }
}
"""


def test_a_function_reads_what_the_functions_it_calls_read(tmp_path: Path) -> None:
    (tmp_path / "lib.kdsl").write_text(LIB, encoding="utf-8")
    fine = USER + "invariant few: lib.readies() <= 1\n"
    assert explore(compile_model(load(write(tmp_path, fine)).symbols)).stats.states == 2
    text = USER + "invariant i: forall p in Pod: not lib.ready_and_heavy(p)\n"
    (d,) = errors(write(tmp_path, text))
    assert d.code == "KC0703" and "kind `Pod` has no field `cpu: int`" in d.message
    assert "`lib.ready_and_heavy`, used at line 12, reads it" in d.notes


def test_a_modules_actor_needs_what_it_reads_whatever_the_model_calls(tmp_path: Path) -> None:
    lib = LIB + "process scale {\n  action grow for p in Pod where p.cpu < 2 {\n"
    lib += "    p.cpu := p.cpu + 1\n  }\n}\n"
    (tmp_path / "lib.kdsl").write_text(lib, encoding="utf-8")
    (d,) = errors(write(tmp_path, USER))
    assert d.code == "KC0703" and "the module's process `scale` reads it" in d.notes
