"""The declarations of a model, resolved: constants evaluated (with -D overrides), enums, kinds and
their fields, vars, defs, actors and properties. Shared by the type checker and the compiler.

Declarations may appear in any order. Problems found here are returned as diagnostics; the
symbol table is still built as far as possible so the checker can report more errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic, suggest
from kcheck.lang.types import BOOL, INT, TBool, TEnum, TInt, TRef, TSet, Type

MAX_KIND_SIZE = 64  # slots of one kind; a set of objects is a bitmask over them
BUILTINS = (
    "min", "max", "abs", "ceil", "size", "feasible", "seen_own_writes", "unchanged", "seen_by",
)  # fmt: skip
# `feasible(S, p, n)`: p passes every filter of scheduler S on n (spec/language.md §3)
FEASIBLE = "feasible"
# `seen_own_writes(K)`: a controller's cache of K has observed every write it made to K
# (spec/faults.md, "Read your own writes")
SEEN_OWN_WRITES = "seen_own_writes"
# `unchanged(x)`: the apiserver's x still has the resourceVersion of the controller's cached copy
# (an update from that copy would not get 409 Conflict; spec/faults.md, "Conflicts")
UNCHANGED = "unchanged"
# `seen_by(X, e)`: e as controller X reads it, through its informer caches; only in invariants,
# lemmas and properties, which otherwise read the real state (spec/faults.md, "What a cache
# holds")
SEEN_BY = "seen_by"


@dataclass(frozen=True)
class FieldInfo:
    name: str
    type: Type
    default: ast.Expr | None
    decl: ast.FieldDecl


@dataclass(frozen=True)
class KindInfo:
    name: str
    size: int
    ordered: bool
    fields: tuple[FieldInfo, ...]
    decl: ast.Kind

    def field(self, name: str) -> FieldInfo | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None


@dataclass(frozen=True)
class VarInfo:
    name: str
    type: Type
    decl: ast.Var


@dataclass(frozen=True)
class ParamInfo:
    name: str
    type: Type
    value: int  # bool as 0/1, an enum value as its index
    decl: ast.Param


@dataclass
class Symbols:
    program: ast.Program
    consts: dict[str, int] = field(default_factory=dict)
    params: dict[str, ParamInfo] = field(default_factory=dict)
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    members: dict[str, tuple[str, int]] = field(default_factory=dict)  # member -> (enum, index)
    kinds: dict[str, KindInfo] = field(default_factory=dict)
    vars: dict[str, VarInfo] = field(default_factory=dict)
    defs: dict[str, ast.Def] = field(default_factory=dict)
    actors: list[ast.Actor] = field(default_factory=list)
    inits: list[ast.Init] = field(default_factory=list)
    docker: list[ast.Docker] = field(default_factory=list)  # the binding for `kcheck run`
    manifests: list[ast.Manifest] = field(default_factory=list)  # for `verify --manifest`
    invariants: list[ast.Invariant] = field(default_factory=list)
    properties: list[ast.Property] = field(default_factory=list)
    assumptions: list[ast.Assume] = field(default_factory=list)

    def value_names(self) -> list[str]:
        """Every name that may stand for a value at the top level (for `did you mean`)."""
        return [*self.consts, *self.params, *self.vars, *self.members, *self.defs]

    def type_names(self) -> list[str]:
        return [*self.enums, *self.kinds]


class _ConstError(Exception):
    def __init__(self, diag: Diagnostic) -> None:
        self.diag = diag


def _span_of(e: object) -> ast.Span:
    sp = getattr(e, "span", ast.NOWHERE)
    return sp if isinstance(sp, ast.Span) else ast.NOWHERE


class _Builder:
    def __init__(
        self, program: ast.Program, overrides: Mapping[str, int | str], max_kind_size: int
    ) -> None:
        self.sym = Symbols(program)
        self.max_kind_size = max_kind_size
        self.overrides: dict[str, int] = {}
        self.diags: list[Diagnostic] = []
        self.member_overrides: dict[str, str] = {}
        # names given `true` or `false` (a bool from the CLI): only a bool param takes them
        self.bool_overrides = {n for n, v in overrides.items() if isinstance(v, bool)}
        for name, value in overrides.items():
            if isinstance(value, str):
                self.member_overrides[name] = value
            else:
                self.overrides[name] = value
        self.const_decls: dict[str, ast.Const] = {}
        self.evaluating: list[str] = []
        self.seen: dict[str, ast.Span] = {}

    def error(self, code: str, msg: str, span: ast.Span, help: str | None = None) -> None:
        self.diags.append(Diagnostic(code, msg, span, help=help))

    def declare(self, name: str, span: ast.Span, what: str) -> bool:
        if name in self.seen:
            first = self.seen[name]
            self.diags.append(
                Diagnostic(
                    "KC0202",
                    f"`{name}` is declared twice",
                    span,
                    notes=(f"first declared at line {first.line}",),
                    help=f"rename this {what}",
                )
            )
            return False
        self.seen[name] = span
        return True

    # ---- constant evaluation
    def const_value(self, name: str, span: ast.Span) -> int:
        if name in self.sym.consts:
            return self.sym.consts[name]
        decl = self.const_decls.get(name)
        if decl is None:
            if name in self.sym.params or any(
                isinstance(d, ast.Param) and d.name == name for d in self.sym.program.decls
            ):
                raise _ConstError(
                    Diagnostic(
                        "KC0402",
                        f"`{name}` is a param, not a constant",
                        span,
                        help="sizes and ranges are fixed before checking: use a `const`",
                    )
                )
            raise _ConstError(
                Diagnostic(
                    "KC0201",
                    f"unknown constant `{name}`",
                    span,
                    help=suggest(name, self.const_decls),
                )
            )
        if name in self.evaluating:
            raise _ConstError(
                Diagnostic("KC0501", f"constant `{name}` is defined in terms of itself", span)
            )
        if name in self.bool_overrides:
            # reported once; the declared value stands in, so that its uses check on
            self.bool_overrides.discard(name)
            self.error(
                "KC0404",
                f"-D {name}={str(bool(self.overrides.pop(name))).lower()}: `{name}` is an "
                "integer const, not a bool",
                ast.NOWHERE,
            )
        self.evaluating.append(name)
        try:
            value = self.overrides[name] if name in self.overrides else self.eval(decl.value)
        finally:
            self.evaluating.pop()
        self.sym.consts[name] = value
        return value

    def eval(self, e: ast.Expr) -> int:
        """Evaluate a compile-time integer expression (literals, consts, arithmetic, builtins)."""
        match e:
            case ast.IntLit(value=v):
                return v
            case ast.Name(id=name):
                return self.const_value(name, e.span)
            case ast.Unary(op="-", operand=operand):
                return -self.eval(operand)
            case ast.Binary(op=op, left=a, right=b) if op in ("+", "-", "*", "/", "%"):
                lv, rv = self.eval(a), self.eval(b)
                if op == "+":
                    return lv + rv
                if op == "-":
                    return lv - rv
                if op == "*":
                    return lv * rv
                if rv == 0:
                    raise _ConstError(Diagnostic("KC0402", "division by zero", e.span))
                return lv // rv if op == "/" else lv % rv
            case ast.Call(func="min" | "max" | "abs" | "ceil", args=args):
                vals = [self.eval(a) for a in args]
                if e.func == "abs" and len(vals) == 1:
                    return abs(vals[0])
                if len(vals) == 2:
                    if e.func == "min":
                        return min(vals)
                    if e.func == "max":
                        return max(vals)
                    if vals[1] != 0:
                        return -((-vals[0]) // vals[1])
        raise _ConstError(
            Diagnostic(
                "KC0402",
                "not a compile-time constant",
                _span_of(e),
                help="only integers, `const` names, arithmetic and min/max/abs/ceil are allowed here",
            )
        )

    def try_eval(self, e: ast.Expr) -> int | None:
        try:
            return self.eval(e)
        except _ConstError as err:
            self.diags.append(err.diag)
            return None

    # ---- types
    def resolve_type(self, t: ast.TypeExpr, *, allow_int: bool = False) -> Type | None:
        match t:
            case ast.BoolType():
                return BOOL
            case ast.IntType():
                if not allow_int:
                    self.error(
                        "KC0301",
                        "a stored integer needs a range",
                        t.span,
                        help="write a range such as `0..10`; bare `int` is for def results",
                    )
                    return None
                return INT
            case ast.RangeType(lo=lo_e, hi=hi_e):
                lo, hi = self.try_eval(lo_e), self.try_eval(hi_e)
                if lo is None or hi is None:
                    return None
                if lo > hi:
                    self.error("KC0403", f"empty range {lo}..{hi}", t.span)
                    return None
                return TInt(lo, hi)
            case ast.NamedType(name=n) | ast.OptionalType(name=n):
                if n in self.sym.enums:
                    if isinstance(t, ast.OptionalType):
                        self.error("KC0301", f"`{n}?`: only kind references can be `none`", t.span)
                        return None
                    return TEnum(n)
                if n in self.kind_decls:
                    return TRef(n, isinstance(t, ast.OptionalType))
                self.error(
                    "KC0204",
                    f"unknown type `{n}`",
                    t.span,
                    help=suggest(n, [*self.sym.enums, *self.kind_decls, "bool"]),
                )
                return None
            case ast.SetType(elem=n):
                if n in self.sym.enums or n in self.kind_decls:
                    return TSet(n)
                self.error(
                    "KC0204",
                    f"unknown enum or kind `{n}` in set type",
                    t.span,
                    help=suggest(n, [*self.sym.enums, *self.kind_decls]),
                )
                return None
        return None

    def param_value(self, decl: ast.Param, ty: Type) -> int | None:
        name = decl.name
        if name in self.member_overrides and not isinstance(ty, TEnum):
            self.error(
                "KC0404",
                f"-D {name}={self.member_overrides[name]}: `{name}` takes an integer, not an enum member",
                ast.NOWHERE,
            )
            return None
        if name in self.bool_overrides and not isinstance(ty, TBool):
            self.error(
                "KC0404",
                f"-D {name}={str(bool(self.overrides[name])).lower()}: `{name}` is a param of "
                f"type {ty}, not bool",
                ast.NOWHERE,
            )
            return None
        if isinstance(ty, TInt):
            value = self.overrides[name] if name in self.overrides else self.try_eval(decl.default)
            if value is None:
                return None
            assert ty.lo is not None and ty.hi is not None
            if not ty.lo <= value <= ty.hi:
                where = "-D override" if name in self.overrides else "default"
                self.error(
                    "KC0401",
                    f"{where} {value} of param `{name}` is outside {ty}",
                    decl.default.span if name not in self.overrides else decl.name_span,
                )
                return None
            return value
        if isinstance(ty, TBool):
            if name in self.overrides:
                if self.overrides[name] not in (0, 1):
                    self.error("KC0404", f"-D {name} must be 0 or 1 (false or true)", ast.NOWHERE)
                    return None
                return self.overrides[name]
            if isinstance(decl.default, ast.BoolLit):
                return int(decl.default.value)
            self.error("KC0301", f"default of bool param `{name}` must be true or false", decl.span)
            return None
        if isinstance(ty, TEnum):
            members = self.sym.enums[ty.name]
            if name in self.member_overrides:
                member = self.member_overrides[name]
                if member not in members:
                    self.error(
                        "KC0404",
                        f"-D {name}={member}: {ty.name} has no member `{member}`",
                        ast.NOWHERE,
                        help=suggest(member, members),
                    )
                    return None
                return members.index(member)
            if name in self.overrides:
                v = self.overrides[name]
                if not 0 <= v < len(members):
                    self.error("KC0404", f"-D {name}: no member number {v} in {ty.name}", decl.span)
                    return None
                return v
            if isinstance(decl.default, ast.Name) and decl.default.id in members:
                return members.index(decl.default.id)
            self.error(
                "KC0301", f"default of param `{name}` must be a member of {ty.name}", decl.span
            )
            return None
        self.error("KC0301", f"param `{name}` must be a range, bool or enum", decl.type.span)
        return None

    # ---- the pass
    def build(self) -> tuple[Symbols, list[Diagnostic]]:
        prog = self.sym.program
        self.kind_decls: dict[str, ast.Kind] = {}
        # Pass 1: names of everything, so that order of declaration does not matter.
        for d in prog.decls:
            match d:
                case ast.Const():
                    if self.declare(d.name, d.name_span, "constant"):
                        self.const_decls[d.name] = d
                case ast.Enum():
                    if self.declare(d.name, d.name_span, "enum"):
                        self.sym.enums[d.name] = tuple(m.name for m in d.members)
                    if not d.members:
                        self.error("KC0403", f"enum `{d.name}` has no members", d.span)
                    for i, m in enumerate(d.members):
                        if self.declare(m.name, m.span, "enum member"):
                            self.sym.members[m.name] = (d.name, i)
                case ast.Kind():
                    if self.declare(d.name, d.name_span, "kind"):
                        self.kind_decls[d.name] = d
                case ast.Param() | ast.Var() | ast.Def():
                    self.declare(d.name, d.name_span, type(d).__name__.lower())
                case ast.Controller() | ast.Process() | ast.Scheduler() | ast.Fault():
                    self.declare(d.name, d.name_span, "actor")
                case ast.Invariant() | ast.Property():
                    self.declare(d.name, d.name_span, "property")
                case ast.Assume():
                    self.declare(d.name, d.name_span, "assumption")
                case ast.Init() | ast.Docker() | ast.Manifest():
                    pass
        for name, value in self.member_overrides.items():
            if name in self.const_decls:
                self.error("KC0404", f"-D {name}={value}: a const takes an integer", ast.NOWHERE)
        for name in [*self.overrides, *self.member_overrides]:
            if name not in self.const_decls and not any(
                isinstance(d, ast.Param) and d.name == name for d in prog.decls
            ):
                candidates = [
                    *self.const_decls,
                    *(d.name for d in prog.decls if isinstance(d, ast.Param)),
                ]
                self.error(
                    "KC0404",
                    f"-D {name}: the model has no const or param `{name}`",
                    ast.NOWHERE,
                    help=suggest(name, candidates),
                )
        # Pass 2: values and types.
        self.taken_values: set[str] = set(self.const_decls) | set(self.sym.members)
        for d in prog.decls:
            match d:
                case ast.Const():
                    if d.name in self.const_decls and self.const_decls[d.name] is d:
                        try:
                            self.const_value(d.name, d.name_span)
                        except _ConstError as err:
                            self.diags.append(err.diag)
                case ast.Param() | ast.Var() | ast.Def() if d.name in self.taken_values:
                    pass  # a duplicate, already reported: the first declaration counts
                case ast.Param():
                    self.taken_values.add(d.name)
                    ty = self.resolve_type(d.type)
                    if ty is not None:
                        pvalue = self.param_value(d, ty)
                        if pvalue is not None:
                            self.sym.params[d.name] = ParamInfo(d.name, ty, pvalue, d)
                case ast.Kind():
                    self.build_kind(d)
                case ast.Var():
                    self.taken_values.add(d.name)
                    ty = self.resolve_type(d.type)
                    if ty is not None:
                        self.sym.vars[d.name] = VarInfo(d.name, ty, d)
                case ast.Def():
                    self.taken_values.add(d.name)
                    self.sym.defs[d.name] = d
                    if d.name in BUILTINS:
                        self.error("KC0202", f"`{d.name}` is a builtin function", d.name_span)
                case ast.Init():
                    self.sym.inits.append(d)
                case ast.Controller() | ast.Process() | ast.Scheduler() | ast.Fault():
                    self.sym.actors.append(d)
                case ast.Invariant():
                    self.sym.invariants.append(d)
                case ast.Property():
                    self.sym.properties.append(d)
                case ast.Assume():
                    self.sym.assumptions.append(d)
                case ast.Docker():
                    self.sym.docker.append(d)
                case ast.Manifest():
                    self.sym.manifests.append(d)
        return self.sym, self.diags

    def build_kind(self, d: ast.Kind) -> None:
        size = self.try_eval(d.size)
        if size is None:
            return
        if size < 0:
            self.error("KC0403", f"kind `{d.name}` has a negative size {size}", d.size.span)
            return
        if size > self.max_kind_size:
            self.error(
                "KC0405",
                f"kind `{d.name}` has {size} slots; kcheck checks at most {self.max_kind_size}",
                d.size.span,
            )
            return
        fields: list[FieldInfo] = []
        names: dict[str, ast.Span] = {}
        for f in d.fields:
            if f.name in names:
                self.diags.append(
                    Diagnostic(
                        "KC0202",
                        f"field `{f.name}` is declared twice in kind `{d.name}`",
                        f.name_span,
                        notes=(f"first declared at line {names[f.name].line}",),
                    )
                )
                continue
            names[f.name] = f.name_span
            ty = self.resolve_type(f.type)
            if ty is None:
                continue
            if f.default is None and isinstance(ty, TRef) and not ty.optional:
                # A non-optional reference needs a value at every `create`; the checker
                # enforces that. Nothing to default to here.
                pass
            fields.append(FieldInfo(f.name, ty, f.default, f))
        self.sym.kinds[d.name] = KindInfo(d.name, size, d.ordered, tuple(fields), d)


def build_symbols(
    program: ast.Program,
    overrides: Mapping[str, int | str] | None = None,
    max_kind_size: int = MAX_KIND_SIZE,
) -> tuple[Symbols, list[Diagnostic]]:
    """Resolve the declarations of `program`; returns the table and every problem found.
    `max_kind_size` is raised only for the Z3 engine's symbolic sizes (smt/sizes.py), which
    never enumerate states."""
    return _Builder(program, overrides or {}, max_kind_size).build()


def stale_watches(sym: Symbols) -> dict[str, tuple[str, ...]]:
    """Per controller, the kinds it reads through a cache (`stale` or `coalesced`), in
    declaration order and without repeats."""
    out: dict[str, tuple[str, ...]] = {}
    for actor in sym.actors:
        if isinstance(actor, ast.Controller):
            kinds = tuple(dict.fromkeys(w.kind for w in actor.watches if w.stale or w.coalesced))
            if kinds:
                out[actor.name] = kinds
    return out
