"""Guard and branch coverage (spec/simulate.md "Coverage"; model/coverage.py,
explore/coverage.py): the coverage form takes exactly the steps the labelled form takes, the
code a search runs without coverage is unchanged, and the counts are the ones worked out by
hand on a small model."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings

from kcheck.cli.main import main
from kcheck.explore.bfs import Limits, explore
from kcheck.explore.coverage import search_coverage
from kcheck.explore.simulate import SimOptions, simulate
from kcheck.lang.frontend import Source, check_source, load
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel, State, StepError
from tests.explore.modelgen import models

ROOT = Path(__file__).resolve().parents[2]

BRANCHY = """
model branchy
var a: 0..3 = 0
var b: 0..1 = 0
controller c {
  action walk when a < 2 and b == 0 {
    if a == 0 { a := 1 } else { a := 2 }
  }
  action pick when a == 2 {
    choose v in 0..1 { b := v }
    a := 3
  }
  action idle when a == 3 {
    if a == 0 { b := 1 }
  }
}
invariant small: a <= 3
"""


def covered(text: str) -> CompiledModel:
    checked = check_source(Source("test.kdsl", textwrap.dedent(text)))
    return compile_model(checked.symbols, symmetry=False, coverage=True)


def _key(o: tuple[int, tuple[int, ...], object]) -> object:
    t = o[2]
    shown = (t.code, t.line, t.message, t.action, t.args) if isinstance(t, StepError) else t
    return (o[0], o[1], shown)


def _same_outcomes(m: CompiledModel, limit: int) -> int:
    """Compare both forms on up to `limit` reachable states; returns the states compared."""
    assert m.coverage is not None
    try:
        seen: list[State] = list(m.initial())
    except StepError:
        return 0
    index = set(seen)
    n = 0
    while n < len(seen) and n < limit:
        s = seen[n]
        n += 1
        for plain, cov in zip(m.action_outcomes, m.coverage.outcomes, strict=True):
            outs = list(plain(s))
            assert [_key(o) for o in outs] == [_key(o[:3]) for o in cov(s)]
            for o in outs:
                if not isinstance(o[2], StepError) and o[2] not in index:
                    index.add(o[2])
                    seen.append(o[2])
    return n


def test_the_coverage_form_takes_the_labelled_steps_on_every_model() -> None:
    compared = 0
    for path in sorted((ROOT / "models").glob("*.kdsl")):
        m = compile_model(load(str(path), {}).symbols, symmetry=False, coverage=True)
        compared += _same_outcomes(m, 150)
    assert compared > 1000


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(models())
def test_the_coverage_form_takes_the_labelled_steps_on_generated_models(text: str) -> None:
    _same_outcomes(covered(text), 100)


def test_without_coverage_the_generated_code_is_unchanged() -> None:
    sym = load(str(ROOT / "models" / "replicaset.kdsl"), {}).symbols
    plain = compile_model(sym, symmetry=True)
    cov = compile_model(sym, symmetry=True, coverage=True)
    assert plain.coverage is None and "_cg(" not in plain.python_source
    assert "_cov_" not in plain.python_source
    # the coverage form is emitted after everything else: the other forms are the same code
    assert cov.python_source.startswith(plain.python_source)
    assert "_cg(" in cov.python_source


def test_guard_and_branch_counts_by_hand() -> None:
    """Every walk of 5 steps is the same up to `choose`: a=0 (walk: `then`), a=1 (walk:
    `else`), a=2 (pick: `choose`, either value), then a=3 twice (idle: its `if a == 0` false,
    the implicit `else`). Outcomes are computed in the states before each step, s0..s4: `a < 2`
    holds in s0, s1 and fails in s2, s3, s4; `b == 0` is evaluated only where `a < 2` held."""
    r = simulate(covered(BRANCHY), options=SimOptions(traces=10, depth=5, seed=3))
    assert r.coverage is not None
    got = {(b.action, b.kind, b.text): (b.count, b.failed, b.deepest) for b in r.coverage.branches}
    assert got == {
        ("c.walk", "when", "a < 2"): (20, 30, 0),
        ("c.walk", "when", "b == 0"): (20, 0, 0),
        ("c.walk", "then", "a == 0"): (10, 0, 1),
        ("c.walk", "else", "a == 0"): (10, 0, 2),
        ("c.pick", "when", "a == 2"): (10, 40, 0),
        ("c.pick", "choose", "choose v"): (10, 0, 3),
        ("c.idle", "when", "a == 3"): (20, 30, 0),
        ("c.idle", "then", "a == 0"): (0, 0, 0),
        ("c.idle", "else", "a == 0"): (20, 0, 5),
    }
    assert r.coverage.never_taken == ["c.idle then 14:5"]
    lines = {(b.kind, b.line, b.col) for b in r.coverage.branches if b.action == "c.walk"}
    assert lines == {("when", 6, 20), ("when", 6, 30), ("then", 7, 5), ("else", 7, 5)}


def test_two_workers_count_what_one_counts() -> None:
    m = covered(BRANCHY)
    one = simulate(m, options=SimOptions(traces=30, depth=6, seed=1))
    two = simulate(m, options=SimOptions(traces=30, depth=6, seed=1, workers=2))
    assert one.coverage is not None and two.coverage is not None
    assert one.coverage.to_json() == two.coverage.to_json()


def test_a_model_compiled_without_coverage_reports_actions_only() -> None:
    checked = check_source(Source("test.kdsl", textwrap.dedent(BRANCHY)))
    m = compile_model(checked.symbols, symmetry=False)
    r = simulate(m, options=SimOptions(traces=5, depth=5))
    assert r.coverage is not None and r.coverage.branches == ()
    assert len(r.coverage.actions) == 3


def test_the_cli_shows_guards_and_branches_in_text_json_and_html(tmp_path: Path) -> None:
    model = tmp_path / "branchy.kdsl"
    model.write_text(BRANCHY)
    html = tmp_path / "r.html"
    args = ["simulate", str(model), "--traces", "4", "--depth", "5"]
    text = CliRunner().invoke(main, [*args, "--report", str(html)])
    assert text.exit_code == 3, text.output
    assert "held / taken" in text.output and "choose v" in text.output
    doc = json.loads(CliRunner().invoke(main, [*args, "--format", "json"]).output)
    kinds = {(b["kind"], b["line"]) for b in doc["coverage"]["branches"]}
    assert ("choose", 10) in kinds and ("else", 14) in kinds
    assert doc["coverage"]["never_taken"] == ["c.idle then 14:5"]
    page = html.read_text()
    assert "Guards and branches" in page and "<code>a &lt; 2</code>" in page


def test_the_complete_pass_counts_the_reachable_graph_by_hand() -> None:
    """BRANCHY's graph: (0,0) -walk/then-> (1,0) -walk/else-> (2,0) -pick/choose-> (3,0) and
    (3,1), each with an idle self-loop (its `else`). Guards are evaluated once per state."""
    cov = search_coverage(covered(BRANCHY), symmetry=False, max_states=100)
    assert cov.complete and cov.states == 5 and cov.exhaustive
    got = {(b.action, b.kind, b.text): (b.count, b.failed, b.deepest) for b in cov.branches}
    assert got == {
        ("c.walk", "when", "a < 2"): (2, 3, 0),
        ("c.walk", "when", "b == 0"): (2, 0, 0),
        ("c.walk", "then", "a == 0"): (1, 0, 1),
        ("c.walk", "else", "a == 0"): (1, 0, 2),
        ("c.pick", "when", "a == 2"): (1, 4, 0),
        ("c.pick", "choose", "choose v"): (2, 0, 3),
        ("c.idle", "when", "a == 3"): (2, 3, 0),
        ("c.idle", "then", "a == 0"): (0, 0, 0),
        ("c.idle", "else", "a == 0"): (2, 0, 4),
    }
    assert cov.never_taken == ["c.idle then 14:5"]
    assert [(a.action, a.fired, a.deepest) for a in cov.actions] == [
        ("c.walk", 2, 2), ("c.pick", 2, 3), ("c.idle", 2, 4)
    ]  # fmt: skip


def test_the_complete_pass_counts_the_searchs_transitions() -> None:
    """Two implementations of one graph: the pass's transitions per action add up to the
    explicit search's count, state for state (no symmetry), on the small models."""
    checked = 0
    for path in sorted((ROOT / "models").glob("*.kdsl"))[::3]:
        sym = load(str(path), {}).symbols
        found = explore(compile_model(sym, symmetry=False), symmetry=False, properties=[],
                        limits=Limits(max_states=5000))  # fmt: skip
        if not found.complete or any(p.kind == "bound" for p in found.properties):
            continue  # the pass counts failing steps too; the search does not
        m = compile_model(sym, symmetry=False, coverage=True)
        cov = search_coverage(m, symmetry=False, max_states=5000)
        assert cov.complete and cov.states == found.stats.states, path
        assert sum(a.fired for a in cov.actions) == found.stats.transitions, path
        checked += 1
    assert checked >= 5


def test_the_complete_pass_says_when_it_stopped_early() -> None:
    cov = search_coverage(covered(BRANCHY), symmetry=False, max_states=2)
    assert not cov.complete


def test_verify_coverage_reports_dead_branches_in_json(tmp_path: Path) -> None:
    model = tmp_path / "branchy.kdsl"
    model.write_text(BRANCHY)
    out = CliRunner().invoke(main, ["verify", str(model), "--coverage", "--format", "json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["coverage"]["never_taken"] == ["c.idle then 14:5"]
    assert doc["coverage"]["search"] == {"complete": True, "states": 5}
    html = tmp_path / "r.html"
    args = ["verify", str(model), "--coverage", "-q", "--report", str(html)]
    text = CliRunner().invoke(main, args).output
    assert "coverage of the reachable graph (every reachable state, 5 states)" in text
    assert "enabled, not taken" not in text  # a complete pass passes no enabled step over
    page = html.read_text()
    assert "Coverage of the reachable graph (5 states)</h2>" in page
    assert "enabled, not taken" not in page and "Guards and branches" in page
