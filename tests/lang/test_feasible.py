"""`feasible(S, p, n)`: it parses as a call and formats back unchanged, the checker accepts it
wherever a bool may stand and reports each misuse with its code, position and hint, and the
expansion into defs leaves nothing for later passes to learn.
"""

from __future__ import annotations

import pytest

from kcheck.lang import ast
from kcheck.lang.diagnostics import KcheckError, Source, render_all
from kcheck.lang.expand import expand_feasible, feasible_def, filter_def
from kcheck.lang.fmt import format_program
from kcheck.lang.frontend import check_source
from kcheck.lang.parser import parse
from tests.lang.test_checker import found, only

# Lines 2..11 of every model below; a case's own lines start at line 12.
BASE = (
    "kind Node[2] { ready: bool = true  cpu: 0..4 = 4 }",
    "kind Pod[2] { cpu: 1..3 = 1  node: Node? = none }",
    "kind Zone[1] { }",
    "def used(n: Node): int = sum q.cpu for q in Pod where q.node == n",
    "controller ctl { action noop { } }",
    "scheduler default binds Pod.node {",
    "  filter node_ready(p, n) = n.ready",
    "  filter fits(p, n) = used(n) + p.cpu <= n.cpu",
    "  score least(p, n) = n.cpu - used(n)",
    "}",
)


def sched(*lines: str) -> str:
    return "\n".join(["model m", *BASE, *lines]) + "\n"


# ---- parsing and formatting -----------------------------------------------------------------


def test_feasible_parses_as_a_call_naming_the_scheduler_first() -> None:
    program = parse(
        Source("t.kdsl", sched("invariant i: forall p in Pod: feasible(default, p, p.node)"))
    )
    inv = program.decls[-1]
    assert isinstance(inv, ast.Invariant) and isinstance(inv.expr, ast.Quant)
    call = inv.expr.body
    assert call == ast.Call(
        "feasible", (ast.Name("default"), ast.Name("p"), ast.Field(ast.Name("p"), "node"))
    )
    assert (call.span.line, call.span.col) == (12, 31)


def test_feasible_formats_back_unchanged_and_round_trips() -> None:
    text = sched(
        "def schedulable(p: Pod): bool = p.node == none and (exists n in Node: feasible(default, p, n))",
        "invariant i: forall p in Pod: not feasible(default, p, p.node) or p.cpu > 0",
    )
    program = parse(Source("t.kdsl", text))
    out = format_program(program, text)
    assert "(exists n in Node: feasible(default, p, n))" in out
    assert "not feasible(default, p, p.node) or p.cpu > 0" in out
    assert parse(Source("t.kdsl", out)) == program
    assert format_program(parse(Source("t.kdsl", out)), out) == out


# ---- where it may stand ---------------------------------------------------------------------


def test_feasible_is_accepted_in_guards_defs_invariants_properties_and_aggregates() -> None:
    text = sched(
        "def schedulable(p: Pod): bool = p.node == none and (exists n in Node: feasible(default, p, n))",
        "def roomiest(p: Pod): int = max n.cpu - used(n) for n in Node where feasible(default, p, n)",
        "controller evict {",
        "  action a for p in Pod, n in Node where p.node == n when not feasible(default, p, n) {",
        "    p.node := none",
        "  }",
        "  action b for p in Pod where p.node != none and feasible(default, p, p.node) { }",
        "}",
        "invariant i: forall p in Pod where p.node != none: feasible(default, p, p.node) or true",
        "property bound: eventually always not (exists p in Pod: schedulable(p))",
        "property each: forall p in Pod: (exists n in Node: feasible(default, p, n)) leads_to p.node != none",
        "invariant agg: (count p in Pod, n in Node where feasible(default, p, n)) >= 0",
    )
    assert found(text) == []


def test_a_scheduler_without_filters_makes_feasible_true() -> None:
    text = "\n".join(
        [
            "model m",
            "kind Node[1] { }",
            "kind Pod[1] { node: Node? = none }",
            "init { create Node {} create Pod {} }",
            "scheduler anything binds Pod.node { }",
            "invariant all_feasible: forall p in Pod, n in Node: feasible(anything, p, n)",
        ]
    )
    checked = check_source(Source("t.kdsl", text))
    assert checked.warnings == ()
    body = checked.symbols.defs[feasible_def("anything")].body
    assert body == ast.BoolLit(True)


# ---- misuse: one diagnostic each, with its code and position ---------------------------------

CASES = [
    (
        "unknown_scheduler",
        "invariant i: forall p in Pod, n in Node: feasible(defualt, p, n)",
        ("KC0201", 12, 51),
    ),
    (
        "controller_not_scheduler",
        "invariant i: forall p in Pod, n in Node: feasible(ctl, p, n)",
        ("KC0206", 12, 51),
    ),
    (
        "kind_not_scheduler",
        "invariant i: forall p in Pod, n in Node: feasible(Zone, p, n)",
        ("KC0206", 12, 51),
    ),
    (
        "bound_name_not_scheduler",
        "invariant i: forall p in Pod, n in Node: feasible(p, p, n)",
        ("KC0206", 12, 51),
    ),
    (
        "expression_not_scheduler",
        "invariant i: forall p in Pod, n in Node: feasible(1 + 1, p, n)",
        ("KC0206", 12, 51),
    ),
    (
        "two_arguments",
        "invariant i: forall p in Pod, n in Node: feasible(p, n)",
        ("KC0302", 12, 42),
    ),
    (
        "four_arguments",
        "invariant i: forall p in Pod, n in Node: feasible(default, p, n, n)",
        ("KC0302", 12, 42),
    ),
    ("no_arguments", "invariant i: feasible()", ("KC0302", 12, 14)),
    (
        "node_as_pod",
        "invariant i: forall n in Node, m in Node: feasible(default, n, m)",
        ("KC0301", 12, 61),
    ),
    (
        "pod_as_node",
        "invariant i: forall p in Pod, q in Pod: feasible(default, p, q)",
        ("KC0301", 12, 62),
    ),
    (
        "none_as_node",
        "invariant i: forall p in Pod: feasible(default, p, none)",
        ("KC0301", 12, 52),
    ),
    ("int_as_pod", "invariant i: forall n in Node: feasible(default, 1, n)", ("KC0301", 12, 50)),
    ("def_named_feasible", "def feasible(p: Pod): bool = true", ("KC0202", 12, 5)),
    ("in_a_const_context", "var v: bool = feasible(default, Pod, Node)", ("KC0402", 12, 15)),
]


@pytest.mark.parametrize(("name", "line", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_misuse_has_its_code_and_position(
    name: str, line: str, expected: tuple[str, int, int]
) -> None:
    assert found(sched(line)) == [expected]


def test_swapped_arguments_are_two_errors_with_one_hint() -> None:
    text = sched("invariant i: forall p in Pod, n in Node: feasible(default, n, p)")
    assert found(text) == [("KC0301", 12, 60), ("KC0301", 12, 63)]
    with pytest.raises(KcheckError) as err:
        check_source(Source("t.kdsl", text))
    assert render_all(err.value.diagnostics, Source("t.kdsl", text)) == (
        "t.kdsl:12:60: error[KC0301]: argument 2 of `feasible(default, ...)` is the pod and must be Pod, not Node\n"
        "  12 | invariant i: forall p in Pod, n in Node: feasible(default, n, p)\n"
        "     |                                                            ^\n"
        "  = note: scheduler `default` binds `Pod.node`\n"
        "  = help: the pod comes before the node\n"
        "\n"
        "t.kdsl:12:63: error[KC0301]: argument 3 of `feasible(default, ...)` is the node and must be Node, not Pod\n"
        "  12 | invariant i: forall p in Pod, n in Node: feasible(default, n, p)\n"
        "     |                                                               ^\n"
        "  = note: scheduler `default` binds `Pod.node`\n"
        "\n"
        "2 errors in t.kdsl"
    )


def test_unknown_scheduler_renders_with_caret_and_suggestion() -> None:
    text = sched("invariant i: forall p in Pod, n in Node: feasible(defualt, p, n)")
    with pytest.raises(KcheckError) as err:
        check_source(Source("t.kdsl", text))
    assert render_all(err.value.diagnostics, Source("t.kdsl", text)) == (
        "t.kdsl:12:51: error[KC0201]: unknown scheduler `defualt`\n"
        "  12 | invariant i: forall p in Pod, n in Node: feasible(defualt, p, n)\n"
        "     |                                                   ^~~~~~~\n"
        "  = note: `feasible(S, p, n)` takes a scheduler's name, then a pod and a node of the kinds it binds\n"
        "  = help: did you mean `default`?"
        "\n\n1 error in t.kdsl"
    )


def test_two_arguments_suggest_naming_the_only_scheduler() -> None:
    d = only(sched("invariant i: forall p in Pod, n in Node: feasible(p, n)"))
    assert d.message == "`feasible` takes 3 arguments, not 2"
    assert d.help == "name the scheduler first: `feasible(default, ...)`"


def test_a_model_without_a_scheduler_says_so() -> None:
    text = "model m\nkind Node[1] { }\nkind Pod[1] { node: Node? = none }\n" + (
        "invariant i: forall p in Pod, n in Node: feasible(default, p, n)\n"
    )
    d = only(text)
    assert (d.code, d.message, d.help) == (
        "KC0201",
        "unknown scheduler `default`",
        "the model declares no scheduler",
    )


def test_a_filter_asking_its_own_scheduler_is_recursion() -> None:
    text = sched(
        "def ok(p: Pod, n: Node): bool = feasible(default, p, n)",
        "scheduler other binds Pod.node {",
        "  filter loop(p, n) = ok(p, n)",
        "  filter self_ref(p, n) = feasible(other, p, n)",
        "}",
    )
    ds = found(text)
    # `other` asks itself directly; `ok` asks `default`, which is no cycle
    assert ds == [("KC0501", 15, 27)]
    text = sched(
        "def ok(p: Pod, n: Node): bool = feasible(other, p, n)",
        "scheduler other binds Pod.node {",
        "  filter loop(p, n) = ok(p, n)",
        "}",
    )
    d = only(text)
    assert (d.code, d.span.line, d.span.col) == ("KC0501", 14, 23)
    assert d.message == (
        "feasibility is defined in terms of itself: `feasible(other, ...)` -> `ok` -> "
        "`feasible(other, ...)`"
    )


def test_a_score_may_ask_its_own_scheduler() -> None:
    # The TaintToleration score normalises over the feasible nodes (scheduler_plugins.kdsl).
    text = sched(
        "scheduler other binds Pod.node {",
        "  filter fits(p, n) = n.ready",
        "  score spare(p, n) = count m in Node where feasible(other, p, m)",
        "}",
    )
    assert found(text) == []


# ---- the expansion --------------------------------------------------------------------------


def test_expansion_turns_each_call_into_a_def_of_the_filters() -> None:
    text = sched("invariant i: forall p in Pod, n in Node: feasible(default, p, n)")
    program = parse(Source("t.kdsl", text))
    out = expand_feasible(program)
    inv = out.decls[len(program.decls) - 1]
    assert isinstance(inv, ast.Invariant) and isinstance(inv.expr, ast.Quant)
    assert inv.expr.body == ast.Call(feasible_def("default"), (ast.Name("p"), ast.Name("n")))
    defs = {d.name: d for d in out.decls[len(program.decls) :] if isinstance(d, ast.Def)}
    assert list(defs) == [
        filter_def("default", "node_ready"),
        filter_def("default", "fits"),
        feasible_def("default"),
    ]
    [written] = parse(Source("t.kdsl", "model m\ninvariant x: used(n) + p.cpu <= n.cpu")).decls
    assert isinstance(written, ast.Invariant)
    assert defs[filter_def("default", "fits")].body == written.expr
    # untouched declarations are shared, not copied
    assert all(a is b for a, b in zip(program.decls[:-1], out.decls, strict=False))


def test_a_program_without_feasible_is_returned_as_is() -> None:
    program = parse(Source("t.kdsl", sched("invariant i: true")))
    assert expand_feasible(program) is program


def test_checked_symbols_hold_no_feasible_call() -> None:
    text = sched(
        "def schedulable(p: Pod): bool = p.node == none and (exists n in Node: feasible(default, p, n))",
        "invariant i: forall p in Pod: schedulable(p) or not schedulable(p)",
    )
    checked = check_source(Source("t.kdsl", text))
    assert not any(
        isinstance(n, ast.Call) and n.func == "feasible"
        for n in ast.walk_nodes(checked.symbols.program)
    )
    # what the user wrote is kept for reports and formatting
    assert any(
        isinstance(n, ast.Call) and n.func == "feasible" for n in ast.walk_nodes(checked.program)
    )
