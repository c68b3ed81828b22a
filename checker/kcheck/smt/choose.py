"""Which survivors of the Houdini fixpoint the proof uses (spec/smt.md, "Houdini", step 4).

All survivors together are inductive, so each action instance's query "the survivors hold, this
step breaks a goal" is unsat; its unsat core (an assumption literal per survivor, on that small
fresh query) names survivors enough for that instance. The invariants proved are assumed in
every query (restated as lemmas), and a goal the instance writes no slot of is not asked of it
(it holds after the step as before). The cores of every instance, for the invariants proved
and "no step fails", then for what those cores named, and so on, close into a set that proves
itself and the goals; each core is sought first among what is chosen, so instances share
facts. Then each member is dropped when the rest still prove themselves; only the instances
whose core names it are asked again (the others' cores still hold without it, as the goals
only shrink), each answer giving that instance's new core.

A choice that stops falls back: before the closure is complete, to every survivor (inductive
together, so a proof, only a longer one); during the drop pass, to what is left (each drop was
checked). The lines are advice either way: the final k-induction proves each of them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import z3  # type: ignore[import-untyped]

from kcheck.smt.solver import Deadline
from kcheck.smt.terms import Term

# the drop pass asks at most this many queries per action instance (scheduler_plugins: its
# 45 instances' queries take 0.2-2 s each, and a member its cores all name costs 45 of them)
DROP_QUERIES = 4


class Unknown(Exception):
    """Z3 gave no answer (its resource limit or the deadline): the step stops there."""


class Chooser:
    """The choice, over the queries of a fixpoint run (smt/infer.py's `_Run`)."""

    steps: list[Term]  # one step formula per action instance
    bad: list[dict[str, Term]]  # state 0 or 1 -> name -> its violation there
    fixed: list[str]  # the model's invariants
    single: bool  # "no step fails" is asked in one state (else after a step)
    fail: Term  # a step fails from state 1
    proved: list[str]  # the invariants proved, assumed in every query
    writes: list[set[int]]  # per instance, the slots it changes
    slots: dict[str, int]  # the name of each of state 1's slots -> its index
    _reads: dict[str, set[int] | None]  # name -> the slots of state 1 its violation reads

    def reads(self, name: str) -> set[int] | None:
        """The slots of state 1 that `name`'s violation reads (None: it reads something other
        than a slot of state 1, so no step is known to leave it alone)."""
        if name not in self._reads:
            self._reads[name] = _slots_of(self.bad[1][name], self.slots)
        return self._reads[name]

    def touches(self, i: int, name: str) -> bool:
        """Whether instance i may change `name`'s truth: it writes a slot the name reads.
        When not, the next state's value is the current one's, assumed, so it need not be a
        goal there."""
        got = self.reads(name)
        return got is None or bool(got & self.writes[i])

    def ask_core(self, facts: Sequence[Term], tracked: Sequence[tuple[str, Term]],
                 deadline: Deadline) -> list[str] | None:  # fmt: skip
        """The unsat core of `facts` and `tracked` (names), None when satisfiable; raises
        Unknown when Z3 cannot tell."""
        raise NotImplementedError

    def _core(self, i: int, assumed: Sequence[str], goals: Sequence[str], dl: Deadline) -> Any:
        """The core of instance i's query: `assumed` and the invariants proved in state 0, one
        of `goals` that instance i may change broken in state 1 (those it leaves alone hold
        there as they held before: assumed)."""
        mine = [n for n in goals if self.touches(i, n)]
        if not mine:
            return []
        goal = z3.Or(*[self.bad[1][n] for n in mine])
        fixed = [z3.Not(self.bad[0][n]) for n in self.proved]
        tracked = [(n, z3.Not(self.bad[0][n])) for n in assumed if n not in self.proved]
        return self.ask_core([self.steps[i], *fixed, goal], tracked, dl)

    def _bound_core(self, assumed: Sequence[str], dl: Deadline) -> list[str] | None:
        """A core of "no step fails" (in a state alone, or after a step from one where they
        hold: self.single), None when `assumed` is not enough."""
        at = (1,) if self.single else (0, 1)
        fixed = [z3.Not(self.bad[j][n]) for n in self.proved for j in at]
        both = [(n, z3.And(*[z3.Not(self.bad[j][n]) for j in at]))
                for n in assumed if n not in self.proved]  # fmt: skip
        if self.single:
            return self.ask_core([self.fail, *fixed], both, dl)
        core: dict[str, None] = {}
        for step in self.steps:
            got = self.ask_core([step, self.fail, *fixed], both, dl)
            if got is None:
                return None
            core.update(dict.fromkeys(got))
        return [n for n in assumed if n in core]

    def choose(
        self, alive: list[str], proved: list[str], bound: bool, deadline: Deadline
    ) -> tuple[list[str], str]:
        """The survivors the proofs of `proved` and, with `bound`, of "no step fails" assume
        besides `proved` (assumed in every query: restated as lemmas), and a note when the
        choice fell back (empty when it did not)."""
        self.proved, self._reads = list(proved), {}
        alive = [n for n in alive if n not in self.proved]
        try:
            chosen, cores, bcore = self._closure(alive, proved, bound, deadline)
        except Unknown as why:
            return list(alive), (
                f"choosing the lemmas {why}: every survivor is printed (inductive together, each "
                f"proved below: a proof with more lemmas than it needs)"
            )
        try:
            self._drop(chosen, proved, cores, bcore, deadline)
        except Unknown as why:
            return chosen, (
                f"dropping the lemmas not needed {why}: some of those printed may not be needed "
                f"(each is proved below)"
            )
        return chosen, ""

    def _closure(
        self, alive: list[str], proved: list[str], bound: bool, dl: Deadline
    ) -> tuple[list[str], list[set[str]], set[str] | None]:
        """The union of the cores of every instance, for the goals, then for what the cores
        named (each goal asked once per instance, as more assumed only keeps a query unsat),
        with each instance's core (and the bound's: None when not asked). Each core is sought
        first among what is chosen (starting from the invariants proved), so that instances
        share their facts, and only then among all survivors."""
        at = {n: k for k, n in enumerate(alive)}
        cores: list[set[str]] = [set() for _ in self.steps]
        bcore: set[str] | None = None
        chosen: list[str] = []
        goals, asked = list(proved), set(proved)
        while goals or (bound and bcore is None):
            new: list[str] = []
            for i in range(len(self.steps)) if goals else []:
                ask = functools.partial(self._core, i, goals=goals, dl=dl)
                got = self._reusing(ask, chosen, alive, proved)
                cores[i] |= set(got)
                new += got
                chosen = sorted({*chosen, *got}, key=at.__getitem__)
            if not goals:
                got = self._reusing(lambda t: self._bound_core(t, dl), chosen, alive, proved)
                bcore = set(got)
                new += got
                chosen = sorted({*chosen, *got}, key=at.__getitem__)
            goals = sorted({n for n in new if n not in asked}, key=at.__getitem__)
            asked |= set(goals)
        return chosen, cores, bcore

    @staticmethod
    def _reusing(
        ask: Callable[[list[str]], list[str] | None],
        chosen: list[str],
        alive: list[str],
        proved: list[str],
    ) -> list[str]:
        """A core among `chosen` when there is one, else among all survivors,
        asked once more within itself (Z3's cores shrink when asked again: on scheduler_plugins
        from about 100 survivors to 60)."""
        got = ask(chosen)
        if got is not None:
            return got
        got = ask(alive)
        if got is None:  # the survivors are inductive together
            raise Unknown("met a step the survivors do not keep (Z3's error)")
        again = ask(got)
        return got if again is None else again

    def _drop(
        self,
        chosen: list[str],
        proved: list[str],
        cores: list[set[str]],
        bcore: set[str] | None,
        dl: Deadline,
    ) -> None:
        """Drop from `chosen` (in place) each member without which the rest still prove
        themselves, `proved` and (`bcore` not None) "no step fails": those the fewest cores
        name first (the fewest queries, and the likeliest spare), the last in order first
        among equals. At most DROP_QUERIES queries a step (a count, not a time: the lines do
        not move with the load)."""
        named = {n: sum(n in k for k in cores) for n in chosen}
        order = sorted(reversed(chosen), key=named.__getitem__)
        budget = DROP_QUERIES * len(self.steps)
        first: list[int] = []  # instances that broke a trial before: likely to again
        for c in order:
            trial = [n for n in chosen if n != c]
            goals = list(dict.fromkeys([*trial, *proved]))
            due = [i for i in range(len(self.steps)) if c in cores[i]]
            due = [i for i in first if i in due] + [i for i in due if i not in first]
            budget -= len(due) + (bcore is not None and c in bcore)
            if budget < 0:
                raise Unknown(f"reached its limit of {DROP_QUERIES * len(self.steps)} queries")
            fresh: dict[int, set[str]] = {}
            for i in due:
                got = self._core(i, trial, goals, dl)
                if got is None:
                    first = [i, *(k for k in first if k != i)]
                    break
                fresh[i] = set(got)
            else:
                nb = bcore
                if bcore is not None and c in bcore:
                    got = self._bound_core(trial, dl)
                    if got is None:
                        continue
                    nb = set(got)
                chosen.remove(c)
                for i, core in fresh.items():
                    cores[i] = core
                bcore = nb


def _slots_of(t: Term, slots: dict[str, int]) -> set[int] | None:
    """The indices of the constants of `t` named in `slots`; None when it has another."""
    out: set[int] = set()
    seen: set[int] = set()
    todo = [t]
    while todo:
        e = todo.pop()
        k = e.get_id()
        if k in seen:
            continue
        seen.add(k)
        if z3.is_const(e) and e.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            j = slots.get(str(e))
            if j is None:
                return None
            out.add(j)
        elif z3.is_app(e):
            todo.extend(e.children())
        else:  # a quantifier or a bound variable: not looked into
            return None
    return out
