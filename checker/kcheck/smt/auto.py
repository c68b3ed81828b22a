"""`--engine auto` (spec/smt.md, "--engine auto"): the explicit search while the state space fits
a state budget, then Z3 for what it left open: k-induction, then BMC for what induction could
neither prove nor refute. Every entry says which engine decided it (PropertyResult.engine, and
its reason in words).

Explicit verdicts are kept as they are: a violation it found is a shortest counterexample, and
temporal properties are the explicit engine's alone. Only invariants it left inconclusive
because the budget ran out go to Z3.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from kcheck.explore.bfs import Limits, ProgressFn, explore
from kcheck.lang.symbols import Symbols
from kcheck.model.ir import CompiledModel
from kcheck.result import HOLDS, INCONCLUSIVE, VIOLATED, CheckResult, PropertyResult
from kcheck.smt.refuse import Unsupported

# Distinct states the explicit search may store before Z3 takes over: about 0.7 GB, and 10 to 60 s
# at the measured rates (benchmarks/RESULTS.md).
STATE_BUDGET = 1_000_000


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
    # a --max-states of the user's is a limit to stop at, as for the explicit engine
    budget = limits.max_states or STATE_BUDGET
    explicit = explore(
        model,
        invariants=invariants,
        properties=properties,
        symmetry=symmetry,
        limits=replace(limits, max_states=budget),
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
    timeout = limits.timeout or 600.0
    # imported here: most runs never reach Z3, and loading it costs a tenth of a second and
    # 30 MB at start-up
    from kcheck.smt.bmc import bmc
    from kcheck.smt.induction import induction

    try:
        proved = induction(model, symbols, max_k, open_invariants, timeout, properties=[])
    except Unsupported as err:
        explicit.notes.append(f"Z3 not used: {err}")
        return explicit
    by_name = {p.name: p for p in proved.properties if p.kind == "invariant"}
    left = [n for n in open_invariants if by_name[n].status == INCONCLUSIVE]
    bounded = (
        {p.name: p for p in bmc(model, symbols, depth, left, timeout, []).properties}
        if left
        else {}
    )
    out: list[PropertyResult] = []
    for p in explicit.properties:
        if p.kind != "invariant" or p.status == VIOLATED:
            out.append(p)
            continue
        z3_entry = by_name[p.name]
        if p.name in bounded and bounded[p.name].status == VIOLATED:
            z3_entry = _tagged_entry(bounded[p.name], "bmc")
        elif p.name in bounded:
            z3_entry = replace(
                z3_entry,
                reason=f"{z3_entry.reason}; bmc: no violation up to depth {depth} either",
            )
        out.append(z3_entry)
    out = [_said(p) for p in _bounds(out, explicit, proved)]
    notes = [
        *explicit.notes,
        f"the explicit search stopped at {explicit.limit}; Z3 k-induction (k <= {max_k})"
        + (f" and BMC (depth {depth})" if left else "")
        + " decided the invariants it left open",
    ]
    return replace(explicit, engine="auto", properties=out, notes=notes)


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
