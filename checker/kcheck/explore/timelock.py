"""Timelocks: in a model with time, a reachable state with no step at all, not even `time.tick`
(spec/explorer.md, "Timelocks"). The explicit search, `kcheck simulate` and `kcheck run` report
one as the failed built-in check `time_passes`, named by the deadlines due there."""

from __future__ import annotations

from collections.abc import Callable

from kcheck.model.ir import CompiledModel, State, StepError
from kcheck.result import VIOLATED, PropertyResult
from kcheck.trace import Trace

TIMELOCK = "time_passes"  # the built-in check's name, as reports list it
ALLOWED_NOTE = (
    "timelocks were not looked for (--allow-timelocks): a state where time stops and no step"
    " is possible ends its behaviours silently"
)


def timelock_result(model: CompiledModel, trace: Trace, last: State | None) -> PropertyResult:
    """The failed built-in check `time_passes`: `trace` ends in a state of a timed model with no
    successor at all (spec/explorer.md, "Timelocks"), named by the deadlines due there."""
    due = [d for d in model.deadlines if last is not None and _due(d.due, last)]
    line = next((a.span.line for d in due[:1] for a in model.actions if a.label == d.label), None)
    if due:
        names = ", ".join(f"`{d.label}`" for d in due)
        sort = "deadline" if len(due) == 1 else "deadlines"
        why = (
            f"time stops here: the {sort} of {names} {'is' if len(due) == 1 else 'are'} due, so"
            f" `time.tick` cannot fire, yet {'it takes' if len(due) == 1 else 'they take'} no"
            " step (the guard holds but the body gives no successor, e.g. a `choose` with"
            " nothing to choose) and no other action can either; every later behaviour is cut"
            " off and never explored"
        )
    else:
        why = "time stops here: neither `time.tick` nor any action can take a step"
    return PropertyResult(TIMELOCK, "timelock", VIOLATED, line, trace, why + TIMELOCK_HINT)


TIMELOCK_HINT = (
    " (a timelock: give every `within` an action that can always fire while it is enabled, or"
    ' pass --allow-timelocks; spec/language.md, "Time")'
)


def _due(due: Callable[[State], bool], s: State) -> bool:
    try:
        return due(s)
    except StepError:
        return True  # its guard cannot be evaluated here: it may be what stops time
