"""Graphviz pictures: golden DOT sources for the models' counterexamples (trace graphs and
sequence diagrams), escaping of hostile text, lasso back edges, rendering and its failures. The
state-space graph is tested in test_statespace.py.

Regenerate the golden files with `KCHECK_UPDATE_GOLDEN=1 pytest tests/report/test_dot.py`."""

from __future__ import annotations

import os
import re
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from kcheck.explore.bfs import explore
from kcheck.lang.frontend import load
from kcheck.model.compile import compile_model
from kcheck.report.dot import (
    ReportError,
    actor_kinds_of,
    path_for,
    render,
    swimlane,
    trace_graph,
)
from kcheck.result import VIOLATED, PropertyResult
from kcheck.trace import Step, Trace

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "dot"
HAS_DOT = shutil.which("dot") is not None
NO_DOT = "Graphviz `dot` is not installed (apt-get install graphviz)"


@cache
def counterexamples(model: str) -> tuple[dict[str, str], dict[str, PropertyResult]]:
    compiled = compile_model(load(str(ROOT / "models" / f"{model}.kdsl")).symbols, symmetry=True)
    result = explore(compiled, symmetry=True)
    traced = {p.name: p for p in result.properties if p.trace is not None}
    return actor_kinds_of(compiled), traced


# (golden file, model, property, picture)
GOLDENS = [
    (
        "replicaset_counts_running.invariant",
        "replicaset_counts_running",
        "never_too_many_live",
        "trace",
    ),
    (
        "replicaset_counts_running.bound",
        "replicaset_counts_running",
        "bound: no-free-slot in replicaset.scale_up",
        "trace",
    ),
    (
        "replicaset_counts_running.invariant.swimlane",
        "replicaset_counts_running",
        "never_too_many_live",
        "swimlane",
    ),
    ("scheduler_stale_snapshot", "scheduler_stale_snapshot", "no_overcommit", "trace"),
    ("scheduler_stale_snapshot.swimlane", "scheduler_stale_snapshot", "no_overcommit", "swimlane"),
]


@pytest.mark.parametrize(
    ("golden", "model", "prop", "picture"), GOLDENS, ids=[g[0] for g in GOLDENS]
)
def test_golden_dot_sources(golden: str, model: str, prop: str, picture: str) -> None:
    kinds, traced = counterexamples(model)
    draw = trace_graph if picture == "trace" else swimlane
    actual = draw(traced[prop], kinds).source
    expected = GOLDEN / f"{golden}.dot"
    if os.environ.get("KCHECK_UPDATE_GOLDEN") == "1":
        expected.parent.mkdir(parents=True, exist_ok=True)
        expected.write_text(actual, encoding="utf-8")
    assert expected.exists(), f"run with KCHECK_UPDATE_GOLDEN=1 to create {expected.name}"
    assert actual == expected.read_text(encoding="utf-8")


def test_the_models_have_the_counterexamples_the_goldens_draw() -> None:
    _, traced = counterexamples("replicaset_counts_running")
    bound = traced["bound: no-free-slot in replicaset.scale_up"]
    assert bound.trace is not None
    assert bound.trace.steps[-1].state is None and bound.trace.steps[-1].error
    assert traced["never_too_many_live"].status == VIOLATED


def test_trace_graph_names_the_actor_kind_and_call_on_each_edge() -> None:
    kinds, traced = counterexamples("scheduler_stale_snapshot")
    src = trace_graph(traced["no_overcommit"], kinds).source
    assert "step 1: controller, line 35" in src
    assert "<B>default.bind(pod=Pod#1, node=Node#0)</B>" in src
    assert "step 3: scheduler" in src
    assert "violates invariant no_overcommit (line 72)" in src
    assert "initial state" in src


def test_bound_trace_ends_in_the_error_and_names_the_bound() -> None:
    kinds, traced = counterexamples("replicaset_counts_running")
    src = trace_graph(traced["bound: no-free-slot in replicaset.scale_up"], kinds).source
    assert "error: create Pod: all 5 slots are in use" in src
    assert "bound: no-free-slot in replicaset.scale_up (line 36)" in src
    assert "counterexample for bound: no-free-slot" in src  # not "bound bound:"


def _rows(src: str) -> list[str]:
    """The rows of a sequence diagram's one table: header, initial state, then the steps."""
    return re.split(r"<TR>(?!<TD ALIGN=\"LEFT\" BALIGN)", src)[1:]  # not a box's own rows


def test_swimlanes_are_ordered_controllers_scheduler_processes_faults() -> None:
    # the actors act in the reverse of lane order; the lanes still come in kind order
    kinds = {"kubelet": "process", "crash": "fault", "sched": "scheduler", "rs": "controller"}
    steps = [Step(None, {}, {"x": 0})]
    for i, action in enumerate(["crash.hit", "kubelet.start", "rs.scale", "sched.bind"], 1):
        steps.append(Step(action, {}, {"x": i}))
    prop = PropertyResult("inv", "invariant", VIOLATED, 3, Trace(tuple(steps)))
    rows = _rows(swimlane(prop, kinds).source)
    assert re.findall(r"<BR/><B>(\w+)</B>", rows[0]) == ["rs", "sched", "kubelet", "crash"]
    # one row per step, top to bottom, each box in its actor's column and nowhere else:
    # crash.hit (step 1) in column 3, after three lifelines; sched.bind (step 4) in column 1
    lifeline = 'SIDES="R" STYLE="dashed"'
    for i, (action, column) in enumerate(
        [("crash.hit", 3), ("kubelet.start", 2), ("rs.scale", 0), ("sched.bind", 1)], 1
    ):
        row = rows[1 + i]
        assert re.search(rf">{i}</FONT>", row) and row.count(action) == 1
        assert row.split(action)[0].count(lifeline) == column
        assert row.count(lifeline) == 3
    assert "violates invariant inv (line 3)" in rows[-1]


def test_the_sequence_diagram_is_narrower_than_one_box_per_step_would_be() -> None:
    # a real counterexample: one table, no box wider than its column's widest call
    kinds, traced = counterexamples("scheduler_stale_snapshot")
    g = swimlane(traced["no_overcommit"], kinds)
    assert g.source.count(" [label=<") == 1  # one node: the table
    assert "sequence diagram for invariant no_overcommit (line 72), 4 steps" in g.source


HOSTILE = '<b>&"'


def _hostile_prop() -> PropertyResult:
    before = {"mode": HOSTILE, "Pod": {"Pod#0": {"phase": "<i>"}}}
    after = {"mode": "x", "Pod": {"Pod#0": {"phase": HOSTILE}, "Pod#1": {"phase": "</td>"}}}
    steps = (
        Step(None, {}, before),
        Step("ctl.<act>", {"p": "<script>"}, after, line=3),
        Step("ctl.<act>", {"p": HOSTILE}, None, error="boom <&> \\l", line=4),
    )
    return PropertyResult(f"bad{HOSTILE}", "invariant", VIOLATED, 9, Trace(steps))


@pytest.mark.parametrize("draw", [trace_graph, swimlane])
def test_text_from_the_trace_is_escaped(draw: Any, tmp_path: Path) -> None:
    src = draw(_hostile_prop(), {"ctl": "controller"}).source
    assert "&lt;b&gt;&amp;&quot;" in src
    for raw in (HOSTILE, "<script>", "<i>", "</td>", "<act>", "<&>"):
        assert raw not in src
    if HAS_DOT:  # the escaped labels are valid HTML-like labels for Graphviz itself
        out = tmp_path / "hostile.svg"
        render(draw(_hostile_prop(), {"ctl": "controller"}), str(out))
        assert "&lt;b&gt;&amp;&quot;" in out.read_text(encoding="utf-8")


def _lasso(loop_start: int = 1) -> PropertyResult:
    # as the engines replay a lasso: its last state is the loop's first state again
    states = [{"x": 0}, {"x": 1}, {"x": 2}, {"x": 1}]
    steps = [Step(None, {}, states[0])] + [Step("p.tick", {}, s, line=2) for s in states[1:]]
    trace = Trace(tuple(steps), loop_start=loop_start)
    return PropertyResult("settles", "property", VIOLATED, 7, trace)


def test_a_lasso_loops_back_to_where_it_starts() -> None:
    src = trace_graph(_lasso(), {"p": "process"}).source
    assert re.search(
        r"s3 -> s1 \[label=<.*repeats forever: state 3 is state 1.*constraint=false.*dashed", src
    )
    assert "after step 1, the loop starts here" in src
    assert "after step 3, state 1 again" in src
    assert "steps 2-3 repeat forever (state 3 is state 1 again)" in src
    lanes = swimlane(_lasso(), {"p": "process"}).source
    # the loop is headed with how it repeats and bracketed over its steps (2 and 3) on the left
    assert "⟲ steps 2-3 repeat forever (state 3 is state 1 again)" in lanes
    bracket = _rows(lanes)[4]
    assert bracket.startswith('<TD ROWSPAN="2" BGCOLOR=') and ">2</FONT>" in bracket


def test_a_stuttering_lasso_stays_in_its_last_state() -> None:
    src = trace_graph(_lasso(loop_start=3), {"p": "process"}).source
    assert re.search(r"s3 -> s3 \[label=<.*stays here forever", src)
    assert "the loop starts here" not in src
    assert "stays in this state forever (no action is enabled)" in src
    lanes = swimlane(_lasso(loop_start=3), {"p": "process"}).source
    assert "repeat forever" not in lanes and "ROWSPAN" not in lanes
    assert "⟲ from step 3 it stays in this state forever (no action is enabled)" in lanes


def test_a_trace_without_a_loop_has_no_back_edge() -> None:
    kinds, traced = counterexamples("replicaset_counts_running")
    assert "repeats forever" not in trace_graph(traced["never_too_many_live"], kinds).source


def test_large_states_show_only_what_changed_after_the_first_step() -> None:
    pods = {f"Pod#{i}": {"phase": "Pending"} for i in range(12)}
    after = {k: dict(v) for k, v in pods.items()}
    after["Pod#3"]["phase"] = "Running"
    steps = (Step(None, {}, {"n": 0, "Pod": pods}), Step("k.start", {}, {"n": 1, "Pod": after}))
    src = trace_graph(PropertyResult("i", "invariant", VIOLATED, 1, Trace(steps)), {}).source
    first, second = src.split("\ts1 [", 1)
    assert first.count("phase=Pending") == 12  # the initial state in full
    assert "Pod#3" in second and "Pod#4" not in second
    assert "… 11 unchanged" in second
    assert "was Pending" in second and "was 0" in second


@pytest.mark.skipif(not HAS_DOT, reason=NO_DOT)
def test_render_svg_draws_the_picture(tmp_path: Path) -> None:
    kinds, traced = counterexamples("scheduler_stale_snapshot")
    out = tmp_path / "trace.svg"
    render(trace_graph(traced["no_overcommit"], kinds), str(out))
    text = out.read_text(encoding="utf-8")
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert "default.bind(pod=Pod#0, node=Node#0)" in text
    png = tmp_path / "lanes.png"
    render(swimlane(traced["no_overcommit"], kinds), str(png))
    assert png.read_bytes().startswith(b"\x89PNG")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lanes.png", "trace.svg"]


def test_render_dot_writes_the_source(tmp_path: Path) -> None:
    g = trace_graph(_lasso(), {"p": "process"})
    out = tmp_path / "trace.dot"
    render(g, str(out))
    assert out.read_text(encoding="utf-8") == g.source


@pytest.mark.parametrize("name", ["trace.jpeg", "trace", "trace.svg.txt"])
def test_an_unknown_extension_is_a_report_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(ReportError, match=r"use one of \.dot, \.svg, \.png, \.pdf"):
        render(trace_graph(_lasso(), {}), str(tmp_path / name))
    assert not list(tmp_path.iterdir())


def test_a_missing_dot_program_is_a_report_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nowhere to find `dot`
    with pytest.raises(ReportError, match="`dot` program was not found") as err:
        render(trace_graph(_lasso(), {}), str(tmp_path / "trace.svg"))
    assert "apt-get install graphviz" in err.value.message
    # DOT source needs no Graphviz at all
    render(trace_graph(_lasso(), {}), str(tmp_path / "trace.dot"))


def test_an_unwritable_path_is_a_report_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="cannot write"):
        render(trace_graph(_lasso(), {}), str(tmp_path / "missing" / "trace.dot"))


def test_path_for_puts_the_property_before_the_extension() -> None:
    assert path_for("out/trace.svg", "no_overcommit") == "out/trace-no_overcommit.svg"
    assert (
        path_for("trace.dot", "bound: no-free-slot in replicaset.scale_up")
        == "trace-bound-no-free-slot-in-replicaset.scale_up.dot"
    )
