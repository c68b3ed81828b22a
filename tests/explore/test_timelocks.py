"""Timelocks (issue 19 point 1, spec/explorer.md "Timelocks"): in a model with time, a reachable
state with no step at all (a due deadline blocks `time.tick`, and nothing else can fire) is the
failed built-in check `time_passes`, with a shortest trace, in the explicit search (its Python
and generated-C paths, with and without the state graph), in simulate, and through the CLI;
an untimed quiescent state is not one, and `--allow-timelocks` turns the check off. Checked
against a direct search for states without successors on generated timed models."""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from kcheck.cli.main import main
from kcheck.explore import bfs
from kcheck.explore.bfs import Limits, explore
from kcheck.explore.replay import check_counterexample
from kcheck.explore.simulate import SimOptions, simulate
from kcheck.explore.store import SOURCE, generated_code
from kcheck.explore.timelock import ALLOWED_NOTE, TIMELOCK
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model import native
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel, State, StepError
from kcheck.result import HOLDS, VIOLATED, CheckResult, PropertyResult
from tests.lang.test_time_engines import TEMPLATE, timed_models

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "timelock.kdsl"

needs_native = pytest.mark.skipif(
    native.load_extension(SOURCE, "_store") is None,
    reason="no C compiler here: the Python store is in use",
)

# an urgent action that waits for a counter another action raises: always able to fire
ALWAYS = """model always
var c: clock = 0
var n: 0..3 = 0
process p {
  action grow when n < 3 { n := n + 1 }
  action fire when after(c, 2) within 1 { c := 0 }
}
invariant small: n <= 3
"""

# no time: once `n` is 3 nothing is enabled, which is a quiescent controller, not a timelock
UNTIMED = """model quiet
var n: 0..3 = 0
process p {
  action grow when n < 3 { n := n + 1 }
}
invariant small: n <= 3
"""

# the urgent action is blocked by a condition that stays (`ok` is never set again)
BLOCKED = """model blocked
var c: clock = 0
var ok: bool = true
process p {
  action spoil when ok { ok := false }
  action fire when after(c, 1) within 0 { choose k in 0..1 where ok { c := 0 } }
}
invariant fine: true
"""


def _compiled(text: str, symmetry: bool = True) -> CompiledModel:
    return compile_model(check_source(Source("t.kdsl", text)).symbols, symmetry=symmetry)


def _timelock(result: CheckResult) -> PropertyResult | None:
    found = [p for p in result.properties if p.kind == "timelock"]
    assert len(found) <= 1
    return found[0] if found else None


def _dead_depth(model: CompiledModel) -> int | None:
    """The least depth of a reachable state without any successor (a failing step leaves the
    state out: that is a bound hit), by a plain BFS over the Python successor function."""
    depth = {s: 0 for s in model.initial()}
    todo: deque[State] = deque(depth)
    best: int | None = None
    while todo:
        s = todo.popleft()
        try:
            nexts = model.successors(s)
        except StepError:
            nexts = [
                t
                for outs in model.action_outcomes
                for _, _, t in outs(s)
                if not isinstance(t, StepError)
            ]
        else:
            if not nexts and best is None:
                best = depth[s]
        for t in nexts:
            if t not in depth:
                depth[t] = depth[s] + 1
                todo.append(t)
    return best


def test_a_deadline_whose_step_gives_nothing_stops_time() -> None:
    model = _compiled(FIXTURE.read_text())
    result = explore(model)
    lock = _timelock(result)
    assert lock is not None and lock.name == TIMELOCK and lock.status == VIOLATED
    assert lock.trace is not None and len(lock.trace) == 5 == _dead_depth(model)
    last = lock.trace.steps[-1].state
    assert last is not None and last["n"] == 3 and last["c"] == 2
    assert lock.reason is not None and "`p.fire`" in lock.reason
    assert lock.line == 12  # the due action's line
    check_counterexample(model, lock)  # replays, and no step is possible at its end
    assert result.verdict == VIOLATED
    # the invariant itself was checked on every state
    assert [p.status for p in result.properties if p.kind == "invariant"] == [HOLDS]


def test_a_deadline_blocked_by_a_condition_that_stays_stops_time() -> None:
    model = _compiled(BLOCKED)
    lock = _timelock(explore(model))
    assert lock is not None and lock.trace is not None
    assert [s.action for s in lock.trace.steps[1:]] == ["p.spoil", "time.tick"]


def test_a_deadline_that_can_always_fire_is_no_timelock() -> None:
    result = explore(_compiled(ALWAYS))
    assert _timelock(result) is None and result.verdict == HOLDS


def test_an_untimed_quiescent_state_is_not_reported() -> None:
    model = _compiled(UNTIMED)
    assert not model.timed and _dead_depth(model) == 3
    result = explore(model)
    assert _timelock(result) is None and result.verdict == HOLDS
    assert ALLOWED_NOTE not in explore(model, limits=Limits(allow_timelocks=True)).notes


def test_allow_timelocks_turns_the_check_off_and_says_so() -> None:
    result = explore(_compiled(FIXTURE.read_text()), limits=Limits(allow_timelocks=True))
    assert _timelock(result) is None and result.verdict == HOLDS
    assert ALLOWED_NOTE in result.notes


def test_the_state_graph_search_finds_it_too() -> None:
    text = FIXTURE.read_text() + "property calm: always eventually n == 3\n"
    lock = _timelock(explore(_compiled(text)))
    assert lock is not None and lock.trace is not None and len(lock.trace) == 5


def test_simulate_reports_the_timelock_it_walks_into() -> None:
    model = _compiled(FIXTURE.read_text())
    result = simulate(model, options=SimOptions(traces=20, depth=30))
    lock = _timelock(result)
    assert lock is not None and lock.status == VIOLATED and lock.trace is not None
    check_counterexample(model, lock)
    allowed = simulate(model, options=SimOptions(traces=20, depth=30, allow_timelocks=True))
    assert _timelock(allowed) is None and ALLOWED_NOTE in allowed.notes


def test_the_cli_exits_1_names_the_check_and_takes_the_opt_out() -> None:
    runner = CliRunner()
    got = runner.invoke(main, ["verify", str(FIXTURE), "-q", "--format", "json"])
    assert got.exit_code == 1, got.output
    doc = json.loads(got.stdout)
    assert [p["name"] for p in doc["properties"] if p["kind"] == "timelock"] == [TIMELOCK]
    allowed = runner.invoke(main, ["verify", str(FIXTURE), "-q", "--allow-timelocks"])
    assert allowed.exit_code == 0, allowed.output
    assert "--allow-timelocks" in allowed.output
    # the Z3 engines look too (tests/smt/test_timelocks_z3.py), but not over symbolic params
    z3 = runner.invoke(
        main, ["verify", str(FIXTURE), "-q", "--engine", "induction", "--format", "json"]
    )
    assert z3.exit_code == 1, z3.output
    doc = json.loads(z3.stdout)
    assert [p["name"] for p in doc["properties"] if p["kind"] == "timelock"] == [TIMELOCK]
    symbolic = ["verify", str(FIXTURE), "-q", "--engine", "induction", "--symbolic-params"]
    z3 = runner.invoke(main, symbolic)
    assert z3.exit_code == 0, z3.output
    assert "does not look for timelocks" in z3.output


# the generated models of test_time_engines.py, whose `again` waits for a `choose` that may
# find nothing: with a deadline on it, time can stop at phase 2
STUCK = ["j.done", "not j.done", "after(j.age, A)", "j.done and j.age > A", "false"]
AGAIN = "  action again when phase == 2 {{ phase := 0 }}"


@st.composite
def stuck_models(draw: st.DrawFn) -> str:
    parts = draw(timed_models())
    body = f"choose j in Job where {draw(st.sampled_from(STUCK))} {{{{ phase := 0 }}}}"
    wait = draw(st.sampled_from(["", " within 0", " within 0", " within 1"]))
    template = TEMPLATE.replace(AGAIN, f"  action again when phase == 2{wait} {{{{ {body} }}}}")
    assert template != TEMPLATE
    return template.format(**parts, extra="")


def _agrees(model: CompiledModel, result: CheckResult, want: int | None) -> None:
    lock = _timelock(result)
    if want is None:
        assert lock is None
        return
    assert lock is not None and lock.trace is not None
    assert len(lock.trace) == want
    check_counterexample(model, lock)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stuck_models(), st.booleans())
def test_the_search_finds_exactly_the_shallowest_state_without_a_step(
    text: str, graph: bool
) -> None:
    text += "property settles: always eventually phase == 0\n" if graph else ""
    note(text)
    model = _compiled(text, symmetry=False)
    want = _dead_depth(model)
    # with a property, the search that keeps the graph
    props: list[str] | None = None if graph else []
    _agrees(model, explore(model, symmetry=False, properties=props, packed=False), want)
    _agrees(model, explore(model, symmetry=False, properties=props), want)


@needs_native
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stuck_models(), st.booleans())
def test_the_generated_code_finds_the_same_timelock(text: str, graph: bool) -> None:
    text += "property settles: always eventually phase == 0\n" if graph else ""
    note(text)
    model = _compiled(text, symmetry=False)
    want = _dead_depth(model)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bfs, "GEN_AFTER", 0)  # the model's C from the first state on
        got = explore(model, symmetry=False, properties=None if graph else [])
    _agrees(model, got, want)


@needs_native
def test_the_generated_code_stops_at_the_fixture_timelock() -> None:
    model = _compiled(FIXTURE.read_text(), symmetry=False)
    assert generated_code(model, False) is not None  # the search below runs in C
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bfs, "GEN_AFTER", 0)
        got = explore(model, symmetry=False)
    _agrees(model, got, 5)
