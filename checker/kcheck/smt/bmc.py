"""Bounded model checking of invariants with Z3 (spec/smt.md).

Unrolls the transition relation of encode.py from the concrete initial states, one step at a
time, and asks at every depth k whether a selected invariant can fail in the k-th state. The
first depth that is satisfiable gives a shortest counterexample, as the explicit engine's
breadth-first search does. Once a depth's queries grow costly, whether anything pending holds
at some depth left is asked once, on a fresh solver, and depth by depth again only if so
(`_none_deeper`). Every trace is rebuilt from the Z3 model as concrete states and
replayed through `CompiledModel.labelled_successors`; a step the evaluator cannot take is an
internal error (ReplayError), never a reported trace.

BMC never says `holds`: "no violation up to depth N" is `inconclusive`, and so is anything Z3
answers with `unknown` (a timeout or the resource limit).

In a model with time it also looks for a timelock, as the explicit search does (spec/smt.md,
"Timelocks"): a state of depth <= N with no step at all is the failed built-in check
`time_passes`, its trace replayed and its last state checked to have no step; finding none, it
says so in a note, as the explicit search lists no entry for a model without one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any

import z3  # type: ignore[import-untyped]

from kcheck.explore.budget import Stopped
from kcheck.explore.timelock import timelock_result
from kcheck.lang.symbols import Symbols
from kcheck.model.bounds import explain_bound
from kcheck.model.ir import CompiledModel, State, StepError
from kcheck.result import INCONCLUSIVE, VIOLATED, CheckResult, PropertyResult, Stats
from kcheck.smt.encode import Encoder, Unsupported
from kcheck.smt.lasso import temporal_bmc
from kcheck.smt.solver import (
    AT_ONCE_UNITS,
    RLIMIT,
    Deadline,
    Unrolled,
    at_once_units,
    resources,
)
from kcheck.smt.system import idle, transition
from kcheck.smt.temporal import time_stops
from kcheck.smt.terms import Instance, Term, _and, _or
from kcheck.trace import Step, Trace, name_objects

__all__ = ["ReplayError", "Unsupported", "bmc"]


class ReplayError(RuntimeError):
    """Z3 produced a path the compiled model cannot take: the encoding is wrong."""


def bmc(
    model: CompiledModel,
    symbols: Symbols,
    depth: int,
    invariants: Sequence[str] | None = None,
    timeout_s: float = 60.0,
    properties: Sequence[str] | None = None,
    bitvec: bool = True,
    timelocks: bool = False,
    encoder: Callable[[CompiledModel, Symbols], Encoder] = Encoder,
) -> CheckResult:
    """Look for a violation of each selected invariant (None: all) in at most `depth` steps,
    and a fair lasso of each selected temporal property (None: all, unless invariants were
    named); with `timelocks` (a timed model, without --allow-timelocks), for a state where
    time stops too. `encoder` builds the invariants' encoder (tests vary it). Raises
    Unsupported, before solving, when the model uses a construct not encoded."""
    t0 = time.monotonic()
    enc = encoder(model, symbols)
    by_name = {inv.name: inv for inv in symbols.invariants}
    names = list(invariants) if invariants is not None else [i.name for i in symbols.invariants]
    selected = [by_name[n] for n in names]
    for inv in selected:
        enc.check_invariant(inv)
    enc.instances(enc.fresh_state("probe"))  # refuses unsupported actions before solving
    stats = Stats()
    results: dict[str, PropertyResult] = {}
    bound: PropertyResult | None = None
    unknown: str | None = None

    try:
        inits = model.initial()
    except StepError as err:
        step = Step("init", {}, None, err.message, err.line)
        bound = PropertyResult(
            f"bound: {err.code} in init",
            "bound",
            VIOLATED,
            err.line,
            Trace((step,)),
            explain_bound(model, err),
        )
        inits = []

    inits = one_per_orbit(model, inits)
    states: list[tuple[Term, ...]] = [enc.fresh_state("s0")]
    deadline = Deadline(timeout_s)
    solver = Unrolled(bitvec)
    if inits:
        solver.add(
            z3.Or(*[z3.And(*[v == x for v, x in zip(states[0], s, strict=True)]) for s in inits])
        )
    else:
        solver.add(z3.BoolVal(False))

    def values(m: Any) -> list[State]:
        """The states' values in a Z3 model, as the explicit engine's tuples."""
        return [tuple(solver.value(m, v) for v in st) for st in states]

    pending = list(selected)
    look = timelocks  # until a state with no step is found
    lock: PropertyResult | None = None
    looked = -1  # the depth up to which no state has been found without a step
    at_once = False  # the depths left were asked at once (and something was found there)
    k = 0
    stopped: str | None = None  # the run's limit or ^C, raised into the step under way: once
    try:
        while True:
            cur = states[k]
            units = resources(solver.solver)
            instances: list[Instance] | None = None
            for inv in list(pending):
                answer, m = solver.ask(enc.violation(inv, cur), deadline)
                if answer == "sat":
                    path = values(m)
                    trace = named(model, replay_path(model, path))
                    confirm_violation(model, [inv.name], path[-1])
                    results[inv.name] = PropertyResult(
                        inv.name, "invariant", VIOLATED, inv.span.line, trace
                    )
                    pending.remove(inv)
                elif answer != "unsat":
                    unknown = f"Z3 answered unknown ({answer}) at depth {k}"
                    break
            if look and unknown is None:
                instances = enc.instances(cur)
                answer, m = solver.ask(time_stops(instances, len(model.actions)), deadline)
                if answer == "sat":
                    lock, look = timelock_entry(model, values(m)), False
                elif answer == "unsat":
                    looked = k
                else:
                    unknown = f"Z3 answered unknown ({answer}) at depth {k}"
            done = not pending and not look and bound is not None
            if unknown is not None or k >= depth or done:
                break
            if instances is None:
                instances = enc.instances(cur)
            nxt = enc.fresh_state(f"s{k + 1}")
            step, fail = transition(instances, cur, nxt, f"s{k}")
            if bound is None and not z3.is_false(fail):
                answer, m = solver.ask(fail, deadline)
                if answer == "sat":
                    bound = bound_entry(model, values(m))
                elif answer != "unsat":
                    unknown = f"Z3 answered unknown ({answer}) at depth {k}"
                    break
            if not pending and not look and bound is not None:
                break
            units = resources(solver.solver) - units  # what this depth's queries took
            if not at_once and not look and solver.bitvec and units >= AT_ONCE_UNITS:
                at_once = True
                path, budget = [*states, nxt], at_once_units(units, depth - k)
                answer = _none_deeper(enc, solver, path, pending, bound is None, k, depth, deadline,
                                      budget)  # fmt: skip
                if answer == "unsat":
                    stats.depth = depth  # nothing pending breaks, nor a step fails, up to `depth`
                    break
                # else the search goes on depth by depth, which finds the fewest steps
            solver.add(step)
            states.append(nxt)
            k += 1
            stats.depth = k
    except Stopped as stop:
        stopped = stop.reason
        unknown = f"stopped at {stop.reason} at depth {k}"

    stats.seconds = time.monotonic() - t0
    out: list[PropertyResult] = []
    for inv in selected:
        if inv.name in results:
            out.append(results[inv.name])
            continue
        reason = unknown or f"no violation up to depth {depth}"
        if bound is not None and unknown is None:
            reason += f" (a step left the model's bounds: {bound.name}; see its entry)"
        out.append(PropertyResult(inv.name, "invariant", INCONCLUSIVE, inv.span.line, None, reason))
    # temporal properties: fair lassos, in the time the invariants left (smt/lasso.py)
    out += temporal_bmc(model, symbols, depth, properties, invariants, deadline, stopped=stopped)
    if bound is not None:
        out.append(bound)
    notes = [f"bounded model checking to depth {depth}: no claim beyond it"]
    if lock is not None:
        out.append(lock)
    elif timelocks:  # as the explicit search, no entry without a timelock: a note says how far
        notes.append(
            f"no timelock (a state where time stops) up to depth {looked}"
            if looked >= 0
            else f"timelocks were not looked for: {unknown}"
        )
    return CheckResult(model.name, "bmc", stats, out, complete=False,
                       limit=f"depth {depth}", notes=notes)  # fmt: skip


def _none_deeper(
    enc: Encoder, solver: Unrolled, path: list[tuple[Term, ...]], pending: Sequence[Any],
    bound_open: bool, k: int, depth: int, deadline: Deadline, units: int = RLIMIT,
) -> str:  # fmt: skip
    """Whether a pending invariant breaks in a state s_k+1 ... s_depth, or (`bound_open`) a step
    fails in s_k+1 ... s_depth-1 (`unsat`: nothing does), in one query on a fresh solver: what
    `solver` holds (the path to s_k; `path` has s_k+1 too), the steps after s_k and the
    disjunction of those goals. Z3 preprocesses such a query as a whole, which the assumption
    literals of the per-depth solver turn off (spec/smt.md, "Search"). A goal in s_j needs only
    the steps before it: each step after s_k is taken or, once the path has ended, idle."""
    if not solver.bitvec:
        # Z3 does not stop such a query over integers at its timeout: scheduler_plugins' ran
        # 420 s past a 15 s one. Over bit-vectors it stops on time
        return f"not asked: over integers ({solver.why_integers})"
    states = list(path)
    while len(states) <= depth:
        states.append(enc.fresh_state(f"s{len(states)}"))
    fresh = solver.fork()
    more = [z3.Bool(f"_bmc_more_{i}") for i in range(depth)]  # step i is taken (i >= k)
    goals: list[Term] = []
    for i in range(k, depth):
        cur, nxt, tag = states[i], states[i + 1], f"s{i}"
        step, fail = transition(enc.instances(cur), cur, nxt, tag)
        fresh.add(_or([_and(more[i], step), _and(z3.Not(more[i]), idle(cur, nxt, tag))]))
        if i > k:
            fresh.add(z3.Implies(more[i], more[i - 1]))
            if bound_open and not z3.is_false(fail):
                goals.append(_and(more[i - 1], fail))
        goals += [_and(more[i], enc.violation(inv, nxt)) for inv in pending]
    fresh.add(_or(goals))
    if not fresh.bitvec:  # the steps after s_k cannot be translated exactly
        return f"not asked: over integers ({fresh.why_integers})"
    # at most half the time left: should it not answer, the search depth by depth has the rest
    return fresh.check_once(Deadline(deadline.remaining() / 2), units)


def one_per_orbit(model: CompiledModel, inits: Sequence[State]) -> list[State]:
    """Symmetry breaking: the first initial state of each class of initial states that differ
    only by a permutation of the slots of a symmetric kind. A path from any initial state is a
    permutation of a path of the same length from the one kept, and invariants cannot tell
    permuted states apart (the explicit engine's symmetry rests on the same two facts), so
    verdicts and shortest lengths are unchanged; the one kept is an initial state itself, so
    its trace replays."""
    canon = model.canonicalize
    if canon is None:
        return list(inits)
    kept: dict[State, State] = {}
    for s in inits:
        kept.setdefault(canon(s), s)
    return list(kept.values())


def confirm_violation(model: CompiledModel, names: Sequence[str], last: State) -> None:
    """A counterexample's last state must break one of the invariants `names` in the compiled
    model too (false, or an error evaluating it): a solver's model is never reported
    unchecked. Names that are not the model's invariants (facts) are only replayed."""
    infos = [i for i in model.invariants if i.name in names]
    for info in infos:
        try:
            if not info.holds(last):
                return
        except StepError:
            return
    if infos:
        raise ReplayError(
            f"bmc: the counterexample's last state satisfies {', '.join(names)}; "
            "this is a kcheck bug"
        )


def named(model: CompiledModel, steps: list[Step]) -> Trace:
    """The replayed steps as a trace, objects under their display names (as every engine's)."""
    return name_objects(Trace(tuple(steps)), [k.name for k in model.layout.kinds])


def replay_path(model: CompiledModel, path: list[State]) -> list[Step]:
    """The trace of `path`, each step found among the evaluator's own successors."""
    decode = model.layout.decode
    if path[0] not in model.initial():
        raise ReplayError("bmc: the first state is not an initial state; this is a kcheck bug")
    steps = [Step(None, {}, decode(path[0]))]
    for i, (cur, target) in enumerate(pairwise(path)):
        found = next(((a, g) for a, g, t in model.labelled_successors(cur) if t == target), None)
        if found is None:
            raise ReplayError(f"bmc: replay found no step {i + 1}; this is a kcheck bug")
        aid, args = found
        info = model.actions[aid]
        steps.append(
            Step(info.label, model.describe_args(aid, args), decode(target), line=info.span.line)
        )
    return steps


def timelock_entry(model: CompiledModel, path: list[State]) -> PropertyResult:
    """The failed check `time_passes` (explore/timelock.py) for a path whose last state has no
    step at all, replayed; a step possible there is an encoding bug (ReplayError)."""
    trace = named(model, replay_path(model, path))
    if any(True for outcomes in model.action_outcomes for _ in outcomes(path[-1])):
        raise ReplayError("bmc: a step is possible where the encoding says time stops; "
                          "this is a kcheck bug")  # fmt: skip
    return timelock_result(model, trace, path[-1])


def bound_entry(model: CompiledModel, path: list[State]) -> PropertyResult:
    """The bound entry for a step that raises from the last state of `path`, replayed."""
    steps = replay_path(model, path)
    for outcomes in model.action_outcomes:
        for aid, args, t in outcomes(path[-1]):
            if isinstance(t, StepError):
                info = model.actions[aid]
                steps.append(
                    Step(info.label, model.describe_args(aid, args), None,
                         error=f"{t.code}: {t.message}", line=t.line)
                )  # fmt: skip
                return PropertyResult(
                    f"bound: {t.code} in {info.label}", "bound", VIOLATED, t.line,
                    named(model, steps), explain_bound(model, t),
                )  # fmt: skip
    raise ReplayError("bmc: no step fails where the encoding says one does; this is a kcheck bug")
