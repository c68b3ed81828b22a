"""The one trace type every engine returns and every report reads: states with the action (and
its arguments) that led to each. A lasso (liveness) marks where its loop starts."""

from __future__ import annotations

from dataclasses import dataclass
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

    def __len__(self) -> int:
        """The number of steps taken (transitions), not counting the initial state."""
        return max(0, len(self.steps) - 1)

    def to_json(self) -> list[dict[str, Any]]:
        return [s.to_json() for s in self.steps]


def stutter_reason(trace: Trace) -> str:
    """Why a behaviour may stay in a lasso's last state forever."""
    if not trace.waiting:
        return "no action is enabled"
    return f"only unfair actions are enabled, and they need never fire: {', '.join(trace.waiting)}"


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
