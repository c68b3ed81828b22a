"""Timelocks in the Z3 engines (spec/smt.md "Timelocks", spec/explorer.md "Timelocks"): in a
model with time, BMC finds a state with no step at all, `time.tick` included, at the explicit
search's shortest length, as the same failed check `time_passes` with a trace that replays;
k-induction proves there is none (a note, no entry, as the explicit search lists none), or
refutes it, and never proves it where the explicit search finds one; `--allow-timelocks` turns
the look off; over symbolic params the Z3 engines say that they do not look."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from kcheck.engines.dispatch import EngineOptions, check
from kcheck.explore.bfs import Limits, explore
from kcheck.explore.replay import check_counterexample
from kcheck.explore.timelock import ALLOWED_NOTE, TIMELOCK
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.lang.symbols import Symbols
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel
from kcheck.result import HOLDS, INCONCLUSIVE, VIOLATED, CheckResult, PropertyResult
from kcheck.smt import induction as induction_module
from kcheck.smt.bmc import bmc
from kcheck.smt.induction import induction
from kcheck.smt.terms import FALSE
from tests.explore.test_reference_agreement import assert_replays
from tests.explore.test_timelocks import (
    ALWAYS,
    BLOCKED,
    FIXTURE,
    UNTIMED,
    _dead_depth,
    stuck_models,
)

ROOT = Path(__file__).resolve().parents[2]


def _load(text: str) -> tuple[CompiledModel, Symbols]:
    checked = check_source(Source("t.kdsl", text))
    return compile_model(checked.symbols, symmetry=False), checked.symbols


def _timelock(result: CheckResult) -> PropertyResult | None:
    found = [p for p in result.properties if p.kind == "timelock"]
    assert len(found) <= 1 and all(p.name == TIMELOCK for p in found)
    return found[0] if found else None


def _proved(result: CheckResult) -> bool:
    return any(n.startswith("proved that time always passes") for n in result.notes)


def _same_as_explicit(model: CompiledModel, lock: PropertyResult) -> None:
    """A Z3 timelock is the explicit search's: same length, line and reason; it replays and
    no step is possible at its end."""
    want = _timelock(explore(model, symmetry=False))
    assert want is not None and want.trace is not None
    assert lock.status == VIOLATED and lock.trace is not None
    assert (len(lock.trace), lock.line, lock.reason) == (len(want.trace), want.line, want.reason)
    assert_replays(model, lock.trace)
    check_counterexample(model, lock)


def test_bmc_finds_the_fixture_timelock_at_the_explicit_length() -> None:
    model, sym = _load(FIXTURE.read_text())
    result = bmc(model, sym, 8, None, 60, timelocks=True)
    lock = _timelock(result)
    assert lock is not None and lock.trace is not None and len(lock.trace) == 5
    _same_as_explicit(model, lock)
    assert result.verdict == VIOLATED
    # the invariant is not stopped by it: BMC looked as deep as it was asked
    assert [(p.name, p.status) for p in result.properties if p.kind == "invariant"] == [
        ("small", INCONCLUSIVE)
    ]


def test_bmc_short_of_the_timelock_says_how_deep_it_looked() -> None:
    model, sym = _load(FIXTURE.read_text())
    result = bmc(model, sym, 4, None, 60, timelocks=True)
    assert _timelock(result) is None
    assert "no timelock (a state where time stops) up to depth 4" in result.notes


def test_a_condition_that_stays_blocks_the_deadline_for_bmc_too() -> None:
    model, sym = _load(BLOCKED)
    lock = _timelock(bmc(model, sym, 4, None, 60, timelocks=True))
    assert lock is not None and lock.trace is not None
    # `spoil` and a tick, in either order: two shortest paths to the same state
    assert sorted(s.action or "" for s in lock.trace.steps[1:]) == ["p.spoil", "time.tick"]
    _same_as_explicit(model, lock)


def test_induction_refutes_the_fixture_with_the_shortest_trace() -> None:
    model, sym = _load(FIXTURE.read_text())
    result = induction(model, sym, 6, None, 60, timelocks=True)
    lock = _timelock(result)
    assert lock is not None and lock.engine == "induction"
    _same_as_explicit(model, lock)
    assert not _proved(result) and result.verdict == VIOLATED
    # a base case too shallow to reach it: not proved, never proved
    short = induction(model, sym, 5, None, 60, timelocks=True)
    lock = _timelock(short)
    assert lock is not None and lock.status == INCONCLUSIVE and not _proved(short)
    assert lock.reason is not None and "where no step is possible" in lock.reason
    assert short.verdict == INCONCLUSIVE


def test_induction_proves_time_passes_as_a_note_without_an_entry() -> None:
    model, sym = _load(ALWAYS)
    result = induction(model, sym, 6, None, 60, timelocks=True)
    assert _timelock(result) is None and _proved(result)
    assert result.verdict == HOLDS
    assert _timelock(explore(model)) is None  # the explicit search agrees, with no entry


def test_induction_proves_it_on_a_timed_model_of_the_tutorial() -> None:
    model, sym = _load((ROOT / "models" / "leader_election_renew_margin.kdsl").read_text())
    assert model.timed
    result = induction(model, sym, 2, None, 120, timelocks=True)
    assert _timelock(result) is None and _proved(result)


def test_a_planted_guard_only_enabledness_is_caught() -> None:
    # if "time passes" were read off the guards (`fire`'s holds), time would never stop: the
    # fixture's proof would be claimed, and the check below is what refuses it
    model, sym = _load(FIXTURE.read_text())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(induction_module, "time_stops", lambda insts, n: FALSE)
        planted = induction(model, sym, 6, None, 60, timelocks=True)
    with pytest.raises(AssertionError):
        _induction_agrees(model, planted, _dead_depth(model), 6)


def _induction_agrees(
    model: CompiledModel, result: CheckResult, dead: int | None, max_k: int
) -> None:
    """Induction never proves time_passes where a timelock is reachable, and refutes it, with
    the shortest trace, when its base case reaches that deep; it refutes none that is not."""
    lock = _timelock(result)
    if dead is not None:
        assert not _proved(result)
        if dead <= max_k - 1:
            assert lock is not None and lock.trace is not None and len(lock.trace) == dead
            check_counterexample(model, lock)
        else:
            assert lock is not None and lock.status == INCONCLUSIVE
    else:
        assert lock is None or lock.status == INCONCLUSIVE
        assert (lock is None) == _proved(result)


def _bmc_agrees(model: CompiledModel, result: CheckResult, dead: int | None, depth: int) -> None:
    lock = _timelock(result)
    if dead is not None and dead <= depth:
        assert lock is not None and lock.trace is not None and len(lock.trace) == dead
        assert_replays(model, lock.trace)
        check_counterexample(model, lock)
    else:
        assert lock is None


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stuck_models(), st.booleans())
def test_the_z3_engines_agree_with_the_states_without_a_step(text: str, reach: bool) -> None:
    note(text)
    model, sym = _load(text)
    dead = _dead_depth(model)
    note(f"shallowest state without a step: {dead}")
    explicit = _timelock(explore(model, symmetry=False, properties=[]))
    assert (explicit.trace and len(explicit.trace) if explicit is not None else None) == dead
    # as deep as the timelock, so that BMC must find it there and nowhere shallower
    depth = 4 if dead is None else min(dead, 10)
    _bmc_agrees(model, bmc(model, sym, depth, None, 60, properties=[], timelocks=True), dead, depth)
    # a base case that reaches it (then it refutes it) or is one short (then it must leave it
    # open, never prove it)
    max_k = 3 if dead is None else min(dead + reach, 8)
    result = induction(model, sym, max_k, None, 60, properties=[], timelocks=True)
    _induction_agrees(model, result, dead, max_k)
    lock = _timelock(result)
    status = "proved" if _proved(result) else lock.status if lock is not None else "no entry"
    event(f"timelock at depth {dead}; induction (k <= {max_k}): {status}")


def _timed_models() -> list[Path]:
    """The models with a `within` deadline (outside comments): the ones with time."""
    return [
        p
        for p in sorted((ROOT / "models").glob("*.kdsl"))
        if re.search(r"\bwithin\b", re.sub(r"//[^\n]*", "", p.read_text()))
    ]


def test_the_tutorial_has_timed_models() -> None:
    assert len(_timed_models()) >= 5


@pytest.mark.parametrize("path", _timed_models(), ids=lambda p: p.stem)
def test_bmc_and_the_explicit_search_agree_on_the_timed_models(path: Path) -> None:
    model, sym = _load(path.read_text())
    assert model.timed
    want = _timelock(explore(model, properties=[]))
    dead = len(want.trace) if want is not None and want.trace is not None else None
    _bmc_agrees(model, bmc(model, sym, 3, None, 60, properties=[], timelocks=True), dead, 3)


def test_dispatch_looks_unless_allowed_and_says_so_over_symbolic_params() -> None:
    model, sym = _load(FIXTURE.read_text())
    for engine in ("bmc", "induction"):
        found = check(model, sym, None, [], EngineOptions(engine, depth=6))
        assert _timelock(found) is not None and found.verdict == VIOLATED
        assert not any("does not look for timelocks" in n for n in found.notes)
        allowed = EngineOptions(engine, Limits(allow_timelocks=True), depth=6)
        quiet = check(model, sym, None, [], allowed)
        assert _timelock(quiet) is None and ALLOWED_NOTE in quiet.notes
        symbolic = check(model, sym, None, [], EngineOptions(engine, depth=6, symbolic_params=True))
        assert _timelock(symbolic) is None
        assert any("does not look for timelocks" in n for n in symbolic.notes)
    untimed, usym = _load(UNTIMED)
    for engine in ("bmc", "induction"):  # a quiescent untimed model: nothing to look for
        result = check(untimed, usym, None, [], EngineOptions(engine, depth=6))
        assert _timelock(result) is None and not any("timelock" in n for n in result.notes)
