"""k-induction proofs of invariants with Z3 (spec/smt.md, "k-induction").

For k = 1, 2, ... up to a limit, and for each goal (an invariant, a lemma, or "no step leaves the
model's bounds"):
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
from dataclasses import dataclass, replace
from typing import Any

import z3  # type: ignore[import-untyped]

from kcheck.lang.symbols import Symbols
from kcheck.model.ir import CompiledModel, State, StepError
from kcheck.result import HOLDS, INCONCLUSIVE, VIOLATED, CheckResult, PropertyResult, Stats
from kcheck.smt.bmc import bound_entry, named, replay_path
from kcheck.smt.describe import describe_cti, describe_failure
from kcheck.smt.encode import Encoder, Term
from kcheck.smt.solver import Deadline, check, new_solver
from kcheck.smt.system import Unrolling
from kcheck.smt.wellformed import well_formed
from kcheck.trace import Step, Trace

MAX_K = 6
ENGINE = "induction"

Bad = Callable[[Unrolling, int], Term]  # the goal fails in state i of an unrolling


@dataclass(frozen=True)
class Goal:
    name: str
    bad: Bad


@dataclass(frozen=True)
class Outcome:
    status: str  # "proved", "violated", "open" (not inductive up to the limit) or "unknown"
    k: int
    trace: Trace | None = None
    reason: str = ""
    entry: PropertyResult | None = None  # the bound entry, for the "no step fails" goal
    assuming: tuple[str, ...] = ()  # the lemmas the step case assumed when it was proved


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

    def violated(self, goal: Goal, m: Any, d: int, max_k: int, bound_goal: bool) -> Outcome:
        """The outcome for a base case that breaks `goal` in `d` steps (Z3 model `m`)."""
        path = self.base.concrete(m, d)
        if bound_goal:
            entry = replace(bound_entry(self.model, path), engine=ENGINE)
            return Outcome("violated", d + 1, entry.trace, entry=entry)
        return Outcome("violated", d + 1, _trace(self.model, path))

    def where(self, m: Any) -> str:
        """What a counterexample to induction depends on besides its states (params)."""
        return ""

    # ---- one goal
    def prove(self, goal: Goal, max_k: int, bound_goal: bool = False) -> Outcome:
        cti: tuple[Any, int] | None = None
        for k in range(1, max_k + 1):
            self.deepest = max(self.deepest, k)
            d = k - 1
            lits = self._base_upto(d)
            answer, m = check(self.base_solver, goal.bad(self.base, d), self.deadline, lits)
            if answer == "sat":
                return self.violated(goal, m, d, max_k, bound_goal)
            if answer != "unsat":
                return Outcome("unknown", k, reason=f"Z3 answered unknown ({answer}) at k = {k}")
            lits = self._path_upto(k)
            holds = [z3.Not(goal.bad(self.path, i)) for i in range(k)]
            answer, m = check(
                self.step_solver, z3.And(*holds, goal.bad(self.path, k)), self.deadline, lits
            )
            if answer == "unsat":
                return Outcome("proved", k, assuming=tuple(self.lemmas))
            if answer != "sat":
                return Outcome("unknown", k, reason=f"Z3 answered unknown ({answer}) at k = {k}")
            cti = (m, k)
        assert cti is not None
        m, k = cti
        hint = (describe_failure if bound_goal else describe_cti)(self.model, self.path, m, k)
        hint = self.where(m) + hint
        return Outcome(
            "open",
            max_k,
            reason=f"not inductive for k <= {max_k} (no violation in {max_k - 1} steps); "
            f"counterexample to induction: {hint}",
        )


def induction(
    model: CompiledModel,
    symbols: Symbols,
    max_k: int = MAX_K,
    invariants: Sequence[str] | None = None,
    timeout_s: float = 600.0,
    symbolic_params: bool = False,
) -> CheckResult:
    """Prove each selected invariant (None: all) for every depth, or refute it, or say why not;
    with `symbolic_params`, for every value of the params in their ranges. Raises Unsupported,
    before solving, when the model uses a construct not encoded."""
    t0 = time.monotonic()
    enc = Encoder(model, symbols, symbolic_params)
    for inv in symbols.invariants:
        enc.check_invariant(inv)
    enc.instances(enc.fresh_state("probe"))  # refuses unsupported actions before solving
    notes = [f"k-induction with k up to {max_k}"]
    prover: Prover
    init_entry: PropertyResult | None = None
    if symbolic_params:
        from kcheck.smt.params import SymbolicProver, describe_ranges

        prover = SymbolicProver(model, enc, Deadline(timeout_s))
        notes.append(describe_ranges(symbols))
        init_entry = prover.init_failure(max_k - 1)
    else:
        try:
            inits = model.initial()
        except StepError as err:
            return _init_fails(model, symbols, err, invariants, t0)
        prover = Prover(model, enc, lambda st: _one_of(st, inits), Deadline(timeout_s))

    def ill_formed(u: Unrolling, i: int) -> Term:
        return z3.Not(well_formed(model.layout, u.state(i), enc.sets.bits))

    if prover.prove(Goal("well-formed", ill_formed), 1).status == "proved":
        prover.assume(ill_formed)
    else:
        notes.append("well-formedness of states was not proved, so not assumed")

    def bad_of(inv: Any) -> Bad:
        return lambda u, i: enc.violation(inv, u.state(i))

    outcomes: dict[str, Outcome] = {}
    lemmas = [inv for inv in symbols.invariants if inv.lemma]
    progress = True
    while progress:
        progress = False
        for lemma in lemmas:
            if lemma.name in outcomes and outcomes[lemma.name].status != "open":
                continue
            out = prover.prove(Goal(lemma.name, bad_of(lemma)), max_k)
            outcomes[lemma.name] = out
            if out.status == "proved":
                prover.assume(bad_of(lemma), lemma.name)
                progress = True

    bound = prover.prove(Goal("bound", lambda u, i: u.fail(i)), max_k, bound_goal=True)
    if init_entry is not None:
        bound = Outcome("violated", 0, init_entry.trace, entry=init_entry)
    selected = list(invariants) if invariants is not None else [i.name for i in symbols.invariants]
    by_name = {inv.name: inv for inv in symbols.invariants}
    results: list[PropertyResult] = []
    for name in selected:
        inv = by_name[name]
        if name not in outcomes:
            outcomes[name] = prover.prove(Goal(name, bad_of(inv)), max_k)
        out = outcomes[name]
        entry = _result(name, "invariant", inv.span.line, out)
        if symbolic_params and entry.status == HOLDS:
            entry = replace(entry, reason=f"{entry.reason} for every value of the params")
        if entry.status == HOLDS and bound.entry is not None:
            # as the explicit engine says: what follows a failing step is not the model's
            why = f"{entry.reason} for the states within bounds, but a step left the bounds"
            entry = replace(entry, status=INCONCLUSIVE, reason=why)
        results.append(entry)
    if bound.status == "proved":
        notes.append(f"proved that no step leaves the model's bounds (k = {bound.k})")
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
    decided = all(p.status != INCONCLUSIVE for p in results)
    return CheckResult(model.name, ENGINE, stats, results, complete=decided,
                       limit=None if decided else f"k {max_k}", notes=notes)  # fmt: skip


def _result(name: str, kind: str, line: int, out: Outcome) -> PropertyResult:
    if out.status == "proved":
        using = f", assuming lemmas {', '.join(out.assuming)}" if out.assuming else ""
        return PropertyResult(
            name, kind, HOLDS, line, None, f"proved (k = {out.k}{using})", engine=ENGINE
        )
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
) -> CheckResult:
    """`init` itself leaves the bounds: nothing to prove, as for the explicit engine."""
    step = Step(None, {}, None, error=f"{err.code}: {err.message}", line=err.line)
    names = list(invariants) if invariants is not None else [i.name for i in symbols.invariants]
    out = [
        PropertyResult(n, "invariant", INCONCLUSIVE, None, None, "init fails", engine=ENGINE)
        for n in names
    ]
    out.append(
        PropertyResult(
            f"bound: {err.code} in init", "bound", VIOLATED, err.line, Trace((step,)), err.message,
            engine=ENGINE,
        )
    )  # fmt: skip
    stats = Stats(seconds=time.monotonic() - t0)
    return CheckResult(model.name, ENGINE, stats, out, complete=False)


def _trace(model: CompiledModel, path: list[State]) -> Trace:
    return named(model, replay_path(model, path))


def _one_of(st: tuple[Term, ...], inits: list[State]) -> Term:
    if not inits:
        return z3.BoolVal(False)
    return z3.Or(*[z3.And(*[v == x for v, x in zip(st, s, strict=True)]) for s in inits])


def _differ(a: tuple[Term, ...], b: tuple[Term, ...]) -> Term:
    return z3.Or(*[x != y for x, y in zip(a, b, strict=True)])


def _lit(tag: str, i: int) -> Term:
    return z3.Bool(f"_{tag}{i}")
