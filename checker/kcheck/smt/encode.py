"""The symbolic semantics of a checked model over Z3 integer terms (spec/smt.md): the `Encoder`
that bmc.py, induction.py and params.py use, with a model's initial states, action instances and
invariants.

A state is a list of Z3 terms, one per slot of the compiled layout (ir.Layout): the same flat
numbering the explicit engine uses, so a Z3 model converts back into a `State` tuple slot by
slot. Expressions (expr.py) evaluate to a pair (value, error); statements (stmt.py) map
branches to branches. An action instance becomes a list of branches (one per `choose`
candidate or `any` value) whose `ok` condition says the step completes, plus one `fail`
condition that says the step raises. A failing step is not a transition, exactly as in
`CompiledModel.labelled_successors`; bmc.py reports a reachable `fail` as a bound violation.

What is not encoded is refused with `Unsupported`, never approximated.
"""

from __future__ import annotations

import z3  # type: ignore[import-untyped]

from kcheck.lang import ast
from kcheck.lang.symbols import Symbols
from kcheck.lang.types import TEnum, TInt
from kcheck.model.ir import CompiledModel
from kcheck.smt.refuse import Unsupported
from kcheck.smt.scheduler import bind_instances
from kcheck.smt.stmt import StmtEncoder
from kcheck.smt.terms import TRUE, Branch, Instance, Term, _and, _or

__all__ = ["Branch", "Encoder", "Instance", "Term", "Unsupported"]


class Encoder(StmtEncoder):
    """Encodes one compiled model: its initial states, action instances and invariants;
    construction refuses unsupported models up front."""

    def __init__(self, model: CompiledModel, sym: Symbols, symbolic_params: bool = False) -> None:
        super().__init__(model, sym, symbolic_params)
        self.units: list[tuple[int, ast.Actor, ast.Action | None]] = []
        aid = 0
        for actor in sym.actors:
            if isinstance(actor, ast.Scheduler):
                self.units.append((aid, actor, None))  # its bind step comes first
                aid += 1
            for act in actor.actions:
                self.units.append((aid, actor, act))
                aid += 1
        assert aid == len(model.actions)

    def param_ranges(self) -> Term:
        """Every symbolic param within its declared range, and every `assume` true."""
        parts: list[Term] = []
        for n, term in self.params.items():
            ty = self.sym.params[n].type
            if isinstance(ty, TInt) and ty.lo is not None and ty.hi is not None:
                parts.append(z3.And(term >= ty.lo, term <= ty.hi))
            elif isinstance(ty, TEnum):
                parts.append(z3.And(term >= 0, term < len(self.sym.enums[ty.name])))
        if self.params:  # with concrete params, check_source has already held them to it
            for a in self.sym.assumptions:
                holds, fails = self.expr(a.expr, {}, ())
                parts.append(z3.And(holds, z3.Not(fails)))
        return _and(*parts)

    def initial(self, st: tuple[Term, ...]) -> tuple[Term, Term]:
        """(`st` is an initial state, `init` fails): vars at their declared initial values,
        budgets unspent, no objects, then the `init` blocks, every branch of them."""
        start: list[Term] = [z3.IntVal(0)] * self.layout.width
        self.fails = []
        for var in self.layout.vars:
            v, _ = self.expr(self.sym.vars[var.name].decl.init, {}, ())
            self._fail(TRUE, self._range_err(var.type, v))  # as the compiled _initial checks
            start[var.index] = self._stored(var.type, v)
        self.step_start = tuple(start)
        stmts = tuple(s for i in self.sym.inits for s in i.body.stmts)
        branches = self.block(stmts, [Branch(TRUE, tuple(start), {})])
        fail, self.fails = _or(self.fails), []
        ways = [
            _and(b.ok, *[x == y for x, y in zip(st, b.state, strict=True)])
            for b in branches
            if not z3.is_false(b.ok)
        ]
        return _or(ways), fail

    # ---- whole actions and invariants
    def instances(self, st: tuple[Term, ...]) -> list[Instance]:
        """Every action instance from state `st`, in the compiled model's action order."""
        out: list[Instance] = []
        self.step_start = st
        for aid, actor, a in self.units:
            if a is None:
                assert isinstance(actor, ast.Scheduler)
                out.extend(bind_instances(self, actor, aid, st))
                continue
            budget = self.budget_index.get(actor.name) if isinstance(actor, ast.Fault) else None
            for env, args, pres in self._combos(a.binders, {}, st):
                self.fails = []
                ok, _ = self._cond(pres, None, env, st)
                ok = self._fail(ok, self._domains_err(a.binders, {}, st))
                if a.where is not None:
                    wv, we = self.expr(a.where, env, st)
                    ok = _and(self._fail(ok, we), wv)
                if a.when is not None:
                    wv, we = self.expr(a.when, env, st)
                    ok = _and(self._fail(ok, we), wv)
                start = list(st)
                if budget is not None:
                    ok = _and(ok, st[budget.index] < budget.budget)
                    start[budget.index] = st[budget.index] + 1
                branches = self.block(a.body.stmts, [Branch(ok, tuple(start), env)])
                out.append(Instance(aid, args, tuple(branches), _or(self.fails)))
        self.fails = []
        return out

    def violation(self, inv: ast.Invariant, st: tuple[Term, ...]) -> Term:
        """The invariant fails in `st`: false, or not evaluable (as the explicit engine says)."""
        v, err = self.expr(inv.expr, {}, st)
        return _or([err, z3.Not(v)])

    def check_invariant(self, inv: ast.Invariant) -> None:
        """Refuse an invariant that cannot be encoded, before any solving."""
        self.violation(inv, self.fresh_state("probe"))
