"""Invariant inference by IC3/PDR (spec/smt.md, "Invariant inference: Spacer"): the model as
constrained Horn clauses over one relation Inv on states,

    Inv(s)  <- Init(s)
    Inv(s') <- Inv(s) and T(s, s')
    false   <- Inv(s) and Bad(s)

(T the step relation of system.py, Bad "a goal fails in s"), solved by Z3's fixedpoint engine
Spacer. Satisfiable clauses come with an interpretation of Inv: an inductive invariant that
rules every Bad state out. Spacer's answer is never taken on trust (it has had wrong answers,
Z3 issues #6716, #7730): the invariant, as a conjunction of clauses over one integer per
layout slot (`slot(i)`), is checked by three separate plain solvers (init implies it, one step
keeps it, it rules Bad out), and then narrowed, through unsat cores, to the clauses the proof
uses and checked again. Unsatisfiable clauses mean a Bad state is reachable: that is only a
claim here, confirmed (and given a replayed trace) by BMC in engines/infer.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import z3  # type: ignore[import-untyped]

from kcheck.smt.encode import Encoder
from kcheck.smt.solver import SEED, Deadline, check, new_solver
from kcheck.smt.system import Unrolling
from kcheck.smt.terms import Term
from kcheck.smt.wellformed import well_formed

SLOT = "_slot_"
StateBad = Callable[[Unrolling, int], Term]  # a goal fails in state i of an unrolling
Init = Callable[[tuple[Term, ...]], Term]
Fact = Callable[[tuple[Term, ...]], Term]  # a condition on a state


def slot(i: int) -> Term:
    """The integer that stands for layout slot i in an invariant's clauses."""
    return z3.Int(f"{SLOT}{i}")


@dataclass
class Chc:
    """What Spacer found. `proved`: `clauses` (over `slot(i)`) are an inductive invariant
    that rules every goal out, checked independently, and `used` the narrower set the proof
    rests on (also checked); `violated`: Spacer claims a Bad state `depth` steps from an
    initial one (to be confirmed); `rejected`: Spacer's invariant failed the independent check;
    `unknown`: Z3 could not tell."""

    status: str
    clauses: list[Term] = field(default_factory=list)
    used: list[Term] = field(default_factory=list)
    depth: int = 0
    reason: str = ""


def spacer(
    enc: Encoder, init: Init, bad: StateBad, timeout_s: float, fact: Fact | None = None
) -> Chc:
    """Solve the Horn clauses of the model `enc` encodes for the goals `bad` negates. `fact`,
    when given, must already be proved true in every reachable state (well-formedness): the
    clauses then only step from, and only look for Bad in, states where it holds, which makes
    Spacer's work much smaller; the invariant is then its clauses and the fact."""
    deadline = Deadline(timeout_s)
    width = enc.layout.width
    inv = z3.Function("Inv", *([z3.IntSort()] * width), z3.BoolSort())
    err = z3.Function("Err", z3.BoolSort())
    fp = z3.Fixedpoint()
    fp.set(engine="spacer")
    fp.set("spacer.random_seed", SEED)
    fp.set("timeout", max(1, int(deadline.remaining() * 1000)))
    fp.register_relation(inv, err)
    u = Unrolling(enc, "_chc")

    def given(v: Unrolling) -> Term:
        return fact(v.state(0)) if fact is not None else z3.BoolVal(True)

    x = [z3.Int(f"_chc_x{i}") for i in range(width)]
    y = [z3.Int(f"_chc_y{i}") for i in range(width)]
    # the encoder's states may be terms (a set slot is a sum over Bools): Inv takes plain
    # variables, tied to them by equations
    at0 = [a == b for a, b in zip(x, u.state(0), strict=True)]
    at1 = [a == b for a, b in zip(y, u.state(1), strict=True)]
    rules = [
        (inv(*x), [init(tuple(x))]),
        (inv(*y), [inv(*x), *at0, *at1, given(u), u.step(0)]),
        (err(), [inv(*x), *at0, given(u), bad(u, 0)]),
    ]
    for head, body in rules:
        fp.declare_var(*_constants(z3.And(*body)))
        fp.rule(head, body)
    try:
        answer = fp.query(err())
    except z3.Z3Exception as e:  # the timeout cancels it; it refuses some (non-linear) terms
        raw: Any = e.value
        msg = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
        if "canceled" in msg:
            return Chc("unknown", reason=f"Spacer ran out of time ({timeout_s:.0f} s)")
        first = msg.split("\n", 1)[0].replace(" in <null>:", "")
        if "Uninterpreted" in first:  # `/` or `%` by a state term: not linear arithmetic
            first += " (non-linear arithmetic, which Spacer does not solve)"
        return Chc("unknown", reason=f"Spacer failed: {first}")
    if answer == z3.sat:
        depth = max(0, len(fp.get_rules_along_trace()) - 2)
        return Chc("violated", depth=depth, reason=f"Spacer: a violation in {depth} steps")
    if answer != z3.unsat:
        return Chc("unknown", reason=f"Spacer answered unknown ({fp.reason_unknown()})")
    body = z3.substitute_vars(fp.get_cover_delta(-1, inv), *[slot(i) for i in range(width)])
    clauses = _conjuncts(body)
    why = independent_check(enc, init, bad, clauses, deadline, fact)
    if why is not None:
        return Chc("rejected", clauses, reason=f"Spacer's invariant failed the check: {why}")
    used = _used(enc, bad, clauses, deadline, fact)
    if used is not None and independent_check(enc, init, bad, used, deadline, fact) is None:
        return Chc("proved", clauses, used)
    return Chc("proved", clauses, clauses)


def independent_check(
    enc: Encoder,
    init: Init,
    bad: StateBad,
    clauses: Sequence[Term],
    deadline: Deadline,
    fact: Fact | None = None,
) -> str | None:
    """None when `clauses` are an inductive invariant that rules `bad` out, each of the three
    conditions checked unsat by its own fresh solver; else which condition failed. With
    `fact` (proved elsewhere to hold in every reachable state), the states a step starts from
    and the states checked against `bad` are those where it holds."""
    u = Unrolling(enc, "_ind")
    now, nxt = at(clauses, u.state(0)), at(clauses, u.state(1))
    if fact is not None:
        now = [*now, fact(u.state(0))]
    queries = [
        ("the initial states do not all satisfy it", init(u.state(0)), z3.Not(z3.And(*now))),
        ("a step does not keep it", z3.And(*now, u.step(0)), z3.Not(z3.And(*nxt))),
        ("it does not rule out every violation", z3.And(*now), bad(u, 0)),
    ]
    for what, given, goal in queries:
        solver = new_solver()
        solver.add(given)
        answer, _ = check(solver, goal, deadline)
        if answer != "unsat":
            return what if answer == "sat" else f"{what}? Z3 answered unknown ({answer})"
    return None


def well_formed_holds(enc: Encoder, init: Init, deadline: Deadline) -> bool:
    """Well-formedness (wellformed.py: every slot within its type, spent budgets within the
    budget, free slots zero) is 1-inductive from `init`, so true in every reachable state:
    each condition checked unsat by its own solver."""
    u = Unrolling(enc, "_wf")
    wf0 = well_formed(enc.layout, u.state(0), enc.sets.bits)
    wf1 = well_formed(enc.layout, u.state(1), enc.sets.bits)
    for given, goal in ((init(u.state(0)), z3.Not(wf0)), (z3.And(wf0, u.step(0)), z3.Not(wf1))):
        solver = new_solver()
        solver.add(given)
        if check(solver, goal, deadline)[0] != "unsat":
            return False
    return True


def at(clauses: Sequence[Term], state: Sequence[Term]) -> list[Term]:
    """`clauses` over the slots of `state`."""
    pairs = [(slot(i), v) for i, v in enumerate(state)]
    return [z3.substitute(c, *pairs) for c in clauses]


def _used(
    enc: Encoder, bad: StateBad, clauses: list[Term], deadline: Deadline, fact: Fact | None
) -> list[Term] | None:
    """The clauses the proof needs: those in the unsat core of "they rule Bad out", closed
    under the cores of "one step keeps them" (None when Z3 cannot say)."""
    u = Unrolling(enc, "_core")
    now, nxt = at(clauses, u.state(0)), at(clauses, u.state(1))
    lits = [z3.Bool(f"_clause_{i}") for i in range(len(clauses))]
    solver = new_solver()
    if fact is not None:
        solver.add(fact(u.state(0)))
    for lit, c in zip(lits, now, strict=True):
        solver.add(z3.Implies(lit, c))
    core = _core(solver, bad(u, 0), lits, deadline)  # no step yet: a state may have none
    if core is None:
        return None
    used = core
    solver.add(u.step(0))
    goal = z3.Not(z3.And(*[nxt[i] for i in sorted(used)])) if used else z3.BoolVal(False)
    while True:
        core = _core(solver, goal, lits, deadline)
        if core is None:
            return None
        if core <= used:
            return [clauses[i] for i in sorted(used)]
        used |= core
        goal = z3.Not(z3.And(*[nxt[i] for i in sorted(used)]))


def _core(solver: Any, goal: Term, lits: list[Term], deadline: Deadline) -> set[int] | None:
    remaining = deadline.remaining()
    if remaining <= 0:
        return None
    solver.set("timeout", max(1, int(remaining * 1000)))
    solver.push()
    try:
        solver.add(goal)
        if solver.check(*lits) != z3.unsat:
            return None
        index = {str(v): i for i, v in enumerate(lits)}
        return {index[str(c)] for c in solver.unsat_core()}
    finally:
        solver.pop()


def _conjuncts(t: Term) -> list[Term]:
    t = z3.simplify(t)
    if z3.is_and(t):
        return [c for a in t.children() for c in _conjuncts(a)]
    return [] if z3.is_true(t) else [t]


def _constants(t: Term) -> list[Term]:
    """The uninterpreted constants of `t`: the variables of a Horn clause."""
    seen: set[int] = set()
    out: dict[str, Term] = {}
    todo = [t]
    while todo:
        e = todo.pop()
        if e.get_id() in seen:
            continue
        seen.add(e.get_id())
        if z3.is_const(e) and e.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            out[str(e)] = e
        else:
            todo.extend(e.children())
    return list(out.values())
