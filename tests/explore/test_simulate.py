"""Random simulation (spec/simulate.md): reproducible by seed whatever the number of workers,
never `holds`, violations shrunk and replayable, coverage counted exactly, and no violation the
exhaustive search does not also find."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from jsonschema import Draft202012Validator

from kcheck.cli.main import main
from kcheck.explore import shrink as shrinking
from kcheck.explore.bfs import explore
from kcheck.explore.replay import check_counterexample
from kcheck.explore.simulate import SimOptions, _Job, simulate
from kcheck.lang.frontend import load
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel
from kcheck.result import HOLDS, INCONCLUSIVE, VIOLATED, CheckResult
from tests.explore.modelgen import models
from tests.explore.test_bfs import compiled

ROOT = Path(__file__).resolve().parents[2]
STALE = ROOT / "models" / "scheduler_stale_snapshot.kdsl"

TINY = """
model tiny
var a: 0..3 = 0
controller c {
  action left when a == 0 { a := 1 }
  action right when a == 0 { a := 2 }
  action up when a == 1 or a == 2 { a := 3 }
  action never when a == 4 - 1 and a == 0 { a := 0 }
}
invariant small: a <= 3
"""


def stale() -> CompiledModel:
    return compile_model(load(str(STALE), {}).symbols, symmetry=True)


def same(r: CheckResult) -> dict[str, Any]:
    doc = r.to_json()
    doc["stats"].pop("seconds")
    return doc


def test_the_same_seed_gives_the_same_result() -> None:
    m = stale()
    opts = SimOptions(traces=40, depth=30, seed=7)
    assert same(simulate(m, options=opts)) == same(simulate(m, options=opts))


def test_two_workers_give_what_one_gives() -> None:
    m = stale()
    one = simulate(m, options=SimOptions(traces=40, depth=30, seed=3, workers=1))
    two = simulate(m, options=SimOptions(traces=40, depth=30, seed=3, workers=2))
    assert same(one) == same(two)


def test_finds_and_shrinks_the_stale_snapshot_overcommit() -> None:
    """The explicit engine's shortest counterexample has 4 steps; the walk found is shrunk to
    no more than that plus one, no longer than it was, and it replays and violates."""
    m = stale()
    shortest = explore(m, invariants=["no_overcommit"])
    assert shortest.properties[0].trace is not None
    best = len(shortest.properties[0].trace)
    r = simulate(m, invariants=["no_overcommit"], options=SimOptions(traces=30, depth=60))
    entry = r.properties[0]
    assert entry.status == VIOLATED and entry.trace is not None
    check_counterexample(m, entry)  # raises when it does not replay or does not violate
    steps = len(entry.trace)  # steps, the initial state not counted
    assert entry.reason is not None and f"to {steps} steps" in entry.reason
    before = int(entry.reason.split("shrunk from ")[1].split(" ")[0])
    assert best <= steps <= before
    assert steps <= best + 1


def test_hypothesis_shrinks_a_long_walk() -> None:
    """A long violating walk handed to Hypothesis's shrinker alone comes back shorter, and
    still violating."""
    m = stale()
    job = _Job(m, ["no_overcommit"], [], 60, 0, None)
    found = job.run(0, 30).found["no_overcommit"]
    start = shrinking.violation(m, "no_overcommit", "invariant", found.choices)
    assert start is not None
    smaller = shrinking._hypothesis(m, "no_overcommit", "invariant", start, 0)
    assert smaller is not None and len(smaller) <= len(start)
    assert shrinking.violation(m, "no_overcommit", "invariant", smaller) == smaller


def test_never_says_holds() -> None:
    r = simulate(compiled(TINY), options=SimOptions(traces=5, depth=5))
    assert r.verdict == INCONCLUSIVE
    assert [p.status for p in r.properties] == [INCONCLUSIVE]
    assert "no violation in 5 random traces of depth 5" in (r.properties[0].reason or "")


def test_coverage_counts_on_a_tiny_model() -> None:
    """By hand: every walk starts at a=0, where `left` and `right` are enabled and one is taken
    (the other passed over); then a is 1 or 2, where only `up` is enabled, taken at step 2;
    at a=3 nothing is enabled and the walk stops. `never` is never enabled. So over 10 walks:
    up fired 10 times, passed 0, deepest 2; left and right fired 10 times between them, each
    passed over exactly as often as the other fired, at depth 1; 20 steps in all."""
    r = simulate(compiled(TINY), options=SimOptions(traces=10, depth=5, seed=1))
    assert r.coverage is not None
    cov = {a.action: a for a in r.coverage.actions}
    assert (cov["c.up"].fired, cov["c.up"].passed, cov["c.up"].deepest) == (10, 0, 2)
    left, right = cov["c.left"], cov["c.right"]
    assert left.fired + right.fired == 10
    assert (left.passed, right.passed) == (right.fired, left.fired)
    assert {a.deepest for a in (left, right) if a.fired} == {1}
    assert (cov["c.never"].fired, cov["c.never"].passed, cov["c.never"].deepest) == (0, 0, 0)
    assert r.coverage.never_fired == ["c.never"]
    assert r.stats.transitions == 20


def test_a_fair_lasso_violates_a_temporal_property() -> None:
    m = compiled(
        """
        model flip
        var a: 0..1 = 0
        controller c {
          action flip { a := 1 - a }
        }
        property settles: eventually always a == 0
        property recurs: always eventually a == 0
        """
    )
    r = simulate(m, options=SimOptions(traces=3, depth=6))
    by = {p.name: p for p in r.properties}
    assert by["settles"].status == VIOLATED
    assert by["settles"].trace is not None and by["settles"].trace.loop_start is not None
    check_counterexample(m, by["settles"])
    assert by["recurs"].status == INCONCLUSIVE  # it holds; a simulation cannot say so


def test_the_cli_exits_3_without_a_violation_and_writes_coverage(tmp_path: Path) -> None:
    model = tmp_path / "tiny.kdsl"
    model.write_text(TINY)
    out = CliRunner().invoke(
        main, ["simulate", str(model), "--traces", "4", "--depth", "3", "--format", "json"]
    )
    assert out.exit_code == 3, out.output
    doc = json.loads(out.output)
    assert doc["verdict"] == INCONCLUSIVE and doc["engine"] == "simulate"
    assert "c.never" in doc["coverage"]["never_fired"]
    schema = json.loads(
        resources.files("kcheck").joinpath("schemas/report.schema.json").read_text()
    )
    assert list(Draft202012Validator(schema).iter_errors(doc)) == []


def test_the_cli_exits_1_on_a_violation() -> None:
    out = CliRunner().invoke(main, ["simulate", str(STALE), "--traces", "30", "--depth", "30"])
    assert out.exit_code == 1, out.output
    assert "shrunk from" in out.output and "coverage:" in out.output


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(models(failing=True))
def test_every_violation_simulate_finds_the_explicit_search_finds(text: str) -> None:
    m = compiled(text)
    sim = simulate(m, options=SimOptions(traces=10, depth=8, shrink=True))
    full = explore(m)
    found = {p.name for p in full.properties if p.status == VIOLATED}
    for p in sim.properties:
        assert p.status != HOLDS
        if p.status == VIOLATED:
            assert p.name in found, (p.name, text)
            check_counterexample(m, p)


def test_auto_hands_what_explicit_and_z3_leave_open_to_simulation(monkeypatch: Any) -> None:
    """With a state budget of 40, the explicit search covers a few steps, induction cannot
    prove `near` (it is false) and BMC to depth 10 cannot reach its violation at step 25;
    random walks of 100 steps all reach it, and the entry says simulate answered."""
    from kcheck.engines import auto as auto_engine
    from kcheck.engines.dispatch import EngineOptions, check
    from kcheck.explore.bfs import Limits
    from kcheck.lang.diagnostics import Source
    from kcheck.lang.frontend import check_source

    monkeypatch.setattr(auto_engine, "STATE_BUDGET", 40)
    monkeypatch.setattr(auto_engine, "SIM_TRACES", 5)
    text = """
model grid
var a: 0..30 = 0
var b: 0..30 = 0
controller c {
  action right when a < 30 { a := a + 1 }
  action up when b < 30 { b := b + 1 }
}
invariant near: a + b < 25
"""
    checked = check_source(Source("grid.kdsl", text))
    m = compile_model(checked.symbols, symmetry=True)
    r = check(m, checked.symbols, None, None, EngineOptions("auto", Limits(timeout=120)))
    entry = r.properties[0]
    assert entry.status == VIOLATED and entry.engine == "simulate", entry
    assert (entry.reason or "").startswith("simulate: ")
    check_counterexample(m, entry)
    assert any("random simulation" in n for n in r.notes)


def test_an_init_that_fails_is_a_violated_bound_named_as_explicit_names_it() -> None:
    m = compiled(
        """
        model full
        kind P[1] { x: 0..1 = 0 }
        init {
          create P { x: 0 }
          create P { x: 1 }
        }
        controller c {
          action noop for p in P where p.x == 2 { p.x := 0 }
        }
        invariant fine: true
        """
    )
    sim = simulate(m, options=SimOptions(traces=3, depth=3))
    full = explore(m)
    bounds = {p.name for p in full.properties if p.kind == "bound"}
    got = [p for p in sim.properties if p.kind == "bound"]
    assert bounds and [p.name for p in got] == sorted(bounds)
    assert all(p.status == VIOLATED for p in got) and sim.verdict == VIOLATED


def test_an_unfair_loop_on_a_walk_is_not_a_violation() -> None:
    """Walks that spin forever while `finish` stays enabled close loops, but weak fairness
    makes `finish` happen: the property holds (explicit), and simulation must not say violated."""
    m = compiled(
        """
        model fair
        var done: bool = false
        var b: 0..1 = 0
        controller c {
          action spin when not done { b := 1 - b }
          action finish when not done { done := true }
        }
        property ends: eventually always done
        """
    )
    assert explore(m).properties[0].status == HOLDS
    r = simulate(m, options=SimOptions(traces=50, depth=10))
    assert r.properties[0].status == INCONCLUSIVE


def test_the_html_report_has_the_coverage_table(tmp_path: Path) -> None:
    model = tmp_path / "tiny.kdsl"
    model.write_text(TINY)
    html = tmp_path / "r.html"
    out = CliRunner().invoke(
        main, ["simulate", str(model), "--traces", "4", "--depth", "3", "--report", str(html)]
    )
    assert out.exit_code == 3, out.output
    text = html.read_text()
    assert "Coverage (4 random traces of depth 3, seed 0)" in text
    assert '<td class="name">c.never</td><td class="num">never</td>' in text
