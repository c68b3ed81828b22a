"""An actor's local state (issue 19 point 5, spec/language.md §3 "Local state"): `var` inside a
controller or process parses, prints back, resolves in the actor's own actions and as `X.v` in
invariants and properties, and every misuse is a located error with a hint. The engines'
agreement on it is tests/explore/test_actor_locals_engines.py."""

from __future__ import annotations

import pytest

from kcheck.lang import ast
from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.fmt import format_program
from kcheck.lang.frontend import check_source
from kcheck.lang.parser import parse

GOOD = """model m

kind D[2] {
  want: 0..2 = 0
}

controller rs watches D stale {
  var pending: 0..2 = 0
  var target: D? = none
  action decide for d in D when target == none {
    pending := d.want
    target := d
  }
  action act when target != none {
    target.want := pending
    target := none
  }
}

process clock {
  var ticks: 0..3 = 0
  action tick when ticks < 3 {
    ticks := ticks + 1
  }
}

fault crash budget 1 {
  action go {
    restart rs
  }
}

invariant believed: rs.target == none or rs.pending <= 2
"""


def errors(text: str) -> list[tuple[str, int, int, str]]:
    with pytest.raises(KcheckError) as info:
        check_source(Source("t.kdsl", text))
    return [(d.code, d.span.line, d.span.col, d.help or "") for d in info.value.diagnostics]


def test_locals_parse_into_their_actor_and_format_back() -> None:
    program = parse(Source("t.kdsl", GOOD))
    rs = next(d for d in program.decls if isinstance(d, ast.Controller))
    assert [v.name for v in rs.locals] == ["pending", "target"]
    assert format_program(program, GOOD) == GOOD


def test_locals_become_state_vars_named_after_their_actor() -> None:
    sym = check_source(Source("t.kdsl", GOOD)).symbols
    assert {"rs.pending", "rs.target", "clock.ticks"} <= set(sym.vars)


def test_restart_resets_the_locals_to_their_initial_values() -> None:
    sym = check_source(Source("t.kdsl", GOOD)).symbols
    fault = next(a for a in sym.actors if isinstance(a, ast.Fault))
    stmts = fault.actions[0].body.stmts
    assert isinstance(stmts[0], ast.Restart)
    resets = {s.target.parts[0]: s.value for s in stmts[1:] if isinstance(s, ast.Assign)}
    assert resets == {"rs.pending": ast.IntLit(0), "rs.target": ast.NoneLit()}


BAD = """model m
var x: 0..3 = 0
kind D[2] {{ want: 0..2 = 0 }}
controller c {{
  var pending: 0..2 = 0
  {line5}
}}
process p {{
  {line8}
}}
{line10}
"""


@pytest.mark.parametrize(
    ("line5", "line8", "line10", "code", "line", "col", "hint"),
    [
        ("var x: 0..1 = 0", "", "", "KC0207", 6, 7, "rename the local"),
        ("var pending: bool = false", "", "", "KC0202", 6, 7, "rename one"),
        ("action a for pending in D { }", "", "", "KC0207", 6, 16, "rename this one"),
        ("action a { let pending = 1 }", "", "", "KC0207", 6, 18, "rename this one"),
        ("", "action b { pending := 1 }", "", "KC0201", 9, 14, "read it as `c.pending`"),
        ("", "action b { c.pending := 1 }", "", "KC0502", 9, 14, "share the value"),
        ("", "action b { x := c.pending }", "", "KC0502", 9, 19, "share the value"),
        ("", "", "def f(): int = c.pending", "KC0502", 11, 16, "share the value"),
        ("", "", "init { c.pending := 1 }", "KC0502", 11, 8, "share the value"),
        ("action a { pending := 3 }", "", "", "KC0401", 6, 25, ""),
    ],
)
def test_misused_locals_are_located_errors_with_hints(
    line5: str, line8: str, line10: str, code: str, line: int, col: int, hint: str
) -> None:
    found = errors(BAD.format(line5=line5, line8=line8, line10=line10))
    assert any((c, ln, cl) == (code, line, col) and hint in h for c, ln, cl, h in found), found


def test_a_var_in_a_fault_is_a_syntax_error_that_says_who_keeps_local_state() -> None:
    text = "model m\nfault f budget 1 {\n  var k: bool = false\n  action x { }\n}\n"
    ((code, line, col, hint),) = errors(text)
    assert (code, line, col) == ("KC0102", 3, 3)
    assert "only a controller or a process keeps local state" in hint
