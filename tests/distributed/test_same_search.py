"""The distributed search is the single-process search (spec/distributed.md): the same distinct
states, transitions, depth, verdicts and the very same counterexamples, also where the search
stops inside a level (every invariant violated, --max-states). Run here over partitions in
this process (transport.Local), which is the whole algorithm but Ray's transport of bytes;
tests/distributed/test_ray_cluster.py runs it on real Ray workers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kcheck.distributed.codec import decode, encode
from kcheck.distributed.search import explore_distributed
from kcheck.distributed.transport import Local
from kcheck.explore.bfs import Limits, explore
from kcheck.lang.frontend import load
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel
from kcheck.result import CheckResult
from tests.explore.modelgen import models
from tests.explore.test_reference_agreement import _load

MODELS = sorted(Path(__file__).resolve().parents[2].joinpath("models").glob("*.kdsl"))


def _summary(r: CheckResult) -> tuple[Any, ...]:
    s = r.stats
    entries = [(p.name, p.kind, p.status, p.trace, p.reason) for p in r.properties]
    return s.states, s.transitions, s.depth, s.queue, r.complete, r.limit, entries


def _both(model: CompiledModel, symmetry: bool, limits: Limits, workers: int = 3) -> None:
    # the distributed search does not look for timelocks (it says so in a note), so its twin
    # is the search that does not either: looking, a timed model is searched past the point
    # where every invariant has its counterexample (leader_election_clock_skew: 43 states, 33)
    alike = replace(limits, allow_timelocks=True)
    one = explore(model, properties=[], symmetry=symmetry, limits=alike)
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
