"""`assume NAME: e`: a constraint between consts and params. Checked once the -D values are
known (KC0406), refused where it reads the state (KC0402), printed by `kcheck fmt`, and honoured
by the Z3 engine's symbolic params, which range only where every assumption holds."""

from __future__ import annotations

from itertools import product

import pytest

from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.fmt import format_program
from kcheck.lang.frontend import check_source
from kcheck.lang.parser import parse
from kcheck.model.compile import compile_model
from kcheck.result import INCONCLUSIVE, VIOLATED
from kcheck.smt.induction import induction
from kcheck.smt.params import symbolic_bmc

STRATEGY = """model rollout
param surge: 0..2 = 1
param unavailable: 0..2 = 0
var x: 0..3 = 0
assume valid_strategy: surge + unavailable >= 1
controller c {
  action grow when x < 3 {
    x := x + 1
  }
}
invariant moves: x >= 2 implies surge + unavailable >= 1
"""


def codes(text: str, defines: dict[str, int] | None = None) -> list[tuple[str, int, str]]:
    with pytest.raises(KcheckError) as err:
        check_source(Source("m.kdsl", text), defines)
    return [(d.code, d.span.line, d.message) for d in err.value.diagnostics]


def test_the_defaults_satisfy_it_and_the_model_checks() -> None:
    checked = check_source(Source("m.kdsl", STRATEGY))
    assert [a.name for a in checked.symbols.assumptions] == ["valid_strategy"]


def test_a_configuration_that_breaks_it_is_refused_with_the_values() -> None:
    assert codes(STRATEGY, {"surge": 0, "unavailable": 0}) == [
        ("KC0406", 5, "assumption `valid_strategy` does not hold for surge=0, unavailable=0")
    ]
    for s, u in product(range(3), range(3)):
        if s + u >= 1:
            check_source(Source("m.kdsl", STRATEGY), {"surge": s, "unavailable": u})


def test_enum_and_bool_params_are_shown_by_name() -> None:
    text = """model m
enum Mode { Fast, Safe }
param mode: Mode = Safe
param canary: bool = false
assume safe_canary: canary implies mode == Safe
"""
    assert codes(text, {"canary": 1, "mode": 0}) == [
        ("KC0406", 5, "assumption `safe_canary` does not hold for mode=Fast, canary=true")
    ]


def test_a_division_by_zero_is_reported_as_such() -> None:
    text = "model m\nparam d: 0..2 = 1\nassume ratio: 4 / d >= 2\n"
    assert codes(text, {"d": 0}) == [("KC0406", 3, "assumption `ratio` divides by zero for d=0")]
    check_source(Source("m.kdsl", text), {"d": 1})  # 4 / 1 >= 2
    check_source(Source("m.kdsl", text), {"d": 2})


def test_it_reads_only_constants_and_params() -> None:
    text = """model m
const N = 2
param p: 0..3 = 1
var x: 0..3 = 0
kind K[2] { v: 0..1 }
def f(): int = x
assume on_state: x + p > 0
assume on_def: f() > 0
assume on_objects: count(K) > N
assume fine: p + N > 0 and (if p > 0 then p <= N else true) and max(p, 1) >= ceil(N, 2)
assume not_bool: p
"""
    assert codes(text) == [
        ("KC0402", 7, "an assumption reads only constants and params; `x` is a var"),
        ("KC0402", 8, "`f(...)` in an assumption"),
        ("KC0402", 9, "an assumption reads only constants and params"),
        ("KC0301", 11, "assumption `not_bool` must be a bool, not int"),
    ]


def test_fmt_prints_it_back() -> None:
    text = "model m\n\nparam p: 0..3 = 1\n\nassume a: p >= 1 or p == 0\n"
    assert format_program(parse(Source("m.kdsl", text)), text) == text


def test_its_name_is_a_declaration_like_any_other() -> None:
    text = "model m\nparam p: 0..3 = 1\nvar a: 0..1 = 0\nassume a: p >= 0\n"
    assert [c for c, _, _ in codes(text)] == ["KC0202"]


def test_it_is_not_part_of_the_state() -> None:
    from kcheck.explore.bfs import explore

    without = STRATEGY.replace("assume valid_strategy: surge + unavailable >= 1\n", "")
    runs = [
        explore(compile_model(check_source(Source("m.kdsl", t)).symbols))
        for t in (STRATEGY, without)
    ]
    assert [(p.name, p.status) for p in runs[0].properties] == [("moves", "holds")]
    assert runs[0].stats.states == runs[1].stats.states == 4


def test_symbolic_params_range_only_where_the_assumptions_hold() -> None:
    """Without the assumption, surge=0, unavailable=0 breaks `moves`; with it, no configuration
    the apiserver would accept does, and both Z3 engines say so."""
    without = STRATEGY.replace("assume valid_strategy: surge + unavailable >= 1\n", "")
    checked = check_source(Source("m.kdsl", without))
    [p] = symbolic_bmc(compile_model(checked.symbols), checked.symbols, 4, None, 60).properties
    assert p.status == VIOLATED
    assert p.reason is not None and p.reason.startswith("fails for surge=0, unavailable=0 ")

    checked = check_source(Source("m.kdsl", STRATEGY))
    model = compile_model(checked.symbols)
    [p] = symbolic_bmc(model, checked.symbols, 4, None, 60).properties
    assert p.status == INCONCLUSIVE
    assert p.reason == (
        "no violation up to depth 4 for any params in range that satisfy the assumptions"
    )
    [q] = induction(model, checked.symbols, 3, None, 60, symbolic_params=True).properties
    assert q.status == "holds", q.reason
