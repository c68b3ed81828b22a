"""Declaration checks: initial values, defs and their call graph, actors and their actions,
handlers and steps, schedulers and their hooks, and the checker's entry point `Checker.run`.
"""

from __future__ import annotations

from dataclasses import replace

from kcheck.lang import ast
from kcheck.lang.assume import assumption_shape
from kcheck.lang.check.context import (
    ERROR,
    Ctx,
    Local,
    Sig,
    TError,
    Ty,
    comparison_swallowed,
    fits,
    head_span,
    walk,
)
from kcheck.lang.check.docker import DockerChecker
from kcheck.lang.check.manifest import manifest_errors
from kcheck.lang.check.stmt import StmtChecker
from kcheck.lang.diagnostics import Diagnostic, suggest
from kcheck.lang.keys import key_type_ok
from kcheck.lang.steps import placement, steps_of
from kcheck.lang.symbols import FEASIBLE
from kcheck.lang.types import TRef

_ACTOR_SORT = {
    ast.Controller: "controller",
    ast.Process: "process",
    ast.Scheduler: "scheduler",
    ast.Fault: "fault",
}


class Checker(StmtChecker, DockerChecker):
    """Every check, declaration by declaration."""

    # ---- declarations ---------------------------------------------------------------------

    def state_read(self, e: ast.Expr) -> ast.Expr | None:
        """The first part of an initialiser that reads state (or is not a constant form)."""
        for x in walk(e):
            match x:
                case ast.IntLit() | ast.BoolLit() | ast.NoneLit() | ast.Unary() | ast.IfExpr():
                    pass
                case ast.Binary() | ast.SetLit() | ast.Temporal() | ast.LeadsTo():
                    pass  # temporal operators get their own diagnostic from `expr`
                case ast.Call(func="min" | "max" | "abs" | "ceil"):
                    pass
                case ast.Name(id=n):
                    if n in self.var_names:
                        return x
                case _:
                    return x
        return None

    def initialiser(self, e: ast.Expr, target: Ty, what: str, ctx: Ctx) -> None:
        bad = self.state_read(e)
        if bad is not None:
            self.error(
                "KC0402",
                f"the initial value of {what} must not read the state",
                bad.span,
                help="use literals, consts, params and enum members here; "
                "compute a starting state in an `init` block",
            )
            return
        self.store(
            target, self.expr(e, replace(ctx, place=f"the initial value of {what}")), e, what
        )

    def signatures(self) -> None:
        for d in self.sym.program.decls:
            if isinstance(d, ast.Def) and self.sym.defs.get(d.name) is d:
                params = tuple((p.name, self.resolve_type(p.type), p.name_span) for p in d.params)
                self.sigs[d.name] = Sig(params, self.resolve_type(d.ret))

    def check_def(self, d: ast.Def) -> None:
        sig = self.sigs.get(d.name)
        if sig is None:  # a duplicate def, reported by build_symbols
            params = tuple((p.name, self.resolve_type(p.type), p.name_span) for p in d.params)
            sig = Sig(params, self.resolve_type(d.ret))
        ctx = Ctx(place="a def")
        for pname, ptype, pspan in sig.params:
            ctx = self.declare_local(pname, pspan, Local(ptype, "parameter", pspan), ctx)
        t = self.expr(d.body, ctx)
        if not fits(t, sig.ret):
            self.error(
                "KC0301",
                f"`{d.name}` is declared to return {sig.ret}, but its body is {t}",
                d.body.span,
                help=comparison_swallowed(d.body),
            )

    def call_target(self, c: ast.Call) -> str | None:
        """The node of the call graph a call enters: a def's name, `feasible(S)` for the filters
        of scheduler S, or None for a builtin or a call that failed to check."""
        if c.func in self.sym.defs:
            return c.func
        first = c.args[0] if c.args else None
        if c.func == FEASIBLE and isinstance(first, ast.Name) and first.id in self.schedulers():
            return f"feasible({first.id})"
        return None

    def recursion(self) -> None:
        """KC0501 once per cycle of defs calling each other, `feasible(S, ...)` counting as a
        call of every filter of S (so a filter cannot ask for its own scheduler's feasibility)."""
        bodies: dict[str, list[ast.Expr]] = {n: [d.body] for n, d in self.sym.defs.items()}
        for s in self.schedulers().values():
            bodies[f"feasible({s.name})"] = [f.expr for f in s.filters]
        calls: dict[str, list[tuple[str, ast.Call]]] = {}
        for name, exprs in bodies.items():
            calls[name] = [
                (target, x)
                for e in exprs
                for x in walk(e)
                if isinstance(x, ast.Call) and (target := self.call_target(x)) is not None
            ]
        reported: set[str] = set()

        def path(start: str, goal: str) -> list[tuple[str, ast.Call]] | None:
            # Breadth-first: the shortest chain of calls from `start` back to `goal`.
            frontier: list[tuple[str, list[tuple[str, ast.Call]]]] = [(start, [])]
            seen = {start}
            while frontier:
                nxt: list[tuple[str, list[tuple[str, ast.Call]]]] = []
                for node, chain in frontier:
                    for target, c in calls.get(node, []):
                        if target == goal:
                            return [*chain, (target, c)]
                        if target not in seen:
                            seen.add(target)
                            nxt.append((target, [*chain, (target, c)]))
                frontier = nxt
            return None

        def shown(node: str) -> str:
            return f"`{node[:-1]}, ...)`" if node.startswith("feasible(") else f"`{node}`"

        # Schedulers first, so that a cycle through one is reported at the filter that starts it.
        for name in sorted(bodies, key=lambda n: not n.startswith("feasible(")):
            if name in reported:
                continue
            chain = path(name, name)
            if chain is None:
                continue
            cycle = [name, *(target for target, _ in chain)]
            reported.update(cycle)
            if name.startswith("feasible(") and len(chain) == 1:
                msg = f"a filter of scheduler `{name[9:-1]}` calls {shown(name)}"
            elif len(chain) == 1:
                msg = f"def `{name}` calls itself"
            elif any(n.startswith("feasible(") for n in cycle):
                msg = "feasibility is defined in terms of itself: " + " -> ".join(
                    shown(n) for n in cycle
                )
            else:
                msg = "defs call each other in a cycle: " + " -> ".join(f"`{n}`" for n in cycle)
            self.error(
                "KC0501",
                msg,
                chain[0][1].func_span,
                help="defs are expanded inline; write the recursion out for the bounded sizes"
                if not any(n.startswith("feasible(") for n in cycle)
                else "`feasible(S, ...)` is the conjunction of S's filters; a filter of S "
                "cannot use it",
            )

    def actions(self, actor: ast.Actor, actions: tuple[ast.Action, ...]) -> None:
        for a in actions:
            if isinstance(actor, ast.Fault) and a.fairness is not None:
                self.error(
                    "KC0502",
                    f"`{a.fairness}` on an action of fault `{actor.name}`",
                    head_span(a.span, len(a.fairness)),
                    help="faults are never fair; remove the keyword",
                )
            if a.handler:
                self.handler(actor, a)
            sort = _ACTOR_SORT[type(actor)]
            ctx = Ctx(place="an action", actor=sort, actor_name=actor.name)
            ctx = self.binders_where(a.binders, a.where, ctx)
            if a.when is not None:
                self.want_bool(a.when, ctx, "a `when` guard")
            self.block(a.body, replace(ctx, top=True))
            self.step_shape(actor, a)

    def handler(self, actor: ast.Actor, a: ast.Action) -> None:
        """`action NAME on x in K`: the event handler of a controller's coalesced watch of K."""
        d = a.binders[0].domain
        kind = d.expr.id if isinstance(d, ast.ExprDomain) and isinstance(d.expr, ast.Name) else ""
        watched = [w.kind for w in getattr(actor, "watches", ()) if w.coalesced]
        if not isinstance(actor, ast.Controller) or kind not in watched:
            self.error(
                "KC0502",
                f"`on {a.binders[0].name} in {kind or '...'}` handles notifications of a "
                "coalesced watch, and "
                + (
                    f"`{actor.name}` does not watch `{kind}` coalesced"
                    if isinstance(actor, ast.Controller)
                    else "only controllers watch"
                ),
                a.binders[0].span,
                help=f"declare `controller {actor.name} watches {kind} coalesced`"
                if isinstance(actor, ast.Controller) and kind
                else None,
            )
        if a.when is not None:
            self.error(
                "KC0502",
                "a handler has no `when`: it runs once for every notification",
                a.when.span,
                help="test the object in the handler's body with `if`",
            )
        steps = steps_of(a.body.stmts)
        if steps:
            self.error(
                "KC0502",
                "a handler is one atomic step: `step` is not allowed in it",
                head_span(steps[0].span, len("step")),
            )

    def coalesced_handlers(self, actor: ast.Controller) -> None:
        """Every coalesced watch has exactly one handler, which alone advances its cache."""
        for w in actor.watches:
            if not w.coalesced:
                continue
            handlers = [
                a
                for a in actor.actions
                if a.handler
                and isinstance(a.binders[0].domain, ast.ExprDomain)
                and isinstance(a.binders[0].domain.expr, ast.Name)
                and a.binders[0].domain.expr.id == w.kind
            ]
            if not handlers:
                self.error(
                    "KC0503",
                    f"`watches {w.kind} coalesced` has no handler",
                    w.kind_span,
                    notes=("the handler receives the notifications that advance the cache",),
                    help=f"add `action NAME on x in {w.kind} {{ ... }}` to `{actor.name}`",
                )
            for extra in handlers[1:]:
                self.error(
                    "KC0502",
                    f"a second handler for the coalesced watch of `{w.kind}`",
                    extra.name_span,
                    notes=(f"the first is `{handlers[0].name}`, line {handlers[0].span.line}",),
                    help="handle every notification in one action, with `if` in its body",
                )

    def step_shape(self, actor: ast.Actor, a: ast.Action) -> None:
        """An action split by `step` keeps its in-flight state per object: one binder, over a
        kind, or none."""
        steps = steps_of(a.body.stmts)
        if not steps or actor.__class__ not in (ast.Controller, ast.Process):
            return
        self.diags.extend(placement(a))
        bs = a.binders
        if len(bs) > 1 or (
            bs
            and not (
                isinstance(bs[0].domain, ast.ExprDomain)
                and isinstance(bs[0].domain.expr, ast.Name)
                and bs[0].domain.expr.id in self.kind_decls
            )
        ):
            self.error(
                "KC0502",
                f"action `{a.name}` is split by `step` but does not range over one kind",
                a.name_span,
                notes=(
                    "an action in flight remembers where it stopped per object, like a "
                    "work queue keyed by object",
                ),
                help="give it one binder over a kind (`for d in Deployment`), or none",
            )
        # `step` may stand anywhere in the body, first, last or twice in a row: a step with no
        # statements is the controller taking its time between the snapshot its header read and
        # the API calls that follow (issue 19 point 5), which is where stale decisions come from

    def unique(self, items: list[tuple[str, ast.Span]], what: str, owner: str) -> None:
        first: dict[str, ast.Span] = {}
        for name, span in sorted(items, key=lambda x: x[1]):
            if name in first:
                self.error(
                    "KC0202",
                    f"{what} `{name}` is declared twice in {owner}",
                    span,
                    notes=(f"first declared at line {first[name].line}",),
                    help="rename one of them",
                )
            else:
                first[name] = span

    def actor(self, actor: ast.Actor) -> None:
        owner = f"`{actor.name}`"
        named: list[tuple[str, ast.Span]] = [(a.name, a.name_span) for a in actor.actions]
        match actor:
            case ast.Controller(watches=ws):
                self.coalesced_handlers(actor)
                first: dict[str, ast.Watch] = {}
                for w in ws:
                    if w.kind in first:
                        self.error(
                            "KC0202",
                            f"`{actor.name}` watches `{w.kind}` twice",
                            w.kind_span,
                            notes=(f"first watched at line {first[w.kind].span.line}",),
                            help="keep one `watches` clause per kind",
                        )
                    first.setdefault(w.kind, w)
                for w in ws:
                    if w.kind not in self.kind_decls:
                        self.error(
                            "KC0204",
                            f"`watches {w.kind}`: no kind named `{w.kind}`",
                            w.kind_span,
                            help=suggest(w.kind, self.kind_decls),
                        )
            case ast.Fault(budget=b):
                v = self.report_const(b, f"the budget of fault `{actor.name}`")
                if v is not None and v < 0:
                    self.error("KC0401", f"a fault budget must be 0 or more, not {v}", b.span)
            case ast.Scheduler():
                named += [(f.name, f.name_span) for f in actor.filters]
                named += [(s.name, s.name_span) for s in actor.scores]
                self.scheduler(actor)
        self.unique(
            named,
            "action, filter or score" if isinstance(actor, ast.Scheduler) else "action",
            owner,
        )
        self.actions(actor, actor.actions)

    def scheduler(self, s: ast.Scheduler) -> None:
        pod: Ty = ERROR
        node: Ty = ERROR
        if s.pod_kind not in self.kind_decls:
            self.error(
                "KC0204",
                f"`binds {s.pod_kind}.{s.node_field}`: no kind named `{s.pod_kind}`",
                s.pod_kind_span,
                help=suggest(s.pod_kind, self.kind_decls),
            )
        else:
            pod = TRef(s.pod_kind)
            ft = self.field_type(s.pod_kind, s.node_field, s.node_field_span)
            if isinstance(ft, TRef) and ft.optional:
                node = TRef(ft.kind)
            elif not isinstance(ft, TError):
                self.error(
                    "KC0301",
                    f"a scheduler binds an optional reference field, but "
                    f"`{s.pod_kind}.{s.node_field}` is {ft}",
                    s.node_field_span,
                    help=f"declare it as `{ft.kind}?`: `none` until the pod is bound"
                    if isinstance(ft, TRef)
                    else "declare it as an optional reference such as `Node?`",
                )
        items: list[tuple[ast.Filter | ast.Score, str]] = [(f, "filter") for f in s.filters]
        items += [(sc, "score") for sc in s.scores]
        for item, what in items:
            ctx = Ctx(place=f"a {what}")
            span = item.name_span
            # The parameter names carry no spans of their own; point at the item's name.
            ctx = self.declare_local(item.pod, span, Local(pod, "parameter", span), ctx)
            ctx = self.declare_local(item.node, span, Local(node, "parameter", span), ctx)
            if isinstance(item, ast.Filter):
                self.want_bool(item.expr, ctx, f"filter `{item.name}`")
            else:
                self.want_int(item.expr, ctx, f"score `{item.name}`")
                if item.weight is not None:
                    self.report_const(item.weight, f"the weight of score `{item.name}`")
        self.hooks(s, pod, node)

    def hooks(self, s: ast.Scheduler, pod: Ty, node: Ty) -> None:
        """`on bind(p, n) { ... }`: one per scheduler, two names, an action body's statements
        (spec/language.md §3, "Bind statements")."""
        first: ast.Hook | None = None
        for h in s.hooks:
            if h.event != "bind":
                self.error(
                    "KC0201",
                    f"`on {h.event}`: a scheduler has no event named `{h.event}`",
                    h.event_span,
                    notes=("the scheduler's only event is its bind step: `on bind(p, n)`",),
                    help=suggest(h.event, ["bind"]) or "write `on bind(p, n) { ... }`",
                )
                continue
            if first is not None:
                self.error(
                    "KC0202",
                    f"scheduler `{s.name}` has `on bind` twice",
                    h.event_span,
                    notes=(f"the first `on bind` is at line {first.span.line}",),
                    help="merge the statements into one `on bind` block",
                )
            first = first or h
            if len(h.params) != 2:
                self.error(
                    "KC0302",
                    f"`on bind` names the pod and the node: 2 names, not {len(h.params)}",
                    h.event_span,
                    help="write `on bind(p, n)`: `p` is the pod being bound, `n` its node",
                )
            ctx = Ctx(place="an `on bind` block", actor="scheduler")
            for name, span, ty in zip(h.params, h.param_spans, (pod, node), strict=False):
                ctx = self.declare_local(name, span, Local(ty, "parameter", span), ctx)
            self.block(h.body, ctx)

    def decl(self, d: ast.Decl) -> None:
        sym = self.sym
        match d:
            case ast.Var(name=n) if sym.vars.get(n) is not None and sym.vars[n].decl is d:
                self.initialiser(d.init, sym.vars[n].type, f"var `{n}`", Ctx())
            case ast.Kind(name=n) if n in sym.kinds and sym.kinds[n].decl is d:
                for f in sym.kinds[n].fields:
                    if f.default is not None:
                        self.initialiser(f.default, f.type, f"field `{n}.{f.name}`", Ctx())
                self.key_types(n)
            case ast.Def():
                self.check_def(d)
            case ast.Init(body=b):
                self.block(b, Ctx(place="an `init` block"))
            case ast.Controller() | ast.Process() | ast.Scheduler() | ast.Fault():
                self.actor(d)
            case ast.Invariant(expr=x):
                self.want_bool(x, Ctx(place="an invariant", observes=True), f"invariant `{d.name}`")
            case ast.Assume(expr=x):
                before = len(self.diags)
                self.diags.extend(assumption_shape(d, self.sym))
                if len(self.diags) == before:
                    self.want_bool(x, Ctx(place="an assumption"), f"assumption `{d.name}`")
            case ast.Property():
                self.property(d)
            case ast.Docker():
                self.docker(d)
            case ast.Manifest():
                self.diags.extend(manifest_errors(d, self.sym))

    def key_types(self, kind: str) -> None:
        """A key field must hold a name-like value (kcheck/lang/keys.py)."""
        for f in self.sym.kinds[kind].fields:
            if f.decl.key and not key_type_ok(f.type):
                self.error(
                    "KC0301",
                    f"key field `{kind}.{f.name}` cannot be of type {f.type}",
                    f.decl.name_span,
                    notes=(
                        "a key field is part of the object's name: a bool, a range, an enum "
                        "or a reference `K` to another object (a namespace, an owner)",
                    ),
                    help="drop `key`, or give the field one of those types",
                )

    def run(self) -> list[Diagnostic]:
        self.signatures()
        for d in self.sym.program.decls:
            try:
                self.decl(d)
            except RecursionError:
                # The parser bounds nesting, but checking a level can take more stack than
                # parsing it; report the declaration instead of crashing.
                span = (
                    d.name_span
                    if not isinstance(
                        d, ast.Init | ast.Docker | ast.Manifest | ast.Import | ast.Requires
                    )
                    else head_span(d.span, len("init"))
                )
                self.error(
                    "KC0505",
                    "expression nested too deeply to check",
                    span,
                    help="split it with `def` helpers",
                )
        self.recursion()
        return self.diags
