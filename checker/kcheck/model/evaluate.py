"""A checked KDSL expression evaluated on a decoded state (`Layout.decode`): what pictures
and explanations use to show the value of an expression the engines never compiled (a
`kcheck graph --cluster` key, the parts of a violated invariant). It walks the AST; the
engines' compiled code stays the one source of verdicts.

Values are as the decoded state holds them: ints, bools, enum members by name, a reference
as its object's id (`Pod#1`) or None, a set as a sorted list. Expressions that read the past
(temporal operators) are not state expressions and raise `Unsupported`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from kcheck.lang import ast
from kcheck.lang.fmt_expr import format_expr
from kcheck.lang.lists import unfolded
from kcheck.lang.symbols import SEEN_BY, Symbols
from kcheck.lang.types import TBool, TEnum

_VIEWER = "@viewer"  # in a state seen through a cache: whose


class Unsupported(Exception):
    """The expression is not one this evaluator reads (a temporal operator, say)."""

    def __init__(self, what: str, span: ast.Span) -> None:
        super().__init__(what)
        self.what = what
        self.span = span


class EvalError(Exception):
    """The expression has no value in this state (a field of `none`, a division by zero); the
    message says which, as the engines word it."""


Env = Mapping[str, Any]


class Evaluator:
    """Evaluates expressions of one checked model on its decoded states."""

    def __init__(self, sym: Symbols, *, params_known: bool = True) -> None:
        """`params_known` False: the state came from a run where the params took other values
        than the model's (`--symbolic-params`), so reading one is Unsupported, never a guess."""
        self.sym = sym
        self.params_known = params_known

    def value(self, e: ast.Expr, state: Mapping[str, Any], env: Env | None = None) -> Any:
        return self._ev(e, dict(env or {}), state)

    # --- names and objects ------------------------------------------------------------------

    def _param(self, name: str) -> Any:
        p = self.sym.params[name]
        if isinstance(p.type, TBool):
            return bool(p.value)
        if isinstance(p.type, TEnum):
            return self.sym.enums[p.type.name][p.value]
        return p.value

    def _obj(self, ref: Any, state: Mapping[str, Any], what: ast.Expr) -> Mapping[str, Any]:
        if ref is None:
            raise EvalError(f"{format_expr(what)} is none")
        kind = str(ref).split("#", 1)[0]
        objs = state.get(kind)
        if not isinstance(objs, Mapping) or ref not in objs:
            viewer = state.get(_VIEWER)
            if viewer is not None and f"{viewer}@{kind}" in state:
                raise EvalError(f"{format_expr(what)} = {ref} is not in {viewer}'s cache of {kind}")
            raise EvalError(f"{format_expr(what)} = {ref} was deleted")
        return objs[ref]  # type: ignore[no-any-return]

    def _seen_by(self, x: str, state: Mapping[str, Any]) -> Mapping[str, Any]:
        """`state` as controller x reads it: each kind it caches, its cache (`x@K` in the
        decoded state, its objects `x@K#slot`)."""
        view = {**state, _VIEWER: x}
        for k in self.sym.kinds:
            cache = state.get(f"{x}@{k}")
            if isinstance(cache, Mapping):
                view[k] = {ref.removeprefix(f"{x}@"): obj for ref, obj in cache.items()}
        return view

    def _filler(self, ref: str, name: str) -> Any:
        """What a list's slot past its length holds (lang/lists.py): the enum's first member,
        or none for a list of objects."""
        info = self.sym.kinds.get(ref.split("#", 1)[0])
        f = info.field(name) if info is not None else None
        if f is not None and isinstance(f.type, TEnum):
            return self.sym.enums[f.type.name][0]
        return None

    def _domain(self, d: ast.Domain, env: dict[str, Any], state: Mapping[str, Any]) -> list[Any]:
        if isinstance(d, ast.RangeDomain):
            lo, hi = self._ev(d.lo, env, state), self._ev(d.hi, env, state)
            return list(range(lo, hi + 1))
        e = d.expr
        if isinstance(e, ast.Name) and e.id not in env:
            if e.id == "bool":
                return [False, True]
            if e.id in self.sym.kinds:
                return list(state.get(e.id) or {})
            if e.id in self.sym.enums:
                return list(self.sym.enums[e.id])
        value = self._ev(e, env, state)
        if isinstance(value, list | tuple | set | frozenset):
            return list(value)
        raise Unsupported("a binder over this domain", d.span)

    def bindings(
        self,
        binders: tuple[ast.Binder, ...],
        where: ast.Expr | None,
        env: Env,
        state: Mapping[str, Any],
    ) -> Iterator[dict[str, Any]]:
        """Every binding of `binders` (in order) that satisfies `where`."""

        def go(i: int, e: dict[str, Any]) -> Iterator[dict[str, Any]]:
            if i == len(binders):
                if where is None or self._ev(where, e, state):
                    yield e
                return
            b = binders[i]
            for v in self._domain(b.domain, e, state):
                yield from go(i + 1, {**e, b.name: v})

        yield from go(0, dict(env))

    def _terms(
        self,
        binders: tuple[ast.Binder, ...],
        where: ast.Expr | None,
        env: dict[str, Any],
        state: Mapping[str, Any],
        each: Callable[[dict[str, Any]], Any],
    ) -> list[Any]:
        return [each(b) for b in self.bindings(binders, where, env, state)]

    # --- expressions ------------------------------------------------------------------------

    def _ev(self, e: ast.Expr, env: dict[str, Any], state: Mapping[str, Any]) -> Any:
        ev = self._ev
        match e:
            case ast.IntLit(value=v) | ast.BoolLit(value=v):
                return v
            case ast.NoneLit():
                return None
            case ast.Name(id=n):
                if n in env:
                    return env[n]
                if n in self.sym.vars:
                    return state[n]
                if n in self.sym.params:
                    if not self.params_known:
                        raise Unsupported(f"the param {n} (its value is not known here)", e.span)
                    return self._param(n)
                if n in self.sym.consts:
                    return self.sym.consts[n]
                if n in self.sym.members:
                    return n
                raise Unsupported(f"the name {n}", e.span)
            case ast.Field(obj=o, name=f):
                ref = ev(o, env, state)
                return unfolded(self._obj(ref, state, o), f, self._filler(str(ref), f))
            case ast.Budget(fault=f):
                return state[f"budget.{f}"]
            case ast.Index(kind=k, index=i):
                ref = f"{k}#{ev(i, env, state)}"
                if ref not in (state.get(k) or {}):
                    raise EvalError(f"{format_expr(e)}: no live {ref}")
                return ref
            case ast.Call(func=fn, args=[ast.Name(id=x), inner]) if (
                fn == SEEN_BY and fn not in self.sym.defs
            ):
                return ev(inner, env, self._seen_by(x, state))
            case ast.Call(func=fn, args=args):
                vals = [ev(a, env, state) for a in args]
                if fn in self.sym.defs:
                    d = self.sym.defs[fn]
                    return ev(
                        d.body, {p.name: v for p, v in zip(d.params, vals, strict=True)}, state
                    )
                match fn, vals:
                    case "min", [a, b]:
                        return min(a, b)
                    case "max", [a, b]:
                        return max(a, b)
                    case "abs", [a]:
                        return abs(a)
                    case "ceil", [a, b]:
                        return -_binary("/", -a, b, e)  # a / b rounded up
                    case "size", [a]:
                        return len(a)  # a set, decoded as a list
                raise Unsupported(f"the call {fn}(...)", e.span)
            case ast.Unary(op="-", operand=o):
                return -ev(o, env, state)
            case ast.Unary(op="not", operand=o):
                return not ev(o, env, state)
            case ast.Binary(op="and", left=a, right=b):
                return bool(ev(a, env, state)) and bool(ev(b, env, state))
            case ast.Binary(op="or", left=a, right=b):
                return bool(ev(a, env, state)) or bool(ev(b, env, state))
            case ast.Binary(op="implies", left=a, right=b):
                return (not ev(a, env, state)) or bool(ev(b, env, state))
            case ast.Binary(op=op, left=a, right=b):
                return _binary(op, ev(a, env, state), ev(b, env, state), e)
            case ast.SetLit(elems=elems):
                return sorted({ev(x, env, state) for x in elems}, key=str)
            case ast.SetBuilder(binder=binder, where=w):
                found = self._terms((binder,), w, env, state, lambda b2: b2[binder.name])
                return sorted(set(found), key=str)
            case ast.Quant(quant=q, binders=bs, where=w, body=body):
                holds = self._terms(bs, w, env, state, lambda b2: bool(ev(body, b2, state)))
                return all(holds) if q == "forall" else any(holds)
            case ast.Count(binders=bs, where=w):
                return len(self._terms(bs, w, env, state, lambda b2: 1))
            case ast.CountAll(arg=a):
                if isinstance(a, ast.Name) and a.id in self.sym.kinds and a.id not in env:
                    return len(state.get(a.id) or {})
                return len(ev(a, env, state))
            case ast.Aggregate(op=op, body=body, binders=bs, where=w):
                vals = self._terms(bs, w, env, state, lambda b2: ev(body, b2, state))
                if op == "sum":
                    return sum(vals)
                return (max(vals) if op == "max" else min(vals)) if vals else 0
            case ast.IfExpr(cond=c, then=a, else_=b):
                return ev(a, env, state) if ev(c, env, state) else ev(b, env, state)
        raise Unsupported(f"{type(e).__name__} expressions", getattr(e, "span", ast.NOWHERE))


def _binary(op: str, x: Any, y: Any, e: ast.Expr) -> Any:
    if isinstance(x, list) and isinstance(y, list) and op in ("|", "&", "-", "==", "!="):
        a, b = set(x), set(y)  # sets, decoded as sorted lists
        if op in ("==", "!="):
            return (a == b) == (op == "==")
        return sorted(a | b if op == "|" else a & b if op == "&" else a - b, key=str)
    match op:
        case "+":
            return x + y
        case "-":
            return x - y
        case "*":
            return x * y
        case "/" | "%":
            if y == 0:
                raise EvalError(f"{format_expr(e)}: division by zero")
            return x // y if op == "/" else x % y  # rounding down, as KDSL does
        case "==":
            return x == y
        case "!=":
            return x != y
        case "<":
            return x < y
        case "<=":
            return x <= y
        case ">":
            return x > y
        case ">=":
            return x >= y
        case "in":
            return x in y
        case "not in":
            return x not in y
    raise Unsupported(f"the operator {op}", getattr(e, "span", ast.NOWHERE))
