"""The formatter: golden layouts, idempotence, and the round trip parse -> fmt -> parse.

The round trip is checked three ways: on random syntax trees (a recursive hypothesis strategy
over the AST dataclasses), on random grammar-conforming text (`hypothesis.extra.lark.from_lark`),
and on the shipped models. A third property feeds arbitrary text to the parser, which must
answer with a KcheckError or a tree, never another exception.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark
from lark import Lark
from lark.lexer import PatternStr

from kcheck.lang import ast, fmt, layout
from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.fmt import (
    check_formatted,
    find_comments,
    format_diff,
    format_expr,
    format_program,
)
from kcheck.lang.layout import MAX_LINE
from kcheck.lang.parser import grammar_text, parse, reserved_words
from tests.explore import modelgen

ROOT = Path(__file__).resolve().parents[2]
MODELS = sorted((ROOT / "models").glob("*.kdsl"))

PROPERTY = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def parsed(text: str) -> ast.Program:
    return parse(Source("t.kdsl", text))


def roundtrip(program: ast.Program) -> str:
    """Format, re-parse, and insist on the same tree and a fixed point; return the text."""
    text = format_program(program)
    again = parsed(text)
    assert again == program, text
    assert format_program(again) == text
    return text


# ---- golden layouts -------------------------------------------------------------------------

MESSY_REPLICASET = """\
// comments are kept
model replicaset
const MAX_PODS = 5   param replicas: 0..4 = 3
enum Phase {Pending,Running,Failed,}
kind Pod[MAX_PODS] { phase: Phase = Pending, node: Node?  labels: set<Phase> }
kind Node[2] ordered { ready: bool = true }
var generation: 0..3 = 0
def live(): int = count p in Pod where p.phase != Failed
def pinned(): Node = Node[0]
init { generation := any 0..3   let n = create Node {ready: true} }
controller replicaset watches Pod stale {
  action scale_up when live() < replicas { create Pod { phase: Pending, node: none } }
  unfair action scale_down when live() > replicas {
    choose p in Pod where p.phase != Failed { delete p } }
  strong action gc for p in Pod where p.phase == Failed { delete p }
}
process kubelet { action start for p in Pod where p.phase == Pending {
  if p.node == none { p.phase := Running } else if not p.node.ready { p.phase := Failed }
  else { for q in Pod where q != p { q.labels := q.labels | {Running} } } } }
scheduler default binds Pod.node {
  score spread(p, n) = 0 - (count q in Pod where q.node == n) weight 2
  filter ready(p, n) = n.ready
}
fault crash budget 2 { action crash for p in Pod where p.phase == Running { p.phase := Failed } }
invariant bounded: count(Pod) <= replicas + 2
property converges: eventually always ((count p in Pod where p.phase == Running) == replicas)
property placed: forall p in Pod: (p.node == none) leads_to (p.node != none)
"""

CANONICAL_REPLICASET = """\
model replicaset

const MAX_PODS = 5
param replicas: 0..4 = 3

enum Phase { Pending, Running, Failed }

kind Pod[MAX_PODS] {
  phase: Phase = Pending
  node: Node?
  labels: set<Phase>
}

kind Node[2] ordered {
  ready: bool = true
}

var generation: 0..3 = 0

def live(): int = count p in Pod where p.phase != Failed
def pinned(): Node = Node[0]

init {
  generation := any 0..3
  let n = create Node { ready: true }
}

controller replicaset watches Pod stale {
  action scale_up when live() < replicas {
    create Pod { phase: Pending, node: none }
  }
  unfair action scale_down when live() > replicas {
    choose p in Pod where p.phase != Failed {
      delete p
    }
  }
  strong action gc for p in Pod where p.phase == Failed {
    delete p
  }
}

process kubelet {
  action start for p in Pod where p.phase == Pending {
    if p.node == none {
      p.phase := Running
    } else if not p.node.ready {
      p.phase := Failed
    } else {
      for q in Pod where q != p {
        q.labels := q.labels | {Running}
      }
    }
  }
}

scheduler default binds Pod.node {
  filter ready(p, n) = n.ready
  score spread(p, n) = 0 - (count q in Pod where q.node == n) weight 2
}

fault crash budget 2 {
  action crash for p in Pod where p.phase == Running {
    p.phase := Failed
  }
}

invariant bounded: count(Pod) <= replicas + 2
property converges: eventually always (count p in Pod where p.phase == Running) == replicas
property placed: forall p in Pod: p.node == none leads_to p.node != none
"""


def test_messy_model_formats_to_the_canonical_layout() -> None:
    program = parsed(MESSY_REPLICASET)
    assert format_program(program) == CANONICAL_REPLICASET
    assert roundtrip(program) == CANONICAL_REPLICASET


def test_empty_blocks_and_a_long_def_layout() -> None:
    long_body = " + ".join(f"value_number_{i}" for i in range(12))
    wrapped_body = "\n    + ".join(f"value_number_{i}" for i in range(12))
    text = (
        "model m\nconst A = 1\nenum E {}\nkind K[1] {}\ninit {}\n"
        f"def long(): int = {long_body}\ndef short(): int = 1\n"
        "controller c {}\nprocess p { action a {} action b when A > 0 { if true {} else {} } }\n"
        "fault f budget 1 {}\n"
    )
    assert roundtrip(parsed(text)) == (
        "model m\n\nconst A = 1\n\nenum E {}\n\nkind K[1] {}\n\ninit {}\n\n"
        f"def long(): int =\n    {wrapped_body}\n\ndef short(): int = 1\n\n"
        "controller c {}\n\n"
        "process p {\n  action a {}\n  action b when A > 0 {\n    if true {} else {}\n  }\n}\n\n"
        "fault f budget 1 {}\n"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a or b and c", "a or b and c"),
        ("(a or b) and c", "(a or b) and c"),
        ("a - (b - c)", "a - (b - c)"),
        ("(a - b) - c", "a - b - c"),
        ("a implies (b implies c)", "a implies b implies c"),
        ("(a implies b) implies c", "(a implies b) implies c"),
        ("not (a == b)", "not a == b"),
        ("(not a) == b", "(not a) == b"),
        ("(a < b) == c", "(a < b) == c"),
        ("-(a + b) * -c", "-(a + b) * -c"),
        ("(a | b) & c", "a | b & c"),
        ("a | (b & c)", "a | (b & c)"),
        ("(p.node).ready", "p.node.ready"),
        ("(a + b).f", "(a + b).f"),
        ("a and (forall x in K: b)", "a and (forall x in K: b)"),
        ("(forall x in K: b) and a", "(forall x in K: b) and a"),
        ("forall x in K: (a leads_to b)", "forall x in K: a leads_to b"),
        ("sum (if a then 1 else 0) for x in K", "sum (if a then 1 else 0) for x in K"),
        ("sum (a leads_to b) for x in K", "sum (a leads_to b) for x in K"),
        ("max (n.cpu) for n in Node", "max n.cpu for n in Node"),
        ("f((count x in K), 1)", "f((count x in K), 1)"),
        ("f(1, (count x in K))", "f(1, count x in K)"),
        ("min((count x in K where a), 1)", "min(count x in K where a, 1)"),
        ("count x in (A | B)", "count x in (A | B)"),
        ("{x in 0..(N - 1) where x > 0}", "{x in 0..N - 1 where x > 0}"),
        ("eventually (always x)", "eventually always x"),
        ("(eventually a) leads_to b", "(eventually a) leads_to b"),
        ("--1", "--1"),
        ("a - -1", "a - -1"),
    ],
)
def test_parentheses_only_where_the_tree_needs_them(text: str, expected: str) -> None:
    program = parsed(f"model m\nconst c = {text}\n")
    decl = program.decls[0]
    assert isinstance(decl, ast.Const)
    assert format_expr(decl.value) == expected
    roundtrip(program)


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_shipped_models_round_trip(path: Path) -> None:
    roundtrip(parsed(path.read_text(encoding="utf-8")))


def test_formatting_is_idempotent_on_its_own_output() -> None:
    once = format_program(parsed(MESSY_REPLICASET))
    assert format_program(parsed(once)) == once


def test_check_formatted_compares_layout_and_comments() -> None:
    program = parsed(MESSY_REPLICASET)
    assert not check_formatted(MESSY_REPLICASET, program)
    canonical_with_comment = "// comments are kept\n" + CANONICAL_REPLICASET
    assert check_formatted(canonical_with_comment, program)
    commented = (
        "// header\nmodel m  /* why */\n\nconst A = 1  // a trailing note\n/* a\n   block */\n"
    )
    assert check_formatted(commented, parsed(commented))
    assert not check_formatted("model m\n\nconst A = 1", parsed("model m const A = 1"))
    assert not check_formatted("model m\n\nconst A =  1\n", parsed("model m const A = 1"))


def test_formatter_keeps_every_comment_in_place() -> None:
    text = (
        "// header\nmodel m // the model\nconst A = 1 /* one */\nvar x: 0..1 = 0\n"
        "controller c {\n  // before the action\n  action a when A > 0 {\n"
        "    // before a statement\n    x := 1\n  // at the end of the action\n  }\n}\n"
        "// the last line\n"
    )
    out = format_program(parsed(text), text)
    assert out == (
        "// header\n"
        "model m  // the model\n"
        "\n"
        "const A = 1  /* one */\n"
        "\n"
        "var x: 0..1 = 0\n"
        "\n"
        "controller c {\n"
        "  // before the action\n"
        "  action a when A > 0 {\n"
        "    // before a statement\n"
        "    x := 1\n"
        "    // at the end of the action\n"
        "  }\n"
        "}\n"
        "// the last line\n"
    )
    assert format_program(parsed(out), out) == out


def test_formatter_without_source_text_has_no_comments() -> None:
    text = "model m // the model\nconst A = 1 /* one */\n"
    assert format_program(parsed(text)) == "model m\n\nconst A = 1\n"


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_comments_survive_formatting(data: st.DataObject) -> None:
    """Comments sprinkled over a formatted model all come back, and the result is stable."""
    base = format_program(parsed(MESSY_REPLICASET)).split("\n")
    lines = []
    written = []
    for i, line in enumerate(base):
        if data.draw(st.booleans(), label=f"own line before {i}"):
            c = f"// note {i}"
            lines.append(c)
            written.append(c)
        if line.strip() and data.draw(st.booleans(), label=f"trailing on {i}"):
            c = f"// tail {i}"
            line = f"{line}  {c}"
            written.append(c)
        lines.append(line)
    text = "\n".join(lines)
    out = format_program(parsed(text), text)
    kept = [c.text for c in find_comments(out)]
    assert sorted(kept) == sorted(written)
    assert parsed(out) == parsed(text)
    assert format_program(parsed(out), out) == out


# ---- property 1: random syntax trees --------------------------------------------------------

# Names from a small alphabet; none is a keyword (the parser rejects keywords as names).
NAMES = ("a", "b", "c", "x", "y", "K", "Pod", "node", "f", "size")
assert not set(NAMES) & reserved_words()

names = st.sampled_from(NAMES)
small_ints = st.integers(min_value=0, max_value=1000)


def binders_of(exprs: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[tuple[ast.Binder, ...]]:
    domain: st.SearchStrategy[ast.Domain] = st.one_of(
        st.builds(ast.ExprDomain, exprs),
        st.builds(ast.RangeDomain, exprs, exprs),
    )
    return st.lists(st.builds(ast.Binder, names, domain), min_size=1, max_size=2).map(tuple)


def extend(exprs: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.Expr]:
    binders = binders_of(exprs)
    where = st.none() | exprs
    args = st.lists(exprs, max_size=3).map(tuple)
    return st.one_of(
        st.builds(ast.Field, exprs, names),
        # A call of a def; `min`/`max` with two arguments are calls too (`min(a, b)`).
        st.builds(ast.Call, names, args),
        st.builds(ast.Call, st.sampled_from(["min", "max"]), st.tuples(exprs, exprs)),
        st.builds(ast.Index, names, exprs),
        st.builds(ast.CountAll, exprs),
        st.builds(ast.Unary, st.sampled_from(ast.UNARY_OPS), exprs),
        st.builds(ast.Binary, st.sampled_from(ast.BINARY_OPS), exprs, exprs),
        st.builds(
            lambda b, w: ast.SetBuilder(b[0], w),
            binders,
            where,
        ),
        st.builds(ast.Quant, st.sampled_from(["forall", "exists"]), binders, where, exprs),
        st.builds(ast.Count, binders, where),
        st.builds(ast.Aggregate, st.sampled_from(["sum", "max", "min"]), exprs, binders, where),
        st.builds(ast.IfExpr, exprs, exprs, exprs),
        st.builds(ast.Temporal, st.sampled_from(["eventually", "always"]), exprs),
        st.builds(ast.LeadsTo, exprs, exprs),
    )


# Set and list literals hold expressions at the level of `+` (the grammar's `set_elem`): field
# reads, calls and sums print bare, anything lower (`a or b`, a quantifier) in parentheses.
set_elems = st.one_of(
    st.builds(ast.Name, names),
    st.builds(ast.IntLit, small_ints),
    st.builds(ast.NoneLit),
    st.builds(ast.Field, st.builds(ast.Name, names), names),
    st.builds(ast.Binary, st.sampled_from(["+", "*", "or"]), st.builds(ast.Name, names),
              st.builds(ast.IntLit, small_ints)),
)  # fmt: skip
leaves: st.SearchStrategy[ast.Expr] = st.one_of(
    st.builds(ast.IntLit, small_ints),
    st.builds(ast.BoolLit, st.booleans()),
    st.builds(ast.NoneLit),
    st.builds(ast.Name, names),
    st.builds(ast.SetLit, st.lists(set_elems, max_size=3).map(tuple)),
    st.builds(ast.ListLit, st.lists(set_elems, max_size=3).map(tuple)),
)
exprs = st.recursive(leaves, extend, max_leaves=12)


# Node shapes for operator trees: every binary operator and each other form that competes
# for operands. Each example draws a few shapes and nests only those, so that the pairs where
# precedence and associativity matter (`-` under `-`, `implies` under `implies`, `count` as a
# call argument) come up often instead of once in thousands of draws.
SHAPES = (*ast.BINARY_OPS, "not", "neg", "leads_to", "field", "always", "if", "forall", "count",
          "sum", "call")  # fmt: skip


def shaped(shape: str, sub: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.Expr]:
    one_binder = st.builds(lambda d: (ast.Binder("x", ast.ExprDomain(d)),), sub)
    if shape in ast.BINARY_OPS:
        return st.builds(ast.Binary, st.just(shape), sub, sub)
    table: dict[str, st.SearchStrategy[ast.Expr]] = {
        "not": st.builds(ast.Unary, st.just("not"), sub),
        "neg": st.builds(ast.Unary, st.just("-"), sub),
        "leads_to": st.builds(ast.LeadsTo, sub, sub),
        "field": st.builds(ast.Field, sub, names),
        "always": st.builds(ast.Temporal, st.just("always"), sub),
        "if": st.builds(ast.IfExpr, sub, sub, sub),
        "forall": st.builds(ast.Quant, st.just("forall"), one_binder, st.none() | sub, sub),
        "count": st.builds(ast.Count, one_binder, st.none() | sub),
        "sum": st.builds(ast.Aggregate, st.just("sum"), sub, one_binder, st.none() | sub),
        "call": st.builds(ast.Call, names, st.lists(sub, max_size=3).map(tuple)),
    }
    return table[shape]


def operator_trees_of(shapes: list[str]) -> st.SearchStrategy[ast.Expr]:
    return st.recursive(
        st.builds(ast.Name, names) | st.builds(ast.IntLit, small_ints),
        lambda sub: st.one_of(*(shaped(s, sub) for s in shapes)),
        max_leaves=8,
    )


operator_trees = (
    st.lists(st.sampled_from(SHAPES), min_size=1, max_size=3, unique=True)
    .flatmap(operator_trees_of)
    .filter(lambda e: not isinstance(e, ast.Name | ast.IntLit))
)


def build(shape: str, kids: Sequence[ast.Expr]) -> ast.Expr:
    """One node of `shape` whose sub-expressions are `kids` (`arity(shape)` of them)."""
    if shape in ast.BINARY_OPS:
        return ast.Binary(shape, kids[0], kids[1])
    binder = (ast.Binder("x", ast.ExprDomain(kids[0])),)
    table: dict[str, Callable[[], ast.Expr]] = {
        "not": lambda: ast.Unary("not", kids[0]),
        "neg": lambda: ast.Unary("-", kids[0]),
        "leads_to": lambda: ast.LeadsTo(kids[0], kids[1]),
        "field": lambda: ast.Field(kids[0], "f"),
        "always": lambda: ast.Temporal("always", kids[0]),
        "if": lambda: ast.IfExpr(kids[0], kids[1], kids[2]),
        "forall": lambda: ast.Quant("forall", binder, kids[1], kids[2]),
        "count": lambda: ast.Count(binder, kids[1]),
        "sum": lambda: ast.Aggregate("sum", kids[1], binder, kids[2]),
        "call": lambda: ast.Call("f", (kids[0], kids[1])),
    }
    return table[shape]()


def arity(shape: str) -> int:
    if shape in ast.BINARY_OPS or shape in ("leads_to", "count", "call"):
        return 2
    return 3 if shape in ("if", "forall", "sum") else 1


def test_every_shape_in_every_slot_of_every_shape_round_trips() -> None:
    """Exhaustive over pairs: an inner node (bare, and with its own slots filled by `count`,
    which leaves binders open) in each slot of an outer node. Catches any wrong entry of the
    precedence table, which random trees reach only by luck."""
    leaf = ast.Name("a")
    open_count = ast.Count((ast.Binder("y", ast.ExprDomain(ast.Name("K"))),), None)
    inners = [build(s, [leaf] * arity(s)) for s in SHAPES]
    inners += [build(s, [leaf] * (arity(s) - 1) + [open_count]) for s in SHAPES]
    for outer in SHAPES:
        for slot in range(arity(outer)):
            for inner in inners:
                kids: list[ast.Expr] = [leaf] * arity(outer)
                kids[slot] = inner
                roundtrip(ast.Program("m", (ast.Const("c", build(outer, kids)),)))


types: st.SearchStrategy[ast.TypeExpr] = st.one_of(
    st.builds(ast.BoolType),
    st.builds(ast.IntType),
    st.builds(ast.RangeType, exprs, exprs),
    st.builds(ast.NamedType, names),
    st.builds(ast.OptionalType, names),
    st.builds(ast.SetType, names),
)
lvalues = st.lists(names, min_size=1, max_size=3).map(lambda ps: ast.LValue(tuple(ps)))
domains: st.SearchStrategy[ast.Domain] = st.one_of(
    st.builds(ast.ExprDomain, exprs), st.builds(ast.RangeDomain, exprs, exprs)
)
creates = st.builds(
    ast.Create, names, st.lists(st.builds(ast.FieldInit, names, exprs), max_size=3).map(tuple)
)
stmt_binders = binders_of(exprs)


def extend_stmts(stmts: st.SearchStrategy[ast.Stmt]) -> st.SearchStrategy[ast.Stmt]:
    blocks = st.lists(stmts, max_size=3).map(lambda ss: ast.Block(tuple(ss)))
    ifs: st.SearchStrategy[ast.If] = st.deferred(
        lambda: st.builds(ast.If, exprs, blocks, st.none() | blocks | ifs)  # else-if chains
    )
    return st.one_of(
        st.builds(ast.Choose, stmt_binders, st.none() | exprs, blocks),
        st.builds(ast.For, stmt_binders, st.none() | exprs, blocks),
        ifs,
    )


simple_stmts: st.SearchStrategy[ast.Stmt] = st.one_of(
    st.builds(ast.Assign, lvalues, exprs),
    st.builds(ast.AssignAny, lvalues, domains),
    st.builds(ast.CreateStmt, creates),
    st.builds(ast.Let, names, exprs | creates),
    st.builds(ast.Delete, exprs),
)
stmts = st.recursive(simple_stmts, extend_stmts, max_leaves=6)
blocks = st.lists(stmts, max_size=4).map(lambda ss: ast.Block(tuple(ss)))
actions = st.builds(
    ast.Action,
    names,
    st.sampled_from([None, "unfair", "strong"]),
    st.one_of(st.just(()), stmt_binders),
    st.none() | exprs,
    st.none() | exprs,
    blocks,
).map(
    # The grammar has no `where` without a `for`.
    lambda a: a if a.binders else ast.Action(a.name, a.fairness, (), None, a.when, a.body)
)
action_lists = st.lists(actions, max_size=3).map(tuple)
decls: st.SearchStrategy[ast.Decl] = st.one_of(
    st.builds(ast.Const, names, exprs),
    st.builds(ast.Param, names, types, exprs),
    st.builds(ast.Enum, names, st.lists(st.builds(ast.EnumMember, names), max_size=3).map(tuple)),
    st.builds(
        ast.Kind,
        names,
        exprs,
        st.booleans(),
        st.lists(st.builds(ast.FieldDecl, names, types, st.none() | exprs), max_size=3).map(tuple),
    ),
    st.builds(ast.Var, names, types, exprs),
    st.builds(ast.Init, blocks),
    st.builds(
        ast.Def,
        names,
        st.lists(st.builds(ast.DefParam, names, types), max_size=2).map(tuple),
        types,
        exprs,
    ),
    st.builds(
        ast.Controller,
        names,
        st.lists(st.builds(ast.Watch, names, st.booleans()), max_size=2).map(tuple),
        action_lists,
        locals=st.lists(st.builds(ast.Var, names, types, exprs), max_size=2).map(tuple),
    ),
    st.builds(ast.Process, names, action_lists),
    # an actor's own `var`s (issue 19 point 5): printed first in its body
    st.builds(
        ast.Process,
        names,
        action_lists,
        locals=st.lists(st.builds(ast.Var, names, types, exprs), min_size=1, max_size=2).map(tuple),
    ),
    st.builds(
        ast.Scheduler,
        names,
        names,
        names,
        st.lists(st.builds(ast.Filter, names, names, names, exprs), max_size=2).map(tuple),
        st.lists(
            st.builds(ast.Score, names, names, names, exprs, st.none() | exprs), max_size=2
        ).map(tuple),
        action_lists,
    ),
    st.builds(ast.Fault, names, exprs, action_lists),
    st.builds(ast.Invariant, names, exprs),
    st.builds(ast.Property, names, exprs),
)
programs = st.builds(ast.Program, names, st.lists(decls, max_size=5).map(tuple))


@PROPERTY
@given(exprs)
def test_random_expressions_round_trip(e: ast.Expr) -> None:
    roundtrip(ast.Program("m", (ast.Const("c", e),)))


@PROPERTY
@given(operator_trees)
def test_random_operator_trees_round_trip(e: ast.Expr) -> None:
    roundtrip(ast.Program("m", (ast.Const("c", e),)))


@PROPERTY
@given(stmts)
def test_random_statements_round_trip(s: ast.Stmt) -> None:
    roundtrip(ast.Program("m", (ast.Init(ast.Block((s,))),)))


@PROPERTY
@given(programs)
def test_random_programs_round_trip(program: ast.Program) -> None:
    roundtrip(program)


# ---- property 2: random grammar-conforming text ---------------------------------------------


def _generation_grammar() -> str:
    """The grammar, minus the one construct LALR cannot read as the grammar allows it.

    `count`/`sum`/`max`/`min` without `where` end in a binder list, so a following `,` (another
    argument, another field) is read as the start of one more binder: the grammar's only
    shift/reduce conflict. Generating them with `where` always keeps every text parseable.
    A call with a `.` before its name is a module's function (`taints.tolerates(p, n)`): the
    grammar reads any postfix there and the AST builder refuses all but a name, so it is
    generated after a name.
    """
    text = grammar_text()
    text, n = re.subn(
        r'("count" binders|implies_expr "for" binders) \[where_clause\]', r"\1 where_clause", text
    )
    assert n == 4, "grammar changed: revisit the generation grammar"
    # `m.f(...)` calls a module's function: the grammar reads any postfix before the `.` (to
    # locate the error), the tree only a name (`0 . a ()` is KC0102)
    text, n = re.subn(r'postfix "\." NAME "\(" (.*) -> qualified_call_expr',
                      r'NAME "." NAME "(" \1 -> qualified_call_expr', text)  # fmt: skip
    assert n == 1, "grammar changed: revisit the generation grammar"
    return text


def _explicit_terminals(lark: Lark, start: str) -> dict[str, st.SearchStrategy[str]]:
    # from_lark inserts %ignore'd whitespace only now and then, so `model` and a NAME would run
    # together; every token carries its own spaces instead. Comments end in a newline so that
    # the next token is not swallowed.
    keywords = sorted(reserved_words())
    explicit: dict[str, st.SearchStrategy[str]] = {
        "NAME": st.sampled_from(NAMES).map(lambda s: f" {s} "),
        "INT": small_ints.map(lambda i: f" {i} "),
        "CMP_OP": st.sampled_from(["==", "!=", "<=", ">=", "<", ">"]).map(lambda s: f" {s} "),
        "ADD_OP": st.sampled_from(["+", "-"]).map(lambda s: f" {s} "),
        "MUL_OP": st.sampled_from(["*", "/", "%"]).map(lambda s: f" {s} "),
        "WS": st.sampled_from([" ", "\n", "\t", "\r\n"]),
        "COMMENT": st.sampled_from(["// note\n", "// " + " ".join(keywords[:5]) + "\n"]),
        "BLOCK_COMMENT": st.sampled_from(["/* note */", "/* a\n b */", "/* // */"]),
    }
    terminals, _, ignored = lark.grammar.compile([start], ())
    for t in terminals:
        if t.name not in explicit and isinstance(t.pattern, PatternStr):
            explicit[t.name] = st.just(f" {t.pattern.value} ")
    # from_lark refuses strategies for terminals that `start` cannot reach.
    used = {t.name for t in terminals} | set(ignored)
    return {name: strategy for name, strategy in explicit.items() if name in used}


def grammar_text_from(start: str) -> st.SearchStrategy[str]:
    return from_lark(_GEN_LARK, start=start, explicit=_explicit_terminals(_GEN_LARK, start))


_GEN_LARK = Lark(_generation_grammar(), parser="lalr")


# Whole models from `start` come out small (most expansions stop early), so single
# declarations are generated too. (Starting lower, at `stmt` or `expr`, mostly overruns
# hypothesis's buffer in the long chain of precedence rules and takes much longer.)
@PROPERTY
@given(
    st.one_of(
        grammar_text_from("start"),
        grammar_text_from("decl").map(lambda d: f"model m\n{d}"),
    )
)
def test_grammar_text_parses_and_round_trips(text: str) -> None:
    roundtrip(parsed(text))


# ---- property 3: arbitrary text ------------------------------------------------------------

KDSL_ALPHABET = st.sampled_from(
    [
        *"model const x y 0 1 { } ( ) [ ] : = , . ? < > + - * / % | & \n \t",
        *("//", "/*", "*/", ":=", "..", "==", "forall ", " in ", " count ", "\x00", "é", "#", '"'),
    ]
)


@PROPERTY
@given(st.one_of(st.text(), st.lists(KDSL_ALPHABET).map("".join)))
def test_parser_raises_only_kcheck_error(text: str) -> None:
    try:
        parsed(text)
    except KcheckError as err:
        assert err.diagnostics
        assert all(d.code.startswith("KC01") for d in err.diagnostics)


# ---- wrapping at MAX_LINE columns and comments that stay put ---------------------------------


def test_a_long_action_header_breaks_at_its_clauses_then_inside_them() -> None:
    text = (
        "model m\nkind ReplicaSet[2] { replicas: 0..3 = 0 }\nconst replicas = 2\n"
        "def is_new(rs: ReplicaSet): bool = true\ndef kept(rs: ReplicaSet): int = 0\n"
        "controller c {\n  action scale_down_old for rs in ReplicaSet where not is_new(rs) and "
        "rs.replicas > 0 when rs.replicas > replicas and (rs.replicas > kept(rs) or "
        "rs.replicas > replicas + 1) and replicas > 0 {\n    rs.replicas := 0  // why\n  }\n}\n"
    )
    out = format_program(parsed(text), text)
    assert out.split("controller c {\n")[1] == (
        "  action scale_down_old for rs in ReplicaSet\n"
        "      where not is_new(rs) and rs.replicas > 0\n"
        "      when rs.replicas > replicas\n"
        "          and (rs.replicas > kept(rs) or rs.replicas > replicas + 1)\n"
        "          and replicas > 0 {\n"
        "    rs.replicas := 0  // why\n"
        "  }\n"
        "}\n"
    )
    assert format_program(parsed(out), out) == out
    assert parsed(out) == parsed(text)


def test_a_long_declaration_keeps_its_quantifier_head_and_breaks_its_body() -> None:
    body = " and ".join(f"p.field_number_{i} == {i}" for i in range(6))
    text = (
        f"model m\nkind Pod[1] {{ {' '.join(f'field_number_{i}: 0..9' for i in range(6))} }}\n"
        f"invariant inv: forall p in Pod: {body}  // trailing\n"
        f"property prop: eventually always forall p in Pod: {body}\n"
        "def pick(a: bool, b: bool): int = if a and b then min(1, 2) else if a then max(100000, "
        "200000000) else if b then 3000000000 else 4000000000000\n"
    )
    out = format_program(parsed(text), text)
    wrapped = "".join(f"\n    and p.field_number_{i} == {i}" for i in range(1, 6))
    assert (
        f"invariant inv: forall p in Pod:\n    p.field_number_0 == 0{wrapped}  // trailing\n"
        f"property prop: eventually always forall p in Pod:\n    p.field_number_0 == 0{wrapped}\n"
    ) in out
    assert out.endswith(
        "def pick(a: bool, b: bool): int =\n"
        "    if a and b\n    then min(1, 2)\n    else if a\n    then max(100000, 200000000)\n"
        "    else if b\n    then 3000000000\n    else 4000000000000\n"
    )
    assert format_program(parsed(out), out) == out


def test_a_line_with_no_break_point_stays_long() -> None:
    name = "n" * 120
    text = f"model m\nconst {name} = 1\n"
    assert format_program(parsed(text), text) == f"model m\n\nconst {name} = 1\n"


def test_format_diff_is_a_git_style_unified_diff() -> None:
    old = "model m\nconst A =  1"
    new = format_program(parsed(old), old)
    assert format_diff("./models/m.kdsl", old, new) == (
        "--- a/models/m.kdsl\n+++ b/models/m.kdsl\n@@ -1,2 +1,3 @@\n model m\n"
        "-const A =  1\n\\ No newline at end of file\n+\n+const A = 1\n"
    )
    assert format_diff("m.kdsl", new, new) == ""
    assert format_diff("/abs/m.kdsl", old, new).startswith("--- a/abs/m.kdsl\n+++ b/abs/m.kdsl\n")


def test_fmt_diff_prints_the_change_exits_1_and_writes_nothing(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kcheck.cli.main import main

    messy, clean = tmp_path / "messy.kdsl", tmp_path / "clean.kdsl"
    messy.write_text("model m const A =  1\n", encoding="utf-8")
    clean.write_text("model m\n\nconst A = 1\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["fmt", "--diff", str(messy), str(clean)])
    assert result.exit_code == 1, result.output
    name = str(messy).lstrip("/")
    assert f"--- a/{name}\n+++ b/{name}\n" in result.output
    assert "-model m const A =  1\n+model m\n+\n+const A = 1\n" in result.output
    assert str(clean) not in result.output
    assert messy.read_text(encoding="utf-8") == "model m const A =  1\n"
    result = CliRunner().invoke(main, ["fmt", "--diff", str(clean)])
    assert (result.exit_code, result.output) == (0, "")


def _items(program: ast.Program) -> list[tuple[tuple[object, ...], int, int]]:
    """Every declaration, action, statement, field, filter, score and hook with its place in the
    tree (a path of field names and indices) and its first and last source line."""
    out: list[tuple[tuple[object, ...], int, int]] = [(("model",), program.name_span.line, 0)]
    item_types = (ast.Action, ast.FieldDecl, ast.Filter, ast.Score, ast.Hook)

    def walk(node: object, path: tuple[object, ...]) -> None:
        if isinstance(node, ast.Block):
            pass
        elif isinstance(node, (*item_types, ast.Decl, ast.Stmt)):
            span = node.span
            out.append((path, span.line, span.end_line))
        for f in dataclasses.fields(node):  # type: ignore[arg-type]
            value = getattr(node, f.name)
            if dataclasses.is_dataclass(value) and not isinstance(value, ast.Span):
                walk(value, (*path, f.name))
            elif isinstance(value, tuple):
                for i, x in enumerate(value):
                    if dataclasses.is_dataclass(x):
                        walk(x, (*path, f.name, i))

    for i, d in enumerate(program.decls):
        walk(d, ("decls", i))
    return out


def comment_owners(text: str) -> list[tuple[str, tuple[object, ...]]]:
    """Each comment with the item it belongs to: for a comment on its own line, the outermost
    item starting after it; for a trailing one, the innermost item on its line."""
    items = _items(parsed(text))
    out = []
    for c in find_comments(text):
        if c.trailing:
            covering = [it for it in items if it[1] <= c.line <= max(it[1], it[2])]
            owner = max(covering, key=lambda it: (len(it[0]), it[1]))[0] if covering else ()
        else:
            after = [it for it in items if it[1] > c.line]
            owner = min(after, key=lambda it: (it[1], len(it[0])))[0] if after else ()
        out.append((c.text, owner))
    return out


def code_lines(text: str) -> list[str]:
    """The lines of `text` with every comment blanked out."""
    blank = re.sub(r"//[^\n]*|/\*[\s\S]*?\*/", lambda m: re.sub(r"[^\n]", "", m.group()), text)
    return [line.rstrip() for line in blank.split("\n")]


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_formatting_a_model_keeps_every_comment_with_its_code(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    out = format_program(parsed(text), text)
    assert comment_owners(out) == comment_owners(text)
    header = [line for line in text.split("\n") if line.startswith("// expect:")]
    model_line = re.search(r"^model ", out, re.MULTILINE)
    assert model_line is not None
    before_model = out[: model_line.start()].split("\n")
    assert [line for line in before_model if line in header] == header
    assert [line for line in code_lines(out) if len(line) > MAX_LINE] == []
    assert format_program(parsed(out), out) == out


NARROW = 40  # a width at which generated models wrap often


@contextlib.contextmanager
def narrow() -> Iterator[None]:
    with patch.object(layout, "MAX_LINE", NARROW), patch.object(fmt, "MAX_LINE", NARROW):
        yield


@PROPERTY
@given(modelgen.models(), st.data())
def test_generated_models_keep_tree_and_comments_at_any_width(
    model: str, data: st.DataObject
) -> None:
    """Format a generated model narrow, sprinkle comments over its lines (own lines and
    trailing), format again: the tree, every comment in order, and a fixed point."""
    with narrow():
        base = format_program(parsed(model)).split("\n")
        lines, written = [], []
        for i, line in enumerate(base):
            if data.draw(st.booleans(), label=f"own line before {i}"):
                written.append(f"// note {i}")
                lines.append(written[-1])
            if line.strip() and data.draw(st.booleans(), label=f"trailing on {i}"):
                written.append(f"// tail {i}")
                line = f"{line}  {written[-1]}"
            lines.append(line)
        text = "\n".join(lines)
        out = format_program(parsed(text), text)
        assert [c.text for c in find_comments(out)] == written
        assert parsed(out) == parsed(model)
        assert comment_owners(out) == comment_owners(text)
        assert format_program(parsed(out), out) == out


@PROPERTY
@given(programs)
def test_random_programs_round_trip_when_wrapped(program: ast.Program) -> None:
    with narrow():
        roundtrip(program)


@PROPERTY
@given(grammar_text_from("decl").map(lambda d: f"model m\n{d}"))
def test_grammar_text_keeps_its_comments_when_wrapped(text: str) -> None:
    """Comments anywhere, even inside expressions: none is lost, and the result is stable."""
    with narrow():
        out = format_program(parsed(text), text)
        assert sorted(c.text for c in find_comments(out)) == sorted(
            c.text for c in find_comments(text)
        )
        assert parsed(out) == parsed(text)
        assert format_program(parsed(out), out) == out


def test_arguments_and_create_fields_fill_their_lines() -> None:
    args = ", ".join(f"argument_{i}" for i in range(12))
    fields = " ".join(f"field_{i}: 0..1" for i in range(9))
    inits = ", ".join(f"field_{i}: 0" for i in range(9))
    text = (
        f"model m\nkind K[1] {{ {fields} }}\ndef f(): int = 1\n"
        f"init {{ create K {{ {inits} }} }}\ninvariant i: f({args}) > 0\n"
    )
    out = format_program(parsed(text), text)
    assert (
        "init {\n  create K { field_0: 0, field_1: 0, field_2: 0, field_3: 0, field_4: 0, "
        "field_5: 0, field_6: 0,\n      field_7: 0, field_8: 0 }\n}\n"
    ) in out
    assert out.endswith(
        "invariant i:\n    f(argument_0, argument_1, argument_2, argument_3, argument_4, "
        "argument_5, argument_6,\n        argument_7, argument_8, argument_9, argument_10, "
        "argument_11) > 0\n"
    )
    assert format_program(parsed(out), out) == out


def test_joined_lines_keep_their_comments_next_to_them() -> None:
    text = (
        "model m\nkind Pod[2] { ready: bool = false }\ncontroller c {\n"
        "  action mark for p in Pod  // each pod\n      // only those not ready yet\n"
        "      where not p.ready\n      when true {  // always enabled\n"
        "    p.ready := true\n  }\n}\n"
    )
    out = format_program(parsed(text), text)
    assert out.split("controller c {\n")[1] == (
        "  // only those not ready yet\n"
        "  action mark for p in Pod where not p.ready when true {  // each pod\n"
        "    // always enabled\n"
        "    p.ready := true\n"
        "  }\n"
        "}\n"
    )
    assert format_program(parsed(out), out) == out


def test_a_double_slash_inside_a_string_is_not_a_comment() -> None:
    # found by the grammar-text property above: a manifest path key "//" was counted as a
    # comment, so the comment check saw one more comment than the text had
    text = 'model m\nmanifest {\n  kind a = a { a = a."//" }  // a real one\n}\n'
    assert [c.text for c in find_comments(text)] == ["// a real one"]
    assert [c.text for c in find_comments('x = "a /* b" /* c */')] == ["/* c */"]
    out = format_program(parsed(text), text)
    assert out.count("//") == 2 and format_program(parsed(out), out) == out
