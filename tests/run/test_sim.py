"""`kcheck run --driver sim`: the interpreter fires the compiled actions on a simulated clock.
Fast: no Docker needed."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from prometheus_client import generate_latest
from prometheus_client.registry import CollectorRegistry

from kcheck.cli.main import main
from kcheck.lang.frontend import load
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel
from kcheck.result import HOLDS, VIOLATED
from kcheck.run.events import Event
from kcheck.run.interpreter import Interpreter, RunConfig, RunOutcome
from kcheck.run.metrics import RunCollector
from kcheck.run.sim import SimDriver

MODELS = Path(__file__).resolve().parents[2] / "models"


def compiled(name: str) -> CompiledModel:
    return compile_model(load(str(MODELS / f"{name}.kdsl")).symbols, symmetry=False)


def run(name: str, **config: object) -> tuple[RunOutcome, list[Event]]:
    events: list[Event] = []
    outcome = Interpreter(compiled(name), SimDriver(), RunConfig(**config), events.append).run()  # type: ignore[arg-type]
    return outcome, events


def replays(model: CompiledModel, outcome: RunOutcome, name: str) -> bool:
    """Every step of the property's trace is a step of the compiled model (re-fired here)."""
    prop = next(p for p in outcome.result.properties if p.name == name)
    assert prop.trace is not None
    layout = model.layout
    states = [s for s in model.initial() if layout.decode(s) == prop.trace.steps[0].state]
    assert states, "the trace does not start in an initial state"
    cur = states[0]
    for step in prop.trace.steps[1:]:
        nxt = [
            t
            for aid, args, t in model.labelled_successors(cur)
            if model.actions[aid].label == step.action
            and model.describe_args(aid, args) == step.args
            and layout.decode(t) == step.state
        ]
        if not nxt:
            return False
        cur = nxt[0]
    return True


def test_replicaset_converges_after_faults() -> None:
    outcome, events = run("replicaset", seed=3)
    r = outcome.result
    assert r.verdict == HOLDS, [(p.name, p.status, p.reason) for p in r.properties]
    assert outcome.counters.faults == 4  # every budget spent: 2 crashes, a scale-up, a scale-down
    assert outcome.counters.converged_after is not None
    assert {"Created", "Started", "Killing", "Deleted"} <= {e.reason for e in events}
    faults = ("pod_crash", "user_scales_up", "user_scales_down")
    assert all(e.type == "Warning" for e in events if e.source in faults)


def test_broken_variant_is_caught_with_a_trace_the_model_replays() -> None:
    model = compiled("replicaset_counts_running")
    events: list[Event] = []
    outcome = Interpreter(model, SimDriver(), RunConfig(seed=0), events.append).run()
    assert outcome.result.verdict == VIOLATED
    broken = next(p for p in outcome.result.properties if p.status == VIOLATED)
    assert broken.name == "never_too_many_live"
    assert broken.trace is not None
    last = broken.trace.steps[-1].state
    assert last is not None and len(last["Pod"]) > last["ReplicaSet"]["ReplicaSet#0"]["replicas"]
    assert replays(model, outcome, "never_too_many_live")


def test_the_same_seed_gives_the_same_run() -> None:
    a, events_a = run("scheduler", seed=7)
    b, events_b = run("scheduler", seed=7)
    _, events_c = run("scheduler", seed=8)
    assert a.result.to_json()["properties"] == b.result.to_json()["properties"]
    assert [e.to_json() for e in events_a] == [e.to_json() for e in events_b]
    assert [e.to_json() for e in events_a] != [e.to_json() for e in events_c]


def test_faults_off_injects_none() -> None:
    outcome, events = run("replicaset", faults=False)
    assert outcome.result.verdict == HOLDS
    assert outcome.counters.faults == 0
    assert not [e for e in events if e.type == "Warning"]


def test_a_fight_that_never_settles_is_a_convergence_violation() -> None:
    outcome, _ = run("hpa_vs_apply", seed=1, settle=5.0)
    settles = next(p for p in outcome.result.properties if p.name == "settles")
    assert settles.status == VIOLATED
    assert settles.reason is not None and "within 5 s after the last fault" in settles.reason
    assert settles.trace is not None and len(settles.trace) > 0


def test_every_fault_stays_within_its_budget() -> None:
    model = compiled("replicaset")
    for seed in range(10):
        outcome, _ = run("replicaset", seed=seed, fault_every=0.1)
        budgets = sum(b.budget for b in model.layout.budgets)
        assert outcome.counters.faults <= budgets
        assert outcome.result.verdict == HOLDS


def test_metrics_expose_the_counters() -> None:
    outcome, _ = run("replicaset", seed=3)
    registry = CollectorRegistry()
    registry.register(RunCollector(outcome.counters, "replicaset", "sim"))
    text = generate_latest(registry).decode()
    assert (
        f'kcheck_run_faults_total{{driver="sim",model="replicaset"}} {outcome.counters.faults}.0'
        in text
    )
    assert "kcheck_run_invariant_checks_total" in text
    assert "kcheck_run_time_to_converge_seconds" in text
    count = len(outcome.counters.reconcile_latencies)
    assert (
        f'kcheck_run_reconcile_latency_seconds_count{{driver="sim",model="replicaset"}} {count}.0'
        in text
    )


def test_cli_run_writes_json_lines_and_a_json_result(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(MODELS / "replicaset.kdsl"),
            "--seed",
            "3",
            "--log-json",
            str(log),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["engine"] == "run:sim" and doc["verdict"] == HOLDS
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert lines[0]["reason"] == "RunStarted"
    assert any(x["reason"] == "Killing" and x["type"] == "Warning" for x in lines)
    assert lines[-1]["reason"] == "Converged"


def test_cli_violation_exits_1_and_draws_its_trace(tmp_path: Path) -> None:
    dot = tmp_path / "trace.dot"
    result = CliRunner().invoke(
        main, ["run", str(MODELS / "replicaset_counts_running.kdsl"), "--graph", str(dot)]
    )
    assert result.exit_code == 1, result.output
    assert "trace for invariant never_too_many_live" in result.stdout
    assert "Violation           kcheck" in result.stdout  # the last event says why it stopped
    assert "digraph" in dot.read_text()


def test_metrics_are_served_during_the_run() -> None:
    from kcheck.run.interpreter import Counters
    from kcheck.run.metrics import serve

    counters = Counters()
    stop = serve(19187, counters, "replicaset", "sim")
    scraped: list[str] = []

    def scrape(event: Event) -> None:
        if event.reason == "Killing" and not scraped:
            with urllib.request.urlopen("http://127.0.0.1:19187/metrics", timeout=5) as resp:
                scraped.append(resp.read().decode())

    try:
        Interpreter(compiled("replicaset"), SimDriver(), RunConfig(seed=3), scrape, counters).run()
    finally:
        stop()
    assert scraped, "no fault was injected"
    assert 'kcheck_run_faults_total{driver="sim",model="replicaset"}' in scraped[0]
    assert 'kcheck_run_time_to_converge_seconds{driver="sim",model="replicaset"} NaN' in scraped[0]
    with pytest.raises(OSError):
        urllib.request.urlopen("http://127.0.0.1:19187/metrics", timeout=2)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "no/such/model.kdsl"], "no/such/model.kdsl"),
        (
            ["run", str(MODELS / "replicaset.kdsl"), "--invariant", "nope"],
            "has no invariant `nope`",
        ),
        (["run"], "missing MODEL"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_controller_internal_state_runs_as_compiled_and_stays_out_of_the_events() -> None:
    # informer caches (`@` kinds and fields) and their sync actions come from the compiler;
    # the interpreter fires them like any action and shows no event for them
    stale, events = run("replicaset_stale_cache", seed=0)
    broken = next(p for p in stale.result.properties if p.status == VIOLATED)
    assert broken.name == "never_too_many_live"
    assert broken.trace is not None
    assert any(s.action and "@" in s.action for s in broken.trace.steps)
    assert not [e for e in events if "@" in e.object or "@" in e.message or "@" in e.reason]
    safe, _ = run("replicaset_expectations", seed=0)
    assert safe.result.verdict == HOLDS


def test_a_model_without_an_initial_state_is_bad_input(tmp_path: Path) -> None:
    model = tmp_path / "empty.kdsl"
    model.write_text(
        "model empty\nkind A[1] {\n  v: 0..1\n}\n\n"
        "init {\n  choose a in A {\n    a.v := 1\n  }\n}\n\ninvariant ok: true\n"
    )
    result = CliRunner().invoke(main, ["run", str(model)])
    assert result.exit_code == 2
    # (after the warning that the model has no actions)
    assert (
        result.stderr.strip().splitlines()[-1]
        == "kcheck: error: model empty has no initial state: its init chooses from nothing"
    )


def test_a_formula_that_cannot_be_evaluated_is_a_violation_not_a_crash(tmp_path: Path) -> None:
    """Found by hypothesis (`invariant inv0: 0 == (0 / 0)`): as in `kcheck verify`, an invariant
    or property that divides by zero or reads through `none` is violated where it fails."""
    from kcheck.lang.diagnostics import Source
    from kcheck.lang.frontend import check_source

    def outcome_of(formula: str) -> RunOutcome:
        text = f"model m\nvar x: 0..2 = 0\ncontroller c {{ action a when x < 2 {{ x := x + 1 }} }}\n{formula}\n"
        model = compile_model(check_source(Source("m.kdsl", text)).symbols, symmetry=False)
        return Interpreter(model, SimDriver(), RunConfig(seed=1, settle=1.0), lambda e: None).run()

    for formula in (
        "invariant i: 1 / (2 - x) >= 0",
        "property p: eventually always 1 / (2 - x) >= 0",
    ):
        outcome = outcome_of(formula)
        (prop,) = outcome.result.properties
        assert prop.status == VIOLATED, formula
        assert prop.reason is not None and "division by zero" in prop.reason, prop.reason


def test_a_run_whose_init_fails_claims_no_invariant(tmp_path: Path) -> None:
    """With no state observed, no invariant held on anything: inconclusive, never holds."""
    model = tmp_path / "p.kdsl"
    model.write_text(
        "model p\nparam P: 0..5 = 1\nvar x: 0..3 = P\n"
        "process p { action a when x > 0 { x := x - 1 } }\ninvariant ok: x <= 3\n"
    )
    r = CliRunner().invoke(main, ["run", str(model), "-D", "P=5", "--format", "json", "-q"])
    assert r.exit_code == 1, r.output
    report = json.loads(r.stdout)
    entries = {p["name"]: p["status"] for p in report["properties"]}
    assert entries == {"ok": "inconclusive", "bound: range in init": VIOLATED}
    # its trace is the one step `init` that every engine reports (replay accepts only that)
    args = [str(model), "-D", "P=5", "--format", "json", "-q"]
    verified = json.loads(CliRunner().invoke(main, ["verify", *args]).stdout)
    [ran] = [p["trace"] for p in report["properties"] if p["kind"] == "bound"]
    [explored] = [p["trace"] for p in verified["properties"] if p["kind"] == "bound"]
    assert ran == explored and [s["action"] for s in ran] == ["init"], (ran, explored)


CHURN = """model churn
kind Pod[1] { up: bool = true }
var made: 0..3 = 0
process p {
  action make when count(Pod) == 0 and made < 3 { create Pod { } made := made + 1 }
  action kill for x in Pod { delete x }
}
invariant few: made <= 3
"""


def test_a_run_never_gives_a_new_object_a_deleted_ones_name(tmp_path: Path) -> None:
    """One slot, three pods in turn: the run's trace and events call them Pod#0, #1 and #2, as
    every engine's traces do (spec/reports.md, "Object names")."""
    model = tmp_path / "churn.kdsl"
    model.write_text(CHURN)
    compiled = compile_model(load(str(model)).symbols, symmetry=False)
    events: list[Event] = []
    outcome = Interpreter(
        compiled, SimDriver(), RunConfig(seed=1, faults=False), events.append
    ).run()
    created = [
        name
        for before, after in zip(outcome.trace.steps, outcome.trace.steps[1:], strict=False)
        for name in (after.state or {}).get("Pod", {})
        if name not in (before.state or {}).get("Pod", {})
    ]
    assert created == ["Pod#0", "Pod#1", "Pod#2"]
    assert outcome.trace.steps[0].state is not None
    assert list(outcome.trace.steps[0].state["Pod"]) == []
    shown = {e.object for e in events if e.object.startswith("Pod#")}
    assert shown == {"Pod#0", "Pod#1", "Pod#2"}


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.mark.parametrize("seed", range(3))
def test_a_run_where_time_stops_reports_the_timelock_not_a_rest(seed: int) -> None:
    """tests/fixtures/timelock.kdsl stops time once `n` is 3 and the clock reaches the due
    deadline: nothing can fire, the tick included. The run used to end there as converged."""
    model = compile_model(load(str(FIXTURES / "timelock.kdsl")).symbols, symmetry=False)
    outcome = Interpreter(
        model, SimDriver(), RunConfig(seed=seed, tick_ms=100), lambda e: None
    ).run()
    assert outcome.result.verdict == VIOLATED
    lock = next(p for p in outcome.result.properties if p.name == "time_passes")
    assert (lock.kind, lock.status) == ("timelock", VIOLATED)
    assert "the deadline of `p.fire` is due" in (lock.reason or "")
    assert replays(model, outcome, "time_passes")
    assert lock.trace is not None
    cur = next(s for s in model.initial() if model.layout.decode(s) == lock.trace.steps[0].state)
    for step in lock.trace.steps[1:]:
        cur = next(
            t
            for aid, _, t in model.labelled_successors(cur)
            if model.actions[aid].label == step.action and model.layout.decode(t) == step.state
        )
    assert not model.successors(cur)  # the trace's last state has no step: time has stopped
