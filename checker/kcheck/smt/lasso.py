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
depth with an answer gives a lasso of fewest steps. Once a depth's goals grow costly, the depths
left are asked at once, on a fresh solver, and depth by depth again only if that finds one
(`_none_deeper`). Every lasso is rebuilt as concrete states,
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

from kcheck.explore.budget import Stopped
from kcheck.lang.symbols import Symbols
from kcheck.model.ir import CompiledModel, State, StepError
from kcheck.result import INCONCLUSIVE, NOT_CHECKED, VIOLATED, PropertyResult
from kcheck.smt.encode import Encoder
from kcheck.smt.solver import AT_ONCE_UNITS, RLIMIT, Deadline, Duo, Unrolled, at_once_units
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
from kcheck.smt.terms import FALSE, Term, _and, _or
from kcheck.trace import Step, Trace, name_objects

NOT_ENCODED = (
    "a `forall` here must range over a kind, an enum or a constant range, with at most"
    " 256 bindings (spec/liveness.md)"
)


MARGIN_S = 2.0


class LassoError(RuntimeError):
    """Z3 produced a lasso the compiled model does not confirm: the encoding is wrong."""


class _Lassos:
    """The loop of a lasso as Booleans defined once per state, shared by every depth and every
    property (spec/smt.md, "BMC: fair lassos"): L_i, the loop starts at s_i; In_i, s_i is on
    the loop (start <= i); and per fairness constraint an accumulator over s_0 ... s_i (no step
    fails in the loop so far; a weakly fair action taken or disabled somewhere on it; a
    strongly fair one taken on it, or disabled everywhere on it). Each is a fresh Boolean
    asserted equal to its definition, so it constrains no state; what Z3 learns about them
    serves every later query. At depth k only the loop's closing (L_i implies s_i = s_k) is
    new, asserted under a literal of that depth."""

    def __init__(self, model: CompiledModel, u: Unrolling, solver: Unrolled | Duo) -> None:
        self.model = model
        self.u = u
        self.solver = solver
        self.fair = Fairness.of(model)
        self.start: list[Term] = []  # L_i
        self.inside: list[Term] = []  # In_i
        self._fair: list[list[Term]] = []  # the fairness accumulators at s_i
        self._ok: list[Term] = []  # every fairness constraint met on s_start ... s_i
        self._accs: dict[str, list[list[Term]]] = {}  # a property's accumulators (`broken`)
        self._close: dict[int, Term] = {}

    def _define(self, name: str, body: Term) -> Term:
        v = z3.Bool(name)
        self.solver.add(v == body)
        return v

    def en(self, i: int, a: int) -> Term:
        return enabled(self.u.instances(i), a)

    def took(self, i: int, a: int) -> Term:
        return taken(self.u.instances(i), self.u.state(i + 1), a)

    def stop(self, k: int) -> Term:
        return _and(stops(self.u.instances(k), self.fair), z3.Not(self.u.fail(k)))

    def extend(self, k: int) -> None:
        """Define the loop's Booleans for s_0 ... s_{k-1} (step k-1 must be unrolled)."""
        weak, strong = self.fair.weak, self.fair.strong
        # per accumulator: a conjunction over the loop (True) or a disjunction (False)
        conj = [True, *[False for _ in weak], *[c for _ in strong for c in (False, True)]]
        while len(self.start) < k:
            i = len(self.start)
            before = self.inside[i - 1] if i else FALSE
            at = z3.Bool(f"_lasso_start_{i}")
            self.solver.add(z3.Implies(at, z3.Not(before)))  # at most one start
            on = self._define(f"_lasso_in_{i}", _or([before, at]))
            self.start.append(at)
            self.inside.append(on)
            parts = [z3.Implies(on, z3.Not(self.u.fail(i)))]
            for a in weak:
                parts.append(_and(on, _or([self.took(i, a), z3.Not(self.en(i, a))])))
            for a in strong:
                parts.append(_and(on, self.took(i, a)))
                parts.append(z3.Implies(on, z3.Not(self.en(i, a))))
            prev = self._fair[i - 1] if i else None
            row = []
            for n, part in enumerate(parts):
                if prev is not None:
                    part = _and(prev[n], part) if conj[n] else _or([prev[n], part])
                row.append(self._define(f"_lasso_fair_{i}_{n}", part))
            self._fair.append(row)
            ok = row[: 1 + len(weak)]
            ok += [_or(row[j : j + 2]) for j in range(1 + len(weak), len(row), 2)]
            self._ok.append(_and(*ok))

    def close(self, k: int) -> Term:
        """A literal that, asserted, makes s_0 ... s_k a fair loop back to the start (k >= 1)."""
        if k not in self._close:
            self.extend(k)
            s = self.u.state
            lit = z3.Bool(f"_lasso_closes_{k}")
            back = [z3.Implies(self.start[j], _same(s(j), s(k))) for j in range(k)]
            self.solver.add(z3.Implies(lit, _and(self.inside[k - 1], self._ok[k - 1], *back)))
            self._close[k] = lit
        return self._close[k]

    def loop_start(self, m: Any, k: int) -> int:
        return next(i for i in range(k) if z3.is_true(m.eval(self.start[i], model_completion=True)))

    def broken(self, t: PropertyTerms, k: int) -> Term:
        """The property fails on the loop closed at s_k, through accumulators over s_0 ...
        s_{k-1} defined once per state: `eventually always P`, P false in some state of the
        loop; `always eventually P`, P false in all of them (per binding); `P leads_to Q`, per
        binding P at some s_m and Q false from s_m on (T) and on the whole loop (Lq)."""
        s = self.u.state
        name = t.info.name
        rows = self._accs.setdefault(name, [])
        while len(rows) < k:
            i = len(rows)
            prev = rows[i - 1] if i else None
            on = self.inside[i]
            cur: list[Term] = []
            for n, b in enumerate(t.bindings):
                tag = f"_lasso_{name}_{i}_{n}"
                if t.shape == "eventually always":
                    part = _and(on, z3.Not(t.holds(b, 0, s(i))))
                    cur.append(self._define(tag, _or([prev[n], part]) if prev else part))
                elif t.shape == "always eventually":
                    part = z3.Implies(on, z3.Not(t.holds(b, 0, s(i))))
                    cur.append(self._define(tag, _and(prev[n], part) if prev else part))
                else:
                    no_q = z3.Not(t.holds(b, 1, s(i)))
                    trig = _or([prev[2 * n], t.holds(b, 0, s(i))]) if prev else t.holds(b, 0, s(i))
                    cur.append(self._define(tag + "_t", _and(trig, no_q)))
                    lq = z3.Implies(on, no_q)
                    cur.append(self._define(tag + "_q", _and(prev[2 * n + 1], lq) if prev else lq))
            rows.append(cur)
        last = rows[k - 1]
        if t.shape == "leads_to":
            return _or([_and(last[2 * n], last[2 * n + 1]) for n in range(len(t.bindings))])
        return _or(list(last))


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
    stopped: str | None = None,
) -> list[PropertyResult]:
    """An entry for each selected temporal property: violated with a fair lasso (or a path,
    for `always P` and for a formula that cannot be evaluated) of at most `depth` steps,
    else inconclusive or not checked. `stopped`: the run was stopped before this search (its
    reason), so none is made. Stopped during it, the lassos found so far are kept."""
    props = selected(model, names, invariants)
    if not props:
        return []
    if stopped is not None:
        why = f"not searched: stopped at {stopped}"
        return [PropertyResult(p.name, "property", INCONCLUSIVE, p.span.line, reason=why,
                               engine=engine) for p in props]  # fmt: skip
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
    # each goal under an assumption literal so that learned clauses are kept (bmc.py's
    # solver), over integers or bit-vectors, whichever Z3 answers faster on this model
    solver = Duo(Unrolled(bitvec=False), Unrolled())
    lassos = _Lassos(model, u, solver)
    if inits:
        solver.add(_or([_same(u.state(0), s) for s in inits]))
    pending = dict(terms)
    unknown: str | None = None
    at_once = False  # the depths left were asked at once (and a lasso may end there)
    k = 0
    try:
        while pending and unknown is None:
            found, gave_up = _at_depth(model, solver, lassos, pending, k, deadline)
            for name, entry in found.items():
                out[name] = replace(entry, engine=engine)
                del pending[name]
            if gave_up is not None:
                unknown = f"Z3 answered unknown ({gave_up}) at depth {k}"
            if k >= depth or unknown is not None or not pending:
                break
            if not at_once and max(solver.spent) >= AT_ONCE_UNITS:
                at_once = True
                units = at_once_units(max(solver.spent), depth - k)
                if _none_deeper(solver, lassos, pending, k, depth, deadline, units) == "unsat":
                    break  # no lasso of at most `depth` steps: each pending one is inconclusive
                # else the search goes on depth by depth, which finds the fewest steps
            solver.depth_done(k)
            solver.add(u.step(k))
            k += 1
    except Stopped as stop:  # the run's limit or ^C, raised into the step under way: once
        unknown = f"stopped at {stop.reason} at depth {k}"
    for name, t in pending.items():
        why = unknown or f"no fair lasso of at most {depth} steps"
        out[name] = PropertyResult(name, "property", INCONCLUSIVE, t.info.span.line,
                                   reason=why, engine=engine)  # fmt: skip
    return [out[p.name] for p in props]


STAGES = ("error", "state", "loop")


def _at_depth(
    model: CompiledModel, solver: Unrolled | Duo, lassos: _Lassos, pending: dict[str, PropertyTerms],
    k: int, deadline: Deadline,
) -> tuple[dict[str, PropertyResult], str | None]:  # fmt: skip
    """The violations of the pending properties that end at depth k, and why Z3 gave up (None
    if it did not). Per property the goals are asked in the order of STAGES (a formula that
    cannot be evaluated in s_k; for `always P` a path to a state where P is false, else a
    lasso that stops in s_k; a lasso that loops back from s_k), the first satisfiable one
    answering it. Each stage first asks the disjunction of the properties' goals: when that
    is unsatisfiable, so is each goal, and one query stands for several (it is satisfiable
    at most once per property, which is then answered)."""
    out: dict[str, PropertyResult] = {}
    for stage in STAGES:
        goals = {n: _goal(stage, lassos, t, k) for n, t in pending.items() if n not in out}
        goals = {n: g for n, g in goals.items() if not z3.is_false(g)}
        if len(goals) > 1:
            answer, _ = solver.ask(_or(list(goals.values())), deadline)
            if answer == "unsat":
                continue
            if answer != "sat":
                return out, answer
        for name, goal in goals.items():
            answer, m = solver.ask(goal, deadline)
            if answer == "sat":
                out[name] = _answer(model, solver, lassos, pending[name], stage, k, m)
            elif answer != "unsat":
                return out, answer
    return out, None


def _none_deeper(
    solver: Duo, lassos: _Lassos, pending: dict[str, PropertyTerms], k: int, depth: int,
    deadline: Deadline, units: int = RLIMIT,
) -> str:  # fmt: skip
    """Whether a goal of a pending property ends at some depth in k+1 ... depth (`unsat`: none
    does), in one query on a fresh solver: what the per-depth solver holds (the path to s_k and
    the loop's Booleans), the steps after s_k and the disjunction of every stage's goal at each
    of those depths. Z3 preprocesses such a query as a whole and refutes it several times faster
    than the per-depth queries together (spec/smt.md, "BMC: fair lassos"). A goal at depth j
    needs only the steps before s_j: each step after s_k is taken or, once the path has ended,
    s_i+1 repeats s_i (more_i says which), so a lasso that stops in s_j, where no step may be
    possible, still counts."""
    u = lassos.u
    more = [z3.Bool(f"_lasso_more_{i}") for i in range(depth)]  # step i is taken (i >= k)
    path = len(solver.kept.asserted)  # then the loop's Booleans, over the states after s_k
    # the path to s_k as a solver over bit-vectors holds it, already translated (`fork`)
    bv = next((s for s in solver.solvers if s.bitvec), None)
    fresh = bv.fork() if bv is not None else None
    goals: list[Term] = []
    for j in range(k + 1, depth + 1):
        for stage in STAGES:
            for t in pending.values():
                g = _goal(stage, lassos, t, j)  # defines the loop's Booleans up to s_j
                if not z3.is_false(g):
                    goals.append(_and(more[j - 1], g))
    # bit-vectors where exact; each variable's interval is read off the formula that bounds it,
    # so the steps go in before the Booleans that read the states after s_k
    if fresh is None:  # translated now, where exact
        fresh = Unrolled()
        for f in solver.kept.asserted[:path]:
            fresh.add(f)
    for i in range(k, depth):
        fresh.add(_or([_and(more[i], u.step(i)), _and(z3.Not(more[i]), u.idle(i))]))
        if i > k:
            fresh.add(z3.Implies(more[i], more[i - 1]))
    for f in solver.kept.asserted[path:]:
        fresh.add(f)
    fresh.add(_or(goals))
    if not fresh.bitvec:
        return f"not asked: over integers ({fresh.why_integers})"  # as in smt/bmc.py
    # at most half the time left: should it not answer, the search depth by depth has the rest
    return fresh.check_once(Deadline(deadline.remaining() / 2), units)


def _goal(stage: str, lassos: _Lassos, t: PropertyTerms, k: int) -> Term:
    u = lassos.u
    if stage == "error":
        return t.error(u.state(k))
    if stage == "state":
        if t.shape == "always":
            return _or([z3.Not(t.holds(b, 0, u.state(k))) for b in t.bindings])
        return _and(lassos.stop(k), broken(t, u, k, None))
    if t.shape == "always" or k == 0:
        return FALSE
    return _and(lassos.close(k), lassos.broken(t, k))


def _answer(
    model: CompiledModel, solver: Unrolled | Duo, lassos: _Lassos, t: PropertyTerms, stage: str,
    k: int, m: Any,
) -> PropertyResult:  # fmt: skip
    states = _states(solver, lassos.u, m, k)
    if stage == "error":
        return _unevaluable(model, t, states)
    if stage == "state":
        return _reported(model, t, states, -1 if t.shape == "always" else k)
    return _reported(model, t, states, lassos.loop_start(m, k))


def _states(solver: Unrolled | Duo, u: Unrolling, m: Any, k: int) -> list[State]:
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
