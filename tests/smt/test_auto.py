"""`--engine auto`: the explicit engine's answer where the state space fits the budget; past it,
the explicit verdicts it reached are kept and Z3 decides the invariants left open, each entry
naming its engine."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import kcheck.engines.auto as auto_module
from kcheck.cli.main import main
from kcheck.engines.auto import auto
from kcheck.explore.bfs import Limits, explore
from kcheck.lang.frontend import load
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel
from kcheck.result import HOLDS, INCONCLUSIVE, VIOLATED, CheckResult
from tests.explore.test_reference_agreement import assert_replays

MODELS = Path(__file__).resolve().parents[2] / "models"


def _auto(name: str) -> tuple[CompiledModel, CheckResult]:
    checked = load(str(MODELS / f"{name}.kdsl"))
    model = compile_model(checked.symbols)
    result = auto(model, checked.symbols, invariants=None, properties=None, symmetry=True,
                  limits=Limits(), depth=8, max_k=3)  # fmt: skip
    return model, result


def test_a_model_that_fits_gets_the_explicit_engines_answer() -> None:
    model, result = _auto("scheduler_stale_snapshot")
    explicit = explore(model)
    assert result.engine == "explicit"
    got = [(p.name, p.status, p.engine) for p in result.properties]
    assert got == [(p.name, p.status, "explicit") for p in explicit.properties]


def test_past_the_budget_induction_proves_what_the_search_left_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(auto_module, "STATE_BUDGET", 50)
    _, result = _auto("scheduler")
    assert result.engine == "auto"
    assert result.limit == "max-states 50"
    assert [(p.name, p.status, p.engine, p.reason) for p in result.properties] == [
        ("no_overcommit", HOLDS, "induction", "induction: proved (k = 1)"),
        ("running_pods_are_bound", HOLDS, "induction", "induction: proved (k = 1)"),
        (
            "every_schedulable_pod_bound",
            INCONCLUSIVE,
            "explicit",
            "explicit: the search stopped at max-states 50 before covering every state",
        ),
    ]


def test_past_the_budget_a_deeper_violation_is_found_with_its_shortest_trace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(auto_module, "STATE_BUDGET", 5)  # too few to reach depth 4
    model, result = _auto("scheduler_stale_snapshot")
    by_name = {p.name: p for p in result.properties}
    found = by_name["no_overcommit"]
    assert found.status == VIOLATED and found.engine in ("induction", "bmc")
    assert found.trace is not None and len(found.trace) == 4
    assert_replays(model, found.trace)


def test_auto_is_the_default_and_symbolic_params_need_a_z3_engine() -> None:
    path = str(MODELS / "smt_scheduler_params.kdsl")
    r = CliRunner().invoke(main, ["verify", path, "-q", "--format", "json"])
    assert r.exit_code == 0, r.output
    assert '"engine": "explicit"' in r.output
    r = CliRunner().invoke(main, ["verify", path, "-q", "--symbolic-params"])
    assert r.exit_code == 2
    assert r.output.strip() == (
        "kcheck: error: --symbolic-params needs --engine bmc or --engine induction"
    )


# ---- issue 20.3: the search goes on past the budget when the rest is predicted to fit, and
# --timeout bounds the whole run


def test_the_prediction_is_finite_only_once_the_levels_shrink() -> None:
    # levels of 1, 4, 10 and 6 states; 3 of the 6 expanded, which found `found` new states
    starts, level_end, i = [0, 1, 5, 15], 21, 18
    # 2 per 3 expanded: a next level of 4, then shrinking by 4/6 for good: 8 more
    assert auto_module.predicted_states(starts, level_end, i, 21 + 2) == pytest.approx(33)
    assert auto_module.predicted_states(starts, level_end, i, 21 + 3) == float("inf")
    assert auto_module.predicted_states(starts, level_end, i, 21 + 9) == float("inf")


def test_a_space_just_over_the_budget_is_searched_to_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # replicaset has 808 states; at 740 its breadth-first levels shrink
    monkeypatch.setattr(auto_module, "STATE_BUDGET", 740)
    model, result = _auto("replicaset")
    assert (result.engine, result.complete, result.limit) == ("explicit", True, None)
    assert result.stats.states == explore(model).stats.states == 808
    # far over the budget (or still growing), Z3 takes over, and never past twice the budget
    monkeypatch.setattr(auto_module, "STATE_BUDGET", 300)
    _, result = _auto("replicaset")
    assert result.engine == "auto" and result.stats.states <= 600


def test_the_z3_phases_share_what_the_search_left_of_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import kcheck.smt.bmc as bmc_module
    import kcheck.smt.induction as induction_module

    given: dict[str, float] = {}
    real_induction, real_bmc = induction_module.induction, bmc_module.bmc

    def induction(*args: Any, **kwargs: Any) -> CheckResult:
        given["induction"] = args[4]
        return real_induction(*args, **kwargs)

    def bmc(*args: Any, **kwargs: Any) -> CheckResult:
        given["bmc"] = args[4]
        return real_bmc(*args, **kwargs)

    monkeypatch.setattr(induction_module, "induction", induction)
    monkeypatch.setattr(bmc_module, "bmc", bmc)
    monkeypatch.setattr(auto_module, "STATE_BUDGET", 400)
    checked = load(str(MODELS / "replicaset.kdsl"))
    model = compile_model(checked.symbols)
    result = auto(model, checked.symbols, invariants=None, properties=None, symmetry=True,
                  limits=Limits(timeout=50), depth=12, max_k=2)  # fmt: skip
    assert result.engine == "auto"
    assert 0 < given["bmc"] < given["induction"] < 50


# ---- issue 21.3: auto says what each phase did, and skips a phase that cannot add anything


def test_bmc_is_not_run_where_the_search_already_went_deeper(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(auto_module, "STATE_BUDGET", 400)  # stops with 9 steps covered
    _, result = _auto("replicaset")  # --depth 8
    assert result.engine == "auto"
    assert any("BMC not run" in n and "--depth 8" in n for n in result.notes)
    for p in result.properties:
        if p.kind == "invariant":
            assert p.reason is not None and "bmc" not in p.reason
            assert "the explicit search found no violation in 9 steps;" in p.reason
            assert p.reason.endswith("a simulation never proves an invariant")


def test_bmcs_reason_is_its_own_not_the_depth_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    import kcheck.smt.bmc as bmc_module

    def short(*args: Any, **kwargs: Any) -> CheckResult:
        # a BMC that ran out of time at depth 11 of the 30 asked for
        result: CheckResult = real(*args[:2], 11, *args[3:], **kwargs)
        for i, p in enumerate(result.properties):
            result.properties[i] = replace(p, reason="Z3 answered unknown (timeout) at depth 11")
        return result

    real = bmc_module.bmc
    monkeypatch.setattr(bmc_module, "bmc", short)
    monkeypatch.setattr(auto_module, "STATE_BUDGET", 400)
    checked = load(str(MODELS / "replicaset.kdsl"))
    model = compile_model(checked.symbols)
    result = auto(model, checked.symbols, invariants=None, properties=None, symmetry=True,
                  limits=Limits(), depth=30, max_k=2)  # fmt: skip
    for p in result.properties:
        if p.kind == "invariant":
            assert p.reason is not None
            assert "bmc: Z3 answered unknown (timeout) at depth 11; simulate: " in p.reason
            assert "depth 30" not in p.reason
