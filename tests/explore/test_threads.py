"""The search on several threads (`--threads`, explore/store_par.c) against the one-thread search
over the same generated C: the same states stored in the same order with the same parents, and
so the same counts, verdicts and shortest traces, on every model in models/ and on generated
models, with and without symmetry (issue 14.2)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from kcheck.explore import bfs
from kcheck.explore.bfs import Limits, explore
from kcheck.explore.store import StateStore, generated_code
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel
from tests.explore.modelgen import models
from tests.explore.native_search import MODELS, compiled, needs_native, summary

CAP = 6_000  # states per model: both searches cut at the same state


@pytest.fixture(autouse=True)
def small_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    # the generated C from the first state, and slices of 64 states (two of the threads'
    # blocks): many slices, blocks and stopping points even in a small search
    monkeypatch.setattr(bfs, "GEN_AFTER", 0)
    monkeypatch.setattr(bfs, "PAR_SLICE", 64)


def _search(
    model: CompiledModel, threads: int, graph: bool = False, **kw: Any
) -> tuple[tuple[object, ...], object]:
    """explore's summary, and its store's states and parents in index order; with `graph`, the
    search that keeps the state graph (every temporal property), and the graph's arrays."""
    stores: list[StateStore] = []
    graphs: list[tuple[list[int], ...]] = []
    make, keep_graph = bfs.make_store, bfs.Graph

    def keep(*args: Any) -> Any:
        stores.append(make(*args))
        return stores[-1]

    def seen(store: Any, parent: Any, *arrays: Any) -> Any:
        graphs.append(tuple(list(a) for a in arrays))
        return keep_graph(store, parent, *arrays)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bfs, "make_store", keep)
        mp.setattr(bfs, "Graph", seen)
        limits = kw.pop("limits", Limits(max_states=CAP))
        r = explore(
            model,
            properties=None if graph else [],
            limits=replace(limits, threads=threads),
            **kw,
        )
    store = stores[0]
    return summary(r), (list(store), list(store.parent_array()), graphs)


def _same(
    model: CompiledModel,
    symmetry: bool,
    threads: Iterator[int] | tuple[int, ...],
    graph: bool = False,
) -> None:
    one = _search(model, 1, graph, symmetry=symmetry)
    for n in threads:
        many = _search(model, n, graph, symmetry=symmetry)
        assert many[0] == one[0], n
        assert many[1] == one[1], f"{n} threads stored other states or edges, or in another order"


@needs_native
@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_threads_store_what_one_thread_stores(path: Path) -> None:
    model = compiled(path.stem, False)
    if generated_code(model) is None:
        pytest.skip("does not translate to C: one thread whatever --threads says")
    _same(model, False, (2, 3))


@needs_native
@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_threads_with_symmetry_store_what_one_thread_stores(path: Path) -> None:
    # each thread canonicalises on its own (canon.c's scratch is per thread)
    model = compiled(path.stem, True)
    if generated_code(model, True) is None:
        pytest.skip("does not translate to C")
    _same(model, True, (2,))


@needs_native
@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_threads_keep_the_graph_one_thread_keeps(path: Path) -> None:
    # the search behind every temporal property: the same edges, actions and enabled sets too,
    # and so the same lassos
    model = compiled(path.stem, False)
    if not model.properties or generated_code(model) is None or len(model.actions) > 64:
        pytest.skip("no temporal property, or not in C")
    _same(model, False, (2,), graph=True)


@needs_native
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["plain", "failing", "controller state"]).flatmap(
        lambda how: models(failing=how == "failing", controller_state=how == "controller state")
    ),
    st.booleans(),
    st.booleans(),
)
def test_threads_agree_on_generated_models(text: str, symmetry: bool, graph: bool) -> None:
    # failing models: invariants that cannot be evaluated, steps that leave the bounds (the
    # states phase 1 hands to phase 2), and violations that stop the search; controller state:
    # stale caches, split steps and restarts
    note(text)
    model = compile_model(check_source(Source("gen.kdsl", text)).symbols, symmetry=symmetry)
    _same(model, symmetry, (2, 4), graph=graph)


@needs_native
@pytest.mark.parametrize("graph", [False, True])
@pytest.mark.parametrize("name", ["scheduler", "replicaset", "hpa_no_stabilization"])
def test_threads_agree_when_every_position_starts_one_bit_wide(
    monkeypatch: pytest.MonkeyPatch, name: str, graph: bool
) -> None:
    # every value past 1 bit widens its position and re-packs the store, between and inside
    # slices: phase 1's keys go stale and its states are redone, with the same answer
    from kcheck.explore import store as store_module

    plan = store_module.pack_plan
    monkeypatch.setattr(
        store_module, "pack_plan", lambda *a: [(lo, min(bits, 1)) for lo, bits in plan(*a)]
    )
    model = compiled(name, False)
    one = _search(model, 1, graph, symmetry=False)
    monkeypatch.setattr(store_module, "pack_plan", plan)
    assert _search(model, 1, graph, symmetry=False) == one  # widening changes no answer
    monkeypatch.setattr(
        store_module, "pack_plan", lambda *a: [(lo, min(bits, 1)) for lo, bits in plan(*a)]
    )
    assert _search(model, 2, graph, symmetry=False) == one


@needs_native
@pytest.mark.parametrize("cap", [1, 37, 64, 65, 500, 1_001])
def test_a_state_limit_stops_where_one_thread_stops(cap: int) -> None:
    # the limit falls inside a block, on a slice's edge, or past it: the same last state
    model = compiled("scheduler", False)
    one = _search(model, 1, symmetry=False, limits=Limits(max_states=cap))
    two = _search(model, 2, symmetry=False, limits=Limits(max_states=cap))
    assert two == one


@needs_native
@pytest.mark.parametrize("low", range(4, 20))
def test_the_last_counterexample_stops_the_search_at_the_same_state(low: int) -> None:
    # every invariant broken: the search stops after the state that found the last one, with
    # the states stored up to there and no more; each bound puts the first violating state,
    # and the stop, somewhere else in a slice
    text = CUBE.replace("LOW", str(low)).replace("CORNER", str(low % 9))
    model = compile_model(check_source(Source("cube.kdsl", text)).symbols, symmetry=False)
    one = _search(model, 1, symmetry=False, limits=Limits())
    assert one[0][5] == "violated" and not one[0][3]  # stopped early
    for n in (2, 3):
        assert _search(model, n, symmetry=False, limits=Limits()) == one


CUBE = """
model cube
var a: 0..9 = 0
var b: 0..9 = 0
var c: 0..9 = 0
controller k {
  action x when a < 9 { a := a + 1 }
  action y when b < 9 { b := b + 1 }
  action z when c < 9 { c := c + 1 }
}
invariant low: a + b + c < LOW
invariant no_corner: not (a == 9 and b == CORNER)
"""


@needs_native
def test_bad_thread_counts_are_refused() -> None:
    model = compiled("scheduler", False)
    with pytest.raises(ValueError, match="threads must be 1 to 256"):
        explore(model, properties=[], symmetry=False, limits=Limits(threads=0))


@needs_native
def test_a_search_that_cannot_use_threads_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    model = compiled("replicaset", False)
    r = explore(model, symmetry=False, limits=Limits(threads=2))
    assert not any("thread" in n for n in r.notes)
    monkeypatch.setattr(bfs, "generated_code", lambda *a: None)
    r = explore(model, symmetry=False, limits=Limits(threads=2))
    assert any("ran on one thread, not 2" in n and "translate" in n for n in r.notes)
