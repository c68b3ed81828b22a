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

from collections.abc import Callable, Iterator
from typing import Any

import z3  # type: ignore[import-untyped]

from kcheck.lang import ast
from kcheck.lang.symbols import Symbols
from kcheck.lang.types import TEnum, TInt, TRef
from kcheck.model.actions import units
from kcheck.model.ir import CompiledModel
from kcheck.smt import conflicts, controllers
from kcheck.smt.refuse import Unsupported
from kcheck.smt.scheduler import bind_instances
from kcheck.smt.stmt import StmtEncoder
from kcheck.smt.template import Renaming, instance_terms, rename_instances, state_constants
from kcheck.smt.terms import FALSE, TRUE, Branch, Env, Instance, Term, _and, _or

__all__ = ["Branch", "Encoder", "Instance", "Term", "Unsupported"]


class Encoder(StmtEncoder):
    """Encodes one compiled model: its initial states, action instances and invariants;
    construction refuses unsupported models up front."""

    def __init__(self, model: CompiledModel, sym: Symbols, symbolic_params: bool = False) -> None:
        super().__init__(model, sym, symbolic_params)
        # the compiled units, in action-id order: actions (each segment of a split one), a
        # scheduler's bind, a stale informer's sync
        self.units = units(sym, self.splits)
        assert len(self.units) == len(model.actions)
        # the template state, its constants, and its instances with their Renaming
        self._template: tuple[tuple[Term, ...], list[Term]] | None = None
        self._instances: tuple[list[Instance], Renaming] | tuple[()] | None = None

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
        self.view = {}
        for var in self.layout.vars:
            if var.name not in self.sym.vars:  # a split action's cell: not in flight
                start[var.index] = z3.IntVal(-1 if isinstance(var.type, TRef) else 0)
                continue
            v, _ = self.expr(self.sym.vars[var.name].decl.init, {}, ())
            self._fail(TRUE, self._range_err(var.type, v))  # as the compiled _initial checks
            start[var.index] = self._stored(var.type, v)
        self.step_start = tuple(start)
        stmts = tuple(s for i in self.sym.inits for s in i.body.stmts)
        branches = self.block(stmts, [Branch(TRUE, tuple(start), {})])
        fail, self.fails = _or(self.fails), []
        # controllers start once their informers have synced
        ways = [
            _and(b.ok, *[x == y for x, y in zip(st, controllers.start(self, b.state), strict=True)])
            for b in branches
            if not z3.is_false(b.ok)
        ]
        return _or(ways), fail

    # ---- whole actions and invariants
    def instances(self, st: tuple[Term, ...]) -> list[Instance]:
        """Every action instance from state `st`, in the compiled model's action order: for a
        state of fresh constants, the template state's renamed (smt/template.py)."""
        constants = self.constants_of(st)
        if constants is None:
            return self.build_instances(st)
        if self._instances is None:
            tmpl, made = self.template()
            insts = self.build_instances(tmpl)
            terms = instance_terms(insts)
            self._instances = (insts, Renaming(tmpl, made, terms)) if terms is not None else ()
        if not self._instances:  # a local that is not a term: encoded state by state
            return self.build_instances(st)
        insts, renaming = self._instances
        if st is self.template()[0]:
            return list(insts)  # renamed onto itself they would be the same terms, rebuilt
        return rename_instances(insts, renaming, st, constants)

    def template(self) -> tuple[tuple[Term, ...], list[Term]]:
        """The template state terms are built over before renaming, and its constants."""
        if self._template is None:
            tmpl = self.fresh_state("_template", pin=False)
            made = state_constants(tmpl, self.sets)
            assert made is not None
            self._template = tmpl, made
        return self._template

    def constants_of(self, st: tuple[Term, ...]) -> list[Term] | None:
        """The constants of `st` when terms about it may be renamed from the template's."""
        constants = state_constants(st, self.sets, self.pinned)
        if constants is None or len(constants) != len(self.template()[1]):
            return None
        return constants

    def per_state(
        self,
        memo: dict[Any, Any],
        key: Any,
        st: tuple[Term, ...],
        build: Callable[[tuple[Term, ...]], tuple[Term, ...]],
    ) -> tuple[Term, ...]:
        """build(st), by renaming what it built over the template state (kept in `memo` under
        `key`, as are its renamings) when `st` allows."""
        constants = self.constants_of(st)
        if constants is None:
            return build(st)
        at = (key, *[c.get_id() for c in constants])
        done = memo.get(at)
        if done is not None:  # it holds its state: those ids are not another's
            return done[1]  # type: ignore[no-any-return]
        made = memo.get(key)
        if made is None:
            tmpl, tc = self.template()
            terms = build(tmpl)
            made = memo[key] = terms, Renaming(tmpl, tc, terms)
        terms, renaming = made
        new = renaming.onto(st, constants)
        out = tuple(new(t) for t in terms)
        memo[at] = st, out
        return out

    def build_instances(self, st: tuple[Term, ...]) -> list[Instance]:
        """instances(st), encoded from the model."""
        out: list[Instance] = []
        self.step_start = st
        try:
            for aid, u in enumerate(self.units):
                self.view = {}
                if u.sync is not None:
                    ok, after = controllers.sync(self, u.actor.name, u.sync, st)
                    out.append(Instance(aid, (), (Branch(ok, after, {}),), FALSE))
                    continue
                if u.action is None:
                    assert isinstance(u.actor, ast.Scheduler)
                    done = bind_instances(self, u.actor, aid, st)
                else:
                    done = self._action(aid, u.actor, u.action, u.segment, st)
                out.extend(_note_changes(self, st, done))
        finally:
            self.fails = []
            self.view = {}
        return out

    def _headers(
        self, actor: ast.Actor, a: ast.Action, segment: int, st: tuple[Term, ...]
    ) -> Iterator[tuple[Env, tuple[int, ...], Term]]:
        """The instances of an action: (env, arguments, enabled so far), with the errors of
        its header recorded. A handler has one per slot with news, whatever its presence."""
        if a.handler:
            b = a.binders[0]
            kname = _handled_kind(a)
            for slot in range(self.layout.kind(kname).slots):
                self.fails = []
                env: Env = {b.name: (z3.IntVal(slot), TRef(kname))}
                yield env, (slot,), controllers.news(self, actor.name, kname, slot, st)
            return
        for env, args, pres in self._combos(a.binders, {}, st):
            self.fails = []
            ok, _ = self._cond(pres, None, env, st)
            ok = self._fail(ok, self._domains_err(a.binders, {}, st))
            if a.where is not None and segment == 0:
                wv, we = self.expr(a.where, env, st)
                ok = _and(self._fail(ok, we), wv)
            yield env, args, ok

    def _action(
        self, aid: int, actor: ast.Actor, a: ast.Action, segment: int, st: tuple[Term, ...]
    ) -> list[Instance]:
        """The instances of one action, or of one segment of an action split by `step`."""
        cached = self.stale.get(actor.name, ()) if isinstance(actor, ast.Controller) else ()
        self.view = {k: actor.name for k in cached}
        budget = self.budget_index.get(actor.name) if isinstance(actor, ast.Fault) else None
        sp = self.splits.get((actor.name, a.name))
        stmts = a.body.stmts if sp is None else sp.segments[segment]
        out: list[Instance] = []
        for env, args, ok in self._headers(actor, a, segment, st):
            if sp is not None:
                cell = controllers.cell_index(self, sp, "@step", controllers.binder_slot(sp, env))
                ok = _and(ok, st[cell] == segment)
            if segment == 0 and not a.handler:  # handlers only hear news, like informers
                ok = _and(ok, controllers.not_busy(self, actor.name, a, env, st))
            if a.when is not None and segment == 0:
                wv, we = self.expr(a.when, env, st)
                ok = _and(self._fail(ok, we), wv)
            start = st
            if budget is not None:
                ok = _and(ok, st[budget.index] < budget.budget)
                start = _replace(start, budget.index, st[budget.index] + 1)
            if a.handler:  # the notification delivers the object's latest state
                kname = _handled_kind(a)
                start = controllers.deliver(self, actor.name, kname, args[0], start)
            if sp is not None and segment > 0:  # the locals an earlier segment left
                env = dict(env)
                slot = controllers.binder_slot(sp, env)
                low = sp.lowered
                for n in sp.live_after(segment - 1) if low is None else low.needs[segment]:
                    ty = self.local_types[(sp.group, n)]
                    raw = st[controllers.cell_index(self, sp, f"@{n}", slot)]
                    if isinstance(ty, TRef) and not ty.optional:  # deleted while in flight
                        ok = self._fail(ok, raw < 0)
                    env[n] = (self._load(ty, raw), ty)
            self.split = sp  # where a `Jump` saves its resume point
            try:
                branches = self.block(stmts, [Branch(ok, start, env)])
            finally:
                self.split = None
            if sp is not None and sp.lowered is None:  # a lowered one ends in `Jump`s
                branches = [
                    Branch(
                        br.ok,
                        controllers.suspend(self, sp, segment, br.env, br.state, self.local_types),
                        br.env,
                    )
                    for br in branches
                ]
            if isinstance(actor, ast.Controller):
                branches = [
                    Branch(br.ok, controllers.note_own_writes(self, actor.name, st, br.state), br.env)
                    for br in branches
                ]  # fmt: skip
            out.append(Instance(aid, args, tuple(branches), _or(self.fails)))
        return out

    def violation(self, inv: ast.Invariant, st: tuple[Term, ...]) -> Term:
        """The invariant fails in `st`: false, or not evaluable (as the explicit engine says)."""
        self.view = {}
        v, err = self.expr(inv.expr, {}, st)
        return _or([err, z3.Not(v)])

    def check_invariant(self, inv: ast.Invariant) -> None:
        """Refuse an invariant that cannot be encoded, before any solving."""
        self.violation(inv, self.fresh_state("probe"))


def _note_changes(enc: Encoder, st: tuple[Term, ...], insts: list[Instance]) -> list[Instance]:
    """Every step but a sync's ends by noting the objects it changed, for `unchanged(x)`
    (smt/conflicts.py; a sync changes no real object), and by dropping the pending own writes
    of objects gone from the apiserver and from a coalesced cache (controllers.py)."""
    watched = [(x, k) for x, ks in enc.stale.items() for k in ks]
    versions = any(conflicts.changed_index(enc, x, k) is not None for x, k in watched)
    own = any(controllers.own_field(enc, x, k) is not None for x, k in watched)
    if not versions and not own:
        return insts

    def end(state: tuple[Term, ...]) -> tuple[Term, ...]:
        return conflicts.note_changes(enc, st, controllers.forget_gone_writes(enc, state))

    return [
        Instance(
            inst.action,
            inst.args,
            tuple(Branch(b.ok, end(b.state), b.env) for b in inst.branches),
            inst.fail,
        )
        for inst in insts
    ]


def _replace(st: tuple[Term, ...], i: int, v: Term) -> tuple[Term, ...]:
    return (*st[:i], v, *st[i + 1 :])


def _handled_kind(a: ast.Action) -> str:
    """The kind a handler `on x in K` hears of."""
    d = a.binders[0].domain
    assert isinstance(d, ast.ExprDomain) and isinstance(d.expr, ast.Name)
    return d.expr.id
