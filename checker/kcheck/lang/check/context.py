"""What the checker passes between its parts: the error type that stops cascades, the scope
(`Ctx`) an expression or statement is checked in, and small helpers over spans, types and
expression trees. The checker itself is `kcheck.lang.check`: names, constants and binders in
`base`, then `temporal`, `expr`, `stmt`, `docker` and `decl`, each a layer of one class.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TypeAlias

from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic
from kcheck.lang.types import INT, TInt, Type, assignable


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


# The sorts of declaration that an expression or a domain reads by name (KC0207).
READ_BY_NAME = frozenset({"const", "param", "var", "enum member", "kind", "enum"})

# Other languages' spellings of KDSL's literals (spec/language.md §6), for "unknown name".
FOREIGN_VALUES = {
    **dict.fromkeys(
        ("True", "TRUE", "False", "FALSE"), "KDSL writes the booleans `true` and `false`"
    ),
    **dict.fromkeys(("None", "null", "nil", "NULL"), "KDSL writes no object as `none`"),
}

_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


@dataclass(frozen=True)
class Local:
    type: Ty
    what: str  # "bound name", "let name", "parameter": for messages
    span: ast.Span


@dataclass(frozen=True)
class Ctx:
    """What an expression or statement can see, and where it stands."""

    locals: Mapping[str, Local] = field(default_factory=dict)
    place: str = "an expression"  # named in "temporal operator not allowed in ..."
    temporal_lax: bool = False  # a property of unsupported shape: reported once already
    in_for: bool = False  # inside the body of a `for` statement (KC0504)
    actor: str = ""  # the sort of actor whose action this is ("" in init and defs)
    actor_name: str = ""  # and its name (`seen_own_writes(K)` asks its caches)
    top: bool = False  # a statement directly in an action's body (where `step` may stand)
    product: int = 1  # how many bindings the enclosing binders enumerate, at most
    observes: bool = False  # an invariant, lemma or property: may read a cache (`seen_by`)
    seen_by: str = ""  # inside `seen_by(X, ...)`: X

    def bind(self, name: str, local: Local) -> Ctx:
        return replace(self, locals={**self.locals, name: local})


@dataclass(frozen=True)
class Sig:
    params: tuple[tuple[str, Ty, ast.Span], ...]
    ret: Ty


class NotConst(Exception):
    """Raised by constant evaluation; `diag` is None when the cause was reported already."""

    def __init__(self, diag: Diagnostic | None) -> None:
        self.diag = diag


def head_span(span: ast.Span, width: int) -> ast.Span:
    """The first `width` characters of a span: a keyword at the start of a construct."""
    return ast.Span(span.line, span.col, span.line, span.col + width)


def as_value(t: Ty) -> Ty:
    """Stored ints have ranges; in expressions every int is unbounded."""
    return INT if isinstance(t, TInt) else t


def fits(value: Ty, target: Ty) -> bool:
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


def walk(e: ast.Expr) -> Iterator[ast.Expr]:
    stack = [e]
    while stack:
        x = stack.pop()
        yield x
        stack.extend(reversed(_children(x)))


def has_temporal(e: ast.Expr) -> bool:
    return any(isinstance(x, ast.Temporal | ast.LeadsTo) for x in walk(e))


def comparison_swallowed(e: ast.Expr) -> str | None:
    """The hint for `count p in K where c <= 2` used as a bool: a binding form takes everything
    to its right, so the comparison meant for the count ended up in its condition."""
    match e:
        case ast.Count(binders=bs, where=ast.Binary(op=op)) if op in _COMPARISONS:
            form, head = "count", "count"
        case ast.Aggregate(op=form, binders=bs, where=ast.Binary(op=op)) if op in _COMPARISONS:
            head = f"{form} ... for"
        case _:
            return None
    d = bs[0].domain
    domain = d.expr.id if isinstance(d, ast.ExprDomain) and isinstance(d.expr, ast.Name) else "..."
    return (
        f"`{form} ... where` takes everything to its right, so `{op}` was read inside its "
        f"condition: write `({head} {bs[0].name} in {domain} where ...) {op} ...`"
    )
