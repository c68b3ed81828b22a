"""k-induction proofs of invariants with Z3 (spec/smt.md, "k-induction").

For k = 1, 2, ... up to a limit, and for each goal (an invariant, a lemma, "no step leaves the
model's bounds", or in a model with time "time always passes": no reachable state is a timelock,
spec/smt.md "Timelocks"):
- base case: no behaviour from the initial states of k - 1 steps breaks the goal (checked one
  depth at a time, so a failure here is a shortest counterexample, replayed like BMC's);
- step case: no path of k steps between distinct well-formed states keeps the goal in its first
  k states and breaks it in the last one.
Both together prove the goal for every depth. A step case still satisfiable at the limit gives
a counterexample to induction: a state where the goal holds and a step breaks it, unreachable
unless the goal fails after more steps than the base case covered.

What a step case may assume about its states is proved first, the same way: well-formedness
(wellformed.py), then every `lemma`, in rounds while one more gets proved. Each proved one is
asserted in every state of the step case from then on. Z3's `unknown` ends a goal as
inconclusive, never as proved.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import z3  # type: ignore[import-untyped]

from kcheck.explore.timelock import TIMELOCK
from kcheck.lang.symbols import Symbols
from kcheck.model.bounds import explain_bound
from kcheck.model.ir import CompiledModel, State, StepError
from kcheck.result import (
    HOLDS,
    INCONCLUSIVE,
    VIOLATED,
    CheckResult,
    Proof,
    PropertyResult,
    Stats,
)
from kcheck.smt.encode import Encoder
from kcheck.smt.frozen import describe_frozen, frozen_slots
from kcheck.smt.liveness import temporal_goals, temporal_results
from kcheck.smt.params import SymbolicProver, describe_ranges
from kcheck.smt.prover import ENGINE, Bad, Goal, Outcome, Prover
from kcheck.smt.refuse import temporal_not_checked
from kcheck.smt.solver import Deadline
from kcheck.smt.system import Unrolling
from kcheck.smt.temporal import PropertyTerms, time_stops
from kcheck.smt.terms import Term
from kcheck.smt.wellformed import well_formed
from kcheck.trace import Step, Trace

MAX_K = 6


def induction(
    model: CompiledModel,
    symbols: Symbols,
    max_k: int = MAX_K,
    invariants: Sequence[str] | None = None,
    timeout_s: float = 600.0,
    symbolic_params: bool = False,
    properties: Sequence[str] | None = None,
    encoder: Callable[[CompiledModel, Symbols, bool], Encoder] = Encoder,
    timelocks: bool = False,
) -> CheckResult:
    """Prove each selected invariant (None: all) for every depth, or refute it, or say why not;
    with `symbolic_params`, for every value of the params in their ranges. Each selected
    temporal property (None: all, unless invariants were named) is proved or refuted like
    them (smt/liveness.py); with `timelocks` (a timed model, without --allow-timelocks, and
    concrete params), that time always passes too. Raises Unsupported, before solving, when
    the model uses a construct not encoded."""
    t0 = time.monotonic()
    deadline = Deadline(timeout_s)  # from the start: the encoding counts in the run's time
    enc = encoder(model, symbols, symbolic_params)  # smt/sizes.py's for symbolic sizes
    for inv in symbols.invariants:
        enc.check_invariant(inv)
    enc.instances(enc.fresh_state("probe"))  # refuses unsupported actions before solving
    frozen = {} if symbolic_params else frozen_slots(enc, _initial_or_none(model))
    enc.pin(frozen)  # what only init writes, as constants (smt/frozen.py)
    unchecked: list[PropertyResult] = []
    tgoals: list[Goal] = []
    terms: dict[str, PropertyTerms | None] = {}
    if symbolic_params:
        unchecked = temporal_not_checked(model, properties, ENGINE, invariants)
    else:  # temporal properties (smt/liveness.py): their own goals, then their proofs
        tgoals, terms = temporal_goals(model, enc, symbols, properties, invariants)
        unchecked = [_init_fails_entry(model, name) for name in terms]
    notes = [f"k-induction with k up to {max_k}"]
    if frozen:
        notes.append(
            f"held as constants, as init sets them and no step writes them ({len(frozen)} "
            f"slots): {describe_frozen(model.layout, frozen)}"
        )
    prover: Prover
    init_entry: PropertyResult | None = None
    if symbolic_params:
        prover = SymbolicProver(model, enc, deadline)
        notes.append(describe_ranges(symbols))
        init_entry = prover.init_failure(max_k - 1)
    else:
        try:
            inits = model.initial()
        except StepError as err:
            return _init_fails(model, symbols, err, invariants, t0, unchecked)
        prover = Prover(model, enc, lambda st: _one_of(st, inits), deadline)

    def ill_formed(u: Unrolling, i: int) -> Term:
        st = u.state(i)
        return z3.Not(z3.And(well_formed(model.layout, st, enc.sets.bits), enc.within_sizes(st)))

    if prover.prove(Goal("@well-formed", ill_formed, fact=True), 1).status == "proved":
        prover.assume(ill_formed)
    else:
        notes.append("well-formedness of states was not proved, so not assumed")

    def bad_of(inv: Any) -> Bad:
        return lambda u, i: enc.violation(inv, u.state(i))

    selected = list(invariants) if invariants is not None else [i.name for i in symbols.invariants]
    by_name = {inv.name: inv for inv in symbols.invariants}
    # every lemma (proved ones help the others), "no step fails", the selected invariants
    goals = [Goal(i.name, bad_of(i), lemma=True) for i in symbols.invariants if i.lemma]
    goals.append(Goal("@bound", lambda u, i: u.fail(i), bound=True))
    goals += [Goal(n, bad_of(by_name[n])) for n in selected if not by_name[n].lemma]
    look = timelocks and not symbolic_params
    if look:
        actions = len(model.actions)
        goals.append(Goal(_TIME, lambda u, i: time_stops(u.instances(i), actions), timelock=True))
    goals += tgoals

    def joint(outcomes: dict[str, Outcome]) -> Goal | None:
        """The conjunction of every invariant of the model not refuted (the selected ones and
        the others): often inductive where no conjunct is alone."""
        members = [
            i for i in symbols.invariants
            if outcomes.get(i.name, Outcome("open", 0)).status != "violated"
        ]  # fmt: skip
        if len(members) < 2:
            return None
        bads = [bad_of(i) for i in members]

        def bad(u: Unrolling, i: int) -> Term:
            return z3.Or(*[b(u, i) for b in bads])

        names = tuple(i.name for i in members)
        return Goal("@jointly", bad, fact=True, members=names)

    outcomes = prover.prove_all(goals, max_k, joint)
    bound = outcomes["@bound"]
    if init_entry is not None:
        # an `init` that may fail and could not be shown to is not proved, not violated
        status = "violated" if init_entry.status == VIOLATED else "unknown"
        bound = Outcome(status, 0, init_entry.trace, entry=init_entry)
    bounds = {"proved": "proved", "violated": "violated"}.get(bound.status, "not proved")
    results: list[PropertyResult] = []
    for name in selected:
        inv = by_name[name]
        hit = bound.entry.name if bound.entry is not None else None
        entry = _result(name, "invariant", inv.span.line, outcomes[name], bounds, hit)
        if symbolic_params and entry.status == HOLDS:
            entry = replace(entry, reason=f"{entry.reason} for every value of the params")
        results.append(entry)
    if symbolic_params:
        results += unchecked
    else:
        facts = [
            bad_of(by_name[n]) for n, o in outcomes.items() if n in by_name and o.status == "proved"
        ]
        names = tuple(n for n, o in outcomes.items() if n in by_name and o.status == "proved")
        results += temporal_results(
            model, symbols, enc, terms, outcomes, ([*prover.assumed, *facts], names), bounds,
            prover.deadline, max_k,
            lambda name, line, out: _result(name, "property", line, out, bounds, bound.entry.name
                                            if bound.entry is not None else None),
        )  # fmt: skip
    if bound.status == "proved":
        notes.append(f"proved that no step leaves the model's bounds (k = {bound.k})")
    if look:
        results += _timelock_results(outcomes[_TIME], notes, bound.status == "proved")
    if bound.entry is not None:
        results.append(bound.entry)
    elif bound.status != "proved":
        results.append(
            PropertyResult(
                "bound", "bound", INCONCLUSIVE, None, None,
                "not proved that no step leaves the model's bounds: " + bound.reason,
                engine=ENGINE,
            )
        )  # fmt: skip
    stats = Stats(depth=prover.deepest, seconds=time.monotonic() - t0)
    decided = all(p.status in (HOLDS, VIOLATED) for p in results)
    open_ = any(p.status == INCONCLUSIVE for p in results)
    return CheckResult(model.name, ENGINE, stats, results, complete=decided,
                       limit=f"k {max_k}" if open_ else None, notes=notes)  # fmt: skip


_TIME = "@time passes"  # the goal; not a name an invariant can have


def _timelock_results(out: Outcome, notes: list[str], bounds: bool) -> list[PropertyResult]:
    """What induction says of timelocks: as the explicit search, an entry `time_passes` only
    when it is not shown that there is none (violated with a trace, or inconclusive), and a
    proof in a note. Without a proof that no step fails (`bounds`), the proof covers the
    states reached by steps that do not fail, as the explicit search's (the bound entry keeps
    such a run from holding)."""
    if out.status == "proved":
        within = "" if bounds else " reached within the model's bounds"
        notes.append(
            f"proved that time always passes: no state{within} is a timelock (k = {out.k})"
        )
        return []
    if out.entry is not None:
        return [out.entry]
    why = f"not proved that time always passes (no reachable state is a timelock): {out.reason}"
    return [PropertyResult(TIMELOCK, "timelock", INCONCLUSIVE, None, None, why, engine=ENGINE)]


def _result(
    name: str, kind: str, line: int, out: Outcome, bounds: str, hit: str | None = None
) -> PropertyResult:
    """The entry for an invariant. A proof covers the states reached by steps that stay within
    the model's bounds; as in the explicit engine, it is the model's (`holds`) only when it is
    proved that no step leaves them."""
    if out.status == "proved":
        proof = Proof(out.k, out.assuming, out.jointly, bounds)
        using = f", assuming lemmas {', '.join(out.assuming)}" if out.assuming else ""
        others = [n for n in out.jointly if n != name]
        using += f", jointly with {', '.join(others)}" if others else ""
        why = f"proved (k = {out.k}{using})"
        if bounds == "proved":
            return PropertyResult(name, kind, HOLDS, line, None, why, ENGINE, proof)
        tail = (
            "but it was not proved that no step leaves the bounds"
            if bounds != "violated"
            else f"but a step left the bounds ({hit})"
            if hit is not None
            else "but a step left the bounds"
        )
        why = f"{why} for the states within bounds, {tail}"
        return PropertyResult(name, kind, INCONCLUSIVE, line, None, why, ENGINE, proof)
    if out.status == "violated":
        return PropertyResult(
            name, kind, VIOLATED, line, out.trace, out.reason or None, engine=ENGINE
        )
    why = f"not proved: {out.reason}" if out.status == "open" else out.reason
    return PropertyResult(name, kind, INCONCLUSIVE, line, None, why, engine=ENGINE)


def _init_fails(
    model: CompiledModel,
    symbols: Symbols,
    err: StepError,
    invariants: Sequence[str] | None,
    t0: float,
    unchecked: list[PropertyResult],
) -> CheckResult:
    """`init` itself leaves the bounds: nothing to prove, as for the explicit engine."""
    step = Step("init", {}, None, err.message, err.line)
    names = list(invariants) if invariants is not None else [i.name for i in symbols.invariants]
    out = [
        PropertyResult(n, "invariant", INCONCLUSIVE, None, None, "init fails", engine=ENGINE)
        for n in names
    ]
    out += unchecked
    out.append(
        PropertyResult(
            f"bound: {err.code} in init", "bound", VIOLATED, err.line, Trace((step,)),
            explain_bound(model, err),
            engine=ENGINE,
        )
    )  # fmt: skip
    stats = Stats(seconds=time.monotonic() - t0)
    return CheckResult(model.name, ENGINE, stats, out, complete=False)


def _init_fails_entry(model: CompiledModel, name: str) -> PropertyResult:
    line = next(p.span.line for p in model.properties if p.name == name)
    return PropertyResult(name, "property", INCONCLUSIVE, line, None, "init fails", ENGINE)


def _initial_or_none(model: CompiledModel) -> list[State]:
    """The initial states, or none when `init` fails (reported on its own)."""
    try:
        return model.initial()
    except StepError:
        return []


def _one_of(st: tuple[Term, ...], inits: list[State]) -> Term:
    if not inits:
        return z3.BoolVal(False)
    return z3.Or(*[z3.And(*[v == x for v, x in zip(st, s, strict=True)]) for s in inits])
