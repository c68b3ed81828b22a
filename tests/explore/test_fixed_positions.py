"""What never changes after `init` is left out of the packed state (issue 14.1): the layout's
fixed positions (model/layout.py) hold their initial value in every reachable state of every
model, the packed key is smaller for it, and a fixed position that does change is widened by
the store, never lost."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from kcheck.explore.bfs import Limits, explore
from kcheck.explore.store import NativeStore, make_store, pack_plan
from kcheck.lang.frontend import load
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel, State, StepError
from tests.explore.test_store import needs_native

ROOT = Path(__file__).resolve().parents[2]
MODELS = sorted((ROOT / "models").glob("*.kdsl"))
CAP = 5_000  # states per model: most spaces whole at their default sizes


@cache
def _compiled(name: str, symmetry: bool, **defines: int) -> CompiledModel:
    path = str(ROOT / "models" / f"{name}.kdsl")
    return compile_model(load(path, defines).symbols, symmetry=symmetry)


def _reachable(model: CompiledModel, symmetry: bool) -> list[State]:
    """Up to CAP states breadth-first, each as the search stores it (canonical with symmetry)."""
    canon = model.canonicalize if symmetry else None
    succ = model.symmetric_successors if symmetry and canon else model.successors
    try:
        inits = model.initial()
    except StepError:
        return []
    seen: dict[State, None] = dict.fromkeys(canon(s) if canon else s for s in inits)
    order = list(seen)
    i = 0
    while i < len(order) and len(order) < CAP:
        try:
            nexts = succ(order[i])
        except StepError:
            nexts = []
        for t in nexts:
            t = canon(t) if canon else t
            if t not in seen:
                seen[t] = None
                order.append(t)
        i += 1
    return order


@pytest.mark.parametrize("symmetry", [True, False], ids=["symmetry", "no-symmetry"])
@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_fixed_positions_keep_their_initial_value(path: Path, symmetry: bool) -> None:
    model = _compiled(path.stem, symmetry)
    fixed = sorted(model.layout.fixed)
    states = _reachable(model, symmetry)
    if not states or not fixed:
        return
    first = [states[0][i] for i in fixed]
    for s in states:
        assert [s[i] for i in fixed] == first, [(i, s[i]) for i in fixed if s[i] != states[0][i]]


def test_the_layout_finds_what_never_changes() -> None:
    # the scheduler's nodes are never created or deleted and their capacity never assigned
    # (a fault makes a node not `ready`); its pods are bound, run, ...
    model = _compiled("scheduler_starvation", False, NODES=2, PODS=4, CPU=8, MAX_REQUEST=4)
    nodes, pods = model.layout.kind("Node"), model.layout.kind("Pod")
    cpu, ready = nodes.field("cpu").offset, nodes.field("ready").offset
    bases = [nodes.slot_base(j) for j in range(nodes.slots)]
    assert {b + o for b in bases for o in (0, cpu)} == model.layout.fixed
    assert not {b + ready for b in bases} & model.layout.fixed
    node_span = set(range(nodes.base, nodes.base + nodes.slots * nodes.stride))
    pod_span = set(range(pods.base, pods.base + pods.slots * pods.stride))
    assert not pod_span & model.layout.fixed
    # with symmetry, the nodes are permuted: nothing of theirs is fixed
    symmetric = _compiled("scheduler_starvation", True, NODES=2, PODS=4, CPU=8, MAX_REQUEST=4)
    assert not node_span & symmetric.layout.fixed


def test_fixed_positions_take_no_bits() -> None:
    model = _compiled("scheduler_starvation", False, NODES=2, PODS=4, CPU=8, MAX_REQUEST=4)
    inits = model.initial()
    plan, without = pack_plan(model.layout, inits), pack_plan(model.layout)
    for i in model.layout.fixed:
        assert plan[i] == (inits[0][i], 0)
    assert sum(b for _, b in plan) < sum(b for _, b in without)


@needs_native
def test_the_packed_key_is_smaller_and_the_search_the_same() -> None:
    model = _compiled("scheduler_starvation", False, NODES=2, PODS=4, CPU=8, MAX_REQUEST=4)
    with_fixed = make_store(model.layout, model.initial())
    without = make_store(model.layout)
    assert isinstance(with_fixed, NativeStore) and isinstance(without, NativeStore)
    assert with_fixed.key_bytes() < without.key_bytes()  # 4 bytes a state instead of 5
    limits = Limits(max_states=20_000)
    packed = explore(model, symmetry=False, limits=limits)
    reference = explore(model, symmetry=False, limits=limits, packed=False)
    assert (packed.stats.states, packed.stats.transitions) == (
        reference.stats.states,
        reference.stats.transitions,
    )
    assert [p.status for p in packed.properties] == [p.status for p in reference.properties]


@needs_native
def test_a_fixed_position_that_changes_after_all_is_widened_not_lost() -> None:
    model = _compiled("scheduler_starvation", False, NODES=2, PODS=4, CPU=8, MAX_REQUEST=4)
    init = model.initial()[0]
    store = make_store(model.layout, [init])
    assert isinstance(store, NativeStore)
    i = min(model.layout.fixed)
    other = (*init[:i], init[i] + 1, *init[i + 1 :])
    assert store.add(init, -1) == 0
    assert store.add(other, 0) == 1
    assert store[0] == init and store[1] == other
    assert store.index(other) == 1 and store.raw.widened() == 1  # type: ignore[attr-defined]


@needs_native
@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_the_first_states_fit_the_plan_without_widening(path: Path) -> None:
    # a free slot's fields are all 0, which a declared range such as 1..4 leaves out: the plan
    # includes it (before, the scheduler's 5-byte state was widened to 36 bytes at once)
    model = _compiled(path.stem, False)
    states = _reachable(model, False)[:200]
    store = make_store(model.layout, model.initial() if states else [])
    assert isinstance(store, NativeStore)
    for s in states:
        store.add(s, -1)
    assert store.raw.widened() == 0  # type: ignore[attr-defined]
