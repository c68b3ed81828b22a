"""One user's walk through a model, for `kcheck explore`: a path of concrete states from an
initial one, the cursor on it, and what the page shows about the state under the cursor (the
enabled action instances, the invariants, the cluster picture). Every step is one of the
compiled model's own outcomes (`CompiledModel.action_outcomes`, as the explorer fires them);
objects show under the display names traces give them (kcheck.trace.ObjectNames), recomputed
along the path, so a report's trace and a walk by hand name things alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kcheck.dashboard.picture import Picture, draw
from kcheck.lang.frontend import CheckedModel
from kcheck.model.ir import CompiledModel, State, StepError
from kcheck.trace import ObjectNames, changed_fields


class SessionError(Exception):
    """A request the session cannot honour (a step that does not exist, a stale index):
    the message is shown on the page."""


@dataclass(frozen=True)
class Move:
    """A step of the path: the action instance and the state it leads to."""

    action: int
    args: tuple[int, ...]
    state: State


@dataclass(frozen=True)
class Ending:
    """A report's last step that fails (a bound error): the page shows it after the path."""

    action: str
    args: dict[str, Any]
    error: str


@dataclass
class Session:
    """The walk. `path[0]` is an initial state (as a move with action -1); `cursor` indexes the
    state shown. Taking a step past the cursor drops the steps after it, as a browser's history
    does; jumping keeps them, so the user can jump forward again."""

    checked: CheckedModel
    model: CompiledModel
    picture: Picture
    path: list[Move] = field(default_factory=list)
    cursor: int = 0
    origin: str = "manual"  # "manual", or what a loaded trace came from ("report: no_overcommit")
    loop_start: int | None = None  # a lasso's loop, while the path is the loaded trace
    ending: Ending | None = None
    init_error: str | None = None
    coverage: dict[str, Any] | None = None  # the last coverage run's (coverage.py)
    simulated: dict[str, Any] | None = None  # the coverage of an opened `kcheck simulate` report
    live: Any = None  # the run followed (live.Live), if any
    explainer: Any = None  # explain.Explainer, made on first use
    check: Any = None  # check.Progress of the last check run from the page
    # the -D overrides the model was loaded with (a search reloads it with them)
    defines: dict[str, int | str] = field(default_factory=dict)

    @classmethod
    def start(
        cls,
        checked: CheckedModel,
        model: CompiledModel,
        defines: dict[str, int | str] | None = None,
    ) -> Session:
        session = cls(checked, model, draw(checked, model.layout), defines=dict(defines or {}))
        session.restart(0)
        return session

    # ---- the initial states and the path

    def initial_states(self) -> list[State]:
        try:
            return list(dict.fromkeys(self.model.initial()))
        except StepError as err:
            self.init_error = f"init fails: {err.message} (line {err.line})"
            return []

    def restart(self, index: int) -> None:
        inits = self.initial_states()
        if not inits:
            self.path, self.cursor = [], 0
            return
        if not 0 <= index < len(inits):
            raise SessionError(f"there is no initial state #{index} (the model has {len(inits)})")
        self.set_path([Move(-1, (), inits[index])], "manual")

    def set_path(
        self,
        path: list[Move],
        origin: str,
        loop_start: int | None = None,
        ending: Ending | None = None,
    ) -> None:
        """Show `path`: a walk by hand at its end, a loaded trace from its first step."""
        self.path, self.origin = path, origin
        self.cursor = len(path) - 1 if origin == "manual" else 0
        self.loop_start, self.ending = loop_start, ending

    @property
    def state(self) -> State:
        return self.path[self.cursor].state

    def names_at(
        self, index: int
    ) -> tuple[ObjectNames, list[dict[str, Any]], list[dict[str, Any]]]:
        """The display names after step `index`, with every step's named arguments and named
        state up to it."""
        kinds = [k.name for k in self.model.layout.kinds]
        names = ObjectNames(kinds)
        args_shown: list[dict[str, Any]] = []
        states_shown: list[dict[str, Any]] = []
        for move in self.path[: index + 1]:
            if move.action < 0:
                args_shown.append({})
            else:
                args_shown.append(names.args(self.model.describe_args(move.action, move.args)))
            states_shown.append(names.state(self.model.layout.decode(move.state)))
        return names, args_shown, states_shown

    # ---- what can happen next

    def enabled(self) -> list[dict[str, Any]]:
        """Every instance of every action in the state under the cursor, in the order the model
        enumerates them; a failing one carries its error instead of a next state."""
        if not self.path:
            return []
        names, _, states = self.names_at(self.cursor)
        before = states[-1]
        out: list[dict[str, Any]] = []
        for outcomes in self.model.action_outcomes:
            for aid, args, t in outcomes(self.state):
                info = self.model.actions[aid]
                after = names.copy()
                shown_args = after.args(self.model.describe_args(aid, args))
                entry: dict[str, Any] = {
                    "index": len(out),
                    "action": info.label,
                    "actor_kind": info.actor_kind,
                    "args": shown_args,
                    "line": info.span.line,
                }
                if isinstance(t, StepError):
                    entry["error"] = f"{t.code}: {t.message}"
                else:
                    entry["changes"] = describe_changes(
                        before, after.state(self.model.layout.decode(t))
                    )
                out.append(entry)
        return out

    def _instances(self) -> list[tuple[int, tuple[int, ...], State | StepError]]:
        return [x for outcomes in self.model.action_outcomes for x in outcomes(self.state)]

    def take(self, index: int, at: int | None = None) -> None:
        """Take the `index`-th instance of `enabled()` from the state under the cursor; `at`,
        when given, must be the cursor the page saw (so a stale click does nothing wrong)."""
        if not self.path:
            raise SessionError(self.init_error or "the model has no initial state")
        if at is not None and at != self.cursor:
            raise SessionError("the page is out of date: reload it")
        instances = self._instances()
        if not 0 <= index < len(instances):
            raise SessionError(f"there is no enabled action #{index} here")
        aid, args, t = instances[index]
        if isinstance(t, StepError):
            raise SessionError(f"{self.model.actions[aid].label} fails here: {t.message}")
        self.path = [*self.path[: self.cursor + 1], Move(aid, args, t)]
        self.cursor = len(self.path) - 1
        self.origin, self.loop_start, self.ending = "manual", None, None

    def back(self) -> None:
        if self.cursor == 0:
            raise SessionError("already at the initial state")
        self.cursor -= 1

    def jump(self, step: int) -> None:
        if not 0 <= step < len(self.path):
            raise SessionError(f"there is no step {step} (the path has {len(self.path)})")
        self.cursor = step

    # ---- the view

    def invariants(self, names: ObjectNames | None = None) -> list[dict[str, Any]]:
        if self.explainer is None:
            from kcheck.dashboard.explain import Explainer

            self.explainer = Explainer(self.checked, self.model)
        out: list[dict[str, Any]] = []
        for inv in self.model.invariants:
            entry: dict[str, Any] = {"name": inv.name, "line": inv.span.line}
            if names is not None:
                entry["terms"] = self.explainer.explain(inv.name, self.state, names)
            err = inv.error(self.state)
            if err is not None:
                entry["holds"] = False
                entry["error"] = f"{err.code}: {err.message}"
            else:
                entry["holds"] = bool(inv.holds(self.state))
            out.append(entry)
        return out

    def view(self) -> dict[str, Any]:
        """Everything the page draws, as JSON."""
        if not self.path:
            return {
                "model": self.model.name,
                "error": self.init_error or "the model has no initial state",
                "steps": [],
            }
        _, args_shown, states_shown = self.names_at(len(self.path) - 1)
        names_here = self.names_at(self.cursor)[0]
        steps = [
            {
                "index": i,
                "action": None if move.action < 0 else self.model.actions[move.action].label,
                "args": args_shown[i],
            }
            for i, move in enumerate(self.path)
        ]
        state = states_shown[self.cursor]
        out: dict[str, Any] = {
            "model": self.model.name,
            "origin": self.origin,
            "cursor": self.cursor,
            "steps": steps,
            "loop_start": self.loop_start,
            "state": state,
            "picture": self.picture.render(state),
            "invariants": self.invariants(names_here),
            "enabled": self.enabled(),
            "changes": describe_changes(states_shown[self.cursor - 1], state)
            if self.cursor > 0
            else [],
        }
        if self.coverage is not None:
            out["coverage"] = self.coverage
        if self.simulated is not None:
            out["simulated"] = self.simulated
        if self.live is not None:
            out["live"] = self.live.to_json()
            if self.origin == "live":  # the run's coverage: which actions its steps took
                fired = dict.fromkeys((a.label for a in self.model.actions), 0)
                for move in self.path[1:]:
                    fired[self.model.actions[move.action].label] += 1
                out["live"]["fired"] = fired
        if self.ending is not None:
            out["ending"] = {
                "action": self.ending.action,
                "args": self.ending.args,
                "error": self.ending.error,
            }
        return out


def describe_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What a step changes, with the new values: `Pod#2 created (cpu=3, ...)`,
    `Pod#0.node := Node#1`, `Pod#1 deleted` (what tells apart the instances of one `choose`)."""
    out: list[str] = []
    for change in changed_fields(before, after):
        path, _, what = change.partition(" ")
        if what == "created":
            kind = path.rsplit("#", 1)[0]
            fields = after.get(kind, {}).get(path, {})
            shown = ", ".join(f"{k}={_show(v)}" for k, v in fields.items())
            out.append(f"{path} created ({shown})")
        elif what:
            out.append(change)
        elif "." in path and "#" in path.split(".", 1)[0]:
            obj, _, name = path.partition(".")
            holder = next((v for v in after.values() if isinstance(v, dict) and obj in v), {})
            out.append(f"{path} := {_show(holder.get(obj, {}).get(name))}")
        else:
            out.append(f"{path} := {_show(after.get(path))}")
    return out


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "{" + ", ".join(_show(v) for v in value) + "}"
    return str(value)
