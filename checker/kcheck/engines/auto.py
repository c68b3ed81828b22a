"""`--engine auto` (spec/smt.md, "--engine auto"): the explicit search while the state space fits
a state budget, then Z3 for what it left open: k-induction, then BMC for what induction could
neither prove nor refute, then random simulation for what is still open (spec/simulate.md).
Every entry says which engine decided it (PropertyResult.engine, and
its reason in words).

Explicit verdicts are kept as they are: a violation it found is a shortest counterexample, and
temporal properties are the explicit engine's alone. Only invariants it left inconclusive
because the budget ran out go to Z3.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from kcheck.explore.bfs import Limits, ProgressFn, explore
from kcheck.explore.simulate import SimOptions, simulate
from kcheck.lang.symbols import Symbols
from kcheck.model.ir import CompiledModel
from kcheck.result import HOLDS, INCONCLUSIVE, VIOLATED, CheckResult, PropertyResult
from kcheck.smt.refuse import Unsupported

MoreStates = Callable[[Sequence[int], int, int, int], int | None]

# Distinct states the explicit search may store before Z3 takes over: about 0.7 GB, and 10 to 60 s
# at the measured rates (benchmarks/RESULTS.md). Past it the search goes on only while what is
# left is predicted to fit (`_more_states`), up to HARD_FACTOR times the budget.
STATE_BUDGET = 1_000_000
HARD_FACTOR = 2
Z3_TIMEOUT = 600.0
# the random walks for the invariants still open after Z3: far deeper than BMC's --depth
SIM_TRACES = 200
SIM_DEPTH = 200  # the Z3 phases' time without a --timeout, as for --engine bmc / induction


def auto(
    model: CompiledModel,
    symbols: Symbols,
    *,
    invariants: Sequence[str] | None,
    properties: Sequence[str] | None,
    symmetry: bool,
    limits: Limits,
    depth: int,
    max_k: int,
    progress: ProgressFn | None = None,
) -> CheckResult:
    t0 = time.monotonic()
    # the time this run may take: what the command's deadline leaves of --timeout (parsing and
    # compiling came first), or --timeout itself when no command budget is shared
    if limits.budget is not None and limits.budget.deadline is not None:
        timeout: float | None = limits.budget.deadline - t0
    else:
        timeout = limits.timeout
    # a --max-states of the user's is a limit to stop at, as for the explicit engine
    budget = limits.max_states or STATE_BUDGET
    more = None if limits.max_states is not None else _more_states(t0, timeout)
    explicit = explore(
        model,
        invariants=invariants,
        properties=properties,
        symmetry=symmetry,
        limits=replace(limits, max_states=budget, more_states=more),
        progress=progress,
    )
    explicit = _tagged(explicit, "explicit")
    if limits.max_states is not None or not (explicit.limit or "").startswith("max-states"):
        return explicit  # complete, or stopped where the user asked (states, depth, time)
    open_invariants = [
        p.name for p in explicit.properties if p.kind == "invariant" and p.status != VIOLATED
    ]
    if not open_invariants:
        return explicit
    # one deadline for the whole run: the Z3 phases get what the explicit search left of it
    total = timeout if timeout is not None else explicit.stats.seconds + Z3_TIMEOUT
    if total - (time.monotonic() - t0) <= 0:
        explicit.notes.append("Z3 not used: the explicit search used all of --timeout")
        return explicit
    # every behaviour of up to this many steps was searched (breadth-first: the level being
    # expanded when the search stopped had been found whole, and the steps into it)
    covered = explicit.stats.depth
    # imported here: most runs never reach Z3, and loading it costs a tenth of a second and
    # 30 MB at start-up
    from kcheck.smt.bmc import bmc
    from kcheck.smt.induction import induction

    try:
        proved = induction(
            model, symbols, max_k, open_invariants, total - (time.monotonic() - t0),
            properties=[],
        )  # fmt: skip
    except Unsupported as err:
        explicit.notes.append(f"Z3 not used: {err}")
        return _simulated(model, explicit, open_invariants, total - (time.monotonic() - t0))
    by_name = {p.name: p for p in proved.properties if p.kind == "invariant"}
    left = [n for n in open_invariants if by_name[n].status == INCONCLUSIVE]
    # BMC only when it can look deeper than the explicit search did
    run_bmc = bool(left) and depth > covered and total - (time.monotonic() - t0) > 0
    bounded: dict[str, PropertyResult] = {}
    if run_bmc:
        left_s = total - (time.monotonic() - t0)
        bounded = {p.name: p for p in bmc(model, symbols, depth, left, left_s, []).properties}
    out: list[PropertyResult] = []
    for p in explicit.properties:
        if p.kind != "invariant" or p.status == VIOLATED:
            out.append(p)
            continue
        z3_entry = by_name[p.name]
        if p.name in bounded and bounded[p.name].status == VIOLATED:
            z3_entry = _tagged_entry(bounded[p.name], "bmc")
        elif p.name in bounded:
            # BMC's own words: the depth it reached, or why it stopped short of --depth
            z3_entry = replace(z3_entry, reason=f"{z3_entry.reason}; bmc: {bounded[p.name].reason}")
        elif z3_entry.status == INCONCLUSIVE:
            z3_entry = replace(
                z3_entry,
                reason=f"{z3_entry.reason}; the explicit search found no violation in "
                f"{covered} steps",
            )
        out.append(z3_entry)
    out = [_said(p) for p in _bounds(out, explicit, proved)]
    if left and not run_bmc and depth <= covered:
        bmc_said = f"; BMC not run: the explicit search covered every behaviour of {covered} "
        bmc_said += f"steps, and --depth {depth} goes no deeper"
    elif left and not run_bmc:
        bmc_said = "; BMC not run: no time was left of --timeout"
    elif run_bmc:
        bmc_said = f" and BMC (depth {depth})"
    else:
        bmc_said = ""
    notes = [
        *explicit.notes,
        f"the explicit search stopped at {explicit.limit}, having covered every behaviour of "
        f"{covered} steps; Z3 k-induction (k <= {max_k}){bmc_said} decided the invariants it "
        "left open",
    ]
    decided = replace(explicit, engine="auto", properties=out, notes=notes)
    still = [p.name for p in out if p.kind == "invariant" and p.status == INCONCLUSIVE]
    return _simulated(model, decided, still, total - (time.monotonic() - t0))


def _simulated(
    model: CompiledModel, result: CheckResult, names: list[str], seconds: float
) -> CheckResult:
    """The invariants the explicit search and Z3 left open, tried on random walks deeper than
    either looked (spec/simulate.md): a violation found replaces the open entry; a walk that
    finds none leaves it open, its reason saying so."""
    if not names or seconds <= 0:
        return result
    options = SimOptions(traces=SIM_TRACES, depth=SIM_DEPTH, timeout=seconds)
    sim = simulate(model, invariants=names, properties=[], options=options)
    by_name = {p.name: p for p in sim.properties if p.kind == "invariant"}
    out = []
    for p in result.properties:
        q = by_name.get(p.name)
        if q is not None and p.status == INCONCLUSIVE and q.status == VIOLATED:
            out.append(replace(q, reason=f"simulate: {q.reason}"))
        elif q is not None and p.status == INCONCLUSIVE:
            out.append(replace(p, reason=f"{p.reason}; simulate: {q.reason}"))
        else:
            out.append(p)
    walked = sim.coverage.traces if sim.coverage is not None else 0
    note = (
        f"random simulation ({walked:,} traces of up to {SIM_DEPTH} steps, seed 0) tried the "
        f"{len(names)} invariant{'s' if len(names) != 1 else ''} still open"
    )
    return replace(result, engine="auto", properties=out, notes=[*result.notes, note])


def _more_states(t0: float, timeout: float | None) -> MoreStates:
    """The explicit search's hook at its state limit: go on (by a tenth of the budget at a
    time) while the breadth-first levels shrink and what is left is predicted to fit within
    HARD_FACTOR times the budget and within the time left; else stop and let Z3 take over."""
    hard = HARD_FACTOR * STATE_BUDGET

    def more(starts: Sequence[int], level_end: int, i: int, n: int) -> int | None:
        total = predicted_states(starts, level_end, i, n)
        if total > hard:
            return None
        if timeout is not None:
            elapsed = time.monotonic() - t0
            if elapsed + (total - n) * elapsed / n > timeout:
                return None
        return min(hard, n + max(1, STATE_BUDGET // 10))

    return more


def predicted_states(starts: Sequence[int], level_end: int, i: int, n: int) -> float:
    """How many states a breadth-first search that has stored `n`, and is expanding the level
    from starts[-1] to `level_end` (up to `i`), will have stored when it ends: the next level
    extrapolated from the part of this one expanded so far, then every later level shrinking
    by the same ratio (a geometric tail). Infinite while the levels still grow."""
    cur = level_end - starts[-1]
    found = n - level_end  # of the next level, so far
    expanded = i - starts[-1]
    if expanded > 0:
        nxt = found + (level_end - i) * found / expanded
    elif len(starts) > 1 and starts[-1] > starts[-2]:
        nxt = cur * cur / (starts[-1] - starts[-2])
    else:
        return math.inf
    ratio = nxt / cur if cur else math.inf
    if ratio >= 1:
        return math.inf
    return n + (nxt - found) + nxt * ratio / (1 - ratio)


def _bounds(
    out: list[PropertyResult], explicit: CheckResult, proved: CheckResult
) -> list[PropertyResult]:
    """Bound entries: the explicit ones found, else induction's; and, as in every engine, an
    invariant is not `holds` when some step leaves the bounds."""
    if not any(p.kind == "bound" for p in out):
        out += [p for p in proved.properties if p.kind == "bound"]
    if any(p.kind == "bound" and p.status == VIOLATED for p in out):
        out = [
            replace(p, status=INCONCLUSIVE, reason=f"{p.reason}, but a step left the bounds")
            if p.kind == "invariant" and p.status == HOLDS
            else p
            for p in out
        ]
    return out


def _tagged(result: CheckResult, engine: str) -> CheckResult:
    return replace(result, properties=[_tagged_entry(p, engine) for p in result.properties])


def _tagged_entry(p: PropertyResult, engine: str) -> PropertyResult:
    return p if p.engine else replace(p, engine=engine)


def _said(p: PropertyResult) -> PropertyResult:
    """The entry with its engine named in its reason, which every report prints."""
    engine = p.engine or "explicit"
    by = "the explicit search" if engine == "explicit" else engine
    return replace(p, reason=f"{engine}: {p.reason}" if p.reason else f"by {by}")
