"""Conformance: an observed change must be a run of steps the model allows. The world moves on
its own only through the actions of the actors it performs (the model's processes: the
kubelet's, in Docker); a search over those actions, from the interpreter's last state, looks
for a state that agrees with the observation on every observed position. The run found becomes
part of the trace; none means the world diverged from the model."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection

from kcheck.model.ir import CompiledModel, State, StepError

Path = list[tuple[int, tuple[int, ...], State]]

MAX_SEARCH = 20_000  # states: a change needing more engine steps than this is not explained


def explain(
    model: CompiledModel,
    start: State,
    observed: State,
    positions: Collection[int],
    engine_actions: Collection[int],
    fixed: Collection[int] = (),
) -> Path | None:
    """A run of engine actions from `start` to a state matching `observed` on `positions`
    (empty when they already agree), changing none of the `fixed` positions (presence flags:
    the world does not create or delete model objects), or None."""

    def agrees(s: State) -> bool:
        return all(s[i] == observed[i] for i in positions)

    if agrees(start):
        return []
    steps = list(engine_actions)

    def outcomes(s: State) -> list[tuple[int, tuple[int, ...], State]]:
        return [
            (aid, args, t)
            for a in steps
            for aid, args, t in model.action_outcomes[a](s)
            if not isinstance(t, StepError) and all(t[i] == s[i] for i in fixed)
        ]

    greedy = _greedy(outcomes, start, observed, positions)
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
            if agrees(t):
                return _path(parents, t)
            queue.append(t)
    return None


def _greedy(
    outcomes: Callable[[State], list[tuple[int, tuple[int, ...], State]]],
    start: State,
    observed: State,
    positions: Collection[int],
) -> Path | None:
    """Engine steps mostly commute (fifty pods starting at once), where breadth-first search
    would try every order: first follow steps that each bring the state closer to the
    observation and never undo an agreeing position. Any run found is a valid explanation,
    though not always the shortest."""

    def wrong(s: State) -> set[int]:
        return {i for i in positions if s[i] != observed[i]}

    path: Path = []
    s, bad = start, wrong(start)
    while bad:
        best: tuple[int, tuple[int, ...], State] | None = None
        for aid, args, t in outcomes(s):
            now_bad = wrong(t)
            if now_bad < bad and (best is None or len(now_bad) < len(wrong(best[2]))):
                best = (aid, args, t)
        if best is None:
            return None
        path.append(best)
        s, bad = best[2], wrong(best[2])
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
