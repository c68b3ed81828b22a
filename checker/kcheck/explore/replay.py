"""Replaying a printed trace through the model: the check that a counterexample, as every
report shows it, is a behaviour of the model as written. It must start at a state `init`
creates (literally, not a renaming of one), take each step by the action and arguments it names,
show each state (objects under their display names, kcheck.trace.ObjectNames) exactly as the
model computes it, and end where its kind of violation says: in a state that breaks the
invariant, in a failing step for a bound error, back in the loop's first state for a lasso.

`kcheck ci` uses it before it believes a cached violation; the tests hold every engine's traces
to it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kcheck.model.ir import CompiledModel, State, StepError
from kcheck.result import VIOLATED, PropertyResult
from kcheck.trace import ObjectNames, Trace

MAX_CANDIDATES = 100_000  # partial replays tried before giving up on an ambiguous trace


class TraceMismatch(Exception):
    """The trace is not a behaviour of the model; the message says where it departs."""


@dataclass(frozen=True)
class Replayed:
    states: tuple[State, ...]  # the concrete state of every step that has one
    names: ObjectNames  # the display names after the last step


def replay(model: CompiledModel, trace: Trace) -> Replayed:
    """The concrete states of `trace`, found among the model's own initial states and steps.
    A step whose state is None (a bound error's last step) must be a failing instance of its
    action. Raises TraceMismatch."""
    if not trace.steps:
        raise TraceMismatch("the trace has no steps")
    kinds = [k.name for k in model.layout.kinds]
    decode = model.layout.decode
    first = trace.steps[0]
    if first.action == "init" and first.state is None:  # `init` itself fails
        _init_fails(model, trace)
        return Replayed((), ObjectNames(kinds))
    if first.action is not None or first.args or first.state is None:
        raise TraceMismatch("step 0 is not the initial state")
    # (states so far, names so far): usually one candidate per step; two successors that look
    # the same under display names (look-alike objects created in different slots) are both
    # followed until the trace tells them apart
    frontier: list[tuple[tuple[State, ...], ObjectNames]] = []
    try:
        inits = model.initial()
    except StepError as err:
        raise TraceMismatch(f"init fails ({err.code}), but the trace shows a state") from None
    for s in dict.fromkeys(inits):
        names = ObjectNames(kinds)
        if names.state(decode(s)) == first.state:
            frontier.append(((s,), names))
    if not frontier:
        raise TraceMismatch("step 0 is not a state that `init` creates")
    tried = len(frontier)
    labels = {a.label: a.id for a in model.actions}
    for i, step in enumerate(trace.steps[1:], start=1):
        aid = labels.get(step.action or "")
        if aid is None:
            raise TraceMismatch(f"step {i}: the model has no action {step.action!r}")
        if step.state is None:
            if i != len(trace.steps) - 1:
                raise TraceMismatch(f"step {i}: a failing step that is not the last one")
            for states, names in frontier:
                if _fails(model, aid, states[-1], names, step.args):
                    return Replayed(states, names)
            raise TraceMismatch(f"step {i}: {step.action}({_show(step.args)}) does not fail there")
        found: dict[tuple[State, ...], ObjectNames] = {}  # one per path: instances may agree
        for states, names in frontier:
            for outcome_aid, args, t in model.action_outcomes[aid](states[-1]):
                if isinstance(t, StepError) or (*states, t) in found:
                    continue
                after = names.copy()
                if after.args(model.describe_args(outcome_aid, args)) != step.args:
                    continue
                if after.state(decode(t)) == step.state:
                    found[(*states, t)] = after
                    tried += 1
                    if tried > MAX_CANDIDATES:
                        raise TraceMismatch(f"step {i}: too many ways to replay the trace")
        nxt = list(found.items())
        if not nxt:
            raise TraceMismatch(
                f"step {i}: no {step.action}({_show(step.args)}) step of the model leads from"
                f" step {i - 1} to the state shown"
            )
        frontier = nxt
    if trace.loop_start is not None and trace.loop_start < len(trace.steps) - 1:
        k = trace.loop_start
        for states, names in frontier:
            if states[-1] == states[k]:
                return Replayed(states, names)
        raise TraceMismatch(f"the loop does not return to the state of step {k}")
    if trace.loop_start is not None and not 0 <= trace.loop_start < len(trace.steps):
        raise TraceMismatch(f"the loop starts at step {trace.loop_start}, past the trace")
    states, names = frontier[0]
    return Replayed(states, names)


def _init_fails(model: CompiledModel, trace: Trace) -> None:
    try:
        model.initial()
    except StepError:
        if len(trace.steps) == 1:
            return
    raise TraceMismatch("step 0 claims that `init` fails, and it does not")


def _fails(
    model: CompiledModel, aid: int, s: State, names: ObjectNames, args: dict[str, object]
) -> bool:
    for outcome_aid, got, t in model.action_outcomes[aid](s):
        if (
            isinstance(t, StepError)
            and names.copy().args(model.describe_args(outcome_aid, got)) == args
        ):
            return True
    return False


def _show(args: dict[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in args.items())


def check_counterexample(model: CompiledModel, prop: PropertyResult) -> None:
    """A violated entry's trace is a behaviour of the model that shows the violation: raises
    TraceMismatch when it is not. An invariant's last state must break the invariant (or fail
    to evaluate it), a bound error's last step must fail, a lasso must close its loop, and a
    timelock's last state must have no step at all."""
    if prop.status != VIOLATED:
        return
    trace = prop.trace
    if trace is None or not trace.steps:
        raise TraceMismatch(f"{prop.name} is violated without a counterexample")
    done = replay(model, trace)
    last = trace.steps[-1]
    if prop.kind == "bound":
        if last.state is not None:
            raise TraceMismatch(f"{prop.name}: the trace does not end in a failing step")
        return
    if last.state is None:
        raise TraceMismatch(f"{prop.name}: a failing step ends a trace that is not a bound error")
    if prop.kind == "invariant":
        inv = next((i for i in model.invariants if i.name == prop.name), None)
        if inv is None:
            raise TraceMismatch(f"the model has no invariant {prop.name!r}")
        try:
            broken = not inv.holds(done.states[-1])
        except StepError:
            broken = True
        if not broken:
            raise TraceMismatch(f"{prop.name} holds in the last state of its counterexample")
    elif prop.kind == "property":
        info = next((p for p in model.properties if p.name == prop.name), None)
        if info is None:
            raise TraceMismatch(f"the model has no temporal property {prop.name!r}")
        if info.instances and not any(
            _breaks(info.shape, preds, done.states, trace.loop_start) for _, preds in info.instances
        ):
            raise TraceMismatch(f"{prop.name}: the behaviour shown does not break it")
    elif prop.kind == "timelock":
        last_state = done.states[-1]
        if any(True for outcomes in model.action_outcomes for _ in outcomes(last_state)):
            raise TraceMismatch(f"{prop.name}: a step is possible in the last state")
    else:
        raise TraceMismatch(f"{prop.name}: unknown kind {prop.kind!r}")


def _breaks(
    shape: str,
    preds: tuple[Callable[[State], bool], ...],
    states: tuple[State, ...],
    loop_start: int | None,
) -> bool:
    """Whether the lasso (or path) `states` breaks a temporal formula of this shape. Fairness
    is the search's business and is not re-checked here; this catches a behaviour that cannot
    be a counterexample at all. A formula that cannot be evaluated in a state of the trace is
    broken there (spec/liveness.md)."""
    try:
        values = [tuple(p(s) for p in preds) for s in states]
    except StepError:
        return True
    if shape == "always":
        return any(not v[0] for v in values)
    if loop_start is None:
        return False
    # the states a behaviour visits forever: the loop's, or the last one for a stutter
    forever = range(loop_start, len(states))
    if shape == "eventually always":
        return any(not values[i][0] for i in forever)
    if shape == "always eventually":
        return all(not values[i][0] for i in forever)
    if shape == "leads_to":
        for i, (p_holds, _) in enumerate(values):
            later = range(min(i, loop_start), len(states))
            if p_holds and all(not values[j][1] for j in later):
                return True
        return False
    return True  # a shape this check does not know: the search's answer stands
