"""The one trace type every engine returns and every report reads: states with the action (and
its arguments) that led to each. A lasso (liveness) marks where its loop starts.

Also owns how a trace names objects (`name_objects`): the engines work on slots, which a deleted
object frees for a later one, so a trace shows each object under a display name of its own,
numbered per kind in the order the objects appear (spec/reports.md#object-names), and how every
report writes a value of a trace (`show_value`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Step:
    """One state of a behaviour. `action` is None for the initial state; `error` is set on a
    final step that could not complete (the model left its bounds), and then `state` is None."""

    action: str | None
    args: dict[str, Any]
    state: dict[str, Any] | None
    error: str | None = None
    line: int | None = None  # source line of the action (or of the failing statement)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action, "args": self.args, "state": self.state}
        if self.error is not None:
            out["error"] = self.error
        if self.line is not None:
            out["line"] = self.line
        return out


@dataclass(frozen=True)
class Trace:
    steps: tuple[Step, ...]
    loop_start: int | None = None
    # a lasso that stops in its last state: the unfair actions still enabled there (none when
    # nothing is enabled at all)
    waiting: tuple[str, ...] = ()
    # a lasso whose loop creates objects: (name at the loop's end, name at its start) of each
    # object that stands where another stood when the loop began (the same slot, a new object)
    loop_renames: tuple[tuple[str, str], ...] = ()

    def __len__(self) -> int:
        """The number of steps taken (transitions), not counting the initial state."""
        return max(0, len(self.steps) - 1)

    def to_json(self) -> list[dict[str, Any]]:
        return [s.to_json() for s in self.steps]


def loop_renaming(trace: Trace) -> str:
    """How a loop's last state names the objects of its first one, when objects created in
    the loop stand where deleted ones stood: ", with Pod#3 in place of Pod#1", else ""."""
    if not trace.loop_renames:
        return ""
    pairs = ", ".join(f"{new} in place of {old}" for new, old in trace.loop_renames)
    return f", with {pairs}"


def stutter_reason(trace: Trace) -> str:
    """Why a behaviour may stay in a lasso's last state forever."""
    if not trace.waiting:
        return "no action is enabled"
    return f"only unfair actions are enabled, and they need never fire: {', '.join(trace.waiting)}"


def show_value(v: Any) -> str:
    """A value of a trace as every report and the live event stream write it (KDSL spelling)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "none"
    if isinstance(v, list):
        return "{" + ", ".join(str(x) for x in v) + "}"
    return str(v)


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """Dotted paths whose value differs between two decoded states (objects appear and vanish
    as `Pod#1` created / deleted)."""
    if before is None or after is None:
        return []
    out: list[str] = []
    for key in sorted(set(before) | set(after), key=lambda k: (isinstance(after.get(k), dict), k)):
        a, b = before.get(key), after.get(key)
        if isinstance(a, dict) or isinstance(b, dict):
            a = a or {}
            b = b or {}
            for obj in sorted(set(a) | set(b)):
                if obj not in a:
                    out.append(f"{obj} created")
                elif obj not in b:
                    out.append(f"{obj} deleted")
                else:
                    out.extend(f"{obj}.{f}" for f in a[obj] if a[obj].get(f) != b[obj].get(f))
        elif a != b:
            out.append(key)
    return out


class ObjectNames:
    """The display names of the objects of one behaviour, step by step. An object present in the
    first state is named by its slot order there (the order `init` created it), every object that
    appears later takes the next number of its kind, and a name is never given twice: a pod
    created where a deleted one was is a new pod. A slot keeps its last object's name after that
    object is deleted, so a cache that still remembers it, or a reference to it, shows the name
    of the object it remembers."""

    def __init__(self, kinds: Iterable[str]) -> None:
        self.kinds = tuple(kinds)
        self._next: dict[str, int] = dict.fromkeys(self.kinds, 0)
        self._name: dict[str, str] = {}  # slot name ("Pod#1") -> display name ("Pod#3")
        self._live: set[str] = set()
        self._shown: set[str] = set()  # slot names the last state showed, live or remembered
        alternatives = "|".join(re.escape(k) for k in sorted(self.kinds, key=len, reverse=True))
        # a slot name alone, or at the end of a cache's (`X@Pod#1`) or an in-flight action's
        # (`X:act#Pod#1`) key; enum members and kind names never contain `#`
        self._pattern = re.compile(rf"(^|[@#])((?:{alternatives})#\d+)$") if self.kinds else None

    def copy(self) -> ObjectNames:
        other = ObjectNames.__new__(ObjectNames)
        other.kinds, other._pattern = self.kinds, self._pattern
        other._next, other._name, other._live = dict(self._next), dict(self._name), set(self._live)
        other._shown = set(self._shown)
        return other

    def _fresh(self, slot_name: str) -> str:
        kind = slot_name.rsplit("#", 1)[0]
        shown = f"{kind}#{self._next[kind]}"
        self._next[kind] += 1
        self._name[slot_name] = shown
        return shown

    def _rename(self, text: str) -> str:
        if self._pattern is None:
            return text
        m = self._pattern.search(text)
        if m is None:
            return text
        slot_name = m.group(2)
        self._shown.add(slot_name)
        shown = self._name.get(slot_name) or self._fresh(slot_name)
        return text[: m.start(2)] + shown

    def _value(self, v: Any) -> Any:
        if isinstance(v, str):
            return self._rename(v)
        if isinstance(v, list):
            return [self._value(x) for x in v]
        if isinstance(v, dict):
            return {self._rename(k): self._value(x) for k, x in v.items()}
        return v

    def args(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """A step's arguments, which name objects as they were before the step."""
        return {k: self._value(v) for k, v in args.items()}

    def state(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """The next state of the behaviour with display names; objects that were not live in
        the previous state are new and named first, in slot order."""
        live: set[str] = set()
        for kind in self.kinds:
            objs = state.get(kind)
            if isinstance(objs, dict):
                live.update(objs)
        for slot_name in sorted(live - self._live, key=_slot_order):
            self._fresh(slot_name)
        self._live = live
        self._shown = set()
        out: dict[str, Any] = {}
        for k, v in state.items():
            v = self._value(v)
            if isinstance(v, dict):  # a kind's objects, or a cache's: listed by their names
                v = dict(sorted(v.items(), key=lambda item: self._order(item[0])))
            out[self._rename(k)] = v
        return out

    def _order(self, key: str) -> tuple[int, str, int]:
        m = self._pattern.search(key) if self._pattern is not None else None
        if m is None:
            return 0, key, 0
        kind, _, number = m.group(2).rpartition("#")
        return 1, kind, int(number)

    def display(self, slot_name: str) -> str:
        """The name an object in this slot is shown with now."""
        return self._name.get(slot_name, slot_name)

    def names(self) -> dict[str, str]:
        """Slot name -> display name of every object the last state showed."""
        return {slot: self._name[slot] for slot in self._shown}


def _slot_order(slot_name: str) -> tuple[str, int]:
    kind, _, slot = slot_name.rpartition("#")
    return kind, int(slot)


def name_objects(trace: Trace, kinds: Sequence[str]) -> Trace:
    """The trace with every object under its display name (see ObjectNames). `trace` names
    objects by slot, as the layout decodes states; the steps must be consecutive states of one
    behaviour, starting at an initial state."""
    names = ObjectNames(kinds)
    steps: list[Step] = []
    at_loop: dict[str, str] = {}
    for i, step in enumerate(trace.steps):
        args = names.args(step.args)
        state = names.state(step.state) if step.state is not None else None
        steps.append(replace(step, args=args, state=state))
        if i == trace.loop_start:
            at_loop = names.names()
    renames: tuple[tuple[str, str], ...] = ()
    if trace.loop_start is not None and trace.loop_start < len(trace.steps) - 1:
        # the loop's last state is its first one again, slot for slot: the same objects show
        end = names.names()
        renames = tuple(
            sorted(
                (
                    (end[slot], shown)
                    for slot, shown in at_loop.items()
                    if end.get(slot, shown) != shown
                ),
                key=lambda pair: _slot_order(pair[0]),
            )
        )
    return replace(trace, steps=tuple(steps), loop_renames=renames)
