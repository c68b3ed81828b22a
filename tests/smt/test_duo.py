"""BMC's fair-lasso search asks its goals of an integer and a bit-vector solver until it can
tell which one Z3 answers faster on the model, then keeps that one (smt/solver.py `Duo`;
spec/smt.md, "The encoding"). Either one alone finds the explicit engine's lassos at their
lengths, the two must agree on every goal both answer, and the one kept is the one whose goals
took fewer of Z3's resource units, once the counts tell them apart."""

from __future__ import annotations

from typing import Any

import pytest
import z3

from kcheck.smt import lasso, solver
from kcheck.smt.solver import AnswersDiffer, Deadline, Duo, Unrolled
from tests.smt.test_lasso import PODS, SPIN, STOPS, TOGGLE, _agree, _both

MODELS = (
    [SPIN.replace("{FAIRNESS}", f) for f in ("", "unfair ", "strong ")]
    + [TOGGLE.replace("{FAIRNESS}", f) for f in ("", "strong ")]
    + [STOPS, PODS]
)


def _alone(monkeypatch: pytest.MonkeyPatch, which: str) -> None:
    """Every Duo keeps only its bit-vector (or integer) solver from the start."""

    def make(*solvers: Unrolled) -> Duo:
        return Duo(next(s for s in solvers if s.bitvec == (which == "bv")))

    monkeypatch.setattr(lasso, "Duo", make)


def _lengths(results: dict[str, Any]) -> dict[str, tuple[str, int | None, int | None]]:
    return {
        n: (
            p.status,
            len(p.trace.steps) if p.trace else None,
            p.trace.loop_start if p.trace else None,
        )
        for n, p in results.items()
    }


@pytest.mark.parametrize("n", range(len(MODELS)))
def test_either_solver_alone_finds_the_explicit_engine_s_lassos_at_the_same_length(
    n: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = {}
    for which in ("int", "bv"):
        with monkeypatch.context() as m:
            _alone(m, which)
            z, e = _both(MODELS[n])  # each lasso replayed on the compiled model
        _agree(z, e)
        found[which] = _lengths(z)
    assert found["int"] == found["bv"]


@pytest.mark.parametrize("n", range(len(MODELS)))
def test_deciding_at_the_first_depth_keeps_the_answers(
    n: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no threshold: the Duo keeps one solver after depth 0, whichever it is
    before, _ = _both(MODELS[n])
    monkeypatch.setattr(solver, "PROBE_DEPTH", 0)
    monkeypatch.setattr(solver, "PROBE_UNITS", 0)
    monkeypatch.setattr(solver, "PROBE_RATIO", 0)
    after, e = _both(MODELS[n])
    _agree(after, e)
    assert _lengths(after) == _lengths(before)


def test_the_solver_kept_is_the_one_whose_goals_took_fewer_resource_units() -> None:
    units, ratio = solver.PROBE_UNITS, solver.PROBE_RATIO
    for spent, bitvec in (([ratio * units, units], False), ([units, ratio * units], True)):
        duo = Duo(Unrolled(), Unrolled(bitvec=False))
        duo.spent = list(spent)
        duo.depth_done(solver.PROBE_DEPTH - 1)  # too shallow: both stay
        assert len(duo.solvers) == 2
        duo.spent = list(spent)
        duo.depth_done(solver.PROBE_DEPTH)
        assert len(duo.solvers) == 1 and duo.kept.bitvec == bitvec
    for spent in ([units - 1, 10], [2 * units, 2 * units // ratio + 1]):
        duo = Duo(Unrolled(), Unrolled(bitvec=False))
        duo.spent = spent  # too few units, or too close, to tell: both stay
        duo.depth_done(solver.PROBE_DEPTH + 3)
        assert len(duo.solvers) == 2
    duo = Duo(Unrolled(), Unrolled(bitvec=False))
    duo.spent = [solver.CAP_UNITS, solver.CAP_UNITS - 1]  # close, but enough probing
    duo.depth_done(solver.PROBE_DEPTH + 3)
    assert len(duo.solvers) == 1 and not duo.kept.bitvec


def test_two_solvers_that_disagree_are_an_internal_error() -> None:
    class Wrong(Unrolled):
        def ask(self, goal: Any, deadline: Deadline) -> tuple[str, Any]:
            return "unsat", None

    x = z3.Int("x")
    duo = Duo(Unrolled(), Wrong(bitvec=False))
    duo.add(z3.And(x >= 0, x <= 9))
    with pytest.raises(AnswersDiffer):
        duo.ask(x == 3, Deadline(60))


def test_a_solver_that_gives_up_leaves_the_other_alone() -> None:
    class GivesUp(Unrolled):
        def ask(self, goal: Any, deadline: Deadline) -> tuple[str, Any]:
            return "canceled", None

    x = z3.Int("x")
    duo = Duo(Unrolled(), GivesUp(bitvec=False))
    duo.add(z3.And(x >= 0, x <= 9))
    answer, m = duo.ask(x == 3, Deadline(60))
    assert answer == "sat" and duo.value(m, x) == 3 and len(duo.solvers) == 1
