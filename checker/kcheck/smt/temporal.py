"""Temporal properties and fairness over Z3 terms (spec/smt.md, "Temporal properties"): the
pieces lasso.py (bounded fair lassos) and liveness.py (proofs) share, and the concrete check
every lasso Z3 finds must pass before it is reported.

A property's state formulas are encoded once per binding of its leading `forall` binders,
exactly as the compiled model's `_prop_*` predicates are (model/properties.py): an object's
trigger counts only while it lives and its `where` holds, the other formulas count as met while
it does not. Fairness is per action, as in explore/liveness.py: an action is *enabled* in a
state when one of its instances has a branch that completes there (failing instances are not
steps), and it is *taken* on a step when one of its branches leads from the first state to the
second (whichever action the selector of the step picked: a loop repeated forever can let each
action that could take a step take it in turn).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import z3  # type: ignore[import-untyped]

from kcheck.lang import ast
from kcheck.lang.symbols import Symbols
from kcheck.lang.types import BOOL, TEnum, TInt, TRef, Type
from kcheck.model.ir import CompiledModel, PropertyInfo, State, StepError
from kcheck.model.properties import MAX_PROPERTY_INSTANCES, state_formulas, unquantified
from kcheck.smt.encode import Encoder
from kcheck.smt.terms import FALSE, TRUE, Env, Instance, Term, _and, _or

SHAPES = ("eventually always", "always eventually", "leads_to", "always")

Guard = Callable[[tuple[Term, ...]], tuple[Term, Term]]  # (value, error) in a state


@dataclass(frozen=True)
class Binding:
    label: str  # `p=Pod#0`, "" for an unquantified property
    env: Env
    guards: tuple[Guard, ...]  # liveness of bound objects, then `where`s, in order


class PropertyTerms:
    """One temporal property's state formulas (P, or P and Q for leads_to), per binding."""

    def __init__(self, enc: Encoder, prop: ast.Property, info: PropertyInfo) -> None:
        self.enc = enc
        self.info = info
        self.shape = info.shape
        self.formulas = state_formulas(unquantified(prop.expr))
        self.bindings = _bindings(enc, prop.expr)
        self.decreases = prop.decreases  # the measures its `decreases` clause offers
        self._memo: dict[Any, Any] = {}  # the formulas over the template state, and renamed

    def formula(self, b: Binding, j: int, st: tuple[Term, ...]) -> tuple[Term, Term]:
        """(value, error) of formula j for binding b in state `st`, guarded as compiled: the
        trigger of leads_to is `guard and P`, every other formula `not guard or F`."""
        val, err = self.enc.per_state(
            self._memo, (b.label, j), st, lambda s: self._formula(b, j, s)
        )
        return val, err

    def _formula(self, b: Binding, j: int, st: tuple[Term, ...]) -> tuple[Term, Term]:
        val, err = self.enc.expr(self.formulas[j], dict(b.env), st)
        if not b.guards:
            return val, err
        gv, ge = TRUE, FALSE
        for g in b.guards:  # `a and b and ...`: each evaluated only where the ones before hold
            v, e = g(st)
            ge = _or([ge, _and(gv, e)])
            gv = _and(gv, v)
        err = _or([ge, _and(gv, err)])
        trigger = j == 0 and len(self.formulas) == 2
        return (_and(gv, val) if trigger else _or([z3.Not(gv), val])), err

    def holds(self, b: Binding, j: int, st: tuple[Term, ...]) -> Term:
        """Formula j is true in `st` (one that cannot be evaluated is not)."""
        v, e = self.formula(b, j, st)
        return _and(v, z3.Not(e))

    def error(self, st: tuple[Term, ...]) -> Term:
        """Some formula of some binding cannot be evaluated in `st`."""
        return _or(
            [self.formula(b, j, st)[1] for b in self.bindings for j in range(len(self.formulas))]
        )


def _bindings(enc: Encoder, e: ast.Expr) -> list[Binding]:
    """Every binding of the leading `forall` binders, in the compiled model's order; [] when
    the explicit engine cannot check them one by one either (model/properties.instances)."""
    out: list[Binding] = [Binding("", {}, ())]
    while isinstance(e, ast.Quant) and e.quant == "forall":
        for b in e.binders:
            nxt: list[Binding] = []
            for one in out:
                values = _values(enc, b, one.env)
                if values is None:
                    return []
                for shown, term, ty, guard in values:
                    tag = f"{b.name}={shown}"
                    label = f"{one.label}, {tag}" if one.label else tag
                    guards = one.guards + ((guard,) if guard is not None else ())
                    nxt.append(Binding(label, {**one.env, b.name: (term, ty)}, guards))
            out = nxt
            if len(out) > MAX_PROPERTY_INSTANCES:
                return []
        if e.where is not None:
            out = [Binding(o.label, o.env, (*o.guards, _where(enc, e.where, o.env))) for o in out]
        e = e.body
    return out


def _where(enc: Encoder, where: ast.Expr, env: Env) -> Guard:
    return lambda st: enc.expr(where, dict(env), st)


def _live(enc: Encoder, kind: str, slot: int) -> Guard:
    k = enc.layout.kind(kind)
    return lambda st: (st[k.slot_base(slot)] != 0, FALSE)


def _values(
    enc: Encoder, b: ast.Binder, env: Env
) -> list[tuple[str, Term, Type, Guard | None]] | None:
    d = b.domain
    if isinstance(d, ast.RangeDomain):
        lo, hi = enc._const_int(d.lo, env), enc._const_int(d.hi, env)
        if lo is None or hi is None:
            return None
        return [(str(v), z3.IntVal(v), TInt(), None) for v in range(lo, hi + 1)]
    x = d.expr
    if not isinstance(x, ast.Name) or x.id in env:
        return None
    if x.id in enc.sym.kinds:
        k = enc.layout.kind(x.id)
        return [
            (f"{x.id}#{i}", z3.IntVal(i), TRef(x.id), _live(enc, x.id, i)) for i in range(k.slots)
        ]
    if x.id == "bool":
        return [("false", z3.BoolVal(False), BOOL, None), ("true", z3.BoolVal(True), BOOL, None)]
    if x.id in enc.sym.enums:
        members = enc.sym.enums[x.id]
        return [(m, z3.IntVal(i), TEnum(x.id), None) for i, m in enumerate(members)]
    return None


def property_terms(enc: Encoder, symbols: Symbols, info: PropertyInfo) -> PropertyTerms | None:
    """The terms of a property, or None when it cannot be checked binding by binding."""
    prop = next(p for p in symbols.properties if p.name == info.name)
    if info.shape not in SHAPES:
        return None
    terms = PropertyTerms(enc, prop, info)
    return terms if terms.bindings and info.instances else None


def selected(
    model: CompiledModel, names: Sequence[str] | None, invariants: Sequence[str] | None
) -> list[PropertyInfo]:
    """The temporal properties a run is asked about: as on the command line, None selects
    every one when no invariant was named either, else none."""
    if names is None and invariants is not None:
        return []
    return [p for p in model.properties if names is None or p.name in names]


# ---- fairness over Z3 terms
@dataclass(frozen=True)
class Fairness:
    weak: tuple[int, ...]
    strong: tuple[int, ...]

    @staticmethod
    def of(model: CompiledModel) -> Fairness:
        weak = tuple(a.id for a in model.actions if a.fairness == "weak")
        strong = tuple(a.id for a in model.actions if a.fairness == "strong")
        return Fairness(weak, strong)

    @property
    def fair(self) -> tuple[int, ...]:
        return self.weak + self.strong


def enabled(insts: list[Instance], aid: int) -> Term:
    """Action `aid` has a step (a branch that completes) from the state of `insts`."""
    return _or([br.ok for i in insts if i.action == aid for br in i.branches])


def time_stops(insts: list[Instance], actions: int) -> Term:
    """No step at all from the state of `insts`, `time.tick` included (a timelock in a model
    with time, spec/explorer.md "Timelocks"): none of the `actions` is enabled (a `when` that
    holds over a body with no successor, a `choose` with nothing to choose, is not), and no
    instance fails (a failing step is a bound hit, never a timelock)."""
    steps = [enabled(insts, aid) for aid in range(actions)]
    return z3.Not(_or([*steps, *[i.fail for i in insts]]))


def taken(insts: list[Instance], nxt: tuple[Term, ...], aid: int) -> Term:
    """Action `aid` can take the state of `insts` to `nxt`."""
    return _or(
        [
            _and(br.ok, *[x == y for x, y in zip(nxt, br.state, strict=True)])
            for i in insts
            if i.action == aid
            for br in i.branches
            if not z3.is_false(br.ok)
        ]
    )


def stops(insts: list[Instance], fair: Fairness) -> Term:
    """A behaviour may stop in this state for good: no fair action is enabled."""
    return _and(*[z3.Not(enabled(insts, a)) for a in fair.fair])


# ---- the concrete check of a lasso, on the compiled model
def _fails(model: CompiledModel, s: State) -> bool:
    return any(
        isinstance(t, StepError) for outcomes in model.action_outcomes for _, _, t in outcomes(s)
    )


def fair_loop(model: CompiledModel, states: list[State], loop: int) -> bool:
    """Repeating states[loop:] (states[-1] == states[loop]) forever, or staying in the last
    state when loop == len(states) - 1, is a fair behaviour in which no step fails."""
    fair = Fairness.of(model)
    last = len(states) - 1
    if loop == last:
        s = states[last]
        on = {a for a, _, _ in model.labelled_successors(s)}
        return not _fails(model, s) and not on & set(fair.fair)
    if states[last] != states[loop]:
        return False
    cycle = states[loop:last]
    if any(_fails(model, s) for s in cycle):
        return False
    ons = [{a for a, _, _ in model.labelled_successors(s)} for s in cycle]
    took: set[int] = set()
    for u, v in zip(states[loop:last], states[loop + 1 :], strict=True):
        took |= {a for a, _, t in model.labelled_successors(u) if t == v}
    weak_ok = all(a in took or any(a not in e for e in ons) for a in fair.weak)
    strong_ok = all(a in took or all(a not in e for e in ons) for a in fair.strong)
    return weak_ok and strong_ok


def violation(
    shape: str, preds: Sequence[Callable[[State], bool]], states: list[State], loop: int
) -> int | None:
    """Where the lasso (states, loop) breaks the property for these predicates: the trigger
    step for leads_to, the loop start otherwise; None when it does not break it."""
    last = len(states) - 1
    cycle = range(loop, last) if loop < last else range(last, last + 1)
    end = cycle.stop
    p = preds[0]
    if shape == "eventually always":
        return loop if any(not p(states[i]) for i in cycle) else None
    if shape == "always eventually":
        return loop if all(not p(states[i]) for i in cycle) else None
    if shape == "leads_to":
        q = preds[1]
        for t in range(end):
            if p(states[t]) and all(not q(states[j]) for j in range(min(t, loop), end)):
                return t
    return None
