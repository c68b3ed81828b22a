"""Invariant inference end to end (spec/smt.md, "Invariant inference"): candidate lemmas from
the model's vocabulary (smt/candidates.py), kept only if true in every state the explicit
engine reaches at the model's size, then the Houdini fixpoint (smt/infer.py), then the model
with the lemmas the proof uses, as KDSL text, proved by the ordinary k-induction engine: its
verdict is the one reported, so a lemma the prover did not establish can never make a proof.

Every candidate is text that goes through the model's own front end as a `lemma` line."""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field, replace

from kcheck.engines.clock import OutOfTime, check_time, grace, seconds_left, stop_at
from kcheck.engines.dispatch import EngineOptions, Refused, check
from kcheck.engines.spacer import prove
from kcheck.explore.bfs import Limits
from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.fmt_expr import format_expr
from kcheck.lang.frontend import CheckedModel, check_source
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel, State, StepError
from kcheck.result import HOLDS, INCONCLUSIVE, VIOLATED, CheckResult, PropertyResult, Stats
from kcheck.smt.candidates import (
    candidates,
    guarded_comparisons,
    pending_faults,
    potential_bases,
    potentials,
    weakest_windows,
    windows,
)
from kcheck.smt.infer import CANDIDATE, houdini
from kcheck.smt.prover import ENGINE
from kcheck.smt.refuse import Unsupported
from kcheck.smt.targets import STOP_FACT, anchored, stop_lemmas
from kcheck.trace import Trace

# The explicit search that filters the candidates stops at this many states, never at a time:
# which candidates reach Houdini, and so what it proves, does not move with the machine's load
# (the run's --timeout still stops it, with a note, when it cannot finish in time).
MAX_STATES = 20_000


@dataclass
class Inference:
    """The lemmas inferred (`lemma NAME: e` lines), the induction engine's result on the model
    with them, and how the candidates fared."""

    lemmas: list[str]
    result: CheckResult
    open: dict[str, str] = field(default_factory=dict)  # not proved -> counterexample in words
    cti: dict[str, Trace] = field(default_factory=dict)  # not proved -> counterexample as a trace
    generated: int = 0
    states: int = 0  # reachable states the candidates were checked on
    held: int = 0  # candidates true in all of them
    kept: int = 0  # candidates that survived the Houdini fixpoint
    notes: list[str] = field(default_factory=list)
    method: str = "houdini"  # which route gave the result: houdini, spacer, or both (auto)
    # every candidate that survived the fixpoint (jointly 1-inductive with the invariants Houdini
    # proved), as KDSL text: the temporal proofs of --infer may use them to rule out loops
    survivors: list[str] = field(default_factory=list)
    true_in_states: list[str] = field(default_factory=list)  # the candidates the filter kept

    @property
    def verdict(self) -> str:
        """Over the invariants, lemmas and bound entries (not the temporal properties, which
        the Z3 engines list as not checked): violated, holds, or inconclusive."""
        statuses = [p.status for p in self.result.properties if p.kind != "property"]
        if VIOLATED in statuses:
            return VIOLATED
        return HOLDS if statuses and all(s == HOLDS for s in statuses) else INCONCLUSIVE


def infer(
    source: Source,
    overrides: Mapping[str, int | str] | None = None,
    max_k: int = 6,
    timeout_s: float = 300.0,
    max_states: int = MAX_STATES,
    method: str = "houdini",
    started: float | None = None,
) -> Inference:
    """Infer lemmas for the model in `source` and prove its invariants with them, by the
    Houdini fixpoint over mined candidates, by IC3/PDR (Spacer), or (`auto`) Houdini first and
    Spacer on what it left open, within `timeout_s` in all, counted from `started` (the clock's
    reading when the run began; None: now). Raises KcheckError when the model itself does not
    check, Refused when the Z3 engine cannot encode it."""
    t0 = time.monotonic() if started is None else started
    end = t0 + timeout_s
    found: Inference | None = None
    try:
        # the phases stop themselves at `end`; this stops a step that cannot look at a clock
        with stop_at(end + grace(timeout_s)):
            if method == "spacer":
                run = prove(source, overrides, None, True, max_k, seconds_left(end))
                return Inference(run.lines, run.result, notes=run.notes, method="spacer")
            # auto: Houdini first, with most of the time (it settles most models), Spacer the rest
            share = 0.6 if method == "auto" else 1.0
            mine = t0 + timeout_s * share
            try:
                # with auto, a step of Houdini's that cannot look at the clock is stopped soon
                # after its share too: Spacer's share is Spacer's
                with stop_at(mine + grace(timeout_s * share)) if share < 1 else nullcontext():
                    found = _houdini(source, overrides, max_k, mine, max_states)
            except OutOfTime as why:  # out of its share: Spacer may still prove something
                if method != "auto" or seconds_left(end) < 1:
                    raise
                late = f"out of Houdini's share of --timeout ({timeout_s * share:g} s) {why}"
                found = _late(source, overrides, late, timeout_s)
            if method != "auto" or found.verdict in (HOLDS, VIOLATED):
                return found
            return _then_spacer(found, source, overrides, max_k, seconds_left(end))
    except OutOfTime as why:
        if found is not None:  # Houdini's answer stands; Spacer's did not come in time
            note = f"IC3/PDR (Spacer) stopped at --timeout ({timeout_s:g} s): {why}"
            return replace(found, notes=[*found.notes, note])
        return _late(source, overrides, f"out of --timeout ({timeout_s:g} s) {why}", timeout_s)


def _late(
    source: Source,
    overrides: Mapping[str, int | str] | None,
    why: str,
    timeout_s: float,
) -> Inference:
    """The run that --timeout stopped before its final proof: every invariant inconclusive,
    no lemma (none was proved)."""
    symbols = check_source(source, overrides).symbols
    reason = f"not proved: {why}"
    props = [PropertyResult(i.name, "invariant", INCONCLUSIVE, i.span.line, reason=reason,
                            engine=ENGINE) for i in symbols.invariants]  # fmt: skip
    props.append(PropertyResult("bound", "bound", INCONCLUSIVE, None, reason=reason, engine=ENGINE))
    note = f"{why}: nothing was proved, no lemma is printed"
    result = CheckResult(symbols.program.name, ENGINE, Stats(seconds=timeout_s), props,
                         complete=False, limit=f"timeout {timeout_s:g}s", notes=[note])  # fmt: skip
    return Inference([], result, notes=[note], method="none: out of time")


def _then_spacer(
    found: Inference,
    source: Source,
    overrides: Mapping[str, int | str] | None,
    max_k: int,
    left: float,
) -> Inference:
    """`found` (Houdini's) with the invariants it left open proved by Spacer where it can."""
    ours = {x.split(":")[0].split()[1] for x in found.lemmas}
    goals = [p.name for p in found.result.properties
             if p.kind == "invariant" and p.status == INCONCLUSIVE and p.name not in ours]  # fmt: skip
    if not goals or left < 1:
        return found
    run = prove(source, overrides, goals, True, max_k, left, first=len(found.lemmas) + 1)
    theirs = {p.name: p for p in run.result.properties if p.kind == "invariant"}
    props = []
    for p in found.result.properties:
        q = theirs.get(p.name)
        if p.name in goals and q is not None and q.status in (HOLDS, VIOLATED):
            props.append(q)
        elif not (p.kind == "bound" and run.bound_proved):
            props.append(p)
    if run.lines and run.result.verdict == HOLDS:  # the lines were proved in that run
        named = {x.split(":")[0].split()[1] for x in run.lines}
        props += [p for p in run.result.properties if p.name in named]
    proved = {p.name for p in props if p.status == HOLDS}
    cti = {n: t for n, t in found.cti.items() if n not in proved and
           not (n == "bound" and run.bound_proved)}  # fmt: skip
    opened = {n: t for n, t in found.open.items() if n in cti}
    result = replace(found.result, properties=props, notes=[*found.result.notes, *run.notes],
                     complete=all(p.status in (HOLDS, VIOLATED) for p in props))  # fmt: skip
    return replace(found, lemmas=found.lemmas + run.lines, result=result, cti=cti, open=opened,
                   notes=[*found.notes, *run.notes], method="houdini+spacer")  # fmt: skip


def _houdini(
    source: Source,
    overrides: Mapping[str, int | str] | None,
    max_k: int,
    end: float,
    max_states: int,
) -> Inference:
    """The Houdini route: candidates, filter, fixpoint, then the k-induction proof, all by the
    clock's `end` (OutOfTime when a phase would start past it)."""
    t0 = time.monotonic()
    original = check_source(source, overrides)
    texts = candidates(original.symbols)
    generated = len(texts)
    notes: list[str] = []
    checked, texts = _with_lemmas(source, overrides, texts)
    model = compile_model(checked.symbols)
    states, whole = _states(model, max_states, t0 + (end - t0) / 2)
    if not whole:
        why = "states" if len(states) >= max_states else "time (the result may vary with load)"
        notes.append(
            f"the candidates were tried on the first {len(states)} reachable states only "
            f"(a limit of {why}); the proof below is sound all the same"
        )
    held = _filter(texts, model, states)
    held += _potentials(source, overrides, original, held, states)
    budgets = {b.fault: b.budget for b in model.layout.budgets}
    held += _chained(source, overrides, original, held, states, budgets)
    check_time(end, "before the candidates true in the states were compiled")
    checked, held = _with_lemmas(source, overrides, held)
    model = compile_model(checked.symbols)
    check_time(end, "before the Houdini fixpoint")
    try:
        # each of its queries is bounded by Z3's resource limit (solver.RLIMIT), which does not
        # move with the load; the clock only stops it when the whole run is nearly out of time
        fix = houdini(model, checked.symbols, model.initial(), seconds_left(end) * 0.8)
    except Unsupported as err:
        raise Refused(str(err)) from None
    if fix.unknown:
        notes.append(fix.unknown)
    if fix.out_of_time:
        notes.append("the Houdini step ran out of --timeout (what it proves may vary with load)")
    if fix.choice:
        notes.append(fix.choice)
    index = {_name(i): t for i, t in enumerate(held)}
    used = [index[n] for n in fix.used if n in index]
    # a model invariant another proof leaned on, restated as a lemma: the final k-induction
    # assumes lemmas once proved, but proves the invariants each alone (or all jointly)
    invs = {i.name: i for i in original.symbols.invariants if not i.lemma}
    used += [format_expr(invs[n].expr) for n in sorted(fix.leaned_on) if n in invs]
    check_time(end, f"before the final k-induction (with {len(used)} lemmas)")
    # a restated invariant its front end refuses as written back (pvc_finalizers: a list read
    # as a value after lowering) is left out: the final proof only loses a help
    final, used = _with_lemmas(source, overrides, used)
    lines = [f"lemma {_name(i)}: {t}" for i, t in enumerate(used)]
    final_model = compile_model(final.symbols)
    check_time(end, f"before the final k-induction (with {len(lines)} lemmas)")
    # its deadline is the run's: the induction engine counts its encoding in it too
    options = EngineOptions("induction", limits=Limits(timeout=seconds_left(end)), max_k=max_k)
    # the invariants and lemmas only: inference is about them (temporal properties are not)
    names = [i.name for i in final.symbols.invariants]
    result = check(final_model, final.symbols, names, None, options)
    return Inference(lines, result, fix.open, fix.cti, generated, len(states), len(held),
                     len(fix.kept), notes, survivors=[index[n] for n in fix.kept if n in index],
                     true_in_states=held)  # fmt: skip


def _potentials(
    source: Source,
    overrides: Mapping[str, int | str] | None,
    original: CheckedModel,
    held: list[str],
    states: list[State],
) -> list[str]:
    """The potentials (candidates.potentials) over the tightest bases in `held`, true in every
    state of `states`: built only now, as each is tried at its base's tightest c alone."""
    bases = {t.rsplit(" <= ", 1)[0] for t in potential_bases(original.symbols)}
    tight = {}
    for t in held:
        m = BOUND.match(t)
        if m is not None and m[2] == "<=" and m[1] in bases:
            tight[m[1]] = int(m[3])
    texts = list(potentials(original.symbols, tight))
    if not texts:
        return []
    checked, texts = _with_lemmas(source, overrides, texts)
    model = compile_model(checked.symbols)
    return [t for i, t in enumerate(texts) if _holds(model.invariant(_name(i)).holds, states)]


def _chained(
    source: Source,
    overrides: Mapping[str, int | str] | None,
    original: CheckedModel,
    held: list[str],
    states: list[State],
    budgets: Mapping[str, int],
) -> list[str]:
    """The families built as chains (candidates.windows, candidates.guarded_comparisons): of
    each chain, ordered from the strongest claim to the weakest, the first true in every state
    of `states` (the rest are never evaluated); of the windows, only those no other says as
    much as (candidates.weakest_windows)."""
    sym = original.symbols
    wins = windows(sym, budgets)
    chains = [[w.text for w in c] for c in wins] + guarded_comparisons(sym, budgets, set(held))
    chains += [[t] for t in pending_faults(sym, budgets)]
    texts = list(dict.fromkeys(t for c in chains for t in c))
    if not texts:
        return []
    checked, texts = _with_lemmas(source, overrides, texts)
    model = compile_model(checked.symbols)
    number = {t: i for i, t in enumerate(texts)}
    kept: dict[str, None] = {}
    for chain in chains:
        for t in chain:
            if t in number and _holds(model.invariant(_name(number[t])).holds, states):
                kept[t] = None
                break
    windowed = {w.text: w for c in wins for w in c}
    best = {w.text for w in weakest_windows([windowed[t] for t in kept if t in windowed])}
    return [t for t in kept if t not in windowed or t in best]


def _states(model: CompiledModel, limit: int, until: float) -> tuple[list[State], bool]:
    """Reachable states breadth-first (canonical under symmetry), at most `limit` of them and
    until the clock reads `until`, and whether that was all of them. Fewer states only means
    more candidates for Houdini: the final proof does not rest on this search."""
    canon = model.canonicalize
    seen: dict[State, None] = {}
    queue: deque[State] = deque()
    for s in model.initial():
        c = canon(s) if canon is not None else s
        if c not in seen:
            seen[c] = None
            queue.append(c)
    while queue:
        if len(seen) >= limit or time.monotonic() > until:
            return list(seen), False
        for _, _, t in model.labelled_successors(queue.popleft()):
            c = canon(t) if canon is not None else t
            if c not in seen:
                seen[c] = None
                queue.append(c)
    return list(seen), True


def _name(i: int) -> str:
    return f"{CANDIDATE}{i + 1}"


def _append(source: Source, lines: list[str]) -> Source:
    text = source.text.rstrip("\n") + "\n" + "".join(line + "\n" for line in lines)
    return Source(source.path, text)


def _with_lemmas(
    source: Source, overrides: Mapping[str, int | str] | None, texts: list[str]
) -> tuple[CheckedModel, list[str]]:
    """The model with `texts` as lemmas, less those its front end refuses (dropped by the
    line of their error, a few rounds, then one by one)."""
    first = source.text.rstrip("\n").count("\n") + 2  # the line of the first lemma
    for _ in range(4):
        lines = [f"lemma {_name(i)}: {t}" for i, t in enumerate(texts)]
        try:
            return check_source(_append(source, lines), overrides), texts
        except KcheckError as err:
            bad = {d.span.line - first for d in err.diagnostics if d.severity == "error"}
            if not bad & set(range(len(texts))):
                break
            texts = [t for i, t in enumerate(texts) if i not in bad]
    ok: list[str] = []
    for t in texts:
        try:
            check_source(_append(source, [f"lemma {_name(0)}: {t}"]), overrides)
            ok.append(t)
        except KcheckError:
            continue
    lines = [f"lemma {_name(i)}: {t}" for i, t in enumerate(ok)]
    return check_source(_append(source, lines), overrides), ok


def _holds(holds: object, states: list[State]) -> bool:
    assert callable(holds)
    try:
        return bool(states) and all(holds(s) for s in states)
    except StepError:
        return False


BOUND = re.compile(r"^(.*) (<=|>=) (-?\d+)$")


def _filter(texts: list[str], model: CompiledModel, states: list[State]) -> list[str]:
    """The candidates (numbered as `texts`, compiled into `model`) true in every state of
    `states`; of the bounds `T <= c` (`T >= c`) only the smallest (largest) c per T. A bound
    family is monotone in c, so it is tried from the tightest c and stops at the first that
    holds: the looser ones are never evaluated (they would hold, and be dropped)."""
    families: dict[tuple[str, str], list[tuple[int, int]]] = {}
    out: dict[int, str] = {}
    for i, t in enumerate(texts):
        m = BOUND.match(t)
        if m is None:
            if _holds(model.invariant(_name(i)).holds, states):
                out[i] = t
        else:
            families.setdefault((m[1], m[2]), []).append((int(m[3]), i))
    tightest: dict[tuple[str, str], int] = {}
    for (term, op), members in families.items():
        for c, i in sorted(members, reverse=op == ">="):
            if _holds(model.invariant(_name(i)).holds, states):
                out[i] = texts[i]
                tightest[(term, op)] = c
                break
    # `T - v <= c` and `>= c` say something only when T and v move together: keep the pair
    # when T - v takes fewer values than T and than v do in the states (`count(Revision) - rv`
    # is always 1 while both grow), not when it is as loose as their own bounds
    for (term, op), members in families.items():
        if op != "<=" or " - " not in term:
            continue
        t, v = term.rsplit(" - ", 1)
        if not re.fullmatch(r"[A-Za-z_][\w.]*", v):
            continue  # not a var: another family (cache_candidates.py's slots held)
        width = _width(tightest, term)
        if width is not None and min(_width(tightest, t) or 99, _width(tightest, v) or 99) > width:
            continue
        for _, i in members:
            out.pop(i, None)
        for _, i in families.get((term, ">="), []):
            out.pop(i, None)
    return [out[i] for i in sorted(out)]


def _width(tightest: dict[tuple[str, str], int], term: str) -> int | None:
    """How many values beyond one `term` takes in the states, from its tightest bounds."""
    lo, hi = tightest.get((term, ">=")), tightest.get((term, "<="))
    return None if lo is None or hi is None else hi - lo


def with_inferred(
    result: CheckResult,
    source: Source,
    overrides: Mapping[str, int | str] | None,
    max_k: int,
    timeout_s: float,
) -> CheckResult:
    """`kcheck verify --engine induction --infer`: `result` (plain induction's) with each
    invariant it left inconclusive replaced by its entry in the proof with inferred lemmas,
    when that proof holds it, and the lemmas used listed in the notes. What plain induction
    decided is kept; the lemmas are not added as entries, as the model does not declare them."""
    if result.verdict == HOLDS or not [p for p in result.properties if p.status == INCONCLUSIVE]:
        return result
    t0 = time.monotonic()
    temporal = [p.name for p in result.properties
                if p.kind == "property" and p.status == INCONCLUSIVE]  # fmt: skip
    # the temporal proofs with the lemmas need time of their own after the inference
    share = 0.5 if temporal else 1.0
    # a stopping fact left open: the inference directed at it below (smt/targets.py)
    stops = [p.name for p in result.properties
             if p.name in temporal and STOP_FACT in (p.reason or "")]  # fmt: skip
    found = infer(source, overrides, max_k, timeout_s * share, method="auto")
    theirs = {p.name: p for p in found.result.properties if p.kind == "invariant"}
    left = timeout_s - (time.monotonic() - t0)
    extra: list[str] = []  # the survivors' lines a temporal proof needed, for the notes
    stopping: list[str] = []  # the lines the stopping facts needed, for the notes
    unexcluded: dict[str, str] = {}  # property -> a bad stopping state no survivor excludes
    if temporal and (found.lemmas or found.survivors or stops) and left >= 1:
        # the lemmas the invariants needed first; for what that leaves open, the survivors
        # that exclude its bad stopping states; then every survivor of the fixpoint (a fair
        # loop among the states the lemmas allow is often unreachable, and a survivor that
        # says why rules it out)
        first = {}
        if found.lemmas:
            # a third when the stopping-fact step below needs time too, as before otherwise
            part = left / 3 if stops else left / 2
            first = _temporal_with(source, overrides, found.lemmas, temporal, max_k, part)
        theirs |= first
        still = [n for n in temporal if first.get(n) is None or first[n].status != HOLDS]
        left = timeout_s - (time.monotonic() - t0)
        aim = [n for n in still if n in stops]  # those whose stopping fact is open
        if aim and left >= 1:
            lines, unexcluded = _stop_lines(source, overrides, found, aim, left / 4)
            left = timeout_s - (time.monotonic() - t0)
            if lines and left >= 1:
                got = _temporal_with(source, overrides, found.lemmas + lines, still, max_k,
                                     left / 2)  # fmt: skip
                gained_here = {n: q for n, q in got.items() if q.status == HOLDS}
                theirs |= gained_here
                if gained_here:
                    stopping = lines
                still = [n for n in still if n not in gained_here]
        more = _more_lines(found)
        left = timeout_s - (time.monotonic() - t0)
        if still and more and left >= 1:
            second = _temporal_with(source, overrides, found.lemmas + more, still, max_k, left)
            gained_here = {n: q for n, q in second.items() if q.status == HOLDS}
            theirs |= gained_here
            if gained_here:
                extra = more
    bound_proved = not [p for p in found.result.properties if p.kind == "bound"]
    props = []
    gained = False
    for p in result.properties:
        q = theirs.get(p.name)
        if (
            p.status == INCONCLUSIVE
            and p.kind in ("invariant", "property")
            and q is not None
            and q.status == HOLDS
        ):
            props.append(q)
            gained = True
        elif p.status == INCONCLUSIVE and p.kind == "bound" and bound_proved:
            gained = True
        else:
            props.append(p)
    missing = [f"--infer: no inferred lemma excludes this stopping state, which breaks {n} "
               f"(reachable or not): {{{st}}}" for n, st in unexcluded.items()
               if n not in theirs or theirs[n].status != HOLDS]  # fmt: skip
    if not gained:
        notes = [*result.notes, "--infer: no inferred lemma helped", *missing]
        return replace(result, notes=notes)
    notes = [*result.notes, *(f"--infer: {n}" for n in found.notes)]
    # a lemma the final proof left open (out of time) is not listed as one: no proof rests on it
    unproved = {p.name for p in found.result.properties if p.status != HOLDS}
    shown = [x for x in found.lemmas if x.split(":")[0].split()[-1] not in unproved]
    if any((p.reason or "").startswith("proved by IC3/PDR") for p in props):
        notes.append("--infer: proved by an invariant Z3's Spacer found, checked independently;"
                     " the lines below hold in every reachable state but are not all of it:")  # fmt: skip
    elif shown:
        notes.append(f"--infer: proved with {len(shown)} inferred lemmas (each proved "
                     "itself; paste them into the model to keep them):")  # fmt: skip
    notes += shown
    if stopping:
        notes.append("--infer: the temporal proofs also assumed these inferred lemmas, which "
                     "exclude the stopping states that break them (each proved in that run; "
                     "paste them too to reproduce):")  # fmt: skip
        notes += stopping
    notes += missing
    if extra:
        notes.append("--infer: the temporal proofs that needed more also assumed these inferred "
                     "lemmas (each proved in that run; paste them too to reproduce):")  # fmt: skip
        notes += extra
    if bound_proved:
        notes.append("proved that no step leaves the model's bounds, with the inferred lemmas")
    decided = all(p.status in (HOLDS, VIOLATED) for p in props)
    return replace(result, properties=props, notes=notes, complete=decided,
                   limit=None if decided else result.limit)  # fmt: skip


def _temporal_with(
    source: Source,
    overrides: Mapping[str, int | str] | None,
    lemmas: list[str],
    names: list[str],
    max_k: int,
    timeout_s: float,
) -> dict[str, PropertyResult]:
    """The temporal properties `names`, checked by the induction engine on the model with the
    inferred `lemmas` added: that run proves the lemmas again before its temporal proofs
    assume them (a lemma it does not prove is not assumed), so an entry it proves rests only
    on proved facts. Nothing when `timeout_s` runs out first."""
    end = time.monotonic() + timeout_s
    try:
        with stop_at(end + grace(timeout_s)):
            final = check_source(_append(source, lemmas), overrides)
            model = compile_model(final.symbols)
            check_time(end, "before the temporal proofs")
            options = EngineOptions("induction", limits=Limits(timeout=seconds_left(end)),
                                    max_k=max_k)  # fmt: skip
            invariants = [i.name for i in final.symbols.invariants]
            result = check(model, final.symbols, invariants, names, options)
    except OutOfTime:
        return {}
    return {p.name: p for p in result.properties if p.kind == "property" and p.name in names}


def _stop_lines(
    source: Source,
    overrides: Mapping[str, int | str] | None,
    found: Inference,
    names: list[str],
    timeout_s: float,
) -> tuple[list[str], dict[str, str]]:
    """Inference directed at the stopping facts of the properties `names`: the candidates of
    smt/targets.py true in the reachable states, with those of `found` (its survivors, and the
    candidates its filter kept: one the targeted ones make inductive may be what the fact
    needs), through the Houdini fixpoint again; of what survives (and the model's invariants it
    proves, restated as lemmas), those that exclude every stopping state breaking one of the
    properties, as lemma lines numbered after `found.lemmas` and not among them; and for each
    property they leave open, a bad stopping state where every survivor holds, in words.
    Nothing when `timeout_s` runs out first."""
    end = time.monotonic() + timeout_s
    try:
        with stop_at(end + grace(timeout_s)):
            return _stop_lines_by(source, overrides, found, names, end)
    except OutOfTime:
        return [], {}


def _stop_lines_by(
    source: Source,
    overrides: Mapping[str, int | str] | None,
    found: Inference,
    names: list[str],
    end: float,
) -> tuple[list[str], dict[str, str]]:
    t0 = time.monotonic()
    have = set(found.true_in_states) | set(found.survivors)
    texts = [t for t in anchored(check_source(source, overrides).symbols) if t not in have]
    checked, texts = _with_lemmas(source, overrides, texts)
    model = compile_model(checked.symbols)
    states, _ = _states(model, MAX_STATES, t0 + (end - t0) / 3)
    known = list(dict.fromkeys(found.true_in_states + found.survivors))
    pool = known + _filter(texts, model, states)
    checked, pool = _with_lemmas(source, overrides, pool)
    model = compile_model(checked.symbols)
    check_time(end, "before the stopping facts' fixpoint")
    try:
        fix = houdini(model, checked.symbols, model.initial(), seconds_left(end) * 0.7)
        if fix.unknown:
            return [], {}
        # what the fixpoint proved, jointly 1-inductive: its survivors (the model's own lemmas
        # among them) and the model's invariants it proved; nothing else is assumed
        trusted = set(fix.kept) | set(fix.proved)
        check_time(end, "before the stopping facts' lemmas were picked")
        picked = stop_lemmas(model, checked.symbols, names, seconds_left(end), trusted)
    except Unsupported:
        return [], {}
    index = {_name(i): t for i, t in enumerate(pool)}
    by_name = {i.name: i for i in checked.symbols.invariants}
    # a model invariant is restated as a lemma (the step cases assume lemmas only); the
    # model's own lemmas are in the source already
    texts = [index[n] if n in index else format_expr(by_name[n].expr)
             for n in picked.names if n in index or not by_name[n].lemma]  # fmt: skip
    done = {x.split(": ", 1)[1] for x in found.lemmas}
    texts = [t for t in texts if t not in done]
    first = len(found.lemmas)
    return [f"lemma {_name(first + i)}: {t}" for i, t in enumerate(texts)], picked.open


def _more_lines(found: Inference) -> list[str]:
    """The survivors of the fixpoint not among `found.lemmas`, as lemma lines numbered after
    them."""
    have = {x.split(": ", 1)[1] for x in found.lemmas}
    rest = [t for t in found.survivors if t not in have]
    return [f"lemma {_name(len(found.lemmas) + i)}: {t}" for i, t in enumerate(rest)]
