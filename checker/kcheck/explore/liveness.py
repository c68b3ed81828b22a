"""Temporal properties under fairness, checked on the reachable state graph.

The graph is the one the breadth-first search stored (one node per representative state, one
edge per step, labelled with its action, and for every node the set of actions enabled there).
A behaviour is an infinite path, or a finite one that stops for good (stutters) in a node where
no fair action is enabled: a node with no step at all, or one where only unfair actions (faults,
`unfair action`s) could fire, which a behaviour need never take. Fairness is per action (any of
its instances): weak for actions of controllers, processes and schedulers unless marked `unfair`
or `strong`, none for faults, whose budgets bound them anyway.

A property fails exactly when some fair behaviour breaks it, and a fair behaviour ends in a set
of states it visits infinitely often, a strongly connected set. So each check looks for a fair
strongly connected component (SCC) of a subgraph, the Emerson–Lei way:

- `eventually always P` fails iff a fair SCC (or a stuttering node) contains a state where P is
  false: the behaviour can cycle through it, or stay in it, forever;
- `always eventually P` fails iff a fair SCC (or a stuttering node) of the states where P is
  false exists;
- `P leads_to Q` fails iff, among the states where Q is false and that are reachable through such
  states from one where P holds, a fair SCC (or a stuttering node) exists;
- `always P` fails iff some reachable state breaks P.

An SCC is fair for a weakly fair action a when a is taken on one of its edges or disabled in one
of its states (a behaviour that cycles through all of it then satisfies weak fairness). For a
strongly fair action, a must be taken inside it or disabled in all of its states; when neither
holds, the states where a is enabled are removed and the rest is searched again. Why this is
sound on a symmetry-reduced graph: predicates and per-action fairness cannot tell permuted
states apart, so a lasso of representatives is a lasso of real states up to a renaming, and
repeating its loop returns to the very same state (spec/liveness.md).
"""

from __future__ import annotations

import itertools
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from kcheck.explore.store import ParentSeq, StateSeq
from kcheck.model.ir import CompiledModel, PropertyInfo

MAX_LOOP_REPEATS = 10_000  # bound on replays of a loop until a concrete state repeats


@dataclass
class Graph:
    """The stored reachable graph: node i's edges are edge_to/edge_act[edge_start[i]:edge_start[i+1]]."""

    states: StateSeq
    parent: ParentSeq
    edge_start: array[int]
    edge_to: array[int]
    edge_act: array[int]
    enabled: Sequence[int]  # bitmask of the actions with a step from each node

    def edges(self, u: int) -> Iterable[tuple[int, int]]:
        for k in range(self.edge_start[u], self.edge_start[u + 1]):
            yield self.edge_to[k], self.edge_act[k]

    def quiescent(self, u: int) -> bool:
        return self.edge_start[u] == self.edge_start[u + 1]


@dataclass(frozen=True)
class Lasso:
    """A counterexample path of (node, action that led there): the prefix and then a loop that
    starts at node `path[loop_start]` and ends by returning to it (an empty loop: stuttering)."""

    path: list[tuple[int, int]]
    loop_start: int
    trigger: int | None = None  # leads_to: the step where the left side holds


def _sccs(graph: Graph, keep: list[bool], nodes: Iterable[int]) -> list[list[int]]:
    """Tarjan's algorithm, iterative, on the subgraph of `keep` nodes, from `nodes`. Its
    bookkeeping is in flat arrays (9 bytes a node), not dicts: the graph may have millions."""
    n = len(graph.edge_start) - 1
    index = array("i", [-1]) * n  # -1: not visited yet
    low = array("i", [0]) * n
    on_stack = bytearray(n)
    stack: list[int] = []
    out: list[list[int]] = []
    counter = 0
    for root in nodes:
        if index[root] >= 0 or not keep[root]:
            continue
        work: list[tuple[int, int]] = [(root, graph.edge_start[root])]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = 1
        while work:
            u, k = work[-1]
            end = graph.edge_start[u + 1]
            advanced = False
            while k < end:
                v = graph.edge_to[k]
                k += 1
                if not keep[v]:
                    continue
                if index[v] < 0:
                    work[-1] = (u, k)
                    index[v] = low[v] = counter
                    counter += 1
                    stack.append(v)
                    on_stack[v] = 1
                    work.append((v, graph.edge_start[v]))
                    advanced = True
                    break
                if on_stack[v]:
                    low[u] = min(low[u], index[v])
            if advanced:
                continue
            work.pop()
            if work:
                parent_node = work[-1][0]
                low[parent_node] = min(low[parent_node], low[u])
            if low[u] == index[u]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack[w] = 0
                    comp.append(w)
                    if w == u:
                        break
                out.append(comp)
    return out


class _Checker:
    def __init__(self, model: CompiledModel, graph: Graph) -> None:
        self.model = model
        self.graph = graph
        self.weak = [a.id for a in model.actions if a.fairness == "weak"]
        self.strong = [a.id for a in model.actions if a.fairness == "strong"]
        self.fair_mask = 0
        for a in self.weak + self.strong:
            self.fair_mask |= 1 << a

    def stutters(self, u: int) -> bool:
        """A behaviour may stop in u for good: no fair action is enabled there."""
        return not self.graph.enabled[u] & self.fair_mask

    def fair_components(self, keep: list[bool], nodes: Sequence[int]) -> list[list[int]]:
        """Fair SCCs (Emerson–Lei refinement for strong fairness) and stuttering nodes, within
        the `keep` subgraph; each result is a set a fair behaviour can stay in forever."""
        g = self.graph
        found: list[list[int]] = [[u] for u in nodes if keep[u] and self.stutters(u)]
        work: list[tuple[list[bool], Sequence[int]]] = [(keep, nodes)]
        while work:
            sub, roots = work.pop()
            for comp in _sccs(g, sub, roots):
                members = set(comp)
                taken = 0
                self_loop = False
                for u in comp:
                    for v, a in g.edges(u):
                        if v in members:
                            taken |= 1 << a
                            self_loop = self_loop or v == u
                if len(comp) == 1 and not self_loop:
                    continue
                enabled_all = -1
                enabled_any = 0
                for u in comp:
                    enabled_all &= g.enabled[u]
                    enabled_any |= g.enabled[u]
                if any(not taken >> a & 1 and enabled_all >> a & 1 for a in self.weak):
                    continue  # a weakly fair action is always enabled here and never taken
                bad = [a for a in self.strong if not taken >> a & 1 and enabled_any >> a & 1]
                if not bad:
                    found.append(comp)
                    continue
                mask = 0
                for a in bad:
                    mask |= 1 << a
                rest = [u for u in comp if not g.enabled[u] & mask]
                if rest:
                    narrowed = list(sub)
                    for u in comp:
                        if g.enabled[u] & mask:
                            narrowed[u] = False
                    work.append((narrowed, rest))
        return found

    def path_within(
        self, start: int, goal: Callable[[int], bool], members: set[int]
    ) -> list[tuple[int, int]]:
        """A shortest path start -> a goal node through `members`, as (node, action) steps."""
        if goal(start):
            return []
        prev: dict[int, tuple[int, int]] = {start: (-1, -1)}
        queue = deque([start])
        while queue:
            u = queue.popleft()
            for v, a in self.graph.edges(u):
                if v in members and v not in prev:
                    prev[v] = (u, a)
                    if goal(v):
                        steps = []
                        while v != start:
                            pu, pa = prev[v]
                            steps.append((v, pa))
                            v = pu
                        return steps[::-1]
                    queue.append(v)
        raise AssertionError("no path inside a strongly connected component")

    def loop(self, comp: list[int], entry: int, must_visit: list[int]) -> list[tuple[int, int]]:
        """A cycle entry -> ... -> entry inside comp that visits `must_visit` and meets every
        fairness requirement, each at the nearest place that meets it: a weakly fair action is
        taken or seen disabled, a strongly fair action taken in comp is taken."""
        g = self.graph
        if len(comp) == 1 and self.stutters(comp[0]):
            return []
        members = set(comp)
        steps: list[tuple[int, int]] = []
        seen_states = {entry}
        taken: set[int] = set()
        cur = entry

        def walk(path: list[tuple[int, int]]) -> None:
            nonlocal cur
            for v, a in path:
                seen_states.add(v)
                taken.add(a)
                cur = v
            steps.extend(path)

        for target in must_visit:
            walk(self.path_within(cur, _is(target), members))
        inside = {a for u in comp for v, a in g.edges(u) if v in members}
        for a in [*self.weak, *self.strong]:
            if a in taken:
                continue
            if a in self.weak and any(not g.enabled[u] >> a & 1 for u in seen_states):
                continue
            if a in self.strong and a not in inside:
                continue  # disabled in every state of comp: nothing to do
            walk(self.path_within(cur, self._meets(a, members), members))
            if a not in taken and (a in self.strong or g.enabled[cur] >> a & 1):
                v = next(v for v, b in g.edges(cur) if b == a and v in members)
                walk([(v, a)])
        if not steps:  # the loop must take at least one step: a self loop or a way round
            v, a = next((v, a) for v, a in g.edges(entry) if v in members)
            walk([(v, a)])
        walk(self.path_within(cur, _is(entry), members))
        return steps

    def _meets(self, a: int, members: set[int]) -> Callable[[int], bool]:
        """Where the fairness of action a is met: it is disabled there (weak), or it can be
        taken there without leaving the component."""
        g = self.graph
        weak = a in self.weak

        def meets(u: int) -> bool:
            if weak and not g.enabled[u] >> a & 1:
                return True
            return any(b == a and v in members for v, b in g.edges(u))

        return meets

    def prefix_to(self, node: int) -> list[tuple[int, int]]:
        """The stored shortest path from an initial state to node, as (node, action) steps; the
        first element is the initial node with action -1."""
        g = self.graph
        chain = []
        while node >= 0:
            chain.append(node)
            node = g.parent[node]
        chain.reverse()
        out = [(chain[0], -1)]
        for u, v in itertools.pairwise(chain):
            a = next(b for w, b in g.edges(u) if w == v)
            out.append((v, a))
        return out


def _is(target: int) -> Callable[[int], bool]:
    return lambda u: u == target


def check_property(model: CompiledModel, graph: Graph, prop: PropertyInfo) -> Lasso | None:
    """The counterexample of a temporal property, or None when it holds (complete graph)."""
    c = _Checker(model, graph)
    n = len(graph.states)
    preds = prop.predicates
    everything = range(n)
    if prop.shape == "always":
        p = preds[0]
        bad = next((u for u in everything if not p(graph.states[u])), None)
        return None if bad is None else Lasso(c.prefix_to(bad), -1)
    if prop.shape == "eventually always":
        p = preds[0]
        keep = [True] * n
        for comp in c.fair_components(keep, everything):
            failing = [u for u in comp if not p(graph.states[u])]
            if failing:
                entry = min(comp)
                return _lasso(c, comp, [] if entry in failing else [failing[0]])
        return None
    if prop.shape == "always eventually":
        p = preds[0]
        keep = [not p(s) for s in graph.states]
        comps = c.fair_components(keep, [u for u in everything if keep[u]])
        return _lasso(c, comps[0], []) if comps else None
    if prop.shape == "leads_to":
        p, q = preds
        not_q = [not q(s) for s in graph.states]
        starts = [u for u in everything if not_q[u] and p(graph.states[u])]
        # states reachable from a start through states where Q is false
        reach = [False] * n
        queue = deque(starts)
        for u in starts:
            reach[u] = True
        while queue:
            u = queue.popleft()
            for v, _ in graph.edges(u):
                if not_q[v] and not reach[v]:
                    reach[v] = True
                    queue.append(v)
        comps = c.fair_components(reach, [u for u in everything if reach[u]])
        if not comps:
            return None
        comp = comps[0]
        members = set(comp)
        # the earliest start (in BFS order) that reaches the component through not-Q states
        allowed = {u for u in everything if reach[u]}
        for s in sorted(starts):
            try:
                to_comp = c.path_within(s, lambda u: u in members, allowed)
            except AssertionError:
                continue
            to_start = c.prefix_to(s)
            prefix = to_start + to_comp
            entry = prefix[-1][0]
            steps = c.loop(comp, entry, [])
            return Lasso(prefix + steps, len(prefix) - 1, len(to_start) - 1)
        raise AssertionError("a leads_to component that no start reaches")
    raise ValueError(f"unsupported property shape {prop.shape}")


def _lasso(c: _Checker, comp: list[int], must_visit: list[int]) -> Lasso:
    entry = min(comp)  # the component's state reached first by the search: shortest prefix
    prefix = c.prefix_to(entry)
    return Lasso(prefix + c.loop(comp, entry, must_visit), len(prefix) - 1)
