"""Every name a model uses, resolved to its declaration: what hover and go to definition answer
from. Top-level names come from the checker's symbol table (lang/symbols.py); names bound inside
a declaration (binders, lets, def and filter parameters) are scoped here the way the checker
scopes them, and a field access is resolved through the type of the object it reads.

The index is built from a model that parses, even when it does not type-check: `build_symbols`
returns a table as complete as it can, so hover keeps working while the user fixes an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kcheck.lang import ast
from kcheck.lang.fmt_expr import format_expr
from kcheck.lang.lists import len_name, list_size, slot_name
from kcheck.lang.manifest import show as manifest_show
from kcheck.lang.symbols import BUILTINS, SEEN_BY, Symbols
from kcheck.lang.types import BOOL, INT, TBool, TEnum, TInt, TRef, TSet, Type


@dataclass(frozen=True)
class Ref:
    """One occurrence of a name: where it stands, what it is, its type if it is a value, and
    the span of the name in its declaration (NOWHERE for a builtin)."""

    span: ast.Span
    name: str
    what: str  # "kind", "field of Pod", "param", "local", "controller", ...
    type: str | None
    decl: ast.Span


@dataclass(frozen=True)
class _Local:
    type: Type | None
    what: str
    decl: ast.Span


Scope = Mapping[str, _Local]


@dataclass
class Index:
    refs: list[Ref] = field(default_factory=list)

    def at(self, line: int, col: int) -> Ref | None:
        """The innermost occurrence covering 1-based (line, col); a cursor just after a name
        still finds it, as editors expect."""
        best: Ref | None = None
        for r in self.refs:
            s = r.span
            if s == ast.NOWHERE or not s.line <= line <= s.end_line:
                continue
            if line == s.line and col < s.col:
                continue
            if line == s.end_line and col > s.end_col:
                continue
            if best is None or _width(s) < _width(best.span):
                best = r
        return best


def _width(s: ast.Span) -> tuple[int, int]:
    return (s.end_line - s.line, s.end_col - s.col)


def _type_str(t: Type | None) -> str | None:
    return None if t is None else str(t)


class _Indexer:
    def __init__(self, sym: Symbols) -> None:
        self.sym = sym
        self.index = Index()
        self.decls: dict[str, ast.Decl] = {}
        for d in sym.program.decls:
            name = getattr(d, "name", None)
            if isinstance(name, str) and name not in self.decls:
                self.decls[name] = d
        self.enum_members: dict[str, ast.EnumMember] = {
            m.name: m
            for d in sym.program.decls
            if isinstance(d, ast.Enum)
            for m in d.members
            if sym.members.get(m.name, ("", -1))[0] == d.name
        }

    def add(self, span: ast.Span, name: str, what: str, ty: str | None, decl: ast.Span) -> None:
        # a name inside an imported module stands in the module's file, not in this document
        if span != ast.NOWHERE and not span.file:
            self.index.refs.append(Ref(span, name, what, ty, decl))

    # ---- types --------------------------------------------------------------------------------

    def resolve(self, t: ast.TypeExpr) -> Type | None:
        """The semantic type of a written type, as the checker reads it (no diagnostics)."""
        match t:
            case ast.BoolType():
                return BOOL
            case ast.IntType():
                return INT
            case ast.RangeType(lo=lo, hi=hi):
                a, b = self.const(lo), self.const(hi)
                return TInt(a, b) if a is not None and b is not None else INT
            case ast.NamedType(name=n) | ast.OptionalType(name=n):
                if n in self.sym.enums:
                    return TEnum(n)
                if n in self.sym.kinds:
                    return TRef(n, isinstance(t, ast.OptionalType))
            case ast.SetType(elem=n):
                if n in self.sym.enums or n in self.sym.kinds:
                    return TSet(n)
        return None

    def const(self, e: ast.Expr) -> int | None:
        match e:
            case ast.IntLit(value=v):
                return v
            case ast.Name(id=n) if n in self.sym.consts:
                return self.sym.consts[n]
        return None

    def type_expr(self, t: ast.TypeExpr) -> None:
        """The kind or enum a written type names."""
        match t:
            case ast.NamedType(name=n) | ast.OptionalType(name=n) | ast.SetType(elem=n):
                self.type_name(n, t.span)
            case ast.RangeType(lo=lo, hi=hi):
                self.expr(lo, {})
                self.expr(hi, {})

    def type_name(self, n: str, span: ast.Span) -> None:
        if n in self.sym.kinds:
            k = self.sym.kinds[n]
            self.add(span, n, "kind", None, k.decl.name_span)
        elif n in self.sym.enums:
            decl = self.decls.get(n)
            if isinstance(decl, ast.Enum):
                self.add(span, n, "enum", None, decl.name_span)

    # ---- names and expressions -----------------------------------------------------------------

    def top(self, n: str) -> tuple[str, Type | None, ast.Span] | None:
        """What a top-level name is, its type, and where it is declared."""
        sym = self.sym
        if n in sym.params:
            p = sym.params[n]
            return "param", p.type, p.decl.name_span
        if n in sym.vars:
            v = sym.vars[n]
            return "var", v.type, v.decl.name_span
        if n in sym.members and n in self.enum_members:
            return (
                f"member of {sym.members[n][0]}",
                TEnum(sym.members[n][0]),
                self.enum_members[n].span,
            )
        d = self.decls.get(n)
        match d:
            case ast.Const():
                return "const", INT, d.name_span
            case ast.Kind():
                return "kind", None, d.name_span
            case ast.Enum():
                return "enum", None, d.name_span
            case ast.Def():
                return "def", self.resolve(d.ret), d.name_span
            case ast.Controller() | ast.Process() | ast.Scheduler() | ast.Fault():
                return type(d).__name__.lower(), None, d.name_span
            case ast.Invariant():
                return ("lemma" if d.lemma else "invariant"), BOOL, d.name_span
            case ast.Property():
                return "property", None, d.name_span
            case ast.Assume():
                return "assume", BOOL, d.name_span
        return None

    def name(self, n: str, span: ast.Span, scope: Scope) -> Type | None:
        if n in scope:
            loc = scope[n]
            self.add(span, n, loc.what, _type_str(loc.type), loc.decl)
            return loc.type
        found = self.top(n)
        if found is None:
            return None
        what, ty, decl = found
        if what == "const":
            shown = f"int = {self.sym.consts[n]}" if n in self.sym.consts else "int"
            self.add(span, n, what, shown, decl)
        elif what == "param" and n in self.sym.params:
            p = self.sym.params[n]
            self.add(span, n, what, f"{p.type} = {self.param_value(p.type, p.value)}", decl)
        else:
            self.add(span, n, what, _type_str(ty), decl)
        return ty if what not in ("kind", "enum", "def") else None

    def param_value(self, t: Type, value: int) -> str:
        if isinstance(t, TBool):
            return "true" if value else "false"
        if isinstance(t, TEnum):
            return self.sym.enums[t.name][value]
        return str(value)

    def field(self, obj: Type | None, name: str, span: ast.Span) -> Type | None:
        if not isinstance(obj, TRef) or obj.kind not in self.sym.kinds:
            return None
        return self.kind_field(obj.kind, name, span)

    def kind_field(self, kind: str, name: str, span: ast.Span) -> Type | None:
        info = self.sym.kinds.get(kind)
        f = info.field(name) if info is not None else None
        size = list_size({x.name for x in info.fields}, name) if info is not None else None
        if f is None and size is not None and info is not None:
            # a list (a manifest section fills it): its declaration, which lowering made into
            # the length and the slots, keeps its name's span in theirs
            length, slot = info.field(len_name(name)), info.field(slot_name(name, 0))
            assert length is not None and slot is not None
            shown = f"list<{str(slot.type).rstrip('?')}, {size}>"
            self.add(span, name, f"field of {kind}", shown, length.decl.name_span)
            return None
        if f is None:
            return None
        self.add(span, name, f"field of {kind}", str(f.type), f.decl.name_span)
        return f.type

    def exprs(self, es: Iterable[ast.Expr | None], scope: Scope) -> None:
        for e in es:
            if e is not None:
                self.expr(e, scope)

    def expr(self, e: ast.Expr, scope: Scope) -> Type | None:
        """Index `e` and return its type where hover or a field access needs it."""
        match e:
            case ast.IntLit():
                return INT
            case ast.BoolLit():
                return BOOL
            case ast.Name(id=n):
                return self.name(n, e.span, scope)
            case ast.Field(obj=obj, name=n):
                return self.field(self.expr(obj, scope), n, e.name_span)
            case ast.Call(func=fn, args=[x, viewed]) if fn == SEEN_BY and fn not in self.sym.defs:
                self.expr(x, scope)  # the controller: its name leads to its declaration
                self.add(e.func_span, SEEN_BY, "builtin function", None, ast.NOWHERE)
                return self.expr(viewed, scope)
            case ast.Call(func=f, args=args):
                self.exprs(args, scope)
                d = self.sym.defs.get(f)
                if d is not None:
                    self.add(e.func_span, f, "def", self.signature(d), d.name_span)
                    return self.resolve(d.ret)
                if f in BUILTINS or f == "after":  # `after(c, N)`: time.py lowers it to c >= N
                    self.add(e.func_span, f, "builtin function", None, ast.NOWHERE)
                    return (
                        BOOL if f in ("feasible", "seen_own_writes", "unchanged", "after") else INT
                    )
                return None
            case ast.Index(kind=k, index=i):
                self.expr(i, scope)
                self.type_name(k, e.kind_span)
                return TRef(k) if k in self.sym.kinds else None
            case ast.Unary(op=op, operand=x):
                self.expr(x, scope)
                return INT if op == "-" else BOOL
            case ast.Binary(op=op, left=a, right=b):
                ta = self.expr(a, scope)
                tb = self.expr(b, scope)
                if op in ("|", "&"):
                    return ta if isinstance(ta, TSet) else tb
                return INT if op in ("+", "-", "*", "/", "%") else BOOL
            case ast.SetLit(elems=elems):
                types = [self.expr(x, scope) for x in elems]
                return _set_of(types[0]) if types else None
            case ast.SetBuilder(binder=b, where=w):
                inner = self.binders((b,), scope)
                self.exprs([w], inner)
                return _set_of(inner[b.name].type)
            case ast.Quant(binders=bs, where=w, body=body):
                inner = self.binders(bs, scope)
                self.exprs([w, body], inner)
                return BOOL
            case ast.Count(binders=bs, where=w):
                self.exprs([w], self.binders(bs, scope))
                return INT
            case ast.Aggregate(binders=bs, where=w, body=body):
                self.exprs([w, body], self.binders(bs, scope))
                return INT
            case ast.CountAll(arg=ast.Name(id=n) as a) if n not in scope and n in self.sym.kinds:
                self.type_name(n, a.span)
                return INT
            case ast.CountAll(arg=a):
                self.expr(a, scope)
                return INT
            case ast.Budget(fault=f):
                self.name(f, e.fault_span, {})
                return INT
            case ast.IfExpr(cond=c, then=a, else_=b):
                self.expr(c, scope)
                ta = self.expr(a, scope)
                tb = self.expr(b, scope)
                return ta if ta is not None else tb
            case ast.Temporal(body=body):
                self.expr(body, scope)
            case ast.LeadsTo(left=a, right=b):
                self.exprs([a, b], scope)
        return None

    def signature(self, d: ast.Def) -> str:
        params = ", ".join(f"{p.name}: {self.shown(p.type)}" for p in d.params)
        return f"({params}) -> {self.shown(d.ret)}"

    def shown(self, t: ast.TypeExpr) -> str:
        resolved = self.resolve(t)
        if isinstance(t, ast.RangeType):
            return f"{format_expr(t.lo)}..{format_expr(t.hi)}"
        return str(resolved) if resolved is not None else "?"

    def binders(self, bs: Iterable[ast.Binder], scope: Scope) -> dict[str, _Local]:
        inner = dict(scope)
        for b in bs:
            ty = self.domain(b.domain, inner)
            inner[b.name] = _Local(ty, "bound name", b.name_span)
            self.add(b.name_span, b.name, "bound name", _type_str(ty), b.name_span)
        return inner

    def domain(self, d: ast.Domain, scope: Scope) -> Type | None:
        match d:
            case ast.RangeDomain(lo=lo, hi=hi):
                self.exprs([lo, hi], scope)
                return INT
            case ast.ExprDomain(expr=ast.Name(id="bool")):
                return BOOL
            case ast.ExprDomain(expr=ast.Name(id=n) as x) if n not in scope and (
                n in self.sym.kinds or n in self.sym.enums
            ):
                self.type_name(n, x.span)
                return TRef(n) if n in self.sym.kinds else TEnum(n)
            case ast.ExprDomain(expr=x):
                t = self.expr(x, scope)
                if isinstance(t, TSet):
                    return TRef(t.elem) if t.elem in self.sym.kinds else TEnum(t.elem)
        return None

    # ---- statements ----------------------------------------------------------------------------

    def block(self, b: ast.Block, scope: Scope) -> None:
        inner = dict(scope)
        for s in b.stmts:
            self.stmt(s, inner)

    def stmt(self, s: ast.Stmt, scope: dict[str, _Local]) -> None:
        """Index one statement; a `let` binds its name in `scope` for the statements after it."""
        match s:
            case ast.Assign(target=lv, value=v):
                self.lvalue(lv, scope)
                self.expr(v, scope)
            case ast.AssignAny(target=lv, domain=d):
                self.lvalue(lv, scope)
                self.domain(d, scope)
            case ast.CreateStmt(create=c, otherwise=other):
                self.create(c, scope)
                if other is not None:  # `create ... else { }`: names in the else block too
                    self.block(other, dict(scope))
            case ast.Let(name=n, value=v):
                ty = self.create(v, scope) if isinstance(v, ast.Create) else self.expr(v, scope)
                self.add(s.name_span, n, "let name", _type_str(ty), s.name_span)
                scope[n] = _Local(ty, "let name", s.name_span)
            case ast.Delete(target=t):
                self.expr(t, scope)
            case (
                ast.Choose(binders=bs, where=w, body=body) | ast.For(binders=bs, where=w, body=body)
            ):
                inner = self.binders(bs, scope)
                self.exprs([w], inner)
                self.block(body, inner)
            case ast.If():
                self.if_stmt(s, scope)
            case ast.Restart(controller=c):
                self.name(c, s.name_span, {})

    def if_stmt(self, s: ast.If, scope: Scope) -> None:
        self.expr(s.cond, scope)
        self.block(s.then, scope)
        if isinstance(s.else_, ast.If):
            self.if_stmt(s.else_, scope)
        elif s.else_ is not None:
            self.block(s.else_, scope)

    def lvalue(self, lv: ast.LValue, scope: Scope) -> None:
        if not lv.part_spans:
            return
        if lv.index is not None:
            self.expr(lv.index, scope)
            self.type_name(lv.parts[0], lv.part_spans[0])
            ty: Type | None = TRef(lv.parts[0])
        else:
            ty = self.name(lv.parts[0], lv.part_spans[0], scope)
        for part, span in zip(lv.parts[1:], lv.part_spans[1:], strict=False):
            ty = self.field(ty, part, span)

    def create(self, c: ast.Create, scope: Scope) -> Type | None:
        self.type_name(c.kind, c.kind_span)
        for fi in c.fields:
            self.kind_field(c.kind, fi.name, fi.name_span)
            self.expr(fi.value, scope)
        return TRef(c.kind) if c.kind in self.sym.kinds else None

    # ---- declarations --------------------------------------------------------------------------

    def decl(self, d: ast.Decl) -> None:
        match d:
            case ast.Const(name=n, value=v):
                self.name(n, d.name_span, {})
                self.expr(v, {})
            case ast.Param(name=n, type=t, default=v) | ast.Var(name=n, type=t, init=v):
                self.name(n, d.name_span, {})
                self.type_expr(t)
                self.expr(v, {})
            case ast.Enum():
                self.name(d.name, d.name_span, {})
                for m in d.members:
                    self.name(m.name, m.span, {})
            case ast.Kind():
                self.name(d.name, d.name_span, {})
                self.expr(d.size, {})
                for f in d.fields:
                    self.kind_field(d.name, f.name, f.name_span)
                    self.type_expr(f.type)
                    self.exprs([f.default], {})
            case ast.Init(body=body):
                self.block(body, {})
            case ast.Def():
                self.def_(d)
            case ast.Controller() | ast.Process() | ast.Fault():
                self.name(d.name, d.name_span, {})
                if isinstance(d, ast.Controller):
                    for w in d.watches:
                        self.type_name(w.kind, w.kind_span)
                if isinstance(d, ast.Fault):
                    self.expr(d.budget, {})
                self.actions(d.name, type(d).__name__.lower(), d.actions, {})
            case ast.Scheduler():
                self.scheduler(d)
            case ast.Invariant() | ast.Property() | ast.Assume():
                self.name(d.name, d.name_span, {})
                self.expr(d.expr, {})
                if isinstance(d, ast.Property):  # `decreases` measures are global terms
                    self.exprs(list(d.decreases), {})
            case ast.Docker():
                self.docker(d)
            case ast.Manifest():
                for sec in d.sections:  # the names it fills lead to their declarations
                    if sec.model_kind is not None:
                        self.type_name(sec.model_kind, sec.model_kind_span)
                    for it in sec.items:
                        if sec.model_kind is None:
                            self.name(it.name, it.name_span, {})
                        else:
                            self.kind_field(sec.model_kind, it.name, it.name_span)
                    for fx in sec.fixed:  # `maxReplicas: REPLICAS - 1` names a const
                        for used in manifest_show.names(fx.value):
                            self.name(used.id, used.span, {})

    def def_(self, d: ast.Def) -> None:
        self.add(d.name_span, d.name, "def", self.signature(d), d.name_span)
        scope: dict[str, _Local] = {}
        for p in d.params:
            ty = self.resolve(p.type)
            scope[p.name] = _Local(ty, f"parameter of {d.name}", p.name_span)
            self.add(p.name_span, p.name, f"parameter of {d.name}", _type_str(ty), p.name_span)
            self.type_expr(p.type)
        self.type_expr(d.ret)
        self.expr(d.body, scope)

    def actions(self, actor: str, sort: str, actions: Iterable[ast.Action], scope: Scope) -> None:
        for a in actions:
            self.add(a.name_span, a.name, f"action of {sort} {actor}", None, a.name_span)
            inner = self.binders(a.binders, scope)
            self.exprs([a.where, a.when], inner)
            self.block(a.body, inner)

    def scheduler(self, s: ast.Scheduler) -> None:
        self.name(s.name, s.name_span, {})
        self.type_name(s.pod_kind, s.pod_kind_span)
        node_ty = self.kind_field(s.pod_kind, s.node_field, s.node_field_span)
        pod: Type | None = TRef(s.pod_kind) if s.pod_kind in self.sym.kinds else None
        node: Type | None = TRef(node_ty.kind) if isinstance(node_ty, TRef) else None
        items: list[ast.Filter | ast.Score] = [*s.filters, *s.scores]
        for item in items:
            self.add(item.name_span, item.name, type(item).__name__.lower(), None, item.name_span)
            # the parameter names carry no spans of their own: like the checker's messages, a
            # definition goes to the item's name
            what = f"parameter of {type(item).__name__.lower()} {item.name}"
            scope = {
                item.pod: _Local(pod, what, item.name_span),
                item.node: _Local(node, what, item.name_span),
            }
            self.expr(item.expr, scope)
            if isinstance(item, ast.Score):
                self.exprs([item.weight], {})
        for h in s.hooks:
            hook_scope: dict[str, _Local] = {}
            for name, span, ty in zip(h.params, h.param_spans, (pod, node), strict=False):
                hook_scope[name] = _Local(ty, "parameter", span)
                self.add(span, name, "parameter", _type_str(ty), span)
            self.block(h.body, hook_scope)
        self.actions(s.name, "scheduler", s.actions, {})

    def docker(self, d: ast.Docker) -> None:
        for section in d.sections:
            self.type_name(section.kind, section.kind_span)
            for item in section.items:
                if isinstance(item.value, ast.FieldName):
                    self.kind_field(section.kind, item.value.name, item.value.span)


def _set_of(t: Type | None) -> Type | None:
    match t:
        case TRef(kind=k):
            return TSet(k)
        case TEnum(name=n):
            return TSet(n)
        case TSet():
            return t
    return None


# builtins that lowering rewrites away, with the type of their value
_LOWERED_BUILTINS = {
    "after": "bool",
    "append": "list",
    "remove": "list",
    "size": "int",
    "len": "int",
}


def lowered_builtin_calls(program: ast.Program) -> list[Ref]:
    """The builtin calls that lowering rewrites before names resolve, so that the index built
    from the lowered program never sees them: `after(c, N)` (time.py makes it `c >= N`),
    `append(l, x)` and `remove(l, x)` (lists.py makes them writes of a list's slots), `size(l)`
    and `len(l)` of a list (its length field)."""
    own = {d.name for d in program.decls if isinstance(d, ast.Def)}  # indexed as defs
    return [
        Ref(n.func_span, n.func, "builtin function", _LOWERED_BUILTINS[n.func], ast.NOWHERE)
        for n in ast.walk_nodes(program)
        if isinstance(n, ast.Call) and n.func in _LOWERED_BUILTINS and n.func not in own
    ]


def build_index(symbols: Symbols) -> Index:
    """Index every name of `symbols.program` (the tree as written, spans and all)."""
    ix = _Indexer(symbols)
    ix.add(
        symbols.program.name_span, symbols.program.name, "model", None, symbols.program.name_span
    )
    for d in symbols.program.decls:
        ix.decl(d)
    return ix.index


def top_level_ref(symbols: Symbols, name: str, span: ast.Span) -> Ref | None:
    """`name` at `span` as a top-level name of `symbols` (a const, var, actor, ...), if it is."""
    ix = _Indexer(symbols)
    ix.name(name, span, {})
    return ix.index.refs[0] if ix.index.refs else None
