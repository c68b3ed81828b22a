"""The set encoding against the explicit engine on random models built on sets: BMC finds
exactly the violations within its depth, with the same shortest lengths and replayed traces,
and whatever induction proves the explicit engine finds holding."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.result import HOLDS, INCONCLUSIVE, VIOLATED
from kcheck.smt.bmc import bmc
from kcheck.smt.induction import induction
from tests.explore.test_reference_agreement import assert_replays
from tests.smt.setgen import set_models

STATS: Counter[str] = Counter()
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(set_models(), st.integers(0, 3))
def test_bmc_and_induction_agree_with_the_explicit_engine_on_sets(text: str, depth: int) -> None:
    note(text)
    checked = check_source(Source("sets.kdsl", text))
    model = compile_model(checked.symbols)
    explicit = explore(model, symmetry=False, properties=[])
    assert explicit.limit is None
    shortest = {
        p.name: len(p.trace)
        for p in explicit.properties
        if p.kind == "invariant" and p.status == VIOLATED and p.trace is not None
    }
    for p in bmc(model, checked.symbols, depth, None, 60).properties:
        if p.trace is not None:
            assert_replays(model, p.trace)
        if p.kind != "invariant":
            continue
        if p.name in shortest and shortest[p.name] <= depth:
            STATS["bmc: violation"] += 1
            assert p.status == VIOLATED and p.trace is not None
            assert len(p.trace) == shortest[p.name]
        else:
            STATS["bmc: nothing"] += 1
            assert p.status == INCONCLUSIVE
    verdicts = {p.name: p.status for p in explicit.properties}
    for p in induction(model, checked.symbols, depth + 1, None, 60).properties:
        if p.kind == "invariant" and p.status == HOLDS:
            STATS["induction: proved"] += 1
            assert verdicts[p.name] != VIOLATED
