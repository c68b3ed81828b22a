"""Symbolic parameters against the explicit engine run once per configuration: the smallest
failing params are the lexicographically smallest configuration the explicit engine finds
failing within the depth, a proof for every value agrees with every configuration holding, and
the symbolic encoding of `init` has exactly the compiled model's initial states."""

from __future__ import annotations

from itertools import product
from pathlib import Path

import z3
from hypothesis import HealthCheck, given, note, settings

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source, load
from kcheck.model.compile import compile_model
from kcheck.model.ir import StepError
from kcheck.result import HOLDS, INCONCLUSIVE, VIOLATED
from kcheck.smt.encode import Encoder, Unsupported
from kcheck.smt.induction import induction
from kcheck.smt.params import symbolic_bmc
from tests.explore.modelgen import models
from tests.explore.test_reference_agreement import assert_replays

MODELS = Path(__file__).resolve().parents[2] / "models"

PARAMS = """model params
param A: 0..3 = 3
param B: 0..3 = 0
param ON: bool = true
var x: 0..7 = 0
var a: 0..3 = A
init {
  if ON {
    x := 1
  }
}
controller c {
  action inc when x < 7 {
    x := x + 1
  }
}
invariant t: not (x >= 3 and a + B >= 4 and a >= 1)
"""


def _explicit_shortest(text: str, values: dict[str, int]) -> int | None:
    checked = check_source(Source("params.kdsl", text), values)
    result = explore(compile_model(checked.symbols), symmetry=False)
    [p] = [p for p in result.properties if p.name == "t"]
    return len(p.trace) if p.status == VIOLATED and p.trace is not None else None


def test_the_smallest_failing_params_are_the_explicit_engines_smallest() -> None:
    configs = [
        {"A": a, "B": b, "ON": on} for a, b, on in product(range(4), range(4), range(2))
    ]  # in lexicographic order
    shortest = [(c, _explicit_shortest(PARAMS, c)) for c in configs]
    checked = check_source(Source("params.kdsl", PARAMS))
    model = compile_model(checked.symbols)
    for depth in (1, 2, 3, 4):
        failing = [c for c, n in shortest if n is not None and n <= depth]
        [p] = symbolic_bmc(model, checked.symbols, depth, None, 60).properties
        if not failing:
            assert p.status == INCONCLUSIVE
            assert p.reason == f"no violation up to depth {depth} for any params in range"
            continue
        first = failing[0]
        assert p.status == VIOLATED and p.trace is not None
        shown = f"A={first['A']}, B={first['B']}, ON={'true' if first['ON'] else 'false'}"
        assert p.reason == f"fails for {shown} (the smallest failing params within {depth} steps)"
        assert len(p.trace) == dict((str(c), n) for c, n in shortest)[str(first)]
        # the trace is the concrete model's, for those params
        fixed = check_source(Source("params.kdsl", PARAMS), first)
        assert_replays(compile_model(fixed.symbols), p.trace)


def test_induction_with_symbolic_params_names_the_smallest_failing_params() -> None:
    checked = check_source(Source("params.kdsl", PARAMS))
    model = compile_model(checked.symbols)
    [p] = induction(model, checked.symbols, 4, None, 60, symbolic_params=True).properties
    assert p.status == VIOLATED
    assert p.reason == "fails for A=1, B=3, ON=false (the smallest failing params within 3 steps)"


def test_the_stale_snapshots_smallest_overcommitting_configuration() -> None:
    checked = load(str(MODELS / "smt_scheduler_params_stale.kdsl"))
    model = compile_model(checked.symbols)
    result = symbolic_bmc(model, checked.symbols, 6, ["no_overcommit"], 120)
    [p] = result.properties
    assert p.status == VIOLATED and p.trace is not None and len(p.trace) == 4
    assert p.reason is not None
    assert p.reason.startswith("fails for POD_LIMIT=2, NODE_CPU=1, REQUEST_LIMIT=1 ")
    # one pod alone never overcommits: POD_LIMIT=1 holds for every other param
    for cpu, req in product(range(1, 5), range(1, 4)):
        fixed = load(
            str(MODELS / "smt_scheduler_params_stale.kdsl"),
            {"POD_LIMIT": 1, "NODE_CPU": cpu, "REQUEST_LIMIT": req},
        )
        assert explore(compile_model(fixed.symbols)).verdict == HOLDS


def test_the_scheduler_is_proved_for_every_configuration_and_each_one_holds() -> None:
    path = str(MODELS / "smt_scheduler_params.kdsl")
    checked = load(path)
    model = compile_model(checked.symbols)
    result = induction(model, checked.symbols, 3, None, 120, symbolic_params=True)
    assert [(p.name, p.status, p.reason) for p in result.properties] == [
        ("no_overcommit", HOLDS, "proved (k = 1) for every value of the params"),
        ("running_pods_are_bound", HOLDS, "proved (k = 1) for every value of the params"),
    ]
    for pods, cpu, req in product(range(1, 4), range(1, 5), range(1, 4)):
        fixed = load(path, {"POD_LIMIT": pods, "NODE_CPU": cpu, "REQUEST_LIMIT": req})
        assert explore(compile_model(fixed.symbols)).verdict == HOLDS


def test_init_failing_for_some_params_is_a_bound_error_for_the_smallest() -> None:
    text = """model init_fails
param N: 0..3 = 0
kind K[2] { v: 0..1 = 0 }
init {
  for i in 1..3 {
    if i <= N {
      create K {}
    }
  }
}
controller c {
  action flip for k in K where k.v == 0 { k.v := 1 }
}
invariant t: true
"""
    checked = check_source(Source("init_fails.kdsl", text))
    model = compile_model(checked.symbols)
    result = symbolic_bmc(model, checked.symbols, 2, None, 60)
    bound = [p for p in result.properties if p.kind == "bound"]
    assert [(p.name, p.status) for p in bound] == [("bound: no-free-slot in init", VIOLATED)]
    assert bound[0].reason is not None and "fails for N=3 " in bound[0].reason


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(models())
def test_the_symbolic_init_has_exactly_the_compiled_initial_states(text: str) -> None:
    note(text)
    checked = check_source(Source("generated.kdsl", text))
    model = compile_model(checked.symbols)
    try:
        enc = Encoder(model, checked.symbols)
        st = enc.fresh_state("i")
        ways, fails = enc.initial(st)
    except Unsupported:
        return
    try:
        expected = set(model.initial())
    except StepError:
        s = z3.Solver()
        s.add(fails)
        assert s.check() == z3.sat
        return
    s = z3.Solver()
    s.add(z3.And(ways, z3.Not(fails)))
    found = set()
    while s.check() == z3.sat:
        m = s.model()
        state = tuple(m.eval(v, model_completion=True).as_long() for v in st)
        found.add(state)
        s.add(z3.Or(*[v != x for v, x in zip(st, state, strict=True)]))
        assert len(found) <= len(expected)
    assert found == expected
