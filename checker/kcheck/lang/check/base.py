"""The checker's base: reporting, names and scopes, compile-time constants, the types written
in defs, and binders (`x in D`: domains, their sizes, the limits on what a binder enumerates).
"""

from __future__ import annotations

from dataclasses import replace

from kcheck.lang import ast
from kcheck.lang.check.context import (
    ERROR,
    FOREIGN_VALUES,
    MAX_BINDER_PRODUCT,
    MAX_RANGE_SIZE,
    READ_BY_NAME,
    Ctx,
    Local,
    NotConst,
    Sig,
    TError,
    Ty,
    as_value,
    comparison_swallowed,
)
from kcheck.lang.diagnostics import Diagnostic, suggest
from kcheck.lang.symbols import Symbols
from kcheck.lang.types import BOOL, INT, TBool, TEmptySet, TEnum, TInt, TRef, TSet


class CheckerBase:
    def __init__(self, sym: Symbols) -> None:
        self.sym = sym
        self.diags: list[Diagnostic] = []
        self.domain_sizes: dict[int, int] = {}  # id of a domain -> its size, where known
        decls = sym.program.decls
        # Declared names, including those whose declaration failed in `build_symbols`: a use of
        # a broken declaration is not reported again.
        self.const_names = {d.name for d in decls if isinstance(d, ast.Const)}
        self.param_names = {d.name for d in decls if isinstance(d, ast.Param)}
        self.var_names = {d.name for d in decls if isinstance(d, ast.Var)}
        self.kind_decls = {d.name: d for d in decls if isinstance(d, ast.Kind)}
        self.top: dict[str, tuple[str, ast.Span]] = {}
        for d in decls:
            match d:
                case ast.Enum():
                    self.top.setdefault(d.name, ("enum", d.name_span))
                    for m in d.members:
                        self.top.setdefault(m.name, ("enum member", m.span))
                case ast.Init() | ast.Docker() | ast.Manifest() | ast.Import() | ast.Requires():
                    pass  # imports are expanded before the checker runs (imports.py)
                case _:
                    what = {
                        ast.Const: "const",
                        ast.Param: "param",
                        ast.Kind: "kind",
                        ast.Var: "var",
                        ast.Def: "def",
                        ast.Controller: "controller",
                        ast.Process: "process",
                        ast.Scheduler: "scheduler",
                        ast.Fault: "fault",
                        ast.Invariant: "invariant",
                        ast.Property: "property",
                        ast.Assume: "assumption",
                    }[type(d)]
                    self.top.setdefault(d.name, (what, d.name_span))
        self.sigs: dict[str, Sig] = {}

    # ---- reporting ------------------------------------------------------------------------

    def error(
        self,
        code: str,
        msg: str,
        span: ast.Span,
        help: str | None = None,
        notes: tuple[str, ...] = (),
    ) -> None:
        self.diags.append(Diagnostic(code, msg, span, notes=notes, help=help))

    def mismatch(
        self, t: Ty, want: str, what: str, span: ast.Span, help: str | None = None
    ) -> None:
        self.error("KC0301", f"{what} must be {want}, not {t}", span, help=help)

    def expr(self, e: ast.Expr, ctx: Ctx) -> Ty:
        """The type of an expression, after reporting what is wrong in it (`ExprChecker`)."""
        raise NotImplementedError

    def want_bool(self, e: ast.Expr, ctx: Ctx, what: str) -> None:
        t = self.expr(e, ctx)
        if not isinstance(t, TBool | TError):
            self.mismatch(t, "a bool", what, e.span, help=comparison_swallowed(e))

    def want_int(self, e: ast.Expr, ctx: Ctx, what: str) -> Ty:
        t = self.expr(e, ctx)
        if not isinstance(t, TInt | TError):
            self.mismatch(t, "an int", what, e.span)
            return ERROR
        return t

    # ---- names ----------------------------------------------------------------------------

    def is_kind(self, name: str) -> bool:
        return name in self.kind_decls

    def elem_type(self, name: str) -> Ty:
        """The element type of `set<name>`."""
        if name in self.kind_decls:
            return TRef(name)
        if name in self.sym.enums:
            return TEnum(name)
        return ERROR

    def scope_names(self, ctx: Ctx) -> list[str]:
        return [*ctx.locals, *self.sym.value_names()]

    def declare_local(self, name: str, span: ast.Span, local: Local, ctx: Ctx) -> Ctx:
        """Bind a local; shadowing another name is KC0207. The name is bound anyway to avoid
        cascades."""
        if name in ctx.locals:
            prev = ctx.locals[name]
            self.error(
                "KC0207",
                f"`{name}` shadows the {prev.what} `{name}` of an enclosing scope",
                span,
                notes=(f"`{name}` is bound at line {prev.span.line}",),
                help=f"rename this {local.what}: inside its scope every `{name}` would mean it, "
                f"not the outer {prev.what}",
            )
        elif name in self.top:
            what, where = self.top[name]
            # A name an expression or a domain reads would silently mean the local inside its
            # scope: an error. Any other declaration (a def, an actor, a property) is named only
            # where no local is looked up (`f(...)`, `budget(f)`, `restart c`): a warning.
            reads = what in READ_BY_NAME
            self.diags.append(
                Diagnostic(
                    "KC0207",
                    f"`{name}` shadows the {what} `{name}`",
                    span,
                    severity="error" if reads else "warning",
                    notes=(f"the {what} is declared at line {where.line}",),
                    help=f"rename this {local.what}: inside its scope `{name}` would mean it, "
                    f"not the {what}"
                    if reads
                    else f"rename this {local.what}, so that `{name}` names one thing",
                )
            )
        return ctx.bind(name, local)

    def name(self, n: str, span: ast.Span, ctx: Ctx) -> Ty:
        sym = self.sym
        if n in ctx.locals:
            return as_value(ctx.locals[n].type)
        if n in sym.consts or n in self.const_names:
            return INT
        if n in sym.params:
            return as_value(sym.params[n].type)
        if n in sym.vars:
            return as_value(sym.vars[n].type)
        if n in sym.members:
            return TEnum(sym.members[n][0])
        if n in self.param_names or n in self.var_names:
            return ERROR  # its declaration failed and was reported
        if n in self.kind_decls:
            self.error(
                "KC0206",
                f"kind `{n}` is not a value",
                span,
                help=f"did you mean `count({n})`?",
            )
        elif n in sym.enums:
            members = sym.enums[n]
            self.error(
                "KC0206",
                f"enum `{n}` is a type, not a value",
                span,
                help=f"name one of its members, such as `{members[0]}`" if members else None,
            )
        elif n in sym.defs:
            self.error("KC0206", f"`{n}` is a def, not a value", span, help=f"call it: `{n}(...)`")
        elif n in self.top:
            self.error("KC0206", f"`{n}` is a {self.top[n][0]}, not a value", span)
        else:
            self.error(
                "KC0201",
                f"unknown name `{n}`",
                span,
                help=FOREIGN_VALUES.get(n) or suggest(n, self.scope_names(ctx)),
            )
        return ERROR

    # ---- constants ------------------------------------------------------------------------

    def const_eval(self, e: ast.Expr) -> int:
        """Evaluate a compile-time integer (the rules of `const`); raises NotConst."""
        match e:
            case ast.IntLit(value=v):
                return v
            case ast.Name(id=n):
                if n in self.sym.consts:
                    return self.sym.consts[n]
                if n in self.const_names:
                    raise NotConst(None)
                if n in self.param_names:
                    raise NotConst(
                        Diagnostic(
                            "KC0402",
                            f"`{n}` is a param, not a compile-time constant",
                            e.span,
                            help="use a `const` here",
                        )
                    )
                if n not in self.top:
                    raise NotConst(
                        Diagnostic(
                            "KC0201",
                            f"unknown constant `{n}`",
                            e.span,
                            help=suggest(n, self.const_names),
                        )
                    )
            case ast.Unary(op="-", operand=operand):
                return -self.const_eval(operand)
            case ast.Binary(op="+" | "-" | "*" | "/" | "%" as op, left=a, right=b):
                x, y = self.const_eval(a), self.const_eval(b)
                if op == "+":
                    return x + y
                if op == "-":
                    return x - y
                if op == "*":
                    return x * y
                if y == 0:
                    raise NotConst(Diagnostic("KC0402", "division by zero", e.span))
                return x // y if op == "/" else x % y
            case ast.Call(func="min" | "max" | "abs" | "ceil" as f, args=args):
                vals = [self.const_eval(a) for a in args]
                if f == "abs" and len(vals) == 1:
                    return abs(vals[0])
                if len(vals) == 2:
                    if f == "min":
                        return min(vals)
                    if f == "max":
                        return max(vals)
                    if vals[1] != 0:
                        return -((-vals[0]) // vals[1])
        raise NotConst(
            Diagnostic(
                "KC0402",
                "not a compile-time constant",
                e.span,
                help="only integers, `const` names, arithmetic and min/max/abs/ceil are allowed",
            )
        )

    def report_const(self, e: ast.Expr, what: str | None = None) -> int | None:
        try:
            return self.const_eval(e)
        except NotConst as err:
            d = err.diag
            if d is not None:
                if what is not None and d.message == "not a compile-time constant":
                    d = replace(d, message=f"{what} must be a compile-time constant")
                self.diags.append(d)
            return None

    def quiet_const(self, e: ast.Expr) -> int | None:
        try:
            return self.const_eval(e)
        except NotConst:
            return None

    def check_range(self, target: Ty, e: ast.Expr, what: str) -> None:
        """KC0401 when a compile-time value is stored outside its declared range."""
        if not isinstance(target, TInt) or target.lo is None or target.hi is None:
            return
        v = self.quiet_const(e)
        if v is not None and not target.lo <= v <= target.hi:
            self.error("KC0401", f"{v} is outside the range {target} of {what}", e.span)

    # ---- types written in defs (the rest were resolved by build_symbols) -----------------

    def resolve_type(self, t: ast.TypeExpr) -> Ty:
        match t:
            case ast.BoolType():
                return BOOL
            case ast.IntType():
                return INT
            case ast.RangeType(lo=lo, hi=hi):
                # A def works on plain ints; the bounds must still make sense.
                self.report_const(lo)
                self.report_const(hi)
                return INT
            case ast.NamedType(name=n) | ast.OptionalType(name=n):
                optional = isinstance(t, ast.OptionalType)
                if n in self.kind_decls:
                    return TRef(n, optional)
                if n in self.sym.enums:
                    if optional:
                        self.error("KC0301", f"`{n}?`: only kind references can be `none`", t.span)
                        return ERROR
                    return TEnum(n)
                self.error(
                    "KC0204",
                    f"unknown type `{n}`",
                    t.span,
                    help=suggest(n, [*self.sym.enums, *self.kind_decls, "bool", "int"]),
                )
                return ERROR
            case ast.SetType(elem=n):
                if n in self.kind_decls or n in self.sym.enums:
                    return TSet(n)
                self.error(
                    "KC0204",
                    f"unknown enum or kind `{n}` in set type",
                    t.span,
                    help=suggest(n, [*self.sym.enums, *self.kind_decls]),
                )
                return ERROR
        return ERROR

    # ---- binders --------------------------------------------------------------------------

    def domain(self, d: ast.Domain, ctx: Ctx) -> Ty:
        """The element type of a binder's domain."""
        match d:
            case ast.RangeDomain(lo=lo, hi=hi):
                t_lo = self.want_int(lo, ctx, "the lower bound of a range")
                t_hi = self.want_int(hi, ctx, "the upper bound of a range")
                self.range_size(d, self.bound(lo, t_lo, 0), self.bound(hi, t_hi, 1))
                return INT
            case ast.ExprDomain(expr=ast.Name(id="bool")):
                self.domain_sizes[id(d)] = 2
                return BOOL  # `b in bool`: false and true
            case ast.ExprDomain(expr=ast.Name(id=n)) if n not in ctx.locals and (
                n in self.kind_decls or n in self.sym.enums
            ):
                self.domain_sizes[id(d)] = self.universe(n)
                return TRef(n) if n in self.kind_decls else TEnum(n)
            case ast.ExprDomain(expr=x):
                t = self.expr(x, ctx)
                match t:
                    case TSet(elem=elem):
                        self.domain_sizes[id(d)] = self.universe(elem)
                        return self.elem_type(elem)
                    case TError():
                        return ERROR
                    case TEmptySet():
                        self.error(
                            "KC0301",
                            "cannot range over `{}`: its element type is unknown",
                            x.span,
                        )
                        return ERROR
                self.error(
                    "KC0301",
                    f"a domain must be a kind, an enum, a range `lo..hi` or a set, not {t}",
                    x.span,
                    help="write a range such as `0..3`" if isinstance(t, TInt) else None,
                )
        return ERROR

    def bound(self, e: ast.Expr, t: Ty, end: int) -> int | None:
        """The least (end 0) or greatest (end 1) value a range bound can take, where known."""
        v = self.quiet_const(e)
        if v is not None:
            return v
        stored: list[Ty] = []  # the declared ranges the bound is read from
        if isinstance(e, ast.Name) and e.id in self.sym.vars:
            stored = [self.sym.vars[e.id].type]
        elif isinstance(e, ast.Field):  # any kind's field of that name: the widest range
            stored = [f.type for k in self.sym.kinds.values() for f in k.fields if f.name == e.name]
        else:
            stored = [t]
        ends = [
            v
            for x in stored
            if isinstance(x, TInt) and (v := x.lo if end == 0 else x.hi) is not None
        ]
        if not ends or len(ends) != len(stored):
            return None
        return min(ends) if end == 0 else max(ends)

    def range_size(self, d: ast.RangeDomain, lo: int | None, hi: int | None) -> None:
        """KC0405 for a range enumerated by a binder or `any` with more values than kcheck
        enumerates (spec/diagnostics.md, "Size and nesting limits")."""
        if lo is None or hi is None:
            return
        size = max(0, hi - lo + 1)
        self.domain_sizes[id(d)] = size
        if size > MAX_RANGE_SIZE:
            self.error(
                "KC0405",
                f"this range can have {size:,} values ({lo}..{hi}); kcheck enumerates at most "
                f"{MAX_RANGE_SIZE:,}",
                d.span,
                help="a model needs only a few values to show a behaviour: narrow the range",
            )

    def universe(self, name: str) -> int:
        """How many values a binder over a kind or an enum can take."""
        kind = self.sym.kinds.get(name)
        if kind is not None:
            return kind.size
        return len(self.sym.enums.get(name, ()))

    def binders(self, bs: tuple[ast.Binder, ...], ctx: Ctx) -> Ctx:
        for b in bs:
            t = self.domain(b.domain, ctx)
            ctx = self.declare_local(b.name, b.name_span, Local(t, "bound name", b.name_span), ctx)
            size = self.domain_sizes.get(id(b.domain))
            if size is None or size > MAX_RANGE_SIZE:
                continue  # unknown until run time, or reported already
            product = ctx.product * max(size, 1)
            if product > MAX_BINDER_PRODUCT >= ctx.product:
                self.error(
                    "KC0405",
                    f"`{b.name}` and the names bound around it take up to {product:,} "
                    f"combinations; kcheck enumerates at most {MAX_BINDER_PRODUCT:,}",
                    b.span,
                    help="bind fewer names at once, or narrow their domains",
                )
            ctx = replace(ctx, product=product)
        return ctx

    def binders_where(self, bs: tuple[ast.Binder, ...], where: ast.Expr | None, ctx: Ctx) -> Ctx:
        ctx = self.binders(bs, ctx)
        if where is not None:
            self.want_bool(where, ctx, "a `where` condition")
        return ctx
