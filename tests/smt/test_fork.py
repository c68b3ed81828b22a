"""`Unrolled.fork` (smt/solver.py): the fresh solver the query at once is asked on (smt/bmc.py
and smt/lasso.py `_none_deeper`) holds what the per-depth solver holds, without its goals, and
starts from its bit-vector translations instead of translating the unrolling again."""

from __future__ import annotations

import pytest
import z3  # type: ignore[import-untyped]

from kcheck.smt import bitvec
from kcheck.smt.solver import Deadline, Unrolled

X, Y, Z = z3.Int("x"), z3.Int("y"), z3.Int("z")


def _unrolled(bits: bool) -> Unrolled:
    solver = Unrolled(bits)
    solver.add(z3.And(X >= 0, X <= 9))
    solver.add(Y == X * 3 - 1)
    return solver


@pytest.mark.parametrize("bits", [True, False], ids=["bit-vectors", "integers"])
def test_a_fork_holds_the_formulas_and_not_the_goals(bits: bool) -> None:
    solver = _unrolled(bits)
    assert solver.ask(Y == 26, Deadline(60))[0] == "sat"  # a goal: retired, not held
    fork = solver.fork()
    assert fork.bitvec == bits and fork.asserted == solver.asserted
    fork.add(Y == 26)  # x == 9: the formulas hold in the fork
    assert fork.check_once(Deadline(60)) == "sat"
    fork.add(X < 9)
    assert fork.check_once(Deadline(60)) == "unsat"
    # what the fork was given does not reach the solver it came from
    assert len(solver.asserted) == 2
    assert solver.ask(z3.And(Y == 26, X == 9), Deadline(60))[0] == "sat"


def test_a_fork_does_not_translate_again(monkeypatch: pytest.MonkeyPatch) -> None:
    solver = _unrolled(True)
    calls: list[z3.ExprRef] = []
    translate = bitvec.ToBitVec._translate
    monkeypatch.setattr(
        bitvec.ToBitVec, "_translate", lambda self, e: (calls.append(e), translate(self, e))[1]
    )
    fork = solver.fork()
    assert calls == []  # the unrolling so far comes as translated
    fork.add(Z == Y + 1)  # a variable the original never saw: its interval is the fork's own
    assert calls and fork.bitvec
    assert "z" in fork.intervals.var and "z" not in solver.intervals.var
    assert fork.check_once(Deadline(60)) == "sat"
    assert fork.width >= solver.width
