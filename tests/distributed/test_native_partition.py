"""The distributed search's native partitions (explore/store_dist.c, native_partition.py)
against the Python partitions, which stay the reference, and against the single-process
search: the same states, transitions, verdicts and traces, also where values leave the wire
layout (wide states) and the workers' stores widen, and with symmetry. Also the wire format,
the level's key merge in C, and the reasons a worker names when it cannot run natively."""

from __future__ import annotations

import heapq
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kcheck.distributed import search
from kcheck.distributed.native_partition import NativePartition, NativeUnavailable, Wire
from kcheck.distributed.partition import Partition, Recipe
from kcheck.distributed.search import explore_distributed
from kcheck.distributed.transport import Local, _first_line
from kcheck.explore import store as store_module
from kcheck.explore.bfs import Limits, explore
from kcheck.lang.frontend import load
from kcheck.model import native
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel
from kcheck.result import CheckResult
from tests.explore.modelgen import models
from tests.explore.test_reference_agreement import _load

ROOT = Path(__file__).resolve().parents[2]
SOURCE = store_module.SOURCE

needs_native = pytest.mark.skipif(
    native.load_extension(SOURCE, "_store") is None, reason="no C compiler: no native store"
)
pytestmark = needs_native


def _model(name: str, symmetry: bool = True, **defines: int) -> CompiledModel:
    path = str(ROOT / "models" / f"{name}.kdsl")
    return compile_model(load(path, defines or None).symbols, symmetry=symmetry)


def _summary(r: CheckResult) -> tuple[Any, ...]:
    s = r.stats
    props = [(p.name, p.kind, p.status, p.trace, p.reason, p.line) for p in r.properties]
    return (s.states, s.transitions, s.depth, r.complete, r.limit, props)


def _distributed(
    model: CompiledModel, workers: int, symmetry: bool, limits: Limits, native_workers: bool
) -> tuple[CheckResult, list[type[Partition]]]:
    kinds: list[type[Partition]] = []

    def make(recipe: Recipe) -> Local:
        local = Local(recipe, workers)
        kinds.extend(type(p) for p in local.parts)
        return local

    original = search.recipe_of

    def recipe_of(*args: Any) -> Recipe:
        r = original(*args)
        return r if native_workers else replace(r, native=False)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(search, "recipe_of", recipe_of)
        result = explore_distributed(model, make, properties=[], symmetry=symmetry, limits=limits)
    return result, kinds


def _all_three(model: CompiledModel, symmetry: bool, limits: Limits, workers: int) -> bool:
    """Native partitions (where the model allows them), Python partitions and one process:
    the same search. Whether the native partitions ran."""
    one = explore(model, properties=[], symmetry=symmetry, limits=limits)
    fast, kinds = _distributed(model, workers, symmetry, limits, True)
    slow, slow_kinds = _distributed(model, workers, symmetry, limits, False)
    ran_native = search.recipe_of(model, symmetry, model.initial()).native
    assert set(kinds) == {NativePartition if ran_native else Partition}
    assert set(slow_kinds) == {Partition}
    assert _summary(fast) == _summary(slow)
    if not any("not their own representative" in n for n in fast.notes):
        assert _summary(fast) == _summary(one)
    return ran_native


# the first four run natively with and without symmetry; service_endpoints's canonical form has
# no native code (sets of symmetric objects), so with symmetry its workers are Python ones
MODELS = ["replicaset", "scheduler", "kubelet", "apiserver_occ", "service_endpoints"]


@pytest.mark.parametrize("name", MODELS)
def test_native_partitions_search_as_the_python_ones_and_one_process(name: str) -> None:
    for symmetry in (True, False):
        model = _model(name, symmetry)
        ran = _all_three(model, symmetry, Limits(max_states=3000), 3)
        _all_three(model, symmetry, Limits(max_states=500, max_depth=6), 2)
        assert ran or (name == "service_endpoints" and symmetry)


def test_a_counterexample_found_by_native_workers_is_the_same_trace() -> None:
    model = _model("replicaset_counts_running")
    one = explore(model, properties=[])
    fast, _ = _distributed(model, 2, True, Limits(), True)
    assert one.verdict == "violated"
    assert _summary(fast) == _summary(one)


@pytest.mark.parametrize("name", ["replicaset", "scheduler", "hpa_no_stabilization"])
def test_wide_states_and_widened_stores_keep_the_same_search(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # every position 1 bit wide: most states leave the wire layout and travel as values, and
    # every worker's store widens (then the wire key is no longer its own key)
    plan = store_module.pack_plan
    monkeypatch.setattr(
        store_module, "pack_plan", lambda *a: [(lo, min(bits, 1)) for lo, bits in plan(*a)]
    )
    for symmetry in (True, False):
        model = _model(name, symmetry)
        _all_three(model, symmetry, Limits(max_states=2000), 2)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models(), st.integers(1, 4), st.booleans())
def test_generated_models_search_alike_on_native_partitions(
    text: str, workers: int, symmetry: bool
) -> None:
    model = compile_model(_load(text).symbols, symmetry=symmetry)
    _all_three(model, symmetry, Limits(max_states=800), workers)


def _wire(name: str) -> tuple[Wire, CompiledModel]:
    model = _model(name, symmetry=False)
    recipe = search.recipe_of(model, False, model.initial())
    return Wire(recipe), model


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_batch_round_trips_narrow_and_wide(data: st.DataObject) -> None:
    wire, model = _wire("scheduler")
    start = model.initial()[0]
    width = len(start)
    # each state: the initial one with some positions set anywhere in int64 (most leave the
    # wire layout: they travel wide), or left in range (narrow)
    changes = st.lists(
        st.tuples(st.integers(0, width - 1), st.integers(-(2**63), 2**63 - 1)), max_size=3
    )
    states = []
    for edits in data.draw(st.lists(changes, min_size=1, max_size=12)):
        s = list(start)
        for i, v in edits:
            s[i] = v
        states.append(tuple(s))
    states = list(dict.fromkeys(states))
    keys = data.draw(st.lists(st.integers(0, 2**62), min_size=len(states), max_size=len(states)))
    batch = wire.encode(states, keys)
    got, got_keys = wire.decode(batch)
    assert sorted(zip(got, got_keys, strict=True)) == sorted(zip(states, keys, strict=True))
    # the owner is a function of the state alone
    for s in states:
        assert wire.owner(s, 7) == wire.owner(tuple(list(s)), 7)


def test_a_batch_of_another_layout_is_refused() -> None:
    wire, _ = _wire("scheduler")
    other, _ = _wire("replicaset")
    batch = other.encode([_model("replicaset", False).initial()[0]], [0])
    with pytest.raises(ValueError, match="not a batch"):
        wire.decode(batch)
    with pytest.raises(ValueError, match="not a batch"):
        wire.decode(b"\x01" * 40)
    assert wire.decode(b"") == ([], [])


@given(st.lists(st.lists(st.integers(0, 2**55), unique=True), max_size=6), st.integers(0, 99))
def test_the_level_order_merged_in_c_is_the_heap_merge(runs: list[list[int]], start: int) -> None:
    from array import array

    module = native.load_extension(SOURCE, "_store")
    assert module is not None
    # keys are distinct across partitions (each is one successor of one state)
    seen: set[int] = set()
    parts = []
    for run in runs:
        part = sorted(k for k in run if k not in seen)
        seen.update(part)
        parts.append(part)
    raw, ids = module.merge_keys([array("q", p).tobytes() for p in parts], start)
    merged = list(heapq.merge(*[[(k, p) for k in part] for p, part in enumerate(parts)]))
    assert array("q", raw).tolist() == [k for k, _ in merged]
    expect: list[list[int]] = [[] for _ in parts]
    for r, (_, p) in enumerate(merged, start):
        expect[p].append(r)
    assert [array("q", b).tolist() for b in ids] == expect


def test_the_python_level_merge_is_the_c_one(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model("scheduler", symmetry=False)
    limits = Limits(max_states=4000)
    fast, _ = _distributed(model, 3, False, limits, True)
    real = native.load_extension
    monkeypatch.setattr(
        native, "load_extension", lambda src, name: None if name == "_store" else real(src, name)
    )
    slow = explore_distributed(model, lambda r: Local(r, 3), properties=[], symmetry=False,
                               limits=limits)  # fmt: skip
    assert _summary(slow) == _summary(fast)


def test_a_worker_that_cannot_run_natively_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model("replicaset")
    recipe = search.recipe_of(model, True, model.initial())
    assert recipe.native
    monkeypatch.setenv("KCHECK_NATIVE", "0")
    with pytest.raises(NativeUnavailable, match="partition 1: native code is turned off here"):
        NativePartition(recipe, 1, 2)


def test_a_remote_workers_failure_is_named_by_its_own_exception() -> None:
    # what Ray passes on when an actor's __init__ raises (its traceback, colour codes included)
    text = (
        "The actor died because of an error raised in its creation task, \x1b[36mray::"
        "NativePartition.__init__()\x1b[39m (pid=26163, ip=192.0.2.2, actor_id=9c44)\n"
        "           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
        '  File "native_partition.py", line 7, in __init__\n'
        "NativeUnavailable: partition 0: the model's generated C cannot be built here"
    )
    assert _first_line(RuntimeError(text)) == (
        "NativeUnavailable: partition 0: the model's generated C cannot be built here"
    )
    assert _first_line(RuntimeError("The actor died unexpectedly.\nmore")) == (
        "The actor died unexpectedly."
    )
