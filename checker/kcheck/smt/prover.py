"""The k-induction prover (spec/smt.md, "k-induction"): for one goal (an invariant, a lemma,
"no step leaves the model's bounds", or "time always passes") at k = 1, 2, ...:
- base case: no behaviour from the initial states of k - 1 steps breaks the goal (checked one
  depth at a time, so a failure here is a shortest counterexample, replayed like BMC's);
- step case: no path of k steps between distinct well-formed states keeps the goal in its first
  k states and breaks it in the last one.
A proved goal may be assumed in every state of later step cases (`Prover.assume`). Z3's
`unknown` ends a goal as `unknown`, never as proved. induction.py drives it over a model's
goals; params.py's `SymbolicProver` extends it to symbolic params.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import z3  # type: ignore[import-untyped]

from kcheck.model.ir import CompiledModel, State
from kcheck.result import (
    PropertyResult,
)
from kcheck.smt.bmc import bound_entry, confirm_violation, named, replay_path, timelock_entry
from kcheck.smt.describe import describe_cti, describe_failure, describe_stop
from kcheck.smt.encode import Encoder
from kcheck.smt.solver import Deadline, check, new_solver
from kcheck.smt.system import Unrolling
from kcheck.smt.terms import Term
from kcheck.trace import Trace

ENGINE = "induction"

Bad = Callable[[Unrolling, int], Term]  # the goal fails in state i of an unrolling


@dataclass(frozen=True)
class Goal:
    name: str
    bad: Bad
    bound: bool = False  # "no step fails": a violation is the bound entry
    timelock: bool = False  # "time always passes": a violation is the `time_passes` entry
    lemma: bool = False  # assumed in the step case once proved
    fact: bool = False  # a fact wanted for the step case or the invariants' conjunction: a
    # violation of it is not reported (it only means "not proved")
    members: tuple[str, ...] = ()  # the invariants of a conjunction


@dataclass(frozen=True)
class Outcome:
    status: str  # "proved", "violated", "open" (not inductive at k) or "unknown"
    k: int
    trace: Trace | None = None
    reason: str = ""
    entry: PropertyResult | None = None  # the bound (timelock) entry of a bound (timelock) goal
    assuming: tuple[str, ...] = ()  # the lemmas the step case assumed when it was proved
    cti: Any = None  # for "open": the Z3 model of the step case (a counterexample to induction)
    jointly: tuple[str, ...] = ()  # proved as part of the conjunction of these invariants


class Prover:
    """The base-case and step-case solvers of one run, shared by every goal."""

    def __init__(
        self,
        model: CompiledModel,
        enc: Encoder,
        init: Callable[[tuple[Term, ...]], Term],
        deadline: Deadline,
    ) -> None:
        self.model = model
        self.enc = enc
        self.deadline = deadline
        self.base = Unrolling(enc, "b")
        self.path = Unrolling(enc, "p")
        self.base_solver = new_solver()
        self.base_solver.add(init(self.base.state(0)))
        self.step_solver = new_solver()
        # symbolic params stay within their ranges in both cases (none: True)
        self.base_solver.add(enc.param_ranges())
        self.step_solver.add(enc.param_ranges())
        self.base_depth = 0  # steps of the base unrolling asserted (under activation literals)
        self.path_len = 0  # states of the step-case path with their constraints asserted
        self.assumed: list[Bad] = []
        self.lemmas: list[str] = []  # the names of the assumed lemmas
        self.deepest = 0

    # ---- the two unrollings; a step is asserted under a literal so that a query at a
    # shallower depth leaves it out (a state with no successor must still count)
    def _base_upto(self, d: int) -> list[Term]:
        while self.base_depth < d:
            i = self.base_depth
            self.base_solver.add(z3.Implies(_lit("b", i), self.base.step(i)))
            self.base_depth += 1
        return [_lit("b", i) for i in range(d)]

    def _path_upto(self, k: int) -> list[Term]:
        while self.path_len <= k:
            j = self.path_len
            st = self.path.state(j)
            for bad in self.assumed:
                self.step_solver.add(z3.Not(bad(self.path, j)))
            if j > 0:
                self.step_solver.add(z3.Implies(_lit("p", j - 1), self.path.step(j - 1)))
                others = [_differ(self.path.state(i), st) for i in range(j)]
                self.step_solver.add(z3.Implies(_lit("d", j), z3.And(*others)))
            self.path_len += 1
        return [_lit("p", i) for i in range(k)] + [_lit("d", j) for j in range(1, k + 1)]

    def assume(self, bad: Bad, lemma: str | None = None) -> None:
        """From now on the step case assumes the goal `bad` negates, in every state."""
        self.assumed.append(bad)
        if lemma is not None:
            self.lemmas.append(lemma)
        for j in range(self.path_len):
            self.step_solver.add(z3.Not(bad(self.path, j)))

    def violated(self, goal: Goal, m: Any, d: int, max_k: int) -> Outcome:
        """The outcome for a base case that breaks `goal` in `d` steps (Z3 model `m`)."""
        if goal.fact:
            return Outcome("violated", d + 1)
        path = self.base.concrete(m, d)
        if goal.bound:
            entry = replace(bound_entry(self.model, path), engine=ENGINE)
            return Outcome("violated", d + 1, entry.trace, entry=entry)
        if goal.timelock:
            entry = replace(timelock_entry(self.model, path), engine=ENGINE)
            return Outcome("violated", d + 1, entry.trace, entry=entry)
        trace = _trace(self.model, path)
        confirm_violation(self.model, goal.members or [goal.name], path[-1])
        return Outcome("violated", d + 1, trace)

    def where(self, m: Any) -> str:
        """What a counterexample to induction depends on besides its states (params)."""
        return ""

    # ---- one goal at one k
    def attempt(self, goal: Goal, k: int, max_k: int, deadline: Deadline) -> Outcome:
        """The base case at depth k - 1 (the shallower ones passed before), then the step case
        at k, each query within `deadline`. Past the run's deadline, unknown at once: encoding
        the goal's queries (hundreds of lemmas) would only make the run later."""
        if self.deadline.remaining() <= 0:
            return Outcome("unknown", k, reason=f"out of time (the run's deadline) at k = {k}")
        self.deepest = max(self.deepest, k)
        d = k - 1
        lits = self._base_upto(d)
        answer, m = check(self.base_solver, goal.bad(self.base, d), deadline, lits)
        if answer == "sat":
            return self.violated(goal, m, d, max_k)
        if answer != "unsat":
            return Outcome("unknown", k, reason=f"Z3 answered unknown ({answer}) at k = {k}")
        lits = self._path_upto(k)
        holds = [z3.Not(goal.bad(self.path, i)) for i in range(k)]
        answer, m = check(self.step_solver, z3.And(*holds, goal.bad(self.path, k)), deadline, lits)
        if answer == "unsat":
            return Outcome("proved", k, assuming=tuple(self.lemmas))
        if answer != "sat":
            return Outcome("unknown", k, reason=f"Z3 answered unknown ({answer}) at k = {k}")
        return Outcome("open", k, cti=m)

    def prove(self, goal: Goal, max_k: int) -> Outcome:
        """One goal alone, k = 1, 2, ... (the well-formedness of states)."""
        return self.prove_all([goal], max_k)[goal.name]

    def prove_all(
        self,
        goals: Sequence[Goal],
        max_k: int,
        joint: Callable[[dict[str, Outcome]], Goal | None] | None = None,
    ) -> dict[str, Outcome]:
        """Every goal at k = 1, then every goal still open at k = 2, and so on, so that a goal
        that needs a deep k cannot starve another's proof at a shallow one; each attempt gets
        an equal share of the time left for its round. A lemma proved is assumed from then on,
        and the goals whose step case failed before it are tried again at the same k.
        `joint(outcomes)`, when it gives a goal (the conjunction of the invariants), is tried
        after each round's goals; a proof of it proves every conjunct, at that k."""
        done: dict[str, Outcome] = {}
        last: dict[str, tuple[Outcome, int]] = {}  # open at k, with how many facts assumed
        again = joint

        def record(g: Goal, out: Outcome) -> None:
            if out.status == "open":
                last[g.name] = (out, len(self.assumed))
                return
            done[g.name] = _after(out, last.get(g.name))
            if out.status == "proved" and g.lemma:
                self.assume(g.bad, g.name)

        for k in range(1, max_k + 1):
            deferred: list[Goal] = []  # out of their share of time, not of the run's
            while True:
                todo = [
                    g
                    for g in goals
                    if g.name not in done
                    and g not in deferred
                    and (g.name not in last or last[g.name][0].k < k
                         or last[g.name][1] < len(self.assumed))
                ]  # fmt: skip
                if not todo:
                    break
                for i, g in enumerate(todo):
                    share = self._share(len(todo) - i)
                    out = self.attempt(g, k, max_k, share)
                    if out.status == "unknown" and share.remaining() <= 0.1 < self.run_left():
                        deferred.append(g)
                        continue
                    record(g, out)
            # a goal that ran out of its share gets what the others left of this round's time
            for i, g in enumerate(deferred):
                record(g, self.attempt(g, k, max_k, self._share(len(deferred) - i)))
            together = joint(done) if joint is not None and last.keys() - done.keys() else None
            if together is not None:
                joint = None  # tried once per round until proved
                # a share like any goal's, so that it cannot starve the deeper rounds
                out = self.attempt(
                    together, k, max_k, self._share(1 + len(last.keys() - done.keys()))
                )
                if out.status != "proved":
                    joint = again
                else:
                    for name in together.members:  # each conjunct not already decided
                        if name in last and (name not in done or done[name].status == "unknown"):
                            done[name] = replace(out, jointly=together.members)
                    self.assume(together.bad)  # proved: every later step case may use it
                    k_again = [g for g in goals if g.name not in done]
                    for g in k_again:  # the remaining goals (the bound) at this k, with it
                        out = self.attempt(g, k, max_k, self._share(len(k_again)))
                        if out.status == "open":
                            last[g.name] = (out, len(self.assumed))
                        else:
                            done[g.name] = _after(out, last.get(g.name))
            if len(done) == len(goals):
                break
        for g in goals:
            if g.name not in done:
                out, _ = last[g.name]
                done[g.name] = replace(out, k=max_k, reason=self._open(g, out, max_k))
        return done

    def run_left(self) -> float:
        return self.deadline.remaining()

    def _share(self, attempts_left: int) -> Deadline:
        """An equal share of the run's remaining time for each attempt left in this round."""
        return Deadline(max(0.0, self.deadline.remaining()) / max(1, attempts_left))

    def _open(self, goal: Goal, out: Outcome, max_k: int) -> str:
        """Why `goal` is not proved up to `max_k`, with its counterexample to induction."""
        describe = (
            describe_failure if goal.bound else describe_stop if goal.timelock else describe_cti
        )
        hint = self.where(out.cti) + describe(self.model, self.path, out.cti, out.k)
        return (
            f"not inductive for k <= {max_k} (no violation in {max_k - 1} steps); "
            f"counterexample to induction: {hint}"
        )


def _after(out: Outcome, before: tuple[Outcome, int] | None) -> Outcome:
    """A goal's final outcome; an unknown after an open k also says how far it got."""
    if out.status != "unknown" or before is None:
        return out
    k = before[0].k
    return replace(out, reason=f"not inductive for k <= {k} (no violation in {k - 1} steps); "
                   f"then {out.reason}")  # fmt: skip


def _trace(model: CompiledModel, path: list[State]) -> Trace:
    return named(model, replay_path(model, path))


def _differ(a: tuple[Term, ...], b: tuple[Term, ...]) -> Term:
    return z3.Or(*[x != y for x, y in zip(a, b, strict=True)])


def _lit(tag: str, i: int) -> Term:
    return z3.Bool(f"_{tag}{i}")
