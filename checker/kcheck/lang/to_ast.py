"""Lark parse tree -> syntax tree: one Transformer method per grammar rule or alias, each
building a frozen dataclass of `kcheck.lang.ast` with its source span. `kcheck.lang.parser` runs
Lark and turns its errors into diagnostics; this module only builds nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lark import Token, v_args
from lark.tree import Meta

from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic, KcheckError
from kcheck.lang.manifest.syntax import PatternsToAst

# Longer integer literals than this cannot be converted by int() (CPython's limit) and mean
# nothing in a bounded model anyway.
_MAX_INT_DIGITS = 4000


def tok_span(t: Token) -> ast.Span:
    return ast.Span(
        t.line or 0, t.column or 0, t.end_line or t.line or 0, t.end_column or t.column or 0
    )


def meta_span(m: Meta) -> ast.Span:
    if getattr(m, "empty", True):
        return ast.NOWHERE
    return ast.Span(m.line, m.column, m.end_line, m.end_column)


def _key(t: Token) -> str:
    """A manifest path key or map key: a name, or a quoted string without its quotes."""
    return str(t)[1:-1] if t.type == "STRING" else str(t)


def _split(c: list[Any]) -> tuple[tuple[Any, ...], tuple[ast.ManifestFixed, ...]]:
    """A manifest section's items (`NAME = path`) and what it describes (`path: value`)."""
    fixed = tuple(x for x in c if isinstance(x, ast.ManifestFixed))
    return tuple(x for x in c if not isinstance(x, ast.ManifestFixed)), fixed


def _present(items: tuple[Any, ...]) -> list[Any]:
    return [x for x in items if x is not None]


@dataclass(frozen=True)
class _Skew:
    """`skew N` of an actor, until its declaration takes it."""

    expr: ast.Expr


@dataclass(frozen=True)
class _Within:
    """`within N` of an action, until its declaration takes it."""

    expr: ast.Expr


@v_args(meta=True)
class ToAst(PatternsToAst[ast.Program]):
    """One method per grammar rule or alias; each returns an AST node (or a piece of one)."""

    # ---- declarations
    def start(self, m: Meta, c: list[Any]) -> ast.Program:
        name: Token = c[0]
        return ast.Program(str(name), tuple(c[1:]), tok_span(name), meta_span(m))

    def module_start(self, m: Meta, c: list[Any]) -> ast.Program:
        name, span = c[0]
        return ast.Program(name, tuple(c[1:]), span, meta_span(m), module=True)

    def module_header(self, m: Meta, c: list[Any]) -> tuple[str, ast.Span]:
        first, last = tok_span(c[0]), tok_span(c[-1])
        return ".".join(str(t) for t in c), ast.Span(
            first.line, first.col, last.end_line, last.end_col
        )

    # ---- modules (spec/language.md §13)
    def import_decl(self, m: Meta, c: list[Any]) -> ast.Import:
        path, is_file, path_span = c[0]
        alias: Token | None = c[1]
        binds = tuple(_present(tuple(c[2:])))
        alias_span = tok_span(alias) if alias is not None else ast.NOWHERE
        return ast.Import(path, is_file, str(alias) if alias else None, binds, path_span,
                          alias_span, meta_span(m))  # fmt: skip

    def import_std(self, m: Meta, c: list[Any]) -> tuple[str, bool, ast.Span]:
        return ".".join(str(t) for t in c), False, meta_span(m)

    def import_file(self, m: Meta, c: list[Any]) -> tuple[str, bool, ast.Span]:
        return str(c[0])[1:-1], True, tok_span(c[0])

    def import_bind(self, m: Meta, c: list[Any]) -> ast.ImportBind:
        return ast.ImportBind(str(c[0]), str(c[1]), tok_span(c[0]), tok_span(c[1]))

    def requires_kind(self, m: Meta, c: list[Any]) -> ast.Requires:
        fields = tuple(_present(tuple(c[1:])))
        return ast.Requires("kind", str(c[0]), fields, (), tok_span(c[0]), meta_span(m))

    def requires_record(self, m: Meta, c: list[Any]) -> ast.Requires:
        fields = tuple(_present(tuple(c[2:])))  # c[0] is the `record` mark
        return ast.Requires("record", str(c[1]), fields, (), tok_span(c[1]), meta_span(m))

    def requires_enum(self, m: Meta, c: list[Any]) -> ast.Requires:
        members = tuple(ast.EnumMember(str(t), tok_span(t)) for t in _present(tuple(c[1:])))
        return ast.Requires("enum", str(c[0]), (), members, tok_span(c[0]), meta_span(m))

    def model_header(self, m: Meta, c: list[Any]) -> Token:
        tok: Token = c[0]
        return tok

    def const_decl(self, m: Meta, c: list[Any]) -> ast.Const:
        return ast.Const(str(c[0]), c[1], tok_span(c[0]), meta_span(m))

    def param_decl(self, m: Meta, c: list[Any]) -> ast.Param:
        return ast.Param(str(c[0]), c[1], c[2], tok_span(c[0]), meta_span(m))

    def enum_decl(self, m: Meta, c: list[Any]) -> ast.Enum:
        members = tuple(ast.EnumMember(str(t), tok_span(t)) for t in _present(tuple(c[1:])))
        return ast.Enum(str(c[0]), members, tok_span(c[0]), meta_span(m))

    def kind_decl(self, m: Meta, c: list[Any]) -> ast.Kind:
        fields = tuple(_present(tuple(c[3:])))
        return ast.Kind(str(c[0]), c[1], c[2] is not None, fields, tok_span(c[0]), meta_span(m))

    def record_decl(self, m: Meta, c: list[Any]) -> ast.Record:
        fields = tuple(_present(tuple(c[2:])))
        return ast.Record(str(c[1]), fields, tok_span(c[1]), meta_span(m))

    def ordered(self, m: Meta, c: list[Any]) -> bool:
        return True

    def watch_mode(self, m: Meta, c: list[Any]) -> str:
        return " ".join(str(x) for x in c)

    def fairness(self, m: Meta, c: list[Any]) -> str:
        return str(c[0])

    def lemma_kw(self, m: Meta, c: list[Any]) -> str:
        return str(c[0])

    def field_decl(self, m: Meta, c: list[Any]) -> ast.FieldDecl:
        key = c[0] is not None  # the optional KEY_MARK
        return ast.FieldDecl(str(c[1]), c[2], c[3], tok_span(c[1]), meta_span(m), key=key)

    def var_decl(self, m: Meta, c: list[Any]) -> ast.Var:
        return ast.Var(str(c[0]), c[1], c[2], tok_span(c[0]), meta_span(m))

    def init_decl(self, m: Meta, c: list[Any]) -> ast.Init:
        return ast.Init(c[0], meta_span(m))

    def def_decl(self, m: Meta, c: list[Any]) -> ast.Def:
        params = tuple(_present(tuple(c[1:-2])))
        return ast.Def(str(c[0]), params, c[-2], c[-1], tok_span(c[0]), meta_span(m))

    def def_param(self, m: Meta, c: list[Any]) -> ast.DefParam:
        return ast.DefParam(str(c[0]), c[1], tok_span(c[0]), meta_span(m))

    # ---- types
    def bool_type(self, m: Meta, c: list[Any]) -> ast.BoolType:
        return ast.BoolType(meta_span(m))

    def int_type(self, m: Meta, c: list[Any]) -> ast.IntType:
        return ast.IntType(meta_span(m))

    def range_type(self, m: Meta, c: list[Any]) -> ast.RangeType:
        return ast.RangeType(c[0], c[1], meta_span(m))

    def named_type(self, m: Meta, c: list[Any]) -> ast.NamedType:
        return ast.NamedType(str(c[0]), tok_span(c[0]))

    def optional_type(self, m: Meta, c: list[Any]) -> ast.OptionalType:
        return ast.OptionalType(str(c[0]), meta_span(m))

    def set_type(self, m: Meta, c: list[Any]) -> ast.SetType:
        return ast.SetType(str(c[0]), meta_span(m))

    def keyed_set_type(self, m: Meta, c: list[Any]) -> ast.KeyedSetType:
        return ast.KeyedSetType(str(c[0]), str(c[1]), meta_span(m))

    def list_type(self, m: Meta, c: list[Any]) -> ast.ListType:
        # the bound is a number or a const's name: an expression would make `>` ambiguous
        t = c[2]
        size = ast.IntLit(int(t), tok_span(t)) if t.type == "INT" else ast.Name(str(t), tok_span(t))
        return ast.ListType(str(c[1]), size, meta_span(m))

    def array_type(self, m: Meta, c: list[Any]) -> ast.ArrayType:
        return ast.ArrayType(str(c[0]), c[1], meta_span(m))

    # ---- actors
    def controller_decl(self, m: Meta, c: list[Any]) -> ast.Controller:
        watches = tuple(x for x in c[1:] if isinstance(x, ast.Watch))
        actions = tuple(x for x in c[1:] if isinstance(x, ast.Action))
        local = tuple(x for x in c[1:] if isinstance(x, ast.Var))
        skew = next((x.expr for x in c[1:] if isinstance(x, _Skew)), None)
        return ast.Controller(
            str(c[0]), watches, actions, tok_span(c[0]), meta_span(m), local, skew
        )

    def watch_clause(self, m: Meta, c: list[Any]) -> ast.Watch:
        mode = c[1] or ""
        return ast.Watch(
            str(c[0]),
            mode == "stale",
            tok_span(c[0]),
            meta_span(m),
            mode.startswith("coalesced"),
            unsynced=mode.endswith("unsynced"),
        )

    def process_decl(self, m: Meta, c: list[Any]) -> ast.Process:
        actions = tuple(x for x in c[1:] if isinstance(x, ast.Action))
        local = tuple(x for x in c[1:] if isinstance(x, ast.Var))
        skew = next((x.expr for x in c[1:] if isinstance(x, _Skew)), None)
        return ast.Process(str(c[0]), actions, tok_span(c[0]), meta_span(m), local, skew)

    def skew_clause(self, m: Meta, c: list[Any]) -> _Skew:
        return _Skew(c[0])

    def within_clause(self, m: Meta, c: list[Any]) -> _Within:
        return _Within(c[0])

    def fault_decl(self, m: Meta, c: list[Any]) -> ast.Fault:
        return ast.Fault(str(c[0]), c[1], tuple(c[2:]), tok_span(c[0]), meta_span(m))

    def scheduler_decl(self, m: Meta, c: list[Any]) -> ast.Scheduler:
        items = c[3:]
        return ast.Scheduler(
            str(c[0]),
            str(c[1]),
            str(c[2]),
            tuple(x for x in items if isinstance(x, ast.Filter)),
            tuple(x for x in items if isinstance(x, ast.Score)),
            tuple(x for x in items if isinstance(x, ast.Action)),
            tok_span(c[0]),
            tok_span(c[1]),
            tok_span(c[2]),
            meta_span(m),
            tuple(x for x in items if isinstance(x, ast.Hook)),
        )

    def hook_decl(self, m: Meta, c: list[Any]) -> ast.Hook:
        event, names, body = c[1], _present(tuple(c[2:-1])), c[-1]
        return ast.Hook(
            str(event),
            tuple(str(t) for t in names),
            body,
            tok_span(event),
            meta_span(m),
            tuple(tok_span(t) for t in names),
        )

    def filter_decl(self, m: Meta, c: list[Any]) -> ast.Filter:
        return ast.Filter(str(c[0]), str(c[1]), str(c[2]), c[3], tok_span(c[0]), meta_span(m))

    def score_decl(self, m: Meta, c: list[Any]) -> ast.Score:
        return ast.Score(str(c[0]), str(c[1]), str(c[2]), c[3], c[4], tok_span(c[0]), meta_span(m))

    def action_decl(self, m: Meta, c: list[Any]) -> ast.Action:
        fairness, name, head, when, within, body = c
        handler = isinstance(head, ast.Binder)  # `on x in K`
        if isinstance(head, ast.Binder):
            binders: tuple[ast.Binder, ...] = (head,)
            where = None
        else:
            binders, where = head if head is not None else ((), None)
        return ast.Action(
            str(name),
            fairness,
            binders,
            where,
            when,
            body,
            tok_span(name),
            meta_span(m),
            handler,
            within.expr if within is not None else None,
        )

    def on_clause(self, m: Meta, c: list[Any]) -> ast.Binder:
        b: ast.Binder = c[0]
        return b

    def for_clause(self, m: Meta, c: list[Any]) -> tuple[tuple[ast.Binder, ...], ast.Expr | None]:
        return (c[0], c[1])

    def when_clause(self, m: Meta, c: list[Any]) -> ast.Expr:
        e: ast.Expr = c[0]
        return e

    where_clause = when_clause

    def binders(self, m: Meta, c: list[Any]) -> tuple[ast.Binder, ...]:
        return tuple(c)

    def binder(self, m: Meta, c: list[Any]) -> ast.Binder:
        return ast.Binder(str(c[0]), c[1], tok_span(c[0]), meta_span(m))

    def range_domain(self, m: Meta, c: list[Any]) -> ast.RangeDomain:
        return ast.RangeDomain(c[0], c[1], meta_span(m))

    def bool_domain(self, m: Meta, c: list[Any]) -> ast.ExprDomain:
        # `b in bool` ranges over false and true; `bool` cannot name anything else
        span = meta_span(m)
        return ast.ExprDomain(ast.Name("bool", span), span)

    def expr_domain(self, m: Meta, c: list[Any]) -> ast.ExprDomain:
        return ast.ExprDomain(c[0], meta_span(m))

    # ---- statements
    def block(self, m: Meta, c: list[Any]) -> ast.Block:
        return ast.Block(tuple(c), meta_span(m))

    def assign_stmt(self, m: Meta, c: list[Any]) -> ast.Assign:
        return ast.Assign(c[0], c[1], meta_span(m))

    def assign_any_stmt(self, m: Meta, c: list[Any]) -> ast.AssignAny:
        return ast.AssignAny(c[0], c[1], meta_span(m))

    def create_stmt(self, m: Meta, c: list[Any]) -> ast.CreateStmt:
        return ast.CreateStmt(c[0], meta_span(m))

    def create_else_stmt(self, m: Meta, c: list[Any]) -> ast.CreateStmt:
        return ast.CreateStmt(c[0], meta_span(m), otherwise=c[1])

    def let_stmt(self, m: Meta, c: list[Any]) -> ast.Let:
        return ast.Let(str(c[0]), c[1], tok_span(c[0]), meta_span(m))

    let_create_stmt = let_stmt

    def delete_stmt(self, m: Meta, c: list[Any]) -> ast.Delete:
        return ast.Delete(c[0], meta_span(m))

    # ---- the docker binding
    def docker_decl(self, m: Meta, c: list[Any]) -> ast.Docker:
        return ast.Docker(tuple(c), meta_span(m))

    def bind_section(self, m: Meta, c: list[Any]) -> ast.BindSection:
        items = tuple(x for x in c[2:] if x is not None)
        return ast.BindSection(
            str(c[0]), str(c[1]), items, tok_span(c[0]), tok_span(c[1]), meta_span(m)
        )

    def bind_item(self, m: Meta, c: list[Any]) -> ast.BindItem:
        return ast.BindItem(str(c[0]), c[1], tok_span(c[0]), meta_span(m))

    def bind_field(self, m: Meta, c: list[Any]) -> ast.FieldName:
        return ast.FieldName(str(c[0]), tok_span(c[0]))

    def bind_string(self, m: Meta, c: list[Any]) -> str:
        return str(c[0])[1:-1]

    def bind_int(self, m: Meta, c: list[Any]) -> int:
        return int(str(c[0]))

    def bind_list(self, m: Meta, c: list[Any]) -> tuple[str, ...]:
        return tuple(str(x)[1:-1] for x in c if x is not None)

    # ---- the manifest mapping (spec/manifests.md)
    def manifest_decl(self, m: Meta, c: list[Any]) -> ast.Manifest:
        return ast.Manifest(tuple(c), meta_span(m))

    def manifest_section(self, m: Meta, c: list[Any]) -> ast.ManifestSection:
        items, fixed = _split(c[1:])
        return ast.ManifestSection(str(c[0]), items, tok_span(c[0]), meta_span(m), fixed=fixed)

    def manifest_objects(self, m: Meta, c: list[Any]) -> ast.ManifestSection:
        model_kind, kind, *rest = c
        items, fixed = _split(rest)
        return ast.ManifestSection(
            str(kind), items, tok_span(kind), meta_span(m), str(model_kind),
            tok_span(model_kind), fixed,
        )  # fmt: skip

    def manifest_item(self, m: Meta, c: list[Any]) -> ast.ManifestItem:
        name, *path, unit, values = c
        first, last = tok_span(path[0]), tok_span(path[-1])
        return ast.ManifestItem(
            str(name),
            tuple(_key(p) for p in path),
            None if unit is None else str(unit),
            values,
            tok_span(name),
            ast.Span(first.line, first.col, last.end_line, last.end_col),
            ast.NOWHERE if unit is None else tok_span(unit),
            meta_span(m),
        )

    def value_map(self, m: Meta, c: list[Any]) -> tuple[tuple[str, str], ...]:
        return tuple(x for x in c if x is not None)

    def map_entry(self, m: Meta, c: list[Any]) -> tuple[str, str]:
        return (_key(c[0]), str(c[1]))

    # a label read as a bool (spec/manifests.md): `true`/`false` are keywords, not names
    def map_entry_true(self, m: Meta, c: list[Any]) -> tuple[str, str]:
        return (_key(c[0]), "true")

    def map_entry_false(self, m: Meta, c: list[Any]) -> tuple[str, str]:
        return (_key(c[0]), "false")

    def step_stmt(self, m: Meta, c: list[Any]) -> ast.Step:
        return ast.Step(meta_span(m))

    def restart_stmt(self, m: Meta, c: list[Any]) -> ast.Restart:
        return ast.Restart(str(c[0]), tok_span(c[0]), meta_span(m))

    def choose_stmt(self, m: Meta, c: list[Any]) -> ast.Choose:
        return ast.Choose(c[0], c[1], c[2], meta_span(m))

    def for_stmt(self, m: Meta, c: list[Any]) -> ast.For:
        return ast.For(c[0], c[1], c[2], meta_span(m))

    def if_stmt(self, m: Meta, c: list[Any]) -> ast.If:
        return ast.If(c[0], c[1], c[2], meta_span(m))

    def lvalue(self, m: Meta, c: list[Any]) -> ast.LValue:
        return ast.LValue(tuple(str(t) for t in c), tuple(tok_span(t) for t in c), meta_span(m))

    def indexed_lvalue(self, m: Meta, c: list[Any]) -> ast.LValue:
        names = [c[0], *c[2:]]
        return ast.LValue(
            tuple(str(t) for t in names),
            tuple(tok_span(t) for t in names),
            meta_span(m),
            c[1],
        )

    def keyed_lvalue(self, m: Meta, c: list[Any]) -> ast.LValue:
        return ast.LValue((str(c[0]),), (tok_span(c[0]),), meta_span(m), c[1])

    def elem_lvalue(self, m: Meta, c: list[Any]) -> ast.LValue:
        names = [t for t in c if isinstance(t, Token)]
        indexes: list[tuple[int, ast.Expr]] = []
        seen = 0  # names so far: an index is of the name before it
        for x in c:
            if isinstance(x, Token):
                seen += 1
            else:
                indexes.append((seen - 1, x))
        return ast.LValue(
            tuple(str(t) for t in names),
            tuple(tok_span(t) for t in names),
            meta_span(m),
            elem=indexes[0][1],
            elem_at=indexes[0][0],
            more=tuple(indexes[1:]),
        )

    def create_expr(self, m: Meta, c: list[Any]) -> ast.Create:
        inits = tuple(_present(tuple(c[1:])))
        return ast.Create(str(c[0]), inits, tok_span(c[0]), meta_span(m))

    def field_init(self, m: Meta, c: list[Any]) -> ast.FieldInit:
        return ast.FieldInit(str(c[0]), c[1], tok_span(c[0]), meta_span(m))

    def part_init(self, m: Meta, c: list[Any]) -> ast.FieldInit:
        """`containers[0].ready: true` in a create (lang/records.py)."""
        return ast.FieldInit(
            str(c[0]), c[3], tok_span(c[0]), meta_span(m), c[1], str(c[2]), tok_span(c[2])
        )

    # ---- properties
    def invariant_decl(self, m: Meta, c: list[Any]) -> ast.Invariant:
        lemma = c[0] == "lemma"
        return ast.Invariant(str(c[1]), c[2], tok_span(c[1]), meta_span(m), lemma)

    def assume_decl(self, m: Meta, c: list[Any]) -> ast.Assume:
        return ast.Assume(str(c[0]), c[1], tok_span(c[0]), meta_span(m))

    def property_decl(self, m: Meta, c: list[Any]) -> ast.Property:
        measures = tuple(c[2]) if c[2] is not None else ()
        return ast.Property(str(c[0]), c[1], tok_span(c[0]), meta_span(m), measures)

    def decreases(self, m: Meta, c: list[Any]) -> list[Any]:
        return c

    # ---- expressions
    def forall_expr(self, m: Meta, c: list[Any]) -> ast.Quant:
        return ast.Quant("forall", c[0], c[1], c[2], meta_span(m))

    def exists_expr(self, m: Meta, c: list[Any]) -> ast.Quant:
        return ast.Quant("exists", c[0], c[1], c[2], meta_span(m))

    def count_expr(self, m: Meta, c: list[Any]) -> ast.Count:
        return ast.Count(c[0], c[1], meta_span(m))

    def sum_expr(self, m: Meta, c: list[Any]) -> ast.Aggregate:
        return ast.Aggregate("sum", c[0], c[1], c[2], meta_span(m))

    def max_expr(self, m: Meta, c: list[Any]) -> ast.Aggregate:
        return ast.Aggregate("max", c[0], c[1], c[2], meta_span(m))

    def min_expr(self, m: Meta, c: list[Any]) -> ast.Aggregate:
        return ast.Aggregate("min", c[0], c[1], c[2], meta_span(m))

    def if_expr(self, m: Meta, c: list[Any]) -> ast.IfExpr:
        return ast.IfExpr(c[0], c[1], c[2], meta_span(m))

    def eventually_expr(self, m: Meta, c: list[Any]) -> ast.Temporal:
        return ast.Temporal("eventually", c[0], meta_span(m))

    def always_expr(self, m: Meta, c: list[Any]) -> ast.Temporal:
        return ast.Temporal("always", c[0], meta_span(m))

    def leads_to_expr(self, m: Meta, c: list[Any]) -> ast.LeadsTo:
        return ast.LeadsTo(c[0], c[1], meta_span(m))

    def _binary(self, op: str, m: Meta, left: ast.Expr, right: ast.Expr) -> ast.Binary:
        return ast.Binary(op, left, right, ast.NOWHERE, meta_span(m))

    def implies_op(self, m: Meta, c: list[Any]) -> ast.Binary:
        return self._binary("implies", m, c[0], c[1])

    def or_op(self, m: Meta, c: list[Any]) -> ast.Binary:
        return self._binary("or", m, c[0], c[1])

    def and_op(self, m: Meta, c: list[Any]) -> ast.Binary:
        return self._binary("and", m, c[0], c[1])

    def not_in_op(self, m: Meta, c: list[Any]) -> ast.Unary:
        # `a not in b` is `not (a in b)`: one tree, printed back the readable way
        return ast.Unary("not", self._binary("in", m, c[0], c[1]), meta_span(m))

    def budget_expr(self, m: Meta, c: list[Any]) -> ast.Budget:
        return ast.Budget(str(c[0]), tok_span(c[0]), meta_span(m))

    def in_op(self, m: Meta, c: list[Any]) -> ast.Binary:
        return self._binary("in", m, c[0], c[1])

    def union_op(self, m: Meta, c: list[Any]) -> ast.Binary:
        return self._binary("|", m, c[0], c[1])

    def inter_op(self, m: Meta, c: list[Any]) -> ast.Binary:
        return self._binary("&", m, c[0], c[1])

    def cmp_op(self, m: Meta, c: list[Any]) -> ast.Binary:
        return ast.Binary(str(c[1]), c[0], c[2], tok_span(c[1]), meta_span(m))

    arith_op = cmp_op

    def not_op(self, m: Meta, c: list[Any]) -> ast.Unary:
        return ast.Unary("not", c[0], meta_span(m))

    def neg_op(self, m: Meta, c: list[Any]) -> ast.Unary:
        return ast.Unary("-", c[0], meta_span(m))

    def field_expr(self, m: Meta, c: list[Any]) -> ast.Field:
        return ast.Field(c[0], str(c[1]), tok_span(c[1]), meta_span(m))

    def elem_expr(self, m: Meta, c: list[Any]) -> ast.Elem:
        return ast.Elem(c[0], str(c[1]), c[2], tok_span(c[1]), meta_span(m))

    def call_expr(self, m: Meta, c: list[Any]) -> ast.Call:
        args = tuple(_present(tuple(c[1:])))
        return ast.Call(str(c[0]), args, tok_span(c[0]), meta_span(m))

    def qualified_call_expr(self, m: Meta, c: list[Any]) -> ast.Call:
        """`taints.tolerates(p, n)`: a function of the module imported as `taints`."""
        head, name = c[0], c[1]
        args = tuple(_present(tuple(c[2:])))
        if not isinstance(head, ast.Name):
            raise KcheckError([Diagnostic(
                "KC0102", "only a module's function can be called with a `.` before its name",
                meta_span(m), help="call a module's function as `module.f(...)`, e.g. "
                "`taints.tolerates(p, n)`")])  # fmt: skip
        end = tok_span(name)
        func_span = ast.Span(head.span.line, head.span.col, end.end_line, end.end_col)
        return ast.Call(f"{head.id}.{name}", args, func_span, meta_span(m))

    def index_expr(self, m: Meta, c: list[Any]) -> ast.Index:
        return ast.Index(str(c[0]), c[1], tok_span(c[0]), meta_span(m))

    def _builtin2(self, name: str, m: Meta, c: list[Any]) -> ast.Call:
        sp = meta_span(m)
        head = ast.Span(sp.line, sp.col, sp.line, sp.col + len(name))
        return ast.Call(name, (c[0], c[1]), head, sp)

    def min2_expr(self, m: Meta, c: list[Any]) -> ast.Call:
        return self._builtin2("min", m, c)

    def max2_expr(self, m: Meta, c: list[Any]) -> ast.Call:
        return self._builtin2("max", m, c)

    def count_all_expr(self, m: Meta, c: list[Any]) -> ast.CountAll:
        return ast.CountAll(c[0], meta_span(m))

    def int_lit(self, m: Meta, c: list[Any]) -> ast.IntLit:
        if len(c[0]) > _MAX_INT_DIGITS:
            raise KcheckError(
                [
                    Diagnostic(
                        "KC0102",
                        f"integer literal with {len(c[0])} digits is too long",
                        tok_span(c[0]),
                    )
                ]
            )
        return ast.IntLit(int(c[0]), tok_span(c[0]))

    def true_lit(self, m: Meta, c: list[Any]) -> ast.BoolLit:
        return ast.BoolLit(True, meta_span(m))

    def false_lit(self, m: Meta, c: list[Any]) -> ast.BoolLit:
        return ast.BoolLit(False, meta_span(m))

    def none_lit(self, m: Meta, c: list[Any]) -> ast.NoneLit:
        return ast.NoneLit(meta_span(m))

    def name_expr(self, m: Meta, c: list[Any]) -> ast.Name:
        return ast.Name(str(c[0]), tok_span(c[0]))

    def set_lit(self, m: Meta, c: list[Any]) -> ast.SetLit:
        return ast.SetLit(tuple(_present(tuple(c))), meta_span(m))

    def list_lit(self, m: Meta, c: list[Any]) -> ast.ListLit:
        return ast.ListLit(tuple(_present(tuple(c))), meta_span(m))

    def set_builder(self, m: Meta, c: list[Any]) -> ast.SetBuilder:
        binder = ast.Binder(str(c[0]), c[1], tok_span(c[0]), tok_span(c[0]))
        return ast.SetBuilder(binder, c[2], meta_span(m))
