"""Fair lassos found by Z3 (spec/smt.md, "Temporal properties") against the explicit engine:
one tiny model per fairness case (a property broken only without fairness, weak against strong
fairness, a behaviour that stops where only unfair actions are enabled, leads_to under a
`forall`), each lasso replayed step by step on the compiled model and its loop closed; and on
every model of models/ with temporal properties, BMC never reports a lasso the explicit engine
says does not exist."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kcheck.explore.bfs import Limits, explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source, load
from kcheck.model.compile import compile_model
from kcheck.result import HOLDS, INCONCLUSIVE, VIOLATED, PropertyResult
from kcheck.smt.bmc import bmc
from kcheck.smt.encode import Unsupported
from kcheck.smt.induction import induction
from kcheck.trace import Trace
from tests.explore.test_reference_agreement import assert_replays

MODELS = Path(__file__).resolve().parents[2] / "models"

# `finish` is enabled forever while `spin` loops: weak fairness forces it, an unfair one not
SPIN = """model spin
var done: bool = false
process p {
  {FAIRNESS}action finish when not done { done := true }
  action spin when not done { done := false }
}
property finishes: eventually always done
property recurs: always eventually done
property answered: not done leads_to done
"""

# `finish` is enabled only every other step while `toggle` runs forever: only strong fairness
# forces it
TOGGLE = """model toggle
var x: 0..1 = 0
var done: bool = false
process p {
  action toggle when not done { x := 1 - x }
  {FAIRNESS}action finish when x == 1 and not done { done := true }
}
property finishes: eventually always done
"""

# the only step left is a fault's: a behaviour may stop before it
STOPS = """model stops
var x: 0..2 = 0
process p { action up when x == 0 { x := 1 } }
fault f budget 1 { action jump when x == 1 { x := 2 } }
property reaches_two: eventually always x == 2
property recurs: always eventually x == 2
"""

# every pending pod is bound, or gone: with weak fairness a greedy binder may starve Pod#1
PODS = """model pods
enum Phase { Pending, Bound }
kind Pod[2] { phase: Phase = Pending }
init { create Pod { } create Pod { } }
process sched {
  action bind for p in Pod where p.phase == Pending { p.phase := Bound }
}
process churn {
  action unbind for p in Pod where p.phase == Bound { p.phase := Pending }
}
property each_bound: forall p in Pod: p.phase == Pending leads_to p.phase == Bound
property some_bound: always eventually exists p in Pod: p.phase == Bound
property never_two: always not (forall p in Pod: p.phase == Bound)
"""


def _load(text: str) -> Any:
    checked = check_source(Source("m.kdsl", text), {})
    assert checked.symbols is not None, checked
    return checked.symbols


def _both(text: str, depth: int = 8) -> tuple[dict[str, PropertyResult], dict[str, PropertyResult]]:
    sym = _load(text)
    model = compile_model(sym, symmetry=False)
    z3_run = bmc(model, sym, depth, None, 120)
    explicit = explore(model, symmetry=False)
    for p in z3_run.properties:
        if p.kind == "property" and p.trace is not None:
            assert_lasso(model, p.trace, p)
    pick = {p.name: p for p in z3_run.properties if p.kind == "property"}
    return pick, {p.name: p for p in explicit.properties if p.kind == "property"}


def assert_lasso(model: Any, trace: Trace, p: PropertyResult) -> None:
    """The lasso replays on the compiled model, and its last state is its loop start's."""
    assert_replays(model, trace)
    if p.reason and "cannot be evaluated" in p.reason:
        return
    if trace.loop_start is None:  # `always P`: a path to a state breaking P
        return
    assert 0 <= trace.loop_start < len(trace.steps)
    if trace.loop_renames:
        # a loop that deletes an object and creates one in its slot closes slot for slot, but
        # shows the new object under a new name (spec/liveness.md, "Lasso counterexamples")
        return
    assert trace.steps[-1].state == trace.steps[trace.loop_start].state


def _agree(z: dict[str, PropertyResult], e: dict[str, PropertyResult]) -> None:
    """Z3 never contradicts the explicit engine, and on these tiny models (every lasso shorter
    than the depth) finds every violation it finds."""
    for name, ex in e.items():
        assert z[name].status != HOLDS, name
        assert (z[name].status == VIOLATED) == (ex.status == VIOLATED), (name, z[name], ex)


@pytest.mark.parametrize("fairness", ["", "unfair ", "strong "])
def test_a_loop_that_starves_an_action_is_a_lasso_only_when_the_action_is_unfair(
    fairness: str,
) -> None:
    z, e = _both(SPIN.replace("{FAIRNESS}", fairness))
    _agree(z, e)
    expected = VIOLATED if fairness == "unfair " else INCONCLUSIVE
    assert {p.status for p in z.values()} == {expected}
    if fairness == "unfair ":
        trace = z["finishes"].trace
        assert trace is not None and trace.loop_start is not None
        assert [s.action for s in trace.steps[trace.loop_start + 1 :]] == ["p.spin"]


@pytest.mark.parametrize("fairness", ["", "strong "])
def test_weak_fairness_lets_a_toggling_loop_starve_an_action_strong_does_not(
    fairness: str,
) -> None:
    z, e = _both(TOGGLE.replace("{FAIRNESS}", fairness))
    _agree(z, e)
    status = z["finishes"].status
    assert status == (VIOLATED if fairness == "" else INCONCLUSIVE)
    if status == VIOLATED:
        trace = z["finishes"].trace
        assert trace is not None and trace.loop_start is not None
        loop = trace.steps[trace.loop_start + 1 :]
        assert {s.action for s in loop} == {"p.toggle"} and len(loop) == 2


def test_a_behaviour_may_stop_where_only_a_fault_is_enabled() -> None:
    z, e = _both(STOPS)
    _agree(z, e)
    trace = z["reaches_two"].trace
    assert trace is not None
    assert trace.loop_start == len(trace.steps) - 1 == 1  # it stays at x = 1 forever
    assert trace.waiting == ("f.jump",)
    assert z["recurs"].status == VIOLATED


def test_leads_to_under_forall_names_the_starved_binding_and_always_is_a_path() -> None:
    z, e = _both(PODS)
    _agree(z, e)
    each = z["each_bound"]
    assert each.reason is not None and each.reason.startswith("for p=Pod#")
    assert "its left side holds at step" in each.reason
    never = z["never_two"]
    assert never.trace is not None and never.trace.loop_start is None
    assert len(never.trace) == 2  # a shortest path, as for an invariant
    assert z["some_bound"].status == INCONCLUSIVE


def test_a_formula_that_cannot_be_evaluated_is_a_violation_in_both_engines() -> None:
    text = """model undef
kind Pod[1] { next: Pod? = none }
init { create Pod { } }
process p { action nop for q in Pod { q.next := none } }
property reads_none: eventually always forall q in Pod: q.next.next == none
"""
    z, e = _both(text)
    _agree(z, e)
    assert "cannot be evaluated" in (z["reads_none"].reason or "")


def test_no_lasso_up_to_the_depth_is_inconclusive_never_holds() -> None:
    z, _ = _both(SPIN.replace("{FAIRNESS}", ""), depth=3)
    assert all(p.status == INCONCLUSIVE for p in z.values())
    assert z["finishes"].reason == "no fair lasso of at most 3 steps"


# ---- every model with temporal properties: no Z3 answer the explicit engine contradicts
WITH_PROPERTIES = sorted(p.name for p in MODELS.glob("*.kdsl") if "\nproperty " in p.read_text())
EXPECT = re.compile(r"^// expect: (holds|violated (\w+) steps=\d+)\s*$", re.M)
SECONDS = 10  # per Z3 run; an answer Z3 does not reach in time is inconclusive


def _explicit_verdicts(path: Path, checked: Any) -> dict[str, str]:
    """The explicit engine's verdict per temporal property: a model whose `// expect:` line says
    `holds` holds everywhere (tests/test_models.py holds it to that); others are explored."""
    found = EXPECT.search(path.read_text())
    assert found is not None, path
    if found.group(1) == "holds":
        return {p.name: HOLDS for p in checked.symbols.properties}
    explicit = explore(
        compile_model(checked.symbols),
        invariants=[],
        limits=Limits(max_states=200_000, timeout=30),
    )
    return {p.name: p.status for p in explicit.properties if p.kind == "property"}


@pytest.mark.parametrize("name", WITH_PROPERTIES)
def test_the_z3_engines_never_contradict_the_explicit_engine_on_the_models(name: str) -> None:
    checked = load(str(MODELS / name))
    model = compile_model(checked.symbols, symmetry=False)
    names = [p.name for p in checked.symbols.properties]
    try:
        runs = [
            bmc(model, checked.symbols, 4, [], SECONDS, properties=names),
            induction(model, checked.symbols, 2, [], SECONDS, properties=names),
        ]
    except Unsupported:
        pytest.skip("not encoded by the Z3 engine")
    known = _explicit_verdicts(MODELS / name, checked)
    for run in runs:
        for p in run.properties:
            if p.kind != "property":
                continue
            if p.status == VIOLATED:
                assert p.trace is not None
                assert_lasso(model, p.trace, p)
                assert known[p.name] != HOLDS, (run.engine, p.name, p.reason)
            if p.status == HOLDS:
                assert known[p.name] != VIOLATED, (run.engine, p.name, p.reason)
