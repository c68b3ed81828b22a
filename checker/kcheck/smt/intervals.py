"""Static bounds on int expressions (spec/smt.md, "What is encoded"): the values a range's bound
can take in a reachable state, from the declared ranges of what it reads. A binder over
`lo..hi` whose bounds read the state (or a symbolic param) is unrolled over those values, each
present where it lies between the bounds; None where a part is unbounded (the range is then
refused)."""

from __future__ import annotations

from typing import Protocol

import z3  # type: ignore[import-untyped]

from kcheck.lang import ast
from kcheck.lang.symbols import SEEN_BY, Symbols
from kcheck.lang.types import TBool, TEnum, TInt, TRef, TSet, Type
from kcheck.model.ir import BudgetLayout, Layout, VarLayout
from kcheck.model.typeof import TypeOf
from kcheck.smt.terms import Env, Term


class ExprEncoder(Protocol):
    """What of the expression encoder (expr.py) the bounds read."""

    sym: Symbols
    layout: Layout
    types: TypeOf
    params: dict[str, Term]
    var_index: dict[str, VarLayout]
    budget_index: dict[str, BudgetLayout]

    def type_of(self, e: ast.Expr, env: Env) -> Type: ...
    def set_size(self, elem: str) -> int: ...
    def _const_int(self, e: ast.Expr, env: Env) -> int | None: ...


def interval(enc: ExprEncoder, e: ast.Expr, env: Env) -> tuple[int, int] | None:
    """Bounds on the value of an int expression from its parts' declared ranges (None
    when some part is unbounded): what a range's bound can be in a reachable state."""
    match e:
        case ast.IntLit(value=v):
            return v, v
        case ast.Name(id=n) if n in env:
            v, t = env[n]
            if z3.is_int_value(v):
                return int(v.as_long()), int(v.as_long())
            return _declared(t)
        case ast.Name(id=n) if n in enc.params:
            return _declared(enc.sym.params[n].type)
        case ast.Name(id=n) if n in enc.var_index:
            return _declared(enc.var_index[n].type)
        case ast.Field():
            return _declared(enc.type_of(e, env))
        case ast.Budget(fault=f):
            return 0, enc.budget_index[f].budget
        case ast.Unary(op="-", operand=o):
            a = interval(enc, o, env)
            return None if a is None else (-a[1], -a[0])
        case ast.Binary(op="+" | "-" | "*" as op, left=l, right=r):
            a, b = interval(enc, l, env), interval(enc, r, env)
            if a is None or b is None:
                return None
            if op == "+":
                return a[0] + b[0], a[1] + b[1]
            if op == "-":
                return a[0] - b[1], a[1] - b[0]
            ends = [x * y for x in a for y in b]
            return min(ends), max(ends)
        case ast.Binary(op="/" | "%" as op, left=l, right=r):
            a, d = interval(enc, l, env), enc._const_int(r, env)
            if a is None or d is None or d <= 0:
                return None
            return (a[0] // d, a[1] // d) if op == "/" else (0, d - 1)
        case ast.IfExpr(then=a_, else_=b_):
            a, b = interval(enc, a_, env), interval(enc, b_, env)
            return None if a is None or b is None else (min(a[0], b[0]), max(a[1], b[1]))
        case ast.CountAll(arg=a_):
            t = enc.type_of(a_, env)
            if isinstance(a_, ast.Name) and a_.id in enc.sym.kinds and a_.id not in env:
                return 0, enc.layout.kind(a_.id).slots
            return (0, enc.set_size(t.elem)) if isinstance(t, TSet) else None
        case ast.Count(binders=bs):
            many = combinations(enc, bs, env)
            return None if many is None else (0, many)
        case ast.Aggregate(op=op, binders=bs, body=body):
            many = combinations(enc, bs, env)
            a = interval(enc, body, _typed(enc, env, bs))
            if many is None or a is None:
                return None
            if op == "sum":
                return min(0, many * a[0]), max(0, many * a[1])
            return min(0, a[0]), max(0, a[1])  # 0 when nothing matches
        case ast.Call(func=fn, args=args) if fn in enc.sym.defs:
            # the body's bounds, each int parameter bounded as its argument is
            fdef = enc.sym.defs[fn]
            denv: Env = {}
            for prm, arg in zip(fdef.params, args, strict=True):
                ty = enc.types.resolve_type(prm.type)
                if isinstance(ty, TInt):
                    a = interval(enc, arg, env)
                    ty = TInt() if a is None else TInt(a[0], a[1])
                denv[prm.name] = (z3.Int(f"_{prm.name}"), ty)
            return interval(enc, fdef.body, denv)
        case ast.Call(func=fn, args=(_, inner)) if fn == SEEN_BY and fn not in enc.sym.defs:
            return interval(enc, inner, env)  # a cached copy has its field's range
        case ast.Call(func="min" | "max" as fn, args=(l, r)) if fn not in enc.sym.defs:
            a, b = interval(enc, l, env), interval(enc, r, env)
            if a is None or b is None:
                return None
            pick = min if fn == "min" else max
            return pick(a[0], b[0]), pick(a[1], b[1])
    c = enc._const_int(e, env)
    return None if c is None else (c, c)


def combinations(enc: ExprEncoder, binders: tuple[ast.Binder, ...], env: Env) -> int | None:
    """At most how many values a binding form ranges over."""
    n = 1
    for b in binders:
        d = b.domain
        if isinstance(d, ast.RangeDomain):
            lo, hi = interval(enc, d.lo, env), interval(enc, d.hi, env)
            if lo is None or hi is None:
                return None
            n *= max(0, hi[1] - lo[0] + 1)
        elif isinstance(d.expr, ast.Name) and d.expr.id == "bool":
            n *= 2
        elif isinstance(d.expr, ast.Name) and d.expr.id in enc.sym.kinds:
            n *= enc.layout.kind(d.expr.id).slots
        elif isinstance(d.expr, ast.Name) and d.expr.id in enc.sym.enums:
            n *= len(enc.sym.enums[d.expr.id])
        else:
            t = enc.type_of(d.expr, _typed(enc, env, ()))
            if not isinstance(t, TSet):
                return None
            n *= enc.set_size(t.elem)
    return n


def _typed(enc: ExprEncoder, env: Env, binders: tuple[ast.Binder, ...]) -> Env:
    """`env` with each binder given a symbolic value of its domain's type: enough for
    `interval`, which reads only types and constants."""
    out = dict(env)
    for b in binders:
        d = b.domain
        if isinstance(d, ast.RangeDomain):
            lo, hi = interval(enc, d.lo, out), interval(enc, d.hi, out)
            ty: Type = TInt(lo[0], hi[1]) if lo is not None and hi is not None else TInt()
        elif isinstance(d.expr, ast.Name) and d.expr.id == "bool":
            ty = TBool()
        elif isinstance(d.expr, ast.Name) and d.expr.id in enc.sym.kinds:
            ty = TRef(d.expr.id)
        elif isinstance(d.expr, ast.Name) and d.expr.id in enc.sym.enums:
            ty = TEnum(d.expr.id)
        else:
            t = enc.type_of(d.expr, out)
            elem = t.elem if isinstance(t, TSet) else ""
            ty = TRef(elem) if elem in enc.sym.kinds else TEnum(elem)
        out[b.name] = (z3.Int(f"_{b.name}"), ty)
    return out


def _declared(t: Type) -> tuple[int, int] | None:
    if isinstance(t, TInt) and t.lo is not None and t.hi is not None:
        return t.lo, t.hi
    return None
