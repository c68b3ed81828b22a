"""`kcheck graph`: exact state-space graphs of a tiny model, and what makes a big graph
readable: `--around` (the states near the shortest path to a violation), `--cluster` (states
grouped by an expression's value, bad expressions as located errors), and the note with the
measured size and these options above a readable size."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kcheck.cli.main import main
from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.frontend import CheckedModel, check_source
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel
from kcheck.report.dot import ReportError
from kcheck.report.statespace import (
    READABLE_EDGES,
    READABLE_STATES,
    around,
    cluster_expression,
    cluster_keys,
    explore_space,
    measured_size,
    readability_note,
    state_space_graph,
)

ROOT = Path(__file__).resolve().parents[2]
HAS_DOT = shutil.which("dot") is not None


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


def _checked() -> CheckedModel:
    return check_source(Source("tiny.kdsl", TINY))


def _tiny(symmetry: bool) -> CompiledModel:
    return compile_model(_checked().symbols, symmetry=symmetry)


def _graph(model: CompiledModel, max_states: int, symmetry: bool) -> Any:
    return state_space_graph(explore_space(model, max_states, symmetry))


def _counts(src: str) -> tuple[int, int]:
    return len(re.findall(r"^\t+n\d+ \[", src, re.M)), len(
        re.findall(r"^\tn\d+ -> n\d+", src, re.M)
    )


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
    with pytest.raises(ReportError, match=r"5\+ reachable states.*--max-states") as err:
        _graph(_tiny(False), 4, False)
    assert "limit of 4" in err.value.message


# --- around a violation ---------------------------------------------------------------------


def test_around_keeps_the_shortest_path_to_the_violation_and_its_neighbours() -> None:
    # without symmetry: 0 = PP, 1 = RP, 2 = PR, 3 = RR (started=2, violates), 4 = RR (started=0)
    space = explore_space(_tiny(False), 100, False)
    keep, path = around(space, "not_all_running", 0)
    assert path == [0, 1, 3] and keep == {0, 1, 3}
    keep, _ = around(space, "not_all_running", 1)
    assert keep == {0, 1, 2, 3, 4}
    src = state_space_graph(space, {0, 1, 3}, path).source
    assert _counts(src) == (3, 2)
    assert len(re.findall(r"^\tn\d+ -> n\d+ .*color=\"#b3261e\" penwidth=2.5", src, re.M)) == 2


def test_around_stops_the_search_a_radius_past_the_violation() -> None:
    # the violation is at depth 2; with radius 0 the search expands nothing past depth 2
    space = explore_space(_tiny(False), 100, False, stop_after="not_all_running", radius=0)
    assert len(space.states) == 5 and (3, 4, "reset.restart()") in space.edges
    full = explore_space(_tiny(False), 100, False)
    assert set(space.edges) <= set(full.edges)


def test_around_an_invariant_that_holds_is_an_error() -> None:
    model = compile_model(
        check_source(Source("t.kdsl", TINY + "invariant fine: started <= 2\n")).symbols
    )
    with pytest.raises(ReportError, match="fine holds in every reachable state"):
        around(explore_space(model, 100, True), "fine", 1)


# --- clusters -------------------------------------------------------------------------------


def test_cluster_groups_states_by_the_value_of_an_expression() -> None:
    checked = _checked()
    space = explore_space(_tiny(False), 100, False)
    text = "count p in Pod where p.phase == Running"
    expr = cluster_expression(checked, text)
    keys = cluster_keys(checked, space, expr, text, set(range(5)))
    assert keys == {
        0: f"{text} = 0",
        1: f"{text} = 1",
        2: f"{text} = 1",
        3: f"{text} = 2",
        4: f"{text} = 2",
    }
    src = state_space_graph(space, clusters=keys).source
    assert src.count("subgraph cluster_") == 3
    assert _counts(src) == (5, 5)


def test_cluster_by_an_expression_without_a_value_names_why() -> None:
    checked = _checked()
    space = explore_space(_tiny(False), 100, False)
    expr = cluster_expression(checked, "2 / (2 - started)")
    keys = cluster_keys(checked, space, expr, "2 / (2 - started)", {0, 3})
    assert keys[0] == "2 / (2 - started) = 1"
    assert keys[3] == "2 / (2 - started): no value (2 / (2 - started): division by zero)"


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("count(Podz)", "--cluster:1:7: error[KC0201]", "unknown name `Podz`"),
        ("1 + true", "--cluster:1:5: error[KC0301]", "must be an int, not bool"),
        ("started +", "--cluster:1:10: error[KC0102]", "the expression ends early"),
    ],
)
def test_a_bad_cluster_expression_is_a_located_error(
    text: str, where: str, message: str, out: Path
) -> None:
    with pytest.raises(KcheckError) as err:
        cluster_expression(_checked(), text)
    (d,) = err.value.diagnostics
    assert message in d.message and d.span.line == 1
    # and from the command line: the error points into the option's text, exit 2
    r = _invoke(out, "--cluster", text)
    assert r.exit_code == 2, r.output
    assert where in r.stderr and message in r.stderr and f"   1 | {text}" in r.stderr
    assert "Traceback" not in r.output


# --- the command ----------------------------------------------------------------------------


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "g.dot"


def _invoke(out: Path, *args: str, model: str = "models/replicaset_counts_running.kdsl") -> Any:
    return CliRunner().invoke(main, ["graph", str(ROOT / model), "-o", str(out), *args])


def test_graph_around_draws_a_readable_part_of_a_big_model(out: Path) -> None:
    r = _invoke(out, "--around", "never_too_many_live", "--radius", "1")
    assert r.exit_code == 0, r.output
    src = out.read_text(encoding="utf-8")
    assert _counts(src) == (12, 23)
    assert "within 1 step of the shortest path to a violation of never_too_many_live" in src
    assert "note:" not in r.stderr  # 12 states: readable
    r = _invoke(out, "--around", "never_too_many_live", "--radius", "1", "--cluster", "count(Pod)")
    assert r.exit_code == 0, r.output
    clustered = out.read_text(encoding="utf-8")
    assert _counts(clustered) == (12, 23)
    labels = re.findall(r"subgraph cluster_\d+ \{\n\t\t.*label=<<B>([^<]*)</B>>", clustered)
    assert labels == [f"count(Pod) = {n}" for n in range(5)]


def test_graph_around_names_what_it_cannot_draw_around(out: Path) -> None:
    r = _invoke(out, "--around", "nope")
    assert r.exit_code == 2
    assert "--around nope: nope is not an invariant of the model" in r.stderr
    assert "(invariants: never_too_many_live, pods_fit)" in r.stderr
    r = _invoke(out, "--around", "settles", model="models/hpa_vs_apply.kdsl")
    assert r.exit_code == 2 and "is a temporal property" in r.stderr


def test_a_big_graph_is_still_drawn_with_a_note_saying_what_helps(out: Path) -> None:
    r = _invoke(out, "--max-states", "400")
    assert r.exit_code == 0, r.output
    assert _counts(out.read_text(encoding="utf-8")) == (206, 975)
    assert "note: the picture has 206 states and 975 transitions: too big to read" in r.stderr
    for option in ("--around INVARIANT", "--cluster EXPR", "--max-states N", "-D NAME=VALUE"):
        assert f"\n  {option}" in r.stderr
    assert "--no-symmetry" not in r.stderr  # symmetry is already on
    r = _invoke(out, "--max-states", "400", "--no-symmetry", "--around", "never_too_many_live")
    assert r.exit_code == 0 and "note:" in r.stderr and "leave out --no-symmetry" in r.stderr


def test_readability_note_thresholds() -> None:
    assert readability_note(READABLE_STATES, READABLE_EDGES, None, symmetry=True) is None
    note = readability_note(READABLE_STATES + 1, 0, "10,021 × 4,116 pt", symmetry=True)
    assert note is not None and f"{READABLE_STATES + 1} states" in note
    assert "(10,021 × 4,116 pt)" in note
    assert readability_note(1, READABLE_EDGES + 1, None, symmetry=True) is not None


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz `dot` is not installed")
def test_measured_size_reads_svg_and_png(tmp_path: Path) -> None:
    from kcheck.report.dot import render

    for ext, unit in (("svg", "pt"), ("png", "px")):
        out = tmp_path / f"g.{ext}"
        render(_graph(_tiny(True), 100, True), str(out))
        size = measured_size(str(out))
        assert size is not None and re.fullmatch(rf"[\d,]+ × [\d,]+ {unit}", size)
    assert measured_size(str(tmp_path / "missing.svg")) is None
