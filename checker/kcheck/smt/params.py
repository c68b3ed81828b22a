"""Symbolic parameters (spec/smt.md, "Symbolic parameters"): every `param` is one Z3 constant
within its declared range, the same in every state, and `init` is encoded symbolically
(Encoder.initial), so one query covers every configuration at once.

When an invariant can fail, Z3's Optimize finds the smallest failing configuration:
lexicographically smallest, params compared in declaration order (false < true, enum members
in declaration order). kcheck then fixes the params at those values (-D, as the user would),
compiles that model and runs the concrete engine on it for the trace, which is replayed as
always; a concrete run that does not fail where the symbolic one did is an internal error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import z3  # type: ignore[import-untyped]

from kcheck.lang import ast
from kcheck.lang.symbols import Symbols, build_symbols
from kcheck.lang.types import TBool, TEnum
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel
from kcheck.result import INCONCLUSIVE, VIOLATED, CheckResult, PropertyResult, Stats
from kcheck.smt.bmc import ReplayError, bmc
from kcheck.smt.encode import Encoder
from kcheck.smt.prover import ENGINE, Goal, Outcome, Prover
from kcheck.smt.refuse import temporal_not_checked
from kcheck.smt.solver import RLIMIT, SEED, Deadline
from kcheck.smt.system import Unrolling
from kcheck.smt.terms import Term, _or

Values = dict[str, int]
SMT_MAX_KIND_SIZE = 1000  # the most slots of one kind a symbolic size may take


def describe_ranges(sym: Symbols) -> str:
    shown = [f"{n} in {p.type}" if not isinstance(p.type, TBool) else f"{n} in {{false, true}}"
             for n, p in sym.params.items()]  # fmt: skip
    names = [a.name for a in sym.assumptions]
    where = f" where {', '.join(names)} hold{'s' if len(names) == 1 else ''}" if names else ""
    return "params symbolic: " + (", ".join(shown) + where if shown else "(the model has none)")


def show_values(sym: Symbols, values: Values) -> str:
    parts = []
    for n, v in values.items():
        ty = sym.params[n].type
        if isinstance(ty, TBool):
            parts.append(f"{n}={'true' if v else 'false'}")
        elif isinstance(ty, TEnum):
            parts.append(f"{n}={sym.enums[ty.name][v]}")
        else:
            parts.append(f"{n}={v}")
    return ", ".join(parts) if parts else "(no params)"


def _as_int(enc: Encoder, name: str) -> Term:
    t = enc.params[name]
    return z3.If(t, 1, 0) if z3.is_bool(t) else t


def values_in(enc: Encoder, m: Any) -> Values:
    return {n: m.eval(_as_int(enc, n), model_completion=True).as_long() for n in enc.params}


def smallest(
    enc: Encoder, constraints: Sequence[Term], goal: Term, deadline: Deadline
) -> Values | str | None:
    """The lexicographically smallest params satisfying `constraints` and `goal`; None when
    none do, or why Z3 could not tell."""
    remaining = deadline.remaining()
    if remaining <= 0:
        return "timeout"
    opt = z3.Optimize()
    opt.set("random_seed", SEED)
    opt.set("rlimit", RLIMIT)
    opt.set("timeout", max(1, int(remaining * 1000)))
    opt.add(enc.param_ranges(), *constraints, goal)
    for name in enc.params:  # objectives added first take priority: lexicographic
        opt.minimize(_as_int(enc, name))
    r = opt.check()
    if r == z3.sat:
        return values_in(enc, opt.model())
    if r == z3.unsat:
        return None
    return str(opt.reason_unknown())


def concrete(sym: Symbols, values: Values) -> tuple[CompiledModel, Symbols]:
    """The model with its params fixed at `values`, as `-D NAME=VALUE` would fix them."""
    overrides: dict[str, int | str] = {**sym.consts, **values}
    # a symbolic size (smt/sizes.py) may go past the explicit engine's kind size
    fixed, diags = build_symbols(sym.program, overrides, max_kind_size=SMT_MAX_KIND_SIZE)
    errors = [d for d in diags if d.severity == "error"]
    if errors:
        raise ReplayError(f"params {values}: {errors[0].message}; this is a kcheck bug")
    return compile_model(fixed, symmetry=False), fixed


class Reachability:
    """The unrolling from the symbolic initial states, steps under activation literals, for
    queries about "some depth up to N" (each depth with only its own steps asserted)."""

    def __init__(self, enc: Encoder, base: Unrolling) -> None:
        self.enc = enc
        self.base = base
        ways, self.init_fail = enc.initial(base.state(0))
        # where `init` fails (for some params) the concrete model has no initial state at all
        self.init_ok = z3.And(ways, z3.Not(self.init_fail))

    def constraints(self, depth: int) -> list[Term]:
        lits = [z3.Bool(f"_r{i}") for i in range(depth)]
        return [self.init_ok] + [z3.Implies(lit, self.base.step(i)) for i, lit in enumerate(lits)]

    def within(self, depth: int, bad: Callable[[int], Term]) -> Term:
        """`bad(d)` at some depth d <= `depth`, reached by d steps."""
        lits = [z3.Bool(f"_r{i}") for i in range(depth)]
        return _or([z3.And(bad(d), *lits[:d]) for d in range(depth + 1)])


def witness(
    sym: Symbols, values: Values, name: str | None, depth: int, timeout_s: float
) -> PropertyResult:
    """The concrete engine's verdict for `name` (None: the bound entry) with the params fixed;
    it must be a violation, with a replayed trace."""
    t0 = time.monotonic()
    model, fixed = concrete(sym, values)
    result = bmc(model, fixed, depth, [name] if name else [], timeout_s, properties=[])
    found = [
        p
        for p in result.properties
        if (p.name == name if name else p.kind == "bound") and p.status == VIOLATED
    ]
    unknown = [p.reason for p in result.properties if (p.reason or "").startswith("Z3 answered")]
    if not found and (unknown or time.monotonic() - t0 >= timeout_s):
        why = f"fails for {show_values(sym, values)}, but finding its trace ran out of time"
        line = next((i.span.line for i in sym.invariants if i.name == name), None)
        kind = "invariant" if name else "bound"
        return PropertyResult(name or "bound", kind, INCONCLUSIVE, line, None, why)
    if not found:
        raise ReplayError(
            f"symbolic params: {name or 'a bound error'} fails for {values} symbolically but "
            "not concretely; this is a kcheck bug"
        )
    why = f"fails for {show_values(sym, values)} (the smallest failing params within {depth} steps)"
    reason = f"{found[0].reason}; {why}" if found[0].reason else why
    return replace(found[0], reason=reason)


class SymbolicProver(Prover):
    """k-induction from the symbolic initial states; a violation is reported for the smallest
    failing params."""

    def __init__(self, model: CompiledModel, enc: Encoder, deadline: Deadline) -> None:
        self.reach = Reachability(enc, Unrolling(enc, "b"))
        super().__init__(model, enc, lambda st: self.reach.init_ok, deadline)
        self.base = self.reach.base  # the prover's base case and the reach queries share terms

    def init_failure(self, depth: int) -> PropertyResult | None:
        """The bound entry when `init` itself fails for some params, else None."""
        if z3.is_false(self.reach.init_fail):
            return None
        values = smallest(self.enc, [], self.reach.init_fail, self.deadline)
        if values is None:
            return None
        if not isinstance(values, dict):
            # the prover starts only from the params where `init` succeeds: not knowing
            # whether it fails for some is no proof that it never does
            return _init_unknown(values)
        return replace(
            witness(self.enc.sym, values, None, depth, self.deadline.remaining()), engine=ENGINE
        )

    def violated(self, goal: Goal, m: Any, d: int, max_k: int) -> Outcome:
        if goal.fact:
            return Outcome("violated", d + 1)  # a fact induction wanted to assume
        # the base case covers states up to max_k - 1, and a failing step from the last of
        # them is the max_k-th: the concrete witness must look one step further for it
        depth = max_k - 1
        bad = goal.bad
        values = smallest(
            self.enc,
            self.reach.constraints(depth),
            self.reach.within(depth, lambda i: bad(self.base, i)),
            self.deadline,
        )
        if not isinstance(values, dict):
            values = values_in(self.enc, m)  # the Z3 model's own params fail too
        name = None if goal.bound else goal.name
        steps = depth + 1 if goal.bound else depth
        entry = witness(self.enc.sym, values, name, steps, self.deadline.remaining())
        entry = replace(entry, engine=ENGINE)
        # no replayed trace (its search ran out of time): no verdict either
        status = "violated" if entry.status == VIOLATED else "unknown"
        return Outcome(status, d + 1, entry.trace, reason=entry.reason or "", entry=entry)

    def where(self, m: Any) -> str:
        return f"with {show_values(self.enc.sym, values_in(self.enc, m))}, "


def _init_unknown(why: str) -> PropertyResult:
    return PropertyResult(
        "bound", "bound", INCONCLUSIVE, None, None,
        f"not proved that `init` succeeds for every value of the params: Z3 answered unknown "
        f"({why})",
        engine=ENGINE,
    )  # fmt: skip


def symbolic_bmc(
    model: CompiledModel,
    sym: Symbols,
    depth: int,
    invariants: Sequence[str] | None = None,
    timeout_s: float = 60.0,
    properties: Sequence[str] | None = None,
    encoder: Callable[[CompiledModel, Symbols, bool], Encoder] = Encoder,
) -> CheckResult:
    """BMC to `depth` for every value of the params at once: for each invariant, the smallest
    params for which it fails within `depth` steps (with a concrete trace), or none; each
    selected temporal property (None: all, unless invariants were named) is listed as not checked."""
    t0 = time.monotonic()
    deadline = Deadline(timeout_s)
    enc = encoder(model, sym, True)  # smt/sizes.py's for symbolic sizes
    names = list(invariants) if invariants is not None else [i.name for i in sym.invariants]
    by_name = {inv.name: inv for inv in sym.invariants}
    for n in names:
        enc.check_invariant(by_name[n])
    reach = Reachability(enc, Unrolling(enc, "b"))
    constraints = reach.constraints(depth)
    results: list[PropertyResult] = []
    init_fails = smallest(enc, [], reach.init_fail, deadline)
    if isinstance(init_fails, dict):
        results.append(witness(sym, init_fails, None, depth, deadline.remaining()))
    elif init_fails is not None:
        results.append(_init_unknown(init_fails))
    for n in names:
        inv = by_name[n]
        goal = reach.within(depth, _violation(enc, inv, reach.base))
        values = smallest(enc, constraints, goal, deadline)
        if isinstance(values, dict):
            results.append(witness(sym, values, n, depth, deadline.remaining()))
        else:
            why = (
                f"no violation up to depth {depth} for any params in range"
                + (" that satisfy the assumptions" if sym.assumptions else "")
                if values is None
                else f"Z3 answered unknown ({values})"
            )
            results.append(PropertyResult(n, "invariant", INCONCLUSIVE, inv.span.line, None, why))
    # a step that fails from a state reached in fewer than `depth` steps
    if depth and not isinstance(init_fails, dict):
        fails = reach.within(depth - 1, reach.base.fail)
        values = smallest(enc, constraints, fails, deadline)
        if isinstance(values, dict):
            results.append(witness(sym, values, None, depth, deadline.remaining()))
        elif values is not None:  # not knowing is no "no step fails": say so
            why = f"not checked that no step leaves the model's bounds: Z3 answered unknown ({values})"
            results.append(PropertyResult("bound", "bound", INCONCLUSIVE, None, None, why))
    results = [replace(p, engine="bmc") for p in results]
    results += temporal_not_checked(model, properties, "bmc", invariants)
    stats = Stats(depth=depth, seconds=time.monotonic() - t0)
    notes = [f"bounded model checking to depth {depth}: no claim beyond it", describe_ranges(sym)]
    return CheckResult(model.name, "bmc", stats, results, complete=False,
                       limit=f"depth {depth}", notes=notes)  # fmt: skip


def _violation(enc: Encoder, inv: ast.Invariant, base: Unrolling) -> Callable[[int], Term]:
    return lambda d: enc.violation(inv, base.state(d))
