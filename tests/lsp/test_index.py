"""The language server's name index: every name used in the project's models resolves to its
declaration, with the type the checker gives it."""

from __future__ import annotations

from pathlib import Path

import pytest

from kcheck.lang import ast
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.lang.parser import parse
from kcheck.lsp.analysis import analyse, formatted, hover_text

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = [ROOT / "tests/fixtures" / f for f in ("everything.kdsl", "everything_controllers.kdsl")]
MODELS = sorted((ROOT / "models").glob("*.kdsl")) + FIXTURES


def _uses(program: ast.Program) -> list[tuple[str, ast.Span]]:
    """Every place a model names something declared elsewhere."""
    out: list[tuple[str, ast.Span]] = []
    for n in ast.walk_nodes(program):
        match n:
            case ast.Name(id=name):
                out.append((name, n.span))
            case ast.Field(name=name):
                out.append((name, n.name_span))
            case ast.Call(func=name):
                out.append((name, n.func_span))
            case ast.Create(kind=name):
                out.append((name, n.kind_span))
            case ast.LValue(parts=parts):
                out.extend(zip(parts, n.part_spans, strict=True))
            case ast.Watch(kind=name):
                out.append((name, n.kind_span))
    return out


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_every_name_in_a_model_resolves(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    check_source(Source(str(path), text))  # the models check, so every name has a meaning
    analysis = analyse(str(path), text)
    assert analysis.index is not None
    uses = _uses(parse(Source(str(path), text)))
    assert uses
    for name, span in uses:
        ref = analysis.index.at(span.line, span.col)
        # an actor's local resolves to the state var it is (`pending` -> `rs.pending`); a
        # module's function is called by its namespaced name (`owners.ready`)
        assert ref is not None and ref.name.split(".")[-1] == name.split(".")[-1], (name, span)
        if ref.what != "builtin function":
            assert ref.decl != ast.NOWHERE, ref
            if ref.what.startswith(("parameter of filter", "parameter of score")):
                continue  # spanless in the tree: they lead to the filter's name
            # the declaration's span names the same thing
            # (in the module's file when an import declares it)
            lines = (
                Path(ref.decl.file).read_text().split("\n")
                if ref.decl.file
                else analysis.source.lines
            )
            line = lines[ref.decl.line - 1]
            assert line[ref.decl.col - 1 : ref.decl.end_col - 1] == name.split(".")[-1], (ref, line)


def test_types_follow_fields_lets_and_binders() -> None:
    text = """model m
const N = 2
enum Phase { Pending, Running }
kind Node[N] ordered { cap: 0..4 = 4 }
kind Pod[N] { node: Node? = none, phase: Phase = Pending }
var bound: set<Pod> = {}
def free(n: Node): int = n.cap - (count p in Pod where p.node == n)
process sched {
  action bind for p in Pod {
    let n = Node[0]
    choose q in bound { q.node := n }
    p.node.cap := free(n)
  }
}
"""
    analysis = analyse("m.kdsl", text)
    assert analysis.diagnostics == ()
    assert analysis.index is not None
    lines = text.split("\n")

    def hover(line: int, needle: str, offset: int = 0) -> str:
        col = lines[line - 1].index(needle) + 1 + offset
        ref = analysis.index.at(line, col) if analysis.index else None
        assert ref is not None, needle
        return hover_text(analysis, ref)

    assert "(field of Node) cap: 0..4" in hover(12, "cap")
    assert "(field of Pod) node: Node?" in hover(12, "node")
    assert "(let name) n: Node" in hover(12, "n)")
    assert "(bound name) q: Pod" in hover(11, "q.node")  # bound over a set<Pod> var
    assert "(def) free: (n: Node) -> int" in hover(12, "free")
    assert "(parameter of free) n: Node" in hover(7, "n.cap")
    assert "(member of Phase) Pending: Phase" in hover(5, "Pending")
    assert "declared at line 3: `enum Phase { Pending, Running }`" in hover(5, "Pending")


def test_names_resolve_in_a_model_that_does_not_type_check() -> None:
    text = (
        "model m\nkind Pod[2] { ready: bool = false }\nvar x: bool = 3\n"
        "invariant i: forall p in Pod: p.ready\n"
    )
    analysis = analyse("m.kdsl", text)
    assert [d.code for d in analysis.diagnostics] == ["KC0301"]
    assert analysis.index is not None
    ref = analysis.index.at(4, text.split("\n")[3].index("ready") + 1)
    assert ref is not None and ref.type == "bool" and ref.decl.line == 2


def test_no_index_and_no_formatting_when_the_text_does_not_parse() -> None:
    analysis = analyse("m.kdsl", "model m\nvar x: bool = \n")
    assert analysis.index is None
    assert [d.code for d in analysis.diagnostics] == ["KC0103"]
    assert formatted("m.kdsl", "model m\nvar x: bool = \n") is None


def test_actors_resolve_from_restart_budget_and_feasible() -> None:
    text = """model m
kind Node[1] { up: bool = true }
kind Pod[1] { node: Node? = none }
controller kubelet watches Pod {
  action a for p in Pod { p.node := none }
}
fault crash budget 2 {
  action down for n in Node when budget(crash) > 0 {
    n.up := false
    restart kubelet
  }
}
scheduler sched binds Pod.node {
  filter ready(p, n) = n.up
}
invariant fits: forall p in Pod: forall n in Node: feasible(sched, p, n) or not n.up
"""
    analysis = analyse("m.kdsl", text)
    assert [d.code for d in analysis.diagnostics if d.severity == "error"] == []
    assert analysis.index is not None
    lines = text.split("\n")
    for line, needle, what, decl_line in [
        (10, "kubelet", "controller", 4),
        (8, "crash)", "fault", 7),
        (16, "sched,", "scheduler", 13),
        (14, "n.up", "parameter of filter ready", 14),
        (13, "node {", "field of Pod", 3),
    ]:
        ref = analysis.index.at(line, lines[line - 1].index(needle) + 1)
        assert ref is not None and ref.what == what and ref.decl.line == decl_line, (needle, ref)
