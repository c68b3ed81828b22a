"""Conformance: an observed change must be a run of steps the model allows. The world moves on
its own only through the actions of the actors it performs (the model's processes: the
kubelet's, in Docker); a search over those actions, from the interpreter's last state, looks
for a state the world would show as it was observed (the driver's `view` of a state: what a
container can tell, e.g. a pod's phase only as waiting, running or stopped). The run found
becomes part of the trace; none means the world diverged from the model."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Hashable, Sequence

from kcheck.model.ir import CompiledModel, State, StepError

Path = list[tuple[int, tuple[int, ...], State]]
View = tuple[Hashable, ...]
Outcome = tuple[int, tuple[int, ...], State]

MAX_SEARCH = 20_000  # states: a change needing more engine steps than this is not explained


def explain(
    model: CompiledModel,
    start: State,
    seen: View,
    view: Callable[[State], View],
    engine_actions: Collection[int],
    fixed: Collection[int] = (),
) -> Path | None:
    """A run of engine actions from `start` to a state whose view is `seen` (empty when the
    view of `start` already is), changing none of the `fixed` positions (presence flags: the
    world does not create or delete model objects), or None."""
    if view(start) == seen:
        return []
    steps = list(engine_actions)

    def outcomes(s: State) -> list[Outcome]:
        return [
            (aid, args, t)
            for a in steps
            for aid, args, t in model.action_outcomes[a](s)
            if not isinstance(t, StepError) and all(t[i] == s[i] for i in fixed)
        ]

    greedy = _greedy(outcomes, start, seen, view)
    if greedy is not None:
        return greedy
    parents: dict[State, tuple[State, int, tuple[int, ...]] | None] = {start: None}
    queue: deque[State] = deque([start])
    while queue and len(parents) < MAX_SEARCH:
        s = queue.popleft()
        for aid, args, t in outcomes(s):
            if t in parents:
                continue
            parents[t] = (s, aid, args)
            if view(t) == seen:
                return _path(parents, t)
            queue.append(t)
    return None


def _wrong(v: Sequence[Hashable], seen: Sequence[Hashable]) -> set[int]:
    return {i for i, (a, b) in enumerate(zip(v, seen, strict=True)) if a != b}


def _greedy(
    outcomes: Callable[[State], list[Outcome]],
    start: State,
    seen: View,
    view: Callable[[State], View],
) -> Path | None:
    """Engine steps mostly commute (fifty pods starting at once), where breadth-first search
    would try every order: first follow steps that each bring the view closer to the
    observation and never undo an agreeing part. Any run found is a valid explanation,
    though not always the shortest."""
    path: Path = []
    s, bad = start, _wrong(view(start), seen)
    while bad:
        best: tuple[Outcome, set[int]] | None = None
        for outcome in outcomes(s):
            now_bad = _wrong(view(outcome[2]), seen)
            if now_bad < bad and (best is None or len(now_bad) < len(best[1])):
                best = (outcome, now_bad)
        if best is None:
            return None
        path.append(best[0])
        s, bad = best[0][2], best[1]
    return path


def _path(parents: dict[State, tuple[State, int, tuple[int, ...]] | None], end: State) -> Path:
    out: Path = []
    cur = end
    while (link := parents[cur]) is not None:
        prev, aid, args = link
        out.append((aid, args, cur))
        cur = prev
    out.reverse()
    return out
