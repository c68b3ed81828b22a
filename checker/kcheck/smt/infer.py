"""The Houdini fixpoint of invariant inference (spec/smt.md, "Invariant inference"): given a
model whose candidate lemmas are declared `lemma` (with names starting CANDIDATE), find the
largest set of them that, together with the model's invariants, is inductive (1-induction,
every candidate's step case assuming all of them): ask Z3 for a step from a state where all
hold to one where one fails, drop the candidates that fail there, and again until none does.
An invariant of the model that fails there is not proved and is left out of what is assumed
(its counterexample to induction is kept for the report). Then the few candidates the proof of
the invariants and of "no step fails" uses, from per-instance unsat cores (smt/choose.py).

Every query is one action instance's step (a set is inductive iff every instance keeps it), on
a fresh solver: each is small, and Z3 preprocesses a fresh solver's formula, where push/pop or
assumption literals put it in incremental mode (on scheduler_plugins the one query over all
steps got no answer in 1,200 s; split and fresh, the fixpoint takes 99 queries of 0.4-13 s).

The result is only advice: engines/infer.py proves the model with the lemmas it picks through
the ordinary k-induction engine, whose verdict is the one reported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import z3  # type: ignore[import-untyped]

from kcheck.lang.symbols import Symbols
from kcheck.model.ir import CompiledModel
from kcheck.smt.choose import Chooser, Unknown
from kcheck.smt.describe import describe_cti, describe_failure
from kcheck.smt.encode import Encoder
from kcheck.smt.frozen import frozen_slots
from kcheck.smt.prover import Goal, Prover
from kcheck.smt.solver import Deadline, check_core, check_fresh
from kcheck.smt.system import Unrolling, transition
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
    queries: int = 0  # Z3 queries asked
    choice: str = ""  # how the choice of `used` fell back, when it did


def houdini(
    model: CompiledModel,
    symbols: Symbols,
    inits: list[Any],
    timeout_s: float,
    split: bool = True,
) -> Houdini:
    """Run the fixpoint on `model` (its invariants and its CANDIDATE lemmas); `split`: one
    query per action instance (False: one query over every step, for tests to compare)."""
    deadline = Deadline(timeout_s)
    enc = Encoder(model, symbols, False)
    enc.pin(frozen_slots(enc, inits))  # what only init writes, as constants (smt/frozen.py)
    out = Houdini()
    try:
        return _Run(model, symbols, inits, deadline, enc, out, split).fixpoint()
    except Unknown as why:  # out of time before the first query
        out.unknown = str(why)
        return out
    finally:
        out.out_of_time = deadline.remaining() <= 0


def step_groups(path: Unrolling, split: bool) -> list[Term]:
    """Step 0 of `path` as a list of formulas whose disjunction is the step relation: one per
    action instance that can be taken (`split`), or the whole relation."""
    insts = [i for i in path.instances(0) if not all(z3.is_false(b.ok) for b in i.branches)]
    if not split:
        return [path.step(0)]
    s0, s1 = path.state(0), path.state(1)
    return [transition([inst], s0, s1, f"{path.prefix}0_{n}")[0] for n, inst in enumerate(insts)]


def step_writes(path: Unrolling, split: bool) -> list[set[int]]:
    """For each of `step_groups(path, split)`, the slots of the state some branch changes."""
    insts = [i for i in path.instances(0) if not all(z3.is_false(b.ok) for b in i.branches)]
    s0 = path.state(0)
    written = [
        {j for br in inst.branches if not z3.is_false(br.ok)
         for j, now in enumerate(s0) if not br.state[j].eq(now)}
        for inst in insts
    ]  # fmt: skip
    return written if split else [set().union(*written)]


class _Run(Chooser):
    """One fixpoint: the two states of the step case, each name's violation in each, and the
    queries."""

    def __init__(
        self,
        model: CompiledModel,
        symbols: Symbols,
        inits: list[Any],
        deadline: Deadline,
        enc: Encoder,
        out: Houdini,
        split: bool,
    ) -> None:
        self.model, self.symbols, self.deadline, self.out = model, symbols, deadline, out
        # well-formedness, proved as the induction engine proves it, then assumed
        prover = Prover(model, enc, lambda st: _one_of(st, inits), deadline)

        def ill_formed(u: Unrolling, i: int) -> Term:
            return z3.Not(well_formed(model.layout, u.state(i), enc.sets.bits))

        wf = prover.prove(Goal("@well-formed", ill_formed, fact=True), 1).status == "proved"
        self.path = path = Unrolling(enc, "h")
        self.base = [z3.Not(ill_formed(path, j)) for j in (0, 1)] if wf else []
        self.steps = step_groups(path, split)
        self.writes = step_writes(path, split)
        self.fixed: list[str] = []
        cands: list[str] = []
        for inv in symbols.invariants:
            (cands if inv.name.startswith(CANDIDATE) or inv.lemma else self.fixed).append(inv.name)
        self.cands = set(cands)
        # the order a counterexample picks in: the model's invariants (goals already), then
        # the candidates as numbered (the simpler families first)
        self.order = self.fixed + sorted(cands, key=_number)
        invs = {i.name: i for i in symbols.invariants}
        self.bad = [{}, {}]
        for n in self.order:  # thousands of candidates on a large model: seconds
            if deadline.remaining() <= 0:
                raise Unknown("ran out of time encoding the candidates")
            for j in (0, 1):
                self.bad[j][n] = enc.violation(invs[n], path.state(j))
        self.single = True  # "no step fails" needs no step before the state it fails in
        self.fail = path.fail(1)
        self.slots = {str(v): j for j, v in enumerate(path.state(1))}

    def ask(self, facts: Sequence[Term]) -> tuple[str, Any]:
        self.out.queries += 1
        answer, m = check_fresh([*self.base, *facts], self.deadline)
        if answer not in ("sat", "unsat"):
            self.out.unknown = f"Z3 answered unknown ({answer})"
            raise Unknown
        return answer, m

    def ask_core(self, facts: Sequence[Term], tracked: Sequence[tuple[str, Term]],
                 deadline: Deadline) -> list[str] | None:  # fmt: skip
        self.out.queries += 1
        answer, got = check_core([*self.base, *facts], tracked, deadline)
        if answer == "unsat":
            return list(got)
        if answer == "sat":
            return None
        raise Unknown("ran out of time" if deadline.remaining() <= 0 else
                      f"got no answer from Z3 ({answer})")  # fmt: skip

    def held(self, names: Sequence[str], j: int) -> list[Term]:
        return [z3.Not(self.bad[j][n]) for n in names]

    def fixpoint(self) -> Houdini:
        out = self.out
        try:
            alive = self._greatest()
            self._bound(alive)
            out.kept = sorted(set(alive) & self.cands)
            out.proved = [n for n in alive if n in self.fixed]
        except Unknown:
            return out
        chosen, out.choice = self.choose(alive, out.proved, "bound" not in out.open, self.deadline)
        used = set(chosen) | set(out.proved)  # the choice assumes every invariant proved
        out.used = sorted(used & self.cands)
        out.leaned_on = used - self.cands
        return out

    def _greatest(self) -> list[str]:
        """The largest inductive set: round-robin over the steps until each in a row keeps
        every survivor (a drop makes the steps asked before it due again)."""
        alive = list(self.order)
        i = quiet = 0
        while alive and quiet < len(self.steps):
            goal = z3.Or(*[self.bad[1][n] for n in alive])
            answer, m = self.ask([self.steps[i], *self.held(alive, 0), goal])
            if answer == "unsat":
                quiet, i = quiet + 1, (i + 1) % len(self.steps)
                continue
            broken = {n for n in alive if z3.is_true(m.eval(self.bad[1][n], True))}
            for n in broken & set(self.fixed):
                self.out.open[n] = describe_cti(self.model, self.path, m, 1)
                self.out.cti[n] = _cti(self.model, self.symbols, self.path, m)
            alive = [n for n in alive if n not in broken]
            quiet = 0
        return alive

    def _bound_cti(self, assumed: Sequence[str]) -> Any:
        """A model where `assumed` hold and a step fails (None: no step fails). First in a state
        alone, then after a step from a state where `assumed` hold too (self.single: whether
        the first sufficed for the survivors)."""
        if self.single:
            answer, m = self.ask([*self.held(assumed, 1), self.fail])
            return None if answer == "unsat" else m
        for step in self.steps:
            answer, m = self.ask([step, *self.held(assumed, 0), *self.held(assumed, 1), self.fail])
            if answer == "sat":
                return m
        return None

    def _bound(self, alive: list[str]) -> None:
        m = self._bound_cti(alive)
        if m is not None:
            self.single = False
            m = self._bound_cti(alive)
        if m is not None:
            self.out.open["bound"] = describe_failure(self.model, self.path, m, 1)
            self.out.cti["bound"] = _failure(self.model, self.symbols, self.path, m)


def _number(name: str) -> tuple[int, str]:
    m = re.search(r"(\d+)$", name)
    return (int(m[1]) if m else 0, name)


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


def _one_of(st: tuple[Term, ...], inits: list[Any]) -> Term:
    if not inits:
        return z3.BoolVal(False)
    return z3.Or(*[z3.And(*[v == x for v, x in zip(st, s, strict=True)]) for s in inits])
