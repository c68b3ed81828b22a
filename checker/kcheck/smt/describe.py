"""Concrete states from Z3 models, in words: the counterexample to induction that k-induction
reports as a hint (the state before the breaking step, the step, what it changes)."""

from __future__ import annotations

from typing import Any

from kcheck.model.ir import CompiledModel
from kcheck.smt.system import Unrolling
from kcheck.trace import changed_fields


def show_state(decoded: dict[str, Any]) -> str:
    """`x=1, Node#0 {cpu=4, ready=true}, Pod: (none)`: vars, budgets, then live objects."""
    parts: list[str] = []
    for key, value in decoded.items():
        if isinstance(value, dict):
            if not value:
                parts.append(f"{key}: (none)")
            for obj, fields in value.items():
                inner = ", ".join(f"{f}={_show(v)}" for f, v in fields.items())
                parts.append(f"{obj} {{{inner}}}")
        else:
            parts.append(f"{key}={_show(value)}")
    return ", ".join(parts)


def _show(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "{" + ", ".join(str(x) for x in v) + "}"
    return str(v)


def describe_cti(model: CompiledModel, path: Unrolling, m: Any, k: int) -> str:
    """The last step of a step-case model: the state where the goal still holds, the action
    instance that breaks it, and the fields that change."""
    states = path.concrete(m, k)
    before, after = (model.layout.decode(s) for s in states[k - 1 : k + 1])
    step = _instance(model, *path.taken(m, k - 1))
    changes = []
    for name in changed_fields(before, after):
        # an object's field; a var with a dot (`budget.f`, an actor's local `rs.pending`) is not
        if "." in name and name not in before and name not in after:
            obj, f = name.split(".", 1)
            kind = obj.split("#")[0]
            old, new = before[kind][obj][f], after[kind][obj][f]
        else:
            old, new = before.get(name), after.get(name)
            if name.endswith((" created", " deleted")):
                changes.append(name)
                continue
        changes.append(f"{name}: {_show(old)} -> {_show(new)}")
    return (
        f"in the state {{{show_state(before)}}} the step {step} "
        f"({'; '.join(changes) or 'no change'}) breaks it"
    )


def describe_failure(model: CompiledModel, path: Unrolling, m: Any, k: int) -> str:
    """The last state of a step-case model for "no step fails", and a step that fails there."""
    state = model.layout.decode(path.concrete(m, k)[k])
    step = _instance(model, *path.failing(m, k))
    return f"in the state {{{show_state(state)}}} the step {step} fails"


def describe_stop(model: CompiledModel, path: Unrolling, m: Any, k: int) -> str:
    """The last step of a step-case model for "time always passes": into a state without any
    step (a timelock, unreachable unless a deeper base case finds it)."""
    states = path.concrete(m, k)
    before, after = (model.layout.decode(s) for s in states[k - 1 : k + 1])
    step = _instance(model, *path.taken(m, k - 1))
    return (
        f"in the state {{{show_state(before)}}} the step {step} leads to "
        f"{{{show_state(after)}}}, where no step is possible"
    )


def _instance(model: CompiledModel, aid: int, args: tuple[int, ...]) -> str:
    shown = ", ".join(f"{n}={_show(v)}" for n, v in model.describe_args(aid, args).items())
    return f"{model.actions[aid].label}({shown})"
