"""Graphviz pictures: golden DOT sources for the models' counterexamples (trace graphs and
swimlanes), escaping of hostile text, lasso back edges, rendering and its failures, and exact
state-space graphs of a tiny model.

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
from kcheck.explore.statespace import TooManyStates, reachable
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source, load
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel
from kcheck.report.dot import (
    ReportError,
    actor_kinds_of,
    path_for,
    render,
    state_space_graph,
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


def test_swimlanes_are_ordered_controllers_scheduler_processes_faults() -> None:
    # the actors act in the reverse of lane order; the lanes still come in kind order
    kinds = {"kubelet": "process", "crash": "fault", "sched": "scheduler", "rs": "controller"}
    steps = [Step(None, {}, {"x": 0})]
    for i, action in enumerate(["crash.hit", "kubelet.start", "rs.scale", "sched.bind"], 1):
        steps.append(Step(action, {}, {"x": i}))
    prop = PropertyResult("inv", "invariant", VIOLATED, 3, Trace(tuple(steps)))
    src = swimlane(prop, kinds).source
    heads = re.findall(r"lane(\d) \[label=<.*?<B>(\w+)</B>", src)
    assert [name for _, name in heads] == ["rs", "sched", "kubelet", "crash"]
    # each step's box sits in its actor's lane: crash.hit (step 1) in lane 3
    assert re.search(r"r1_3 \[label=<.*crash\.hit", src)
    assert re.search(r"r1_0 \[label=\"\"", src)


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
    assert re.search(r"r3_0 -> r2_0 \[label=<.*repeats forever from step 2", lanes)


def test_a_stuttering_lasso_stays_in_its_last_state() -> None:
    src = trace_graph(_lasso(loop_start=3), {"p": "process"}).source
    assert re.search(r"s3 -> s3 \[label=<.*stays here forever", src)
    assert "the loop starts here" not in src
    assert "stays in this state forever (no action is enabled)" in src
    lanes = swimlane(_lasso(loop_start=3), {"p": "process"}).source
    assert "repeats forever from" not in lanes
    assert "stays in this state forever" in lanes


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


TINY = """model tiny
enum Phase { Pending, Running }
kind Pod[2] {
  phase: Phase = Pending
}
var started: 0..2 = 0
init {
  create Pod { phase: Pending }
  create Pod { phase: Pending }
}
process kubelet {
  action start for p in Pod where p.phase == Pending {
    p.phase := Running
    started := started + 1
  }
}
controller reset {
  action restart when started == 2 {
    started := 0
  }
}
invariant not_all_running: started < 2
"""


def _tiny(symmetry: bool) -> CompiledModel:
    return compile_model(check_source(Source("tiny.kdsl", TINY)).symbols, symmetry=symmetry)


def _graph(model: CompiledModel, max_states: int, symmetry: bool) -> Any:
    return state_space_graph(model, reachable(model, max_states, symmetry))


def _counts(src: str) -> tuple[int, int]:
    return len(re.findall(r"^\tn\d+ \[", src, re.M)), len(re.findall(r"^\tn\d+ -> n\d+", src, re.M))


@pytest.mark.parametrize(("symmetry", "states", "edges"), [(False, 5, 5), (True, 4, 4)])
def test_state_space_graph_of_a_tiny_model(symmetry: bool, states: int, edges: int) -> None:
    # without symmetry: PP, RP, PR, RR (started=2), RR (started=0); with it RP and PR are one
    # state, reached by two edges (start(p=Pod#0) and start(p=Pod#1))
    src = _graph(_tiny(symmetry), 100, symmetry).source
    assert _counts(src) == (states, edges)
    assert f"{states} reachable states (symmetry {'on' if symmetry else 'off'})" in src
    assert src.count("initial</FONT>") == 1
    assert src.count("violates not_all_running") == 1
    assert src.count('COLOR="#b3261e" BGCOLOR="#fce8e6"') == 1  # the violating state, red
    assert "reset.restart()" in src and "kubelet.start(p=Pod#1)" in src


def test_state_space_graph_without_canonicaliser_ignores_symmetry_flag() -> None:
    # compiled without symmetry there is no canonicaliser: asking for symmetry changes nothing
    src = _graph(_tiny(False), 100, True).source
    assert _counts(src) == (5, 5)


def test_state_space_graph_refuses_past_max_states() -> None:
    assert _counts(_graph(_tiny(False), 5, False).source) == (5, 5)
    with pytest.raises(TooManyStates, match=r"5\+ reachable states.*--max-states") as err:
        _graph(_tiny(False), 4, False)
    assert "limit of 4" in err.value.message
