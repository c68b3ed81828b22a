"""The KDSL type checker: names, types and the structural rules of spec/language.md.

Runs after `build_symbols` on a table that may be partial (declarations with errors are missing
from it). Every error found is reported; a sub-expression that already failed gets the internal
type `TError`, which every rule accepts silently, so one mistake yields one diagnostic.
The compiler relies on what is checked here: a program with no errors is safe to compile.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TypeAlias

from kcheck.lang import ast
from kcheck.lang.assume import assumption_shape
from kcheck.lang.diagnostics import Diagnostic, suggest
from kcheck.lang.symbols import BUILTINS, FEASIBLE, Symbols
from kcheck.lang.types import (
    BOOL,
    EMPTY_SET,
    INT,
    NONE,
    TBool,
    TEmptySet,
    TEnum,
    TInt,
    TNone,
    TRef,
    TSet,
    Type,
    assignable,
    comparable,
)


@dataclass(frozen=True)
class TError:
    """The type of an expression that already produced a diagnostic; stops cascades."""

    def __str__(self) -> str:
        return "<error>"


ERROR = TError()

# The most values one enumerated range may have, and the most combinations nested binders may
# take (spec/diagnostics.md, "Size and nesting limits"): past them a single step could run for
# minutes between two checks of --timeout.
MAX_RANGE_SIZE = 1_000_000
MAX_BINDER_PRODUCT = 100_000_000
Ty: TypeAlias = Type | TError

PROPERTY_SHAPES = (
    "accepted property shapes, each optionally under `forall x in D [where c]:`: "
    "`eventually always P`, `always eventually P`, `P leads_to Q`, `always P`"
)
_PROPERTY_PRED = "the state predicate of a property"


@dataclass(frozen=True)
class _Local:
    type: Ty
    what: str  # "bound name", "let name", "parameter": for messages
    span: ast.Span


@dataclass(frozen=True)
class _Ctx:
    """What an expression or statement can see, and where it stands."""

    locals: Mapping[str, _Local] = field(default_factory=dict)
    place: str = "an expression"  # named in "temporal operator not allowed in ..."
    temporal_lax: bool = False  # a property of unsupported shape: reported once already
    in_for: bool = False  # inside the body of a `for` statement (KC0504)
    actor: str = ""  # the sort of actor whose action this is ("" in init and defs)
    top: bool = False  # a statement directly in an action's body (where `step` may stand)
    product: int = 1  # how many bindings the enclosing binders enumerate, at most

    def bind(self, name: str, local: _Local) -> _Ctx:
        return replace(self, locals={**self.locals, name: local})


# The keys of each role of a `docker` block, and what each takes (spec/run.md).
BIND_KEYS: dict[str, dict[str, str]] = {
    "pod": {
        "phase": "enum field",
        "ready": "bool field",
        "node": "reference field",
        "cpu": "int field",
        "memory": "int field",
        "image": "string",
        "command": "strings",
        "cpu_millis_per_unit": "int",
        "default_cpu_millis": "int",
        "memory_per_unit_mb": "int",
        "memory_mb": "int",
    },
    "node": {"ready": "bool field"},
    "service": {"selector": "enum field", "pod_field": "field"},
}

BIND_LEAST = {"memory_mb": 6}  # Docker refuses a container with less than 6 MiB

_ACTOR_SORT = {
    ast.Controller: "controller",
    ast.Process: "process",
    ast.Scheduler: "scheduler",
    ast.Fault: "fault",
}


@dataclass(frozen=True)
class _Sig:
    params: tuple[tuple[str, Ty, ast.Span], ...]
    ret: Ty


class _NotConst(Exception):
    """Raised by constant evaluation; `diag` is None when the cause was reported already."""

    def __init__(self, diag: Diagnostic | None) -> None:
        self.diag = diag


def _head(span: ast.Span, width: int) -> ast.Span:
    """The first `width` characters of a span: a keyword at the start of a construct."""
    return ast.Span(span.line, span.col, span.line, span.col + width)


def _value(t: Ty) -> Ty:
    """Stored ints have ranges; in expressions every int is unbounded."""
    return INT if isinstance(t, TInt) else t


def _fits(value: Ty, target: Ty) -> bool:
    """`assignable`, with an already-reported error fitting anywhere."""
    if isinstance(value, TError) or isinstance(target, TError):
        return True
    return assignable(value, target)


def _children(e: ast.Expr) -> list[ast.Expr]:
    def dom(bs: tuple[ast.Binder, ...]) -> list[ast.Expr]:
        out: list[ast.Expr] = []
        for b in bs:
            match b.domain:
                case ast.RangeDomain(lo=lo, hi=hi):
                    out += [lo, hi]
                case ast.ExprDomain(expr=x):
                    out.append(x)
        return out

    def opt(w: ast.Expr | None) -> list[ast.Expr]:
        return [] if w is None else [w]

    match e:
        case ast.Field(obj=o):
            return [o]
        case ast.Call(args=args):
            return list(args)
        case ast.Index(index=i):
            return [i]
        case ast.Unary(operand=o):
            return [o]
        case ast.Binary(left=left, right=right) | ast.LeadsTo(left=left, right=right):
            return [left, right]
        case ast.SetLit(elems=elems):
            return list(elems)
        case ast.SetBuilder(binder=b, where=w):
            return dom((b,)) + opt(w)
        case ast.Quant(binders=bs, where=w, body=body):
            return dom(bs) + opt(w) + [body]
        case ast.Count(binders=bs, where=w):
            return dom(bs) + opt(w)
        case ast.CountAll(arg=a):
            return [a]
        case ast.Aggregate(body=body, binders=bs, where=w):
            return [body, *dom(bs), *opt(w)]
        case ast.IfExpr(cond=c, then=t, else_=f):
            return [c, t, f]
        case ast.Temporal(body=body):
            return [body]
    return []


def _walk(e: ast.Expr) -> Iterator[ast.Expr]:
    stack = [e]
    while stack:
        x = stack.pop()
        yield x
        stack.extend(reversed(_children(x)))


def _has_temporal(e: ast.Expr) -> bool:
    return any(isinstance(x, ast.Temporal | ast.LeadsTo) for x in _walk(e))


class _Checker:
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
                case ast.Init() | ast.Docker():
                    pass
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
        self.sigs: dict[str, _Sig] = {}

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

    def mismatch(self, t: Ty, want: str, what: str, span: ast.Span) -> None:
        self.error("KC0301", f"{what} must be {want}, not {t}", span)

    def want_bool(self, e: ast.Expr, ctx: _Ctx, what: str) -> None:
        t = self.expr(e, ctx)
        if not isinstance(t, TBool | TError):
            self.mismatch(t, "a bool", what, e.span)

    def want_int(self, e: ast.Expr, ctx: _Ctx, what: str) -> Ty:
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

    def scope_names(self, ctx: _Ctx) -> list[str]:
        return [*ctx.locals, *self.sym.value_names()]

    def declare_local(self, name: str, span: ast.Span, local: _Local, ctx: _Ctx) -> _Ctx:
        """Bind a local, refusing to shadow; the name is bound anyway to avoid cascades."""
        if name in ctx.locals:
            prev = ctx.locals[name]
            self.error(
                "KC0202",
                f"`{name}` shadows the {prev.what} `{name}` of an enclosing scope",
                span,
                notes=(f"`{name}` is bound at line {prev.span.line}",),
                help="rename this local",
            )
        elif name in self.top:
            what, where = self.top[name]
            self.error(
                "KC0202",
                f"`{name}` shadows the {what} `{name}`",
                span,
                notes=(f"the {what} is declared at line {where.line}",),
                help="rename this local",
            )
        return ctx.bind(name, local)

    def name(self, n: str, span: ast.Span, ctx: _Ctx) -> Ty:
        sym = self.sym
        if n in ctx.locals:
            return _value(ctx.locals[n].type)
        if n in sym.consts or n in self.const_names:
            return INT
        if n in sym.params:
            return _value(sym.params[n].type)
        if n in sym.vars:
            return _value(sym.vars[n].type)
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
                help=suggest(n, self.scope_names(ctx)),
            )
        return ERROR

    # ---- constants ------------------------------------------------------------------------

    def const_eval(self, e: ast.Expr) -> int:
        """Evaluate a compile-time integer (the rules of `const`); raises _NotConst."""
        match e:
            case ast.IntLit(value=v):
                return v
            case ast.Name(id=n):
                if n in self.sym.consts:
                    return self.sym.consts[n]
                if n in self.const_names:
                    raise _NotConst(None)
                if n in self.param_names:
                    raise _NotConst(
                        Diagnostic(
                            "KC0402",
                            f"`{n}` is a param, not a compile-time constant",
                            e.span,
                            help="use a `const` here",
                        )
                    )
                if n not in self.top:
                    raise _NotConst(
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
                    raise _NotConst(Diagnostic("KC0402", "division by zero", e.span))
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
        raise _NotConst(
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
        except _NotConst as err:
            d = err.diag
            if d is not None:
                if what is not None and d.message == "not a compile-time constant":
                    d = replace(d, message=f"{what} must be a compile-time constant")
                self.diags.append(d)
            return None

    def quiet_const(self, e: ast.Expr) -> int | None:
        try:
            return self.const_eval(e)
        except _NotConst:
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

    def domain(self, d: ast.Domain, ctx: _Ctx) -> Ty:
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

    def binders(self, bs: tuple[ast.Binder, ...], ctx: _Ctx) -> _Ctx:
        for b in bs:
            t = self.domain(b.domain, ctx)
            ctx = self.declare_local(b.name, b.name_span, _Local(t, "bound name", b.name_span), ctx)
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

    def binders_where(self, bs: tuple[ast.Binder, ...], where: ast.Expr | None, ctx: _Ctx) -> _Ctx:
        ctx = self.binders(bs, ctx)
        if where is not None:
            self.want_bool(where, ctx, "a `where` condition")
        return ctx

    # ---- expressions ----------------------------------------------------------------------

    def expr(self, e: ast.Expr, ctx: _Ctx) -> Ty:
        match e:
            case ast.IntLit():
                return INT
            case ast.BoolLit():
                return BOOL
            case ast.NoneLit():
                return NONE
            case ast.Name(id=n):
                return self.name(n, e.span, ctx)
            case ast.Field():
                return self.field(e, ctx)
            case ast.Call():
                return self.call(e, ctx)
            case ast.Index():
                return self.index(e, ctx)
            case ast.Unary(op="-", operand=x):
                self.want_int(x, ctx, "the operand of unary `-`")
                return INT
            case ast.Unary(operand=x):
                self.want_bool(x, ctx, f"the operand of `{e.op}`")
                return BOOL
            case ast.Binary():
                return self.binary(e, ctx)
            case ast.SetLit():
                return self.set_lit(e, ctx)
            case ast.SetBuilder(binder=b, where=w):
                inner = self.binders_where((b,), w, ctx)
                t = inner.locals[b.name].type
                match t:
                    case TRef(kind=k):
                        return TSet(k)
                    case TEnum(name=n):
                        return TSet(n)
                    case TInt() | TBool():
                        self.error(
                            "KC0301",
                            "sets hold enum values or objects, not "
                            + ("integers" if isinstance(t, TInt) else "bools"),
                            b.domain.span,
                        )
                return ERROR
            case ast.Quant(binders=bs, where=w, body=body):
                inner = self.binders_where(bs, w, ctx)
                self.want_bool(body, inner, f"the body of `{e.quant}`")
                return BOOL
            case ast.Count(binders=bs, where=w):
                self.binders_where(bs, w, ctx)
                return INT
            case ast.Budget(fault=f):
                faults = [a.name for a in self.sym.actors if isinstance(a, ast.Fault)]
                if f not in faults:
                    self.error(
                        "KC0201",
                        f"`budget({f})`: the model has no fault `{f}`",
                        e.fault_span,
                        help=suggest(f, faults),
                    )
                return INT
            case ast.CountAll(arg=a):
                if isinstance(a, ast.Name) and a.id not in ctx.locals and a.id in self.kind_decls:
                    return INT
                t = self.expr(a, ctx)
                if not isinstance(t, TSet | TEmptySet | TError):
                    self.error("KC0301", f"`count(...)` takes a kind or a set, not {t}", a.span)
                return INT
            case ast.Aggregate(op=op, body=body, binders=bs, where=w):
                inner = self.binders_where(bs, w, ctx)
                self.want_int(body, inner, f"the body of `{op}`")
                return INT
            case ast.IfExpr(cond=c, then=a, else_=b):
                self.want_bool(c, ctx, "the condition of `if`")
                return self.join(self.expr(a, ctx), self.expr(b, ctx), e.span)
            case ast.Temporal(op=op, body=body):
                self.temporal(op, e.span, ctx)
                return self.expr(body, ctx)
            case ast.LeadsTo(left=a, right=b):
                self.temporal("leads_to", e.span, ctx)
                self.want_bool(a, ctx, "the left side of `leads_to`")
                self.want_bool(b, ctx, "the right side of `leads_to`")
                return BOOL
        return ERROR

    def temporal(self, op: str, span: ast.Span, ctx: _Ctx) -> None:
        if ctx.temporal_lax:
            return
        if ctx.place == _PROPERTY_PRED:
            self.error(
                "KC0303",
                f"`{op}` cannot be nested inside {_PROPERTY_PRED}",
                span,
                notes=(PROPERTY_SHAPES,),
            )
        else:
            self.error(
                "KC0303",
                f"temporal operator `{op}` in {ctx.place}",
                span,
                help="temporal operators are only allowed in a `property`",
            )

    def join(self, a: Ty, b: Ty, span: ast.Span) -> Ty:
        """The type of `if c then a else b`."""
        if isinstance(a, TError) or isinstance(b, TError):
            return ERROR
        if isinstance(a, TInt) and isinstance(b, TInt):
            return INT
        if a == b:
            return a
        if isinstance(a, TRef) and isinstance(b, TRef) and a.kind == b.kind:
            return TRef(a.kind, True)
        if isinstance(a, TRef) and isinstance(b, TNone):
            return TRef(a.kind, True)
        if isinstance(b, TRef) and isinstance(a, TNone):
            return TRef(b.kind, True)
        if isinstance(a, TSet) and isinstance(b, TEmptySet):
            return a
        if isinstance(b, TSet) and isinstance(a, TEmptySet):
            return b
        self.error("KC0301", f"the branches of `if` have different types: {a} and {b}", span)
        return ERROR

    def field(self, e: ast.Field, ctx: _Ctx) -> Ty:
        t = self.expr(e.obj, ctx)
        if isinstance(t, TError):
            return ERROR
        if not isinstance(t, TRef):
            self.error(
                "KC0305",
                f"`.{e.name}` needs an object, but this is {t}",
                e.obj.span,
            )
            return ERROR
        return self.field_type(t.kind, e.name, e.name_span)

    def field_type(self, kind: str, name: str, span: ast.Span) -> Ty:
        info = self.sym.kinds.get(kind)
        if info is None:
            return ERROR  # the kind's declaration failed and was reported
        f = info.field(name)
        if f is not None:
            return f.type
        if any(fd.name == name for fd in info.decl.fields):
            return ERROR  # declared with a bad type, reported already
        self.error(
            "KC0203",
            f"kind `{kind}` has no field `{name}`",
            span,
            help=suggest(name, [fd.name for fd in info.fields]),
        )
        return ERROR

    def call(self, e: ast.Call, ctx: _Ctx) -> Ty:
        f, args = e.func, e.args
        if f == FEASIBLE and f not in self.sym.defs:
            return self.feasible(e, ctx)
        if f in BUILTINS and f not in self.sym.defs:
            arity = 1 if f in ("abs", "size") else 2
            if len(args) != arity:
                self.error(
                    "KC0302",
                    f"`{f}` takes {arity} argument{'s' if arity > 1 else ''}, not {len(args)}",
                    e.func_span,
                )
            for i, a in enumerate(args):
                t = self.expr(a, ctx)  # not `want_int`: one stack frame less per nested call
                if f == "size" and not isinstance(t, TSet | TEmptySet | TError):
                    self.error("KC0301", f"`size` takes a set, not {t}", a.span)
                elif f != "size" and not isinstance(t, TInt | TError):
                    self.mismatch(t, "an int", f"argument {i + 1} of `{f}`", a.span)
            return INT
        sig = self.sigs.get(f)
        if sig is None:
            for a in args:
                self.expr(a, ctx)
            if f in self.top:
                self.error("KC0206", f"`{f}` is a {self.top[f][0]}, not a function", e.func_span)
            else:
                self.error(
                    "KC0205",
                    f"unknown function `{f}`",
                    e.func_span,
                    help=suggest(f, [*self.sym.defs, *BUILTINS]),
                )
            return ERROR
        if len(args) != len(sig.params):
            n = len(sig.params)
            self.error(
                "KC0302",
                f"`{f}` takes {n} argument{'s' if n != 1 else ''}, not {len(args)}",
                e.func_span,
                notes=("`{}({})`".format(f, ", ".join(f"{p}: {t}" for p, t, _ in sig.params)),),
            )
        for a, (pname, ptype, _) in zip(args, sig.params, strict=False):
            t = self.expr(a, ctx)
            if not _fits(t, ptype):
                self.error(
                    "KC0301",
                    f"argument `{pname}` of `{f}` must be {ptype}, not {t}",
                    a.span,
                )
        for a in args[len(sig.params) :]:
            self.expr(a, ctx)
        return _value(sig.ret)

    def schedulers(self) -> dict[str, ast.Scheduler]:
        return {a.name: a for a in self.sym.actors if isinstance(a, ast.Scheduler)}

    def scheduler_kinds(self, s: ast.Scheduler) -> tuple[Ty, Ty]:
        """The pod and node types of a scheduler's filters; ERROR where its `binds` failed (and
        was reported with the scheduler)."""
        info = self.sym.kinds.get(s.pod_kind)
        fi = info.field(s.node_field) if info is not None else None
        if info is None or fi is None or not isinstance(fi.type, TRef) or not fi.type.optional:
            return (TRef(s.pod_kind) if info is not None else ERROR), ERROR
        return TRef(s.pod_kind), TRef(fi.type.kind)

    def feasible(self, e: ast.Call, ctx: _Ctx) -> Ty:
        """`feasible(S, p, n)`: pod p passes every filter of scheduler S on node n. S is a name,
        not a value; p and n must have the kinds S schedules and binds to."""
        schedulers = self.schedulers()
        shape = "`feasible(S, p, n)` takes a scheduler's name, then a pod and a node of the kinds it binds"
        args = e.args
        first = args[0] if args else None
        names_sched = (
            isinstance(first, ast.Name) and first.id in schedulers and first.id not in ctx.locals
        )
        if len(args) != 3:
            help = None
            if len(args) == 2 and not names_sched and len(schedulers) == 1:
                help = f"name the scheduler first: `feasible({next(iter(schedulers))}, ...)`"
            self.error(
                "KC0302",
                f"`feasible` takes 3 arguments, not {len(args)}",
                e.func_span,
                notes=(shape,),
                help=help,
            )
            for a in args[1:] if names_sched else args:
                self.expr(a, ctx)
            return BOOL
        s_arg, pod_arg, node_arg = args
        sched: ast.Scheduler | None = None
        if isinstance(s_arg, ast.Name) and names_sched:
            sched = schedulers[s_arg.id]
        elif isinstance(s_arg, ast.Name) and (s_arg.id in ctx.locals or s_arg.id in self.top):
            n = s_arg.id
            what = ctx.locals[n].what if n in ctx.locals else self.top[n][0]
            self.error(
                "KC0206",
                f"`{n}` is a {what}, not a scheduler",
                s_arg.span,
                notes=(shape,),
                help=suggest(n, schedulers)
                or (f"the scheduler is `{next(iter(schedulers))}`" if schedulers else None),
            )
        elif isinstance(s_arg, ast.Name):
            self.error(
                "KC0201",
                f"unknown scheduler `{s_arg.id}`",
                s_arg.span,
                notes=(shape,),
                help=suggest(s_arg.id, schedulers)
                or (
                    "the model's schedulers are " + ", ".join(f"`{n}`" for n in schedulers)
                    if schedulers
                    else "the model declares no scheduler"
                ),
            )
        else:
            self.expr(s_arg, ctx)
            self.error(
                "KC0206",
                "the first argument of `feasible` must name a scheduler",
                s_arg.span,
                notes=(shape,),
                help=f"write `feasible({next(iter(schedulers))}, p, n)`" if schedulers else None,
            )
        pod_t, node_t = self.expr(pod_arg, ctx), self.expr(node_arg, ctx)
        if sched is None:
            return BOOL
        want_pod, want_node = self.scheduler_kinds(sched)
        swapped = (
            not isinstance(want_pod, TError)
            and not isinstance(want_node, TError)
            and want_pod != want_node
            and _fits(pod_t, want_node)
            and _fits(node_t, want_pod)
        )
        for i, (t, want, role, a) in enumerate(
            ((pod_t, want_pod, "pod", pod_arg), (node_t, want_node, "node", node_arg)), start=2
        ):
            if not _fits(t, want):
                self.error(
                    "KC0301",
                    f"argument {i} of `feasible({sched.name}, ...)` is the {role} and must be "
                    f"{want}, not {t}",
                    a.span,
                    notes=(
                        f"scheduler `{sched.name}` binds `{sched.pod_kind}.{sched.node_field}`",
                    ),
                    help="the pod comes before the node" if swapped and i == 2 else None,
                )
        return BOOL

    def index(self, e: ast.Index, ctx: _Ctx) -> Ty:
        k = e.kind
        self.want_int(e.index, ctx, "a slot number")
        if k in ctx.locals or k not in self.kind_decls:
            if k in ctx.locals or k in self.top:
                self.error(
                    "KC0206",
                    f"`{k}[...]` picks an object of an `ordered` kind; `{k}` is not a kind",
                    e.kind_span,
                )
            else:
                self.error(
                    "KC0204",
                    f"unknown kind `{k}`",
                    e.kind_span,
                    help=suggest(k, self.kind_decls),
                )
            return ERROR
        info = self.sym.kinds.get(k)
        if info is None:
            return ERROR
        if not info.ordered:
            self.error(
                "KC0206",
                f"kind `{k}` is not ordered, so its objects have no fixed slot numbers",
                e.kind_span,
                help="mark the kind `ordered`",
            )
            return ERROR
        i = self.quiet_const(e.index)
        if i is not None and not 0 <= i < info.size:
            self.error(
                "KC0401",
                f"slot {i} does not exist: kind `{k}` has {info.size} slots (0..{info.size - 1})",
                e.index.span,
            )
        return TRef(k)

    def binary(self, e: ast.Binary, ctx: _Ctx) -> Ty:
        op = e.op
        if op in ("and", "or", "implies"):
            # Long chains of one connective are common in written-out guards; walking them
            # without recursion keeps deep chains (which the parser accepts) off the stack.
            stack: list[ast.Expr] = [e]
            while stack:
                x = stack.pop()
                if isinstance(x, ast.Binary) and x.op == op:
                    stack += [x.right, x.left]
                else:
                    self.want_bool(x, ctx, f"an operand of `{op}`")
            return BOOL
        a, b = self.expr(e.left, ctx), self.expr(e.right, ctx)
        err = isinstance(a, TError) or isinstance(b, TError)
        sets = (TSet, TEmptySet)
        if op in ("+", "*", "/", "%", "<", "<=", ">", ">=") or (
            op == "-" and not (isinstance(a, sets) and isinstance(b, sets))
        ):
            result: Ty = BOOL if op in ("<", "<=", ">", ">=") else INT
            for side, t, x in (("left", a, e.left), ("right", b, e.right)):
                if not isinstance(t, TInt | TError):
                    self.mismatch(t, "an int", f"the {side} side of `{op}`", x.span)
            return result
        if op in ("-", "|", "&"):
            for side, t, x in (("left", a, e.left), ("right", b, e.right)):
                if not isinstance(t, TSet | TEmptySet | TError):
                    self.mismatch(t, "a set", f"the {side} side of `{op}`", x.span)
                    return ERROR
            if err:
                return ERROR
            if isinstance(a, TSet) and isinstance(b, TSet) and a != b:
                self.error("KC0301", f"`{op}` mixes {a} and {b}", e.span)
                return ERROR
            if isinstance(a, TEmptySet) and isinstance(b, TEmptySet):
                return EMPTY_SET
            return a if isinstance(a, TSet) else b
        if op in ("==", "!="):
            if not err:
                assert not isinstance(a, TError) and not isinstance(b, TError)
                if not comparable(a, b):
                    self.error("KC0301", f"cannot compare {a} with {b}", e.span)
            return BOOL
        if op == "in":
            self.member(a, b, e)
            return BOOL
        return ERROR

    def member(self, a: Ty, b: Ty, e: ast.Binary) -> None:
        """`a in b`: b a set, a one of its possible elements."""
        if isinstance(b, TError | TEmptySet):
            return
        if not isinstance(b, TSet):
            self.error(
                "KC0301",
                f"the right side of `in` must be a set, not {b}",
                e.right.span,
                help="for an integer range write `lo <= x and x <= hi`"
                if isinstance(b, TInt)
                else None,
            )
            return
        if isinstance(a, TError):
            return
        want = self.elem_type(b.elem)
        ok = (isinstance(a, TRef) and isinstance(want, TRef) and a.kind == want.kind) or a == want
        if not ok and not isinstance(want, TError):
            self.error("KC0301", f"a {b} cannot contain {a}", e.left.span)

    def set_lit(self, e: ast.SetLit, ctx: _Ctx) -> Ty:
        if not e.elems:
            return EMPTY_SET
        elem: str | None = None
        bad: tuple[ast.Expr, Ty] | None = None
        failed = False
        for x in e.elems:
            t = self.expr(x, ctx)
            match t:
                case TError():
                    failed = True
                case TEnum(name=n) if elem in (None, n):
                    elem = n
                case TRef(kind=k, optional=False) if (
                    elem in (None, k) and isinstance(x, ast.Name) and x.id in ctx.locals
                ):
                    elem = k
                case _:
                    bad = bad or (x, t)
        if failed:
            return ERROR
        if bad is not None:
            x, t = bad
            if isinstance(t, TEnum | TRef) and elem is not None and elem != str(t):
                msg = f"a set literal mixes {elem} and {t}"
            else:
                msg = f"sets hold enum values or objects, not {t}"
            notes: tuple[str, ...] = ()
            if isinstance(t, TRef):
                notes = ("objects in a set literal are bound names (`{p, q}`), never `none`",)
            self.error("KC0301", msg, x.span, notes=notes)
            return ERROR
        assert elem is not None
        return TSet(elem)

    # ---- statements -----------------------------------------------------------------------

    def block(self, b: ast.Block, ctx: _Ctx) -> None:
        for s in b.stmts:
            ctx = self.stmt(s, ctx)

    def nested(self, b: ast.Block, ctx: _Ctx) -> None:
        self.block(b, replace(ctx, top=False))

    def stmt(self, s: ast.Stmt, ctx: _Ctx) -> _Ctx:
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
            case ast.CreateStmt(create=c):
                self.create(c, ctx)
            case ast.Let(name=n, value=v):
                t = self.create(v, ctx) if isinstance(v, ast.Create) else self.expr(v, ctx)
                return self.declare_local(n, s.name_span, _Local(t, "let name", s.name_span), ctx)
            case ast.Delete(target=x):
                t = self.expr(x, ctx)
                if not isinstance(t, TRef | TError):
                    self.error("KC0301", f"`delete` needs an object, not {t}", x.span)
            case ast.Choose(binders=bs, where=w, body=body):
                if ctx.in_for:
                    self.nondet_in_for(_head(s.span, len("choose")), "`choose`")
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

    def step_stmt(self, s: ast.Step, ctx: _Ctx) -> None:
        if ctx.actor not in ("controller", "process") or not ctx.top:
            where = "here" if ctx.actor in ("controller", "process") else f"in {ctx.place}"
            self.error(
                "KC0502",
                f"`step` is not allowed {where}",
                _head(s.span, len("step")),
                notes=(
                    "`step` splits the body of a controller's or process's action into "
                    "atomic steps; it stands directly in the body, outside any block",
                ),
                help="move it out of the `if`, `for` or `choose`"
                if ctx.actor in ("controller", "process")
                else None,
            )

    def restart_stmt(self, s: ast.Restart, name: str, ctx: _Ctx) -> None:
        if ctx.actor != "fault":
            self.error(
                "KC0502",
                "`restart` is only allowed in a fault's action",
                _head(s.span, len("restart")),
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

    def if_stmt(self, s: ast.If, ctx: _Ctx) -> None:
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

    def lvalue(self, lv: ast.LValue, ctx: _Ctx) -> Ty:
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
            t = self.field_type(t.kind, parts[i], spans[i])
        return t

    def create(self, c: ast.Create, ctx: _Ctx) -> Ty:
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

    # ---- declarations ---------------------------------------------------------------------

    def state_read(self, e: ast.Expr) -> ast.Expr | None:
        """The first part of an initialiser that reads state (or is not a constant form)."""
        for x in _walk(e):
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

    def initialiser(self, e: ast.Expr, target: Ty, what: str, ctx: _Ctx) -> None:
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
                self.sigs[d.name] = _Sig(params, self.resolve_type(d.ret))

    def check_def(self, d: ast.Def) -> None:
        sig = self.sigs.get(d.name)
        if sig is None:  # a duplicate def, reported by build_symbols
            params = tuple((p.name, self.resolve_type(p.type), p.name_span) for p in d.params)
            sig = _Sig(params, self.resolve_type(d.ret))
        ctx = _Ctx(place="a def")
        for pname, ptype, pspan in sig.params:
            ctx = self.declare_local(pname, pspan, _Local(ptype, "parameter", pspan), ctx)
        t = self.expr(d.body, ctx)
        if not _fits(t, sig.ret):
            self.error(
                "KC0301",
                f"`{d.name}` is declared to return {sig.ret}, but its body is {t}",
                d.body.span,
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
                for x in _walk(e)
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
                    _head(a.span, len(a.fairness)),
                    help="faults are never fair; remove the keyword",
                )
            if a.handler:
                self.handler(actor, a)
            sort = _ACTOR_SORT[type(actor)]
            ctx = self.binders_where(a.binders, a.where, _Ctx(place="an action", actor=sort))
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
        steps = [s for s in a.body.stmts if isinstance(s, ast.Step)]
        if steps:
            self.error(
                "KC0502",
                "a handler is one atomic step: `step` is not allowed in it",
                _head(steps[0].span, len("step")),
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
        kind, or none; and no step may be empty."""
        steps = [s for s in a.body.stmts if isinstance(s, ast.Step)]
        if not steps or actor.__class__ not in (ast.Controller, ast.Process):
            return
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
        parts: list[list[ast.Stmt]] = [[]]
        for st in a.body.stmts:
            if isinstance(st, ast.Step):
                if not parts[-1]:
                    self.error(
                        "KC0502",
                        "an empty step: `step` needs statements before it",
                        _head(st.span, len("step")),
                        help="remove this `step`",
                    )
                parts.append([])
            else:
                parts[-1].append(st)
        if not parts[-1]:
            self.error(
                "KC0502",
                "an empty step: `step` needs statements after it",
                _head(steps[-1].span, len("step")),
                help="remove the last `step`",
            )

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
            ctx = _Ctx(place=f"a {what}")
            span = item.name_span
            # The parameter names carry no spans of their own; point at the item's name.
            ctx = self.declare_local(item.pod, span, _Local(pod, "parameter", span), ctx)
            ctx = self.declare_local(item.node, span, _Local(node, "parameter", span), ctx)
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
            ctx = _Ctx(place="an `on bind` block", actor="scheduler")
            for name, span, ty in zip(h.params, h.param_spans, (pod, node), strict=False):
                ctx = self.declare_local(name, span, _Local(ty, "parameter", span), ctx)
            self.block(h.body, ctx)

    def property(self, p: ast.Property) -> None:
        ctx = _Ctx(place=_PROPERTY_PRED)
        e = p.expr
        while isinstance(e, ast.Quant) and e.quant == "forall" and _has_temporal(e.body):
            ctx = self.binders_where(e.binders, e.where, ctx)
            e = e.body
        match e:
            case ast.Temporal(op="eventually", body=ast.Temporal(op="always", body=inner)) | (
                ast.Temporal(op="always", body=ast.Temporal(op="eventually", body=inner))
            ):
                self.want_bool(inner, ctx, "a property's predicate")
            case ast.Temporal(op="always", body=inner):
                self.want_bool(inner, ctx, "a property's predicate")
            case ast.LeadsTo(left=a, right=b):
                self.want_bool(a, ctx, "the left side of `leads_to`")
                self.want_bool(b, ctx, "the right side of `leads_to`")
            case _ if not _has_temporal(e):
                self.error(
                    "KC0303",
                    f"property `{p.name}` has no temporal operator",
                    p.name_span,
                    help="use `invariant` for a state predicate",
                )
                self.want_bool(e, ctx, "a property")
            case _:
                self.error(
                    "KC0303",
                    f"property `{p.name}` has an unsupported shape",
                    e.span,
                    notes=(PROPERTY_SHAPES,),
                    help="for convergence write `eventually always P`"
                    if isinstance(e, ast.Temporal) and e.op == "eventually"
                    else None,
                )
                self.want_bool(e, replace(ctx, temporal_lax=True), "a property")

    def decl(self, d: ast.Decl) -> None:
        sym = self.sym
        match d:
            case ast.Var(name=n) if sym.vars.get(n) is not None and sym.vars[n].decl is d:
                self.initialiser(d.init, sym.vars[n].type, f"var `{n}`", _Ctx())
            case ast.Kind(name=n) if n in sym.kinds and sym.kinds[n].decl is d:
                for f in sym.kinds[n].fields:
                    if f.default is not None:
                        self.initialiser(f.default, f.type, f"field `{n}.{f.name}`", _Ctx())
            case ast.Def():
                self.check_def(d)
            case ast.Init(body=b):
                self.block(b, _Ctx(place="an `init` block"))
            case ast.Controller() | ast.Process() | ast.Scheduler() | ast.Fault():
                self.actor(d)
            case ast.Invariant(expr=x):
                self.want_bool(x, _Ctx(place="an invariant"), f"invariant `{d.name}`")
            case ast.Assume(expr=x):
                before = len(self.diags)
                self.diags.extend(assumption_shape(d, self.sym))
                if len(self.diags) == before:
                    self.want_bool(x, _Ctx(place="an assumption"), f"assumption `{d.name}`")
            case ast.Property():
                self.property(d)
            case ast.Docker():
                self.docker(d)

    def docker(self, d: ast.Docker) -> None:
        """The binding for `kcheck run --driver docker` (spec/run.md): known roles and keys, kinds
        and fields that exist and have the right sort."""
        if self.sym.docker and self.sym.docker[0] is not d:
            self.error(
                "KC0202",
                "a second `docker` block",
                _head(d.span, len("docker")),
                notes=(f"the first is at line {self.sym.docker[0].span.line}",),
                help="merge them into one",
            )
        seen: dict[str, ast.BindSection] = {}
        pod_kind = "Pod"
        for sec in d.sections:
            if sec.role == "pod":
                pod_kind = sec.kind
        for sec in d.sections:
            keys = BIND_KEYS.get(sec.role)
            if keys is None:
                self.error(
                    "KC0201",
                    f"no binding role `{sec.role}`",
                    sec.role_span,
                    notes=("the roles are `pod`, `node` and `service`",),
                    help=suggest(sec.role, list(BIND_KEYS)),
                )
                continue
            if sec.role in seen:
                self.error("KC0202", f"role `{sec.role}` is bound twice", sec.role_span)
            seen[sec.role] = sec
            kind = self.sym.kinds.get(sec.kind)
            if kind is None:
                self.error(
                    "KC0204",
                    f"no kind named `{sec.kind}`",
                    sec.kind_span,
                    help=suggest(sec.kind, list(self.kind_decls)),
                )
                continue
            named: set[str] = set()
            for item in sec.items:
                self.bind_item(sec, item, keys, named, pod_kind)

    def bind_item(
        self,
        sec: ast.BindSection,
        item: ast.BindItem,
        keys: dict[str, str],
        named: set[str],
        pod_kind: str,
    ) -> None:
        want = keys.get(item.key)
        if want is None:
            self.error(
                "KC0203",
                f"`{sec.role}` has no binding key `{item.key}`",
                item.key_span,
                notes=("its keys are " + ", ".join(f"`{k}`" for k in keys),),
                help=suggest(item.key, list(keys)),
            )
            return
        if item.key in named:
            self.error("KC0202", f"`{item.key}` is bound twice", item.key_span)
        named.add(item.key)
        v = item.value
        sorts = {"string": str, "strings": tuple, "int": int}
        if want in sorts:
            least = BIND_LEAST.get(item.key, 1)
            ok = isinstance(v, sorts[want]) and not isinstance(v, bool)
            if not ok or (want == "int" and isinstance(v, int) and v < least):
                what = {"string": "a string", "strings": "a list of strings", "int": "a number"}
                self.error(
                    "KC0301",
                    f"`{item.key}` takes {what[want]}"
                    + (f", at least {least}" if want == "int" else ""),
                    item.span,
                )
            return
        # a field of the section's kind (the pod kind for `pod_field`), of the wanted sort
        owner = pod_kind if item.key == "pod_field" else sec.kind
        if not isinstance(v, ast.FieldName):
            self.error("KC0301", f"`{item.key}` names a field of `{owner}`", item.span)
            return
        kind = self.sym.kinds.get(owner)
        fi = kind.field(v.name) if kind is not None else None
        if kind is None:
            return
        if fi is None:
            self.error(
                "KC0203",
                f"`{owner}` has no field `{v.name}`",
                v.span,
                help=suggest(v.name, [f.name for f in kind.fields]),
            )
            return
        sort_ok = {
            "enum field": isinstance(fi.type, TEnum),
            "bool field": isinstance(fi.type, TBool),
            "int field": isinstance(fi.type, TInt),
            "reference field": isinstance(fi.type, TRef),
            "field": True,
        }[want]
        if not sort_ok:
            self.error(
                "KC0301", f"`{item.key}` needs an {want}, and `{v.name}` is {fi.type}", v.span
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
                    if not isinstance(d, ast.Init | ast.Docker)
                    else _head(d.span, len("init"))
                )
                self.error(
                    "KC0505",
                    "expression nested too deeply to check",
                    span,
                    help="split it with `def` helpers",
                )
        self.recursion()
        return self.diags


def check_program(symbols: Symbols) -> list[Diagnostic]:
    """Check names, types and structure of a resolved program; returns every error found."""
    return _Checker(symbols).run()
