"""The parser: a valid corpus that covers every construct of the grammar (asserting the shape of
the tree, precedence included), source positions, and an invalid corpus with the exact code,
line:col and hint of each syntax error. Reading files (`read_source`) is tested here too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kcheck.lang import ast
from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.parser import STRING_HINT, parse, read_source, reserved_words


def parsed(text: str) -> ast.Program:
    return parse(Source("t.kdsl", text))


def expr(text: str) -> ast.Expr:
    """The tree of one expression, parsed as a property (where every expression form is legal)."""
    decl = parsed(f"model m\nproperty p: {text}\n").decls[0]
    assert isinstance(decl, ast.Property)
    return decl.expr


def stmts(text: str) -> tuple[ast.Stmt, ...]:
    decl = parsed(f"model m\ninit {{\n{text}\n}}\n").decls[0]
    assert isinstance(decl, ast.Init)
    return decl.body.stmts


def syntax_error(text: str) -> tuple[str, int, int, str | None]:
    with pytest.raises(KcheckError) as info:
        parsed(text)
    (d,) = info.value.diagnostics
    return d.code, d.span.line, d.span.col, d.help


a, b, c, x = ast.Name("a"), ast.Name("b"), ast.Name("c"), ast.Name("x")
K = ast.Name("K")


def binder(name: str, domain: ast.Expr) -> ast.Binder:
    return ast.Binder(name, ast.ExprDomain(domain))


# ---- declarations ---------------------------------------------------------------------------


def test_declarations_of_every_sort() -> None:
    program = parsed(
        """
        model m
        const MAX = 5
        param replicas: 0..4 = 3
        enum Phase { Pending, Running, Failed, }
        kind Pod[MAX] { phase: Phase = Pending, node: Node? labels: set<Phase> }
        kind Node[2] ordered { cpu: 0..8 = 4 }
        var round: bool = false
        def used(n: Node, extra: int): int = extra
        invariant small: round
        property later: eventually round
        """
    )
    assert program.name == "m"
    assert program.decls == (
        ast.Const("MAX", ast.IntLit(5)),
        ast.Param("replicas", ast.RangeType(ast.IntLit(0), ast.IntLit(4)), ast.IntLit(3)),
        ast.Enum("Phase", tuple(ast.EnumMember(n) for n in ("Pending", "Running", "Failed"))),
        ast.Kind(
            "Pod",
            ast.Name("MAX"),
            False,
            (
                ast.FieldDecl("phase", ast.NamedType("Phase"), ast.Name("Pending")),
                ast.FieldDecl("node", ast.OptionalType("Node"), None),
                ast.FieldDecl("labels", ast.SetType("Phase"), None),
            ),
        ),
        ast.Kind(
            "Node",
            ast.IntLit(2),
            True,
            (ast.FieldDecl("cpu", ast.RangeType(ast.IntLit(0), ast.IntLit(8)), ast.IntLit(4)),),
        ),
        ast.Var("round", ast.BoolType(), ast.BoolLit(False)),
        ast.Def(
            "used",
            (ast.DefParam("n", ast.NamedType("Node")), ast.DefParam("extra", ast.IntType())),
            ast.IntType(),
            ast.Name("extra"),
        ),
        ast.Invariant("small", ast.Name("round")),
        ast.Property("later", ast.Temporal("eventually", ast.Name("round"))),
    )


def test_actors_actions_fairness_and_watches() -> None:
    program = parsed(
        """
        model m
        controller rs watches Pod stale watches Node {
          action up when n < 3 { n := n + 1 }
          unfair action down for p in Pod where p.ready { delete p }
          strong action both for p in Pod, q in Node {}
        }
        process kubelet { action start for p in Pod { p.phase := Running } }
        fault crash budget 2 { action crash for p in Pod { delete p } }
        """
    )
    rs, kubelet, crash = program.decls
    assert isinstance(rs, ast.Controller)
    assert rs.watches == (ast.Watch("Pod", True), ast.Watch("Node", False))
    up, down, both = rs.actions
    assert (up.name, up.fairness, up.binders, up.where) == ("up", None, (), None)
    assert up.when == ast.Binary("<", ast.Name("n"), ast.IntLit(3))
    assert down.fairness == "unfair"
    assert down.binders == (binder("p", ast.Name("Pod")),)
    assert down.where == ast.Field(ast.Name("p"), "ready")
    assert down.body.stmts == (ast.Delete(ast.Name("p")),)
    assert both.fairness == "strong"
    assert [bd.name for bd in both.binders] == ["p", "q"]
    assert isinstance(kubelet, ast.Process)
    assert [act.name for act in kubelet.actions] == ["start"]
    assert isinstance(crash, ast.Fault)
    assert crash.budget == ast.IntLit(2)


def test_scheduler_with_filter_score_and_weight() -> None:
    (sched,) = parsed(
        """
        model m
        scheduler default binds Pod.node {
          filter ready(p, n) = n.ready
          score least(p, n) = n.cpu - p.cpu weight 2
          score any_node(p, n) = 0
          action refresh {}
        }
        """
    ).decls
    assert isinstance(sched, ast.Scheduler)
    assert (sched.name, sched.pod_kind, sched.node_field) == ("default", "Pod", "node")
    assert sched.filters == (ast.Filter("ready", "p", "n", ast.Field(ast.Name("n"), "ready")),)
    least, any_node = sched.scores
    assert least.weight == ast.IntLit(2)
    assert least.expr == ast.Binary(
        "-", ast.Field(ast.Name("n"), "cpu"), ast.Field(ast.Name("p"), "cpu")
    )
    assert any_node.weight is None
    assert [act.name for act in sched.actions] == ["refresh"]


# ---- statements -----------------------------------------------------------------------------


def test_every_statement() -> None:
    assert stmts(
        """
        x := any 0..3
        p.node.ready := true
        let n = create Node { zone: A, cpu: 2 }
        let k = count(Pod)
        create Pod {}
        delete p
        choose p in Pod where p.ready { delete p }
        for q in Pod, z in Zone where q.zone == z { q.ok := true }
        """
    ) == (
        ast.AssignAny(ast.LValue(("x",)), ast.RangeDomain(ast.IntLit(0), ast.IntLit(3))),
        ast.Assign(ast.LValue(("p", "node", "ready")), ast.BoolLit(True)),
        ast.Let(
            "n",
            ast.Create(
                "Node", (ast.FieldInit("zone", ast.Name("A")), ast.FieldInit("cpu", ast.IntLit(2)))
            ),
        ),
        ast.Let("k", ast.CountAll(ast.Name("Pod"))),
        ast.CreateStmt(ast.Create("Pod", ())),
        ast.Delete(ast.Name("p")),
        ast.Choose(
            (binder("p", ast.Name("Pod")),),
            ast.Field(ast.Name("p"), "ready"),
            ast.Block((ast.Delete(ast.Name("p")),)),
        ),
        ast.For(
            (binder("q", ast.Name("Pod")), binder("z", ast.Name("Zone"))),
            ast.Binary("==", ast.Field(ast.Name("q"), "zone"), ast.Name("z")),
            ast.Block((ast.Assign(ast.LValue(("q", "ok")), ast.BoolLit(True)),)),
        ),
    )


def test_else_if_chains_nest_in_the_else_branch() -> None:
    (s,) = stmts("if a { x := 1 } else if b { x := 2 } else { x := 3 }")
    assign = [ast.Assign(ast.LValue(("x",)), ast.IntLit(i)) for i in (1, 2, 3)]
    assert s == ast.If(
        a,
        ast.Block((assign[0],)),
        ast.If(b, ast.Block((assign[1],)), ast.Block((assign[2],))),
    )
    (plain,) = stmts("if a {}")
    assert plain == ast.If(a, ast.Block(()), None)


def test_statements_need_no_separator() -> None:
    assert len(stmts("x := 1 y := 2 delete p let z = 3")) == 4


# ---- expressions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("a or b and c", ast.Binary("or", a, ast.Binary("and", b, c))),
        ("not a == b", ast.Unary("not", ast.Binary("==", a, b))),
        ("a implies b implies c", ast.Binary("implies", a, ast.Binary("implies", b, c))),
        ("a - b - c", ast.Binary("-", ast.Binary("-", a, b), c)),
        ("a + b * c", ast.Binary("+", a, ast.Binary("*", b, c))),
        ("-a * b", ast.Binary("*", ast.Unary("-", a), b)),
        ("a | b & c", ast.Binary("&", ast.Binary("|", a, b), c)),
        ("a + b in c", ast.Binary("in", ast.Binary("+", a, b), c)),
        ("a.b.c", ast.Field(ast.Field(a, "b"), "c")),
        ("-1", ast.Unary("-", ast.IntLit(1))),
        ("a leads_to b or c", ast.LeadsTo(a, ast.Binary("or", b, c))),
        ("eventually always x", ast.Temporal("eventually", ast.Temporal("always", x))),
        ("always eventually x", ast.Temporal("always", ast.Temporal("eventually", x))),
        ("if a then b else c + 1", ast.IfExpr(a, b, ast.Binary("+", c, ast.IntLit(1)))),
        ("true and false or none", ast.Binary("or", ast.Binary("and", ast.BoolLit(True), ast.BoolLit(False)), ast.NoneLit())),
    ],
)  # fmt: skip
def test_precedence_and_associativity(text: str, tree: ast.Expr) -> None:
    assert expr(text) == tree


def test_forall_takes_leads_to_inside_its_body() -> None:
    assert expr("forall p in Pod: a leads_to b") == ast.Quant(
        "forall", (binder("p", ast.Name("Pod")),), None, ast.LeadsTo(a, b)
    )


def test_quantifiers_and_aggregates() -> None:
    assert expr("exists z in Zone, i in 0..3 where z == a: b") == ast.Quant(
        "exists",
        (binder("z", ast.Name("Zone")), ast.Binder("i", ast.RangeDomain(ast.IntLit(0), ast.IntLit(3)))),
        ast.Binary("==", ast.Name("z"), a),
        b,
    )  # fmt: skip
    assert expr("count p in Pod where a") == ast.Count((binder("p", ast.Name("Pod")),), a)
    assert expr("count(Pod)") == ast.CountAll(ast.Name("Pod"))
    assert expr("sum p.cpu for p in Pod where a") == ast.Aggregate(
        "sum", ast.Field(ast.Name("p"), "cpu"), (binder("p", ast.Name("Pod")),), a
    )
    # `max e for ...` aggregates; `max(a, b)` is the two-argument builtin.
    assert expr("max a + 1 for z in Zone") == ast.Aggregate(
        "max", ast.Binary("+", a, ast.IntLit(1)), (binder("z", ast.Name("Zone")),), None
    )
    assert expr("min(a, b)") == ast.Call("min", (a, b))
    assert expr("min (a) for i in 0..3") == ast.Aggregate(
        "min", a, (ast.Binder("i", ast.RangeDomain(ast.IntLit(0), ast.IntLit(3))),), None
    )
    assert expr("ceil(a, 2) + size(s) + abs(b) + f()") == ast.Binary(
        "+",
        ast.Binary(
            "+",
            ast.Binary("+", ast.Call("ceil", (a, ast.IntLit(2))), ast.Call("size", (ast.Name("s"),))),
            ast.Call("abs", (b,)),
        ),
        ast.Call("f", ()),
    )  # fmt: skip


def test_set_builder_set_literal_and_index() -> None:
    assert expr("{A, B, 3, none}") == ast.SetLit(
        (ast.Name("A"), ast.Name("B"), ast.IntLit(3), ast.NoneLit())
    )
    assert expr("{}") == ast.SetLit(())
    # elements are expressions at the level of `+` (issue 19 point 6)
    assert expr("{p.node, n + 1}") == ast.SetLit(
        (ast.Field(ast.Name("p"), "node"), ast.Binary("+", ast.Name("n"), ast.IntLit(1)))
    )
    assert expr("{p in Pod where p.ready}") == ast.SetBuilder(
        binder("p", ast.Name("Pod")), ast.Field(ast.Name("p"), "ready")
    )
    assert expr("{p in Pod}") == ast.SetBuilder(binder("p", ast.Name("Pod")), None)
    assert expr("Node[0].ready") == ast.Field(ast.Index("Node", ast.IntLit(0)), "ready")  # fmt: skip


def test_parentheses_leave_no_trace() -> None:
    assert expr("((a))") == a
    assert expr("(a or b) and c") == ast.Binary("and", ast.Binary("or", a, b), c)


def test_comments_of_both_forms_are_ignored() -> None:
    with_comments = parsed(
        "// header\nmodel m /* the\nname */\nconst A = 1 // trailing\n/* x */ const B = /* y */ 2\n"
    )
    assert with_comments == parsed("model m const A = 1 const B = 2")


# ---- spans ----------------------------------------------------------------------------------


def test_spans_give_line_and_column() -> None:
    program = parsed("model m\n\nconst A = 1\nvar total: 0..9 = A +  2\n")
    assert program.name_span == ast.Span(1, 7, 1, 8)
    const, var = program.decls
    assert isinstance(const, ast.Const) and isinstance(var, ast.Var)
    assert const.span == ast.Span(3, 1, 3, 12)
    assert const.name_span == ast.Span(3, 7, 3, 8)
    assert var.name_span == ast.Span(4, 5, 4, 10)
    plus = var.init
    assert isinstance(plus, ast.Binary)
    assert plus.span == ast.Span(4, 19, 4, 25)
    assert plus.op_span == ast.Span(4, 21, 4, 22)
    assert plus.right.span == ast.Span(4, 24, 4, 25)


def test_spans_inside_actions() -> None:
    (proc,) = parsed(
        "model m\nprocess k {\n  action go for p in Pod {\n    p.x := 1\n  }\n}\n"
    ).decls
    assert isinstance(proc, ast.Process)
    (go,) = proc.actions
    assert go.name_span == ast.Span(3, 10, 3, 12)
    assert go.binders[0].name_span == ast.Span(3, 17, 3, 18)
    (assign,) = go.body.stmts
    assert isinstance(assign, ast.Assign)
    assert assign.span.line == 4 and assign.span.col == 5
    assert assign.target.part_spans == (ast.Span(4, 5, 4, 6), ast.Span(4, 7, 4, 8))


# ---- invalid corpus -------------------------------------------------------------------------

BINDING_HINT = (
    "an expression that starts with `{}` takes everything to its right; wrap it in parentheses"
)


@pytest.mark.parametrize(
    ("text", "code", "line", "col", "hint"),
    [
        ('model m\nconst x = "a"\n', "KC0102", 2, 11, STRING_HINT),
        ("model m\nconst x = 'a'\n", "KC0101", 2, 11, STRING_HINT),
        ('model m\ndocker { pod P { image: "x } }\n', "KC0101", 2, 25,
         'this string has no closing `"` (a string stays on one line)'),
        ("model m\nconst x = 1 # c\n", "KC0101", 2, 13, "comments start with `//`"),
        ("model m\nconst x = a @ b\n", "KC0101", 2, 13, None),
        ("model m\nvar x: bool = false\ninit { x = true }\n", "KC0102", 3, 10,
         "assignment is written `:=`; `=` only appears in declarations"),
        ("model m\nconst x := 1\n", "KC0102", 2, 9, "declarations use `=`; `:=` assigns inside an action"),
        ("model m\nconst x = a and count p in K\n", "KC0102", 2, 23, BINDING_HINT.format("count")),
        ("model m\nconst x = a and forall p in K: b\n", "KC0102", 2, 24, BINDING_HINT.format("forall")),
        ("model m\nconst x = not forall p in K: a\n", "KC0102", 2, 22, BINDING_HINT.format("forall")),
        ("model m\nconst x = 1 + sum 1 for p in K\n", "KC0102", 2, 19, BINDING_HINT.format("sum")),
        ("model m\nconst count = 1\n", "KC0102", 2, 7, "rename it, e.g. `count_`"),
        ("model m\nkind K[1] { a: bool = x, in: bool }\n", "KC0102", 2, 26, "rename it, e.g. `in_`"),
        ("model m\nconst x = p.where\n", "KC0102", 2, 13, "rename it, e.g. `where_`"),
        ("model m\nprocess p {\n  action a {\n    x := 1\n\nconst y = 2\n", "KC0102", 6, 1,
         "a `}` is missing before this declaration"),
        ("model m\nconst x = a == b == c\n", "KC0102", 2, 18, None),
        ("model m\nenum E { A B }\n", "KC0102", 2, 12, None),
        ("model m\nconst x = {a == 1}\n", "KC0102", 2, 14, None),  # elements stop below `==`
        ("const x = 1\n", "KC0102", 1, 1, None),
        # A `count` without `where` reads a following comma as the start of another binder.
        ("model m\nconst x = f(count p in K, 1)\n", "KC0102", 2, 27, None),
        ("model m\nprocess p {\n  action a {\n    x := 1\n  }\n", "KC0103", 6, 1,
         "a `}` is missing at the end of the file"),
        ("model m\nconst x = 1 +  // c\n", "KC0103", 3, 1, None),
        ("model m\nconst x = (1", "KC0103", 2, 13, None),
        ("", "KC0103", 1, 1, None),
    ],
)  # fmt: skip
def test_syntax_errors_have_code_position_and_hint(
    text: str, code: str, line: int, col: int, hint: str | None
) -> None:
    assert syntax_error(text) == (code, line, col, hint)


def test_unexpected_token_message_lists_what_was_expected() -> None:
    with pytest.raises(KcheckError) as info:
        parsed("model m\nenum E { A B }\n")
    assert info.value.diagnostics[0].message == "unexpected `B`; expected `,`, `}`"


def test_every_keyword_is_reserved_except_as_the_model_name() -> None:
    assert {"forall", "leads_to", "stale", "weight", "binds", "any"} <= reserved_words()
    for word in sorted(reserved_words()):
        with pytest.raises(KcheckError):
            parsed(f"model m\nkind K[1] {{ {word}: bool }}\n")
    assert parsed("model scheduler\n").name == "scheduler"


def test_deep_nesting_is_a_diagnostic_not_a_crash() -> None:
    deep = "model m\nconst x = " + "(1 + " * 5000 + "1" + ")" * 5000 + "\n"
    with pytest.raises(KcheckError) as info:
        parsed(deep)
    assert info.value.diagnostics[0].message == "expression nested too deeply to parse"
    # Parentheses alone add no depth to the tree.
    assert parsed("model m\nconst x = " + "(" * 5000 + "1" + ")" * 5000).decls == (
        ast.Const("x", ast.IntLit(1)),
    )


def test_huge_integer_literal_is_a_diagnostic() -> None:
    code, line, col, _ = syntax_error("model m\nconst x = " + "9" * 5000 + "\n")
    assert (code, line, col) == ("KC0102", 2, 11)


# ---- reading files --------------------------------------------------------------------------


def test_read_source_reads_utf8(tmp_path: Path) -> None:
    path = tmp_path / "ok.kdsl"
    path.write_text("model m // é\n", encoding="utf-8")
    source = read_source(str(path))
    assert source.text == "model m // é\n"
    assert parse(source).name == "m"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"model m\x00\x01\x02", "NUL bytes"),
        (b"model m // \xff\xfe\n", "not UTF-8"),
    ],
)
def test_binary_and_non_utf8_files_are_kc0104(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "bad.kdsl"
    path.write_bytes(content)
    with pytest.raises(KcheckError) as info:
        read_source(str(path))
    (d,) = info.value.diagnostics
    assert d.code == "KC0104"
    assert words in d.message


def test_unreadable_paths_are_kc0104(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.kdsl", tmp_path):
        with pytest.raises(KcheckError) as info:
            read_source(str(path))
        (d,) = info.value.diagnostics
        assert d.code == "KC0104"
        assert d.message.startswith(f"cannot read {path}")


def test_spec_lists_every_reserved_word() -> None:
    spec = (Path(__file__).resolve().parents[2] / "spec" / "language.md").read_text("utf-8")
    start = spec.index("`action always")
    listed = set(spec[start : spec.index("`", start + 1)].strip("`").split())
    assert listed == reserved_words()
