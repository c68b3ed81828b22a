"""Inference directed at the stopping fact of a temporal property (spec/smt.md, "Lemmas for the
stopping fact"): a proof of `eventually always P`, `always eventually P` or `P leads_to Q`
needs, besides ruling out fair loops, that no reachable state where no fair action is enabled
breaks it. k-induction seldom proves that alone: a bad stopping state is often reached, in the
step case, from a state nothing rules out. Here

- `anchored` adds candidates of a shape the general grammar (candidates.py) lacks, which such
  a state usually breaks: an object in some condition is referred to by one in another
  (`forall x in Node: not x.ready implies (count y in Pod where y.node == x and y.phase ==
  Running) >= 1`: a node failed only while it ran a pod, and that pod is still there);
- `stop_lemmas` takes the candidates that survived the Houdini fixpoint (jointly 1-inductive
  with the invariants it proved) and asks Z3 for a well-formed stopping state where they all
  hold and the property is broken: unsat means they exclude every such state, and the unsat
  core, closed under the cores of the candidates' own step cases, names the few that do;
  sat gives that state, which the report shows as what no inferred lemma excludes.

The result is only advice, as Houdini's: engines/infer.py proves the property again by the
ordinary k-induction engine on the model with the lemmas picked, which proves each lemma before
it assumes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import z3  # type: ignore[import-untyped]

from kcheck.lang import ast
from kcheck.lang.symbols import Symbols
from kcheck.lang.types import TInt, TRef, TSet
from kcheck.model.ir import CompiledModel
from kcheck.smt.atoms import MAX_CONST, _atoms
from kcheck.smt.candidates import _count_terms
from kcheck.smt.describe import show_state
from kcheck.smt.encode import Encoder
from kcheck.smt.liveness import _stop_bad
from kcheck.smt.solver import Deadline, new_solver
from kcheck.smt.system import Unrolling
from kcheck.smt.temporal import Fairness, property_terms
from kcheck.smt.terms import Term
from kcheck.smt.wellformed import well_formed

# the open fact, as the induction engine words it (smt/liveness.py's temporal_results)
STOP_FACT = "no reachable state where no fair action is enabled breaks it"


def anchored(sym: Symbols) -> list[str]:
    """`forall x in K: A implies (count y in L where y.r == x [and B]) >= 1` for each reference
    field r of a kind L to another kind K, each atom A of K and each atom B of L (or none); and
    `T + v <= c`, `T + v >= c` for each count term T and int var v (a ghost counter and the
    objects still to be counted: `really_failed + (count o in Pod where o.phase == Running)`),
    the count terms including the objects whose enum set field holds a member."""
    return list(dict.fromkeys([*_anchored(sym), *_sums(sym)]))


def _sums(sym: Symbols) -> Iterator[str]:
    ints = [v.name for v in sym.vars.values() if isinstance(v.type, TInt)]
    if not ints:
        return
    terms = list(_count_terms(sym))
    for kind in sym.kinds.values():
        for f in kind.fields:
            if isinstance(f.type, TSet) and f.type.elem in sym.enums:
                for m in sym.enums[f.type.elem]:
                    terms.append(f"(count o in {kind.name} where {m} in o.{f.name})")
    for t in terms:
        for v in ints:
            for c in range(MAX_CONST + 1):
                yield f"{t} + {v} <= {c}"
                yield f"{t} + {v} >= {c}"


def _anchored(sym: Symbols) -> Iterator[str]:
    for kind in sym.kinds.values():
        heads = [a for _, a in _atoms(kind, sym, "x")]
        for other in sym.kinds.values():
            if other.name == kind.name:
                continue
            for r in other.fields:
                if not (isinstance(r.type, TRef) and r.type.kind == kind.name):
                    continue
                base = f"y.{r.name} == x"
                wheres = [base] + [f"{base} and {b}" for _, b in _atoms(other, sym, "y")]
                for a in heads:
                    for w in wheres:
                        count = f"(count y in {other.name} where {w})"
                        yield f"forall x in {kind.name}: {a} implies {count} >= 1"


@dataclass
class Picked:
    """The lemma names (of the model `stop_lemmas` was given) that exclude the bad stopping
    states of the properties in `proved`, closed under what their own step cases use; for
    each property they do not settle, a bad stopping state where every one holds, in words."""

    names: list[str] = field(default_factory=list)
    proved: list[str] = field(default_factory=list)
    open: dict[str, str] = field(default_factory=dict)
    unknown: str = ""


def stop_lemmas(
    model: CompiledModel, symbols: Symbols, names: list[str], timeout_s: float, trusted: set[str]
) -> Picked:
    """For the temporal properties `names` of `model`, the invariants and lemmas among
    `trusted` (the Houdini survivors and the invariants it proved: jointly 1-inductive) that
    exclude every stopping state that breaks them; no other is assumed."""
    deadline = Deadline(timeout_s)
    enc = Encoder(model, symbols, False)
    out = Picked()
    path = Unrolling(enc, "t")
    solver = new_solver()
    solver.set("core.minimize", True)
    for j in (0, 1):
        st = path.state(j)
        solver.add(well_formed(model.layout, st, enc.sets.bits), enc.within_sizes(st))
    invs: dict[str, ast.Invariant] = {i.name: i for i in symbols.invariants if i.name in trusted}
    bad0 = {n: enc.violation(i, path.state(0)) for n, i in invs.items()}
    lit = {n: z3.Bool(f"_stop_track_{n}") for n in invs}
    for n in invs:
        solver.add(z3.Implies(lit[n], z3.Not(bad0[n])))
    lits = [lit[n] for n in sorted(invs)]
    fair = Fairness.of(model)
    needed: set[str] = set()
    for info in model.properties:
        if info.name not in names:
            continue
        t = property_terms(enc, symbols, info)
        if t is None or t.shape == "always":
            continue
        answer, m, core = _check(solver, _stop_bad(t, fair)(path, 0), deadline, lits, lit)
        if answer == "unsat":
            needed |= core
            out.proved.append(info.name)
        elif answer == "sat":
            st = path.concrete(m, 0)[0]
            out.open[info.name] = show_state(model.layout.decode(st))
        else:
            out.unknown = f"Z3 answered unknown ({answer})"
    # what the needed ones' own step cases use, and so on (they are jointly 1-inductive, so
    # every such query is unsat)
    solver.add(path.step(0))
    bad1 = {n: enc.violation(i, path.state(1)) for n, i in invs.items()}
    goals, used = set(needed), set(needed)
    while goals:
        g = z3.Or(*[bad1[n] for n in sorted(goals)])
        answer, _, core = _check(solver, g, deadline, lits, lit)
        if answer != "unsat":
            out.unknown = f"Z3 answered {answer} closing the lemmas the stopping fact needs"
            return Picked(open=out.open, unknown=out.unknown)
        goals = core - used
        used |= core
    out.names = sorted(used)
    return out


def _check(
    solver: Any, goal: Term, deadline: Deadline, lits: list[Term], lit: dict[str, Term]
) -> tuple[str, Any, set[str]]:
    """The answer, its model, and the names whose literal is in the unsat core."""
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
