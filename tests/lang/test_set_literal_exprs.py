"""Set literals hold expressions (issue 19 point 6, spec/language.md section 6): `{p.node}` parses,
is typed by its elements (an enum or a kind, `K?` included), prints back as written, and the
elements that cannot be in a set (integers, `none`, a mix of types) are located errors with a
hint. The engines' agreement on such literals is tests/explore/test_set_literal_engines.py."""

from __future__ import annotations

from kcheck.lang.check import check_program
from kcheck.lang.diagnostics import Diagnostic, Source
from kcheck.lang.fmt import format_program
from kcheck.lang.parser import parse
from kcheck.lang.symbols import build_symbols

MODEL = """model m
enum Phase {{ Pending, Running }}
kind Node[2] {{ ready: bool = true }}
kind Pod[2] {{ node: Node?  phase: Phase = Pending }}
var seen: set<Node> = {{}}
process p {{
  action a for q in Pod, r in Pod {{ {stmt} }}
}}
"""


def diagnostics(stmt: str) -> list[Diagnostic]:
    symbols, diags = build_symbols(parse(Source("t.kdsl", MODEL.format(stmt=stmt))))
    return diags + check_program(symbols)


def test_a_set_literal_of_field_reads_is_well_typed() -> None:
    assert diagnostics("seen := {q.node, r.node}") == []
    assert diagnostics("seen := seen | {q.node}") == []
    assert diagnostics("if q.phase in {r.phase, Running} { seen := {} }") == []
    assert diagnostics("if q.node in {r.node} { seen := {} }") == []


def test_elements_a_set_cannot_hold_are_located_errors_with_hints() -> None:
    (d,) = diagnostics("seen := {q.node, 1 + 1}")
    assert (d.code, d.span.line, d.span.col) == ("KC0301", 7, 54)
    assert "not int" in d.message and d.help is not None and "x == 1 or" in d.help
    (d,) = diagnostics("seen := {q.node, none}")
    assert (d.code, d.span.col) == ("KC0301", 54)
    assert d.help is not None and "`{}`" in d.help
    (d,) = diagnostics("seen := {q.node, r.phase}")
    assert d.code == "KC0301" and "mixes Node and Phase" in d.message
    (d,) = diagnostics("seen := {q.phase}")
    assert d.code == "KC0301"  # a set<Phase> is not a set<Node>


def test_set_literals_of_expressions_format_and_round_trip() -> None:
    text = MODEL.format(stmt="seen := {q.node,r.node}")
    out = format_program(parse(Source("t.kdsl", text)), text)
    assert "seen := {q.node, r.node}" in out
    assert format_program(parse(Source("t.kdsl", out)), out) == out
    assert parse(Source("t.kdsl", out)) == parse(Source("t.kdsl", text))
