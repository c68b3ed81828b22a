"""Every printed trace is a behaviour of the model as written (issue 12, point 11): it starts at
the initial state exactly as `init` creates it, even when symmetry reduction stored a renaming
of it, and follows the model's own steps; objects keep one display name for their lifetime, and
a new object never takes a deleted one's name (spec/reports.md#object-names)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings

from kcheck.explore.bfs import Limits, explore
from kcheck.explore.replay import TraceMismatch, check_counterexample, replay
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel
from kcheck.report.text import format_trace
from kcheck.result import VIOLATED, PropertyResult
from kcheck.smt.bmc import bmc
from kcheck.trace import ObjectNames, Step, Trace
from tests.explore.modelgen import models

MODELS = Path(__file__).resolve().parents[2] / "models"
EXPECT = re.compile(r"^// expect: violated (\w+) steps=(\d+)", re.M)
KNOWN_BAD = sorted(f.name for f in MODELS.glob("*.kdsl") if EXPECT.search(f.read_text()))

# `init` creates the Web service first; the symmetry reduction's representative sorts Cart
# first, so the stored initial state is a renaming of the real one (models/ingress_selects_pods
# showed `Service#0 {app=Cart}` at step 0 this way).
WEB_FIRST = """model web_first
enum App { Web, Cart }
kind Service[2] {
  app: App
  up: bool = false
}
init {
  create Service { app: Web }
  create Service { app: Cart }
}
process p {
  action start for s in Service where not s.up { s.up := true }
}
invariant cart_never_up: not (exists s in Service: s.app == Cart and s.up)
"""

# One slot: a new pod can only be created in the slot the deleted one left.
REBORN = """model reborn
kind Pod[1] {
  gen: 0..2 = 0
}
var created: 0..2 = 1
init { create Pod { } }
process p {
  action kill for q in Pod { delete q }
  action spawn when count(Pod) == 0 and created < 2 {
    create Pod { gen: created }
    created := created + 1
  }
  action bump for q in Pod where q.gen == 1 { q.gen := 2 }
}
invariant never_bumped: forall q in Pod: q.gen < 2
"""


def compiled(text: str, symmetry: bool = True) -> CompiledModel:
    checked = check_source(Source("m.kdsl", text))
    return compile_model(checked.symbols, symmetry=symmetry)


def violation(model: CompiledModel, name: str, symmetry: bool = True) -> PropertyResult:
    inv = [i.name for i in model.invariants if i.name == name]
    props = [p.name for p in model.properties if p.name == name]
    result = explore(
        model, invariants=inv, properties=props, symmetry=symmetry, limits=Limits(timeout=120)
    )
    (p,) = [p for p in result.properties if p.name == name]
    assert p.status == VIOLATED and p.trace is not None
    return p


def literal_initial_states(model: CompiledModel) -> list[dict[str, object]]:
    kinds = [k.name for k in model.layout.kinds]
    return [ObjectNames(kinds).state(model.layout.decode(s)) for s in model.initial()]


def test_a_trace_starts_at_the_initial_state_init_creates_not_a_renaming() -> None:
    model = compiled(WEB_FIRST)
    (canonical,) = {model.canonicalize(s) for s in model.initial()}  # type: ignore[misc]
    (real,) = model.initial()
    assert canonical != real  # the case this test is about: symmetry stores a renaming
    trace = violation(model, "cart_never_up").trace
    assert trace is not None
    first = trace.steps[0].state
    assert first is not None
    assert first["Service"] == {
        "Service#0": {"app": "Web", "up": False},
        "Service#1": {"app": "Cart", "up": False},
    }
    assert trace.steps[1].args == {"s": "Service#1"}


def test_a_new_object_never_takes_a_deleted_ones_name() -> None:
    for symmetry in (True, False):
        model = compiled(REBORN, symmetry)
        trace = violation(model, "never_bumped", symmetry).trace
        assert trace is not None
        shown = "\n".join(format_trace(trace))
        assert [s.action for s in trace.steps] == [None, "p.kill", "p.spawn", "p.bump"]
        assert "- Pod#0" in shown and "+ Pod#1 {gen=1}" in shown
        assert "+ Pod#0" not in shown
        assert trace.steps[3].args == {"q": "Pod#1"}


def test_bmc_traces_name_objects_the_same_way() -> None:
    checked = check_source(Source("m.kdsl", REBORN))
    model = compile_model(checked.symbols, symmetry=False)
    result = bmc(model, checked.symbols, depth=3)
    (p,) = [p for p in result.properties if p.name == "never_bumped"]
    assert p.status == VIOLATED and p.trace is not None
    assert p.trace.steps[3].args == {"q": "Pod#1"}
    check_counterexample(model, p)


def test_display_names_follow_creation_order_and_outlive_deletion() -> None:
    names = ObjectNames(["Pod", "Node"])
    first = names.state({"Pod": {"Pod#1": {"n": "Node#0"}, "Pod#0": {}}, "Node": {"Node#0": {}}})
    assert first["Pod"] == {"Pod#0": {}, "Pod#1": {"n": "Node#0"}}  # slot order at the start
    # Pod#0 is deleted; a cache and a reference still remember it
    second = names.state(
        {"Pod": {"Pod#1": {}}, "Node": {"Node#0": {}}, "c@Pod": {"c@Pod#0": {}}, "v": "Pod#0"}
    )
    assert second["c@Pod"] == {"c@Pod#0": {}} and second["v"] == "Pod#0"
    # a new pod in the freed slot is a new object, named next; args name objects before a step
    assert names.args({"q": "Pod#1", "s": ["Pod#1"]}) == {"q": "Pod#1", "s": ["Pod#1"]}
    third = names.state({"Pod": {"Pod#0": {}, "Pod#1": {}}, "Node": {"Node#0": {}}})
    assert list(third["Pod"]) == ["Pod#1", "Pod#2"]  # listed by name, not by slot
    assert names.args({"q": "Pod#0", "w": "x:act#Pod#0"}) == {"q": "Pod#2", "w": "x:act#Pod#2"}


def test_replay_rejects_a_trace_that_is_not_a_behaviour() -> None:
    model = compiled(REBORN)
    p = violation(model, "never_bumped")
    assert p.trace is not None
    check_counterexample(model, p)
    steps = list(p.trace.steps)
    state = dict(steps[0].state or {})
    state["created"] = 0
    with pytest.raises(TraceMismatch, match="step 0"):
        replay(model, Trace((Step(None, {}, state), *steps[1:])))
    with pytest.raises(TraceMismatch, match="step 2"):
        replay(model, Trace((*steps[:2], steps[3])))
    holds = Trace(tuple(steps[:3]))
    with pytest.raises(TraceMismatch, match="holds in the last state"):
        check_counterexample(model, PropertyResult(p.name, p.kind, VIOLATED, p.line, holds))


@pytest.mark.parametrize("name", KNOWN_BAD)
def test_every_counterexample_of_a_known_bad_model_starts_at_init_and_replays(name: str) -> None:
    text = (MODELS / name).read_text()
    m = EXPECT.search(text)
    assert m is not None
    checked = check_source(Source(name, text))
    model = compile_model(checked.symbols, symmetry=True)
    result = explore(model, symmetry=True, limits=Limits(timeout=300))
    traces = [p for p in result.properties if p.trace is not None]
    assert any(p.name == m.group(1) for p in traces)
    inits = literal_initial_states(model)
    kinds = [k.name for k in model.layout.kinds]
    for p in traces:
        assert p.trace is not None
        assert p.trace.steps[0].state in inits, f"{p.name}: step 0 is not a state init creates"
        check_counterexample(model, p)
        assert_no_name_comes_back(p.trace, kinds)


def assert_no_name_comes_back(trace: Trace, kinds: list[str]) -> None:
    """Once an object is gone from a trace's live objects, its name never names a live one."""
    gone: set[str] = set()
    live: set[str] = set()
    for i, step in enumerate(trace.steps):
        if step.state is None:
            continue
        now = {o for k in kinds for o in step.state.get(k, {})}
        assert not now & gone, f"step {i}: {sorted(now & gone)} reused"
        gone |= live - now
        live = now


def test_json_carries_the_display_names() -> None:
    model = compiled(REBORN)
    p = violation(model, "never_bumped")
    data = p.to_json()
    steps = data["trace"]
    assert list(steps[1]["state"]["Pod"]) == [] and steps[1]["args"] == {"q": "Pod#0"}
    assert list(steps[2]["state"]["Pod"]) == ["Pod#1"]
    assert steps[3]["args"] == {"q": "Pod#1"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models() | models(controller_state=True))
def test_every_trace_of_a_generated_model_is_a_literal_behaviour(text: str) -> None:
    """With symmetry on and off: each counterexample starts at a state `init` creates, replays
    step by step, and never gives a deleted object's name to a new one."""
    note(text)
    checked = check_source(Source("generated.kdsl", text))
    for symmetry in (True, False):
        model = compile_model(checked.symbols, symmetry=symmetry)
        result = explore(model, symmetry=symmetry, limits=Limits(max_states=20_000, timeout=30))
        inits = literal_initial_states(model)
        kinds = [k.name for k in model.layout.kinds]
        for p in result.properties:
            if p.trace is None:
                continue
            first = p.trace.steps[0]
            assert first.state is None or first.state in inits
            check_counterexample(model, p)
            assert_no_name_comes_back(p.trace, kinds)


FLIP = """model flip
var x: 0..1 = 0
process p { action flip { x := 1 - x } }
property settles: eventually always x == 1
property visits: always eventually x == 1
"""


def test_a_lasso_is_believed_only_for_a_property_it_breaks() -> None:
    model = compiled(FLIP)
    settles = violation(model, "settles")
    assert settles.trace is not None and settles.trace.loop_start is not None
    check_counterexample(model, settles)
    forged = PropertyResult("visits", "property", VIOLATED, settles.line, settles.trace)
    with pytest.raises(TraceMismatch, match="does not break it"):
        check_counterexample(model, forged)
