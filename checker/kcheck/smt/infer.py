"""The Houdini fixpoint of invariant inference (spec/smt.md, "Invariant inference"): given a
model whose candidate lemmas are declared `lemma` (with names starting CANDIDATE), find the
largest set of them that, together with the model's invariants, is inductive (1-induction,
every candidate's step case assuming all of them): ask Z3 for a step from a state where all
hold to one where one fails, drop the candidates that fail there, and again until none does.
An invariant of the model that fails there is not proved and is left out of what is assumed
(its counterexample to induction is kept for the report). Then, from the unsat cores of the
step cases over a tracking literal per candidate, the few candidates the proof of the
invariants and of "no step fails" uses, closed under what their own step cases use.

The result is only advice: engines/infer.py proves the model with the lemmas it picks through
the ordinary k-induction engine, whose verdict is the one reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import z3  # type: ignore[import-untyped]

from kcheck.lang import ast
from kcheck.lang.symbols import Symbols
from kcheck.model.ir import CompiledModel
from kcheck.smt.describe import describe_cti, describe_failure
from kcheck.smt.encode import Encoder
from kcheck.smt.prover import Goal, Prover
from kcheck.smt.solver import Deadline, check, new_solver
from kcheck.smt.system import Unrolling
from kcheck.smt.terms import Term
from kcheck.smt.wellformed import well_formed
from kcheck.trace import Step, Trace, name_objects

CANDIDATE = "inferred_"


@dataclass
class Houdini:
    """What the fixpoint found: the candidates the proof uses, the invariants it proves, and
    for each invariant (or "bound") it could not prove, a counterexample to induction."""

    used: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # every candidate that survived
    proved: list[str] = field(default_factory=list)
    open: dict[str, str] = field(default_factory=dict)  # name -> its counterexample, in words
    # name -> its counterexample to induction: the state where all hold, the step, the state
    # it breaks (for "bound": the state and the step that fails there)
    cti: dict[str, Trace] = field(default_factory=dict)
    leaned_on: set[str] = field(default_factory=set)  # proved invariants another proof used
    unknown: str = ""  # why Z3 could not answer, when it could not
    out_of_time: bool = False  # the deadline, not Z3's resource limit, cut a query short


def houdini(model: CompiledModel, symbols: Symbols, inits: list[Any], timeout_s: float) -> Houdini:
    """Run the fixpoint on `model` (its invariants and its CANDIDATE lemmas)."""
    deadline = Deadline(timeout_s)
    enc = Encoder(model, symbols, False)
    out = Houdini()
    try:
        return _fixpoint(model, symbols, inits, deadline, enc, out)
    finally:
        out.out_of_time = deadline.remaining() <= 0


def _fixpoint(
    model: CompiledModel,
    symbols: Symbols,
    inits: list[Any],
    deadline: Deadline,
    enc: Encoder,
    out: Houdini,
) -> Houdini:
    # well-formedness, proved as the induction engine proves it, then assumed
    prover = Prover(model, enc, lambda st: _one_of(st, inits), deadline)

    def ill_formed(u: Unrolling, i: int) -> Term:
        return z3.Not(well_formed(model.layout, u.state(i), enc.sets.bits))

    wf = prover.prove(Goal("@well-formed", ill_formed, fact=True), 1).status == "proved"
    path = Unrolling(enc, "h")
    solver = new_solver()
    # minimal cores name few candidates, so the greedy pass below has few to try (on
    # deployment_rollout 27 CPU seconds in all instead of 74, 5 lemmas instead of 6)
    solver.set("core.minimize", True)
    for j in (0, 1):
        if wf:
            solver.add(z3.Not(ill_formed(path, j)))
    solver.add(path.step(0))
    fixed: dict[str, ast.Invariant] = {}
    cands: dict[str, ast.Invariant] = {}
    for inv in symbols.invariants:
        (cands if inv.name.startswith(CANDIDATE) or inv.lemma else fixed)[inv.name] = inv
    bad0 = {n: enc.violation(i, path.state(0)) for n, i in (fixed | cands).items()}
    bad1 = {n: enc.violation(i, path.state(1)) for n, i in (fixed | cands).items()}
    lit = {n: z3.Bool(f"_track_{n}") for n in fixed | cands}
    for n in lit:  # each assumed in the first state only while its literal is
        solver.add(z3.Implies(lit[n], z3.Not(bad0[n])))
    alive = set(fixed) | set(cands)
    while True:
        goal = z3.Or(*[bad1[n] for n in sorted(alive)]) if alive else z3.BoolVal(False)
        answer, m = check(solver, goal, deadline, [lit[n] for n in sorted(alive)])
        if answer == "unsat":
            break
        if answer != "sat":
            out.unknown = f"Z3 answered unknown ({answer})"
            return out
        broken = {n for n in alive if z3.is_true(m.eval(bad1[n], model_completion=True))}
        for n in broken & set(fixed):
            out.open[n] = describe_cti(model, path, m, 1)
            out.cti[n] = _cti(model, symbols, path, m)
        alive -= broken
    # "no step fails", assuming every survivor in the state it is taken from
    bound_lits = [lit[n] for n in sorted(alive)]
    at1 = [z3.Implies(lit[n], z3.Not(bad1[n])) for n in sorted(alive)]
    answer, m, core = _check(solver, z3.And(*at1, path.fail(1)), deadline, bound_lits, lit)
    cores: list[set[str]] = []
    if answer == "sat":
        out.open["bound"] = describe_failure(model, path, m, 1)
        out.cti["bound"] = _failure(model, symbols, path, m)
    elif answer == "unsat":
        cores.append(core)
    else:
        out.unknown = f"Z3 answered unknown ({answer})"
        return out
    out.kept = sorted(alive & set(cands))
    out.proved = sorted(alive & set(fixed))
    # the candidates the proof uses: those in the cores of the invariants' step case and of
    # the bound's, closed under the cores of their own step cases
    used: set[str] = set()
    goals = set(out.proved)
    while True:
        if goals:
            g = z3.Or(*[bad1[n] for n in sorted(goals)])
            answer, _, core = _check(solver, g, deadline, [lit[n] for n in sorted(alive)], lit)
            if answer != "unsat":
                out.unknown = f"Z3 answered unknown ({answer}) finding the lemmas used"
                return out
            cores.append(core)
        new = set().union(*cores) & set(cands) - used if cores else set()
        cores = []
        if not new:
            break
        used |= new
        goals = new

    # unsat cores are not minimal: drop each used candidate whose removal keeps the rest,
    # with the proved invariants, inductive and "no step fails" proved (greedy, one pass);
    # when it may go, the cores of that check name what the rest needs, and if those alone
    # pass the same checks every other candidate goes at once (one query per candidate made
    # the pass the most of a run on models with many candidates used)
    def proves(trial: set[str]) -> set[str] | None:
        """The names in the cores when `trial` is inductive and "no step fails" is proved
        assuming it, else None."""
        lits = [lit[n] for n in sorted(trial)]
        g = z3.Or(*[bad1[n] for n in sorted(trial)]) if trial else z3.BoolVal(False)
        answer, _, core = _check(solver, g, deadline, lits, lit)
        if answer != "unsat":
            return None
        if "bound" not in out.open:
            at = [z3.Not(bad1[n]) for n in sorted(trial)]
            answer, _, more = _check(solver, z3.And(*at, path.fail(1)), deadline, lits, lit)
            if answer != "unsat":
                return None
            core |= more
        return core

    keep = set(used)
    for c in sorted(used):
        if c not in keep:
            continue
        named = proves((keep - {c}) | set(out.proved))
        if named is None:
            continue
        keep = keep - {c}
        needed = keep & named
        if needed != keep and proves(needed | set(out.proved)) is not None:
            keep = needed
    out.used = sorted(keep)
    # the model's invariants other proofs lean on: the final k-induction assumes lemmas, not
    # invariants (except jointly), so these are restated as lemmas (engines/infer.py)
    lits = [lit[n] for n in sorted(keep | set(out.proved))]
    goals_of = [(g, bad1[g]) for g in out.proved]
    if "bound" not in out.open:
        at = [z3.Not(bad1[n]) for n in sorted(keep | set(out.proved))]
        goals_of.append(("bound", z3.And(*at, path.fail(1))))
    for g, bad in goals_of:
        answer, _, core = _check(solver, bad, deadline, lits, lit)
        if answer == "unsat":
            out.leaned_on |= (core & set(out.proved)) - {g}
    return out


def _renamed(kinds: list[str], symbols: Symbols) -> list[str]:
    """The kinds whose objects a counterexample to induction shows under display names: not
    the ordered ones, whose slot number is what `K[i]` reads (the state is arbitrary, so
    renumbering its objects in order would show `Revision[3]` as another object)."""
    return [k for k in kinds if not symbols.kinds[k].ordered]


def _cti(model: CompiledModel, symbols: Symbols, path: Unrolling, m: Any) -> Trace:
    """States 0 and 1 of a step-case model and the step between them, as a trace."""
    s0, s1 = path.concrete(m, 1)
    aid, args = path.taken(m, 0)
    info = model.actions[aid]
    decode = model.layout.decode
    steps = (
        Step(None, {}, decode(s0)),
        Step(info.label, model.describe_args(aid, args), decode(s1), line=info.span.line),
    )
    return name_objects(Trace(steps), _renamed([k.name for k in model.layout.kinds], symbols))


def _failure(model: CompiledModel, symbols: Symbols, path: Unrolling, m: Any) -> Trace:
    """State 1 of a step-case model and a step that fails there, as a trace."""
    s1 = path.concrete(m, 1)[1]
    aid, args = path.failing(m, 1)
    info = model.actions[aid]
    steps = (
        Step(None, {}, model.layout.decode(s1)),
        Step(info.label, model.describe_args(aid, args), None, error="the step fails",
             line=info.span.line),
    )  # fmt: skip
    return name_objects(Trace(steps), _renamed([k.name for k in model.layout.kinds], symbols))


def _check(
    solver: Any, goal: Term, deadline: Deadline, lits: list[Term], lit: dict[str, Term]
) -> tuple[str, Any, set[str]]:
    """solver.check's answer, its model, and the names whose literal is in the unsat core
    (read before the goal is retracted, which discards it)."""
    remaining = deadline.remaining()
    if remaining <= 0:
        return "timeout", None, set()
    solver.set("timeout", max(1, int(remaining * 1000)))
    solver.push()
    try:
        solver.add(goal)
        r = solver.check(*lits)
        if r == z3.sat:
            return "sat", solver.model(), set()
        if r == z3.unsat:
            names = {str(v): n for n, v in lit.items()}
            return "unsat", None, {names[str(c)] for c in solver.unsat_core() if str(c) in names}
        return str(solver.reason_unknown()), None, set()
    finally:
        solver.pop()


def _one_of(st: tuple[Term, ...], inits: list[Any]) -> Term:
    if not inits:
        return z3.BoolVal(False)
    return z3.Or(*[z3.And(*[v == x for v, x in zip(st, s, strict=True)]) for s in inits])
