"""Temporal properties under fairness: each fairness rule on a small model, lassos that really
loop, a brute-force reference on random graphs, and symmetry that never changes a verdict."""

from __future__ import annotations

import itertools
import re
import textwrap
from array import array
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kcheck.explore.bfs import explore
from kcheck.explore.liveness import Graph, check_property
from kcheck.explore.replay import check_counterexample
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel, PropertyInfo
from kcheck.result import CheckResult
from tests.explore.modelgen import models


def compiled(text: str) -> CompiledModel:
    return compile_model(check_source(Source("t.kdsl", textwrap.dedent(text))).symbols)


def statuses(result: CheckResult) -> dict[str, str]:
    return {p.name: p.status for p in result.properties if p.kind == "property"}


FIGHT = """
model fight
var replicas: 0..3 = 1
controller hpa {
  action up when replicas < 3 { replicas := replicas + 1 }
}
controller user {
  action down when replicas > 1 { replicas := 1 }
}
property settles: eventually always replicas == 3
property recurs: always eventually replicas == 1
property grows: replicas == 1 leads_to replicas == 3
property bounded: always replicas >= 1
"""


def test_two_controllers_fighting_over_a_field_is_a_livelock_with_a_lasso() -> None:
    result = explore(compiled(FIGHT))
    assert statuses(result) == {
        "settles": "violated",
        "recurs": "holds",
        "grows": "violated",
        "bounded": "holds",
    }
    settles = next(p for p in result.properties if p.name == "settles")
    assert settles.trace is not None and settles.trace.loop_start == 0
    steps = settles.trace.steps
    assert steps[-1].state == steps[settles.trace.loop_start].state  # the loop closes
    assert [s.action for s in steps[1:]] == ["hpa.up", "user.down"]


def test_a_quiescent_state_stutters_forever() -> None:
    result = explore(
        compiled(
            """
            model stuck
            var x: 0..2 = 0
            controller c { action a when x == 0 { x := 1 } }
            property reaches_two: eventually always x == 2
            property ends_at_one: eventually always x == 1
            """
        )
    )
    assert statuses(result) == {"reaches_two": "violated", "ends_at_one": "holds"}
    trace = result.properties[0].trace
    assert trace is not None and trace.loop_start == len(trace.steps) - 1 == 1


def test_a_behaviour_may_stop_where_only_unfair_actions_are_enabled() -> None:
    """Unfair means nothing forces the action: a lost node that could come back may never."""
    result = explore(
        compiled(
            """
            model lost
            var up: bool = true
            var retries: 0..2 = 0
            controller repair { action retry when not up and retries < 2 { retries := retries + 1 } }
            fault node budget 2 {
              action fail when up { up := false }
              action recover when not up { up := true }
            }
            property back_up: eventually always up
            property tries: (not up) leads_to (up or retries == 2)
            """
        )
    )
    assert statuses(result) == {"back_up": "violated", "tries": "holds"}
    trace = result.properties[0].trace
    assert trace is not None and trace.loop_start == len(trace.steps) - 1
    assert trace.waiting == ("node.recover",)
    assert trace.steps[-1].state is not None and trace.steps[-1].state["up"] is False
    assert result.properties[0].to_json()["waiting"] == ["node.recover"]


NOISE = """
model noise
var x: 0..1 = 0
var noise: 0..1 = 0
controller c {
  FAIRNESS action enable when x == 0 { x := 1 }
}
process p {
  action flip { noise := 1 - noise }
}
property done: eventually always x == 1
"""


@pytest.mark.parametrize(("fairness", "verdict"), [("", "holds"), ("unfair", "violated")])
def test_weak_fairness_forces_a_continuously_enabled_action(fairness: str, verdict: str) -> None:
    assert statuses(explore(compiled(NOISE.replace("FAIRNESS", fairness)))) == {"done": verdict}


GATE = """
model gate
var x: 0..1 = 0
var gate: 0..1 = 0
controller c {
  FAIRNESS action enable when x == 0 and gate == 1 { x := 1 }
}
process p {
  action flip when x == 0 { gate := 1 - gate }
}
property done: eventually always x == 1
"""


@pytest.mark.parametrize(("fairness", "verdict"), [("strong", "holds"), ("", "violated")])
def test_strong_fairness_forces_an_action_enabled_infinitely_often(
    fairness: str, verdict: str
) -> None:
    assert statuses(explore(compiled(GATE.replace("FAIRNESS", fairness)))) == {"done": verdict}


def test_faults_are_never_fair_and_their_budget_ends_them() -> None:
    model = compiled(
        """
        model faults
        var up: bool = true
        controller repair { action fix when not up { up := true } }
        fault crash budget 3 { action down when up { up := false } }
        property recovers: eventually always up
        """
    )
    assert statuses(explore(model)) == {"recovers": "holds"}


def test_liveness_is_inconclusive_when_the_search_is_cut_short() -> None:
    from kcheck.explore.bfs import Limits

    result = explore(compiled(FIGHT), limits=Limits(max_states=2))
    assert set(statuses(result).values()) == {"inconclusive"}


QUANTIFIED = """
model q
kind P[2] { ok: bool = false }
init { create P { } create P { } }
controller c { action fix for p in P where not p.ok { p.ok := true } }
fault breaks budget 1 { action spoil for p in P where p.ok { p.ok := false } }
property all_ok: forall p in P: eventually always p.ok
property each_fixed: forall p in P: not p.ok leads_to p.ok
property starves: forall p in P: always eventually not p.ok
"""


def test_quantified_properties_are_checked_binding_by_binding() -> None:
    for symmetry in (True, False):
        result = explore(compiled(QUANTIFIED), symmetry=symmetry)
        assert statuses(result) == {
            "all_ok": "holds",
            "each_fixed": "holds",
            "starves": "violated",
        }
        starves = next(p for p in result.properties if p.name == "starves")
        assert starves.reason == "for p=P#0"
        assert starves.trace is not None and starves.trace.loop_start is not None
    notes = explore(compiled(QUANTIFIED)).notes
    assert any("without symmetry reduction" in n for n in notes)


def test_an_objects_obligation_ends_with_it() -> None:
    """`leads_to` under `forall` is met when the object is deleted before Q holds."""
    result = explore(
        compiled(
            """
            model gone
            kind P[1] { ok: bool = false }
            init { create P { } }
            controller c { action remove for p in P { delete p } }
            property fixed_or_gone: forall p in P: not p.ok leads_to p.ok
            """
        )
    )
    assert statuses(result) == {"fixed_or_gone": "holds"}


def test_a_forall_over_a_set_is_not_checked_yet() -> None:
    result = explore(
        compiled(
            """
            model s
            enum E { A, B }
            var chosen: set<E> = {A}
            controller c { action add when not (B in chosen) { chosen := chosen | {B} } }
            property each: forall e in chosen: eventually always e in chosen
            """
        )
    )
    assert statuses(result) == {"each": "not checked"}


# ---- a brute-force reference on random graphs ---------------------------------------------


@dataclass(frozen=True)
class _Action:
    id: int
    fairness: str


@dataclass(frozen=True)
class _FakeModel:
    actions: tuple[_Action, ...]


def reference(
    n: int,
    edges: list[tuple[int, int, int]],
    fairness: list[str],
    p: list[bool],
    q: list[bool],
    shape: str,
) -> bool:
    """Does the property hold? Straight from the definitions: look at every set of states that
    a behaviour could visit infinitely often."""
    succ = {u: [(v, a) for x, v, a in edges if x == u] for u in range(n)}
    enabled = [{a for x, _, a in edges if x == u} for u in range(n)]

    def reach(starts: set[int], allowed: set[int]) -> set[int]:
        seen, todo = set(starts), list(starts)
        while todo:
            u = todo.pop()
            for v, _ in succ[u]:
                if v in allowed and v not in seen:
                    seen.add(v)
                    todo.append(v)
        return seen

    reachable = reach({0}, set(range(n)))

    def fair_limit_sets(allowed: set[int]) -> list[set[int]]:
        out = []
        for size in range(1, len(allowed) + 1):
            for combo in itertools.combinations(sorted(allowed), size):
                s = set(combo)
                inner = [(u, v, a) for u, v, a in edges if u in s and v in s]
                if len(s) == 1:
                    (u,) = s
                    if all(fairness[a] == "unfair" for a in enabled[u]):
                        out.append(s)  # a behaviour may stop here: no fair action is enabled
                        continue
                    if not inner:
                        continue
                if any(reach({u}, s) != s for u in s):
                    continue
                if len(s) > 1 and any(not any(x == u for x, _, _ in inner) for u in s):
                    continue
                taken = {a for _, _, a in inner}
                fair = True
                for a, f in enumerate(fairness):
                    always_on = all(a in enabled[u] for u in s)
                    sometimes_on = any(a in enabled[u] for u in s)
                    if f == "weak" and a not in taken and always_on:
                        fair = False
                    if f == "strong" and a not in taken and sometimes_on:
                        fair = False
                if fair:
                    out.append(s)
        return out

    every = set(range(n))
    if shape == "eventually always":
        return not any(any(not p[u] for u in s) for s in fair_limit_sets(every) if s <= reachable)
    if shape == "always eventually":
        return not any(all(not p[u] for u in s) for s in fair_limit_sets(every) if s <= reachable)
    not_q = {u for u in every if not q[u]}
    starts = {u for u in reachable if p[u] and not q[u]}
    inside = reach(starts, not_q) if starts else set()
    return not any(s <= inside for s in fair_limit_sets(not_q))


@st.composite
def random_graphs(draw: Any) -> tuple[Any, ...]:
    n = draw(st.integers(1, 5))
    n_actions = draw(st.integers(1, 3))
    fairness = [draw(st.sampled_from(["weak", "strong", "unfair"])) for _ in range(n_actions)]
    edges = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.integers(0, n_actions - 1)),
            max_size=9,
            unique=True,
        )
    )
    p = [draw(st.booleans()) for _ in range(n)]
    q = [draw(st.booleans()) for _ in range(n)]
    shape = draw(st.sampled_from(["eventually always", "always eventually", "leads_to"]))
    return n, edges, fairness, p, q, shape


def _bfs_graph(n: int, edges: list[tuple[int, int, int]]) -> tuple[Graph, list[int]]:
    """Number the nodes reachable from 0 in BFS order, as the explorer would store them."""
    order, parent = [0], {0: -1}
    for u in order:
        for x, v, _ in sorted(edges):
            if x == u and v not in parent:
                parent[v] = u
                order.append(v)
    index = {u: i for i, u in enumerate(order)}
    start, to, act, enabled = array("q", [0]), array("q"), array("q"), []
    for u in order:
        mask = 0
        for x, v, a in sorted(edges):
            if x == u:
                to.append(index[v])
                act.append(a)
                mask |= 1 << a
        start.append(len(to))
        enabled.append(mask)
    states = [(u,) for u in order]
    par = array("q", [index[parent[u]] if parent[u] >= 0 else -1 for u in order])
    return Graph(states, par, start, to, act, enabled), order


@settings(max_examples=400, deadline=None)
@given(random_graphs())
def test_fair_scc_check_agrees_with_brute_force_on_random_graphs(case: tuple[Any, ...]) -> None:
    n, edges, fairness, p, q, shape = case
    graph, _ = _bfs_graph(n, edges)
    model = _FakeModel(tuple(_Action(i, f) for i, f in enumerate(fairness)))
    preds = (lambda s: p[s[0]],) if shape != "leads_to" else (lambda s: p[s[0]], lambda s: q[s[0]])
    prop = PropertyInfo("x", None, shape, preds)  # type: ignore[arg-type]
    lasso = check_property(model, graph, prop)  # type: ignore[arg-type]
    assert (lasso is None) == reference(n, edges, fairness, p, q, shape)
    if lasso is not None:
        # the lasso follows real edges and its loop returns to where it started
        for (u, _), (v, a) in itertools.pairwise(lasso.path):
            assert (v, a) in list(graph.edges(u))
        if lasso.loop_start < len(lasso.path) - 1:
            assert lasso.path[-1][0] == lasso.path[lasso.loop_start][0]
        else:  # it stops: no fair action is enabled in its last state
            last = lasso.path[-1][0]
            assert all(
                fairness[a] == "unfair"
                for a in range(len(fairness))
                if graph.enabled[last] >> a & 1
            )


# ---- symmetry never changes a liveness verdict ----------------------------------------------


def with_properties(text: str) -> str:
    """Turn each generated invariant into temporal properties over the same state formula."""
    out = [text.rstrip()]
    for i, expr in enumerate(re.findall(r"^invariant inv\d+: (.*)$", text, re.M)):
        out.append(f"property ea{i}: eventually always ({expr})")
        out.append(f"property ae{i}: always eventually ({expr})")
        out.append(f"property lt{i}: ({expr}) leads_to not ({expr})")
    return "\n".join(out) + "\n"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models() | models(controller_state=True))
def test_symmetry_never_changes_a_liveness_verdict(text: str) -> None:
    model = compiled(with_properties(text))
    on, off = explore(model), explore(model, symmetry=False)
    assert statuses(on) == statuses(off)
    for prop in on.properties:
        if prop.kind == "property" and prop.trace is not None and prop.trace.loop_start is not None:
            # replayed on real states, the loop returns to its first state, slot for slot
            # (objects created in the loop show under new names: trace.loop_renames)
            check_counterexample(model, prop)


def test_a_property_that_cannot_be_evaluated_is_violated_where_it_fails() -> None:
    """Even in a state no fair behaviour stays in: a formula error is a model error."""
    result = explore(
        compiled(
            """
            model divides
            var x: 0..1 = 0
            controller c { action a when x == 0 { x := 1 } }
            property p: eventually always (1 / x) == 1
            """
        )
    )
    (prop,) = result.properties
    assert prop.status == "violated"
    assert prop.reason is not None and "division by zero" in prop.reason
    assert prop.trace is not None and len(prop.trace) == 0
