"""Syntax tree nodes of declarations (spec/language.md, "Declarations"), actors and their
actions, the `docker` block, and `Program`, the root.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

from kcheck.lang.ast.expr import Binder, Expr, Span, TypeExpr, span_field
from kcheck.lang.ast.stmt import Block


@dataclass(frozen=True)
class Const:
    name: str
    value: Expr
    name_span: Span = span_field()
    span: Span = span_field()


@dataclass(frozen=True)
class Param:
    name: str
    type: TypeExpr
    default: Expr
    name_span: Span = span_field()
    span: Span = span_field()


@dataclass(frozen=True)
class EnumMember:
    name: str
    span: Span = span_field()


@dataclass(frozen=True)
class Enum:
    name: str
    members: tuple[EnumMember, ...]
    name_span: Span = span_field()
    span: Span = span_field()


@dataclass(frozen=True)
class FieldDecl:
    name: str
    type: TypeExpr
    default: Expr | None
    name_span: Span = span_field()
    span: Span = span_field()
    # `key name: ...`: part of the kind's unique key, the object's name (spec/language.md §1)
    key: bool = False


@dataclass(frozen=True)
class Kind:
    name: str
    size: Expr
    ordered: bool
    fields: tuple[FieldDecl, ...]
    name_span: Span = span_field()
    span: Span = span_field()


@dataclass(frozen=True)
class Record:
    """`record Container { ready: bool }`: the fields of a part an object holds in an array
    field (`containers: Container[2]`); lowered to flat fields by lang/records.py."""

    name: str
    fields: tuple[FieldDecl, ...]
    name_span: Span = span_field()
    span: Span = span_field()


@dataclass(frozen=True)
class Var:
    name: str
    type: TypeExpr
    init: Expr
    name_span: Span = span_field()
    span: Span = span_field()


@dataclass(frozen=True)
class Init:
    body: Block
    span: Span = span_field()


@dataclass(frozen=True)
class DefParam:
    name: str
    type: TypeExpr
    name_span: Span = span_field()
    span: Span = span_field()


@dataclass(frozen=True)
class Def:
    name: str
    params: tuple[DefParam, ...]
    ret: TypeExpr
    body: Expr
    name_span: Span = span_field()
    span: Span = span_field()


@dataclass(frozen=True)
class Action:
    name: str
    fairness: str | None  # None (weak, the default), "unfair" or "strong"
    binders: tuple[Binder, ...]
    where: Expr | None
    when: Expr | None
    body: Block
    name_span: Span = span_field()
    span: Span = span_field()
    handler: bool = False  # `action NAME on x in K`: runs once per notification about x
    # `within N`: a deadline in ticks, held by the built-in `tick` (lang/time.py)
    within: Expr | None = None


@dataclass(frozen=True)
class Watch:
    """`watches K stale` (a cache refreshed whole by a sync step) or `watches K coalesced` (a
    cache refreshed one object at a time by the controller's `on` handler)."""

    kind: str
    stale: bool
    kind_span: Span = span_field()
    span: Span = span_field()
    coalesced: bool = False
    # a coalesced cache starts synced (the store holds the initial objects, the handler still
    # hears one add each) unless the model says `unsynced` (spec/faults.md section 3)
    unsynced: bool = False


@dataclass(frozen=True)
class Controller:
    name: str
    watches: tuple[Watch, ...]
    actions: tuple[Action, ...]
    name_span: Span = span_field()
    span: Span = span_field()
    locals: tuple[Var, ...] = ()  # `var` in the body: its own memory (lang/actor_locals.py)
    skew: Expr | None = None  # `skew N`: its clocks may miss or gain N ticks (lang/time.py)


@dataclass(frozen=True)
class Process:
    name: str
    actions: tuple[Action, ...]
    name_span: Span = span_field()
    span: Span = span_field()
    locals: tuple[Var, ...] = ()  # `var` in the body: its own memory (lang/actor_locals.py)
    skew: Expr | None = None  # `skew N`: its clocks may miss or gain N ticks (lang/time.py)


@dataclass(frozen=True)
class Filter:
    name: str
    pod: str
    node: str
    expr: Expr
    name_span: Span = span_field()
    span: Span = span_field()


@dataclass(frozen=True)
class Score:
    name: str
    pod: str
    node: str
    expr: Expr
    weight: Expr | None
    name_span: Span = span_field()
    span: Span = span_field()


@dataclass(frozen=True)
class Hook:
    """`on bind(p, n) { ... }` in a scheduler: statements that run in its bind step, after the
    bind field is set, with `p` the pod and `n` the chosen node. `event` and the number of
    `params` are as written; the checker holds them to `bind` and two names."""

    event: str
    params: tuple[str, ...]
    body: Block
    event_span: Span = span_field()
    span: Span = span_field()
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
    name_span: Span = span_field()
    pod_kind_span: Span = span_field()
    node_field_span: Span = span_field()
    span: Span = span_field()
    hooks: tuple[Hook, ...] = ()


@dataclass(frozen=True)
class Fault:
    name: str
    budget: Expr
    actions: tuple[Action, ...]
    name_span: Span = span_field()
    span: Span = span_field()


@dataclass(frozen=True)
class Invariant:
    """`invariant NAME: e`, or `lemma NAME: e`: an invariant that also serves as a helper
    the induction engine may assume once it has proved it."""

    name: str
    expr: Expr
    name_span: Span = span_field()
    span: Span = span_field()
    lemma: bool = False


@dataclass(frozen=True)
class Assume:
    """`assume NAME: e`: a constraint between consts and params, checked once their values are
    known (spec/language.md); the Z3 engine's symbolic params range only where it holds."""

    name: str
    expr: Expr
    name_span: Span = span_field()
    span: Span = span_field()


@dataclass(frozen=True)
class Property:
    name: str
    expr: Expr
    name_span: Span = span_field()
    span: Span = span_field()
    # `decreases M1, M2`: measures a Z3 proof may use (spec/smt.md, "Measures")
    decreases: tuple[Expr, ...] = ()


@dataclass(frozen=True)
class BindItem:
    """`key: value` in a binding section; a value is a field name (`FieldName`), a string, an
    integer or a list of strings."""

    key: str
    value: FieldName | str | int | tuple[str, ...]
    key_span: Span = span_field()
    span: Span = span_field()


@dataclass(frozen=True)
class FieldName:
    name: str
    span: Span = span_field()


@dataclass(frozen=True)
class BindSection:
    """`pod Pod { ... }`: which kind plays a role in the live run, and how."""

    role: str
    kind: str
    items: tuple[BindItem, ...]
    role_span: Span = span_field()
    kind_span: Span = span_field()
    span: Span = span_field()


@dataclass(frozen=True)
class Docker:
    """`docker { pod Pod { ... } node Node { ... } service Service { ... } }` (spec/run.md):
    how `kcheck run --driver docker` binds the model. No effect on verification."""

    sections: tuple[BindSection, ...]
    span: Span = span_field()


@dataclass(frozen=True)
class ManifestItem:
    """`NAME = spec.replicas [in UNIT]`: the const or param NAME takes the value at that path of
    the section's object (spec/manifests.md)."""

    name: str
    path: tuple[str, ...]
    unit: str | None
    # `{ "zone-a": A, ssd: Ssd }`: Kubernetes strings to enum members; None when not written
    values: tuple[tuple[str, str], ...] | None = None
    name_span: Span = span_field()
    path_span: Span = span_field()
    unit_span: Span = span_field()
    span: Span = span_field()


# ---- what a model describes of a field it does not map (spec/manifests.md §4): `path: value`


@dataclass(frozen=True)
class PatNone:
    """`none`: the field is unset (absent or null)."""

    span: Span = span_field()


@dataclass(frozen=True)
class PatBool:
    value: bool
    span: Span = span_field()


@dataclass(frozen=True)
class PatString:
    value: str
    span: Span = span_field()


@dataclass(frozen=True)
class PatInt:
    """An integer: literals, consts and int params, `+` and `-` (`REPLICAS - 1`)."""

    expr: Expr
    span: Span = span_field()


@dataclass(frozen=True)
class PatCmp:
    """`>= REPLICAS`: an integer in that relation to the value."""

    op: str
    expr: Expr
    span: Span = span_field()


@dataclass(frozen=True)
class PatEntry:
    """`http.paths: [...]` of an object (keys without dots written as a path), or `*: {...}`,
    one entry of a map keyed by names the model does not care about."""

    key: tuple[str, ...]
    value: Pattern
    star: bool = False
    key_span: Span = span_field()
    span: Span = span_field()


@dataclass(frozen=True)
class PatObject:
    entries: tuple[PatEntry, ...]
    span: Span = span_field()


@dataclass(frozen=True)
class PatList:
    items: tuple[Pattern, ...]
    span: Span = span_field()


@dataclass(frozen=True)
class PatRef:
    """`Service { spec.selector.app: "web" }`: the name of an object of that Kubernetes kind in
    the manifests whose fields match."""

    kind: str
    entries: tuple[PatEntry, ...]
    kind_span: Span = span_field()
    span: Span = span_field()


@dataclass(frozen=True)
class PatAny:
    """`none | >= REPLICAS`: any of them."""

    alts: tuple[Pattern, ...]
    span: Span = span_field()


Pattern: TypeAlias = (
    PatNone | PatBool | PatString | PatInt | PatCmp | PatObject | PatList | PatRef | PatAny
)


@dataclass(frozen=True)
class ManifestFixed:
    """`spec.revisionHistoryLimit: 0`: the model describes this value of a field it does not
    map; a manifest saying otherwise (absent meaning Kubernetes' default) is refused."""

    path: tuple[str, ...]
    value: Pattern
    path_span: Span = span_field()
    span: Span = span_field()


@dataclass(frozen=True)
class ManifestSection:
    """`Deployment { ... }`: what the model takes from the manifests' object of one kind."""

    kind: str
    items: tuple[ManifestItem, ...]
    kind_span: Span = span_field()
    span: Span = span_field()
    # `kind Node = Node { ... }`: every object of `kind` becomes an initial object of the
    # model's kind `model_kind` (spec/manifests.md §1); None for a section of consts and params
    model_kind: str | None = None
    model_kind_span: Span = span_field()
    # what it describes of fields it does not map; a section with no items and only these (or
    # none at all) reads the kind without filling anything from it
    fixed: tuple[ManifestFixed, ...] = ()


@dataclass(frozen=True)
class Manifest:
    """`manifest { Deployment { ... } ... }`: how `kcheck verify --manifest` fills consts and
    params from Kubernetes objects. No effect without `--manifest`."""

    sections: tuple[ManifestSection, ...]
    span: Span = span_field()


@dataclass(frozen=True)
class ImportBind:
    """`with Pod = Workload`: the module's required `name` is the model's `target`."""

    name: str
    target: str
    name_span: Span = span_field()
    target_span: Span = span_field()


@dataclass(frozen=True)
class Import:
    """`import k8s.taints` or `import "./lib/fit.kdsl" as fit with Pod = Workload`
    (spec/language.md §13); expanded away by kcheck.lang.imports before names resolve."""

    path: str  # dotted for the standard library, the quoted text (no quotes) for a file
    file: bool
    alias: str | None
    binds: tuple[ImportBind, ...]
    path_span: Span = span_field()
    alias_span: Span = span_field()
    span: Span = span_field()


@dataclass(frozen=True)
class Requires:
    """`requires kind Pod { node: Node? }`, `requires record Container { ready: bool }` or
    `requires enum Effect { NoSchedule }` in a module: what the importing model must declare."""

    what: str  # "kind", "record" or "enum"
    name: str
    fields: tuple[FieldDecl, ...]
    members: tuple[EnumMember, ...]
    name_span: Span = span_field()
    span: Span = span_field()


Decl: TypeAlias = (
    Const | Param | Enum | Kind | Var | Init | Def | Controller | Process | Scheduler | Fault
    | Invariant | Property | Assume | Docker | Manifest | Record | Import | Requires
)  # fmt: skip

Actor: TypeAlias = Controller | Process | Scheduler | Fault


@dataclass(frozen=True)
class Program:
    name: str
    decls: tuple[Decl, ...]
    name_span: Span = span_field()
    span: Span = span_field()
    module: bool = False  # `module NAME` heads a module, not a model (spec/language.md §13)
    # after lang/time.py: the actions with `within` (ACTOR.action), in the order of the terms
    # of the generated tick's guard, one per deadline (explore/bfs.py names a timelock by them)
    deadlines: tuple[str, ...] = ()
