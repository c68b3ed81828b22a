"""Every way a Z3 engine can answer `holds` or `proved`, held to having checked it (issue 13,
"Soundness first"): a lemma that was not itself proved never carries a proof, a Z3 `unknown`
anywhere on the way to a verdict leaves it open, and a violation is reported only with a
trace that replays."""

from __future__ import annotations

from typing import Any

import pytest

from kcheck.engines.dispatch import EngineOptions, check
from kcheck.explore.bfs import Limits, explore
from kcheck.explore.replay import check_counterexample
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.result import HOLDS, INCONCLUSIVE, VIOLATED, CheckResult
from kcheck.smt import params as params_module
from kcheck.smt.bmc import bmc
from kcheck.smt.induction import induction


def _sym(text: str) -> Any:
    return check_source(Source("audit.kdsl", text)).symbols


def _statuses(result: CheckResult) -> dict[str, str]:
    return {p.name: p.status for p in result.properties}


# A lemma false only from depth 5 on: assumed, it would make `y_zero` (false from depth 6)
# 1-inductive, as no state with x < 5 enables `flag`.
FALSE_LEMMA = """model false_lemma
var x: 0..7 = 0
var y: 0..1 = 0
controller c {
  action inc when x < 7 { x := x + 1 }
  action flag when x == 5 { y := 1 }
}
lemma x_small: x < 5
invariant y_zero: y == 0
"""


@pytest.mark.parametrize("max_k", [1, 2, 3, 5])
def test_a_false_lemma_deeper_than_the_base_case_proves_nothing(max_k: int) -> None:
    sym = _sym(FALSE_LEMMA)
    model = compile_model(sym)
    explicit = _statuses(explore(model))
    assert explicit["x_small"] == VIOLATED and explicit["y_zero"] == VIOLATED
    result = induction(model, sym, max_k, None, 60)
    got = {p.name: p for p in result.properties}
    # its base case (max_k - 1 steps) is too shallow to refute it: not proved, never assumed
    assert got["x_small"].status == INCONCLUSIVE and got["x_small"].proof is None
    assert got["y_zero"].status == INCONCLUSIVE and got["y_zero"].proof is None
    assert "x_small" not in (got["y_zero"].reason or "")
    assert result.verdict == INCONCLUSIVE


def test_a_false_lemma_is_refuted_with_its_trace_once_the_base_case_reaches_it() -> None:
    sym = _sym(FALSE_LEMMA)
    model = compile_model(sym)
    result = induction(model, sym, 7, None, 60)
    got = {p.name: p for p in result.properties}
    assert got["x_small"].status == VIOLATED and got["y_zero"].status == VIOLATED
    for p in got.values():
        if p.status == VIOLATED:
            check_counterexample(model, p)
    assert got["x_small"].trace is not None and len(got["x_small"].trace) == 5
    assert got["y_zero"].trace is not None and len(got["y_zero"].trace) == 6


def test_a_false_lemma_with_a_true_invariant_leaves_the_lemma_open_not_assumed() -> None:
    # the invariant is true; the lemma is false and, assumed, would prove it at k = 1; without
    # it the invariant needs k = 2 (x = 7 is reached only through x = 6)
    text = FALSE_LEMMA.replace("action flag when x == 5 { y := 1 }", "").replace(
        "invariant y_zero: y == 0", "invariant y_zero: y == 0 and x <= 7"
    )
    sym = _sym(text)
    result = induction(compile_model(sym), sym, 2, None, 60)
    got = {p.name: p for p in result.properties}
    assert got["x_small"].status == INCONCLUSIVE
    assert got["y_zero"].status == HOLDS
    assert got["y_zero"].proof is not None and got["y_zero"].proof.lemmas == ()


# ---- symbolic params: `init` failing for some params, when Z3 cannot say for which

INIT_FAILS = """model init_fails
param P: 0..5 = 0
var x: 0..3 = P
process p { action tick when x < 3 { x := x + 1 } }
invariant small: x <= 3
"""


def test_symbolic_induction_never_holds_when_z3_cannot_tell_whether_init_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # for P in 4..5 `init` fails; the run may say which or that it could not tell, never that
    # the invariant holds for every value of the params
    real = params_module.smallest

    def unknown_for_init(enc: Any, constraints: Any, goal: Any, deadline: Any) -> Any:
        return "unknown" if not constraints else real(enc, constraints, goal, deadline)

    monkeypatch.setattr(params_module, "smallest", unknown_for_init)
    sym = _sym(INIT_FAILS)
    result = induction(compile_model(sym), sym, 3, None, 60, symbolic_params=True)
    assert result.verdict != HOLDS, _statuses(result)
    assert all(p.status != HOLDS for p in result.properties), _statuses(result)


def test_symbolic_bmc_says_so_when_z3_cannot_tell_whether_init_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = params_module.smallest

    def unknown_for_init(enc: Any, constraints: Any, goal: Any, deadline: Any) -> Any:
        return "unknown" if not constraints else real(enc, constraints, goal, deadline)

    monkeypatch.setattr(params_module, "smallest", unknown_for_init)
    sym = _sym(INIT_FAILS)
    result = params_module.symbolic_bmc(compile_model(sym), sym, 3, None, 60)
    [bound] = [p for p in result.properties if p.kind == "bound"]
    assert bound.status == INCONCLUSIVE and "unknown" in (bound.reason or "")


def test_symbolic_bmc_says_so_when_z3_cannot_tell_whether_a_step_leaves_the_bounds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the last query asks whether some step leaves the bounds; its "unknown" was dropped, so
    # the run listed no bound entry at all, as if the bounds had been checked
    real = params_module.smallest
    calls: list[int] = []

    def unknown_last(enc: Any, constraints: Any, goal: Any, deadline: Any) -> Any:
        calls.append(1)
        return "unknown" if len(calls) == 3 else real(enc, constraints, goal, deadline)

    monkeypatch.setattr(params_module, "smallest", unknown_last)
    sym = _sym(STEP_FAILS.replace("x := x + S", "x := min(x + S, 5)"))
    result = params_module.symbolic_bmc(compile_model(sym), sym, 3, None, 60)
    assert len(calls) == 3  # init, the invariant, the bounds
    [bound] = [p for p in result.properties if p.kind == "bound"]
    assert bound.status == INCONCLUSIVE and "unknown" in (bound.reason or ""), bound


STEP_FAILS = """model step_fails
param S: 1..2 = 1
var x: 0..5 = 0
process p { action inc when x < 5 { x := x + S } }
invariant small: x <= 3
"""


def test_a_symbolic_violation_without_its_concrete_witness_is_not_reported_violated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the witness search (concrete BMC with the params fixed) runs out of time: the base case's
    # violation has no replayed trace, so it is no verdict
    def no_time(sym: Any, values: Any, name: Any, depth: int, timeout_s: float) -> Any:
        return real(sym, values, name, depth, 0.0)

    real = params_module.witness
    monkeypatch.setattr(params_module, "witness", no_time)
    sym = _sym(STEP_FAILS)
    result = induction(compile_model(sym), sym, 4, None, 60, symbolic_params=True)
    assert {p.kind for p in result.properties} == {"invariant", "bound"}  # both searched for
    for p in result.properties:
        assert p.status != VIOLATED or p.trace is not None, (p.name, p.reason)
        assert p.status != HOLDS, (p.name, p.reason)


# ---- the dispatch: a run with nothing to prove and a timeout of nothing


def test_no_time_at_all_is_inconclusive_for_both_z3_engines() -> None:
    sym = _sym(FALSE_LEMMA)
    model = compile_model(sym)
    for engine in ("induction", "bmc"):
        options = EngineOptions(engine, Limits(timeout=1e-9), depth=3, max_k=3)
        result = check(model, sym, None, [], options)
        assert result.verdict == INCONCLUSIVE, (engine, _statuses(result))
        assert all(p.status == INCONCLUSIVE for p in result.properties), _statuses(result)


def test_bmc_never_holds_even_with_every_invariant_unreachable() -> None:
    sym = _sym("model t\nvar x: 0..1 = 0\nprocess p { action a { x := 0 } }\n"
               "invariant z: x == 0\n")  # fmt: skip
    result = bmc(compile_model(sym), sym, 3, None, 60)
    assert result.verdict == INCONCLUSIVE


# ---- `init` itself fails: the entry's trace replays, as every engine's must

NO_SLOT = """model no_slot
kind Pod[1] { ready: bool = false }
init { create Pod { } create Pod { } }
process p { action a for x in Pod where not x.ready { x.ready := true } }
invariant fits: count(Pod) <= 1
"""


@pytest.mark.parametrize("engine", ["explicit", "bmc", "induction"])
def test_an_init_that_fails_has_the_same_replayed_trace_in_every_engine(engine: str) -> None:
    sym = _sym(NO_SLOT)
    model = compile_model(sym)
    result = check(model, sym, None, [], EngineOptions(engine, depth=2, max_k=2))
    [bound] = [p for p in result.properties if p.kind == "bound"]
    assert (bound.name, bound.status) == ("bound: no-free-slot in init", VIOLATED)
    check_counterexample(model, bound)
    assert bound.trace is not None
    [explicit] = [p for p in explore(model).properties if p.kind == "bound"]
    assert explicit.trace is not None
    assert bound.trace.steps == explicit.trace.steps


# ---- a model with nothing to report but its bounds: `holds` only when they were checked

NO_INVARIANT = """model no_invariant
var x: 0..11 = 0
process p { action inc { x := x + 1 } }
"""


@pytest.mark.parametrize(
    "options",
    [
        EngineOptions("bmc", depth=5),
        EngineOptions("bmc", depth=5, symbolic_params=True),
        EngineOptions("explicit", Limits(max_depth=5)),
        EngineOptions("explicit", Limits(max_states=4)),
        EngineOptions("auto", Limits(max_states=4)),
        EngineOptions("simulate", depth=5, traces=10),
    ],
    ids=["bmc", "symbolic bmc", "explicit max-depth", "explicit max-states", "auto", "simulate"],
)
def test_a_run_that_stops_short_of_a_bound_error_never_holds(options: EngineOptions) -> None:
    # the twelfth step leaves x's range; a run that looked fewer steps deep has checked
    # nothing that makes the model hold
    sym = _sym(NO_INVARIANT)
    model = compile_model(sym)
    assert explore(model).verdict == VIOLATED
    result = check(model, sym, None, None, options)
    assert result.verdict != HOLDS, (options.engine, result.properties)


def test_a_model_with_no_invariant_holds_where_its_bounds_are_proved() -> None:
    sym = _sym(NO_INVARIANT.replace("action inc {", "action inc when x < 11 {"))
    model = compile_model(sym)
    for options in (EngineOptions("explicit"), EngineOptions("induction", max_k=2)):
        assert check(model, sym, None, None, options).verdict == HOLDS, options.engine


# ---- found by the mutation campaign (kubelet with NODES = 0): a kind with no slots ahead of
# another binder crashed the compiler (IndexError) instead of giving the action no instance

ZERO_SLOTS = """model zero
kind Node[0] { up: bool = false }
kind Pod[1] { n: 0..1 = 0 }
init { create Pod { } }
process p { action a for x in Node, y in Pod where x.up { y.n := 1 } }
invariant t: forall y in Pod: y.n == 0
"""


def test_a_kind_with_no_slots_before_another_binder_gives_no_step() -> None:
    sym = _sym(ZERO_SLOTS)
    model = compile_model(sym)
    assert explore(model).verdict == HOLDS
    assert induction(model, sym, 2, None, 60).verdict == HOLDS
