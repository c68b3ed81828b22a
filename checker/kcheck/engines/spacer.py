"""Invariant inference by IC3/PDR end to end (spec/smt.md, "Invariant inference"): Z3's Spacer
on the model's Horn clauses (smt/chc.py), its invariant checked independently there; then the
invariant's clauses read back as KDSL (smt/render.py), kept only where the invariant implies
them (so every line printed is true in every reachable state), and the model with those lines
given to the ordinary k-induction engine. When that proof holds, it is the one reported (the
lines are enough, a user can paste them); otherwise each goal is reported proved by the
checked Spacer invariant itself, and the lines that did read back are printed as a partial
reading of it. A violation Spacer claims is reported only once BMC finds it and its trace
replays; otherwise it is inconclusive."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import z3  # type: ignore[import-untyped]

from kcheck.engines.dispatch import EngineOptions, Refused, check
from kcheck.explore.bfs import Limits
from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.frontend import CheckedModel, check_source
from kcheck.model.compile import compile_model
from kcheck.model.ir import Layout, StepError
from kcheck.result import HOLDS, INCONCLUSIVE, VIOLATED, CheckResult, Proof, PropertyResult, Stats
from kcheck.smt.bmc import bmc
from kcheck.smt.chc import Chc, at, spacer, well_formed_holds
from kcheck.smt.encode import Encoder
from kcheck.smt.refuse import Unsupported
from kcheck.smt.render import render
from kcheck.smt.solver import Deadline, new_solver
from kcheck.smt.solver import check as solve
from kcheck.smt.system import Unrolling
from kcheck.smt.terms import Term
from kcheck.smt.wellformed import well_formed

ENGINE = "induction"
PREFIX = "inferred_"


@dataclass
class SpacerRun:
    """The result for the goals, the `lemma` lines read back from Spacer's invariant, notes,
    and whether "no step leaves the bounds" was proved."""

    result: CheckResult
    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    bound_proved: bool = False


def prove(
    source: Source,
    overrides: Mapping[str, int | str] | None,
    goals: Sequence[str] | None,
    bound: bool,
    max_k: int,
    timeout_s: float,
    first: int = 1,
) -> SpacerRun:
    """Prove the invariants `goals` (None: every invariant and lemma) and, with `bound`, that
    no step leaves the bounds; lemma lines are numbered from `first`. Raises Refused when the
    Z3 engine cannot encode the model."""
    t0 = time.monotonic()
    checked = check_source(source, overrides)
    sym = checked.symbols
    model = compile_model(sym)
    names = list(goals) if goals is not None else [i.name for i in sym.invariants]
    by_name = {i.name: i for i in sym.invariants}
    try:
        enc = Encoder(model, sym)
        for n in names:
            enc.check_invariant(by_name[n])
        enc.instances(enc.fresh_state("probe"))
    except Unsupported as err:
        raise Refused(str(err)) from None
    try:
        inits = model.initial()
    except StepError:  # init itself fails: the induction engine reports it
        return SpacerRun(_induction(checked, names, max_k, timeout_s))

    def init(st: tuple[Term, ...]) -> Term:
        return z3.Or(*[z3.And(*[v == x for v, x in zip(st, s, strict=True)]) for s in inits])

    def bad(u: Unrolling, i: int) -> Term:
        parts = [enc.violation(by_name[n], u.state(i)) for n in names]
        return z3.Or(*parts, *([u.fail(i)] if bound else []))

    # well-formedness, proved 1-inductive (so true in every reachable state), is given to
    # Spacer: it need not rediscover the types' ranges (several times faster)
    wf = well_formed_holds(enc, init, Deadline(timeout_s / 10))

    def fact(st: tuple[Term, ...]) -> Term:
        return well_formed(model.layout, st, enc.sets.bits)

    found = spacer(enc, init, bad, max(1.0, timeout_s * 0.7), fact if wf else None)
    notes = [f"IC3/PDR (Z3 Spacer): {found.status}" + (f": {found.reason}" if found.reason else "")]
    left = max(1.0, timeout_s - (time.monotonic() - t0))
    if found.status == "violated":
        return SpacerRun(_confirm(checked, names, found, left, notes), [], notes)
    if found.status != "proved":
        return SpacerRun(_open(model.name, sym, names, bound, found.reason, t0), [], notes)
    lines = _lemmas(source, overrides, model.layout, found, first, names, wf, left / 2)
    notes.append(f"Spacer's invariant: {len(found.clauses)} clauses, {len(found.used)} used by "
                 f"the proof (checked independently), {len(lines)} written as KDSL below")  # fmt: skip
    if lines:
        with_lines = check_source(_append(source, lines), overrides)
        left = max(1.0, timeout_s - (time.monotonic() - t0))
        ours = names + [ln.split(":")[0].split()[1] for ln in lines]
        result = _induction(with_lines, ours, max_k, left)
        if result.verdict == HOLDS:
            return SpacerRun(result, lines, notes, bound)
        notes.append("the lines alone do not make k-induction prove it: the proof below rests "
                     "on Spacer's whole invariant")  # fmt: skip
    return SpacerRun(_proved(model.name, sym, names, bound, found, t0), lines, notes, bound)


def _induction(checked: CheckedModel, names: list[str], max_k: int, left: float) -> CheckResult:
    options = EngineOptions("induction", limits=Limits(timeout=left), max_k=max_k)
    return check(compile_model(checked.symbols), checked.symbols, names, [], options)


def _lemmas(
    source: Source,
    overrides: Mapping[str, int | str] | None,
    layout: Layout,
    found: Chc,
    first: int,
    goals: list[str],
    wf: bool,
    timeout_s: float,
) -> list[str]:
    """The clauses of the proof that read back as KDSL, that the invariant implies and that
    the goals alone do not (a line that restates a goal adds nothing to its proof)."""
    texts: dict[str, None] = {}
    for c in found.used:
        t = render(c, layout)
        if t is not None:
            texts.setdefault(t, None)
    deadline = Deadline(timeout_s)
    kept: list[str] = []
    for t in texts:
        if deadline.remaining() <= 0:
            break  # fewer lines: the proof rests on the checked invariant all the same
        line = f"lemma {PREFIX}{first + len(kept)}: {t}"
        try:
            checked = check_source(_append(source, [line]), overrides)
        except KcheckError:
            continue  # the reading does not type-check: not printed
        if _implied(checked, found.clauses, goals, wf, deadline):
            kept.append(line)
    return kept


def _implied(
    checked: CheckedModel, clauses: list[Term], goals: list[str], wf: bool, deadline: Deadline
) -> bool:
    """The last invariant of `checked` (a lemma line) holds wherever `clauses` do (in the
    well-formed states, when `wf`: well-formedness was proved), and not wherever the `goals`
    do."""
    model = compile_model(checked.symbols)
    enc = Encoder(model, checked.symbols)
    invs = checked.symbols.invariants
    st = enc.fresh_state("_implied")
    lemma_fails = enc.violation(invs[-1], st)
    solver = new_solver()
    solver.add(*at(clauses, st))
    if wf:
        solver.add(well_formed(model.layout, st, enc.sets.bits))
    if solve(solver, lemma_fails, deadline)[0] != "unsat":
        return False
    solver = new_solver()
    solver.add(*[z3.Not(enc.violation(i, st)) for i in invs if i.name in goals])
    return bool(solve(solver, lemma_fails, deadline)[0] == "sat")


def _confirm(
    checked: CheckedModel, names: list[str], found: Chc, left: float, notes: list[str]
) -> CheckResult:
    """Spacer's violation, found again by BMC (a shortest trace, replayed), or inconclusive."""
    sym = checked.symbols
    result = bmc(compile_model(sym), sym, found.depth + 1, names, left, [])
    if any(p.status == VIOLATED for p in result.properties):
        notes.append(f"BMC found the violation Spacer reported, within {found.depth + 1} steps")
        return replace(result, engine=ENGINE, notes=[*result.notes, *notes])
    why = (f"Spacer reported a violation in {found.depth} steps that BMC did not confirm "
           "within that depth; not reported as violated")  # fmt: skip
    props = [replace(p, status=INCONCLUSIVE, reason=why) if p.status != VIOLATED else p
             for p in result.properties]  # fmt: skip
    return replace(result, engine=ENGINE, properties=props, complete=False)


def _entries(sym: object, names: list[str], status: str, why: str, proof: Proof | None
             ) -> list[PropertyResult]:  # fmt: skip
    by_name = {i.name: i for i in sym.invariants}  # type: ignore[attr-defined]
    return [PropertyResult(n, "invariant", status, by_name[n].span.line, None, why, ENGINE, proof)
            for n in names]  # fmt: skip


def _proved(
    model: str, sym: object, names: list[str], bound: bool, found: Chc, t0: float
) -> CheckResult:
    why = (f"proved by IC3/PDR (Z3 Spacer): an inductive invariant of {len(found.used)} "
           "clauses, checked independently")  # fmt: skip
    proof = Proof(1, (), tuple(names), "proved" if bound else "not proved")
    if not bound:
        why += " (for the states within bounds; no step leaving them was not a goal here)"
    props = _entries(sym, names, HOLDS if bound else INCONCLUSIVE, why, proof)
    stats = Stats(seconds=time.monotonic() - t0)
    return CheckResult(model, ENGINE, stats, props, complete=bound)


def _open(
    model: str, sym: object, names: list[str], bound: bool, reason: str, t0: float
) -> CheckResult:
    why = f"not proved by IC3/PDR: {reason}"
    props = _entries(sym, names, INCONCLUSIVE, why, None)
    if bound:
        props.append(PropertyResult("bound", "bound", INCONCLUSIVE, None, None,
                                    f"not proved that no step leaves the model's bounds: {why}",
                                    engine=ENGINE))  # fmt: skip
    stats = Stats(seconds=time.monotonic() - t0)
    return CheckResult(model, ENGINE, stats, props, complete=False, limit="spacer")


def _append(source: Source, lines: list[str]) -> Source:
    text = source.text.rstrip("\n") + "\n" + "".join(line + "\n" for line in lines)
    return Source(source.path, text)
