"""Discrete time (issue 19 point 1, spec/language.md §3 "Time"): `clock`, `after`, `within` and
`skew` parse, print back, lower to bounded ints and a generated `time.tick`, mean what the spec
says (exact counterexample lengths), and every misuse is a located error with a hint. Traces
carry the time. The engines' agreement is tests/lang/test_time_engines.py."""

from __future__ import annotations

import json

import pytest

from kcheck.explore.bfs import explore
from kcheck.lang import ast
from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.fmt import format_program
from kcheck.lang.frontend import check_source
from kcheck.lang.parser import parse
from kcheck.lang.types import TInt
from kcheck.model.compile import compile_model
from kcheck.report.text import format_trace
from kcheck.result import HOLDS, VIOLATED
from kcheck.trace import Step, Trace, times

GOOD = """model m

const LEASE = 3

kind Job[2] {
  age: clock
  done: bool
}

var since: clock = 0

process worker skew 1 {
  var mine: clock = 0
  action finish for j in Job where not j.done when after(j.age, LEASE) within 0 {
    j.done := true
  }
  action renew when since >= 2 within 1 {
    since := 0
    mine := 0
  }
}

init {
  create Job {}
}

invariant young: worker.mine < 9
"""


def errors(text: str) -> list[tuple[str, int, int, str]]:
    with pytest.raises(KcheckError) as info:
        check_source(Source("t.kdsl", text))
    return [(d.code, d.span.line, d.span.col, d.help or "") for d in info.value.diagnostics]


def test_time_parses_and_formats_back_unchanged() -> None:
    program = parse(Source("t.kdsl", GOOD))
    worker = next(d for d in program.decls if isinstance(d, ast.Process))
    assert worker.skew == ast.IntLit(1)
    assert [a.within for a in worker.actions] == [ast.IntLit(0), ast.IntLit(1)]
    assert format_program(program, GOOD) == GOOD


def test_a_clock_becomes_an_int_stopping_one_past_its_largest_constant() -> None:
    sym = check_source(Source("t.kdsl", GOOD)).symbols
    # `since` is compared with 2, `mine` with 9, `age` with LEASE = 3
    assert sym.vars["since"].type == TInt(0, 3)
    assert sym.vars["worker.mine"].type == TInt(0, 10)
    age = sym.kinds["Job"].field("age")
    assert age is not None and age.type == TInt(0, 4)
    # `within 1` counts in a var; `within 0` (urgent) needs none
    assert sym.vars["worker.renew.waited"].type == TInt(0, 1)
    assert "worker.finish.waited" not in sym.vars
    actors = {a.name: [x.name for x in a.actions] for a in sym.actors}
    assert actors["time"] == ["tick"]
    assert actors["worker_clock"] == ["misses_tick", "gains_tick"]


def _verdicts(text: str) -> dict[str, tuple[str, int | None]]:
    model = compile_model(check_source(Source("t.kdsl", text)).symbols)
    return {
        p.name: (p.status, len(p.trace) if p.trace is not None else None)
        for p in explore(model, symmetry=False).properties
    }


DEADLINE = """model d
var since: clock = 0
process p {{
  action act when true{within} {{ since := 0 }}
}}
invariant bounded: since < {n}
"""


@pytest.mark.parametrize(
    ("within", "n", "expected"),
    [
        ("", 5, (VIOLATED, 5)),  # no deadline: time may pass as long as it likes
        (" within 2", 3, (HOLDS, None)),  # `act` fires before a third tick
        (" within 2", 2, (VIOLATED, 2)),  # two ticks may pass
        (" within 0", 1, (HOLDS, None)),  # urgent: no tick while it is enabled
    ],
)
def test_within_blocks_time_while_a_deadline_is_due(
    within: str, n: int, expected: tuple[str, int | None]
) -> None:
    assert _verdicts(DEADLINE.format(within=within, n=n))["bounded"] == expected


SKEW = """model s
process p{skew} {{
  var mine: clock = 0
  action reset when after(mine, 2) within 0 {{ mine := 0 }}
}}
var real: clock = 0
invariant ahead: not (after(p.mine, 2) and real < 2)
"""


def test_skew_lets_an_actor_s_clock_miss_or_gain_ticks_within_its_budget() -> None:
    exact = _verdicts(SKEW.format(skew=""))
    assert exact["ahead"] == (HOLDS, None)
    skewed = _verdicts(SKEW.format(skew=" skew 1"))
    # a fast clock: one gained tick and one real tick reach 2 at real time 1
    assert skewed["ahead"] == (VIOLATED, 2)


def test_traces_show_the_ticks_so_far_in_text_and_json() -> None:
    model = compile_model(check_source(Source("t.kdsl", DEADLINE.format(within="", n=2))).symbols)
    (prop,) = [p for p in explore(model).properties if p.name == "bounded"]
    assert prop.trace is not None
    assert [s.action for s in prop.trace.steps] == [None, "time.tick", "time.tick"]
    lines = format_trace(prop.trace)
    assert lines[0].strip() == "0  t=0  initial state"
    assert any("2  t=2  time.tick()" in line for line in lines)
    assert [s["time"] for s in json.loads(json.dumps(prop.trace.to_json()))] == [0, 1, 2]


def test_untimed_traces_carry_no_time_and_a_missed_tick_counts() -> None:
    plain = Trace((Step(None, {}, {}), Step("clock.tick", {}, {})))
    assert times(plain) is None and "time" not in plain.to_json()[1]
    skewed = Trace(
        (
            Step(None, {}, {}),
            Step("a_clock.misses_tick", {}, {}),
            Step("a_clock.gains_tick", {}, {}),
        )
    )
    assert times(skewed) == [0, 1, 1]


BASE = """model e
const N = 2
param P: 0..4 = 1
kind K[2] {{ c: clock  n: 0..5 }}
var c: clock = 0
var x: 0..9 = 0
{extra}
process p {{
  action a when true {{ {stmt} }}
}}
invariant i: {inv}
"""


@pytest.mark.parametrize(
    ("extra", "stmt", "inv", "code", "line", "col", "hint"),
    [
        ("", "x := c", "true", "KC0301", 9, 29, "compare it"),
        ("", "c := 1", "true", "KC0301", 9, 29, "c := 0"),
        ("", "c := any 0..1", "true", "KC0301", 9, 24, "reset it"),
        ("", "x := 0", "c + 1 > 2", "KC0301", 11, 14, "compare it"),
        ("", "x := 0", "c >= x", "KC0402", 11, 19, "a `const`"),
        ("", "x := 0", "c >= P + 1", "KC0402", 11, 19, "a `param` alone"),
        ("", "x := 0", "c == c", "KC0301", 11, 14, "each with a constant"),
        ("", "x := 0", "after(x, 2)", "KC0301", 11, 20, "declare it `clock`"),
        ("", "x := 0", "after(c)", "KC0302", 11, 14, "after(c, N)"),
        ("", "create K { c: 2 }", "true", "KC0301", 9, 38, "leave `c` out"),
        ("process time { action t { x := 0 } }", "x := 0", "true", "KC0207", 7, 9, "rename"),
        ("var d: clock = 1", "x := 0", "true", "KC0301", 7, 16, "= 0"),
        ("kind L[1] { c: bool }", "x := 0", "true", "KC0301", 4, 13, "rename one"),
    ],
)
def test_a_misused_clock_is_a_located_error_with_a_hint(
    extra: str, stmt: str, inv: str, code: str, line: int, col: int, hint: str
) -> None:
    found = errors(BASE.format(extra=extra, stmt=stmt, inv=inv))
    assert (code, line, col) in [f[:3] for f in found], found
    assert any(hint in f[3] for f in found if f[:3] == (code, line, col)), found


WITHIN = """model w
var c: clock = 0
kind K[2] {{ on: bool }}
{actor} {{
  {action}
}}
invariant i: c < 9
"""


@pytest.mark.parametrize(
    ("actor", "action", "code", "col", "hint"),
    [
        ("fault f budget 1", "action a when true within 1 { c := 0 }", "KC0502", 29, "controller"),
        ("controller r watches K stale", "action a when true within 1 { c := 0 }", "KC0502", 29,
         "drop `stale`"),
        ("process p", "action a for k in K when k.on within 2 { c := 0 }", "KC0502", 40,
         "after(x.c, N)"),
        ("process p", "action a when true within c { c := 0 }", "KC0402", 29, "`const`"),
        ("process p skew 1", "action a when true { c := 0 }", "KC0502", 16, "var since: clock"),
    ],
)  # fmt: skip
def test_a_misplaced_deadline_or_skew_is_a_located_error_with_a_hint(
    actor: str, action: str, code: str, col: int, hint: str
) -> None:
    found = errors(WITHIN.format(actor=actor, action=action))
    line = 5 if code != "KC0502" or "skew" not in actor else 4
    assert any(f[:3] == (code, line, col) and hint in f[3] for f in found), found


def test_a_kind_named_clock_is_the_user_s_type_and_no_time_is_added() -> None:
    text = "model k\nenum clock { Tick, Tock }\nvar c: clock = Tick\nprocess p { action a { c := Tock } }\n"
    sym = check_source(Source("t.kdsl", text)).symbols
    assert [a.name for a in sym.actors] == ["p"]


def test_an_error_in_a_deadline_s_guard_is_reported_once() -> None:
    # the guard is also the tick's and the missed tick's (time.py)
    text = "model d\nvar c: clock = 0\nprocess p skew 1 {\n  var m: clock = 0\n  action a when c >= 1 and nope within 1 { c := 0 }\n}\n"  # fmt: skip
    assert errors(text) == [("KC0201", 5, 28, "")]


@pytest.mark.parametrize(
    ("decl", "col"),
    [
        ("process time {\n  action tick { n := 1 }\n}", 10),
        ("fault w_clock budget 1 {\n  action misses_tick { n := 1 }\n}", 10),
    ],
)
def test_an_untimed_model_cannot_name_an_action_as_a_tick(decl: str, col: int) -> None:
    """Traces count steps named `time.tick` / `A_clock.misses_tick` as time passing, so an
    untimed model's own action so named would show a time column: refused, located."""
    found = errors(f"model u\nvar n: 0..1 = 0\n{decl}\ninvariant i: n <= 1\n")
    assert [f[:3] for f in found] == [("KC0207", 4, col)], found
    assert "rename" in found[0][3]


def test_an_untimed_model_may_name_a_process_time() -> None:
    text = "model u\nvar n: 0..1 = 0\nprocess time {\n  action t { n := 1 }\n}\n"
    check_source(Source("t.kdsl", text))  # no error: only the tick's own names are taken
