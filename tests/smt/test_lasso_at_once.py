"""The fair-lasso search asks the depths left at once when the per-depth queries grow costly
(smt/lasso.py `_none_deeper`; spec/smt.md, "BMC: fair lassos"). That one query must be
satisfiable exactly when some goal of a pending property (a formula that cannot be evaluated,
a lasso that stops, one that loops) ends at a depth after the one reached, in particular at a
state where no step is possible, which the steps after it must not rule out. Its reference is
each goal asked depth by depth on the per-depth solver. And the search that asks at once finds
the same lassos, with as few steps, as the search that never does."""

from __future__ import annotations

from typing import Any

import pytest
import z3
from hypothesis import HealthCheck, assume, given, note, settings

from kcheck.model.compile import compile_model
from kcheck.smt import lasso
from kcheck.smt.encode import Encoder, Unsupported
from kcheck.smt.solver import Deadline, Duo, Unrolled
from kcheck.smt.system import Unrolling
from kcheck.smt.temporal import PropertyTerms, property_terms, selected
from kcheck.smt.terms import _or
from tests.smt.test_lasso import PODS, SPIN, STOPS, TOGGLE, _load
from tests.smt.test_liveness import fair_models

DEPTH = 5

# the only violation stops in a state with no step at all, at depth 3: the steps after it must
# not be required of the path
DEADLOCK = """model deadlock
var x: 0..3 = 0
process p { action up when x < 3 { x := x + 1 } }
property returns: always eventually x == 0
"""

MODELS = [
    SPIN.replace("{FAIRNESS}", ""),
    SPIN.replace("{FAIRNESS}", "strong "),
    TOGGLE.replace("{FAIRNESS}", ""),
    STOPS,
    PODS,
    DEADLOCK,
]


def _search(text: str, k: int) -> tuple[Any, Duo, lasso._Lassos, dict[str, PropertyTerms]]:
    """A per-depth search's solver with the path to s_k asserted, as `temporal_bmc` holds it."""
    sym = _load(text)
    model = compile_model(sym, symmetry=False)
    enc = Encoder(model, sym)
    terms = {
        t.info.name: t for p in selected(model, None, None) if (t := property_terms(enc, sym, p))
    }
    u = Unrolling(enc, "t")
    solver = Duo(Unrolled(bitvec=False), Unrolled())
    lassos = lasso._Lassos(model, u, solver)
    solver.add(_or([lasso._same(u.state(0), s) for s in model.initial()]))
    for i in range(k):
        solver.add(u.step(i))
    return model, solver, lassos, terms


def goal_depths(text: str, depth: int) -> set[int]:
    """The depths at which some goal of some property is satisfiable, asked one by one."""
    _, solver, lassos, terms = _search(text, 0)
    out: set[int] = set()
    for k in range(depth + 1):
        if k:
            solver.add(lassos.u.step(k - 1))
        for t in terms.values():
            for stage in lasso.STAGES:
                g = lasso._goal(stage, lassos, t, k)
                if not z3.is_false(g) and solver.ask(g, Deadline(60))[0] == "sat":
                    out.add(k)
    return out


def _agrees(text: str) -> None:
    want = goal_depths(text, DEPTH)
    for k in range(DEPTH):
        _, solver, lassos, terms = _search(text, k)
        got = lasso._none_deeper(solver, lassos, terms, k, DEPTH, Deadline(60))
        if got.startswith("not asked: over integers"):
            continue  # asked only over bit-vectors (a division by a field that may be 0)
        assert got == ("sat" if any(j > k for j in want) else "unsat"), (k, sorted(want))


@pytest.mark.parametrize("n", range(len(MODELS)))
def test_asking_the_depths_left_at_once_is_sat_exactly_when_a_goal_ends_there(n: int) -> None:
    _agrees(MODELS[n])


def test_a_lasso_that_stops_where_no_step_is_possible_is_found_at_once() -> None:
    assert goal_depths(DEADLOCK, DEPTH) == {3}  # it stops at x == 3; no path has 4 steps
    _, solver, lassos, terms = _search(DEADLOCK, 0)
    assert lasso._none_deeper(solver, lassos, terms, 0, DEPTH, Deadline(60)) == "sat"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fair_models())
def test_on_random_fair_models_the_query_at_once_agrees_with_the_depths(text: str) -> None:
    note(text)
    try:
        _agrees(text)
    except Unsupported:
        assume(False)


def _entries(text: str, at_once: int, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    monkeypatch.setattr(lasso, "AT_ONCE_UNITS", at_once)
    sym = _load(text)
    model = compile_model(sym, symmetry=False)
    got = lasso.temporal_bmc(model, sym, DEPTH, None, None, Deadline(60))
    return [(e.name, e.status, e.trace and len(e.trace.steps), e.trace and e.trace.loop_start)
            for e in got]  # fmt: skip


@pytest.mark.parametrize("n", range(len(MODELS)))
def test_the_search_that_asks_at_once_reports_what_the_per_depth_search_does(
    n: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    always_at_once = _entries(MODELS[n], 0, monkeypatch)  # after depth 0 already
    never = _entries(MODELS[n], 10**15, monkeypatch)
    assert always_at_once == never
