"""Z3 solvers as the engines use them: seeded, with a resource limit per query and a deadline for
the whole run, and goals that are always retracted (push/pop in try/finally). An answer other
than sat or unsat is passed on as its reason, for the caller to report as inconclusive."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import z3  # type: ignore[import-untyped]

from kcheck.smt.terms import Term

SEED = 0
# Z3 resource units per query: deterministic, unlike wall-clock time. About a minute of work on
# this machine; the run's --timeout bounds the total.
RLIMIT = 1_000_000_000


class Deadline:
    """The wall-clock budget of one run."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.end - time.monotonic()


def new_solver() -> Any:
    s = z3.Solver()
    s.set("random_seed", SEED)
    s.set("rlimit", RLIMIT)
    return s


def check(
    solver: Any, goal: Term, deadline: Deadline, assumptions: Sequence[Term] = ()
) -> tuple[str, Any]:
    """`sat` with its model, `unsat`, or why Z3 could not tell (`timeout` when the deadline has
    passed). The goal is retracted whatever happens."""
    remaining = deadline.remaining()
    if remaining <= 0:
        return "timeout", None
    solver.set("timeout", max(1, int(remaining * 1000)))
    solver.push()
    try:
        solver.add(goal)
        r = solver.check(*assumptions)
        if r == z3.sat:
            return "sat", solver.model()  # taken before pop(), which discards it
        if r == z3.unsat:
            return "unsat", None
        return str(solver.reason_unknown()), None
    finally:
        solver.pop()
