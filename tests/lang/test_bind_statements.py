"""A scheduler's `on bind(p, n) { ... }`: it parses and formats back, `on` stays free as a name,
the checker reports each misuse with its code, position and hint, and every implementation runs
the statements in the bind step: the explicit search (pinned counts and a trace), `kcheck run`,
the reference interpreter (the same reachable states on random bind bodies) and BMC (the same
shortest violations and bound errors).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from kcheck.explore.bfs import explore
from kcheck.lang import ast
from kcheck.lang.diagnostics import KcheckError, Source, render_all
from kcheck.lang.fmt import format_program
from kcheck.lang.frontend import check_source
from kcheck.lang.parser import parse
from kcheck.model.compile import compile_model
from kcheck.result import HOLDS, VIOLATED
from kcheck.run.interpreter import Interpreter, RunConfig
from kcheck.run.sim import SimDriver
from tests.explore.test_reference_agreement import compiled_reachable
from tests.lang.test_checker import diagnostics, found
from tests.reference import enumerate_reachable
from tests.smt.test_bmc import _agree as bmc_agrees_with_explicit

# Lines 2..6 of every model below; a case's own lines start at line 7.
BASE = (
    "kind Node[2] { free: 0..2 = 1 }",
    "kind Pod[3] { node: Node? = none  late: bool = false }",
    "var placed: 0..3 = 0",
    "var on: bool = false",
    "init { create Node {} create Node {} create Pod {} create Pod {} create Pod {} }",
)


def model(*lines: str) -> str:
    return "\n".join(["model m", *BASE, *lines]) + "\n"


ASSUME = model(
    "scheduler default binds Pod.node {",
    "  filter fits(p, n) = n.free > 0",
    "  on bind(p, n) {",
    "    n.free := n.free - 1",
    "    placed := placed + 1",
    "  }",
    "}",
    "invariant counted: placed == (count q in Pod where q.node != none)",
    "invariant one_per_node: forall n in Node: (count q in Pod where q.node == n) <= 1",
)


# ---- parsing and formatting -----------------------------------------------------------------


def test_on_bind_parses_into_the_schedulers_hooks() -> None:
    sched = parse(Source("t.kdsl", ASSUME)).decls[5]
    assert isinstance(sched, ast.Scheduler)
    (hook,) = sched.hooks
    assert (hook.event, hook.params) == ("bind", ("p", "n"))
    assert len(hook.body.stmts) == 2
    assert (hook.span.line, hook.span.col, hook.event_span.col) == (9, 3, 6)
    assert [s.col for s in hook.param_spans] == [11, 14]


def test_on_stays_a_name_after_expressions_and_blocks() -> None:
    text = model(
        "kind Light[1] { lit: bool = true on: bool }",
        "scheduler default binds Pod.node {",
        "  filter fits(p, n) = n.free > 0",
        "  on bind(p, n) { if on { on := false } on := true }",
        "  action flip { on := not on }",
        "}",
    )
    checked = check_source(Source("t.kdsl", text))
    sched = next(a for a in checked.symbols.actors if isinstance(a, ast.Scheduler))
    assert [type(s).__name__ for s in sched.hooks[0].body.stmts] == ["If", "Assign"]


def test_on_bind_formats_after_the_scores_and_round_trips() -> None:
    text = model(
        "scheduler default binds Pod.node {",
        "  on bind(p, n) { n.free := n.free - 1  // assume",
        "  choose m in Node where m != n { m.free := m.free } }",
        "  filter fits(p, n) = n.free > 0",
        "  action tick { on := true }",
        "  score s(p, n) = n.free",
        "}",
    )
    program = parse(Source("t.kdsl", text))
    out = format_program(program, text)
    assert (
        "scheduler default binds Pod.node {\n"
        "  filter fits(p, n) = n.free > 0\n"
        "  score s(p, n) = n.free\n"
        "  on bind(p, n) {\n"
        "    n.free := n.free - 1  // assume\n"
        "    choose m in Node where m != n {\n"
        "      m.free := m.free\n"
        "    }\n"
        "  }\n"
        "  action tick {\n"
    ) in out
    assert parse(Source("t.kdsl", out)) == program
    assert format_program(parse(Source("t.kdsl", out)), out) == out


def test_an_empty_on_bind_formats_on_one_line() -> None:
    text = model("scheduler default binds Pod.node { on bind(p, n) { } }")
    out = format_program(parse(Source("t.kdsl", text)), text)
    assert "  on bind(p, n) {}\n" in out
    assert parse(Source("t.kdsl", out)) == parse(Source("t.kdsl", text))


# ---- checking -------------------------------------------------------------------------------


def sched(*body: str) -> str:
    return model("scheduler default binds Pod.node {", *body, "}")


def test_a_well_formed_on_bind_checks() -> None:
    assert diagnostics(ASSUME) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # a second `on bind`, at its event name
        (("  on bind(p, n) { }", "  on bind(p, n) { }"), [("KC0202", 9, 6)]),
        # one name, three names
        (("  on bind(p) { }",), [("KC0302", 8, 6)]),
        (("  on bind(p, n, m) { }",), [("KC0302", 8, 6)]),
        # another event
        (("  on bound(p, n) { }",), [("KC0201", 8, 6)]),
        # the names are locals: they may not shadow a global or each other
        (("  on bind(placed, n) { }",), [("KC0207", 8, 11)]),
        (("  on bind(p, p) { }",), [("KC0207", 8, 14)]),
        # an unknown name, a wrong type, in the body
        (("  on bind(p, n) { q.late := true }",), [("KC0201", 8, 19)]),
        (("  on bind(p, n) { n.late := true }",), [("KC0203", 8, 21)]),
        (("  on bind(p, n) { p.late := n }",), [("KC0301", 8, 29)]),
        # the bind is one step; `restart` is a fault's
        (("  on bind(p, n) { step }",), [("KC0502", 8, 19)]),
        (("  on bind(p, n) { restart ctl }",), [("KC0201", 8, 27), ("KC0502", 8, 19)]),
    ],
)
def test_misuses_are_reported_with_code_and_position(
    body: tuple[str, ...], expected: list[tuple[str, int, int]]
) -> None:
    assert found(sched(*body)) == expected


def test_a_misspelt_event_suggests_bind_and_shows_a_caret() -> None:
    (d,) = diagnostics(sched("  on bnd(p, n) { }"))
    assert d.message == "`on bnd`: a scheduler has no event named `bnd`"
    assert d.help == "did you mean `bind`?"
    text = render_all([d], Source("t.kdsl", sched("  on bnd(p, n) { }")))
    assert "t.kdsl:8:6: error[KC0201]" in text
    assert "  on bnd(p, n) { }\n" in text and "     ^~~\n" in text


def test_on_without_an_event_is_a_syntax_error_with_the_spelling() -> None:
    with pytest.raises(KcheckError) as err:
        parse(Source("t.kdsl", sched("  on(p, n) { }")))
    (d,) = err.value.diagnostics
    assert (d.code, d.span.line, d.span.col) == ("KC0102", 8, 3)
    assert d.help == "a scheduler's bind statements are written `on bind(p, n) { ... }`"


def test_a_second_on_bind_names_the_first() -> None:
    (d,) = diagnostics(sched("  on bind(p, n) { }", "  on bind(p, n) { }"))
    assert d.notes == ("the first `on bind` is at line 8",)
    assert d.help == "merge the statements into one `on bind` block"


# ---- the explicit engine --------------------------------------------------------------------


def test_the_statements_run_in_the_bind_step() -> None:
    checked = check_source(Source("t.kdsl", ASSUME))
    for symmetry, states in ((False, 13), (True, 3)):
        m = compile_model(checked.symbols, symmetry=symmetry)
        result = explore(m, symmetry=symmetry, properties=[])
        assert result.complete
        # 3 pods, 2 nodes of one free cpu each: 0, 1 or 2 pods placed; by slot 1 + 6 + 6
        # states, one each up to renaming. Without the statements no node would ever fill up.
        assert result.stats.states == states
        assert {p.name: p.status for p in result.properties} == {
            "counted": HOLDS,
            "one_per_node": HOLDS,
        }


def test_a_violation_in_the_statements_is_traced_to_the_bind_step() -> None:
    text = ASSUME.replace("n.free := n.free - 1", "n.free := n.free")
    m = compile_model(check_source(Source("t.kdsl", text)).symbols)
    result = explore(m, properties=[])
    p = next(p for p in result.properties if p.name == "one_per_node")
    assert p.status == VIOLATED and p.trace is not None
    assert [s.action for s in p.trace.steps] == [None, "default.bind", "default.bind"]
    assert p.trace.steps[-1].state is not None
    assert p.trace.steps[-1].state["placed"] == 2  # the statements ran with each bind


def test_a_runtime_error_in_the_statements_is_a_bound_of_the_bind_step() -> None:
    text = ASSUME.replace("n.free := n.free - 1", "n.free := n.free - 2")
    m = compile_model(check_source(Source("t.kdsl", text)).symbols)
    result = explore(m, properties=[])
    (bound,) = [p for p in result.properties if p.kind == "bound"]
    assert bound.name == "bound: range in default.bind"
    assert bound.trace is not None and len(bound.trace) == 1
    assert bound.trace.steps[-1].error is not None
    assert bound.trace.steps[-1].line == 10  # the statement, not the scheduler


def test_kcheck_run_runs_the_statements() -> None:
    m = compile_model(check_source(Source("t.kdsl", ASSUME)).symbols, symmetry=False)
    config = RunConfig(seed=3, faults=False, settle=5.0, timeout=60.0)
    outcome = Interpreter(m, SimDriver(), config, lambda e: None).run()
    binds = [s for s in outcome.trace.steps if s.action == "default.bind"]
    assert len(binds) == 2  # two nodes of one free cpu: the third pod stays pending
    assert m.layout.decode(outcome.final_state)["placed"] == 2
    assert {p.name: p.status for p in outcome.result.properties if p.kind == "invariant"} == {
        "counted": HOLDS,
        "one_per_node": HOLDS,
    }


# ---- the engines agree on random bind bodies ------------------------------------------------

# Statements over the pod `p` and the node `n`; some leave a range, some choose, one creates.
STATEMENTS = (
    "n.assumed := n.assumed + p.cpu",
    "placed := placed + 1",
    "if n.assumed > 1 {{ p.late := true }}",
    "choose m in Node where m != n {{ m.assumed := 0 }}",
    "choose b in 0..1 {{ p.late := b == 1 }}",
    "create Note {{ about: n }}",
    "for q in Pod where q.node == n {{ q.late := false }}",
    "n.cap := n.cap - {k}",
)


@dataclass(frozen=True)
class Family:
    caps: tuple[int, ...]
    pods: int
    body: tuple[int, ...]  # indices into STATEMENTS, in order
    k: int
    filter_on_assumed: bool


def family_text(f: Family) -> str:
    nodes = "\n".join(f"  create Node {{ cap: {c} }}" for c in f.caps)
    body = "\n".join("    " + STATEMENTS[i].format(k=f.k) for i in f.body)
    seen = "n.assumed" if f.filter_on_assumed else "used(n)"
    return f"""model bind_family
kind Node[{len(f.caps)}] {{
  cap: 0..3 = 3
  assumed: 0..3 = 0
}}
kind Pod[{f.pods}] {{
  cpu: 1..2 = 1
  node: Node? = none
  late: bool = false
}}
kind Note[1] {{
  about: Node? = none
}}
var placed: 0..2 = 0
def used(n: Node): int = sum q.cpu for q in Pod where q.node == n
init {{
{nodes}
}}
controller workload {{
  action submit when count(Pod) < {f.pods} {{
    choose c in 1..2 {{
      create Pod {{ cpu: c }}
    }}
  }}
}}
scheduler default binds Pod.node {{
  filter fits(p, n) = {seen} + p.cpu <= n.cap
  score spare(p, n) = n.cap - {seen}
  on bind(p, n) {{
{body}
  }}
}}
process kubelet {{
  action finish for p in Pod where p.node != none {{
    delete p
  }}
}}
invariant no_overcommit: forall n in Node: used(n) <= n.cap
invariant counted: placed <= (count q in Pod where q.node != none)
invariant never_late: forall q in Pod: not q.late
"""


families = st.builds(
    Family,
    caps=st.integers(1, 2).flatmap(lambda k: st.tuples(*[st.integers(1, 3)] * k)),
    pods=st.integers(1, 2),
    body=st.lists(st.integers(0, len(STATEMENTS) - 1), max_size=3).map(tuple),
    k=st.integers(0, 1),
    filter_on_assumed=st.booleans(),
)

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(families)
def test_the_reference_interpreter_reaches_the_same_states(f: Family) -> None:
    text = family_text(f)
    note(text)
    checked = check_source(Source("family.kdsl", text))
    plain = compile_model(checked.symbols, symmetry=False)
    ref = enumerate_reachable(checked.symbols, plain.layout)
    assert not ref.truncated
    reach, errored = compiled_reachable(plain)
    assert bool(ref.errors) == errored, (ref.errors, errored)
    if not errored:  # step errors cut states off in an order-dependent way
        assert reach == ref.states


@SETTINGS
@given(families, st.integers(0, 4))
def test_bmc_finds_what_the_explicit_engine_finds(f: Family, depth: int) -> None:
    text = family_text(f)
    note(text)
    bmc_agrees_with_explicit(text, depth)


# ---- the model that needed it ---------------------------------------------------------------

MODELS = Path(__file__).resolve().parents[2] / "models"


def test_the_assume_cache_model_is_the_stale_snapshot_model_plus_its_on_bind() -> None:
    text = (MODELS / "scheduler_assume_cache.kdsl").read_text()
    for symmetry, states in ((True, 8390), (False, 82416)):
        m = compile_model(check_source(Source("a.kdsl", text)).symbols, symmetry=symmetry)
        result = explore(m, symmetry=symmetry)
        assert result.stats.states == states
        assert {p.status for p in result.properties} == {HOLDS}
    # without the assume, the stale snapshot's overcommit comes back, in the same 4 steps
    start = text.index("  on bind(p, n) {")
    without = text[:start] + text[text.index("  }\n", start) + 4 :]
    m = compile_model(check_source(Source("b.kdsl", without)).symbols)
    by_name = {p.name: p for p in explore(m).properties}
    trace = by_name["no_overcommit"].trace
    assert by_name["no_overcommit"].status == VIOLATED and trace is not None
    assert len(trace) == 4
