"""What the Z3 engines claim, held against what they checked (issues 12, 20 and 21): a temporal
property they do not check is listed as not checked, never dropped; a declared initial value
outside its range fails `init` in every engine; a proof is `holds` only when it is proved that
no step leaves the model's bounds, and its JSON says what it rests on; induction tries every
goal at k = 1 before deepening any, and the invariants together before giving up on one; a
symbolic bound error exactly --max-k steps deep has its concrete witness."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source, load
from kcheck.model.compile import compile_model
from kcheck.model.ir import StepError
from kcheck.result import HOLDS, INCONCLUSIVE, NOT_CHECKED, VIOLATED, CheckResult
from kcheck.run.interpreter import Interpreter, RunConfig
from kcheck.run.sim import SimDriver
from kcheck.smt import prover as prover_module
from kcheck.smt.bmc import bmc
from kcheck.smt.induction import induction
from kcheck.smt.params import symbolic_bmc
from kcheck.smt.prover import Goal, Outcome, Prover
from kcheck.smt.solver import Deadline
from tests.reference import Interpreter as Reference
from tests.reference import RefError

MODELS = Path(__file__).resolve().parents[2] / "models"

FLIP = """model flip
var x: 0..1 = 0
process p { action flip { x := 1 - x } }
property settles: eventually always x == 1
"""

WHY = "checks invariants only; temporal properties need the explicit engine"


def _checked(text: str, defines: dict[str, int] | None = None) -> Any:
    checked = check_source(Source("m.kdsl", text), defines or {})
    assert checked.symbols is not None
    return checked.symbols


def _engines(text: str) -> dict[str, CheckResult]:
    sym = _checked(text)
    model = compile_model(sym, symmetry=False)
    return {
        "bmc": bmc(model, sym, 4, None, 60),
        "induction": induction(model, sym, 3, None, 60),
        "symbolic bmc": symbolic_bmc(model, sym, 4, None, 60),
        "symbolic induction": induction(model, sym, 3, None, 60, symbolic_params=True),
    }


# ---- issue 12.1: a temporal property is listed as not checked, never dropped


def test_a_temporal_property_is_listed_not_checked_by_every_z3_engine_but_bmc() -> None:
    for name, result in _engines(FLIP).items():
        [p] = result.properties
        if name in ("bmc", "induction"):  # it finds the fair lasso (smt/lasso.py)
            assert (p.name, p.kind, p.status) == ("settles", "property", VIOLATED)
            assert p.trace is not None and p.trace.loop_start == 0
            continue
        assert (p.name, p.kind, p.status) == ("settles", "property", NOT_CHECKED), name
        assert p.reason is not None and p.reason.endswith(WHY), name
        assert not result.complete, name


def test_naming_invariants_only_lists_no_property_and_naming_one_lists_it() -> None:
    sym = _checked(FLIP + "invariant small: x <= 1\n")
    model = compile_model(sym, symmetry=False)
    only_invariant = induction(model, sym, 2, ["small"], 60)
    assert [p.name for p in only_invariant.properties] == ["small"]
    named = bmc(model, sym, 2, ["small"], 60, properties=["settles"])
    assert [(p.name, p.status) for p in named.properties] == [
        ("small", INCONCLUSIVE),
        ("settles", VIOLATED),
    ]


@pytest.mark.parametrize("name", ["hpa_vs_apply", "scheduler_starvation"])
def test_induction_never_claims_the_violated_convergence_properties_hold(name: str) -> None:
    # their invariants are proved, their temporal properties are violated (their `// expect:`
    # lines); induction once answered `holds` with the properties left out, and now looks for
    # their proofs and their fair lassos (smt/liveness.py)
    checked = load(str(MODELS / f"{name}.kdsl"))
    result = induction(compile_model(checked.symbols), checked.symbols, 6, None, 120)
    properties = [p for p in result.properties if p.kind == "property"]
    assert [p.name for p in properties] == [p.name for p in checked.symbols.properties]
    assert properties and all(p.status in (VIOLATED, INCONCLUSIVE) for p in properties)
    assert all(p.trace is not None for p in properties if p.status == VIOLATED)
    assert all(p.status == HOLDS for p in result.properties if p.kind == "invariant")
    assert result.verdict != HOLDS


# ---- issue 21.1 / 20.2: a declared default outside its range fails init, in every engine

VAR_DEFAULT = """model vdef
param P: 0..5 = 1
var x: 0..3 = P
process p { action tick when x < 3 { x := x + 1 } }
invariant small: x <= 5
"""

FIELD_DEFAULT = """model fdef
param C: 0..5 = 2
kind Pod[1] { cpu: 1..3 = C }
init { create Pod { } }
process q { action grow for z in Pod where z.cpu < 3 { z.cpu := z.cpu + 1 } }
invariant ok: forall z in Pod: z.cpu <= 5
"""


def _bound(result: CheckResult) -> list[tuple[str, str]]:
    return [(p.name, p.status) for p in result.properties if p.kind == "bound"]


@pytest.mark.parametrize(("text", "param"), [(VAR_DEFAULT, "P"), (FIELD_DEFAULT, "C")])
def test_a_default_out_of_range_fails_init_in_every_engine(text: str, param: str) -> None:
    sym = _checked(text, {param: 5})
    model = compile_model(sym, symmetry=False)
    with pytest.raises(StepError) as raised:
        model.initial()
    assert "leaves its range" in raised.value.message
    expected = [("bound: range in init", VIOLATED)]
    assert _bound(explore(model)) == expected
    assert _bound(bmc(model, sym, 3, None, 60)) == expected
    assert _bound(induction(model, sym, 3, None, 60)) == expected
    with pytest.raises(RefError, match="range"):
        Reference(sym).initial()
    run = Interpreter(model, SimDriver(), RunConfig(), lambda e: None).run().result
    assert _bound(run) == expected
    # in range, nothing fails
    fine = _checked(text, {param: 2})
    assert _bound(explore(compile_model(fine, symmetry=False))) == []


@pytest.mark.parametrize(("text", "param"), [(VAR_DEFAULT, "P"), (FIELD_DEFAULT, "C")])
def test_symbolic_params_find_the_smallest_default_out_of_range(text: str, param: str) -> None:
    sym = _checked(text)
    model = compile_model(sym, symmetry=False)
    smallest = 4 if param == "P" else 0  # x: 0..3 fails from 4; cpu: 1..3 fails at 0
    for result in (
        symbolic_bmc(model, sym, 3, None, 60),
        induction(model, sym, 3, None, 60, symbolic_params=True),
    ):
        [bound] = [p for p in result.properties if p.kind == "bound"]
        assert (bound.name, bound.status) == ("bound: range in init", VIOLATED)
        assert bound.reason is not None and f"fails for {param}={smallest}" in bound.reason
        assert all(p.status != HOLDS for p in result.properties)


# ---- issue 20.2: a symbolic bound error exactly --max-k steps deep

DEEP = """model deep
param S: 1..2 = 1
var x: 0..3 = 0
process p { action inc { x := x + S } }
invariant small: x <= 3
"""


def test_a_symbolic_bound_error_exactly_max_k_steps_deep_has_its_witness() -> None:
    sym = _checked(DEEP)
    model = compile_model(sym, symmetry=False)
    result = induction(model, sym, 2, None, 60, symbolic_params=True)
    [bound] = [p for p in result.properties if p.kind == "bound"]
    assert bound.status == VIOLATED and bound.trace is not None
    assert bound.reason is not None and "fails for S=2" in bound.reason
    fixed = _checked(DEEP, {"S": 2})
    fixed_model = compile_model(fixed, symmetry=False)
    [explicit] = [p for p in explore(fixed_model).properties if p.kind == "bound"]
    assert explicit.trace is not None and len(bound.trace) == len(explicit.trace) == 2


# ---- issue 21.2: a proof is `holds` only when no step leaves the bounds

DEEP_OVERFLOW = """model deep_overflow
var x: 0..9 = 0
var y: 0..1 = 0
process p { action inc { x := x + 1 } }
invariant y_zero: y == 0
"""


def test_a_proof_with_a_bound_error_deeper_than_max_k_is_not_holds() -> None:
    sym = _checked(DEEP_OVERFLOW)
    model = compile_model(sym, symmetry=False)
    [explicit] = [p for p in explore(model).properties if p.name == "y_zero"]
    assert explicit.status == INCONCLUSIVE  # the tenth step overflows x
    result = induction(model, sym, 3, None, 60)
    [p] = [p for p in result.properties if p.name == "y_zero"]
    assert p.status == INCONCLUSIVE
    assert p.reason == (
        "proved (k = 1) for the states within bounds, "
        "but it was not proved that no step leaves the bounds"
    )
    assert p.to_json()["proof"] == {"k": 1, "lemmas": [], "jointly": [], "bounds": "not proved"}
    # deep enough to reach the overflow: the bound entry is violated, the proof still not held
    deep = induction(model, sym, 11, None, 60)
    [q] = [p for p in deep.properties if p.name == "y_zero"]
    assert q.status == INCONCLUSIVE and q.proof is not None and q.proof.bounds == "violated"
    assert _bound(deep) == [("bound: range in p.inc", VIOLATED)]


def test_a_proof_within_bounds_is_holds_and_says_what_it_rests_on() -> None:
    sym = _checked(DEEP_OVERFLOW.replace("{ x := x + 1 }", "when x < 9 { x := x + 1 }"))
    result = induction(compile_model(sym, symmetry=False), sym, 3, None, 60)
    [p] = [p for p in result.properties if p.name == "y_zero"]
    assert p.status == HOLDS
    assert p.to_json()["proof"] == {"k": 1, "lemmas": [], "jointly": [], "bounds": "proved"}


# ---- issue 21.4: every goal at k = 1 first, each its own share; the invariants jointly

TWO_GOALS = """model two
var x: 0..7 = 0
var y: 0..7 = 0
controller c {
  action tick when x < 3 { x := x + 1  y := y + 1 }
}
invariant deep: x == y
invariant easy: x <= 7
"""


def test_every_goal_is_tried_at_k_1_before_any_is_tried_deeper(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tried: list[tuple[str, int, float, float]] = []
    real = Prover.attempt

    def attempt(self: Prover, goal: Goal, k: int, max_k: int, deadline: Deadline) -> Outcome:
        tried.append((goal.name, k, deadline.remaining(), self.deadline.remaining()))
        return real(self, goal, k, max_k, deadline)

    monkeypatch.setattr(prover_module.Prover, "attempt", attempt)
    sym = _checked(TWO_GOALS.replace("x == y", "y <= 3"))
    result = induction(compile_model(sym, symmetry=False), sym, 4, None, 60)
    order = [(name, k) for name, k, _, _ in tried if not name.startswith("@well")]
    first_deeper = next(i for i, (_, k) in enumerate(order) if k > 1)
    assert {n for n, k in order[:first_deeper]} >= {"deep", "easy", "@bound"}
    # the first attempt of a round of three goals gets a third of the run's time, not all
    _, _, mine, run = next(t for t in tried if not t[0].startswith("@well"))
    assert mine <= run / 3 + 0.1
    assert {p.name: p.status for p in result.properties}["easy"] == HOLDS


def test_the_invariants_are_tried_jointly_before_a_counterexample_to_induction() -> None:
    # y <= 3 alone is not inductive (y = 3, x = 2 steps to y = 4); with x == y and x < 3
    # guarding the step, their conjunction is
    sym = _checked(TWO_GOALS.replace("x <= 7", "y <= 3"))
    result = induction(compile_model(sym, symmetry=False), sym, 2, None, 60)
    by_name = {p.name: p for p in result.properties}
    assert by_name["deep"].status == HOLDS
    easy = by_name["easy"]
    assert (easy.status, easy.reason) == (HOLDS, "proved (k = 1, jointly with deep)")
    assert easy.proof is not None and easy.proof.jointly == ("deep", "easy")


def test_a_goal_out_of_its_share_of_time_is_tried_again_before_it_is_given_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tried: list[tuple[str, int]] = []
    real = Prover.attempt

    def attempt(self: Prover, goal: Goal, k: int, max_k: int, deadline: Deadline) -> Outcome:
        if goal.name == "easy" and ("easy", k) not in tried:
            deadline.end = time.monotonic()  # its first share is used up at once
        tried.append((goal.name, k))
        return real(self, goal, k, max_k, deadline)

    monkeypatch.setattr(prover_module.Prover, "attempt", attempt)
    sym = _checked(TWO_GOALS.replace("x == y", "y <= 3"))
    result = induction(compile_model(sym, symmetry=False), sym, 4, None, 60)
    easy = {p.name: p for p in result.properties}["easy"]
    assert (easy.status, easy.reason) == (HOLDS, "proved (k = 1)")
    assert tried.count(("easy", 1)) == 2
