"""The engine dispatch: every engine's answer accounts for every property the run was asked
about, and what an engine cannot check is refused, not answered."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from kcheck.engines import dispatch
from kcheck.engines.dispatch import ENGINES, EngineOptions, Refused, check, state_space
from kcheck.explore.bfs import Limits, explore
from kcheck.lang.frontend import load
from kcheck.model.compile import compile_model
from kcheck.result import HOLDS, INCONCLUSIVE, NOT_CHECKED

MODEL = Path(__file__).resolve().parents[2] / "models" / "scheduler.kdsl"


@pytest.mark.parametrize("engine", ENGINES)
def test_every_engine_accounts_for_every_asked_property(engine: str) -> None:
    checked = load(str(MODEL))
    model = compile_model(checked.symbols)
    options = EngineOptions(engine, Limits(max_states=20_000), depth=3, max_k=2)
    result = check(model, checked.symbols, None, None, options)
    asked = {a.name for a in model.asked(None, None)}
    assert asked and asked <= {p.name for p in result.properties}
    temporal = [p for p in result.properties if p.kind == "property"]
    if engine in ("bmc", "induction"):  # no fair lasso within 3 steps, and no proof at k 2
        assert temporal and all(p.status == INCONCLUSIVE for p in temporal)


def test_a_property_the_engine_forgets_is_not_checked_and_the_run_cannot_hold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked = load(str(MODEL))
    model = compile_model(checked.symbols)
    answer = explore(model, limits=Limits(max_states=20_000))
    forgetful = replace(answer, properties=[p for p in answer.properties if p.kind == "bound"])
    monkeypatch.setattr(dispatch, "explore", lambda *args, **kwargs: forgetful)
    options = EngineOptions("explicit", named_as="the CI gate's engine")
    result = check(model, checked.symbols, None, None, options)
    missing = [p for p in result.properties if p.status == NOT_CHECKED]
    assert {p.name for p in missing} == {a.name for a in model.asked(None, None)}
    assert all(p.reason and p.reason.startswith("the CI gate's engine ") for p in missing)
    assert result.verdict != HOLDS


@pytest.mark.parametrize(
    ("options", "properties", "message"),
    [
        (
            EngineOptions("bmc", symbolic_params=True),
            ["every_schedulable_pod_bound"],
            "checks invariants only",
        ),
        (EngineOptions("explicit", symbolic_params=True), None, "--symbolic-params needs"),
        (EngineOptions("tla"), None, "no engine `tla`"),
    ],
)
def test_what_an_engine_cannot_check_is_refused(
    options: EngineOptions, properties: list[str] | None, message: str
) -> None:
    checked = load(str(MODEL))
    model = compile_model(checked.symbols)
    invariants: list[str] | None = [] if properties else None
    with pytest.raises(Refused, match=message):
        check(model, checked.symbols, invariants, properties, options)


def test_the_state_graph_is_recorded_by_the_explicit_engine_within_its_limit() -> None:
    checked = load(str(MODEL))
    model = compile_model(checked.symbols)
    space = state_space(model, EngineOptions("explicit", Limits(max_states=5000)))
    assert space.symmetry and len(space.states) == len(set(space.states)) > 1
    assert explore(model).stats.states == len(space.states)  # the same reachable states
    with pytest.raises(Refused, match="more than the limit of 10"):
        state_space(model, EngineOptions("explicit", Limits(max_states=10)))
    with pytest.raises(Refused, match="--engine bmc cannot record the state graph"):
        state_space(model, EngineOptions("bmc", Limits(max_states=5000)))
