"""The Hypothesis state machine of `kcheck test`, built at run time from the compiled model: an
`initialize` rule that starts the implementation in one of the model's initial states, then one
rule per action whose precondition is the action's guard (some instance has a successor) and
whose arguments are drawn from the enabled instances. After each step the implementation's
observed state must be one of the successors of that instance (the model may allow several:
`choose`, `any`), and every invariant is checked on it. All semantics come from the compiled
model's `action_outcomes`; nothing here evaluates the model."""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kcheck.mbt.adapter import AdapterError, Binding, check_observation
from kcheck.mbt.match import Names, live_slots, match, qualify, rename
from kcheck.model.ir import CompiledModel, State, StepError
from kcheck.trace import Step, Trace

MAX_FRONTIER = 256  # model states (with namings) consistent with what was observed


@dataclass(frozen=True)
class Candidate:
    state: State
    names: Names


@dataclass(frozen=True)
class Failure:
    """What went wrong, with the steps that led there in the implementation's names."""

    kind: str  # "mismatch", "invariant", "exception"
    message: str
    trace: Trace
    observed: dict[str, Any] | None = None
    allowed: tuple[dict[str, Any], ...] = ()  # the model's successors (a mismatch)
    invariant: str | None = None


class Found(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


class Inconclusive(Exception):
    """A bound was hit: the test cannot tell."""


@dataclass
class Session:
    """What the runs share: the model, the adapter, and the coverage counts."""

    model: CompiledModel
    cls: type
    binding: Binding
    fired: dict[str, int] = field(default_factory=dict)
    enabled: dict[str, int] = field(default_factory=dict)
    examples: int = 0
    steps: int = 0
    observed_fields: set[str] = field(default_factory=set)


class Driver:
    """One test case: the adapter instance, the model states consistent with it, the steps."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self.model = session.model
        self.layout = session.model.layout
        try:
            self.adapter = session.cls()
        except Exception as err:  # the adapter cannot even start: not a verdict
            raise AdapterError(
                f"{session.cls.__name__}() failed: {type(err).__name__}: {err}"
            ) from None
        self.frontier: list[Candidate] = []
        self.steps: list[Step] = []
        self._instances: dict[
            int, dict[str, list[tuple[Candidate, int, tuple[int, ...], State]]]
        ] = {}

    # -- the steps -----------------------------------------------------------------------------

    def start(self, pick: Callable[[int], int]) -> None:
        self.s.examples += 1
        inits = list(dict.fromkeys(self.model.initial()))
        chosen = inits[pick(len(inits))]
        setup = getattr(self.adapter, "init", None)
        if callable(setup):
            self._call(lambda: setup(self.layout.decode(chosen)), "init", {})
        seen = self._observe("init", {})
        empty = Names.empty(self.layout)
        none = {k.name: frozenset[int]() for k in self.layout.kinds}
        self.frontier = [
            Candidate(s, named)
            for s in inits
            for named in match(self.layout, empty, none, self.layout.decode(s), seen)
        ]
        if not self.frontier:
            self._mismatch("init", {}, seen, [(empty, s) for s in inits], "the initial state")
        self._record(None, {})

    def enabled(self, aid: int) -> bool:
        return bool(self.instances(aid))

    def any_enabled(self) -> bool:
        return any(self.instances(a.id) for a in self.model.actions)

    def instances(self, aid: int) -> dict[str, list[tuple[Candidate, int, tuple[int, ...], State]]]:
        """The enabled instances of an action, keyed by their arguments in the
        implementation's names, each with the successors it may lead to."""
        if aid not in self._instances:
            groups: dict[str, list[tuple[Candidate, int, tuple[int, ...], State]]] = {}
            for cand in self.frontier:
                for got, args, t in self.model.action_outcomes[aid](cand.state):
                    if isinstance(t, StepError):
                        continue  # the model leaves its bounds there: not a step to test
                    shown = rename(self.layout, cand.names, self.model.describe_args(got, args))
                    groups.setdefault(json.dumps(shown), []).append((cand, got, args, t))
            self._instances[aid] = groups
        return self._instances[aid]

    def fire(
        self, aid: int, draw_key: Callable[[list[str]], str], draw_index: Callable[[int], int]
    ) -> None:
        action = self.model.actions[aid]
        groups = self.instances(aid)
        key = draw_key(sorted(groups))
        outcomes = groups[key]
        args: dict[str, Any] = json.loads(key)
        kwargs: dict[str, Any] = {}
        if aid in self.s.binding.wants_expect:
            cand, _, _, t = outcomes[draw_index(len(outcomes))]
            kwargs["expect"] = rename(self.layout, cand.names, self.layout.decode(t))
        method = getattr(self.adapter, self.s.binding.methods[aid])
        first, got, got_args, _ = outcomes[0]
        shown = rename(self.layout, first.names, self.model.describe_args(got, got_args), True)
        self._call(lambda: method(*args.values(), **kwargs), action.label, shown)
        self.s.fired[action.label] = self.s.fired.get(action.label, 0) + 1
        self.s.steps += 1
        args = shown
        seen = self._observe(action.label, args)
        nxt: dict[tuple[State, Names], None] = {}
        for cand, _, _, t in outcomes:
            before = live_slots(self.layout, self.layout.decode(cand.state))
            for named in match(self.layout, cand.names, before, self.layout.decode(t), seen):
                nxt[(t, named)] = None
        if not nxt:
            self._mismatch(
                action.label, args, seen, [(c.names, t) for c, _, _, t in outcomes],
                "one the model allows for that step",
            )  # fmt: skip
        self._advance([Candidate(t, n) for t, n in nxt], action.label, args)

    def stutter(self) -> None:
        """No action is enabled: the implementation must stay where it is."""
        seen = self._observe("(nothing enabled)", {})
        kept = [
            Candidate(c.state, named)
            for c in self.frontier
            for named in match(
                self.layout, c.names, live_slots(self.layout, self.layout.decode(c.state)),
                self.layout.decode(c.state), seen,
            )
        ]  # fmt: skip
        if not kept:
            self._mismatch(
                "(no step)", {}, seen, [(c.names, c.state) for c in self.frontier],
                "the same state: no action of the model is enabled, yet the implementation changed",
            )  # fmt: skip
        self.frontier = kept

    def teardown(self) -> None:
        down = getattr(self.adapter, "teardown", None)
        if callable(down):
            down()

    # -- helpers -------------------------------------------------------------------------------

    def _advance(self, frontier: list[Candidate], label: str, args: dict[str, Any]) -> None:
        if len(frontier) > MAX_FRONTIER:
            raise Inconclusive(
                f"more than {MAX_FRONTIER} model states agree with what the implementation"
                " shows; observe more of its state"
            )
        self.frontier = frontier
        self._instances = {}
        self._record(label, args)

    def _record(self, label: str | None, args: dict[str, Any]) -> None:
        cand = self.frontier[0]
        state = rename(self.layout, cand.names, self.layout.decode(cand.state), True)
        self.steps.append(Step(label, args, state))
        for a in self.model.actions:
            if self.instances(a.id):
                self.s.enabled[a.label] = self.s.enabled.get(a.label, 0) + 1
        for inv in self.model.invariants:
            if all(not _holds(inv.holds, c.state) for c in self.frontier):
                raise Found(
                    Failure(
                        "invariant",
                        f"the implementation's state violates invariant {inv.name}"
                        f" (line {inv.span.line})",
                        Trace(tuple(self.steps)),
                        invariant=inv.name,
                    )
                )

    def _observe(self, label: str, args: dict[str, Any]) -> dict[str, Any]:
        seen = self._call(self.adapter.observe, label, args, during="observe()")
        checked = dict(check_observation(self.model, seen))
        for key, value in checked.items():
            if isinstance(value, dict):
                self.s.observed_fields.update(f"{key}.{f}" for obj in value.values() for f in obj)
            else:
                self.s.observed_fields.add(key)
        return checked

    def _call(
        self, fn: Callable[[], Any], label: str, args: dict[str, Any], during: str = ""
    ) -> Any:
        try:
            return fn()
        except (AdapterError, Found, Inconclusive):
            raise
        except Exception as err:
            frames = traceback.extract_tb(err.__traceback__)[1:]
            where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
            what = during or f"{label}({_show(args)})"
            step = Step(label, args, None, error=f"{type(err).__name__}: {err}{where}")
            raise Found(
                Failure(
                    "exception",
                    f"the implementation raised {type(err).__name__} in {what}: {err}{where}",
                    Trace((*self.steps, step)),
                )
            ) from None

    def _mismatch(
        self, label: str, args: dict[str, Any], seen: dict[str, Any],
        allowed: list[tuple[Names, State]], what: str,
    ) -> None:  # fmt: skip
        shown = list(dict.fromkeys(
            json.dumps(self._observable(rename(self.layout, n, self.layout.decode(t), True), seen))
            for n, t in allowed
        ))  # fmt: skip
        step = Step(label if label != "init" else None, args, None,
                    error="the implementation's state is not one the model allows")  # fmt: skip
        raise Found(
            Failure(
                "mismatch",
                f"after {label}({_show(args)}) the implementation's state is not {what}",
                Trace((*self.steps, step)),
                observed=qualify(self.layout, seen),
                allowed=tuple(json.loads(x) for x in shown[:4]),
            )
        )

    def _observable(self, state: dict[str, Any], seen: dict[str, Any]) -> dict[str, Any]:
        """What of a model state the adapter observes: its kinds and vars, their fields."""
        out: dict[str, Any] = {}
        for key, value in state.items():
            if key not in seen:
                continue
            if isinstance(value, dict):
                out[key] = {
                    obj: {f: v for f, v in fields.items() if f"{key}.{f}" in self.s.observed_fields}
                    for obj, fields in value.items()
                }
            else:
                out[key] = value
        return out


def _holds(holds: Callable[[State], bool], s: State) -> bool:
    try:
        return holds(s)
    except StepError:
        return False


def _show(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in args.items())
