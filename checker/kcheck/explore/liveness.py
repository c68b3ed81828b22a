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

The graph work (the SCCs, each one's fairness summary, reachability) runs in C (graph.c) when it
can be built and the model has at most 64 actions; the Python code here stays the reference,
used with KCHECK_NATIVE=0, and the C gives exactly its components, in its order.
"""

from __future__ import annotations

import itertools
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from kcheck.explore.store import ParentSeq, StateSeq
from kcheck.model import native
from kcheck.model.ir import CompiledModel, PropertyInfo

MAX_LOOP_REPEATS = 10_000  # bound on replays of a loop until a concrete state repeats
SOURCE = Path(__file__).with_name("graph.c")
_NOT = bytes([1]) + bytes(255)  # bytes.translate table: 0 -> 1, anything else -> 0


def native_graph() -> ModuleType | None:
    """The compiled graph.c, building it if needed; None when it cannot be built or
    KCHECK_NATIVE=0."""
    return native.load_extension(SOURCE, "_graph")


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


def _sccs(graph: Graph, keep: Sequence[int], nodes: Iterable[int]) -> list[list[int]]:
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
    def __init__(self, model: CompiledModel, graph: Graph, use_native: bool = True) -> None:
        self.model = model
        self.graph = graph
        self.weak = [a.id for a in model.actions if a.fairness == "weak"]
        self.strong = [a.id for a in model.actions if a.fairness == "strong"]
        self.weak_mask = sum(1 << a for a in self.weak)
        self.strong_mask = sum(1 << a for a in self.strong)
        self.fair_mask = self.weak_mask | self.strong_mask
        # the C graph work: action masks fit in 64 bits
        fits = len(model.actions) <= 64
        self.native = native_graph() if use_native and fits else None
        self.enabled: Sequence[int] = graph.enabled
        if self.native is not None and not (
            isinstance(graph.enabled, array) and graph.enabled.typecode == "Q"
        ):
            self.enabled = array("Q", graph.enabled)  # a simulation's small graph: a list

    def stutters(self, u: int) -> bool:
        """A behaviour may stop in u for good: no fair action is enabled there."""
        return not self.graph.enabled[u] & self.fair_mask

    def fair_components(self, keep: Sequence[int], nodes: Sequence[int]) -> list[list[int]]:
        """Fair SCCs (Emerson–Lei refinement for strong fairness) and stuttering nodes, within
        the `keep` subgraph; each result is a set a fair behaviour can stay in forever."""
        if self.native is not None:
            return self._fair_components_native(self.native, keep, nodes)
        g = self.graph
        found: list[list[int]] = [[u] for u in nodes if keep[u] and self.stutters(u)]
        work: list[tuple[Sequence[int], Sequence[int]]] = [(keep, nodes)]
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

    def _fair_components_native(
        self, mod: ModuleType, keep: Sequence[int], nodes: Sequence[int]
    ) -> list[list[int]]:
        """fair_components with graph.c's SCCs and summaries, the same steps in the same order;
        C leaves out the single nodes without a self loop, which the loop above skips."""
        g = self.graph
        enabled = self.enabled
        sub0 = keep if isinstance(keep, bytearray) else bytearray(map(bool, keep))
        roots0 = _roots(nodes, len(g.edge_start) - 1)
        stuck = memoryview(mod.stuttering(enabled, sub0, roots0, self.fair_mask)).cast("i")
        found: list[list[int]] = [[u] for u in stuck.tolist()]
        work: list[tuple[bytearray, array[int] | None]] = [(sub0, roots0)]
        while work:
            sub, roots = work.pop()
            parts = mod.sccs(g.edge_start, g.edge_to, g.edge_act, enabled, sub, roots, True)
            members = memoryview(parts[0]).cast("i")
            offsets = memoryview(parts[1]).cast("q").tolist()
            taken = memoryview(parts[2]).cast("Q").tolist()
            enabled_all = memoryview(parts[4]).cast("Q").tolist()
            enabled_any = memoryview(parts[5]).cast("Q").tolist()
            for i, t in enumerate(taken):
                if self.weak_mask & ~t & enabled_all[i]:
                    continue  # a weakly fair action is always enabled here and never taken
                comp = members[offsets[i] : offsets[i + 1]].tolist()
                mask = self.strong_mask & ~t & enabled_any[i]
                if not mask:
                    found.append(comp)
                    continue
                rest = [u for u in comp if not enabled[u] & mask]
                if rest:
                    narrowed = bytearray(sub)
                    for u in comp:
                        if enabled[u] & mask:
                            narrowed[u] = 0
                    work.append((narrowed, array("i", rest)))
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


def _roots(nodes: Sequence[int], n: int) -> array[int] | None:
    """Roots for graph.c: None stands for every node in order."""
    if isinstance(nodes, range) and nodes == range(n):
        return None
    return array("i", nodes)


def _ones(flags: bytes | bytearray) -> list[int]:
    """The positions of the non-zero bytes of a 0/1 string, in order."""
    out = []
    i = flags.find(1)
    while i >= 0:
        out.append(i)
        i = flags.find(1, i + 1)
    return out


def check_property(
    model: CompiledModel,
    graph: Graph,
    prop: PropertyInfo,
    values: Sequence[bytes | bytearray] | None = None,
    use_native: bool = True,
) -> Lasso | None:
    """The counterexample of a temporal property, or None when it holds (complete graph).
    `values`: each predicate's truth (1 or 0) in every state, when the caller has them already
    (else each is evaluated where it is needed, as it always was: a simulation's graph may hold
    states where one cannot be). `use_native` False: the Python reference graph work."""
    c = _Checker(model, graph, use_native)
    n = len(graph.states)
    preds = prop.predicates
    everything = range(n)
    states = graph.states
    if prop.shape == "always":
        p = preds[0]
        if values is not None:
            first = values[0].find(0)
            bad = None if first < 0 else first
        else:
            bad = next((u for u in everything if not p(states[u])), None)
        return None if bad is None else Lasso(c.prefix_to(bad), -1)
    if prop.shape == "eventually always":
        p = preds[0]
        truth = values[0].__getitem__ if values is not None else lambda u: p(states[u])
        keep = bytearray(b"\x01") * n
        for comp in c.fair_components(keep, everything):
            failing = [u for u in comp if not truth(u)]
            if failing:
                entry = min(comp)
                return _lasso(c, comp, [] if entry in failing else [failing[0]])
        return None
    if prop.shape == "always eventually":
        p = preds[0]
        if values is not None:
            keep = bytearray(values[0].translate(_NOT))
        else:
            keep = bytearray([not p(s) for s in states])
        comps = c.fair_components(keep, everything)
        return _lasso(c, comps[0], []) if comps else None
    if prop.shape == "leads_to":
        p, q = preds
        if values is not None:
            not_q = bytearray(values[1].translate(_NOT))
            both = int.from_bytes(not_q, "little") & int.from_bytes(values[0], "little")
            starts = _ones(both.to_bytes(n, "little"))
        else:
            not_q = bytearray([not q(s) for s in states])
            starts = [u for u in everything if not_q[u] and p(states[u])]
        # states reachable from a start through states where Q is false
        reach = _reach(c, not_q, starts)
        comps = c.fair_components(reach, everything)
        if not comps:
            return None
        comp = comps[0]
        members = set(comp)
        # the earliest start (in BFS order) that reaches the component through not-Q states
        allowed = set(_ones(reach))
        for s in starts:
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


def _reach(c: _Checker, allowed: bytearray, starts: list[int]) -> bytearray:
    """1 for each start and each node reachable from one through `allowed` nodes."""
    g = c.graph
    if c.native is not None:
        out: bytearray = c.native.reach(g.edge_start, g.edge_to, allowed, array("i", starts))
        return out
    reach = bytearray(len(allowed))
    queue = deque(starts)
    for u in starts:
        reach[u] = 1
    while queue:
        u = queue.popleft()
        for v, _ in g.edges(u):
            if allowed[v] and not reach[v]:
                reach[v] = 1
                queue.append(v)
    return reach


def _lasso(c: _Checker, comp: list[int], must_visit: list[int]) -> Lasso:
    entry = min(comp)  # the component's state reached first by the search: shortest prefix
    prefix = c.prefix_to(entry)
    return Lasso(prefix + c.loop(comp, entry, must_visit), len(prefix) - 1)
