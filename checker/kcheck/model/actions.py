"""Actions, compiled: the list of compiled units (each action, or each segment of one split by
`step`; each scheduler's bind; each stale informer's sync), what the engines are told about
each (ActionInfo), and the code of one unit: its header's instances, guards (`when`, budget,
work queue, step position) and body, in the hot form or the labelled per-action form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kcheck.lang import ast
from kcheck.lang.symbols import Symbols
from kcheck.lang.types import TRef, Type
from kcheck.model.context import CompileContext
from kcheck.model.controller_codegen import ControllerCodegen
from kcheck.model.controller_state import Split
from kcheck.model.coverage import Cover, conjuncts
from kcheck.model.env import Ctx, Env, Local
from kcheck.model.expr import ExprCompiler
from kcheck.model.ir import ActionInfo
from kcheck.model.scheduler import SchedulerCompiler
from kcheck.model.stmt import StmtCompiler


@dataclass(frozen=True)
class Unit:
    """One compiled action: an action (or one segment of a split one), a scheduler's bind
    (`action` None), or a controller's informer sync (`sync` names the kind)."""

    actor: ast.Actor
    action: ast.Action | None
    segment: int = 0
    sync: str | None = None
    span: ast.Span = ast.NOWHERE


def units(sym: Symbols, splits: dict[tuple[str, str], Split]) -> list[Unit]:
    """Every compiled unit, in action-id order."""
    out: list[Unit] = []
    for actor in sym.actors:
        if isinstance(actor, ast.Scheduler):
            out.append(Unit(actor, None))
        for act in actor.actions:
            sp = splits.get((actor.name, act.name))
            for seg in range(1 if sp is None else len(sp.segments)):
                out.append(Unit(actor, act, seg))
        if isinstance(actor, ast.Controller):
            for w in actor.watches:
                if w.stale and not any(u.sync == w.kind and u.actor is actor for u in out):
                    out.append(Unit(actor, None, sync=w.kind, span=w.span))
    return out


def action_infos(
    sym: Symbols, units: list[Unit], exprs: ExprCompiler, splits: dict[tuple[str, str], Split]
) -> list[ActionInfo]:
    """What the engines and reports know of each unit: names, parameters, fairness, span."""
    actions: list[ActionInfo] = []
    for aid, u in enumerate(units):
        actor, a = u.actor, u.action
        if u.sync is not None:
            name = f"sync@{u.sync}"
            actions.append(ActionInfo(aid, actor.name, "controller", name, "weak", (), u.span))
        elif a is None:
            assert isinstance(actor, ast.Scheduler)
            pk = sym.kinds[actor.pod_kind]
            bf = pk.field(actor.node_field)
            assert bf is not None and isinstance(bf.type, TRef)
            params: tuple[tuple[str, Type], ...] = (
                ("pod", TRef(actor.pod_kind)),
                ("node", TRef(bf.type.kind)),
            )
            actions.append(
                ActionInfo(aid, actor.name, "scheduler", "bind", "weak", params, actor.span)
            )
        else:
            env_types: Env = {}
            ps: list[tuple[str, Type]] = []
            for b in a.binders:
                ty, _, _ = exprs.binding.domain(b.domain, env_types, "s")
                env_types[b.name] = Local("0", ty)
                ps.append((b.name, ty))
            fairness = a.fairness or ("unfair" if isinstance(actor, ast.Fault) else "weak")
            name, span = a.name, a.span
            sp = splits.get((actor.name, a.name))
            if sp is not None and sp.lowered is not None and u.segment > 0:
                # `step` inside a block: located at its `step`, or at the loop whose next item
                # it picks (lang/steps.py)
                name, span = f"{a.name}:{u.segment + 1}", sp.lowered.spans[u.segment]
            elif sp is not None and u.segment > 0:  # a later step starts after its `step`
                # it is located at its `step` (a step may have no statements: issue 19 point 5)
                steps = [st for st in a.body.stmts if isinstance(st, ast.Step)]
                name, span = f"{a.name}:{u.segment + 1}", steps[u.segment - 1].span
            actions.append(
                ActionInfo(aid, actor.name, _actor_kind(actor), name, fairness, tuple(ps), span)
            )
    return actions


class ActionCompiler:
    def __init__(
        self,
        ctx: CompileContext,
        exprs: ExprCompiler,
        stmts: StmtCompiler,
        cc: ControllerCodegen,
        scheduler: SchedulerCompiler,
    ) -> None:
        self.ctx = ctx
        self.gen = ctx.gen
        self.exprs = exprs
        self.binding = exprs.binding
        self.stmts = stmts
        self.cc = cc
        self.scheduler = scheduler

    def emit_functions(self, units: list[Unit]) -> None:
        """The hot successor functions (every unit inline), and one labelled generator per unit
        `_lab_<aid>` for traces, and to isolate an action whose step fails."""
        g = self.gen
        # the hot path: every action inline in one function that returns a list; a second
        # form for symmetric search skips action instances on twin objects (see twin_guard)
        hot = (
            ("_successors", False, False),
            ("_successors_sym", True, False),
            ("_tagged", False, True),
            ("_tagged_sym", True, True),
        )
        for name, prune, tagged in hot:
            self.ctx.tagged = tagged
            g.emit(f"def {name}(s):")
            g.depth += 1
            g.emit("out = []")
            g.emit("_ap = out.append")
            top = len(g.lines)
            self.ctx.hoist = {}
            self.ctx.hoist_lines = {}
            for aid, u in enumerate(units):
                self.emit(aid, u, False, prune)
            # group tables first: the hoisted calls may read them
            prelude = [line for lines in self.ctx.hoist_lines.values() for line in lines]
            prelude += [
                f"{v} = {k}" for k, v in self.ctx.hoist.items() if v not in self.ctx.hoist_lines
            ]
            g.lines[top:top] = ["    " * g.depth + line for line in prelude]
            self.ctx.hoist = None
            self.ctx.tagged = False
            g.emit("return out")
            g.depth -= 1
        # per action, labelled: for traces, and to isolate an action whose step fails
        for aid, u in enumerate(units):
            g.emit(f"def _lab_{aid}(s):")
            g.depth += 1
            self.emit(aid, u, True)
            g.emit("yield from ()")
            g.depth -= 1

    def emit_coverage(self, units: list[Unit]) -> Cover:
        """The coverage form `_cov_<aid>` of every unit (model/coverage.py), emitted after
        every other form so that those stay as they are without coverage."""
        g = self.gen
        cov = self.ctx.cover = Cover()
        try:
            for aid, u in enumerate(units):
                g.emit(f"def _cov_{aid}(s):")
                g.depth += 1
                cov.path = "()"
                self.emit(aid, u, True)
                g.emit("yield from ()")
                g.depth -= 1
        finally:
            self.ctx.cover = None
        for line in cov.runtime():
            g.emit(line)
        return cov

    def emit(self, aid: int, u: Unit, labelled: bool, prune: bool = False) -> None:
        """The code of one unit: labelled (a generator of (action, args, state), for traces and
        to isolate a failing step) or hot (appends successors to `_ap`)."""
        self.ctx.careful = labelled
        try:
            self._emit_one(aid, u, labelled, prune)
        finally:
            self.ctx.careful = False

    def _emit_one(self, aid: int, u: Unit, labelled: bool, prune: bool) -> None:
        if u.sync is not None:
            self.cc.sync_action(u.actor.name, u.sync, labelled, aid)
        elif u.action is None:
            assert isinstance(u.actor, ast.Scheduler)
            self.scheduler.bind(u.actor, labelled, aid, prune)
        else:
            self.action(u.actor, u.action, labelled, aid, prune, u.segment)

    def _prunable_binders(self, binders: tuple[ast.Binder, ...]) -> list[tuple[str, str]]:
        """(binder, kind) pairs that may be pruned: over a prunable kind, and the only binder
        of the action over that kind (two binders over one kind would prune each other)."""
        kinds = [
            b.domain.expr.id
            if isinstance(b.domain, ast.ExprDomain) and isinstance(b.domain.expr, ast.Name)
            else ""
            for b in binders
        ]
        return [
            (b.name, k)
            for b, k in zip(binders, kinds, strict=True)
            if k in self.ctx.prunable and kinds.count(k) == 1
        ]

    def action(
        self,
        actor: ast.Actor,
        a: ast.Action,
        labelled: bool,
        aid: int,
        prune: bool = False,
        segment: int = 0,
    ) -> None:
        """One action, or one segment of an action split by `step` (segment 0 is the part
        before the first `step`, guarded by the header; later ones resume where it stopped)."""
        g = self.gen
        actor_kind = _actor_kind(actor)
        budget = self.ctx.budget_index.get(actor.name) if isinstance(actor, ast.Fault) else None
        sp = self.ctx.splits.get((actor.name, a.name))
        stmts = a.body.stmts if sp is None else sp.segments[segment]
        g.emit(f"# {actor_kind} {actor.name}, action {a.name}:{segment + 1} (line {a.span.line})")
        self.ctx.view = {k: actor.name for k in self.ctx.stale.get(actor.name, ())}
        self.ctx.deleted = set()
        guard_ctx = Ctx(aid, "()", "s")
        where = a.where if segment == 0 else None
        cov = self.ctx.cover
        counted = where if cov is not None else None  # counted per conjunct in the guard below
        if counted is not None:
            where = None
        unrolled, (cenv, clauses, cwhere) = (
            (self.cc.notifications(actor.name, a), ({}, "", None))
            if a.handler
            else self.binding.bind_all(a.binders, where, {}, "s", guard_ctx, header=True)
        )
        instances: list[tuple[Env, list[str]]] = []
        loop_try: int | None = None
        if unrolled is not None:
            instances = [(e, [c] if c else []) for e, c in unrolled]
            depth0 = g.depth
        else:
            depth0 = g.depth
            if a.binders:
                loop_try = self.ctx.emit_clauses(clauses, cwhere, labelled)
            elif labelled:
                loop_try = self.ctx.open_try()
            instances = [(cenv, [])]
        twins = self._prunable_binders(a.binders) if prune and unrolled is not None else []
        for env, conds in instances:
            guard = list(conds)
            args_now = "(" + "".join(f"{env[b.name].code}, " for b in a.binders) + ")"
            if cov is not None and counted is not None:
                guard += [
                    cov.guard(
                        aid, "where", e, self.exprs.expr(e, env, "s", Ctx(aid, args_now, "s"))
                    )
                    for e in conjuncts(counted)
                ]
            for bname, kname in twins:
                twin = self.ctx.twin_guard(kname, env[bname].code)
                if twin:
                    guard.append(twin)
            if sp is not None:
                guard.append(f"s[{self.cc.split_index(sp, '@step', env)}] == {segment}")
            if segment == 0 and not a.handler:  # handlers only hear news, like informers
                guard += self.cc.not_busy(actor.name, a, env)
            if a.when is not None and segment == 0 and cov is not None:
                guard += [
                    cov.guard(aid, "when", e, self.exprs.expr(e, env, "s", Ctx(aid, args_now, "s")))
                    for e in conjuncts(a.when)
                ]
            elif a.when is not None and segment == 0:
                guard.append(self.exprs.expr(a.when, env, "s", Ctx(aid, args_now, "s")))
            if budget is not None:
                guard.append(f"s[{budget.index}] < {budget.budget}")
            args = "(" + "".join(f"{env[b.name].code}, " for b in a.binders) + ")"
            ctx = Ctx(aid, args, "st")
            self.ctx.deleted = set()
            instance_try = self.ctx.open_try() if labelled and unrolled is not None else None
            if guard:
                g.emit("if " + " and ".join(f"({x})" for x in guard) + ":")
                g.depth += 1
            g.emit("st = list(s)")
            if budget is not None:
                g.emit(f"st[{budget.index}] += 1")
            if a.handler:  # the notification delivers the object's latest state
                self.cc.deliver(actor.name, a, env)
            self.ctx.tolerant = labelled
            done = self.ctx.result(labelled, aid, args)
            done = self.cc.note_own_writes(actor.name, done)
            done = self.cc.note_changes(done)
            if sp is not None:
                env = self.cc.resume(sp, segment, env, Ctx(aid, args, "s"))
                if sp.lowered is not None:
                    self.stmts.jump = _jumper(self.cc, sp, done)
                done = self.cc.suspend(sp, segment, done)
            try:
                self.stmts.block(stmts, env, ctx, done)
            finally:
                self.stmts.jump = None
            self.ctx.tolerant = False
            if guard:
                g.depth -= 1
            if instance_try is not None:
                self.ctx.close_try(instance_try)
        if loop_try is not None:
            self.ctx.close_try(loop_try)
        g.depth = depth0
        self.ctx.view = {}


def _jumper(
    cc: ControllerCodegen, sp: Split, done: Callable[[Env, Ctx], None]
) -> Callable[[int, Env, Ctx], None]:
    return lambda target, env, ctx: cc.jump(sp, target, env, ctx, done)


def _actor_kind(a: ast.Actor) -> str:
    return {
        ast.Controller: "controller",
        ast.Process: "process",
        ast.Scheduler: "scheduler",
        ast.Fault: "fault",
    }[type(a)]
