"""Text -> syntax tree. Lark (LALR) parses with grammar/kdsl.lark; a Transformer builds the frozen
dataclasses of `kcheck.lang.ast`; Lark's errors become diagnostics with a caret and a hint.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from importlib import resources
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)
from lark.tree import Meta, Tree

from kcheck.cache import cache_dir
from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic, KcheckError, Source

GRAMMAR_NAME = "kdsl.lark"


def grammar_text() -> str:
    """The grammar shipped in the wheel, or the repository's copy in a source checkout."""
    packaged = resources.files("kcheck").joinpath("grammar", GRAMMAR_NAME)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    repo_copy = Path(__file__).resolve().parents[3] / "grammar" / GRAMMAR_NAME
    return repo_copy.read_text(encoding="utf-8")


@functools.cache
def _lark() -> Lark:
    return Lark(
        grammar_text(),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=True,
        cache=_tables_file(),
    )


def _tables_file() -> str | bool:
    """Lark's cache of the LALR tables, in kcheck's own cache folder: building them costs half a
    second on every run. Lark checks the grammar's hash on load (a stale or broken file is
    rebuilt) and carries on without the cache if the folder cannot be written."""
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return str(folder / "kdsl-lalr.cache")


# Keywords that stay free as action names, where nothing else can follow `action`: a kubelet's
# `action restart` predates the `restart` statement of faults.
ACTION_NAME_WORDS = frozenset({"restart"})


# Keywords that stay free as names: `on` only ever follows an action's name, a parser state of
# its own, so the contextual lexer never reads a name `on` as the keyword (`kind Light { on:
# bool }`). A word that can follow an expression (`docker`, `score`, `weight`, ...) cannot be
# contextual: LALR merges the states that end expressions, so it would be read as the keyword
# after any expression, for example after the default of a kind's field.
# `unsynced` can only follow `coalesced`, where no name can: contextual for free.
CONTEXTUAL_WORDS = frozenset({"on", "unsynced"})


@functools.cache
def reserved_words() -> frozenset[str]:
    """Every keyword of the grammar (the string terminals that look like names), except the
    contextual ones."""
    words = frozenset(re.findall(r'"([A-Za-z_][A-Za-z0-9_]*)"', grammar_text()))
    return words - CONTEXTUAL_WORDS


def _reserved_name(tree: Tree[Token]) -> Token | None:
    """The first NAME that spells a keyword, outside the model header; None if there is none.

    Lark's contextual lexer reads a keyword as a NAME wherever the keyword itself cannot come
    next (`const count = 1`, `p.in`). Keywords are reserved (spec/language.md), and a name that
    is a keyword in some places would not survive `kcheck fmt`: with the optional comma between
    kind fields dropped, `a: bool = x, in: bool` would read back as `x in ...`. The model's own
    name is only a label (models/scheduler.kdsl is `model scheduler`), so it stays free.
    """
    reserved = reserved_words()
    found = [
        tok
        for sub in tree.iter_subtrees()  # iterative: deep trees are fine here
        if sub.data != "model_header"
        for tok in sub.children
        if isinstance(tok, Token)
        and tok.type == "NAME"
        and tok.value in reserved
        and not (sub.data == "action_decl" and tok.value in ACTION_NAME_WORDS)
    ]
    return min(found, key=lambda t: (t.line or 0, t.column or 0), default=None)


# Longer integer literals than this cannot be converted by int() (CPython's limit) and mean
# nothing in a bounded model anyway.
_MAX_INT_DIGITS = 4000


def _tok_span(t: Token) -> ast.Span:
    return ast.Span(
        t.line or 0, t.column or 0, t.end_line or t.line or 0, t.end_column or t.column or 0
    )


def _meta_span(m: Meta) -> ast.Span:
    if getattr(m, "empty", True):
        return ast.NOWHERE
    return ast.Span(m.line, m.column, m.end_line, m.end_column)


def _present(items: tuple[Any, ...]) -> list[Any]:
    return [x for x in items if x is not None]


@v_args(meta=True)
class _ToAst(Transformer[Token, ast.Program]):
    """One method per grammar rule or alias; each returns an AST node (or a piece of one)."""

    # ---- declarations
    def start(self, m: Meta, c: list[Any]) -> ast.Program:
        name: Token = c[0]
        return ast.Program(str(name), tuple(c[1:]), _tok_span(name), _meta_span(m))

    def model_header(self, m: Meta, c: list[Any]) -> Token:
        tok: Token = c[0]
        return tok

    def const_decl(self, m: Meta, c: list[Any]) -> ast.Const:
        return ast.Const(str(c[0]), c[1], _tok_span(c[0]), _meta_span(m))

    def param_decl(self, m: Meta, c: list[Any]) -> ast.Param:
        return ast.Param(str(c[0]), c[1], c[2], _tok_span(c[0]), _meta_span(m))

    def enum_decl(self, m: Meta, c: list[Any]) -> ast.Enum:
        members = tuple(ast.EnumMember(str(t), _tok_span(t)) for t in _present(tuple(c[1:])))
        return ast.Enum(str(c[0]), members, _tok_span(c[0]), _meta_span(m))

    def kind_decl(self, m: Meta, c: list[Any]) -> ast.Kind:
        fields = tuple(_present(tuple(c[3:])))
        return ast.Kind(str(c[0]), c[1], c[2] is not None, fields, _tok_span(c[0]), _meta_span(m))

    def ordered(self, m: Meta, c: list[Any]) -> bool:
        return True

    def watch_mode(self, m: Meta, c: list[Any]) -> str:
        return " ".join(str(x) for x in c)

    def fairness(self, m: Meta, c: list[Any]) -> str:
        return str(c[0])

    def lemma_kw(self, m: Meta, c: list[Any]) -> str:
        return str(c[0])

    def field_decl(self, m: Meta, c: list[Any]) -> ast.FieldDecl:
        return ast.FieldDecl(str(c[0]), c[1], c[2], _tok_span(c[0]), _meta_span(m))

    def var_decl(self, m: Meta, c: list[Any]) -> ast.Var:
        return ast.Var(str(c[0]), c[1], c[2], _tok_span(c[0]), _meta_span(m))

    def init_decl(self, m: Meta, c: list[Any]) -> ast.Init:
        return ast.Init(c[0], _meta_span(m))

    def def_decl(self, m: Meta, c: list[Any]) -> ast.Def:
        params = tuple(_present(tuple(c[1:-2])))
        return ast.Def(str(c[0]), params, c[-2], c[-1], _tok_span(c[0]), _meta_span(m))

    def def_param(self, m: Meta, c: list[Any]) -> ast.DefParam:
        return ast.DefParam(str(c[0]), c[1], _tok_span(c[0]), _meta_span(m))

    # ---- types
    def bool_type(self, m: Meta, c: list[Any]) -> ast.BoolType:
        return ast.BoolType(_meta_span(m))

    def int_type(self, m: Meta, c: list[Any]) -> ast.IntType:
        return ast.IntType(_meta_span(m))

    def range_type(self, m: Meta, c: list[Any]) -> ast.RangeType:
        return ast.RangeType(c[0], c[1], _meta_span(m))

    def named_type(self, m: Meta, c: list[Any]) -> ast.NamedType:
        return ast.NamedType(str(c[0]), _tok_span(c[0]))

    def optional_type(self, m: Meta, c: list[Any]) -> ast.OptionalType:
        return ast.OptionalType(str(c[0]), _meta_span(m))

    def set_type(self, m: Meta, c: list[Any]) -> ast.SetType:
        return ast.SetType(str(c[0]), _meta_span(m))

    # ---- actors
    def controller_decl(self, m: Meta, c: list[Any]) -> ast.Controller:
        watches = tuple(x for x in c[1:] if isinstance(x, ast.Watch))
        actions = tuple(x for x in c[1:] if isinstance(x, ast.Action))
        return ast.Controller(str(c[0]), watches, actions, _tok_span(c[0]), _meta_span(m))

    def watch_clause(self, m: Meta, c: list[Any]) -> ast.Watch:
        mode = c[1] or ""
        return ast.Watch(
            str(c[0]),
            mode == "stale",
            _tok_span(c[0]),
            _meta_span(m),
            mode.startswith("coalesced"),
            unsynced=mode.endswith("unsynced"),
        )

    def process_decl(self, m: Meta, c: list[Any]) -> ast.Process:
        return ast.Process(str(c[0]), tuple(c[1:]), _tok_span(c[0]), _meta_span(m))

    def fault_decl(self, m: Meta, c: list[Any]) -> ast.Fault:
        return ast.Fault(str(c[0]), c[1], tuple(c[2:]), _tok_span(c[0]), _meta_span(m))

    def scheduler_decl(self, m: Meta, c: list[Any]) -> ast.Scheduler:
        items = c[3:]
        return ast.Scheduler(
            str(c[0]),
            str(c[1]),
            str(c[2]),
            tuple(x for x in items if isinstance(x, ast.Filter)),
            tuple(x for x in items if isinstance(x, ast.Score)),
            tuple(x for x in items if isinstance(x, ast.Action)),
            _tok_span(c[0]),
            _tok_span(c[1]),
            _tok_span(c[2]),
            _meta_span(m),
            tuple(x for x in items if isinstance(x, ast.Hook)),
        )

    def hook_decl(self, m: Meta, c: list[Any]) -> ast.Hook:
        event, names, body = c[1], _present(tuple(c[2:-1])), c[-1]
        return ast.Hook(
            str(event),
            tuple(str(t) for t in names),
            body,
            _tok_span(event),
            _meta_span(m),
            tuple(_tok_span(t) for t in names),
        )

    def filter_decl(self, m: Meta, c: list[Any]) -> ast.Filter:
        return ast.Filter(str(c[0]), str(c[1]), str(c[2]), c[3], _tok_span(c[0]), _meta_span(m))

    def score_decl(self, m: Meta, c: list[Any]) -> ast.Score:
        return ast.Score(
            str(c[0]), str(c[1]), str(c[2]), c[3], c[4], _tok_span(c[0]), _meta_span(m)
        )

    def action_decl(self, m: Meta, c: list[Any]) -> ast.Action:
        fairness, name, head, when, body = c
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
            _tok_span(name),
            _meta_span(m),
            handler,
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
        return ast.Binder(str(c[0]), c[1], _tok_span(c[0]), _meta_span(m))

    def range_domain(self, m: Meta, c: list[Any]) -> ast.RangeDomain:
        return ast.RangeDomain(c[0], c[1], _meta_span(m))

    def bool_domain(self, m: Meta, c: list[Any]) -> ast.ExprDomain:
        # `b in bool` ranges over false and true; `bool` cannot name anything else
        span = _meta_span(m)
        return ast.ExprDomain(ast.Name("bool", span), span)

    def expr_domain(self, m: Meta, c: list[Any]) -> ast.ExprDomain:
        return ast.ExprDomain(c[0], _meta_span(m))

    # ---- statements
    def block(self, m: Meta, c: list[Any]) -> ast.Block:
        return ast.Block(tuple(c), _meta_span(m))

    def assign_stmt(self, m: Meta, c: list[Any]) -> ast.Assign:
        return ast.Assign(c[0], c[1], _meta_span(m))

    def assign_any_stmt(self, m: Meta, c: list[Any]) -> ast.AssignAny:
        return ast.AssignAny(c[0], c[1], _meta_span(m))

    def create_stmt(self, m: Meta, c: list[Any]) -> ast.CreateStmt:
        return ast.CreateStmt(c[0], _meta_span(m))

    def let_stmt(self, m: Meta, c: list[Any]) -> ast.Let:
        return ast.Let(str(c[0]), c[1], _tok_span(c[0]), _meta_span(m))

    let_create_stmt = let_stmt

    def delete_stmt(self, m: Meta, c: list[Any]) -> ast.Delete:
        return ast.Delete(c[0], _meta_span(m))

    # ---- the docker binding
    def docker_decl(self, m: Meta, c: list[Any]) -> ast.Docker:
        return ast.Docker(tuple(c), _meta_span(m))

    def bind_section(self, m: Meta, c: list[Any]) -> ast.BindSection:
        items = tuple(x for x in c[2:] if x is not None)
        return ast.BindSection(
            str(c[0]), str(c[1]), items, _tok_span(c[0]), _tok_span(c[1]), _meta_span(m)
        )

    def bind_item(self, m: Meta, c: list[Any]) -> ast.BindItem:
        return ast.BindItem(str(c[0]), c[1], _tok_span(c[0]), _meta_span(m))

    def bind_field(self, m: Meta, c: list[Any]) -> ast.FieldName:
        return ast.FieldName(str(c[0]), _tok_span(c[0]))

    def bind_string(self, m: Meta, c: list[Any]) -> str:
        return str(c[0])[1:-1]

    def bind_int(self, m: Meta, c: list[Any]) -> int:
        return int(str(c[0]))

    def bind_list(self, m: Meta, c: list[Any]) -> tuple[str, ...]:
        return tuple(str(x)[1:-1] for x in c if x is not None)

    def step_stmt(self, m: Meta, c: list[Any]) -> ast.Step:
        return ast.Step(_meta_span(m))

    def restart_stmt(self, m: Meta, c: list[Any]) -> ast.Restart:
        return ast.Restart(str(c[0]), _tok_span(c[0]), _meta_span(m))

    def choose_stmt(self, m: Meta, c: list[Any]) -> ast.Choose:
        return ast.Choose(c[0], c[1], c[2], _meta_span(m))

    def for_stmt(self, m: Meta, c: list[Any]) -> ast.For:
        return ast.For(c[0], c[1], c[2], _meta_span(m))

    def if_stmt(self, m: Meta, c: list[Any]) -> ast.If:
        return ast.If(c[0], c[1], c[2], _meta_span(m))

    def lvalue(self, m: Meta, c: list[Any]) -> ast.LValue:
        return ast.LValue(tuple(str(t) for t in c), tuple(_tok_span(t) for t in c), _meta_span(m))

    def indexed_lvalue(self, m: Meta, c: list[Any]) -> ast.LValue:
        names = [c[0], *c[2:]]
        return ast.LValue(
            tuple(str(t) for t in names),
            tuple(_tok_span(t) for t in names),
            _meta_span(m),
            c[1],
        )

    def create_expr(self, m: Meta, c: list[Any]) -> ast.Create:
        inits = tuple(_present(tuple(c[1:])))
        return ast.Create(str(c[0]), inits, _tok_span(c[0]), _meta_span(m))

    def field_init(self, m: Meta, c: list[Any]) -> ast.FieldInit:
        return ast.FieldInit(str(c[0]), c[1], _tok_span(c[0]), _meta_span(m))

    # ---- properties
    def invariant_decl(self, m: Meta, c: list[Any]) -> ast.Invariant:
        lemma = c[0] == "lemma"
        return ast.Invariant(str(c[1]), c[2], _tok_span(c[1]), _meta_span(m), lemma)

    def assume_decl(self, m: Meta, c: list[Any]) -> ast.Assume:
        return ast.Assume(str(c[0]), c[1], _tok_span(c[0]), _meta_span(m))

    def property_decl(self, m: Meta, c: list[Any]) -> ast.Property:
        return ast.Property(str(c[0]), c[1], _tok_span(c[0]), _meta_span(m))

    # ---- expressions
    def forall_expr(self, m: Meta, c: list[Any]) -> ast.Quant:
        return ast.Quant("forall", c[0], c[1], c[2], _meta_span(m))

    def exists_expr(self, m: Meta, c: list[Any]) -> ast.Quant:
        return ast.Quant("exists", c[0], c[1], c[2], _meta_span(m))

    def count_expr(self, m: Meta, c: list[Any]) -> ast.Count:
        return ast.Count(c[0], c[1], _meta_span(m))

    def sum_expr(self, m: Meta, c: list[Any]) -> ast.Aggregate:
        return ast.Aggregate("sum", c[0], c[1], c[2], _meta_span(m))

    def max_expr(self, m: Meta, c: list[Any]) -> ast.Aggregate:
        return ast.Aggregate("max", c[0], c[1], c[2], _meta_span(m))

    def min_expr(self, m: Meta, c: list[Any]) -> ast.Aggregate:
        return ast.Aggregate("min", c[0], c[1], c[2], _meta_span(m))

    def if_expr(self, m: Meta, c: list[Any]) -> ast.IfExpr:
        return ast.IfExpr(c[0], c[1], c[2], _meta_span(m))

    def eventually_expr(self, m: Meta, c: list[Any]) -> ast.Temporal:
        return ast.Temporal("eventually", c[0], _meta_span(m))

    def always_expr(self, m: Meta, c: list[Any]) -> ast.Temporal:
        return ast.Temporal("always", c[0], _meta_span(m))

    def leads_to_expr(self, m: Meta, c: list[Any]) -> ast.LeadsTo:
        return ast.LeadsTo(c[0], c[1], _meta_span(m))

    def _binary(self, op: str, m: Meta, left: ast.Expr, right: ast.Expr) -> ast.Binary:
        return ast.Binary(op, left, right, ast.NOWHERE, _meta_span(m))

    def implies_op(self, m: Meta, c: list[Any]) -> ast.Binary:
        return self._binary("implies", m, c[0], c[1])

    def or_op(self, m: Meta, c: list[Any]) -> ast.Binary:
        return self._binary("or", m, c[0], c[1])

    def and_op(self, m: Meta, c: list[Any]) -> ast.Binary:
        return self._binary("and", m, c[0], c[1])

    def not_in_op(self, m: Meta, c: list[Any]) -> ast.Unary:
        # `a not in b` is `not (a in b)`: one tree, printed back the readable way
        return ast.Unary("not", self._binary("in", m, c[0], c[1]), _meta_span(m))

    def budget_expr(self, m: Meta, c: list[Any]) -> ast.Budget:
        return ast.Budget(str(c[0]), _tok_span(c[0]), _meta_span(m))

    def in_op(self, m: Meta, c: list[Any]) -> ast.Binary:
        return self._binary("in", m, c[0], c[1])

    def union_op(self, m: Meta, c: list[Any]) -> ast.Binary:
        return self._binary("|", m, c[0], c[1])

    def inter_op(self, m: Meta, c: list[Any]) -> ast.Binary:
        return self._binary("&", m, c[0], c[1])

    def cmp_op(self, m: Meta, c: list[Any]) -> ast.Binary:
        return ast.Binary(str(c[1]), c[0], c[2], _tok_span(c[1]), _meta_span(m))

    arith_op = cmp_op

    def not_op(self, m: Meta, c: list[Any]) -> ast.Unary:
        return ast.Unary("not", c[0], _meta_span(m))

    def neg_op(self, m: Meta, c: list[Any]) -> ast.Unary:
        return ast.Unary("-", c[0], _meta_span(m))

    def field_expr(self, m: Meta, c: list[Any]) -> ast.Field:
        return ast.Field(c[0], str(c[1]), _tok_span(c[1]), _meta_span(m))

    def call_expr(self, m: Meta, c: list[Any]) -> ast.Call:
        args = tuple(_present(tuple(c[1:])))
        return ast.Call(str(c[0]), args, _tok_span(c[0]), _meta_span(m))

    def index_expr(self, m: Meta, c: list[Any]) -> ast.Index:
        return ast.Index(str(c[0]), c[1], _tok_span(c[0]), _meta_span(m))

    def _builtin2(self, name: str, m: Meta, c: list[Any]) -> ast.Call:
        sp = _meta_span(m)
        head = ast.Span(sp.line, sp.col, sp.line, sp.col + len(name))
        return ast.Call(name, (c[0], c[1]), head, sp)

    def min2_expr(self, m: Meta, c: list[Any]) -> ast.Call:
        return self._builtin2("min", m, c)

    def max2_expr(self, m: Meta, c: list[Any]) -> ast.Call:
        return self._builtin2("max", m, c)

    def count_all_expr(self, m: Meta, c: list[Any]) -> ast.CountAll:
        return ast.CountAll(c[0], _meta_span(m))

    def int_lit(self, m: Meta, c: list[Any]) -> ast.IntLit:
        if len(c[0]) > _MAX_INT_DIGITS:
            raise KcheckError(
                [
                    Diagnostic(
                        "KC0102",
                        f"integer literal with {len(c[0])} digits is too long",
                        _tok_span(c[0]),
                    )
                ]
            )
        return ast.IntLit(int(c[0]), _tok_span(c[0]))

    def true_lit(self, m: Meta, c: list[Any]) -> ast.BoolLit:
        return ast.BoolLit(True, _meta_span(m))

    def false_lit(self, m: Meta, c: list[Any]) -> ast.BoolLit:
        return ast.BoolLit(False, _meta_span(m))

    def none_lit(self, m: Meta, c: list[Any]) -> ast.NoneLit:
        return ast.NoneLit(_meta_span(m))

    def name_expr(self, m: Meta, c: list[Any]) -> ast.Name:
        return ast.Name(str(c[0]), _tok_span(c[0]))

    def set_lit(self, m: Meta, c: list[Any]) -> ast.SetLit:
        return ast.SetLit(tuple(_present(tuple(c))), _meta_span(m))

    def set_builder(self, m: Meta, c: list[Any]) -> ast.SetBuilder:
        binder = ast.Binder(str(c[0]), c[1], _tok_span(c[0]), _tok_span(c[0]))
        return ast.SetBuilder(binder, c[2], _meta_span(m))


# Terminals as a reader would name them in "expected ..." messages.
_READABLE = {
    "NAME": "a name",
    "INT": "a number",
    "CMP_OP": "a comparison",
    "ADD_OP": "`+` or `-`",
    "MUL_OP": "`*`, `/` or `%`",
    "$END": "end of file",
    "STRING": "a string",
    "HOOK_ON": "`on`",
}

_DECL_KEYWORDS = (
    "const", "param", "enum", "kind", "var", "init", "def", "controller", "process",
    "scheduler", "fault", "invariant", "lemma", "property", "assume", "docker",
)  # fmt: skip


def _terminal_text(name: str) -> str:
    if name in _READABLE:
        return _READABLE[name]
    for t in _lark().terminals:
        if t.name == name:
            if t.pattern.type == "str":
                return f"`{t.pattern.value}`"
            break
    return name.lower()


def _expected_list(expected: set[str]) -> str:
    words = sorted({_terminal_text(e) for e in expected})
    if len(words) > 8:
        words = [*words[:8], "..."]
    return ", ".join(words)


STRING_HINT = (
    "KDSL has no string values; use an enum value (strings only occur in a `docker` block)"
)

_BINDING_WORDS = ("count", "sum", "forall", "exists", "min", "max", "if", "eventually", "always")


def _hint_for(tok: Token, expected: set[str], prev_word: str = "") -> str | None:
    value = str(tok)
    texts = {_terminal_text(e) for e in expected}
    if tok.type == "STRING":
        return STRING_HINT
    if value == "on" and "HOOK_ON" in expected:  # `on` with no name after it
        return "a scheduler's bind statements are written `on bind(p, n) { ... }`"
    if value == "=" and "`:=`" in texts:
        return "assignment is written `:=`; `=` only appears in declarations"
    if value == ":=" and "`=`" in texts:
        return "declarations use `=`; `:=` assigns inside an action"
    # `a and forall p in K: b`: where a binding form cannot start, its keyword is read as a
    # name (or `count(`/`max(`), so the error lands on the token after it.
    for word in (value, prev_word if tok.type in ("NAME", "INT") else ""):
        if word in _BINDING_WORDS:
            return f"an expression that starts with `{word}` takes everything to its right; wrap it in parentheses"
    # Before the reserved-word hint: a declaration keyword where a statement or `}` could come
    # is far more likely a missing `}` than an attempt to name something `const`.
    if value in _DECL_KEYWORDS and "`}`" in texts:
        return "a `}` is missing before this declaration"
    if "a name" in texts and tok.type != "NAME" and value.isidentifier():
        return f"`{value}` is a reserved word and cannot be used as a name"
    if tok.type == "$END" and "`}`" in texts:
        return "a `}` is missing at the end of the file"
    return None


def _word_before(text: str, pos: int | None) -> str:
    """The name or keyword just before `pos` (whitespace between allowed), or ""."""
    m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*$", text[: pos or 0])
    return m.group(1) if m else ""


def _syntax_diagnostic(err: UnexpectedInput, source: Source) -> Diagnostic:
    if isinstance(err, UnexpectedCharacters):
        pos = err.pos_in_stream
        ch = source.text[pos] if pos is not None and 0 <= pos < len(source.text) else "?"
        line, col = err.line, err.column
        hint = None
        rest = source.text[pos + 1 :].split("\n", 1)[0] if pos is not None else ""
        if ch == '"' and '"' not in rest:
            hint = 'this string has no closing `"` (a string stays on one line)'
        elif ch == '"' or ch == "'":
            hint = STRING_HINT
        elif ch == "#":
            hint = "comments start with `//`"
        elif ch == "=":
            hint = "equality is `==`, assignment is `:=`"
        return Diagnostic(
            "KC0101",
            f"unexpected character {ch!r}",
            ast.Span(line, col, line, col + 1),
            help=hint,
        )
    if isinstance(err, UnexpectedToken) and err.token.type != "$END":
        tok = err.token
        expected = set(err.expected)
        return Diagnostic(
            "KC0102",
            f"unexpected `{tok}`; expected {_expected_list(expected)}",
            _tok_span(tok),
            help=_hint_for(tok, expected, _word_before(source.text, tok.start_pos)),
        )
    expected = set(getattr(err, "expected", ()) or ())
    last = len(source.lines)
    col = len(source.lines[-1]) + 1 if source.lines else 1
    end_tok = Token("$END", "")
    return Diagnostic(
        "KC0103",
        "unexpected end of file" + (f"; expected {_expected_list(expected)}" if expected else ""),
        ast.Span(last, col, last, col + 1),
        help=_hint_for(end_tok, expected),
    )


def parse(source: Source) -> ast.Program:
    """Parse a whole model; raises KcheckError with one diagnostic on a syntax error."""
    tree: Tree[Token] | None = None

    def too_deep() -> KcheckError:
        return KcheckError(
            [
                Diagnostic(
                    "KC0102",
                    "expression nested too deeply to parse",
                    _deep_point(tree) if tree is not None else ast.Span(1, 1, 1, 2),
                    help="kcheck parses up to about 400 nested operators; split a longer "
                    "expression into `def` helpers",
                )
            ]
        )

    try:
        tree = _lark().parse(source.text)
        bad = _reserved_name(tree)
        if bad is not None:
            raise KcheckError(
                [
                    Diagnostic(
                        "KC0102",
                        f"`{bad}` is a reserved word and cannot be used as a name",
                        _tok_span(bad),
                        help=f"rename it, e.g. `{bad}_`",
                    )
                ]
            )
        return _ToAst().transform(tree)
    except (UnexpectedCharacters, UnexpectedToken, UnexpectedEOF) as err:
        raise KcheckError([_syntax_diagnostic(err, source)]) from None
    except RecursionError:
        raise too_deep() from None
    except VisitError as err:
        # Lark wraps whatever a Transformer method raises, a RecursionError in deep trees included.
        if isinstance(err.orig_exc, RecursionError):
            raise too_deep() from None
        if isinstance(err.orig_exc, KcheckError):
            raise err.orig_exc from None
        raise


# Tree levels past which the deepest branch is named as the place that is nested too deeply.
_DEEP_LEVEL = 200


def _deep_point(tree: Tree[Token]) -> ast.Span:
    """Where a tree too deep to transform gets deep: the start of the subtree on its deepest
    branch at level _DEEP_LEVEL, found without recursion."""
    best: tuple[int, ast.Span] = (0, ast.Span(1, 1, 1, 2))
    stack: list[tuple[Tree[Token], int, ast.Span]] = [(tree, 0, ast.Span(1, 1, 1, 2))]
    while stack:
        node, level, mark = stack.pop()
        if level == _DEEP_LEVEL and not getattr(node.meta, "empty", True):
            mark = _meta_span(node.meta)
        if level > best[0]:
            best = (level, mark)
        stack.extend((c, level + 1, mark) for c in node.children if isinstance(c, Tree))
    return best[1]


# A model is a few hundred lines; anything far larger is not one (and is not read whole).
MAX_SOURCE_BYTES = 16 * 2**20


def read_source(path: str) -> Source:
    """Read a model file as UTF-8 (a leading byte-order mark is dropped); unreadable files,
    anything but a regular file (a FIFO would block, /dev/zero never ends) and files over
    MAX_SOURCE_BYTES become a KC0104 diagnostic."""

    def unreadable(reason: str, help: str | None = None) -> KcheckError:
        return KcheckError(
            [Diagnostic("KC0104", f"cannot read {path}: {reason}", ast.NOWHERE, help=help)]
        )

    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            what = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise unreadable(f"it is {what}", "a model is a .kdsl text file")
        with open(path, "rb") as f:
            raw = f.read(MAX_SOURCE_BYTES + 1)
    except OSError as err:
        raise unreadable(err.strerror or str(err)) from None
    if len(raw) > MAX_SOURCE_BYTES:
        raise unreadable(f"it is larger than {MAX_SOURCE_BYTES // 2**20} MB; is it a model?")
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        raise KcheckError(
            [
                Diagnostic(
                    "KC0104",
                    f"{path} is not UTF-8 text (byte {err.start})",
                    ast.NOWHERE,
                    help="a model is a UTF-8 text file",
                )
            ]
        ) from None
    if "\x00" in text:
        raise KcheckError(
            [Diagnostic("KC0104", f"{path} contains NUL bytes; is it a binary file?", ast.NOWHERE)]
        )
    return Source(path, text)
