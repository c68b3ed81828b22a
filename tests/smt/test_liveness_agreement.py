"""The explicit and Z3 engines agree on temporal properties (issue 13.2; spec/smt.md "Temporal
properties", "Measures"): on random small models with weak, strong and no fairness, some with a
`decreases` clause that may be wrong,
- whenever induction proves a property, the explicit engine's complete search says it holds;
- a lasso induction reports is a real fair lasso (replayed), and the explicit engine does not
  say the property holds;
- every lasso the explicit engine finds is found by BMC at its own length (BMC is complete for
  lassos up to its depth), and replays.
Each Z3 run has its own deadline; an answer Z3 gave up on is skipped, never taken as agreement.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, assume, example, given, note, settings
from hypothesis import strategies as st

from kcheck.explore.bfs import explore
from kcheck.model.compile import compile_model
from kcheck.result import HOLDS, INCONCLUSIVE, VIOLATED
from kcheck.smt.bmc import bmc
from kcheck.smt.encode import Unsupported
from kcheck.smt.induction import induction
from tests.smt.test_lasso import assert_lasso
from tests.smt.test_liveness import _load, fair_models

MAX_LASSOS = 2  # explicit lassos looked for by BMC per example, to bound its time


@st.composite
def hinted_models(draw: st.DrawFn) -> str:
    """A fair model whose properties may carry `decreases` over one of its int vars, either
    sign: a hint that is often wrong, which the proof must check, never trust."""
    text = draw(fair_models())
    ints = re.findall(r"^var (\w+): \d+\.\.\d+", text, re.M)
    if ints and draw(st.booleans()):
        measure = draw(st.sampled_from(["", "-"])) + draw(st.sampled_from(ints))
        text = re.sub(r"^(property \w+: .*)$", rf"\1 decreases {measure}", text, flags=re.M)
    return text


# a wrong hint that, trusted, would cut the very loop that breaks the property
FLIP = """model flip
var x: 0..1 = 0
process p {
  action flip { x := 1 - x }
}
property settles: eventually always x == 0 decreases x
"""


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hinted_models())
@example(FLIP)
def test_proofs_and_lassos_of_either_engine_are_confirmed_by_the_other(text: str) -> None:
    note(text)
    sym = _load(text)
    model = compile_model(sym, symmetry=False)
    explicit = {
        p.name: p for p in explore(model, symmetry=False).properties if p.kind == "property"
    }
    assume(explicit)
    try:
        proved = induction(model, sym, 3, [], 60, properties=list(explicit))
    except Unsupported:
        assume(False)
        return
    for p in proved.properties:
        if p.kind != "property":
            continue
        if p.status == HOLDS:
            assert explicit[p.name].status == HOLDS, (p.name, p.reason)
        if p.status == VIOLATED:
            assert explicit[p.name].status != HOLDS, (p.name, p.reason)
            assert p.trace is not None
            assert_lasso(model, p.trace, p)
    lassos = [
        e
        for e in explicit.values()
        if e.status == VIOLATED and e.trace is not None and e.trace.loop_start is not None
    ]
    for e in lassos[:MAX_LASSOS]:
        assert e.trace is not None
        depth = len(e.trace.steps) - 1
        [found] = [
            p
            for p in bmc(model, sym, depth, [], 60, properties=[e.name]).properties
            if p.name == e.name
        ]
        if found.status == INCONCLUSIVE and "unknown" in (found.reason or ""):
            continue  # Z3 gave up within its deadline: no claim either way
        assert found.status == VIOLATED, (e.name, depth, found.reason)
        assert found.trace is not None and len(found.trace.steps) <= len(e.trace.steps)
        assert_lasso(model, found.trace, found)
