"""The type checker: one small model per rule with the exact codes and positions it must report,
whole well-typed models that must pass, golden renderings of invalid models, and a fuzz test that
no parsed program makes the checker raise.

Regenerate the golden files with `KCHECK_UPDATE_GOLDEN=1 pytest tests/lang/test_checker.py`.
"""

from __future__ import annotations

import inspect
import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark
from lark import Lark

from kcheck.lang.check import check_program
from kcheck.lang.diagnostics import Diagnostic, KcheckError, Source, render_all
from kcheck.lang.frontend import check_source
from kcheck.lang.imports import expand_imports, shadows_the_model
from kcheck.lang.parser import grammar_text, parse
from kcheck.lang.symbols import build_symbols

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "diagnostics"


def model(*lines: str) -> str:
    """A model whose line 1 is the header, so `lines[i]` is on line i + 2."""
    return "\n".join(["model m", *lines]) + "\n"


def diagnostics(text: str) -> list[Diagnostic]:
    # imports expanded first, as the front end does (models/ import the standard library)
    program, import_errors = expand_imports(parse(Source("t.kdsl", text)), "t.kdsl")
    symbols, diags = build_symbols(program)
    return [d for d in import_errors + diags + check_program(symbols) if not shadows_the_model(d)]


def found(text: str) -> list[tuple[str, int, int]]:
    return sorted((d.code, d.span.line, d.span.col) for d in diagnostics(text))


def only(text: str) -> Diagnostic:
    ds = diagnostics(text)
    assert len(ds) == 1, ds
    return ds[0]


POD = (
    "enum Phase { Pending, Running, Failed }",
    "kind Node[2] { ready: bool = true }",
    "kind Pod[3] { phase: Phase = Pending  node: Node? = none }",
    "var x: 0..3 = 0",
    "const MAX = 3",
    "param replicas: 0..4 = 2",
)
# Lines 2..7 hold POD; a case's own lines start at line 8.


def pod(*lines: str) -> str:
    return model(*POD, *lines)


# (name, source, expected (code, line, col) in sorted order)
CASES: list[tuple[str, str, list[tuple[str, int, int]]]] = [
    # ---- scoping
    ("unknown_name", pod("invariant i: y >= 0"), [("KC0201", 8, 14)]),
    ("kind_as_value", pod("invariant i: Pod >= 0"), [("KC0206", 8, 14)]),
    ("enum_as_value", pod("invariant i: Phase == Pending"), [("KC0206", 8, 14)]),
    ("def_as_value", pod("def f(): int = 1", "invariant i: f > 0"), [("KC0206", 9, 14)]),
    ("index_unordered_kind", pod("invariant i: Node[0].ready"), [("KC0206", 8, 14)]),
    (
        "index_ordered_kind_ok_and_out_of_slots",
        model("kind N[2] ordered { up: bool = true }", "invariant i: N[0].up and N[2].up"),
        [("KC0401", 3, 28)],
    ),
    ("index_unknown_kind", pod("invariant i: Nod[0] == none"), [("KC0204", 8, 14)]),
    ("domain_not_a_domain", pod("invariant i: forall q in x: true"), [("KC0301", 8, 26)]),
    ("domain_enum_and_set", pod("invariant i: forall z in Phase, w in {Running}: z != w"), []),
    (
        "later_binder_sees_earlier",
        pod("invariant i: forall p in Pod, q in {r in Pod where r == p}: q.phase == p.phase"),
        [],
    ),
    ("binder_shadows_top_level", pod("invariant i: forall x in Pod: true"), [("KC0207", 8, 21)]),
    (
        "binder_shadows_enclosing_local",
        pod("invariant i: forall p in Pod: exists p in Node: p.ready"),
        [("KC0207", 8, 38)],
    ),
    (
        "let_shadows_local_and_scope_ends_at_block",
        pod(
            "process k { action a for p in Pod {",
            "  if true { let y = 1  let p = 2 }",
            "  x := y",
            "} }",
        ),
        [("KC0201", 10, 8), ("KC0207", 9, 28)],
    ),
    ("unknown_field", pod("invariant i: forall p in Pod: p.phse == Pending"), [("KC0203", 8, 33)]),
    ("unknown_function", pod("invariant i: liv() > 0"), [("KC0205", 8, 14)]),
    ("def_param_shadows_const", pod("def f(MAX: int): int = MAX"), [("KC0207", 8, 7)]),
    # ---- expressions
    ("field_of_non_object", pod("invariant i: x.phase == Pending"), [("KC0305", 8, 14)]),
    ("builtin_arity", pod("invariant i: abs(1, 2) > 0"), [("KC0302", 8, 14)]),
    ("size_of_non_set", pod("invariant i: size(x) > 0"), [("KC0301", 8, 19)]),
    (
        "def_arity_and_argument_type",
        pod("def used(n: Node): int = 0", "invariant i: used() + used(x) >= 0"),
        [("KC0301", 9, 28), ("KC0302", 9, 14)],
    ),
    ("direct_recursion", pod("def f(n: int): int = f(n - 1)"), [("KC0501", 8, 22)]),
    (
        "indirect_recursion_reported_once",
        pod("def f(): int = g()", "def g(): int = h()", "def h(): int = f()"),
        [("KC0501", 8, 16)],
    ),
    ("not_on_int", pod("invariant i: not x"), [("KC0301", 8, 18)]),
    ("arith_on_bool", pod("invariant i: x + true > 0"), [("KC0301", 8, 18)]),
    ("comparison_incomparable", pod("invariant i: x == Pending"), [("KC0301", 8, 14)]),
    ("in_needs_a_set", pod("invariant i: x in x"), [("KC0301", 8, 19)]),
    ("in_wrong_element", pod("invariant i: forall p in Pod: p in {Running}"), [("KC0301", 8, 31)]),
    (
        "set_ops",
        pod(
            "var s: set<Phase> = {}",
            "invariant ok: size((s | {Failed}) - {}) >= 0 and Running in s & {Running}",
            "invariant bad: size(s | {p in Pod where true}) >= 0",
        ),
        [("KC0301", 10, 21)],
    ),
    ("set_of_ints", pod("var s: set<Phase> = {1, 2}"), [("KC0301", 8, 22)]),
    (
        "set_of_mixed",
        pod("invariant i: forall p in Pod: size({p, Running}) > 0"),
        [("KC0301", 8, 40)],
    ),
    (
        "if_branches",
        pod(
            "var n: Node? = none",
            "process k { action a for q in Node { n := if q.ready then q else none } }",
            "invariant i: (if x > 0 then 1 else Pending) == 1",
        ),
        [("KC0301", 10, 15)],
    ),
    ("temporal_in_invariant", pod("invariant i: always x > 0"), [("KC0303", 8, 14)]),
    (
        "temporal_in_guard",
        pod("process k { action a when eventually x > 0 { x := 0 } }"),
        [("KC0303", 8, 27)],
    ),
    ("temporal_in_def", pod("def f(): bool = always true"), [("KC0303", 8, 17)]),
    (
        "accepted_property_shapes",
        pod(
            "property a: eventually always x == 0",
            "property b: always eventually x == 0",
            "property c: x == 1 leads_to x == 0",
            "property d: always x <= 3",
            "property e: forall p in Pod where p.node != none: forall n in Node: always p.node == n",
        ),
        [],
    ),
    ("property_without_temporal", pod("property p: x == 0"), [("KC0303", 8, 10)]),
    ("property_eventually_alone", pod("property p: eventually x == 0"), [("KC0303", 8, 13)]),
    (
        "property_nested_temporal",
        pod("property p: always (x > 1 and (eventually x == 0))"),
        [("KC0303", 8, 32)],
    ),
    ("invariant_not_bool", pod("invariant i: x + 1"), [("KC0301", 8, 14)]),
    # ---- statements
    (
        "assign_to_non_variables",
        pod(
            "process k { action a for p in Pod {",
            "  MAX := 1  replicas := 1  Pending := Running  p := p  z := 1",
            "} }",
        ),
        [
            ("KC0201", 9, 56),
            ("KC0304", 9, 3),
            ("KC0304", 9, 13),
            ("KC0304", 9, 28),
            ("KC0304", 9, 48),
        ],
    ),
    (
        "assign_type_and_range",
        pod(
            "process k { action a for p in Pod { x := true  x := 7  p.phase := 1  p.node := none } }"
        ),
        [("KC0301", 8, 42), ("KC0301", 8, 67), ("KC0401", 8, 53)],
    ),
    (
        "assign_field_of_non_object_var",
        pod("process k { action a { x.phase := Pending } }"),
        [("KC0305", 8, 24)],
    ),
    (
        "assign_any",
        pod("init { x := any Phase  x := any 0..5  x := any 0..3 }"),
        [("KC0301", 8, 17), ("KC0401", 8, 36)],
    ),
    (
        "create_errors",
        pod(
            "kind Svc[1] { target: Pod  port: 0..9 = 0 }",
            "init {",
            "  create Pdo { phase: Running }",
            "  create Pod { phase: Running, phase: Failed, nod: none }",
            "  create Svc { port: true }",
            "  let p = create Pod { }",
            "  create Svc { target: p, port: 12 }",
            "}",
        ),
        [
            ("KC0202", 11, 32),
            ("KC0203", 11, 47),
            ("KC0204", 10, 10),
            ("KC0301", 12, 10),
            ("KC0301", 12, 22),
            ("KC0401", 14, 33),
        ],
    ),
    ("delete_non_object", pod("process k { action a { delete x } }"), [("KC0301", 8, 31)]),
    (
        "nondeterminism_in_for_body",
        pod(
            "process k { action a for p in Pod {",
            "  for q in Pod { choose n in Node { q.node := n }  x := any 0..3 }",
            "  choose n in Node { for q in Pod { q.node := n } }",
            "} }",
        ),
        [("KC0504", 9, 18), ("KC0504", 9, 52)],
    ),
    ("if_condition_int", pod("process k { action a { if x { x := 0 } } }"), [("KC0301", 8, 27)]),
    # ---- declarations
    (
        "initialisers_read_state",
        pod(
            "var y: 0..3 = x",
            "var z: 0..9 = MAX + replicas",
            "kind Q[1] { n: 0..3 = count(Pod)  m: 0..3 = 7  k: Phase = 1 }",
        ),
        [("KC0301", 10, 59), ("KC0401", 10, 45), ("KC0402", 8, 15), ("KC0402", 10, 23)],
    ),
    (
        "def_result_and_param_types",
        pod("def f(n: Nod): bool = 1", "def g(p: Pod): Node? = p.node"),
        [("KC0204", 8, 10), ("KC0301", 8, 23)],
    ),
    (
        "actions_unique_and_faults_unfair",
        pod(
            "controller c watches Pdo { action a { x := 0 } action a { x := 1 } }",
            "fault f budget 1 { strong action b { x := 0 } unfair action c { x := 1 } }",
        ),
        [("KC0202", 8, 55), ("KC0204", 8, 22), ("KC0502", 9, 20), ("KC0502", 9, 47)],
    ),
    (
        "fault_budget",
        pod(
            "fault f budget replicas { action a { x := 0 } }",
            "fault g budget 0 - 1 { action b { x := 1 } }",
        ),
        [("KC0401", 9, 16), ("KC0402", 8, 16)],
    ),
    (
        "scheduler_errors",
        pod(
            "scheduler s binds Pod.phase {",
            "  filter f(p, n) = 1",
            "  score f(p, n) = true weight x",
            "}",
            "scheduler t binds Pod.node {",
            "  filter ok(p, n) = n.ready and p.node != n",
            "  score one(p, n) = 1 weight MAX - 1",
            "  filter bad(p, n) = p.ready",
            "}",
            "scheduler u binds Pdo.node { }",
        ),
        [
            ("KC0202", 10, 9),
            ("KC0203", 15, 24),
            ("KC0204", 17, 19),
            ("KC0301", 8, 23),
            ("KC0301", 9, 20),
            ("KC0301", 10, 19),
            ("KC0402", 10, 31),
        ],
    ),
]


@pytest.mark.parametrize(("text", "expected"), [pytest.param(t, e, id=n) for n, t, e in CASES])
def test_rule_reports_exact_codes_and_positions(
    text: str, expected: list[tuple[str, int, int]]
) -> None:
    assert found(text) == expected


def test_unknown_name_suggests_a_name_in_scope() -> None:
    d = only(pod("invariant i: forall pod in Pod: pod.phase == Runing"))
    assert (d.code, d.help) == ("KC0201", "did you mean `Running`?")


def test_kind_as_value_suggests_count() -> None:
    assert only(pod("invariant i: Pod > 0")).help == "did you mean `count(Pod)`?"


def test_index_of_unordered_kind_suggests_ordered() -> None:
    assert only(pod("invariant i: Node[0].ready")).help == "mark the kind `ordered`"


def test_unknown_field_suggests_a_field_of_that_kind() -> None:
    d = only(pod("invariant i: forall n in Node: n.redy"))
    assert (d.code, d.message, d.help) == (
        "KC0203",
        "kind `Node` has no field `redy`",
        "did you mean `ready`?",
    )


def test_messages_name_types_in_user_terms() -> None:
    d = only(pod("process k { action a for p in Pod { p.phase := p } }"))
    assert d.message == "cannot store Pod in `p.phase` of type Phase"


def test_property_without_temporal_suggests_invariant() -> None:
    assert only(pod("property p: x == 0")).help == "use `invariant` for a state predicate"


def test_nondeterminism_in_for_explains_the_fix() -> None:
    d = only(pod("process k { action a { for p in Pod { x := any 0..1 } } }"))
    assert d.help == "move the choice into the action's `for` header or a `choose` around the loop"


def test_missing_reference_field_is_named() -> None:
    d = only(pod("kind Svc[1] { target: Pod }", "init { create Svc { } }"))
    assert d.code == "KC0301" and "`target: ...`" in (d.help or "")


def test_several_independent_errors_are_all_reported() -> None:
    text = pod(
        "invariant a: y > 0",
        "invariant b: x and true",
        "def f(): int = f()",
        "process k { action a { MAX := 1  for p in Pod { x := any 0..1 } } }",
        "property conv: eventually x == 0",
    )
    assert found(text) == [
        ("KC0201", 8, 14),
        ("KC0301", 9, 14),
        ("KC0303", 12, 16),
        ("KC0304", 11, 24),
        ("KC0501", 10, 16),
        ("KC0504", 11, 49),
    ]


def test_one_mistake_gives_one_diagnostic() -> None:
    # The unknown `y` makes every enclosing expression an error; none of them is reported again.
    text = pod("invariant i: forall p in Pod where y.phase == Running: (y + 1) * 2 > count(y)")
    assert found(text) == [("KC0201", 8, 36), ("KC0201", 8, 57), ("KC0201", 8, 76)]


def test_broken_declarations_are_not_reported_again() -> None:
    text = pod(
        "var bad: Nothing = none",
        "kind K[-1] { f: bool = true }",
        "process k { action a for q in K { bad := none  q.f := false } }",
    )
    assert [c for c, _, _ in found(text)] == ["KC0204", "KC0403"]


def test_deep_chains_that_parse_are_checked() -> None:
    chain = " and ".join(["x >= 0"] * 300)
    nested = "abs(" * 400 + "x" + ")" * 400
    assert diagnostics(pod(f"invariant i: {chain}", f"invariant j: {nested} >= 0")) == []


def test_too_deep_for_the_stack_is_a_diagnostic_not_a_crash() -> None:
    program = parse(Source("t.kdsl", pod("invariant i: " + "not " * 300 + "true")))
    symbols, _ = build_symbols(program)
    depth = len(inspect.stack())
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 200)
    try:
        ds = check_program(symbols)
    finally:
        sys.setrecursionlimit(old)
    assert [(d.code, d.span.line, d.span.col) for d in ds] == [("KC0505", 8, 11)]


REPLICASET = """\
model replicaset

const MAX_PODS = 5
param replicas: 0..4 = 3
param crash_loops: bool = false

enum Phase { Pending, Running, Failed }

kind Node[2] ordered {
  ready: bool = true
}

kind Pod[MAX_PODS] {
  phase: Phase = Pending
  node: Node? = none
  restarts: 0..3 = 0
}

var generation: 0..10 = 0
var healthy: set<Phase> = {Running}

def live(): int = count p in Pod where p.phase != Failed
def running_on(n: Node): int = count p in Pod where p.node == n and p.phase in healthy
def clamp(x: int, hi: 0..10): int = if x > hi then hi else max(x, 0)

init {
  generation := any 0..2
  let n0 = Node[0]
  for n in Node { n.ready := true }
  choose n in Node where n.ready {
    create Pod { phase: Pending, node: n }
  }
}

controller replicaset watches Pod stale {
  action scale_up when live() < replicas {
    create Pod { phase: Pending }
    generation := clamp(generation + 1, 10)
  }
  action scale_down when live() > replicas {
    choose p in Pod where p.phase != Failed {
      delete p
    }
  }
  strong action gc for p in Pod where p.phase == Failed {
    delete p
  }
}

process kubelet {
  action start for p in Pod where p.phase == Pending and p.node != none {
    if p.node.ready {
      p.phase := Running
    } else if crash_loops {
      p.phase := Failed
    } else {
      p.restarts := min(p.restarts + 1, 3)
    }
  }
  unfair action evict_all when exists n in Node: not n.ready {
    for p in Pod where p.node != none and not p.node.ready {
      p.phase := Failed
      p.node := none
    }
  }
}

fault pod_crash budget 2 {
  action crash for p in Pod where p.phase == Running {
    p.phase := Failed
  }
  action node_down for n in Node where n.ready {
    n.ready := false
  }
}

invariant bounded: count(Pod) <= replicas + 2
invariant placed: forall p in Pod where p.phase == Running: p.node != none
invariant sizes: size({p in Pod where p.phase in {Pending, Running}}) <= MAX_PODS
property converges: eventually always (count p in Pod where p.phase == Running) == replicas
property starts: forall p in Pod: p.phase == Pending leads_to p.phase != Pending
property recurrent: always eventually live() == replicas
property safe: always (sum p.restarts for p in Pod where p.phase != Failed) <= 3 * MAX_PODS
"""

SCHEDULER = """\
model scheduling

const NODES = 3
const PODS = 4

enum Zone { A, B }

kind Node[NODES] {
  cpu: 0..8 = 4
  zone: Zone = A
  ready: bool = true
}

kind Pod[PODS] {
  cpu: 1..4 = 1
  node: Node? = none
  zones: set<Zone> = {A, B}
}

def used(n: Node): int = sum p.cpu for p in Pod where p.node == n
def free(n: Node): int = n.cpu - used(n)

init {
  choose n in Node { n.zone := any Zone }
  let first = create Node { cpu: 8, zone: B }
}

scheduler default binds Pod.node {
  filter ready(p, n) = n.ready
  filter fits(p, n) = used(n) + p.cpu <= n.cpu
  filter zoned(p, n) = n.zone in p.zones
  score least_allocated(p, n) = free(n) - p.cpu weight 2
  score spread(p, n) = NODES - (count q in Pod where q.node == n) weight NODES - 1
  action unbind for p in Pod where p.node != none and not p.node.ready {
    p.node := none
  }
}

process workload {
  action submit when count(Pod) < PODS {
    create Pod { cpu: 2, zones: {A} }
  }
  action finish for p in Pod where p.node != none {
    delete p
  }
}

fault node_failure budget 1 {
  action fail for n in Node where n.ready { n.ready := false }
}

invariant no_overcommit: forall n in Node: used(n) <= n.cpu
invariant zone_ok: forall p in Pod where p.node != none: p.node.zone in p.zones
property placed: forall p in Pod where p.cpu <= 2: p.node == none leads_to p.node != none
"""


@pytest.mark.parametrize("text", [REPLICASET, SCHEDULER], ids=["replicaset", "scheduler"])
def test_well_typed_models_are_accepted(text: str) -> None:
    assert diagnostics(text) == []


def test_models_in_the_repository_are_accepted() -> None:
    models = sorted((Path(__file__).resolve().parents[2] / "models").glob("*.kdsl"))
    for path in models:
        # the whole front end: lowered constructs (records, actor locals, time) are the language
        checked = check_source(Source(path.name, path.read_text(encoding="utf-8")))
        assert [d for d in checked.warnings if d.severity == "error"] == [], path.name


def _golden_render(path: Path) -> str:
    source = Source(path.name, path.read_text(encoding="utf-8"))
    try:
        check_source(source)
    except KcheckError as err:
        return render_all(err.diagnostics, source) + "\n"
    return "no errors\n"


@pytest.mark.parametrize(
    "path", sorted(GOLDEN.glob("*.kdsl")), ids=lambda p: p.stem if isinstance(p, Path) else None
)
def test_golden_diagnostics(path: Path) -> None:
    expected = path.with_suffix(".expected")
    actual = _golden_render(path)
    if os.environ.get("KCHECK_UPDATE_GOLDEN") == "1":
        expected.write_text(actual, encoding="utf-8")
    assert expected.exists(), f"run with KCHECK_UPDATE_GOLDEN=1 to create {expected.name}"
    assert actual == expected.read_text(encoding="utf-8")


def test_golden_files_exist() -> None:
    assert len(list(GOLDEN.glob("*.kdsl"))) >= 6


_NAMES = st.sampled_from(["a", "p", "n", "x", "Pod", "Node", "Phase", "Running", "f", "s"])


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    from_lark(
        # built here: the parser's own instance may come from Lark's cache, which keeps the
        # tables but not the grammar that hypothesis generates from
        Lark(grammar_text(), parser="lalr"),
        start="start",
        explicit={"NAME": _NAMES, "INT": st.sampled_from(["0", "1", "3"]), "WS": st.just(" ")},
    )
)
def test_checker_never_raises_on_a_parsed_program(text: str) -> None:
    try:
        program = parse(Source("fuzz.kdsl", text))
    except KcheckError:
        return
    program, import_errors = expand_imports(program, "fuzz.kdsl")  # as the front end does
    if import_errors:
        return
    symbols, _ = build_symbols(program)
    for d in check_program(symbols):
        assert d.span.line >= 1
