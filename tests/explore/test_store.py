"""The packed native state store (store.c) against the reference Python store, operation by
operation, and the search on every model in models/ with each: the same states, transitions,
verdicts and shortest traces, with and without symmetry (issue 14.1)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from kcheck.explore.bfs import Limits, explore
from kcheck.explore.store import SOURCE, NativeStore, PyStore, make_store, pack_plan
from kcheck.lang.frontend import load
from kcheck.model import native
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel, State
from kcheck.result import CheckResult
from tests.explore.modelgen import models

ROOT = Path(__file__).resolve().parents[2]
MODELS = sorted((ROOT / "models").glob("*.kdsl"))
# enough for the whole space of most models at their default sizes; the larger ones are cut
# at the same state by both stores (the same breadth-first order), so they compare too
CAP = 20_000

needs_native = pytest.mark.skipif(
    native.load_extension(SOURCE, "_store") is None,
    reason="no C compiler here: the Python store is in use",
)


def _native(plan: list[tuple[int, int]]) -> NativeStore:
    module = native.load_extension(SOURCE, "_store")
    assert module is not None
    return NativeStore(module.make(plan))


# ---- the two stores, operation by operation ---------------------------------------------------

positions = st.tuples(st.integers(-3, 3), st.sampled_from([0, 1, 2, 3, 7, 13, 64]))
values = st.integers(-(2**40), 2**40) | st.integers(-4, 20)


@st.composite
def scripts(draw: st.DrawFn) -> tuple[list[tuple[int, int]], list[tuple[str, list[State]]]]:
    """A plan and a sequence of calls; values often outside their positions' ranges."""
    plan = draw(st.lists(positions, min_size=1, max_size=6))
    width = len(plan)
    pool = draw(st.lists(st.tuples(*[values] * width), min_size=1, max_size=12))
    calls = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["add", "extend", "index_all", "extend_sorted", "index"]),
                st.lists(st.sampled_from(pool), max_size=8),
            ),
            max_size=25,
        )
    )
    return plan, calls


def _sorted(t: State) -> State:  # a stand-in canonicaliser: idempotent, many-to-one
    return tuple(sorted(t))


@needs_native
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scripts())
def test_native_store_answers_as_the_python_store(
    script: tuple[list[tuple[int, int]], list[tuple[str, list[State]]]],
) -> None:
    plan, calls = script
    ref, packed = PyStore(), _native(plan)
    for op, batch in calls:
        parent = len(ref) - 1
        if op == "add":
            for t in batch:
                assert packed.add(t, parent) == ref.add(t, parent)
        elif op == "index":
            for t in batch:
                assert packed.index(t) == ref.index(t)
        elif op == "index_all":
            assert packed.index_all(batch, parent, None) == ref.index_all(batch, parent, None)
        else:
            canon = _sorted if op == "extend_sorted" else None
            assert packed.extend(batch, parent, canon) == ref.extend(batch, parent, canon)
        assert len(packed) == len(ref)
    assert list(packed) == list(ref)
    assert [packed.parent(i) for i in range(len(packed))] == list(ref.parents)
    assert list(packed.parent_array()) == list(ref.parent_array())


@needs_native
def test_a_value_past_its_range_widens_the_position_and_keeps_every_state() -> None:
    store = _native([(0, 1), (-1, 2)])
    assert store.extend([(1, 2), (0, -1)], -1, None) == [(1, 2), (0, -1)]
    assert store.key_bytes() == 1
    assert store.extend([(1, 1000), (1, 2), (0, -(2**60))], 0, None) == [(1, 1000), (0, -(2**60))]
    assert "widened" in store.describe()
    assert list(store) == [(1, 2), (0, -1), (1, 1000), (0, -(2**60))]
    assert store.index((0, -1)) == 1 and store.index((1, 3)) == -1


@needs_native
def test_bad_states_are_errors_not_crashes() -> None:
    store = _native([(0, 1), (0, 1)])
    with pytest.raises(ValueError):
        store.extend([(0, 0, 0)], -1, None)
    with pytest.raises(ValueError):
        store.extend([[0, 0]], -1, None)  # type: ignore[list-item]
    with pytest.raises(TypeError):
        store.extend((0, 0), -1, None)  # type: ignore[arg-type]
    with pytest.raises(OverflowError):
        store.add((2**70, 0), -1)
    with pytest.raises(IndexError):
        store.extend([(0, 0)], 5, None)  # no state 5 to be the parent
    with pytest.raises(IndexError):
        store[0]
    assert len(store) == 0


def test_a_layout_packs_into_the_bits_its_ranges_need() -> None:
    model = _compiled("replicaset", False)
    plan = pack_plan(model.layout)
    assert len(plan) == model.layout.width
    assert all(0 <= bits <= 8 for _, bits in plan)
    # a presence flag is one bit, and the one ReplicaSet's constant replicas none at most 2
    pods = model.layout.kind("Pod")
    assert plan[pods.slot_base(0)] == (0, 1)
    assert sum(bits for _, bits in plan) < 8 * model.layout.width


@needs_native
def test_a_packed_state_takes_under_100_bytes() -> None:
    # the Spin comparison's ReplicaSet (benchmarks/packed.py), at 9 pod slots: ~10^5 states
    defines = {"REPLICASETS": 1, "MAX_REPLICAS": 5, "CRASHES": 4, "SCALE_UPS": 0}
    defines |= {"SCALE_DOWNS": 0, "replicas": 5}
    model = compile_model(
        load(str(ROOT / "models/replicaset.kdsl"), defines).symbols, symmetry=False
    )
    store = make_store(model.layout)
    assert isinstance(store, NativeStore)
    store.add(model.initial()[0], -1)
    i = 0
    while i < len(store):
        store.extend(model.successors(store[i]), i, None)
        i += 1
    assert len(store) > 50_000
    assert store.nbytes() / len(store) < 100


# ---- the search, with either store ------------------------------------------------------------


@cache
def _compiled(name: str, symmetry: bool) -> CompiledModel:
    return compile_model(load(str(ROOT / "models" / f"{name}.kdsl")).symbols, symmetry=symmetry)


def _summary(r: CheckResult) -> tuple[object, ...]:
    props = tuple(
        (
            p.name,
            p.kind,
            p.status,
            len(p.trace) if p.trace is not None else None,
            p.trace.loop_start if p.trace is not None else None,
            p.reason,
        )
        for p in r.properties
    )
    s = r.stats
    return (s.states, s.transitions, s.depth, r.complete, r.limit, r.verdict, props)


@needs_native
@pytest.mark.parametrize("symmetry", [True, False], ids=["symmetry", "no-symmetry"])
@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_packed_search_finds_what_the_reference_search_finds(path: Path, symmetry: bool) -> None:
    model = _compiled(path.stem, symmetry)
    limits = Limits(max_states=CAP)
    packed = explore(model, symmetry=symmetry, limits=limits)
    reference = explore(model, symmetry=symmetry, limits=limits, packed=False)
    assert _summary(packed) == _summary(reference)
    # the traces themselves, step by step
    for p, q in zip(packed.properties, reference.properties, strict=True):
        assert p.trace == q.trace


@needs_native
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.booleans().flatmap(lambda failing: models(failing=failing)), st.booleans())
def test_packed_search_agrees_on_generated_models(text: str, symmetry: bool) -> None:
    # (failing models: invariants that cannot be evaluated, steps that leave the bounds)
    note(text)
    from kcheck.lang.diagnostics import Source
    from kcheck.lang.frontend import check_source

    model = compile_model(check_source(Source("gen.kdsl", text)).symbols, symmetry=symmetry)
    packed = explore(model, symmetry=symmetry)
    reference = explore(model, symmetry=symmetry, packed=False)
    assert _summary(packed) == _summary(reference)


def test_without_a_compiler_the_search_uses_the_python_store_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KCHECK_NATIVE", "0")
    model = _compiled("replicaset", True)
    assert isinstance(make_store(model.layout), PyStore)
    result = explore(model)
    assert any("Python, not in the packed native store" in n for n in result.notes)
    monkeypatch.setenv("KCHECK_NATIVE", "1")
    if native.load_extension(SOURCE, "_store") is not None:
        assert not any("native store" in n for n in explore(model).notes)
