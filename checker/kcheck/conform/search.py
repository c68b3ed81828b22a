"""The search of `kcheck conform`: the set of model states consistent with the log so far (a
frontier, each state with the display names its behaviour gave the objects), advanced entry by
entry with the compiled model's own steps. Before an entry, steps the log does not show are
filled in by the model's actions, up to --max-gap of them: for a kcheck run log exactly as many
as its step numbers skip, and only steps that show no event (controller-internal ones); for
Kubernetes logs, which never show everything, steps of any action. The frontier is bounded by
--max-states; a bound hit before a mismatch makes the answer inconclusive, never "conforms"."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kcheck.model.ir import CompiledModel, State, StepError
from kcheck.run.events import step_events
from kcheck.trace import ObjectNames, Step, Trace

SHOWN_BEFORE = 3  # possible states printed before an unexplained entry


@dataclass(frozen=True)
class Observation:
    line: int
    summary: str
    events: tuple[tuple[str, str, str, str, str], ...] | None = None  # kcheck run: exact
    actions: frozenset[int] | None = None  # Kubernetes logs: one step of one of these
    gap: int | None = None  # kcheck run: the number of steps that left no event before it
    end: bool = False  # kcheck run: the run ended here (explained by no further step)
    # Kubernetes logs: the model kind of the entry's object, its name in the log, and the
    # values (as states show them) its fields hold after the step
    kind: str | None = None
    name: str | None = None
    state: tuple[tuple[str, Any], ...] = ()
    settled: bool = False  # explained without a step when the named object already shows it


@dataclass(frozen=True)
class Candidate:
    state: State
    names: ObjectNames
    shown: dict[str, Any]  # the state under display names
    steps: tuple[Step, ...]  # one behaviour that leads here
    bound: tuple[tuple[str, str], ...] = ()  # log object names -> model objects (display names)


@dataclass(frozen=True)
class Conformance:
    verdict: str  # "conforms", "does not conform", "inconclusive"
    matched: int  # observations explained, in order
    total: int
    failed: Observation | None = None
    before: tuple[dict[str, Any], ...] = ()  # some states possible just before it
    possible: int = 0  # how many states were possible just before it
    reason: str = ""  # why inconclusive
    trace: Trace | None = None  # a behaviour of the model explaining the log up to there


def conform(
    model: CompiledModel, observations: list[Observation], max_gap: int, max_states: int,
    hidden: frozenset[int] | None = None,
) -> Conformance:  # fmt: skip
    """`hidden`: the actions that may fill a gap before a mapped entry (those no mapping rule
    names: an action the log records cannot happen unrecorded); all of them when None."""
    unseen = frozenset(range(len(model.actions))) if hidden is None else hidden
    kinds = [k.name for k in model.layout.kinds]
    frontier: list[Candidate] = []
    try:
        inits = list(dict.fromkeys(model.initial()))
    except StepError as err:
        return Conformance("inconclusive", 0, len(observations), reason=f"init fails: {err}")
    for s in inits:
        names = ObjectNames(kinds)
        shown = names.state(model.layout.decode(s))
        frontier.append(Candidate(s, names, shown, (Step(None, {}, shown),)))
    bounded = ""
    for i, obs in enumerate(observations):
        if obs.gap is not None and obs.gap > max_gap:
            return _stop(frontier, obs, i, len(observations),
                         f"{obs.gap} steps left no event before line {obs.line};"
                         f" --max-gap is {max_gap}")  # fmt: skip
        nxt: dict[tuple[Any, ...], Candidate] = {}
        layer = {_key(c): c for c in frontier}
        seen = set(layer)
        limit = obs.gap if obs.gap is not None else max_gap
        for depth in range(limit + 1):
            if obs.gap is None or depth == obs.gap:
                for c in layer.values():
                    for d in _explain(model, c, obs):
                        nxt.setdefault(_key(d), d)
            if depth == limit:
                break
            deeper: dict[tuple[Any, ...], Candidate] = {}
            for c in layer.values():
                for d in _unseen_steps(model, c, obs.events is not None, unseen):
                    k = _key(d)
                    if k not in seen:
                        seen.add(k)
                        deeper[k] = d
            layer = deeper
            if len(seen) > max_states:
                bounded = f"more than {max_states} states before line {obs.line} (--max-states)"
                break
        if not nxt:
            if bounded:
                return _stop(frontier, obs, i, len(observations), bounded)
            return _fail(frontier, obs, i, len(observations))
        frontier = list(nxt.values())
        if len(frontier) > max_states:
            frontier = frontier[:max_states]
            bounded = f"more than {max_states} states agreed with the log at line {obs.line}"
    trace = Trace(frontier[0].steps) if frontier else None
    return Conformance("conforms", len(observations), len(observations), trace=trace)


def _key(c: Candidate) -> tuple[Any, ...]:
    # the display names matter for what later entries may say, not only the state
    return (
        c.state,
        json.dumps(c.shown, sort_keys=True),
        tuple(sorted(vars(c.names)["_next"].items())),
        c.bound,
    )


def _step(
    model: CompiledModel, c: Candidate, aid: int, args: tuple[int, ...], t: State
) -> tuple[Candidate, list[Any]]:
    """The step as `kcheck run` records it: its arguments and state under display names, and
    the events it would log."""
    info = model.actions[aid]
    names = c.names.copy()
    shown_args = names.args(model.describe_args(aid, args))
    shown = names.state(model.layout.decode(t))
    events = step_events(0, 0.0, info.label, info.actor_kind, c.shown, shown)
    step = Step(info.label, shown_args, shown, line=info.span.line)
    return Candidate(t, names, shown, (*c.steps, step), c.bound), events


def _outcomes(
    model: CompiledModel, c: Candidate, actions: Any
) -> Iterator[tuple[int, tuple[int, ...], State]]:
    for aid in actions:
        for got, args, t in model.action_outcomes[aid](c.state):
            if not isinstance(t, StepError):
                yield got, args, t


def _explain(model: CompiledModel, c: Candidate, obs: Observation) -> Iterator[Candidate]:
    if obs.end:
        yield c
    elif obs.events is not None:
        for got, args, t in _outcomes(model, c, range(len(model.actions))):
            d, events = _step(model, c, got, args, t)
            shown = tuple(sorted((e.type, e.reason, e.source, e.object, e.message) for e in events))
            if shown == obs.events:
                yield d
    else:
        assert obs.actions is not None
        if obs.settled and obs.kind is not None and _shows(c, obs):
            yield c
        for got, args, t in _outcomes(model, c, sorted(obs.actions)):
            d = _step(model, c, got, args, t)[0]
            yield from _on_object(c, d, obs) if obs.kind is not None else (d,)


def _shows(c: Candidate, obs: Observation) -> bool:
    """The object the entry names is bound, exists, and already holds the entry's state."""
    assert obs.kind is not None
    o = dict(c.bound).get(obs.name or "")
    now = c.shown.get(obs.kind, {}).get(o) if o is not None else None
    return now is not None and all(now.get(f) == v for f, v in obs.state)


def _on_object(c: Candidate, d: Candidate, obs: Observation) -> Iterator[Candidate]:
    """The step `c` -> `d` as a step on the entry's object: one of `obs.kind` it creates,
    deletes or changes, the one the entry's name already stands for if it does; its fields
    after the step as the entry says."""
    assert obs.kind is not None
    before, after = c.shown.get(obs.kind, {}), d.shown.get(obs.kind, {})
    changed = [o for o in dict.fromkeys([*before, *after]) if before.get(o) != after.get(o)]
    bound = dict(c.bound)
    taken = set(bound.values())
    if obs.name is not None and obs.name in bound:
        choices = [bound[obs.name]] if bound[obs.name] in changed else []
    else:
        choices = [o for o in changed if o not in taken]
    for o in choices:
        now = after.get(o)
        if obs.state and (now is None or any(now.get(f) != v for f, v in obs.state)):
            continue
        if obs.name is None or obs.name in bound:
            yield d
        else:
            yield Candidate(d.state, d.names, d.shown, d.steps, (*d.bound, (obs.name, o)))


def _unseen_steps(
    model: CompiledModel, c: Candidate, silent: bool, hidden: frozenset[int]
) -> Iterator[Candidate]:
    """Steps the log may not show: for a kcheck run log only those that log no event."""
    actions = range(len(model.actions)) if silent else sorted(hidden)
    for got, args, t in _outcomes(model, c, actions):
        d, events = _step(model, c, got, args, t)
        if not silent or not events:
            yield d


def _fail(frontier: list[Candidate], obs: Observation, i: int, total: int) -> Conformance:
    return Conformance(
        "does not conform", i, total, obs,
        tuple(c.shown for c in frontier[:SHOWN_BEFORE]), len(frontier),
        trace=Trace(frontier[0].steps) if frontier else None,
    )  # fmt: skip


def _stop(frontier: list[Candidate], obs: Observation, i: int, total: int, why: str) -> Conformance:
    return Conformance(
        "inconclusive", i, total, obs,
        tuple(c.shown for c in frontier[:SHOWN_BEFORE]), len(frontier), why,
        trace=Trace(frontier[0].steps) if frontier else None,
    )  # fmt: skip
