"""Shrinking a violating random walk (spec/simulate.md): a walk is a list of choices, the first
indexing the initial states and each next one the outcomes of the state reached (any int: taken
modulo the number of outcomes there), so every list of ints is a walk, and Hypothesis's shrinker
can minimise the list while the replayed walk still breaks the same invariant or bound.

Hypothesis offers no public call to shrink a given example, so the walk is handed to its
engine (ConjectureRunner) as the example to start from; should a Hypothesis release change that
engine, a plain greedy deletion of steps takes over (shrink_greedy), so shrinking never fails a
run. Either way the result is replayed and checked before it is used."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

from kcheck.model.ir import CompiledModel, State, StepError

Outcome = tuple[int, tuple[int, ...], State | StepError]
# what a shrink keeps: a walk (any ints) -> the walk as taken (each choice reduced modulo the
# outcomes there, cut where it shows the violation) when it still shows it, else None
Test = Callable[[Sequence[int]], tuple[int, ...] | None]
SHRINK_SECONDS = 10.0  # past this, Hypothesis's candidates count as not violating: it stops
MAX_CHOICE = 1 << 16
PAIRS_UP_TO = 30  # the longest walk whose steps are also deleted two at a time  # larger than any state's number of outcomes a model can have in practice


def run_choices(model: CompiledModel, choices: Sequence[int]) -> list[Outcome]:
    """The steps of the walk `choices` after its initial state: it ends with its choices, at a
    failing step, or where no action is enabled."""
    return [step for step, _ in _steps_taken(model, choices)] if choices else []


def taken(model: CompiledModel, choices: Sequence[int]) -> tuple[int, ...]:
    """The walk `choices` as taken: each choice reduced modulo the outcomes there, cut where
    the walk ends (a failing step, or nothing enabled)."""
    inits = model.initial()
    out = [choices[0] % len(inits)] if choices else [0]
    out += [c for _, c in _steps_taken(model, choices)] if choices else []
    return tuple(out)


def _steps_taken(model: CompiledModel, choices: Sequence[int]) -> list[tuple[Outcome, int]]:
    inits = model.initial()
    s = inits[choices[0] % len(inits)]
    out: list[tuple[Outcome, int]] = []
    for c in choices[1:]:
        outs = [o for outcomes in model.action_outcomes for o in outcomes(s)]
        if not outs:
            break
        step = outs[c % len(outs)]
        out.append((step, c % len(outs)))
        if isinstance(step[2], StepError):
            break
        s = step[2]
    return out


def violation(
    model: CompiledModel, key: str, kind: str, choices: Sequence[int]
) -> tuple[int, ...] | None:
    """The walk `choices` cut at its first state that breaks invariant `key` (kind
    "invariant"), at its failing step named `key` (kind "bound") or at its first state with no
    step at all (kind "timelock"); None when it does not."""
    if not choices:
        return None
    inits = model.initial()
    taken = [choices[0] % len(inits)]
    s = inits[taken[0]]
    if kind == "invariant" and _breaks(model, key, s):
        return tuple(taken)
    for c in choices[1:]:
        outs = [o for outcomes in model.action_outcomes for o in outcomes(s)]
        if not outs:
            return tuple(taken) if kind == "timelock" else None
        taken.append(c % len(outs))
        _aid, _, t = outs[taken[-1]]
        if isinstance(t, StepError):
            label = model.actions[t.action].label
            return (
                tuple(taken) if kind == "bound" and key == f"bound: {t.code} in {label}" else None
            )
        s = t
        if kind == "invariant" and _breaks(model, key, s):
            return tuple(taken)
    if kind == "timelock" and not any(True for outs in model.action_outcomes for _ in outs(s)):
        return tuple(taken)
    return None


def _breaks(model: CompiledModel, name: str, s: State) -> bool:
    try:
        return not model.invariant(name).holds(s)
    except StepError:
        return True


def shrink(
    model: CompiledModel, key: str, kind: str, choices: Sequence[int], *, seed: int = 0
) -> tuple[int, ...]:
    """A walk no longer than `choices` that still violates `key` (itself when none is found)."""
    return shrink_walk(
        model, lambda ch: violation(model, key, kind, ch), choices, seed=seed, what=key
    )


def shrink_walk(
    model: CompiledModel, test: Test, choices: Sequence[int], *, seed: int = 0, what: str = ""
) -> tuple[int, ...]:
    """A walk no longer than `choices` that `test` still keeps (itself when none is found)."""
    start = test(choices)
    if start is None:
        raise AssertionError(f"a simulated walk does not violate {what}; this is a kcheck bug")
    # Hypothesis from the walk as found, and from the greedy pass's result: each can end in a
    # local minimum the other escapes (measured on scheduler_stale_snapshot: walks of 14 to 48
    # steps end at 6 to 10 by one order and 6 to 9 by the other); the shorter one is kept
    best = start
    for first in (start, _greedy(model, test, start)):
        candidate = _greedy(model, test, _shrunk_by_hypothesis(test, first, seed))
        if len(candidate) < len(best):
            best = candidate
    return best


def _shrunk_by_hypothesis(test: Test, start: tuple[int, ...], seed: int) -> tuple[int, ...]:
    try:
        smaller = _hypothesis_test(test, start, seed)
    except (ImportError, AttributeError, TypeError):  # a Hypothesis without this engine
        return start
    return smaller if smaller is not None and len(smaller) <= len(start) else start


def _hypothesis(
    model: CompiledModel, key: str, kind: str, start: tuple[int, ...], seed: int
) -> tuple[int, ...] | None:
    return _hypothesis_test(lambda ch: violation(model, key, kind, ch), start, seed)


def _hypothesis_test(test: Test, start: tuple[int, ...], seed: int) -> tuple[int, ...] | None:
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis.errors import StopTest
    from hypothesis.internal.conjecture.data import ConjectureData, Status
    from hypothesis.internal.conjecture.engine import ConjectureRunner, RunIsComplete
    from hypothesis.internal.escalation import InterestingOrigin

    origin = InterestingOrigin.from_exception(AssertionError("shrink"))
    n = len(start)

    # drawn as Hypothesis draws a list (a "more" flag before each element), the shape its
    # shrinker deletes from best
    stop = time.monotonic() + SHRINK_SECONDS

    def probe(data: ConjectureData) -> None:
        if time.monotonic() > stop:
            return
        drawn = [data.draw_integer(0, MAX_CHOICE)]
        while len(drawn) < n and data.draw_boolean():
            drawn.append(data.draw_integer(0, MAX_CHOICE))
        if test(drawn) is not None:
            data.mark_interesting(origin)

    config = settings(
        database=None, phases=[Phase.shrink], suppress_health_check=list(HealthCheck),
        deadline=None, max_examples=1,
    )  # fmt: skip
    runner = ConjectureRunner(probe, settings=config, random=random.Random(seed))
    try:
        encoded: list[int | bool] = [start[0]]
        for c in start[1:]:
            encoded += [True, c]
        if n > len(start):
            encoded.append(False)
        result = runner.cached_test_function(encoded)
        if result.status != Status.INTERESTING:
            return None
        runner.shrink_interesting_test_cases()
    except (RunIsComplete, StopTest):
        pass
    cases = list(runner.interesting_test_cases.values())
    if not cases:
        return None
    drawn = [c for c in cases[0].choices if isinstance(c, int) and not isinstance(c, bool)]
    return test(drawn)


def shrink_greedy(
    model: CompiledModel, key: str, kind: str, choices: tuple[int, ...]
) -> tuple[int, ...]:
    """_greedy, keeping the walks that violate `key`."""
    return _greedy(model, lambda ch: violation(model, key, kind, ch), choices)


def _greedy(model: CompiledModel, test: Test, choices: tuple[int, ...]) -> tuple[int, ...]:
    """Delete one step at a time, from the end, while the walk still violates `key`; then, on
    walks of at most PAIRS_UP_TO steps, two at a time (a step and the one that enabled it,
    such as a create and the bind of what it created). A step is deleted by its action and
    arguments, not its index (which means another step once an earlier one is gone), so a
    step that no longer depends on the deleted one keeps its meaning. Each pass replays at
    most one walk per step (per pair), and every success shortens the walk."""
    best = choices
    while True:
        labels = _labels(model, best)
        n = len(labels)
        drops: list[tuple[int, ...]] = [(i,) for i in range(n - 1, 0, -1)]
        if n <= PAIRS_UP_TO:
            drops += [(i, j) for j in range(n - 1, 0, -1) for i in range(j - 1, 0, -1)]
        for drop in drops:
            kept = [lab for k, lab in enumerate(labels) if k and k not in drop]
            cut = _indices(model, best[0], kept)
            found = test(cut) if cut is not None else None
            if found is not None and len(found) < len(best):
                best = found
                break
        else:
            return best


Label = tuple[int, tuple[int, ...], int]


def _labels(model: CompiledModel, choices: tuple[int, ...]) -> list[Label]:
    """The walk's steps as (action, arguments, which of the outcomes with those two: a
    nondeterministic choice inside the action), after a placeholder for its initial state."""
    out: list[Label] = [(-1, (), 0)]
    inits = model.initial()
    s = inits[choices[0] % len(inits)]
    for c in choices[1:]:
        outs = [o for outcomes in model.action_outcomes for o in outcomes(s)]
        if not outs:
            break
        aid, args, t = outs[c % len(outs)]
        same = [o for o in outs if (o[0], o[1]) == (aid, args)]
        out.append((aid, args, next(j for j, o in enumerate(same) if o[2] is t)))
        if isinstance(t, StepError):
            break
        s = t
    return out


def _indices(model: CompiledModel, first: int, labels: list[Label]) -> tuple[int, ...] | None:
    """The choices that take the steps `labels` from initial state `first`; None when one of
    them is not enabled where the walk gets to it."""
    inits = model.initial()
    s = inits[first % len(inits)]
    out = [first]
    for label in labels:
        outs = [o for outcomes in model.action_outcomes for o in outcomes(s)]
        same = [j for j, o in enumerate(outs) if (o[0], o[1]) == label[:2]]
        if not same:
            return None
        k = same[min(label[2], len(same) - 1)]
        out.append(k)
        t = outs[k][2]
        if isinstance(t, StepError):
            return tuple(out)
        s = t
    return tuple(out)
