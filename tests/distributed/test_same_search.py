"""The distributed search is the single-process search (spec/distributed.md): the same distinct
states, transitions, depth, verdicts and the very same counterexamples, also where the search
stops inside a level (every invariant violated, --max-states), and the same timelock in a model
with time, or none with --allow-timelocks. Run here over partitions in this process
(transport.Local), which is the whole algorithm but Ray's transport of bytes;
tests/distributed/test_ray_cluster.py runs it on real Ray workers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kcheck.distributed.codec import decode, encode
from kcheck.distributed.search import explore_distributed
from kcheck.distributed.transport import Local
from kcheck.explore.bfs import Limits, explore
from kcheck.explore.replay import check_counterexample
from kcheck.explore.timelock import ALLOWED_NOTE, TIMELOCK
from kcheck.lang.frontend import load
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel
from kcheck.result import VIOLATED, CheckResult
from tests.explore.modelgen import models
from tests.explore.test_reference_agreement import _load
from tests.explore.test_timelocks import FIXTURE, stuck_models

MODELS = sorted(Path(__file__).resolve().parents[2].joinpath("models").glob("*.kdsl"))


def _summary(r: CheckResult) -> tuple[Any, ...]:
    s = r.stats
    entries = [(p.name, p.kind, p.status, p.trace, p.reason, p.line) for p in r.properties]
    allowed = ALLOWED_NOTE in r.notes
    return s.states, s.transitions, s.depth, s.queue, r.complete, r.limit, entries, allowed


def _both(model: CompiledModel, symmetry: bool, limits: Limits, workers: int = 3) -> None:
    # both look for timelocks in a timed model (unless `limits` allows them), and so both
    # search past the point where every invariant has its counterexample until they meet one
    # (leader_election_clock_skew: 43 states, against 33 with --allow-timelocks)
    one = explore(model, properties=[], symmetry=symmetry, limits=limits)
    many = explore_distributed(
        model, lambda r: Local(r, workers), properties=[], symmetry=symmetry, limits=limits
    )
    if any("not their own representative" in n for n in many.notes):
        _loosely_the_same(one, many)
    else:
        assert _summary(many) == _summary(one)


def _loosely_the_same(one: CheckResult, many: CheckResult) -> None:
    """Where representatives are not unique (spec/distributed.md): on a whole space the same
    verdicts and counterexample lengths, never fewer states."""
    if not (one.complete and many.complete):
        return
    assert many.stats.states >= one.stats.states
    assert many.stats.depth == one.stats.depth

    def shape(r: CheckResult) -> list[tuple[str, str, int | None]]:
        return [(p.name, p.status, len(p.trace.steps) if p.trace else None) for p in r.properties]

    assert shape(many) == shape(one)


@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_every_model_gives_the_same_search(path: Path) -> None:
    for symmetry in (True, False):
        model = compile_model(load(str(path)).symbols, symmetry=symmetry)
        # small: whole spaces of the small models, the same stopping point in the others
        _both(model, symmetry, Limits(max_states=1500))
        _both(model, symmetry, Limits(max_states=400, max_depth=5), workers=2)
        if model.timed:  # and where timelocks are allowed, the stopping points without them
            _both(model, symmetry, Limits(max_states=1500, allow_timelocks=True))


def test_the_timelock_is_the_same_state_with_the_same_trace() -> None:
    for symmetry in (True, False):
        model = compile_model(load(str(FIXTURE)).symbols, symmetry=symmetry)
        for workers in (1, 2, 3):
            _both(model, symmetry, Limits(), workers)
            _both(model, symmetry, Limits(allow_timelocks=True), workers)
        many = explore_distributed(model, lambda r: Local(r, 2), properties=[], symmetry=symmetry)
        lock = [p for p in many.properties if p.kind == "timelock"]
        assert [(p.name, p.status) for p in lock] == [(TIMELOCK, VIOLATED)]
        assert lock[0].trace is not None and len(lock[0].trace) == 5
        check_counterexample(model, lock[0])  # replays, and no step is possible at its end
        allowed = explore_distributed(
            model, lambda r: Local(r, 2), properties=[], limits=Limits(allow_timelocks=True)
        )
        assert not any(p.kind == "timelock" for p in allowed.properties)
        assert ALLOWED_NOTE in allowed.notes


# the fixture with a second way on: `other` counts `m` up while `n` is 0, so the search goes on
# past the timelock (84 states, depth 11, the timelock at depth 5)
ON = (
    FIXTURE.read_text()
    .replace("var n: 0..3 = 0", "var n: 0..3 = 0\nvar m: 0..6 = 0")
    .replace(
        "  action fire",
        "  action other when n == 0 and m < 6 {\n    m := m + 1\n  }\n  action fire",
    )
)


@pytest.mark.parametrize(
    ("text", "broken", "stops"),
    [
        (ON, "n > 0", True),
        (ON, "n < 1", True),
        (ON, "m < 6", True),
        (FIXTURE.read_text(), "n < 1", False),
    ],
    ids=["initial", "before", "after", "last"],
)
def test_a_timelock_and_the_last_violation_stop_the_search_alike(
    text: str, broken: str, stops: bool
) -> None:
    # the invariant broken at depth 0 or 1 (before the timelock: the search goes on to it and
    # stops after it) or at depth 6 (after it: it stops after the violation's parent), or a
    # limit first; in the fixture itself the timelock is the last state: the search is complete
    model = compile_model(
        _load(text.replace("invariant small: n <= 3", f"invariant small: {broken}")).symbols
    )
    limits = [Limits(max_states=k) for k in (4, 12, 30, 60)] + [Limits(max_depth=3), Limits()]
    for lim in limits:
        for workers in (1, 2, 4):
            _both(model, True, lim, workers)
    one = explore(model, properties=[])
    assert one.complete is not stops and (one.stats.queue > 0) is stops
    got = explore_distributed(model, lambda r: Local(r, 2), properties=[])
    assert {p.kind: p.status for p in got.properties} == {
        "invariant": VIOLATED,
        "timelock": VIOLATED,
    }


def test_a_whole_space_and_its_counterexamples_are_the_same() -> None:
    for name, space in (("replicaset", 808), ("replicaset_counts_running", None)):
        model = compile_model(load(f"models/{name}.kdsl").symbols)
        one = explore(model, properties=[])
        many = explore_distributed(model, lambda r: Local(r, 4), properties=[])
        assert _summary(many) == _summary(one)
        if space is not None:
            assert many.stats.states == space and many.complete


def test_loose_representatives_are_said_and_keep_the_verdicts() -> None:
    # look-alike endpoints tie in this model's canonical form (Tracer.step_to's note)
    model = compile_model(load("models/service_endpoints.kdsl").symbols)
    one = explore(model, properties=[])
    many = explore_distributed(model, lambda r: Local(r, 2), properties=[])
    assert any("not their own representative" in n for n in many.notes)
    _loosely_the_same(one, many)
    plain = compile_model(load("models/replicaset.kdsl").symbols)
    tight = explore_distributed(plain, lambda r: Local(r, 2), properties=[])
    assert not any("not their own representative" in n for n in tight.notes)


def test_temporal_properties_go_to_the_single_process_search() -> None:
    model = compile_model(load("models/replicaset.kdsl").symbols)
    one = explore(model)
    many = explore_distributed(model, lambda r: Local(r, 2))
    assert [(p.name, p.status) for p in many.properties] == [
        (p.name, p.status) for p in one.properties
    ]
    assert any(p.kind == "property" for p in many.properties)
    assert any("temporal properties were checked by the single-process" in n for n in many.notes)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(models(), st.integers(min_value=1, max_value=4), st.booleans())
def test_generated_models_give_the_same_search(text: str, workers: int, symmetry: bool) -> None:
    model = compile_model(_load(text).symbols, symmetry=symmetry)
    _both(model, symmetry, Limits(), workers)
    _both(model, symmetry, Limits(max_states=60), workers)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(stuck_models(), st.integers(min_value=1, max_value=4), st.booleans())
def test_generated_timed_models_give_the_same_timelock(
    text: str, workers: int, symmetry: bool
) -> None:
    # test_timelocks.py's models, where a deadline may wait for a `choose` with nothing to choose
    model = compile_model(_load(text).symbols, symmetry=symmetry)
    _both(model, symmetry, Limits(), workers)
    _both(model, symmetry, Limits(max_states=40), workers)
    _both(model, symmetry, Limits(allow_timelocks=True), workers)


@given(
    st.lists(
        st.lists(st.integers(min_value=-(2**70), max_value=2**70), min_size=3, max_size=3),
        max_size=20,
    ),
    st.sampled_from([1, 2**7, 2**15, 2**31, 2**63, 2**70]),
)
def test_a_batch_of_states_round_trips(rows: list[list[int]], scale: int) -> None:
    states = [tuple(v % scale - scale // 2 for v in row) for row in rows]
    keys = list(range(len(states)))
    back, back_keys = decode(encode(states, keys))
    assert back == states and list(back_keys) == keys
