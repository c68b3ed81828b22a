"""The liveness check's graph work in C (explore/graph.c) against the Python reference in
liveness.py: the same SCCs in the same order with the same members in the same order, the same
fairness summaries, fair components, reachability and, on every model with temporal properties,
the same lassos."""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kcheck.explore.bfs as bfs
from kcheck.explore import property_verdicts
from kcheck.explore.bfs import Limits, explore
from kcheck.explore.liveness import Graph, _Checker, _reach, _sccs, check_property, native_graph
from kcheck.explore.property_verdicts import _failure, _truth
from kcheck.lang.frontend import load
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel, PropertyInfo, StepError
from tests.explore.test_liveness import _Action, _FakeModel

ROOT = Path(__file__).resolve().parents[2]
MODELS = sorted((ROOT / "models").glob("*.kdsl"))
CAP = 30_000  # states per model: a capped graph is incomplete, yet a graph to compare on


def _module() -> ModuleType:
    mod = native_graph()
    if mod is None:
        pytest.skip("graph.c cannot be built here")
    return mod


def _summaries(graph: Graph, comps: list[list[int]]) -> list[tuple[int, bool, int, int]]:
    """Per component, what fair_components computes of it: taken actions, self loop, and the
    AND and OR of its members' enabled masks (as uint64)."""
    out = []
    for comp in comps:
        members = set(comp)
        taken, loop, every, some = 0, False, (1 << 64) - 1, 0
        for u in comp:
            for v, a in graph.edges(u):
                if v in members:
                    taken |= 1 << a
                    loop = loop or v == u
            every &= graph.enabled[u]
            some |= graph.enabled[u]
        out.append((taken, loop, every, some))
    return out


def _native_sccs(
    mod: ModuleType, graph: Graph, keep: bytearray | None, roots: Sequence[int] | None, only: bool
) -> tuple[list[list[int]], list[tuple[int, bool, int, int]]]:
    enabled = array("Q", graph.enabled)
    rts = None if roots is None else array("i", roots)
    parts = mod.sccs(graph.edge_start, graph.edge_to, graph.edge_act, enabled, keep, rts, only)
    members = memoryview(parts[0]).cast("i").tolist()
    offsets = memoryview(parts[1]).cast("q").tolist()
    comps = [members[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
    masks = [memoryview(parts[k]).cast("Q").tolist() for k in (2, 4, 5)]
    loops = [bool(b) for b in parts[3]]
    return comps, list(zip(masks[0], loops, masks[1], masks[2], strict=True))


@st.composite
def cases(draw: st.DrawFn) -> tuple[Any, ...]:
    n = draw(st.integers(1, 12))
    acts = draw(st.integers(1, 64))
    node = st.integers(0, n - 1)
    edges = draw(st.lists(st.tuples(node, node, st.integers(0, acts - 1)), max_size=3 * n))
    edges.sort(key=lambda e: e[0])  # stable: each node's edges in the order drawn
    start, to, act = [0], [], []
    for u in range(n):
        for x, v, a in edges:
            if x == u:
                to.append(v)
                act.append(a)
        start.append(len(to))
    wide = draw(st.booleans())  # the search's array types, or a simulation's
    enabled = draw(st.lists(st.integers(0, 2**acts - 1), min_size=n, max_size=n))
    graph = Graph(
        [(u,) for u in range(n)],
        array("q", [-1] * n),
        array("q", start),
        array("q" if wide else "i", to),
        array("q" if wide else "H", act),
        enabled if wide else array("Q", enabled),
    )
    keep = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    roots = draw(st.one_of(st.none(), st.lists(node, max_size=2 * n)))
    fairness = tuple(
        _Action(i, draw(st.sampled_from(["weak", "strong", "unfair"]))) for i in range(acts)
    )
    return graph, keep, roots, _FakeModel(fairness)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_c_sccs_and_summaries_are_the_python_ones_on_random_graphs(case: tuple[Any, ...]) -> None:
    mod = _module()
    graph, keep, roots, model = case
    n = len(graph.states)
    nodes = range(n) if roots is None else roots
    expected = _sccs(graph, keep, nodes)
    comps, sums = _native_sccs(mod, graph, bytearray(keep), roots, False)
    assert comps == expected
    assert sums == _summaries(graph, expected)
    # leaving out the trivial ones keeps the rest, in order
    big = [i for i, c in enumerate(expected) if len(c) > 1 or sums[i][1]]
    assert _native_sccs(mod, graph, bytearray(keep), roots, True) == (
        [expected[i] for i in big],
        [sums[i] for i in big],
    )
    if all(keep):
        assert _native_sccs(mod, graph, None, roots, False) == (comps, sums)
    # fair components, stuttering nodes and reachability: C and Python, the same lists
    fast, slow = _Checker(model, graph), _Checker(model, graph, use_native=False)
    assert fast.native is not None and slow.native is None
    assert fast.fair_components(keep, nodes) == slow.fair_components(keep, nodes)
    starts = sorted({u for u in nodes if keep[u]})
    assert _reach(fast, bytearray(keep), starts) == _reach(slow, bytearray(keep), starts)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.data())
def test_check_property_gives_the_same_lasso_with_c_and_python(
    case: tuple[Any, ...], data: st.DataObject
) -> None:
    _module()
    graph, _, _, model = case
    n = len(graph.states)
    p = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    q = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    for shape in ("always", "eventually always", "always eventually", "leads_to"):
        preds = (lambda s: p[s[0]], lambda s: q[s[0]])[: 2 if shape == "leads_to" else 1]
        prop = PropertyInfo("x", None, shape, preds)  # type: ignore[arg-type]
        ref = check_property(model, graph, prop, use_native=False)
        values = [bytes(map(bool, map(f, graph.states))) for f in preds]
        assert check_property(model, graph, prop) == ref
        assert check_property(model, graph, prop, values) == ref
        assert check_property(model, graph, prop, values, use_native=False) == ref


def _graphs(model: CompiledModel, monkeypatch: pytest.MonkeyPatch) -> Iterator[Graph]:
    """The graphs the search hands to the property check, at most CAP states each."""
    seen: list[Graph] = []
    original = property_verdicts.guarded_property_result

    def capture(*args: Any) -> Any:
        if args[2] is not None and not any(g is args[2] for g in seen):
            seen.append(args[2])
        return original(*args)

    with monkeypatch.context() as patch:
        patch.setattr(bfs, "guarded_property_result", capture)
        explore(model, limits=Limits(max_states=CAP))
    for graph in seen:
        yield _trimmed(graph)


def _trimmed(graph: Graph) -> Graph:
    """A capped search's graph, cut down to the states it expanded (the rest have no edges
    stored): the edges to the others are dropped, so the check runs on a graph, if not the
    model's whole one."""
    m = len(graph.edge_start) - 1
    if len(graph.states) == m:
        return graph
    start, to, act = array("q", [0]), array("i"), array(graph.edge_act.typecode)
    for u in range(m):
        for v, a in graph.edges(u):
            if v < m:
                to.append(v)
                act.append(a)
        start.append(len(to))
    enabled = graph.enabled[:m]
    return Graph(list(graph.states)[:m], graph.parent, start, to, act, enabled)


TEMPORAL = [m for m in MODELS if "leads_to" in m.read_text() or "eventually" in m.read_text()]


@pytest.mark.parametrize("path", TEMPORAL, ids=lambda p: p.stem)
def test_every_model_gets_the_same_components_and_lassos_from_c_and_python(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _module()
    model = compile_model(load(str(path)).symbols)
    if not model.properties:
        pytest.skip("no temporal property")
    checked = 0
    for graph in _graphs(model, monkeypatch):
        n = len(graph.states)
        fast, slow = _Checker(model, graph), _Checker(model, graph, use_native=False)
        if fast.native is None:
            continue  # more than 64 actions: Python only
        every = [True] * n
        assert fast.fair_components(every, range(n)) == slow.fair_components(every, range(n))
        for prop in model.properties:
            for _, preds in prop.instances:
                one = PropertyInfo(prop.name, prop.span, prop.shape, preds)
                values, failed = _truth(preds, graph.states)
                first = next(
                    (
                        (i, f)
                        for i, s in enumerate(graph.states)
                        if (f := _failure(preds, s)) is not None
                    ),
                    None,
                )
                assert failed == first
                if failed is not None:
                    continue
                ref = check_property(model, graph, one, use_native=False)
                assert check_property(model, graph, one, values) == ref
                checked += 1
    assert checked or not any(p.instances for p in model.properties)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from([True, False, None]), min_size=1, max_size=3), max_size=8))
def test_truth_finds_the_first_unevaluable_state_as_the_state_by_state_scan(
    table: list[list[bool | None]],
) -> None:
    """None in the table: that predicate cannot be evaluated in that state. Evaluated a
    predicate at a time, the first failure reported is still the first state's first one."""
    width = min((len(row) for row in table), default=1)

    def pred(k: int) -> Any:
        def p(s: tuple[int]) -> bool:
            v = table[s[0]][k]
            if v is None:
                raise StepError("bad", f"p{k} in {s[0]}", -1, (), 1)
            return v

        return p

    preds = tuple(pred(k) for k in range(width))
    states = [(i,) for i in range(len(table))]
    values, failed = _truth(preds, states)
    first = next(
        ((i, f) for i, s in enumerate(states) if (f := _failure(preds, s)) is not None), None
    )
    assert failed == first
    if failed is None:
        assert values == [bytes(bool(row[k]) for row in table) for k in range(width)]


def test_kcheck_native_0_and_more_than_64_actions_use_the_python_graph_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _module()
    graph = Graph([(0,)], array("q", [-1]), array("q", [0, 0]), array("i"), array("H"), [0])
    one: Any = _FakeModel((_Action(0, "weak"),))
    many: Any = _FakeModel(tuple(_Action(i, "weak") for i in range(65)))
    assert _Checker(one, graph).native is not None
    assert _Checker(many, graph).native is None
    monkeypatch.setenv("KCHECK_NATIVE", "0")
    assert _Checker(one, graph).native is None
