"""Temporal violations found by simulation are shrunk (spec/simulate.md "Shrinking"): the lasso
reported is from a walk no longer than the one found, its loop still closes and is fair (the
same liveness check decides it), and it replays through the model."""

from __future__ import annotations

import re

import pytest

from kcheck.explore.bfs import explore
from kcheck.explore.replay import check_counterexample
from kcheck.explore.simulate import SimOptions, simulate
from kcheck.result import VIOLATED
from tests.explore.test_bfs import compiled

# b must end at 0, but toggling it forever while a wanders is a fair behaviour; a fair loop
# must also take `up` or `down` wherever they stay enabled, so it is not just two toggles
WANDER = """
model wander
var a: 0..5 = 0
var b: 0..1 = 0
controller c {
  action up when a < 5 { a := a + 1 }
  action down when a > 0 { a := a - 1 }
  action toggle { b := 1 - b }
}
property settles: eventually always b == 0
"""


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_lasso_found_by_a_walk_is_shrunk_and_replays(seed: int) -> None:
    m = compiled(WANDER)
    r = simulate(m, options=SimOptions(traces=3, depth=40, seed=seed))
    (p,) = r.properties
    assert p.status == VIOLATED and p.trace is not None and p.trace.loop_start is not None
    found = re.search(r"shrunk from (\d+) to (\d+) steps \(ratio ([\d.]+)\)", p.reason or "")
    assert found is not None, p.reason
    before, after = int(found.group(1)), int(found.group(2))
    assert before == 40 and after < before
    assert len(p.trace) - 1 <= after  # the lasso's steps come from the shrunk walk
    check_counterexample(m, p)  # a behaviour of the model whose loop closes


def test_the_shrunk_lasso_is_no_longer_than_the_explicit_engines_plus_a_margin() -> None:
    """The explicit engine's lasso for the same property is the reference for what is short:
    the shrunk walk's lasso is within a few steps of it (shrinking is a heuristic)."""
    m = compiled(WANDER)
    exact = explore(m, symmetry=False)
    (ref,) = [p for p in exact.properties if p.name == "settles"]
    assert ref.status == VIOLATED and ref.trace is not None
    (p,) = simulate(m, options=SimOptions(traces=3, depth=40, seed=0)).properties
    assert p.trace is not None
    assert len(p.trace) <= len(ref.trace) + 4


def test_without_shrinking_the_lasso_is_the_walks() -> None:
    m = compiled(WANDER)
    (p,) = simulate(m, options=SimOptions(traces=3, depth=40, shrink=False)).properties
    assert p.status == VIOLATED and "shrunk" not in (p.reason or "")
    check_counterexample(m, p)
