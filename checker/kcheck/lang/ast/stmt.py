"""Syntax tree nodes of statements (spec/language.md, "Statements"), and walks over a tree."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TypeAlias

from kcheck.lang.ast.expr import Binder, Domain, Expr, Index, Name, Span, span_field


@dataclass(frozen=True)
class LValue:
    """`x` or `x.f.g`: a global var, or a field reached from a bound object; or `K[i].f`, a
    field of an ordered kind's object (then `parts[0]` is the kind and `index` is i)."""

    parts: tuple[str, ...]
    part_spans: tuple[Span, ...] = field(default=(), compare=False, repr=False)
    span: Span = span_field()
    index: Expr | None = None
    # `p.containers[i].ready`: `parts[elem_at]` is an array field indexed by `elem`
    # (lang/records.py lowers it before names resolve)
    elem: Expr | None = None
    elem_at: int = 0
    # `p.containers[i].ports[j].open`: the further indexes, (position in `parts`, index)
    more: tuple[tuple[int, Expr], ...] = ()

    def indexes(self) -> dict[int, Expr]:
        """Each indexed array's position in `parts`, with its index."""
        return {self.elem_at: self.elem, **dict(self.more)} if self.elem is not None else {}

    def base(self) -> Expr:
        """The object the path starts from: `Name(x)` or `Index(K, i)`."""
        head_span = self.part_spans[0] if self.part_spans else self.span
        if self.index is not None:
            return Index(self.parts[0], self.index, head_span, self.span)
        return Name(self.parts[0], head_span)


@dataclass(frozen=True)
class FieldInit:
    name: str
    value: Expr
    name_span: Span = span_field()
    span: Span = span_field()
    # `containers[0].ready: true`: part `index` of the array field `name`, its field `part`
    # (lang/records.py lowers it to the flat field before names resolve)
    index: Expr | None = None
    part: str = ""
    part_span: Span = span_field()


@dataclass(frozen=True)
class Create:
    kind: str
    fields: tuple[FieldInit, ...]
    kind_span: Span = span_field()
    span: Span = span_field()


@dataclass(frozen=True)
class Assign:
    target: LValue
    value: Expr
    span: Span = span_field()


@dataclass(frozen=True)
class AssignAny:
    """`x := any D`: one successor per value of D."""

    target: LValue
    domain: Domain
    span: Span = span_field()


@dataclass(frozen=True)
class CreateStmt:
    create: Create
    span: Span = span_field()
    # `create K { ... } else { ... }`: runs instead of the create when a live K already has
    # the new object's key (AlreadyExists); None lets that failure be a runtime error
    otherwise: Block | None = None


@dataclass(frozen=True)
class Let:
    name: str
    value: Expr | Create
    name_span: Span = span_field()
    span: Span = span_field()


@dataclass(frozen=True)
class Delete:
    target: Expr
    span: Span = span_field()


@dataclass(frozen=True)
class Block:
    stmts: tuple[Stmt, ...]
    span: Span = span_field()


@dataclass(frozen=True)
class Choose:
    binders: tuple[Binder, ...]
    where: Expr | None
    body: Block
    span: Span = span_field()


@dataclass(frozen=True)
class For:
    binders: tuple[Binder, ...]
    where: Expr | None
    body: Block
    span: Span = span_field()


@dataclass(frozen=True)
class If:
    cond: Expr
    then: Block
    else_: Block | If | None
    span: Span = span_field()


@dataclass(frozen=True)
class Step:
    """`step`: ends one atomic step of a controller's action; the rest runs as a later step."""

    span: Span = span_field()


@dataclass(frozen=True)
class Jump:
    """Never parsed: where an action with `step` inside a block goes on (lang/steps.py). It
    ends its path's atomic step; the action resumes at `target` (a `step`'s number in source
    order, or a loop's next item), or is done when `target` is 0."""

    target: int
    span: Span = span_field()


@dataclass(frozen=True)
class Restart:
    """`restart NAME` (in a fault): the controller loses its in-flight work and its caches."""

    controller: str
    name_span: Span = span_field()
    span: Span = span_field()


Stmt: TypeAlias = (
    Assign | AssignAny | CreateStmt | Let | Delete | Choose | For | If | Step | Restart | Jump
)


def walk_stmts(stmts: tuple[Stmt, ...]) -> Iterator[Stmt]:
    """Every statement of a block and of the blocks nested in it, in source order."""
    for st in stmts:
        yield st
        match st:
            case Choose(body=b) | For(body=b) | CreateStmt(otherwise=Block() as b):
                yield from walk_stmts(b.stmts)
            case If(then=t, else_=e):
                yield from walk_stmts(t.stmts)
                if isinstance(e, If):
                    yield from walk_stmts((e,))
                elif isinstance(e, Block):
                    yield from walk_stmts(e.stmts)


def walk_nodes(node: object) -> Iterator[object]:
    """Every AST node at or below `node` (statements, expressions, declarations alike), without
    recursion, so deep trees are fine."""
    stack: list[object] = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, tuple):
            stack.extend(reversed(n))
        elif hasattr(n, "__dataclass_fields__"):
            yield n
            stack.extend(
                reversed([getattr(n, f) for f in n.__dataclass_fields__ if "span" not in f])
            )


def names_in(node: object) -> set[str]:
    """Every name mentioned at or below `node`, assignment targets' heads included."""
    out: set[str] = set()
    for n in walk_nodes(node):
        if isinstance(n, Name):
            out.add(n.id)
        elif isinstance(n, LValue):
            out.add(n.parts[0])
    return out
