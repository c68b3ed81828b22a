"""BMC asks the depths left at once when its per-depth queries grow costly (smt/bmc.py
`_none_deeper`; spec/smt.md, "Search"). On random models, with that query asked after the
first depth already: it answers `sat` exactly when the search then finds a pending invariant
broken or a step failing deeper (else it is `unsat` and the search stops), and every verdict
and length is the explicit engine's, as without it (test_bmc.py `_agree`)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.result import VIOLATED
from kcheck.smt import bmc as bmc_module
from kcheck.smt.encode import Unsupported
from kcheck.smt.solver import RLIMIT, Deadline, Unrolled
from tests.explore.modelgen import models
from tests.smt.test_bmc import SCHEDULER, _agree

# `over` breaks at depth 3, in x == 3, where no step is possible: the invariant's violation is
# the last state of a path that cannot go on, which the steps asked after it must not rule out
DEADLOCK = """model deadlock
var x: 0..3 = 0
process p { action up when x < 3 { x := x + 1 } }
invariant over: x < 3
"""


def _asked(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, set[str], bool]]:
    """Every query at once from now on, after the first depth (without its budget of resource
    units, which the first depths of these small models leave tiny): its answer, the invariants
    then pending and whether the bound was open."""
    calls: list[tuple[str, set[str], bool]] = []
    real = bmc_module._none_deeper

    def spy(enc: Any, solver: Any, path: Any, pending: Any, bound_open: bool, *rest: Any) -> str:
        answer = real(enc, solver, path, pending, bound_open, *rest[:3])
        calls.append((answer, {inv.name for inv in pending}, bound_open))
        return answer

    monkeypatch.setattr(bmc_module, "AT_ONCE_UNITS", 0)
    monkeypatch.setattr(bmc_module, "_none_deeper", spy)
    return calls


def _check(text: str, depth: int, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _asked(monkeypatch)
    _agree(text, depth)  # the verdicts and lengths of the explicit engine
    checked = check_source(Source("m.kdsl", text))
    model = compile_model(checked.symbols)
    calls.clear()
    result = bmc_module.bmc(model, checked.symbols, depth, None, 60)
    for answer, pending, bound_open in calls:
        if answer.startswith("not asked: over integers"):
            continue  # asked only over bit-vectors (a division by a field that may be 0)
        later = [
            p
            for p in result.properties
            if p.status == VIOLATED and (p.name in pending or (p.kind == "bound" and bound_open))
        ]
        assert answer == ("sat" if later else "unsat"), (answer, [p.name for p in later])


def test_a_violation_where_no_step_is_possible_is_found_after_asking_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _asked(monkeypatch)
    checked = check_source(Source("m.kdsl", DEADLOCK))
    result = bmc_module.bmc(compile_model(checked.symbols), checked.symbols, 5, None, 60)
    [over] = [p for p in result.properties if p.name == "over"]
    assert over.status == VIOLATED and over.trace is not None and len(over.trace.steps) == 4
    assert [answer for answer, _, _ in calls] == ["sat"]


@pytest.mark.parametrize("depth", [2, 4])
def test_a_query_at_once_out_of_its_units_leaves_the_search_to_go_on_depth_by_depth(
    depth: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[int] = []

    def spent(*args: Any) -> str:
        asked.append(1)
        return "max. resource limit exceeded"

    monkeypatch.setattr(bmc_module, "AT_ONCE_UNITS", 0)
    monkeypatch.setattr(bmc_module, "_none_deeper", spent)
    _agree(SCHEDULER, depth)
    assert asked == [1]  # _agree runs BMC once, which asks at once once


@pytest.mark.parametrize("depth", [2, 4])
def test_asking_at_once_on_the_scheduler_keeps_every_verdict(
    depth: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    _check(SCHEDULER, depth, monkeypatch)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models(), st.integers(1, 4))
def test_on_random_models_asking_at_once_keeps_every_verdict(text: str, depth: int) -> None:
    note(text)
    with pytest.MonkeyPatch.context() as mp:
        try:
            _check(text, depth, mp)
        except Unsupported:
            assume(False)


def test_a_query_at_once_gets_at_most_half_the_time_left(monkeypatch: pytest.MonkeyPatch) -> None:
    given: list[float] = []
    real = Unrolled.check_once

    def timed(self: Unrolled, deadline: Deadline, units: int = RLIMIT) -> str:
        given.append(deadline.remaining())
        return str(real(self, deadline, units))

    monkeypatch.setattr(bmc_module, "AT_ONCE_UNITS", 0)
    monkeypatch.setattr(Unrolled, "check_once", timed)
    checked = check_source(Source("m.kdsl", DEADLOCK))
    bmc_module.bmc(compile_model(checked.symbols), checked.symbols, 5, None, 100)
    assert len(given) == 1 and 0 < given[0] <= 50


# a division by a var that may be 0: solved over integers, where Z3 does not stop a query at
# once at its timeout, so it is not asked
OVER_INTEGERS = """model ints
var d: 0..2 = 1
var x: 0..3 = 0
process p {
  action up when x < 3 { x := x + 1 }
  action turn { d := (d + 1) % 3 }
}
invariant small: d == 0 or x / d <= 3
"""


def test_over_integers_nothing_is_asked_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []
    monkeypatch.setattr(bmc_module, "AT_ONCE_UNITS", 0)
    monkeypatch.setattr(Unrolled, "check_once", lambda *a: asked.append(1) or "unsat")
    checked = check_source(Source("m.kdsl", OVER_INTEGERS))
    result = bmc_module.bmc(compile_model(checked.symbols), checked.symbols, 5, None, 60)
    [small] = result.properties
    assert small.reason == "no violation up to depth 5" and not asked
