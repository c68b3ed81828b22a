"""Syntax tree nodes of expressions (spec/language.md, "Expressions"), the type expressions
written in declarations, and `Span`, the source position every node carries.

Every node carries its span, left out of equality so that two parses of equivalent text compare
equal (the parse -> fmt -> parse round trip relies on it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias


@dataclass(frozen=True, order=True)
class Span:
    """1-based line and column of the first character, and of the character after the last."""

    line: int
    col: int
    end_line: int
    end_col: int
    # the module file the node was read from (spec/language.md §13); "" for the model's own file
    file: str = field(default="", compare=False)


NOWHERE = Span(0, 0, 0, 0)


def span_field() -> Span:
    return field(default=NOWHERE, compare=False, repr=False)


# ---- types ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoolType:
    span: Span = span_field()


@dataclass(frozen=True)
class IntType:
    span: Span = span_field()


@dataclass(frozen=True)
class RangeType:
    lo: Expr
    hi: Expr
    span: Span = span_field()


@dataclass(frozen=True)
class NamedType:
    """An enum or a kind (a reference to one object of the kind)."""

    name: str
    span: Span = span_field()


@dataclass(frozen=True)
class OptionalType:
    """`K?`: a reference to an object of kind K, or `none`."""

    name: str
    span: Span = span_field()


@dataclass(frozen=True)
class SetType:
    elem: str
    span: Span = span_field()


@dataclass(frozen=True)
class ArrayType:
    """`Container[2]`: a field holding a fixed number of records (lang/records.py lowers it)."""

    elem: str
    size: Expr
    span: Span = span_field()


@dataclass(frozen=True)
class KeyedSetType:
    """`set<Pod>[ReplicaSet]`: an actor's local set per object of a kind (lang/keyed_locals.py)."""

    elem: str
    key: str
    span: Span = span_field()


@dataclass(frozen=True)
class ListType:
    """`list<Finalizer, 4>`: an ordered list of at most `size` distinct elements
    (lang/lists.py lowers it)."""

    elem: str
    size: Expr
    span: Span = span_field()


TypeExpr: TypeAlias = (
    BoolType | IntType | RangeType | NamedType | OptionalType | SetType | ArrayType | KeyedSetType
    | ListType
)  # fmt: skip


# ---- expressions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class IntLit:
    value: int
    span: Span = span_field()


@dataclass(frozen=True)
class BoolLit:
    value: bool
    span: Span = span_field()


@dataclass(frozen=True)
class NoneLit:
    span: Span = span_field()


@dataclass(frozen=True)
class Name:
    id: str
    span: Span = span_field()


@dataclass(frozen=True)
class Field:
    obj: Expr
    name: str
    name_span: Span = span_field()
    span: Span = span_field()


@dataclass(frozen=True)
class Call:
    """A call of a `def` or of a builtin (min, max, abs, ceil, size)."""

    func: str
    args: tuple[Expr, ...]
    func_span: Span = span_field()
    span: Span = span_field()


@dataclass(frozen=True)
class Index:
    """`Node[0]`: the object in a fixed slot of an `ordered` kind."""

    kind: str
    index: Expr
    kind_span: Span = span_field()
    span: Span = span_field()


UNARY_OPS = ("-", "not")
BINARY_OPS = (
    "+", "-", "*", "/", "%",
    "==", "!=", "<", "<=", ">", ">=", "in",
    "and", "or", "implies",
    "|", "&",
)  # fmt: skip


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Expr
    span: Span = span_field()


@dataclass(frozen=True)
class Binary:
    op: str
    left: Expr
    right: Expr
    op_span: Span = span_field()
    span: Span = span_field()


@dataclass(frozen=True)
class SetLit:
    elems: tuple[Expr, ...]
    span: Span = span_field()


@dataclass(frozen=True)
class ListLit:
    """`[PvcProtection, BackupHook]`: a whole list's value, given in a `create` or assigned
    (lang/lists.py lowers it)."""

    elems: tuple[Expr, ...]
    span: Span = span_field()


@dataclass(frozen=True)
class RangeDomain:
    lo: Expr
    hi: Expr
    span: Span = span_field()


@dataclass(frozen=True)
class ExprDomain:
    """A kind (its live objects), an enum (its values) or a set-valued expression."""

    expr: Expr
    span: Span = span_field()


Domain: TypeAlias = RangeDomain | ExprDomain


@dataclass(frozen=True)
class Binder:
    name: str
    domain: Domain
    name_span: Span = span_field()
    span: Span = span_field()


@dataclass(frozen=True)
class SetBuilder:
    binder: Binder
    where: Expr | None
    span: Span = span_field()


@dataclass(frozen=True)
class Quant:
    """`forall` / `exists` over one or more binders."""

    quant: str
    binders: tuple[Binder, ...]
    where: Expr | None
    body: Expr
    span: Span = span_field()


@dataclass(frozen=True)
class Count:
    """`count x in D where c`."""

    binders: tuple[Binder, ...]
    where: Expr | None
    span: Span = span_field()


@dataclass(frozen=True)
class CountAll:
    """`count(K)`: the number of live objects of a kind, or the size of a set."""

    arg: Expr
    span: Span = span_field()


@dataclass(frozen=True)
class Aggregate:
    """`sum e for x in D where c`, and the same with `max` and `min` (empty: 0)."""

    op: str
    body: Expr
    binders: tuple[Binder, ...]
    where: Expr | None
    span: Span = span_field()


@dataclass(frozen=True)
class Budget:
    """`budget(f)`: how many more times fault f may fire."""

    fault: str
    fault_span: Span = span_field()
    span: Span = span_field()


@dataclass(frozen=True)
class Elem:
    """`p.containers[i]`: one record of an array field; only its fields are values
    (`p.containers[i].ready`). Lowered before names resolve (lang/records.py)."""

    obj: Expr
    name: str
    index: Expr
    name_span: Span = span_field()
    span: Span = span_field()


@dataclass(frozen=True)
class IfExpr:
    cond: Expr
    then: Expr
    else_: Expr
    span: Span = span_field()


@dataclass(frozen=True)
class Temporal:
    """`eventually e` / `always e`; legal only in a `property`."""

    op: str
    body: Expr
    span: Span = span_field()


@dataclass(frozen=True)
class LeadsTo:
    left: Expr
    right: Expr
    span: Span = span_field()


Expr: TypeAlias = (
    IntLit | BoolLit | NoneLit | Name | Field | Call | Index | Unary | Binary | SetLit
    | SetBuilder | Quant | Count | CountAll | Aggregate | IfExpr | Temporal | LeadsTo | Budget
    | Elem | ListLit
)  # fmt: skip
