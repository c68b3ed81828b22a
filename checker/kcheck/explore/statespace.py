"""The whole reachable state graph of a small model, recorded for `kcheck graph`: every state
(breadth-first, canonical representatives under symmetry), every transition between them
labelled with its action instance, and a shortest-path parent per state. The checking search
(bfs.py) keeps far less per state; this one is for pictures, and refuses past a state limit
instead of stopping inconclusive."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from kcheck.model.ir import CompiledModel, State
from kcheck.trace import show_value


@dataclass(frozen=True)
class StateSpace:
    """Reachable states in breadth-first order (node n is `states[n]`), the initial ones, and
    one edge per action instance between two of them (failing steps left out); `parent`
    leads each state back to an initial one by a shortest path."""

    model: CompiledModel
    states: list[State]
    initial: frozenset[int]
    edges: list[tuple[int, int, str]]  # (from, to, "action(arg=value)"), in order, unique
    parent: dict[int, int]
    symmetry: bool  # whether the states are canonical representatives


class TooManyStates(Exception):
    """The model has more reachable states than the limit allows to record."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def reachable(
    model: CompiledModel, max_states: int, symmetry: bool, *, stop_after: str | None = None,
    radius: int = 0,
) -> StateSpace:  # fmt: skip
    """Every reachable state of `model`, breadth-first (canonical representatives when
    `symmetry` is on and the model has a canonicaliser). Raises TooManyStates past
    `max_states` states. With `stop_after` (an invariant's name) the search ends `radius`
    levels past the first level where a state violates it, which holds every state within
    `radius` steps of a shortest path there."""
    canon = model.canonicalize if symmetry else None
    inv = model.invariant(stop_after) if stop_after is not None else None
    index: dict[State, int] = {}
    order: list[State] = []
    edges: dict[tuple[int, int, str], None] = {}  # ordered and without duplicates
    parent: dict[int, int] = {}
    depth: dict[int, int] = {}
    queue: deque[int] = deque()
    last_level: int | None = None

    def visit(s: State, src: int | None) -> int:
        s = canon(s) if canon is not None else s
        if s not in index:
            if len(order) == max_states:
                raise TooManyStates(
                    f"refusing to draw the state space of {model.name}: it has {max_states + 1}+"
                    f" reachable states, more than the limit of {max_states}; use --max-states to"
                    " raise the limit, --around INVARIANT to draw only the states near a"
                    " violation, or shrink the model with -D"
                )
            n = index[s] = len(order)
            order.append(s)
            depth[n] = 0 if src is None else depth[src] + 1
            if src is not None:
                parent[n] = src
            queue.append(n)
        return index[s]

    initial = frozenset(visit(s, None) for s in model.initial())
    while queue:
        src = queue.popleft()
        s = order[src]
        if inv is not None and last_level is None and not inv.holds(s):
            last_level = depth[src] + radius
        if last_level is not None and depth[src] > last_level:
            continue  # every state within reach is expanded, with every edge between them
        for aid, args, t in model.labelled_successors(s):
            dst = visit(t, src)
            described = ", ".join(
                f"{k}={show_value(v)}" for k, v in model.describe_args(aid, args).items()
            )
            edges[(src, dst, f"{model.actions[aid].label}({described})")] = None
    return StateSpace(model, order, initial, list(edges), parent, canon is not None)
