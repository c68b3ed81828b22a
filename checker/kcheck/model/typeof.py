"""The types of expressions, as code generation needs them: the checker has proved every type,
so this only recomputes what the compiled code depends on (a reference's kind and whether it may
be none, a set's element, a def's result). Needs nothing but the symbols; the SMT encoder uses
it too, to agree with the compiled code.
"""

from __future__ import annotations

from kcheck.lang import ast
from kcheck.lang.symbols import SEEN_BY, SEEN_OWN_WRITES, UNCHANGED, Symbols
from kcheck.lang.types import (
    BOOL,
    EMPTY_SET,
    INT,
    NONE,
    TEmptySet,
    TEnum,
    TInt,
    TNone,
    TRef,
    TSet,
    Type,
)
from kcheck.model.env import Env


class TypeOf:
    def __init__(self, sym: Symbols) -> None:
        self.sym = sym

    def type_of(self, e: ast.Expr, env: Env) -> Type:
        match e:
            case ast.IntLit():
                return INT
            case ast.BoolLit():
                return BOOL
            case ast.NoneLit():
                return NONE
            case ast.Name(id=n):
                if n in env:
                    return env[n].type
                if n in self.sym.vars:
                    return self.sym.vars[n].type
                if n in self.sym.params:
                    return self.sym.params[n].type
                if n in self.sym.members:
                    return TEnum(self.sym.members[n][0])
                return INT
            case ast.Field(obj=o, name=f):
                ot = self.type_of(o, env)
                assert isinstance(ot, TRef), f"field of non-reference {ot}"
                fi = self.sym.kinds[ot.kind].field(f)
                assert fi is not None
                return fi.type
            case ast.Call(func=fn) if (
                fn in (SEEN_OWN_WRITES, UNCHANGED) and fn not in self.sym.defs
            ):
                return BOOL
            case ast.Call(func=fn, args=[_, inner]) if fn == SEEN_BY and fn not in self.sym.defs:
                return self.type_of(inner, env)
            case ast.Call(func=fn):
                if fn in self.sym.defs:
                    d = self.sym.defs[fn]
                    return self.resolve_type(d.ret)
                return INT
            case ast.Index(kind=k):
                return TRef(k)
            case ast.Unary(op="not"):
                return BOOL
            case ast.Binary(op=op, left=a, right=b):
                if op in ("+", "*", "/", "%"):
                    return INT
                if op in ("-", "|", "&"):
                    ta = self.type_of(a, env)
                    if isinstance(ta, TSet):
                        return ta
                    if isinstance(ta, TEmptySet):
                        return self.type_of(b, env)
                    return INT
                return BOOL
            case ast.SetLit(elems=elems):
                if not elems:
                    return EMPTY_SET
                t0 = self.type_of(elems[0], env)
                if isinstance(t0, TEnum):
                    return TSet(t0.name)
                if isinstance(t0, TRef):
                    return TSet(t0.kind)
                return EMPTY_SET
            case ast.SetBuilder(binder=b):
                return TSet(self.elem_name(b.domain, env))
            case ast.Quant():
                return BOOL
            case ast.IfExpr(then=a, else_=b):
                ta = self.type_of(a, env)
                if isinstance(ta, TNone | TEmptySet):
                    tb = self.type_of(b, env)
                    return TRef(tb.kind, True) if isinstance(tb, TRef) else tb
                if isinstance(ta, TRef) and isinstance(self.type_of(b, env), TNone):
                    return TRef(ta.kind, True)
                return ta
            case ast.Unary():
                return INT
        return INT

    def resolve_type(self, t: ast.TypeExpr) -> Type:
        match t:
            case ast.BoolType():
                return BOOL
            case ast.IntType() | ast.RangeType():
                return INT
            case ast.NamedType(name=n):
                return TEnum(n) if n in self.sym.enums else TRef(n)
            case ast.OptionalType(name=n):
                return TRef(n, True)
            case ast.SetType(elem=n):
                return TSet(n)
        raise AssertionError(t)

    def elem_name(self, d: ast.Domain, env: Env) -> str:
        if isinstance(d, ast.ExprDomain):
            e = d.expr
            if (
                isinstance(e, ast.Name)
                and e.id not in env
                and e.id in (*self.sym.kinds, *self.sym.enums)
            ):
                return e.id
            t = self.type_of(d.expr, env)
            assert isinstance(t, TSet)
            return t.elem
        raise AssertionError("range domain has no element kind")


def zero_value(ty: Type) -> int:
    """The value a field without a declared default starts at."""
    match ty:
        case TInt(lo=lo):
            return lo or 0
        case TRef():
            return -1
    return 0
