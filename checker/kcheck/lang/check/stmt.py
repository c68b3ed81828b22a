"""Statement checks: assignments and what they store, `create`, `let`, `delete`, `choose`,
`for`, `if`, and where `step` and `restart` may stand (spec/language.md, "Statements").
"""

from __future__ import annotations

from dataclasses import replace

from kcheck.lang import ast
from kcheck.lang.check.context import ERROR, Ctx, Local, TError, Ty, head_span
from kcheck.lang.check.expr import ExprChecker
from kcheck.lang.diagnostics import suggest
from kcheck.lang.keys import key_fields
from kcheck.lang.types import TInt, TNone, TRef, assignable


class StmtChecker(ExprChecker):
    # ---- statements -----------------------------------------------------------------------

    def block(self, b: ast.Block, ctx: Ctx) -> None:
        for s in b.stmts:
            ctx = self.stmt(s, ctx)

    def nested(self, b: ast.Block, ctx: Ctx) -> None:
        self.block(b, replace(ctx, top=False))

    def stmt(self, s: ast.Stmt, ctx: Ctx) -> Ctx:
        """Check one statement; returns the context for the statements after it."""
        match s:
            case ast.Assign(target=lv, value=v):
                target = self.lvalue(lv, ctx)
                t = self.expr(v, ctx)
                self.store(target, t, v, f"`{'.'.join(lv.parts)}`")
            case ast.AssignAny(target=lv, domain=d):
                if ctx.in_for:
                    self.nondet_in_for(s.span, "`:= any`")
                target = self.lvalue(lv, ctx)
                t = self.domain(d, ctx)
                self.store(target, t, None, f"`{'.'.join(lv.parts)}`", d.span)
                if isinstance(d, ast.RangeDomain) and isinstance(target, TInt):
                    for bound in (d.lo, d.hi):
                        self.check_range(target, bound, f"`{'.'.join(lv.parts)}`")
            case ast.CreateStmt(create=c, otherwise=other):
                self.create(c, ctx)
                if other is not None:
                    self.create_else(c, other, ctx)
            case ast.Let(name=n, value=v):
                t = self.create(v, ctx) if isinstance(v, ast.Create) else self.expr(v, ctx)
                return self.declare_local(n, s.name_span, Local(t, "let name", s.name_span), ctx)
            case ast.Delete(target=x):
                t = self.expr(x, ctx)
                if not isinstance(t, TRef | TError):
                    self.error("KC0301", f"`delete` needs an object, not {t}", x.span)
            case ast.Choose(binders=bs, where=w, body=body):
                if ctx.in_for:
                    self.nondet_in_for(head_span(s.span, len("choose")), "`choose`")
                self.nested(body, self.binders_where(bs, w, ctx))
            case ast.For(binders=bs, where=w, body=body):
                inner = self.binders_where(bs, w, ctx)
                self.nested(body, replace(inner, in_for=True))
            case ast.If():
                self.if_stmt(s, ctx)
            case ast.Step():
                self.step_stmt(s, ctx)
            case ast.Restart(controller=name):
                self.restart_stmt(s, name, ctx)
        return ctx

    def step_stmt(self, s: ast.Step, ctx: Ctx) -> None:
        # inside `if`, `for` and `choose` too (lang/steps.py; its placement() says where not)
        if ctx.actor not in ("controller", "process"):
            self.error(
                "KC0502",
                f"`step` is not allowed in {ctx.place}",
                head_span(s.span, len("step")),
                notes=(
                    "`step` splits the body of a controller's or process's action into "
                    "atomic steps",
                ),
            )

    def restart_stmt(self, s: ast.Restart, name: str, ctx: Ctx) -> None:
        if ctx.actor != "fault":
            self.error(
                "KC0502",
                "`restart` is only allowed in a fault's action",
                head_span(s.span, len("restart")),
                notes=("a restart is something the environment does to a controller",),
            )
        controllers = [a.name for a in self.sym.actors if isinstance(a, ast.Controller)]
        if name not in controllers:
            self.error(
                "KC0206" if name in self.top else "KC0201",
                f"`restart {name}`: no controller named `{name}`",
                s.name_span,
                help=suggest(name, controllers),
            )

    def if_stmt(self, s: ast.If, ctx: Ctx) -> None:
        self.want_bool(s.cond, ctx, "the condition of `if`")
        self.nested(s.then, ctx)
        match s.else_:
            case ast.Block():
                self.nested(s.else_, ctx)
            case ast.If():
                self.if_stmt(s.else_, replace(ctx, top=False))

    def nondet_in_for(self, span: ast.Span, what: str) -> None:
        self.error(
            "KC0504",
            f"{what} inside the body of a `for` statement",
            span,
            notes=("a `for` statement updates every matching object in one step",),
            help="move the choice into the action's `for` header or a `choose` around the loop",
        )

    def store(
        self,
        target: Ty,
        t: Ty,
        value: ast.Expr | None,
        what: str,
        span: ast.Span | None = None,
    ) -> None:
        """Check that a value of type `t` may be stored in `target` (KC0301, KC0401)."""
        if isinstance(target, TError) or isinstance(t, TError):
            return
        where = span if span is not None else value.span if value is not None else ast.NOWHERE
        if not assignable(t, target):
            help = None
            if isinstance(target, TRef) and not target.optional and isinstance(t, TNone):
                help = f"declare the type as `{target.kind}?` to allow `none`"
            self.error("KC0301", f"cannot store {t} in {what} of type {target}", where, help=help)
        elif value is not None:
            self.check_range(target, value, what)

    def lvalue(self, lv: ast.LValue, ctx: Ctx) -> Ty:
        """The declared type of an assignment target, or ERROR after reporting why not."""
        parts, spans = lv.parts, lv.part_spans
        if not parts:
            return ERROR
        spans = spans if len(spans) == len(parts) else tuple(lv.span for _ in parts)
        head, hspan = parts[0], spans[0]
        t: Ty
        if lv.index is not None:  # `K[i].f`: the object as the expression `K[i]` gives it
            t = self.expr(lv.base(), ctx)
        elif head in ctx.locals:
            local = ctx.locals[head]
            if len(parts) == 1:
                self.error(
                    "KC0304",
                    f"cannot assign to the {local.what} `{head}`",
                    hspan,
                    help="locals are fixed; declare a `var` for state that changes"
                    if not isinstance(local.type, TRef)
                    else f"assign one of its fields, such as `{head}.field := ...`",
                )
                return ERROR
            t = local.type
        elif head in self.sym.vars:
            t = self.sym.vars[head].type
        elif head in self.var_names:
            return ERROR
        elif head in self.top:
            what = self.top[head][0]
            self.error(
                "KC0304",
                f"cannot assign to the {what} `{head}`",
                hspan,
                help="consts and params are fixed for a run; declare a `var` for state"
                if what in ("const", "param")
                else None,
            )
            return ERROR
        else:
            self.error(
                "KC0201",
                f"unknown variable `{head}`",
                hspan,
                help=suggest(head, [*ctx.locals, *self.sym.vars]),
            )
            return ERROR
        for i in range(1, len(parts)):
            if isinstance(t, TError):
                return ERROR
            if not isinstance(t, TRef):
                self.error(
                    "KC0305",
                    f"`.{parts[i]}` needs an object, but `{'.'.join(parts[:i])}` is {t}",
                    spans[i - 1],
                )
                return ERROR
            owner = t.kind
            t = self.field_type(owner, parts[i], spans[i])
            if i == len(parts) - 1:
                self.key_assigned(owner, parts, spans[i])
        return t

    def key_assigned(self, kind: str, parts: tuple[str, ...], span: ast.Span) -> None:
        """KC0304 for a write to a key field: an object's name is fixed at `create`, as
        metadata.name is immutable."""
        info = self.sym.kinds.get(kind)
        f = info.field(parts[-1]) if info is not None else None
        if f is None or not f.decl.key:
            return
        self.error(
            "KC0304",
            f"cannot assign to `{'.'.join(parts)}`: `{kind}.{f.name}` is a key field",
            span,
            notes=("an object's name is fixed when it is created (metadata.name is immutable)",),
            help=f"delete the object and create another `{kind}` with the new name",
        )

    def create_else(self, c: ast.Create, other: ast.Block, ctx: Ctx) -> None:
        """`create K { ... } else { ... }`: K must have a key, or the create cannot meet a
        taken name and the `else` would never run."""
        info = self.sym.kinds.get(c.kind)
        if info is not None and not key_fields(info):
            self.error(
                "KC0502",
                f"`create {c.kind} ... else`: `{c.kind}` has no key, so its objects have no "
                "names and a create never fails with AlreadyExists",
                c.kind_span,
                help=f"mark the fields that name a `{c.kind}` with `key` (`key name: 0..3`), "
                "or drop the `else` block",
            )
        self.nested(other, ctx)

    def create(self, c: ast.Create, ctx: Ctx) -> Ty:
        info = self.sym.kinds.get(c.kind)
        if info is None and c.kind not in self.kind_decls:
            if c.kind in self.top:
                what = self.top[c.kind][0]
                self.error("KC0204", f"`{c.kind}` is a {what}, not a kind", c.kind_span)
            else:
                self.error(
                    "KC0204",
                    f"unknown kind `{c.kind}`",
                    c.kind_span,
                    help=suggest(c.kind, self.kind_decls),
                )
        seen: dict[str, ast.Span] = {}
        for fi in c.fields:
            t = self.expr(fi.value, ctx)
            if info is None:
                continue
            if fi.name in seen:
                self.error(
                    "KC0202",
                    f"field `{fi.name}` is given twice",
                    fi.name_span,
                    notes=(f"first given at line {seen[fi.name].line}",),
                )
                continue
            seen[fi.name] = fi.name_span
            target = self.field_type(c.kind, fi.name, fi.name_span)
            self.store(target, t, fi.value, f"field `{fi.name}`")
        if info is None:
            return ERROR
        for f in info.fields:
            needs = isinstance(f.type, TRef) and not f.type.optional and f.default is None
            if needs and f.name not in seen:
                self.error(
                    "KC0301",
                    f"`create {c.kind}` does not set `{f.name}`, a {f.type} with no default",
                    c.kind_span,
                    help=f"give it a value: `{f.name}: ...`",
                )
        return TRef(c.kind)
