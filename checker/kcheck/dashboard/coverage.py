"""Action coverage: which actions fire somewhere in the reachable state space and which never
do (a guard that can never hold is a bug in the model as often as in the system). A
breadth-first walk over the compiled model's own outcomes (`CompiledModel.action_outcomes`),
one representative per symmetry class as the explorer stores them, bounded in states and
time; a count is of transitions from those representatives."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from kcheck.model.ir import CompiledModel, State, StepError

MAX_STATES = 500_000
TIMEOUT = 60.0  # seconds


def coverage(
    model: CompiledModel, max_states: int = MAX_STATES, timeout: float = TIMEOUT
) -> dict[str, Any]:
    """Per action, the transitions it takes and the instances that fail, over the reachable
    states (all of them when `complete`)."""
    canon = model.canonicalize or (lambda s: s)
    fired = [0] * len(model.actions)
    failed = [0] * len(model.actions)
    start = time.monotonic()
    try:
        seen: set[State] = {canon(s) for s in model.initial()}
    except StepError as err:
        return {"complete": False, "states": 0, "actions": [], "never": [],
                "limit": f"init fails: {err.message}"}  # fmt: skip
    queue = deque(seen)
    limit = None
    while queue:
        if len(seen) >= max_states:
            limit = f"max-states {max_states}"
            break
        if time.monotonic() - start > timeout:
            limit = f"timeout {timeout:g}s"
            break
        s = queue.popleft()
        for outcomes in model.action_outcomes:
            for aid, _, t in outcomes(s):
                if isinstance(t, StepError):
                    failed[aid] += 1
                    continue
                fired[aid] += 1
                c = canon(t)
                if c not in seen:
                    seen.add(c)
                    queue.append(c)
    actions = [
        {"action": a.label, "line": a.span.line, "fired": fired[a.id], "failed": failed[a.id]}
        for a in model.actions
    ]
    return {
        "complete": limit is None,
        "states": len(seen),
        "seconds": round(time.monotonic() - start, 2),
        "limit": limit,
        "actions": actions,
        "never": [a["action"] for a in actions if not a["fired"]],
    }
