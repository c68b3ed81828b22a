"""`--engine auto`: the explicit engine's answer where the state space fits the budget; past it,
the explicit verdicts it reached are kept and Z3 decides the invariants left open, each entry
naming its engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import kcheck.smt.auto as auto_module
from kcheck.cli import main
from kcheck.explore.bfs import Limits, explore
from kcheck.lang.frontend import load
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel
from kcheck.result import HOLDS, INCONCLUSIVE, VIOLATED, CheckResult
from kcheck.smt.auto import auto
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
