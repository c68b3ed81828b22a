"""Two constructs added for model authors: `x not in S`, and `budget(f)`, the remaining budget
of a fault."""

from __future__ import annotations

import textwrap

import pytest

from kcheck.explore.bfs import explore
from kcheck.lang import ast
from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.fmt import format_program
from kcheck.lang.frontend import check_source
from kcheck.lang.parser import parse
from kcheck.model.compile import compile_model

MODEL = textwrap.dedent(
    """
    model b
    enum App { Web, Db }
    var x: 0..3 = 0
    var tags: set<App> = {}
    controller c {
      action tag when Web not in tags { tags := tags | {Web} }
    }
    fault f budget 2 {
      action bump when x < 3 { x := x + 1 }
    }
    invariant spent_matches: budget(f) + x == 2
    invariant db_never: Db not in tags
    property tagged: eventually always not (Web not in tags)
    """
)


def test_not_in_is_the_negation_of_in_and_prints_back_as_written() -> None:
    program = parse(Source("b.kdsl", MODEL))
    inv = next(d for d in program.decls if isinstance(d, ast.Invariant) and d.name == "db_never")
    assert inv.expr == ast.Unary("not", ast.Binary("in", ast.Name("Db"), ast.Name("tags")))
    text = format_program(program)
    assert "invariant db_never: Db not in tags" in text
    assert "eventually always not (Web not in tags)" in text
    assert parse(Source("again.kdsl", text)) == program


def test_budget_reads_what_a_fault_has_left() -> None:
    model = compile_model(check_source(Source("b.kdsl", MODEL)).symbols)
    result = explore(model)
    assert {p.name: p.status for p in result.properties} == {
        "spent_matches": "holds",
        "db_never": "holds",
        "tagged": "holds",
    }
    assert result.stats.states == 6


def test_budget_of_an_unknown_fault_is_a_name_error_with_a_hint() -> None:
    text = MODEL.replace("budget(f) + x", "budget(ff) + x")
    with pytest.raises(KcheckError) as err:
        check_source(Source("b.kdsl", text))
    (d,) = err.value.diagnostics
    assert d.code == "KC0201" and d.help == "did you mean `f`?"
