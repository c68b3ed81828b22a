"""Proofs of temporal properties under fairness (spec/smt.md, "Proving temporal properties"):
liveness to safety with a bound on simple paths, every query over the states where the proved
invariants and lemmas hold (a superset of the reachable ones).

A fair behaviour that breaks `eventually always P` (`always eventually P`, `P leads_to Q`)
either stops in a state where no fair action is enabled and P (P, Q) is false, or ends in a
loop. A loop takes no fault step (a fault spends its budget, which never comes back), so the
loops are those of the **fault-free** steps. Over them the checker runs a product with one flag
per *justice* signal, set when the signal is seen since the last *round*: a state where P is
false (for `eventually always`; for the other two every state of the loop must be in the region
where P, resp. Q, is false, so the signal is always on), and for each weakly fair action "taken
or disabled", for each strongly fair one "taken, or disabled for good" (a prophecy bit that,
once set, stays set and forbids the action being enabled). A round completes when every flag is
set; the flags then start again.

A fair violating loop exists exactly when the product has a closed walk with a completed round,
and then a *simple* cycle with one (the cycle through that round's step, of a decomposition of
the walk into simple cycles; its states, flags included, repeat, so every signal is seen on it).
So the property holds when, for some L,
  (C) no reachable state stops (no fair action enabled) and breaks it: proved by k-induction
      like an invariant, with the model's other goals;
  (B) no closed walk of the product of at most L steps completes a round;
  (A) no simple path of the product of L steps exists (the step case of k-induction for the
      goal "false"), so every simple cycle has at most L steps and (B) covered them all.
Both look only at paths that start with every flag clear: a simple cycle with a round, begun
just after the step that completes it, is one. When no fault-free step from a state where P
holds leads to one where it is false, a loop that breaks `eventually always P` never leaves the
region where P is false, which then bounds the unrolling as for `always eventually P`.
(B) is checked for L = 1, 2, ... and (A) after it; a walk found by (B) ends the attempt (the
property may still hold: the states need not be reachable). `leads_to` is proved in the region
where Q is false wherever it was triggered, a stronger claim, so a proof of it is sound.

Measures (smt/ranking.py, spec/smt.md "Measures") shrink the steps unrolled first: an int term
proved never to increase on a fault-free step between region states comes back to its value
round a loop, so it is kept on every step of one, and only steps that keep every measure are
unrolled. Then (H): a justice signal no such step can see leaves no fair loop at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import z3  # type: ignore[import-untyped]

from kcheck.lang import ast
from kcheck.lang.symbols import Symbols
from kcheck.model.ir import CompiledModel
from kcheck.result import HOLDS, INCONCLUSIVE, NOT_CHECKED, Proof, PropertyResult
from kcheck.smt.encode import Encoder
from kcheck.smt.lasso import MARGIN_S, NOT_ENCODED, temporal_bmc
from kcheck.smt.prover import ENGINE, Bad, Goal, Outcome
from kcheck.smt.ranking import Measure, candidates, describe, hinted
from kcheck.smt.solver import Deadline, check, new_solver
from kcheck.smt.system import Unrolling, transition
from kcheck.smt.temporal import (
    Fairness,
    PropertyTerms,
    enabled,
    property_terms,
    selected,
    stops,
    taken,
)
from kcheck.smt.terms import TRUE, Term, _and, _or

MAX_LOOP_BOUND = 12  # the largest L tried


@dataclass(frozen=True)
class LiveOutcome:
    status: str  # "proved", "open" or "unknown"
    bound: int  # L, for a proof (0: by (H)); the last L tried otherwise
    reason: str = ""
    measures: tuple[Measure, ...] = ()  # the measures the proof rests on


class _Product:
    """The fault-free unrolling with the justice flags, the strong actions' prophecy bits and
    the chosen binding, for one property."""

    def __init__(
        self,
        model: CompiledModel,
        enc: Encoder,
        t: PropertyTerms,
        assumed: Sequence[Bad],
        tag: str,
        stable: bool = False,
        measures: Sequence[Measure] = (),
    ) -> None:
        self.model = model
        self.enc = enc
        self.t = t
        # with P stable under fault-free steps, a loop through a state where P is false has P
        # false throughout: `eventually always P` is then checked like `always eventually P`
        self.shape = "always eventually" if stable else t.shape
        self.u = Unrolling(enc, tag)
        self.fair = Fairness.of(model)
        # a fault spends its budget on every step, so no loop takes one
        self.faults = {
            aid
            for aid, u in enumerate(enc.units)
            if isinstance(u.actor, ast.Fault) and u.actor.name in enc.budget_index
        }
        self.assumed = list(assumed)
        self.solver = new_solver()
        self.tag = self.u.prefix
        self.binding = z3.Int(f"{self.tag}binding")
        self.solver.add(self.binding >= 0, self.binding < len(t.bindings))
        # the justice signals: the property's (eventually always only), then the fair actions'
        self.signals = (1 if self.shape == "eventually always" else 0) + len(self.fair.fair)
        self.states = 0  # states with their constraints asserted
        self.steps: list[Term] = []
        self.measures = list(measures)  # every step keeps each of them

    # ---- per state
    def flags(self, i: int) -> list[Term]:
        return [z3.Bool(f"{self.tag}f{i}_{j}") for j in range(self.signals)]

    def gone(self, i: int) -> list[Term]:
        """The prophecy bits of the strongly fair actions: disabled from here on."""
        return [z3.Bool(f"{self.tag}x{i}_{a}") for a in self.fair.strong]

    def full(self, i: int) -> tuple[Term, ...]:
        return (*self.u.state(i), *self.flags(i), *self.gone(i))

    def _pick(self, j: int, st: tuple[Term, ...], holds: bool) -> Term:
        """Formula j of the chosen binding holds (is false, with holds=False) in `st`."""
        out = []
        for n, b in enumerate(self.t.bindings):
            v = self.t.holds(b, j, st)
            out.append(_and(self.binding == n, v if holds else z3.Not(v)))
        return _or(out)

    def region(self, i: int) -> Term:
        """State i lies where a violating loop must stay: P false (always eventually), Q false
        (leads_to), anywhere (eventually always)."""
        st = self.u.state(i)
        if self.shape == "always eventually":
            return self._pick(0, st, False)
        if self.shape == "leads_to":
            return self._pick(1, st, False)
        return TRUE

    def _assert_state(self, i: int) -> None:
        while self.states <= i:
            j = self.states
            for bad in self.assumed:
                self.solver.add(z3.Not(bad(self.u, j)))
            self.solver.add(self.region(j))
            for x, a in zip(self.gone(j), self.fair.strong, strict=True):
                self.solver.add(z3.Implies(x, z3.Not(enabled(self.u.instances(j), a))))
            self.states += 1

    # ---- per step
    def step(self, i: int) -> Term:
        """The fault-free step i and the product's update; its round completes when fire(i)."""
        while len(self.steps) <= i:
            j = len(self.steps)
            self._assert_state(j + 1)
            insts = [x for x in self.u.instances(j) if x.action not in self.faults]
            move, _ = transition(insts, self.u.state(j), self.u.state(j + 1), f"{self.tag}{j}")
            seen = [_or([f, s]) for f, s in zip(self.flags(j), self.justice(j), strict=True)]
            fire = _and(*seen)
            upd = [n == _and(s, z3.Not(fire)) for n, s in zip(self.flags(j + 1), seen, strict=True)]
            sticky = [z3.Implies(x, y) for x, y in zip(self.gone(j), self.gone(j + 1), strict=True)]
            keep = [self.keeps(m, j) for m in self.measures]
            self.solver.add(z3.Implies(self._lit(j), _and(move, *upd, *sticky, *keep)))
            self.steps.append(fire)
        return self.steps[i]

    def value(self, m: Measure, i: int) -> tuple[Term, Term]:
        return m.at(self.t, self.binding, self.u.state(i))

    def keeps(self, m: Measure, i: int) -> Term:
        """Step i leaves measure m as it was."""
        return self.value(m, i)[0] == self.value(m, i + 1)[0]

    def justice(self, i: int) -> list[Term]:
        insts = [x for x in self.u.instances(i) if x.action not in self.faults]
        nxt = self.u.state(i + 1)
        out: list[Term] = []
        if self.shape == "eventually always":
            out.append(self._pick(0, self.u.state(i), False))
        for a in self.fair.weak:
            out.append(_or([taken(insts, nxt, a), z3.Not(enabled(insts, a))]))
        for x, a in zip(self.gone(i), self.fair.strong, strict=True):
            out.append(_or([taken(insts, nxt, a), x]))
        return out

    def _lit(self, j: int) -> Term:
        return z3.Bool(f"{self.tag}step{j}")

    def upto(self, n: int) -> list[Term]:
        for j in range(n):
            self.step(j)
        self._assert_state(n)
        return [self._lit(j) for j in range(n)]


def prove_live(
    model: CompiledModel,
    sym: Symbols,
    enc: Encoder,
    t: PropertyTerms,
    assumed: Sequence[Bad],
    deadline: Deadline,
    tag: str,
    max_bound: int = MAX_LOOP_BOUND,
) -> LiveOutcome:
    """The measures, then (H), then (B) and (A) for L = 1, 2, ... up to `max_bound`, over the
    steps that keep every measure ((C) is a k-induction goal of `temporal_goals`); `tag` names
    its Z3 variables apart from every other unrolling's."""
    stable = t.shape == "eventually always" and _stable(model, enc, t, assumed, deadline, tag)
    measures, unproved = _measures(model, sym, enc, t, assumed, deadline, tag, stable)

    def out(status: str, n: int, reason: str = "") -> LiveOutcome:
        if status != "proved" and unproved:
            reason = f"{reason}; {unproved}" if reason else unproved
        return LiveOutcome(status, n, reason, tuple(measures))

    p = _Product(model, enc, t, assumed, tag, stable, measures)
    # (H): a justice signal that no step keeping the measures can see
    lits = p.upto(1)
    for signal in p.justice(0):
        answer, _ = check(p.solver, signal, deadline, lits)
        if answer == "unsat":
            return out("proved", 0)
        if answer != "sat":
            return out("unknown", 0, f"Z3 answered unknown ({answer}) on the fairness signals")
    # a simple cycle that completes a round, started right after that round's step, starts
    # with every flag clear: (A) and (B) look only at such paths
    fresh = _and(*[z3.Not(f) for f in p.flags(0)])
    for n in range(1, max_bound + 1):
        lits = p.upto(n)
        closed = _and(*[x == y for x, y in zip(p.full(n), p.full(0), strict=True)])
        rounds = _or([p.step(j) for j in range(n)])
        answer, m = check(p.solver, _and(fresh, closed, rounds), deadline, lits)
        if answer == "sat":
            return out("open", n, _cycle(model, p, m, n))
        if answer != "unsat":
            return out("unknown", n, f"Z3 answered unknown ({answer}) at L = {n}")
        distinct = [
            _or([x != y for x, y in zip(p.full(i), p.full(j), strict=True)])
            for i in range(n + 1)
            for j in range(i)
        ]
        answer, _ = check(p.solver, _and(fresh, *distinct), deadline, lits)
        if answer == "unsat":
            return out("proved", n)
        if answer != "unsat" and answer != "sat":
            return out("unknown", n, f"Z3 answered unknown ({answer}) at L = {n}")
    return out("open", max_bound, f"the fault-free steps have simple paths of {max_bound} steps")


def _measures(
    model: CompiledModel,
    sym: Symbols,
    enc: Encoder,
    t: PropertyTerms,
    assumed: Sequence[Bad],
    deadline: Deadline,
    tag: str,
    stable: bool,
) -> tuple[list[Measure], str]:
    """The measures kept, in order: each proved to be evaluable and never to increase on a
    fault-free step between states of the region (the invariants hold, and P, resp. Q, is
    false where a violating loop must stay) that keeps every measure kept before it, and
    (unless written in `decreases`) to decrease on one. Greedy, in rounds: a measure kept only
    shrinks the steps the others are checked on. Also why a `decreases` measure was not kept."""
    p = _Product(model, enc, t, assumed, f"{tag}m_", stable)
    lits = p.upto(1)
    # at most half of the proof's time: the loops need the rest
    limit = Deadline(max(0.0, deadline.remaining()) / 2)
    pool = hinted(t) + candidates(sym, t)
    kept: list[Measure] = []
    same: list[Term] = []
    rejected: dict[Measure, str] = {}
    for _ in range(3):
        before = len(kept)
        for m in pool:
            if m in kept:
                continue
            (v0, e0), (v1, e1) = p.value(m, 0), p.value(m, 1)
            answer, cex = check(p.solver, _and(*same, _or([e0, e1, v1 > v0])), limit, lits)
            if answer == "sat" and m.hint:
                rejected[m] = _increase(model, p, cex, m)
            if answer != "unsat":
                if answer != "sat":
                    return kept, _unkept(rejected)
                continue
            if not m.hint:
                answer, _ = check(p.solver, _and(*same, v1 < v0), limit, lits)
                if answer != "sat":
                    continue  # never decreases there: no use
            kept.append(m)
            rejected.pop(m, None)
            same.append(v0 == v1)
            answer, _ = check(p.solver, _and(*same), limit, lits)
            if answer == "unsat":  # no step keeps them all: nothing left to cut
                return kept, _unkept(rejected)
        if len(kept) == before:
            break
    return kept, _unkept(rejected)


def _increase(model: CompiledModel, p: _Product, m: Any, measure: Measure) -> str:
    """The step on which a `decreases` measure grows (or cannot be evaluated), in words."""
    from kcheck.smt.describe import show_state

    states = p.u.concrete(m, 1)
    shown = show_state(model.layout.decode(states[0]))
    act = model.actions[p.u.taken(m, 0)[0]].label
    return f"`decreases {measure.text}` can increase: from {{{shown}}} by {act} (it may be unreachable)"


def _unkept(rejected: dict[Measure, str]) -> str:
    return "; ".join(rejected.values())


def _how(live: LiveOutcome) -> str:
    """What rules the loops out: the measures and the rule, (H) or L."""
    how = f"L = {live.bound}" if live.bound else "a fairness constraint no loop meets"
    if live.measures:
        how = f"measures {describe(live.measures)}; {how}"
        how += "" if live.bound else " while keeping them"
    return how


def _stable(
    model: CompiledModel,
    enc: Encoder,
    t: PropertyTerms,
    assumed: Sequence[Bad],
    deadline: Deadline,
    tag: str,
) -> bool:
    """No fault-free step from a state where the invariants and P hold leads to one where P is
    false (for any binding): then no loop leaves P and comes back."""
    p = _Product(model, enc, t, assumed, f"{tag}st_")
    p.upto(1)
    keeps = [
        _and(p.binding == n, p.t.holds(b, 0, p.u.state(0)), z3.Not(p.t.holds(b, 0, p.u.state(1))))
        for n, b in enumerate(t.bindings)
    ]
    answer, _ = check(p.solver, _or(keeps), deadline, [p._lit(0)])
    return bool(answer == "unsat")


def _cycle(model: CompiledModel, p: _Product, m: Any, n: int) -> str:
    """The loop (B) found, in words: it may be unreachable."""
    from kcheck.smt.describe import show_state

    states = p.u.concrete(m, n)
    shown = show_state(model.layout.decode(states[0]))
    acts = [model.actions[p.u.taken(m, i)[0]].label for i in range(n)]
    return (
        f"a fair loop of {n} steps among the states where the invariants hold breaks it, from "
        f"{{{shown}}} by {', '.join(acts)} (it may be unreachable)"
    )


# ---- in a k-induction run (induction.py)
def temporal_goals(
    model: CompiledModel,
    enc: Encoder,
    symbols: Symbols,
    names: Sequence[str] | None,
    invariants: Sequence[str] | None,
) -> tuple[list[Goal], dict[str, PropertyTerms | None]]:
    """The goals k-induction proves for the selected temporal properties: `always P` like an
    invariant, and for the others "every formula can be evaluated in every reachable state"
    (else the explicit engine reports a violation); and each property's terms (None: not
    checkable binding by binding)."""
    goals: list[Goal] = []
    terms: dict[str, PropertyTerms | None] = {}
    for info in selected(model, names, invariants):
        t = property_terms(enc, symbols, info)
        terms[info.name] = t
        if t is None:
            continue
        if t.shape == "always":
            goals.append(Goal(info.name, _always_bad(t)))
        else:
            goals.append(Goal(f"@evaluable {info.name}", _error_bad(t)))
            goals.append(Goal(f"@stops {info.name}", _stop_bad(t, Fairness.of(model))))
    return goals, terms


def _stop_bad(t: PropertyTerms, fair: Fairness) -> Bad:
    """The behaviour may stop in state i (no fair action is enabled) and that breaks it (for
    leads_to: Q is false there, wherever the trigger was)."""
    j = 1 if t.shape == "leads_to" else 0

    def bad(u: Unrolling, i: int) -> Term:
        st = u.state(i)
        broken = _or([z3.Not(t.holds(b, j, st)) for b in t.bindings])
        return _and(stops(u.instances(i), fair), broken)

    return bad


def _always_bad(t: PropertyTerms) -> Bad:
    def bad(u: Unrolling, i: int) -> Term:
        st = u.state(i)
        return _or([t.error(st), *[z3.Not(t.holds(b, 0, st)) for b in t.bindings]])

    return bad


def _error_bad(t: PropertyTerms) -> Bad:
    return lambda u, i: t.error(u.state(i))


def temporal_results(
    model: CompiledModel,
    symbols: Symbols,
    enc: Encoder,
    terms: dict[str, PropertyTerms | None],
    outcomes: dict[str, Outcome],
    assumed: tuple[list[Bad], tuple[str, ...]],
    bounds: str,
    deadline: Deadline,
    max_k: int,
    always: Callable[[str, int, Outcome], PropertyResult],
) -> list[PropertyResult]:
    """The entry of each selected temporal property after the k-induction goals: `always P`
    as `always` makes it from its outcome; the others proved by `prove_live` over the
    `assumed` facts (and their names), else looked for as fair lassos of at most `max_k`
    steps; `holds` only when it is also proved that no step leaves the bounds."""
    out: dict[str, PropertyResult] = {}
    why_open: dict[str, str] = {}
    infos = {p.name: p for p in model.properties}
    # stop a little before the run's own limit, which would otherwise cut the report short
    deadline = Deadline(max(0.0, deadline.remaining() - 2 * MARGIN_S))
    for n, (name, t) in enumerate(terms.items()):
        line = infos[name].span.line
        if t is None:
            out[name] = PropertyResult(name, "property", NOT_CHECKED, line, reason=NOT_ENCODED,
                                       engine=ENGINE)  # fmt: skip
            continue
        if t.shape == "always":
            out[name] = always(name, line, outcomes[name])
            continue
        missing = []
        if outcomes[f"@evaluable {name}"].status != "proved":
            missing.append("that its formulas can be evaluated in every state")
        if outcomes[f"@stops {name}"].status != "proved":
            missing.append("that no reachable state where no fair action is enabled breaks it")
        # half of an equal share: the lasso search below needs time too
        share = Deadline(max(0.0, deadline.remaining()) / (2 * (len(terms) - n)))
        live = prove_live(model, symbols, enc, t, assumed[0], share, f"lv{n}_")
        if missing:
            why_open[name] = f"not proved {' nor '.join(missing)}"
            if live.status == "proved":  # say that this is all that is missing
                why_open[name] += f" (the loops are ruled out: {_how(live)})"
            else:
                why_open[name] += f" (nor are the loops ruled out: {live.reason})"
            continue
        if live.status != "proved":
            why_open[name] = live.reason
            continue
        facts = assumed[1]
        using = f", assuming {', '.join(facts)}" if facts else ""
        why = f"proved ({_how(live)}: no fair loop of fault-free steps breaks it{using})"
        proof = Proof(live.bound, facts, (), bounds, tuple(m.text for m in live.measures))
        if bounds == "proved":
            out[name] = PropertyResult(name, "property", HOLDS, line, None, why, ENGINE, proof)
        else:
            tail = "but it was not proved that no step leaves the bounds"
            if bounds == "violated":
                tail = "but a step left the bounds"
            why = f"{why} for the states within bounds, {tail}"
            out[name] = PropertyResult(name, "property", INCONCLUSIVE, line, None, why, ENGINE,
                                       proof)  # fmt: skip
    if why_open:
        found = temporal_bmc(model, symbols, max_k, list(why_open), None, deadline, ENGINE)
        for entry in found:
            if entry.status == INCONCLUSIVE:
                entry = replace(entry, reason=f"not proved: {why_open[entry.name]}; {entry.reason}")
            out[entry.name] = entry
    return [out[name] for name in terms]
