"""The run's event stream, in the style of `kubectl describe` (Scheduled, Created, Started,
Killing, ...): one event per object a step touched, with the time and the actor. The same
events feed the terminal, the JSON lines log and the metrics."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from kcheck.trace import changed_fields, show_value

# phase members whose meaning the event reasons know
_STARTED = {"running"}
_STOPPED = {"failed", "succeeded", "gone", "completed", "evicted"}


@dataclass(frozen=True)
class Event:
    time: float  # seconds since the run started (simulated seconds with --driver sim)
    step: int
    type: str  # "Normal" or "Warning"
    reason: str
    source: str  # the actor, or "kcheck" for the run's own events
    object: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "time": round(self.time, 3),
            "step": self.step,
            "type": self.type,
            "reason": self.reason,
            "from": self.source,
            "object": self.object,
            "message": self.message,
        }

    def line(self) -> str:
        return (
            f"{self.time:8.2f}s  {self.type:<7}  {self.reason:<18}  {self.source:<16}"
            f"  {self.object:<14}  {self.message}"
        )


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_")) or name


def _reason(action: str, actor_kind: str, field: str, after: Any) -> str:
    if actor_kind == "scheduler" and field not in ("", "phase"):
        return "Scheduled"
    if field == "phase" and isinstance(after, str):
        low = after.lower()
        if low in _STARTED:
            return "Started"
        if low in _STOPPED:
            return "Killing" if actor_kind == "fault" else _camel(after)
    return _camel(action.split(".", 1)[-1])


def step_events(
    step: int,
    time: float,
    action: str,
    actor_kind: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> list[Event]:
    """The events of one committed step."""
    actor = action.split(".", 1)[0]
    etype = "Warning" if actor_kind == "fault" else "Normal"
    per_object: dict[str, list[tuple[str, str, Any]]] = {}
    for path in changed_fields(before, after):
        if "@" in path.split(".", 1)[0].split(" ", 1)[0]:
            continue  # controller-internal state (caches, program counters): not an event
        if path.endswith(" created"):
            oid = path[: -len(" created")]
            fields = after[oid.split("#")[0]][oid]
            text = ", ".join(f"{f}={show_value(v)}" for f, v in fields.items() if "@" not in f)
            per_object.setdefault(oid, []).append(("Created", f"created {{{text}}}", None))
        elif path.endswith(" deleted"):
            oid = path[: -len(" deleted")]
            reason = "Killing" if actor_kind == "fault" else "Deleted"
            per_object.setdefault(oid, []).append((reason, "deleted", None))
        elif path in after:
            if path.startswith("budget."):
                continue  # a fault's budget shows in its own event
            b, a = before.get(path), after.get(path)
            per_object.setdefault("-", []).append(
                (_camel(action.split(".", 1)[-1]), f"{path}: {show_value(b)} -> {show_value(a)}", a)
            )
        else:
            obj, _, field = path.rpartition(".")
            if "@" in field:
                continue
            b, a = _lookup(before, obj, field), _lookup(after, obj, field)
            change = f"{field or path}: {show_value(b)} -> {show_value(a)}"
            per_object.setdefault(obj, []).append(
                (_reason(action, actor_kind, field, a), change, a)
            )
    events: list[Event] = []
    for obj, changes in per_object.items():
        reason = next((r for r, _, _ in changes if r not in ("Created",)), changes[0][0])
        if any(r == "Created" for r, _, _ in changes):
            reason = "Created"
        message = "; ".join(c for _, c, _ in changes)
        events.append(Event(time, step, etype, reason, actor, obj, message))
    if not events and "@" not in action:  # an internal step (an informer sync) is silent
        events.append(
            Event(
                time,
                step,
                etype,
                _camel(action.split(".", 1)[-1]),
                actor,
                "-",
                "(no visible change)",
            )
        )
    return events


def _lookup(state: dict[str, Any], obj: str, field: str) -> Any:
    kind = obj.split("#")[0]
    return state.get(kind, {}).get(obj, {}).get(field)


class JsonLines:
    """`--log-json PATH`: one JSON object per event, flushed as it happens."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def __call__(self, event: Event) -> None:
        self.stream.write(json.dumps(event.to_json()) + "\n")
        self.stream.flush()


EventSink = Callable[[Event], None]
