"""Z3 solvers as the engines use them: seeded, with a resource limit per query and a deadline for
the whole run, and goals that are always retracted (push/pop in try/finally). An answer other
than sat or unsat is passed on as its reason, for the caller to report as inconclusive."""

from __future__ import annotations

import ctypes
import time
from collections.abc import Sequence
from typing import Any

import z3  # type: ignore[import-untyped]

from kcheck.smt.bitvec import MAX_WIDTH, Intervals, NotExact, ToBitVec, signed
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


def _fresh(facts: Sequence[Term], deadline: Deadline) -> Any:
    """A new solver holding `facts`, with what is left of the deadline as its timeout; None when
    nothing is left."""
    remaining = deadline.remaining()
    if remaining <= 0:
        return None
    solver = new_solver()
    solver.set("timeout", max(1, int(remaining * 1000)))
    solver.add(*facts)
    return solver


def check_fresh(facts: Sequence[Term], deadline: Deadline) -> tuple[str, Any]:
    """As `check`, on a new solver holding only `facts` and asked without assumptions: Z3 then
    preprocesses the formula as a whole (solving equations away, bounding integers), which
    push/pop or assumption literals turn off. Many times faster on a one-off query (the
    Houdini step: spec/smt.md), at the price of learning nothing for the next one."""
    solver = _fresh(facts, deadline)
    if solver is None:
        return "timeout", None
    r = solver.check()
    if r == z3.sat:
        return "sat", solver.model()
    if r == z3.unsat:
        return "unsat", None
    return str(solver.reason_unknown()), None


def check_core(
    facts: Sequence[Term], tracked: Sequence[tuple[str, Term]], deadline: Deadline
) -> tuple[str, Any]:
    """As `check_fresh`, with each of `tracked` (a name, a formula) asserted under its own
    assumption literal: `unsat` with the names in Z3's unsat core (in the order given), `sat`
    with its model. Only for small queries: assumption literals cost Z3 its preprocessing."""
    solver = _fresh(facts, deadline)
    if solver is None:
        return "timeout", None
    lits = [z3.Bool(f"_track_{k}") for k in range(len(tracked))]
    solver.add(*[z3.Implies(lit, f) for lit, (_, f) in zip(lits, tracked, strict=True)])
    r = solver.check(*lits)
    if r == z3.sat:
        return "sat", solver.model()
    if r == z3.unsat:
        core = {str(x) for x in solver.unsat_core()}
        return "unsat", [n for lit, (n, _) in zip(lits, tracked, strict=True) if str(lit) in core]
    return str(solver.reason_unknown()), None


# The translation and the interval analysis recurse over a term; z3's ctypes calls report
# Python's recursion limit as an ArgumentError
_TOO_DEEP = (RecursionError, ctypes.ArgumentError)


# Once one depth's queries have cost Z3 this many resource units (some 2 CPU seconds), BMC and
# its fair-lasso search ask the depths left at once (smt/bmc.py, smt/lasso.py `_none_deeper`):
# descheduler's lassos to depth 12 took 119 CPU s depth by depth, 65 with depths 8 to 12 at
# once (spec/smt.md, "The depths left, at once")
AT_ONCE_UNITS = 4_000_000


def at_once_units(units: int, depths: int) -> int:
    """The resource units a query over the `depths` depths left may take, when the last depth's
    queries took `units`: what asking them depth by depth would, at twice the cost a depth (the
    growth of the per-depth queries of descheduler; scheduler_plugins' grow 3 to 4 times). Where
    asking at once runs out of them (or of half the time left), the search goes on depth by
    depth, having spent at most about as much again as that would."""
    return units << min(depths + 1, 30)


class Unrolled:
    """The one solver of a BMC run (spec/smt.md, "Search"): formulas are asserted for good, and
    each goal is asked under a fresh assumption literal that is then retired (asserted false),
    so that what Z3 learns while answering one query stays for the next.

    Formulas are solved as bit-vector formulas where that is exact (bitvec.py), each integer
    term at the fewest bits its interval needs; when a formula cannot be translated exactly,
    everything is solved over integers from then on."""

    def __init__(self, bitvec: bool = True) -> None:
        self.asserted: list[Term] = []
        self.intervals = Intervals()
        self.bitvec = bitvec
        self.why_integers = "" if bitvec else "asked for"
        self._goals = 0
        self._build()

    @property
    def width(self) -> int:
        """The widest bit-vector operation so far; 0 when solving over integers."""
        return self.to_bv.widest if self.bitvec else 0

    def _build(self) -> None:
        if self.bitvec:
            self.solver = z3.SolverFor("QF_BV")
            self.solver.set("random_seed", SEED)
            self.solver.set("rlimit", RLIMIT)
            self.to_bv = ToBitVec(self.intervals)
            self.held: list[Term] = []  # what the solver holds but the goals, translated
            return
        self.solver = new_solver()
        self.solver.add(*self.asserted)

    def _integers(self, why: str) -> None:
        """Solve over integers from now on: a new solver with every formula asserted so far."""
        self.bitvec, self.why_integers = False, why
        self._build()

    def _translated(self, f: Term) -> Term:
        """`f` as the solver takes it now: translated to bit-vectors, or over integers (from
        then on) when the translation recurses too deeply for Python (a 300-deep `and`)."""
        if not self.bitvec:
            return f
        try:
            return self.to_bv(f)
        except _TOO_DEEP:
            self._integers("a formula nested too deeply to translate")
            return f
        except NotExact as e:
            self._integers(str(e))
            return f

    def _range(self, name: str, lo: int, hi: int) -> None:
        v = self.to_bv.var(name)
        self._hold(v >= lo, v <= hi)  # implied by the formulas: the width holds them

    def _hold(self, *fs: Term) -> None:
        self.solver.add(*fs)
        self.held.extend(fs)

    def _fits(self, f: Term, learn: bool) -> dict[str, tuple[int, int]]:
        """The bounds `f` newly implies (when asserted: `learn`), or solve over integers from
        now on when `f` cannot be translated exactly."""
        new: dict[str, tuple[int, int]] = {}
        try:
            if learn:
                new = self.intervals.learn(f)
            need = self.intervals.need(f)
        except NotExact as e:
            self._integers(str(e))
            return {}
        except _TOO_DEEP:
            self._integers("a formula nested too deeply to translate")
            return {}
        if need > MAX_WIDTH:
            self._integers(f"values need {need} bits")
            return {}
        return new

    def add(self, f: Term) -> None:
        self.asserted.append(f)
        if not self.bitvec:
            self.solver.add(f)
            return
        ranges = self._fits(f, True)
        if not self.bitvec:
            return  # now over integers: _build asserted everything, `f` included
        translated = self._translated(f)
        if not self.bitvec:
            return
        for name, (lo, hi) in ranges.items():
            self._range(name, lo, hi)
        self._hold(translated)

    def ask(self, goal: Term, deadline: Deadline) -> tuple[str, Any]:
        """`sat` with its model, `unsat`, or why Z3 could not tell."""
        remaining = deadline.remaining()
        if remaining <= 0:
            return "timeout", None
        if self.bitvec:
            self._fits(goal, False)
        self._goals += 1
        lit = z3.Bool(f"_goal_{self._goals}")
        translated = self._translated(goal)  # first: falling back replaces self.solver
        self.solver.add(z3.Implies(lit, translated))
        self.solver.set("timeout", max(1, int(remaining * 1000)))
        try:
            r = self.solver.check(lit)
            if r == z3.sat:
                return "sat", self.solver.model()
            if r == z3.unsat:
                return "unsat", None
            return str(self.solver.reason_unknown()), None
        finally:
            self.solver.add(z3.Not(lit))  # retired: it never constrains a later query

    def fork(self) -> Unrolled:
        """A new solver holding every formula added to this one, and none of its goals: for
        a query asked once (`check_once`). Over bit-vectors nothing is translated again (some
        seconds on descheduler): the fork starts from copies of this one's intervals and
        translations, and what is added to either does not reach the other."""
        out = Unrolled(self.bitvec)
        if not self.bitvec:
            out.why_integers = self.why_integers
            for f in self.asserted:
                out.add(f)
            return out
        out.asserted = list(self.asserted)
        out.intervals = self.intervals.copy()
        out.to_bv = self.to_bv.copy(out.intervals)
        out._hold(*self.held)
        return out

    def check_once(self, deadline: Deadline, units: int = RLIMIT) -> str:
        """`sat`, `unsat` or why Z3 could not tell within `units` resource units, for everything
        added: for a solver that is asked once and dropped. Asked without an assumption literal,
        so Z3 preprocesses the formula as a whole (which assumption literals turn off;
        `check_fresh`)."""
        remaining = deadline.remaining()
        if remaining <= 0:
            return "timeout"
        self.solver.set("timeout", max(1, int(remaining * 1000)))
        self.solver.set("rlimit", min(units, RLIMIT))
        r = self.solver.check()
        if r in (z3.sat, z3.unsat):
            return str(r)
        return str(self.solver.reason_unknown())

    def value(self, m: Any, t: Term) -> int:
        """The integer value of the term `t` in a model `m` that `ask` returned."""
        if self.bitvec:
            return signed(m, self.to_bv(t))
        return int(m.eval(t, model_completion=True).as_long())


# A Duo keeps one solver at the end of the first depth, from PROBE_DEPTH on, whose goals took
# one of them PROBE_UNITS of Z3's resource units and PROBE_RATIO times what they took the other;
# or, whatever the ratio, CAP_UNITS (some 8 CPU seconds). A closer call does not tell which will
# be cheaper deeper down: on service_endpoints_ipvs_removes_first the integer solver's goals
# took 2.0 M units at depth 5 against 1.8 M (1.1 M against 1.8 M in another run), at depth 6
# 3.1 M against 0.6 M, and deeper 10 times the CPU time. Descheduler's lassos: 0.01 M against
# 0.26 M at depth 1, and the integers stay 5 times faster
PROBE_DEPTH = 1
PROBE_UNITS = 250_000
PROBE_RATIO = 3
CAP_UNITS = 16_000_000


class AnswersDiffer(RuntimeError):
    """The bit-vector and the integer solver answered the same goal differently: one of the
    two encodings is wrong."""


def resources(solver: Any) -> int:
    """Z3's resource count so far (one count for every solver of the context): not CPU time,
    so the load of the machine does not move it."""
    try:
        return int(solver.statistics().get_key_value("rlimit count"))
    except z3.Z3Exception:  # no query yet
        return 0


class Duo:
    """Two `Unrolled` solvers over the same formulas, `first` and `second` (one over
    bit-vectors, one over integers), until the goals are hard enough to tell which is cheaper
    (spec/smt.md, "The encoding"): which of them Z3 answers faster depends on the model, by
    factors of 5 to 30 either way (benchmarks/bmc_depth12.md). Until then every formula goes
    to both and every goal is asked of both; `first`'s answers are the ones used, and the two
    must agree (the same formula, each exact), else AnswersDiffer. At the end of the first
    depth (from PROBE_DEPTH) whose goals took one of them PROBE_UNITS of Z3's resource units
    and PROBE_RATIO times the other's (or CAP_UNITS), the one that took fewer is kept for the
    deeper ones."""

    def __init__(self, first: Unrolled, second: Unrolled | None = None) -> None:
        self.solvers = [first] if second is None else [first, second]
        self.spent = [0, 0]  # resource units of this depth's goals
        self.decided: tuple[int, list[int]] | None = None  # at which depth, on what counts

    @property
    def kept(self) -> Unrolled:
        """The solver whose answers are used."""
        return self.solvers[0]

    def add(self, f: Term) -> None:
        for s in self.solvers:
            s.add(f)

    def ask(self, goal: Term, deadline: Deadline) -> tuple[str, Any]:
        if len(self.solvers) > 1 and not self.solvers[0].bitvec and not self.solvers[1].bitvec:
            del self.solvers[1]  # both over integers now (a formula bit-vectors cannot take)
        answers: list[tuple[str, Any]] = []
        for n, s in enumerate(self.solvers):
            before = resources(s.solver)
            answers.append(s.ask(goal, deadline))
            self.spent[n] += resources(s.solver) - before
        answer, m = answers[0]
        if len(answers) > 1:
            other = answers[1][0]
            if other not in ("sat", "unsat"):  # it gave up: the first goes on alone
                del self.solvers[1]
            elif answer in ("sat", "unsat") and other != answer:
                raise AnswersDiffer(
                    f"the bit-vector and integer solvers answered {answer} and {other} to the"
                    " same goal; this is a kcheck bug"
                )
        return answer, m

    def value(self, m: Any, t: Term) -> int:
        return self.kept.value(m, t)

    def depth_done(self, k: int) -> None:
        """The goals of depth k are asked: keep the cheaper solver once they tell."""
        hi, lo = max(self.spent), min(self.spent)
        clear = hi >= PROBE_UNITS and hi >= PROBE_RATIO * lo
        if len(self.solvers) > 1 and k >= PROBE_DEPTH and (clear or hi >= CAP_UNITS):
            self.decided = k, list(self.spent)
            self.solvers = [self.solvers[0 if self.spent[0] <= self.spent[1] else 1]]
        self.spent = [0, 0]
