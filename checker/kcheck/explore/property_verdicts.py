"""The verdicts of temporal properties on the state graph the explicit search kept
(spec/liveness.md): evaluable everywhere, then a fair lasso or none; inconclusive when the graph
is incomplete (a limit, a step out of bounds) or the budget runs out."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from kcheck.explore.budget import Budget, Stopped
from kcheck.explore.liveness import Graph, check_property
from kcheck.explore.store import GeneratedCode, NativeStore, StateSeq
from kcheck.explore.tracer import Tracer
from kcheck.model.ir import CompiledModel, PropertyInfo, State, StepError
from kcheck.result import HOLDS, INCONCLUSIVE, NOT_CHECKED, VIOLATED, PropertyResult


@dataclass
class BoundHit:
    """A step that failed (left a bound): the first per action and error code."""

    index: int  # the state whose step failed
    error: StepError


def guarded_property_result(
    model: CompiledModel,
    prop: PropertyInfo,
    graph: Graph | None,
    explored_all: bool,
    bound_hits: dict[str, BoundHit],
    limit: str | None,
    tracer: Tracer,
    budget: Budget | None,
    gen: GeneratedCode | None = None,
) -> PropertyResult:
    """`_property_result`, inconclusive when the budget runs out during the liveness analysis.
    `gen`: the model's generated C when the search built it (its state formulas run in C)."""
    why = budget.poll(time.monotonic()) if budget is not None else None
    try:
        if why is None:
            if budget is not None:
                budget.armed = True
            return _property_result(
                model, prop, graph, explored_all, bound_hits, limit, tracer, gen
            )
    except Stopped as stop:
        why = stop.reason
    except MemoryError:
        why = "out of memory"
    finally:
        if budget is not None:
            budget.armed = False
    reason = f"the liveness analysis stopped at {why}"
    return PropertyResult(prop.name, "property", INCONCLUSIVE, prop.span.line, reason=reason)


def _property_result(
    model: CompiledModel,
    prop: PropertyInfo,
    graph: Graph | None,
    explored_all: bool,
    bound_hits: dict[str, BoundHit],
    limit: str | None,
    tracer: Tracer,
    gen: GeneratedCode | None,
) -> PropertyResult:
    line = prop.span.line
    if graph is None or not prop.instances:
        why = (
            "a `forall` here must range over a kind, an enum or a constant range, with at most"
            " 256 bindings (spec/liveness.md)"
        )
        return PropertyResult(prop.name, "property", NOT_CHECKED, line, reason=why)
    if not explored_all or bound_hits:
        # A lasso in the explored graph may leave out a step that fails there, which a fair
        # behaviour of the real system would take: no verdict either way (spec/liveness.md).
        why = (
            f"the search stopped at {limit} before covering every state"
            if limit
            else f"a step left the model's bounds ({bound_names(model, bound_hits)}), so the"
            " state graph is incomplete"
        )
        return PropertyResult(prop.name, "property", INCONCLUSIVE, line, reason=why)
    for n, (label, preds) in enumerate(prop.instances):
        one = PropertyInfo(prop.name, prop.span, prop.shape, preds)
        careful = prop.careful[n] if n < len(prop.careful) else preds
        # Like an invariant, a formula that cannot be evaluated in some reachable state (it
        # reads a field through `none`, divides by zero) is a violation, wherever that state is.
        values, failed = _truth(preds, graph.states, _numbers(model, gen, preds))
        if failed is not None:
            i, failure = failed
            # named as the spec says, on the trace's own last state
            trace, last = tracer.path_and_state(i)
            failure = (_failure(careful, last) if last is not None else None) or failure
            why = f"cannot be evaluated in the last state: {failure}"
            if label:
                why = f"for {label}; {why}"
            return PropertyResult(prop.name, "property", VIOLATED, line, trace, why)
        lasso = check_property(model, graph, one, values)
        if lasso is not None:
            notes = [f"for {label}"] if label else []
            if lasso.trigger is not None:
                notes.append(
                    f"its left side holds at step {lasso.trigger}, its right side never after"
                )
            trace = tracer.lasso(lasso)
            reason = "; ".join(notes) or None
            return PropertyResult(prop.name, "property", VIOLATED, line, trace, reason)
    return PropertyResult(prop.name, "property", HOLDS, line)


def bound_names(model: CompiledModel, hits: dict[str, BoundHit]) -> str:
    """The bounds hit, as their entries are named (`no-free-slot in spawner.spawn`)."""
    names = []
    for _, hit in sorted(hits.items()):
        err = hit.error
        names.append(
            f"{err.code} in {model.actions[err.action].label if err.action >= 0 else 'init'}"
        )
    shown = ", ".join(names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _truth(
    preds: tuple[Callable[[State], bool], ...],
    states: StateSeq,
    c: tuple[GeneratedCode, list[int | None]] | None = None,
) -> tuple[list[bytes], tuple[int, str] | None]:
    """Each predicate's truth (1 or 0) in every state, evaluated in C loops (map); or, when one
    cannot be evaluated somewhere, the first such state and why, found state by state as
    _failure has always found it (the first state, then the first predicate). `c`: the
    generated code and each predicate's number in it (None: not translated), for states in a
    NativeStore: those predicates run in C, Python answering where C cannot exactly."""
    try:
        fast = _in_c(preds, states, c) if c is not None else [None] * len(preds)
        return [
            v if v is not None else bytes(map(bool, map(p, states)))
            for p, v in zip(preds, fast, strict=True)
        ], None
    except StepError:
        pass
    for i, st in enumerate(states):
        failure = _failure(preds, st)
        if failure is not None:
            return [], (i, failure)
    raise AssertionError("a predicate failed in one pass and not in the next")


def _numbers(
    model: CompiledModel, gen: GeneratedCode | None, preds: tuple[Callable[[State], bool], ...]
) -> tuple[GeneratedCode, list[int | None]] | None:
    """Each predicate's number in the generated code where it is translated there: a function
    the model's own source defines under a name the code numbers (None elsewhere)."""
    if gen is None or not gen.predicates_done:
        return None
    ns = model.successors.__globals__
    ks: list[int | None] = []
    for p in preds:
        name = getattr(p, "__name__", "")
        k = gen.predicates.get(name)
        ks.append(k if k in gen.predicates_done and ns.get(name) is p else None)
    return (gen, ks) if any(k is not None for k in ks) else None


def _in_c(
    preds: tuple[Callable[[State], bool], ...],
    states: StateSeq,
    c: tuple[GeneratedCode, list[int | None]],
) -> list[bytes | None]:
    """The values of the translated predicates (None for the others) from the native store's
    C loop; a state where C cannot answer exactly (2) is answered by the Python predicate,
    which raises StepError where it cannot be evaluated."""
    gen, ks = c
    if not isinstance(states, NativeStore):
        return [None] * len(preds)
    cols = iter(states.predicates(gen, [k for k in ks if k is not None], len(states)))
    out: list[bytes | None] = []
    for p, k in zip(preds, ks, strict=True):
        if k is None:
            out.append(None)
            continue
        col = next(cols)
        i = col.find(2)
        if i >= 0:
            fixed = bytearray(col)
            while i >= 0:
                fixed[i] = bool(p(states[i]))
                i = fixed.find(2, i + 1)
            col = bytes(fixed)
        out.append(col)
    return out


def _failure(preds: tuple[Callable[[State], bool], ...], s: State) -> str | None:
    try:
        for p in preds:
            p(s)
    except StepError as err:
        return err.message
    return None
