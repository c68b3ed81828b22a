"""What kcheck knows, before names resolve, about the values an array index may take
(spec/language.md §2, "Records and arrays"). lang/records.py lowers a variable index into a case
over the parts it may name, so it must know them at check time: for an array `R[N]` the index's
int bounds, for an array `R[E]` indexed by an enum that the index is a member of E.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kcheck.lang import ast

Interval = tuple[int, int]


@dataclass(frozen=True)
class Scope:
    """The locals bound around an expression: a part binder's array, an int local's bounds
    (None: no known bounds), an enum-typed local's enum."""

    parts: Mapping[str, tuple[ast.Expr, str]]  # part binder -> (object, array field)
    ranges: Mapping[str, Interval | None]  # every name bound here
    enums: Mapping[str, str]

    def captures(self, name: str) -> str | None:
        """The part binder whose object a new local `name` would hide, if any."""
        for c, (obj, _) in self.parts.items():
            if c != name and name in ast.names_in(obj):
                return c
        return None

    def bind(
        self,
        name: str,
        part: tuple[ast.Expr, str] | None = None,
        rng: Interval | None = None,
        enum: str | None = None,
    ) -> Scope:
        parts = {k: v for k, v in self.parts.items() if k != name}
        if part is not None:
            parts[name] = part
        enums = {k: v for k, v in self.enums.items() if k != name}
        if enum is not None:
            enums[name] = enum
        return Scope(parts, {**self.ranges, name: rng}, enums)


EMPTY = Scope({}, {}, {})


class Known:
    """Constants, and the declared type of every var, param, actor local and stored field, by
    name (a read is not resolved yet: a name shared by declarations of different types has
    no known values)."""

    def __init__(self, program: ast.Program, overrides: Mapping[str, int | str]) -> None:
        self.overrides = overrides
        self.consts = {d.name: d.value for d in program.decls if isinstance(d, ast.Const)}
        self.enums = {
            d.name: tuple(m.name for m in d.members)
            for d in program.decls
            if isinstance(d, ast.Enum)
        }
        self.member_of = {m: e for e, ms in self.enums.items() for m in ms}
        self.globals: dict[str, list[ast.TypeExpr]] = {}
        self.stored: dict[str, list[ast.TypeExpr]] = {}
        for d in program.decls:
            if isinstance(d, ast.Var | ast.Param):
                self.globals.setdefault(d.name, []).append(d.type)
            elif isinstance(d, ast.Controller | ast.Process):
                for v in d.locals:
                    self.globals.setdefault(v.name, []).append(v.type)
            elif isinstance(d, ast.Kind | ast.Record):
                for f in d.fields:
                    self.stored.setdefault(f.name, []).append(f.type)

    def const(self, e: ast.Expr, seen: frozenset[str] = frozenset()) -> int | None:
        match e:
            case ast.IntLit(value=v):
                return v
            case ast.Name(id=n) if n in self.consts and n not in seen:
                o = self.overrides.get(n)
                return o if isinstance(o, int) else self.const(self.consts[n], seen | {n})
            case ast.Unary(op="-", operand=operand):
                neg = self.const(operand, seen)
                return None if neg is None else -neg
            case ast.Binary(op=op, left=left, right=right) if op in ("+", "-", "*"):
                a, b = self.const(left, seen), self.const(right, seen)
                if a is None or b is None:
                    return None
                return a + b if op == "+" else a - b if op == "-" else a * b
        return None

    def range_of(self, t: ast.TypeExpr) -> Interval | None:
        if isinstance(t, ast.RangeType):
            lo, hi = self.const(t.lo), self.const(t.hi)
            if lo is not None and hi is not None:
                return lo, hi
        return None

    def enum_type(self, t: ast.TypeExpr) -> str | None:
        return t.name if isinstance(t, ast.NamedType) and t.name in self.enums else None

    def interval(self, e: ast.Expr, scope: Scope) -> Interval | None:
        """Bounds every value of `e` lies within, or None when kcheck does not know them."""
        match e:
            case ast.Name(id=n) if n in scope.ranges:
                return scope.ranges[n]
            case ast.Name(id=n) if n in self.globals:
                return _hull([self.range_of(t) for t in self.globals[n]])
            case ast.Field(name=f) if f in self.stored:
                return _hull([self.range_of(t) for t in self.stored[f]])
            case ast.Binary(op=op, left=a, right=b) if op in ("+", "-"):
                x, y = self.interval(a, scope), self.interval(b, scope)
                if x is None or y is None:
                    return None
                if op == "+":
                    return x[0] + y[0], x[1] + y[1]
                return x[0] - y[1], x[1] - y[0]
            case ast.IfExpr(then=a, else_=b):
                x, y = self.interval(a, scope), self.interval(b, scope)
                if x is None or y is None:
                    return None
                return min(x[0], y[0]), max(x[1], y[1])
        v = self.const(e)
        return None if v is None else (v, v)

    def members(self, e: ast.Expr, scope: Scope) -> tuple[str, tuple[str, ...]] | None:
        """The enum every value of `e` belongs to and the members `e` may be, or None."""
        match e:
            case ast.Name(id=n) if n in scope.ranges:
                enum = scope.enums.get(n)
                return None if enum is None else (enum, self.enums[enum])
            case ast.Name(id=n) if n in self.member_of:
                return self.member_of[n], (n,)
            case ast.Name(id=n) if n in self.globals:
                return self._one_enum(self.globals[n])
            case ast.Field(name=f) if f in self.stored:
                return self._one_enum(self.stored[f])
            case ast.IfExpr(then=a, else_=b):
                x, y = self.members(a, scope), self.members(b, scope)
                if x is None or y is None or x[0] != y[0]:
                    return None
                return x[0], tuple(m for m in self.enums[x[0]] if m in x[1] or m in y[1])
        return None

    def _one_enum(self, types: list[ast.TypeExpr]) -> tuple[str, tuple[str, ...]] | None:
        found = {self.enum_type(t) for t in types}
        if len(found) != 1 or None in found:
            return None
        (enum,) = found
        assert enum is not None
        return enum, self.enums[enum]


def _hull(found: list[Interval | None]) -> Interval | None:
    """Bounds of every declaration sharing a name (a read is not resolved yet), or None."""
    known = [r for r in found if r is not None]
    if len(known) < len(found):
        return None
    return min(r[0] for r in known), max(r[1] for r in known)
