"""BMC stopped by the run's limit or ^C (explore/budget.py `Stopped`, raised into the step under
way) reports what it decided before the stop: the violations found stay violated, the rest is
inconclusive with where it stopped, and the temporal properties say they were not searched or
keep the lassos found. Before, the whole run ended as "stopped before Z3 decided anything"."""

from __future__ import annotations

import pytest
import z3  # type: ignore[import-untyped]

from kcheck.explore.budget import Stopped
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.result import INCONCLUSIVE, VIOLATED, PropertyResult
from kcheck.smt.bmc import bmc
from kcheck.smt.solver import Deadline, Unrolled

MODEL = """model counter
var x: 0..5 = 0
var y: 0..1 = 0
controller c {
  action inc when x < 5 { x := x + 1 }
  action flip { y := 1 - y }
}
invariant below_three: x < 3
invariant in_range: x >= 0
property x_stays_low: eventually always x < 2
property y_stays_zero: always y == 0
"""


def _run(monkeypatch: pytest.MonkeyPatch, stop_at: str) -> dict[str, PropertyResult]:
    """BMC to depth 8, stopped at the first query that reads a state named `stop_at`."""
    ask = Unrolled.ask
    stopped: list[bool] = []

    def stopping(self: Unrolled, goal: z3.ExprRef, deadline: Deadline) -> object:
        if not stopped and stop_at in str(goal):
            stopped.append(True)  # one Stopped per request, as Budget.request raises it
            raise Stopped("timeout 5s")
        return ask(self, goal, deadline)

    monkeypatch.setattr(Unrolled, "ask", stopping)
    checked = check_source(Source("counter.kdsl", MODEL))
    result = bmc(compile_model(checked.symbols), checked.symbols, 8, None, 60, None)
    assert stopped, "the stop was never raised"
    return {p.name: p for p in result.properties}


def test_stopped_in_the_invariants_keeps_what_was_found(monkeypatch: pytest.MonkeyPatch) -> None:
    got = _run(monkeypatch, "s4_")
    found = got["below_three"]
    assert found.status == VIOLATED and found.trace is not None and len(found.trace) == 3
    left = got["in_range"]
    assert left.status == INCONCLUSIVE and left.reason == "stopped at timeout 5s at depth 4"
    for name in ("x_stays_low", "y_stays_zero"):
        assert got[name].status == INCONCLUSIVE
        assert got[name].reason == "not searched: stopped at timeout 5s"


def test_stopped_in_the_lasso_search_keeps_the_lassos_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # one flip breaks `always y == 0`; `eventually always x < 2` breaks only in a fair lasso
    # of 7 steps (x rises to 5, then y flips forever)
    got = _run(monkeypatch, "t3_")
    assert got["below_three"].status == VIOLATED
    assert got["in_range"].reason == "no violation up to depth 8"
    flip = got["y_stays_zero"]
    assert flip.status == VIOLATED and flip.trace is not None and len(flip.trace) == 1
    low = got["x_stays_low"]
    assert low.status == INCONCLUSIVE and low.reason == "stopped at timeout 5s at depth 3"
