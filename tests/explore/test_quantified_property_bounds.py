"""A property under `forall` is checked on a search of its own without symmetry; a bound that
search meets is reported even when the main search stopped early (every invariant violated),
so that symmetry never decides whether a bound of the model is reported (found by the
differential campaign, tests/test_differential.py)."""

from __future__ import annotations

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model

MODEL = """model apart
kind K0[3] { i0: 1..3 = 1 }
init { create K0 { } }
process x1 {
  action a1 { create K0 { i0: min(3, 1 + count(K0)) } }
}
invariant inv0: false
property t0: forall x in K0: (exists y in K0: y == x) leads_to count(K0) >= 3
"""


def test_a_bound_met_by_the_quantified_property_search_is_reported_with_symmetry() -> None:
    symbols = check_source(Source("apart.kdsl", MODEL)).symbols
    reported = {}
    for symmetry in (True, False):
        result = explore(compile_model(symbols, symmetry=symmetry), symmetry=symmetry)
        reported[symmetry] = {
            (p.name, p.status, len(p.trace) if p.trace else None)
            for p in result.properties
            if p.kind == "bound"
        }
    assert reported[True] == reported[False] == {("bound: no-free-slot in x1.a1", "violated", 3)}
