"""The whole reachable state graph of a small model, recorded for `kcheck graph`: every state
(breadth-first, canonical representatives under symmetry) and every transition between them,
labelled with its action instance. The checking search (bfs.py) keeps far less per state; this
one is for pictures, and refuses past a state limit instead of stopping inconclusive."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from kcheck.model.ir import CompiledModel, State
from kcheck.trace import show_value


@dataclass(frozen=True)
class StateSpace:
    states: list[State]  # in breadth-first order; a state's number is its index
    initial: set[int]
    edges: dict[tuple[int, int, str], None]  # (from, to, "action(arg=value)"), in order, unique
    symmetry: bool  # whether the states are canonical representatives


class TooManyStates(Exception):
    """The model has more reachable states than the limit allows to record."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def reachable(model: CompiledModel, max_states: int, symmetry: bool) -> StateSpace:
    """Every reachable state of `model` and the transitions between them. Steps that fail (leave
    the model's bounds) are left out. Raises TooManyStates past `max_states` states."""
    canon = model.canonicalize if symmetry else None
    index: dict[State, int] = {}
    order: list[State] = []
    edges: dict[tuple[int, int, str], None] = {}  # ordered and without duplicates
    queue: deque[State] = deque()

    def visit(s: State) -> int:
        s = canon(s) if canon is not None else s
        if s not in index:
            if len(order) == max_states:
                raise TooManyStates(
                    f"refusing to draw the state space of {model.name}: it has {max_states + 1}+"
                    f" reachable states, more than the limit of {max_states}; use --max-states to"
                    " raise the limit, or shrink the model with -D"
                )
            index[s] = len(order)
            order.append(s)
            queue.append(s)
        return index[s]

    initial = {visit(s) for s in model.initial()}
    while queue:
        s = queue.popleft()
        src = index[s]
        for aid, args, t in model.labelled_successors(s):
            dst = visit(t)
            described = ", ".join(
                f"{k}={show_value(v)}" for k, v in model.describe_args(aid, args).items()
            )
            edges[(src, dst, f"{model.actions[aid].label}({described})")] = None
    return StateSpace(order, initial, edges, canon is not None)
