"""The typed syntax tree of KDSL: frozen dataclasses, one per construct of spec/language.md.

Every node carries its source span, left out of equality so that two parses of equivalent text
compare equal (the parse -> fmt -> parse round trip relies on it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TypeAlias


@dataclass(frozen=True, order=True)
class Span:
    """1-based line and column of the first character, and of the character after the last."""

    line: int
    col: int
    end_line: int
    end_col: int


NOWHERE = Span(0, 0, 0, 0)


def _span() -> Span:
    return field(default=NOWHERE, compare=False, repr=False)


# ---- types ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoolType:
    span: Span = _span()


@dataclass(frozen=True)
class IntType:
    span: Span = _span()


@dataclass(frozen=True)
class RangeType:
    lo: Expr
    hi: Expr
    span: Span = _span()


@dataclass(frozen=True)
class NamedType:
    """An enum or a kind (a reference to one object of the kind)."""

    name: str
    span: Span = _span()


@dataclass(frozen=True)
class OptionalType:
    """`K?`: a reference to an object of kind K, or `none`."""

    name: str
    span: Span = _span()


@dataclass(frozen=True)
class SetType:
    elem: str
    span: Span = _span()


TypeExpr: TypeAlias = BoolType | IntType | RangeType | NamedType | OptionalType | SetType


# ---- expressions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class IntLit:
    value: int
    span: Span = _span()


@dataclass(frozen=True)
class BoolLit:
    value: bool
    span: Span = _span()


@dataclass(frozen=True)
class NoneLit:
    span: Span = _span()


@dataclass(frozen=True)
class Name:
    id: str
    span: Span = _span()


@dataclass(frozen=True)
class Field:
    obj: Expr
    name: str
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class Call:
    """A call of a `def` or of a builtin (min, max, abs, ceil, size)."""

    func: str
    args: tuple[Expr, ...]
    func_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class Index:
    """`Node[0]`: the object in a fixed slot of an `ordered` kind."""

    kind: str
    index: Expr
    kind_span: Span = _span()
    span: Span = _span()


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
    span: Span = _span()


@dataclass(frozen=True)
class Binary:
    op: str
    left: Expr
    right: Expr
    op_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class SetLit:
    elems: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class RangeDomain:
    lo: Expr
    hi: Expr
    span: Span = _span()


@dataclass(frozen=True)
class ExprDomain:
    """A kind (its live objects), an enum (its values) or a set-valued expression."""

    expr: Expr
    span: Span = _span()


Domain: TypeAlias = RangeDomain | ExprDomain


@dataclass(frozen=True)
class Binder:
    name: str
    domain: Domain
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class SetBuilder:
    binder: Binder
    where: Expr | None
    span: Span = _span()


@dataclass(frozen=True)
class Quant:
    """`forall` / `exists` over one or more binders."""

    quant: str
    binders: tuple[Binder, ...]
    where: Expr | None
    body: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Count:
    """`count x in D where c`."""

    binders: tuple[Binder, ...]
    where: Expr | None
    span: Span = _span()


@dataclass(frozen=True)
class CountAll:
    """`count(K)`: the number of live objects of a kind, or the size of a set."""

    arg: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Aggregate:
    """`sum e for x in D where c`, and the same with `max` and `min` (empty: 0)."""

    op: str
    body: Expr
    binders: tuple[Binder, ...]
    where: Expr | None
    span: Span = _span()


@dataclass(frozen=True)
class Budget:
    """`budget(f)`: how many more times fault f may fire."""

    fault: str
    fault_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class IfExpr:
    cond: Expr
    then: Expr
    else_: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Temporal:
    """`eventually e` / `always e`; legal only in a `property`."""

    op: str
    body: Expr
    span: Span = _span()


@dataclass(frozen=True)
class LeadsTo:
    left: Expr
    right: Expr
    span: Span = _span()


Expr: TypeAlias = (
    IntLit | BoolLit | NoneLit | Name | Field | Call | Index | Unary | Binary | SetLit
    | SetBuilder | Quant | Count | CountAll | Aggregate | IfExpr | Temporal | LeadsTo | Budget
)  # fmt: skip


# ---- statements -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LValue:
    """`x` or `x.f.g`: a global var, or a field reached from a bound object; or `K[i].f`, a
    field of an ordered kind's object (then `parts[0]` is the kind and `index` is i)."""

    parts: tuple[str, ...]
    part_spans: tuple[Span, ...] = field(default=(), compare=False, repr=False)
    span: Span = _span()
    index: Expr | None = None

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
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class Create:
    kind: str
    fields: tuple[FieldInit, ...]
    kind_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class Assign:
    target: LValue
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class AssignAny:
    """`x := any D`: one successor per value of D."""

    target: LValue
    domain: Domain
    span: Span = _span()


@dataclass(frozen=True)
class CreateStmt:
    create: Create
    span: Span = _span()


@dataclass(frozen=True)
class Let:
    name: str
    value: Expr | Create
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class Delete:
    target: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Block:
    stmts: tuple[Stmt, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Choose:
    binders: tuple[Binder, ...]
    where: Expr | None
    body: Block
    span: Span = _span()


@dataclass(frozen=True)
class For:
    binders: tuple[Binder, ...]
    where: Expr | None
    body: Block
    span: Span = _span()


@dataclass(frozen=True)
class If:
    cond: Expr
    then: Block
    else_: Block | If | None
    span: Span = _span()


@dataclass(frozen=True)
class Step:
    """`step`: ends one atomic step of a controller's action; the rest runs as a later step."""

    span: Span = _span()


@dataclass(frozen=True)
class Restart:
    """`restart NAME` (in a fault): the controller loses its in-flight work and its caches."""

    controller: str
    name_span: Span = _span()
    span: Span = _span()


Stmt: TypeAlias = (
    Assign | AssignAny | CreateStmt | Let | Delete | Choose | For | If | Step | Restart
)


# ---- declarations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Const:
    name: str
    value: Expr
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class Param:
    name: str
    type: TypeExpr
    default: Expr
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class EnumMember:
    name: str
    span: Span = _span()


@dataclass(frozen=True)
class Enum:
    name: str
    members: tuple[EnumMember, ...]
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class FieldDecl:
    name: str
    type: TypeExpr
    default: Expr | None
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class Kind:
    name: str
    size: Expr
    ordered: bool
    fields: tuple[FieldDecl, ...]
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class Var:
    name: str
    type: TypeExpr
    init: Expr
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class Init:
    body: Block
    span: Span = _span()


@dataclass(frozen=True)
class DefParam:
    name: str
    type: TypeExpr
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class Def:
    name: str
    params: tuple[DefParam, ...]
    ret: TypeExpr
    body: Expr
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class Action:
    name: str
    fairness: str | None  # None (weak, the default), "unfair" or "strong"
    binders: tuple[Binder, ...]
    where: Expr | None
    when: Expr | None
    body: Block
    name_span: Span = _span()
    span: Span = _span()
    handler: bool = False  # `action NAME on x in K`: runs once per notification about x


@dataclass(frozen=True)
class Watch:
    """`watches K stale` (a cache refreshed whole by a sync step) or `watches K coalesced` (a
    cache refreshed one object at a time by the controller's `on` handler)."""

    kind: str
    stale: bool
    kind_span: Span = _span()
    span: Span = _span()
    coalesced: bool = False
    # a coalesced cache starts synced (the store holds the initial objects, the handler still
    # hears one add each) unless the model says `unsynced` (spec/faults.md section 3)
    unsynced: bool = False


@dataclass(frozen=True)
class Controller:
    name: str
    watches: tuple[Watch, ...]
    actions: tuple[Action, ...]
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class Process:
    name: str
    actions: tuple[Action, ...]
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class Filter:
    name: str
    pod: str
    node: str
    expr: Expr
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class Score:
    name: str
    pod: str
    node: str
    expr: Expr
    weight: Expr | None
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class Hook:
    """`on bind(p, n) { ... }` in a scheduler: statements that run in its bind step, after the
    bind field is set, with `p` the pod and `n` the chosen node. `event` and the number of
    `params` are as written; the checker holds them to `bind` and two names."""

    event: str
    params: tuple[str, ...]
    body: Block
    event_span: Span = _span()
    span: Span = _span()
    param_spans: tuple[Span, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class Scheduler:
    """Binds one unbound object of `pod_kind` per step by setting its `node_field`, then runs
    its `on bind` hooks' statements (the checker allows one)."""

    name: str
    pod_kind: str
    node_field: str
    filters: tuple[Filter, ...]
    scores: tuple[Score, ...]
    actions: tuple[Action, ...]
    name_span: Span = _span()
    pod_kind_span: Span = _span()
    node_field_span: Span = _span()
    span: Span = _span()
    hooks: tuple[Hook, ...] = ()


@dataclass(frozen=True)
class Fault:
    name: str
    budget: Expr
    actions: tuple[Action, ...]
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class Invariant:
    """`invariant NAME: e`, or `lemma NAME: e`: an invariant that also serves as a helper
    the induction engine may assume once it has proved it."""

    name: str
    expr: Expr
    name_span: Span = _span()
    span: Span = _span()
    lemma: bool = False


@dataclass(frozen=True)
class Assume:
    """`assume NAME: e`: a constraint between consts and params, checked once their values are
    known (spec/language.md); the Z3 engine's symbolic params range only where it holds."""

    name: str
    expr: Expr
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class Property:
    name: str
    expr: Expr
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class BindItem:
    """`key: value` in a binding section; a value is a field name (`FieldName`), a string, an
    integer or a list of strings."""

    key: str
    value: FieldName | str | int | tuple[str, ...]
    key_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class FieldName:
    name: str
    span: Span = _span()


@dataclass(frozen=True)
class BindSection:
    """`pod Pod { ... }`: which kind plays a role in the live run, and how."""

    role: str
    kind: str
    items: tuple[BindItem, ...]
    role_span: Span = _span()
    kind_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class Docker:
    """`docker { pod Pod { ... } node Node { ... } service Service { ... } }` (spec/run.md):
    how `kcheck run --driver docker` binds the model. No effect on verification."""

    sections: tuple[BindSection, ...]
    span: Span = _span()


Decl: TypeAlias = (
    Const | Param | Enum | Kind | Var | Init | Def | Controller | Process | Scheduler | Fault
    | Invariant | Property | Assume | Docker
)  # fmt: skip

Actor: TypeAlias = Controller | Process | Scheduler | Fault


@dataclass(frozen=True)
class Program:
    name: str
    decls: tuple[Decl, ...]
    name_span: Span = _span()
    span: Span = _span()


def walk_stmts(stmts: tuple[Stmt, ...]) -> Iterator[Stmt]:
    """Every statement of a block and of the blocks nested in it, in source order."""
    for st in stmts:
        yield st
        match st:
            case Choose(body=b) | For(body=b):
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
