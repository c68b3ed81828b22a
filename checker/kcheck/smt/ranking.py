"""Measures for the proofs of temporal properties (spec/smt.md, "Measures"): int expressions
over the state, from the property's `decreases` clause or mined from the property's own terms
and the model's counts, and their Z3 terms under the binding a proof picked.

A measure is only a candidate here: smt/liveness.py keeps one only after proving that it never
increases on a fault-free step among the states a violating loop may visit, and never trusts a
`decreases` clause more than an inferred one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import z3  # type: ignore[import-untyped]

from kcheck.lang import ast
from kcheck.lang.fmt_expr import format_expr
from kcheck.lang.symbols import SEEN_BY, Symbols
from kcheck.lang.types import TBool, TEnum, TInt, TRef
from kcheck.smt.temporal import PropertyTerms
from kcheck.smt.terms import Env, Term, _ite

MAX_CANDIDATES = 48  # each costs one or two one-step queries
MAX_QUEUE = 24  # the measures about the bound object, tried after those (`_queue`)


@dataclass(frozen=True)
class Measure:
    expr: ast.Expr
    hint: bool = False  # written in the property's `decreases` clause

    @property
    def text(self) -> str:
        return format_expr(self.expr)

    def at(self, t: PropertyTerms, binding: Term, st: tuple[Term, ...]) -> tuple[Term, Term]:
        """(value, error) in `st` for the binding numbered by `binding`."""
        pairs = [self._one(t, b.env, st) for b in t.bindings]
        val, err = pairs[-1]
        for n in range(len(pairs) - 2, -1, -1):
            val = _ite(binding == n, pairs[n][0], val)
            err = _ite(binding == n, pairs[n][1], err)
        return val, err

    def _one(self, t: PropertyTerms, env: Env, st: tuple[Term, ...]) -> tuple[Term, Term]:
        v, e = t.enc.expr(self.expr, dict(env), st)
        if z3.is_bool(v):  # a bool measure counts as 1 when true
            v = z3.If(v, z3.IntVal(1), z3.IntVal(0))
        return v, e


def hinted(t: PropertyTerms) -> list[Measure]:
    return [Measure(e, hint=True) for e in t.decreases]


def candidates(sym: Symbols, t: PropertyTerms) -> list[Measure]:
    """Measures worth trying, each with its negation (a count that only grows is a measure
    too, the state space being finite): the int terms of the property's formulas and the
    differences of the sides of its comparisons, then the model's counts (per kind, per value
    of an enum or bool field), sums of int fields, and int and bool vars."""
    env = dict(t.bindings[0].env) if t.bindings else {}
    seen: set[ast.Expr] = set()
    out: list[Measure] = []
    cap = MAX_CANDIDATES

    def add(e: ast.Expr) -> None:
        for x in (e, ast.Unary("-", e)):
            if x not in seen and len(out) < cap:
                seen.add(x)
                out.append(Measure(x))

    def is_int(e: ast.Expr) -> bool:
        try:
            return isinstance(t.enc.type_of(e, env), TInt)
        except Exception:  # a term the typer cannot place outside its binders: skip it
            return False

    for f in t.formulas:
        for e in _terms(f):
            if isinstance(e, ast.Binary) and e.op in ("==", "!=", "<", "<=", ">", ">="):
                if is_int(e.left) and is_int(e.right):
                    for x in (e.left, e.right):
                        if isinstance(x, ast.IntLit):
                            continue
                        if isinstance(x, ast.Name) and x.id not in sym.vars:
                            continue  # a const, a param or a bound name: never changes
                        add(x)
                    add(ast.Binary("-", e.left, e.right))
            elif isinstance(e, ast.Count | ast.CountAll | ast.Aggregate):
                add(e)
    taken = {n for b in t.bindings for n in b.env}
    obj = next(n for n in ("obj", "obj_", "obj__", "o_x") if n not in taken)
    for k in sym.kinds.values():
        add(ast.CountAll(ast.Name(k.name)))
        binder = (ast.Binder(obj, ast.ExprDomain(ast.Name(k.name))),)
        for fi in k.fields:
            here = ast.Field(ast.Name(obj), fi.name)
            if isinstance(fi.type, TEnum):
                for m in sym.enums[fi.type.name]:
                    add(ast.Count(binder, ast.Binary("==", here, ast.Name(m))))
            elif isinstance(fi.type, TBool):
                add(ast.Count(binder, here))
            elif isinstance(fi.type, TInt):
                add(ast.Aggregate("sum", here, binder, None))
    for v in sym.vars.values():
        if isinstance(v.type, TInt):
            add(ast.Name(v.name))
        elif isinstance(v.type, TBool):
            add(ast.IfExpr(ast.Name(v.name), ast.IntLit(1), ast.IntLit(0)))
    cap = len(out) + MAX_QUEUE  # after the others, so that they are tried as before
    for e in _queue(sym, env, obj):
        add(e)
    return out


def _queue(sym: Symbols, env: Env, obj: str) -> Iterator[ast.Expr]:
    """For each object the property binds (`forall p in Pod`), each int field f of it: `p.f`
    and the objects of its kind before it by f, `count obj in Pod where obj.f < p.f`, alone
    and with one atom of theirs: its place in a queue (models/scheduler.kdsl: the pods bound
    before p, by their `rank`, and those of them still unbound)."""
    for name, (_, ty) in env.items():
        if not isinstance(ty, TRef) or ty.kind not in sym.kinds:
            continue
        kind = sym.kinds[ty.kind]
        atoms: list[ast.Expr] = []
        for fi in kind.fields:
            here = ast.Field(ast.Name(obj), fi.name)
            if isinstance(fi.type, TEnum):
                atoms += [ast.Binary("==", here, ast.Name(m)) for m in sym.enums[fi.type.name]]
            elif isinstance(fi.type, TBool):
                atoms += [here, ast.Unary("not", here)]
            elif isinstance(fi.type, TRef) and fi.type.optional:
                atoms += [ast.Binary(op, here, ast.NoneLit()) for op in ("==", "!=")]
        binder = (ast.Binder(obj, ast.ExprDomain(ast.Name(kind.name))),)
        for fi in kind.fields:
            if not isinstance(fi.type, TInt) or fi.name.startswith("_"):
                continue
            mine = ast.Field(ast.Name(name), fi.name)
            yield mine
            before = ast.Binary("<", ast.Field(ast.Name(obj), fi.name), mine)
            yield ast.Count(binder, before)
            for a in atoms:
                yield ast.Count(binder, ast.Binary("and", before, a))


def _terms(e: ast.Expr) -> Iterator[ast.Expr]:
    """e and its subexpressions outside binders (whose bodies need the binder to be typed)."""
    yield e
    match e:
        case ast.Binary(left=a, right=b):
            yield from _terms(a)
            yield from _terms(b)
        case ast.Unary(operand=a):
            yield from _terms(a)
        case ast.IfExpr(cond=c, then=a, else_=b):
            for x in (c, a, b):
                yield from _terms(x)
        case ast.Call(func=fn) if fn == SEEN_BY:
            return  # its parts read a cache: out of it they would mean another thing
        case ast.Call(args=args):
            for x in args:
                yield from _terms(x)
        case _:
            return


def describe(measures: Sequence[Measure]) -> str:
    return ", ".join(m.text for m in measures)
