"""Bounded model checking of temporal properties: fair lassos (spec/smt.md, "Temporal
properties").

States s0 ... sk are unrolled from the initial states. At every depth k the solver is asked,
per property, for
- a state sk where a formula cannot be evaluated (a violation, as in the explicit engine), or
  where P fails, for `always P`;
- a lasso that **stops** in sk: no fair action is enabled there and no step fails there, and
  the property fails on the behaviour that stays in sk forever;
- a lasso that **loops**: sk equals some sl (l < k), no step fails in sl ... sk-1, every
  fairness constraint is met on the loop (a weakly fair action is taken on one of its steps or
  disabled in one of its states; a strongly fair one is taken on it or disabled in all its
  states) and the property fails on the behaviour that repeats the loop forever.
These are exactly the fair behaviours of spec/liveness.md that end in a loop, so the first
depth with an answer gives a lasso of fewest steps. Every lasso is rebuilt as concrete states,
checked again on the compiled model (the loop closes, is fair, breaks the property: else a
ReplayError, never a verdict), and replayed into a trace as BMC's paths are. Not finding one
up to the depth is `inconclusive`, never `holds`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from itertools import pairwise
from typing import Any

import z3  # type: ignore[import-untyped]

from kcheck.lang.symbols import Symbols
from kcheck.model.ir import CompiledModel, State, StepError
from kcheck.result import INCONCLUSIVE, NOT_CHECKED, VIOLATED, PropertyResult
from kcheck.smt.encode import Encoder
from kcheck.smt.solver import Deadline, Unrolled
from kcheck.smt.system import Unrolling
from kcheck.smt.temporal import (
    Fairness,
    PropertyTerms,
    enabled,
    fair_loop,
    property_terms,
    selected,
    stops,
    taken,
    violation,
)
from kcheck.smt.terms import Term, _and, _or
from kcheck.trace import Step, Trace, name_objects

NOT_ENCODED = (
    "a `forall` here must range over a kind, an enum or a constant range, with at most"
    " 256 bindings (spec/liveness.md)"
)


MARGIN_S = 2.0


class LassoError(RuntimeError):
    """Z3 produced a lasso the compiled model does not confirm: the encoding is wrong."""


class _Lassos:
    """The fairness and loop terms of one unrolling, built once per state and step."""

    def __init__(self, model: CompiledModel, u: Unrolling) -> None:
        self.model = model
        self.u = u
        self.fair = Fairness.of(model)
        self._en: dict[tuple[int, int], Term] = {}
        self._took: dict[tuple[int, int], Term] = {}

    def en(self, i: int, a: int) -> Term:
        if (i, a) not in self._en:
            self._en[i, a] = enabled(self.u.instances(i), a)
        return self._en[i, a]

    def took(self, i: int, a: int) -> Term:
        if (i, a) not in self._took:
            self._took[i, a] = taken(self.u.instances(i), self.u.state(i + 1), a)
        return self._took[i, a]

    def stop(self, k: int) -> Term:
        return _and(stops(self.u.instances(k), self.fair), z3.Not(self.u.fail(k)))

    def loop(self, k: int, start: Term) -> Term:
        """s_k closes a loop at s_start (start < k) on which no step fails and every fairness
        constraint is met."""
        s = self.u.state
        back = [z3.Implies(start == j, _same(s(j), s(k))) for j in range(k)]
        parts = [start >= 0, start < k, *back]
        parts += [z3.Implies(start <= i, z3.Not(self.u.fail(i))) for i in range(k)]
        for a in self.fair.weak:
            parts.append(
                _or(
                    [
                        _and(start <= i, _or([self.took(i, a), z3.Not(self.en(i, a))]))
                        for i in range(k)
                    ]
                )
            )
        for a in self.fair.strong:
            took = _or([_and(start <= i, self.took(i, a)) for i in range(k)])
            off = _and(*[z3.Implies(start <= i, z3.Not(self.en(i, a))) for i in range(k)])
            parts.append(_or([took, off]))
        return _and(*parts)


def _same(a: tuple[Term, ...], b: tuple[Term, ...]) -> Term:
    return _and(*[x == y for x, y in zip(a, b, strict=True)])


def broken(t: PropertyTerms, u: Unrolling, k: int, start: Term | None) -> Term:
    """The property fails on the lasso s0 ... sk: looping back to s_start (start < k), or,
    with start None, staying in s_k forever."""
    s = u.state
    cycle = range(k) if start is not None else range(k, k + 1)
    end = cycle.stop

    def inside(i: int) -> Term:
        return (start <= i) if start is not None else z3.BoolVal(i == k)

    out: list[Term] = []
    for b in t.bindings:
        if t.shape == "eventually always":
            out.append(_or([_and(inside(i), z3.Not(t.holds(b, 0, s(i)))) for i in cycle]))
        elif t.shape == "always eventually":
            out.append(_and(*[z3.Implies(inside(i), z3.Not(t.holds(b, 0, s(i)))) for i in cycle]))
        elif t.shape == "leads_to":
            no_q = [z3.Not(t.holds(b, 1, s(j))) for j in range(end)]
            looping = _and(*[z3.Implies(inside(j), no_q[j]) for j in cycle])
            for start in range(end):
                out.append(_and(t.holds(b, 0, s(start)), *no_q[start:end], looping))
    return _or(out)


def temporal_bmc(
    model: CompiledModel,
    symbols: Symbols,
    depth: int,
    names: Sequence[str] | None,
    invariants: Sequence[str] | None,
    deadline: Deadline,
    engine: str = "bmc",
) -> list[PropertyResult]:
    """An entry for each selected temporal property: violated with a fair lasso (or a path,
    for `always P` and for a formula that cannot be evaluated) of at most `depth` steps,
    else inconclusive or not checked."""
    props = selected(model, names, invariants)
    if not props:
        return []
    # stop a little before the run's own limit, which would otherwise cut the report short
    deadline = Deadline(max(0.0, deadline.remaining() - MARGIN_S))
    enc = Encoder(model, symbols)
    terms: dict[str, PropertyTerms] = {}
    out: dict[str, PropertyResult] = {}
    for p in props:
        t = property_terms(enc, symbols, p)
        if t is None:
            out[p.name] = PropertyResult(p.name, "property", NOT_CHECKED, p.span.line,
                                         reason=NOT_ENCODED, engine=engine)  # fmt: skip
        else:
            terms[p.name] = t
    try:
        inits = model.initial()
    except StepError as err:
        why = f"init fails ({err.code})"
        inits = []
        for name in terms:
            line = terms[name].info.span.line
            out[name] = PropertyResult(name, "property", INCONCLUSIVE, line, reason=why,
                                       engine=engine)  # fmt: skip
        terms = {}
    u = Unrolling(enc, "t")
    lassos = _Lassos(model, u)
    # over integers, each goal under an assumption literal so that learned clauses are kept
    # (bmc.py's solver); bit-vectors were slower here (hpa to depth 6: 4.3 CPU s against 1.2)
    solver = Unrolled(bitvec=False)
    if inits:
        solver.add(_or([_same(u.state(0), s) for s in inits]))
    pending = dict(terms)
    unknown: str | None = None
    k = 0
    while pending and unknown is None:
        for name, t in list(pending.items()):
            found = _at_depth(model, solver, lassos, t, k, deadline)
            if isinstance(found, PropertyResult):
                found = replace(found, engine=engine)
            if isinstance(found, str):
                unknown = f"Z3 answered unknown ({found}) at depth {k}"
                break
            if found is not None:
                out[name] = found
                del pending[name]
        if k >= depth or unknown is not None or not pending:
            break
        solver.add(u.step(k))
        k += 1
    for name, t in pending.items():
        why = unknown or f"no fair lasso of at most {depth} steps"
        out[name] = PropertyResult(name, "property", INCONCLUSIVE, t.info.span.line,
                                   reason=why, engine=engine)  # fmt: skip
    return [out[p.name] for p in props]


def _at_depth(
    model: CompiledModel, solver: Unrolled, lassos: _Lassos, t: PropertyTerms, k: int,
    deadline: Deadline,
) -> PropertyResult | str | None:  # fmt: skip
    """The violation of `t` that ends at depth k, if any; a string when Z3 gave up."""
    u = lassos.u
    err = t.error(u.state(k))
    if not z3.is_false(err):
        answer, m = solver.ask(err, deadline)
        if answer == "sat":
            return _unevaluable(model, t, _states(solver, u, m, k))
        if answer != "unsat":
            return answer
    if t.shape == "always":
        bad = _or([z3.Not(t.holds(b, 0, u.state(k))) for b in t.bindings])
        answer, m = solver.ask(bad, deadline)
        if answer == "sat":
            return _reported(model, t, _states(solver, u, m, k), -1)
        return None if answer == "unsat" else answer
    answer, m = solver.ask(_and(lassos.stop(k), broken(t, u, k, None)), deadline)
    if answer == "sat":
        return _reported(model, t, _states(solver, u, m, k), k)
    if answer != "unsat":
        return answer
    if k == 0:
        return None
    loop = z3.Int(f"_loop_{t.info.name}_{k}")
    answer, m = solver.ask(_and(lassos.loop(k, loop), broken(t, u, k, loop)), deadline)
    if answer == "sat":
        return _reported(model, t, _states(solver, u, m, k), solver.value(m, loop))
    return None if answer == "unsat" else answer


def _states(solver: Unrolled, u: Unrolling, m: Any, k: int) -> list[State]:
    """States 0..k in the Z3 model `m` that `solver` answered with."""
    return [tuple(solver.value(m, v) for v in u.state(i)) for i in range(k + 1)]


def _reported(
    model: CompiledModel, t: PropertyTerms, states: list[State], loop: int
) -> PropertyResult:
    """The entry for a lasso (loop -1: a path to a state breaking `always P`), confirmed on the
    compiled model and replayed."""
    info = t.info
    notes: list[str] = []
    if loop < 0:
        hit = next((label for label, preds in info.instances if not preds[0](states[-1])), None)
        if hit is None:
            raise LassoError(f"{info.name}: the last state does not break it; this is a kcheck bug")
        notes += [f"for {hit}"] if hit else []
        trace = named(model, replay_path(model, states))
        return PropertyResult(info.name, "property", VIOLATED, info.span.line, trace,
                              "; ".join(notes) or None, engine="bmc")  # fmt: skip
    if not fair_loop(model, states, loop):
        raise LassoError(f"{info.name}: the lasso is not a fair loop; this is a kcheck bug")
    for label, preds in info.instances:
        where = violation(info.shape, preds, states, loop)
        if where is None:
            continue
        notes += [f"for {label}"] if label else []
        if info.shape == "leads_to":
            notes.append(f"its left side holds at step {where}, its right side never after")
        steps = replay_path(model, states)
        waiting: tuple[str, ...] = ()
        if loop == len(states) - 1:
            acts = {a for a, _, _ in model.labelled_successors(states[-1])}
            waiting = tuple(sorted({model.actions[a].label for a in acts}))
        trace = _lasso_trace(model, steps, loop, waiting)
        return PropertyResult(info.name, "property", VIOLATED, info.span.line, trace,
                              "; ".join(notes) or None, engine="bmc")  # fmt: skip
    raise LassoError(f"{info.name}: the lasso does not break it; this is a kcheck bug")


def _lasso_trace(
    model: CompiledModel, steps: list[Step], loop: int, waiting: tuple[str, ...]
) -> Trace:
    return name_objects(Trace(tuple(steps), loop, waiting), [k.name for k in model.layout.kinds])


def named(model: CompiledModel, steps: list[Step]) -> Trace:
    return name_objects(Trace(tuple(steps)), [k.name for k in model.layout.kinds])


def replay_path(model: CompiledModel, path: list[State]) -> list[Step]:
    """The trace of `path`, each step found among the evaluator's own successors (as BMC's
    paths are; bmc.py imports this module, so it is not imported from there)."""
    decode = model.layout.decode
    if path[0] not in model.initial():
        raise LassoError("the first state of a lasso is not an initial state; this is a kcheck bug")
    steps = [Step(None, {}, decode(path[0]))]
    for i, (cur, target) in enumerate(pairwise(path)):
        found = next(((a, g) for a, g, t in model.labelled_successors(cur) if t == target), None)
        if found is None:
            raise LassoError(f"replay found no step {i + 1} of a lasso; this is a kcheck bug")
        aid, args = found
        info = model.actions[aid]
        steps.append(
            Step(info.label, model.describe_args(aid, args), decode(target), line=info.span.line)
        )
    return steps


def _unevaluable(model: CompiledModel, t: PropertyTerms, states: list[State]) -> PropertyResult:
    """A formula of the property cannot be evaluated in the last state: a violation."""
    info = t.info
    last = states[-1]
    for n, (label, preds) in enumerate(info.instances):
        careful = info.careful[n] if n < len(info.careful) else preds
        why = _error(preds, last)
        if why is None:
            continue
        why = _error(careful, last) or why
        reason = f"cannot be evaluated in the last state: {why}"
        if label:
            reason = f"for {label}; {reason}"
        trace = named(model, replay_path(model, states))
        return PropertyResult(info.name, "property", VIOLATED, info.span.line, trace, reason,
                              engine="bmc")  # fmt: skip
    raise LassoError(f"{info.name}: Z3 says it cannot be evaluated, the compiled model can")


def _error(preds: Sequence[Any], s: State) -> str | None:
    try:
        for p in preds:
            p(s)
    except StepError as err:
        return err.message
    return None
