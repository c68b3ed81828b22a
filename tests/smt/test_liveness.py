"""Proofs of temporal properties by the induction engine (smt/liveness.py, spec/smt.md
"Proving temporal properties") against the explicit engine: on tiny models, one per fairness
case, induction proves exactly what the explicit engine finds holding and refutes the rest with
a replayed fair lasso; on random models (tests/explore/modelgen.py, their invariants turned into
the three temporal forms, each action made weakly, strongly or not fair), neither Z3 engine ever
contradicts the explicit one."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.result import HOLDS, VIOLATED, CheckResult
from kcheck.smt.bmc import bmc
from kcheck.smt.encode import Unsupported
from kcheck.smt.induction import induction
from tests.explore.modelgen import models
from tests.explore.test_liveness import with_properties
from tests.smt.test_lasso import PODS, SPIN, STOPS, TOGGLE, assert_lasso


def _load(text: str) -> Any:
    checked = check_source(Source("m.kdsl", text), {})
    assert checked.symbols is not None, checked
    return checked.symbols


def _statuses(result: CheckResult) -> dict[str, str]:
    return {p.name: p.status for p in result.properties if p.kind == "property"}


CASES = [
    SPIN.replace("{FAIRNESS}", ""),
    SPIN.replace("{FAIRNESS}", "strong "),
    SPIN.replace("{FAIRNESS}", "unfair "),
    TOGGLE.replace("{FAIRNESS}", ""),
    TOGGLE.replace("{FAIRNESS}", "strong "),
    STOPS,
    PODS,
]


# ids are stable across processes (str hash is salted per process; pytest-xdist needs the same ids)
@pytest.mark.parametrize(
    "text", CASES, ids=[f"{t.split(chr(10))[0]}{i}" for i, t in enumerate(CASES)]
)
def test_induction_proves_what_the_explicit_engine_finds_holding_and_refutes_the_rest(
    text: str,
) -> None:
    sym = _load(text)
    model = compile_model(sym, symmetry=False)
    proved = induction(model, sym, 6, None, 120)
    explicit = _statuses(explore(model, symmetry=False))
    assert explicit and _statuses(proved) == explicit
    for p in proved.properties:
        if p.kind == "property" and p.status == VIOLATED:
            assert p.trace is not None
            assert_lasso(model, p.trace, p)
        if p.kind == "property" and p.status == HOLDS:
            assert p.proof is not None and p.proof.bounds == "proved"


def test_a_proof_says_what_it_rests_on() -> None:
    sym = _load(TOGGLE.replace("{FAIRNESS}", "strong "))
    [p] = [
        p
        for p in induction(compile_model(sym), sym, 6, None, 120).properties
        if p.kind == "property"
    ]
    assert p.status == HOLDS
    assert p.reason is not None and p.reason.startswith("proved (")
    assert "no fair loop of fault-free steps breaks it" in p.reason
    assert p.proof is not None and p.proof.bounds == "proved"


def test_a_fair_loop_among_unreachable_states_leaves_the_property_open_never_violated() -> None:
    # x == 3 is never reached, and from it `back` and `forth` cycle fairly; from x == 0 the
    # behaviour settles at x == 1. Nothing rules the cycle out but reachability, which the
    # proof does not see: inconclusive, never holds, never violated.
    text = """model unreach
var x: 0..4 = 0
process p {
  action settle when x == 0 { x := 1 }
  action forth when x == 3 { x := 4 }
  action back when x == 4 { x := 3 }
}
property settles: eventually always x == 1
"""
    sym = _load(text)
    model = compile_model(sym, symmetry=False)
    [p] = [p for p in induction(model, sym, 4, None, 60).properties if p.kind == "property"]
    assert _statuses(explore(model, symmetry=False)) == {"settles": HOLDS}
    assert p.status == "inconclusive"
    assert p.reason is not None and "it may be unreachable" in p.reason


def test_an_invariant_proved_first_is_what_makes_the_loop_unreachable() -> None:
    # the same model with an invariant that excludes the cycle: proved first, then assumed
    text = """model unreach
var x: 0..4 = 0
process p {
  action settle when x == 0 { x := 1 }
  action forth when x == 3 { x := 4 }
  action back when x == 4 { x := 3 }
}
invariant low: x <= 1
property settles: eventually always x == 1
"""
    sym = _load(text)
    result = induction(compile_model(sym, symmetry=False), sym, 4, None, 60)
    by = {p.name: p for p in result.properties}
    assert by["low"].status == HOLDS and by["settles"].status == HOLDS
    assert by["settles"].proof is not None and "low" in by["settles"].proof.lemmas


# ---- random models: the Z3 engines never contradict the explicit one
def _fairness(draw: st.DrawFn, text: str) -> str:
    """Each action of a controller or process declared weakly (as is), strongly or not fair."""
    out, in_fault = [], False
    for line in text.split("\n"):
        if re.match(r"^(controller|process|fault) ", line):
            in_fault = line.startswith("fault")
        m = re.match(r"^(\s*)action ", line)
        if m and not in_fault:
            word = draw(st.sampled_from(["", "strong ", "unfair "]))
            line = f"{m.group(1)}{word}{line[len(m.group(1)) :]}"
        out.append(line)
    return "\n".join(out)


@st.composite
def fair_models(draw: st.DrawFn) -> str:
    return _fairness(draw, with_properties(draw(models())))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fair_models())
def test_the_z3_engines_never_contradict_the_explicit_one_on_temporal_properties(
    text: str,
) -> None:
    note(text)
    sym = _load(text)
    model = compile_model(sym, symmetry=False)
    explicit = _statuses(explore(model, symmetry=False))
    assume(explicit)
    try:
        found = bmc(model, sym, 5, [], 60, properties=list(explicit))
        proved = induction(model, sym, 3, [], 60, properties=list(explicit))
    except Unsupported:
        assume(False)
        return
    for result in (found, proved):
        for p in result.properties:
            if p.kind != "property":
                continue
            if p.status == VIOLATED:
                assert explicit[p.name] != HOLDS, (result.engine, p.name, p.reason)
                assert p.trace is not None
                assert_lasso(model, p.trace, p)
            if p.status == HOLDS:
                assert result.engine == "induction"
                assert explicit[p.name] != VIOLATED, (p.name, p.reason)


def test_a_stable_goal_confines_the_loops_of_eventually_always_to_where_it_is_false() -> None:
    # once done, `grow` walks n up 14 steps: every simple path is long, but `done` is never
    # undone, so a loop through a state where it is false stays there, and there is none
    text = """model grow
var done: bool = false
var n: 0..14 = 0
process p {
  action finish when not done { done := true }
  action grow when done and n < 14 { n := n + 1 }
}
property finishes: eventually always done
"""
    sym = _load(text)
    model = compile_model(sym, symmetry=False)
    [p] = [p for p in induction(model, sym, 3, None, 60).properties if p.kind == "property"]
    assert _statuses(explore(model, symmetry=False)) == {"finishes": HOLDS}
    assert p.status == HOLDS and p.proof is not None and p.proof.k <= 1
