"""The model as a transition system over numbered copies of the state: state i is a tuple of Z3
integers named PREFIX_i_SLOT, and step i relates state i to state i + 1. Encoded lazily and once,
so that several solvers (the base case and the step case of induction, one per invariant) share
the same terms."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import z3  # type: ignore[import-untyped]

from kcheck.model.ir import State
from kcheck.smt.encode import Encoder
from kcheck.smt.terms import FALSE, Instance, Term, _and


@dataclass
class Unrolling:
    enc: Encoder
    prefix: str
    _states: list[tuple[Term, ...]] = field(default_factory=list)
    _instances: list[list[Instance]] = field(default_factory=list)
    _steps: list[tuple[Term, Term]] = field(default_factory=list)

    def state(self, i: int) -> tuple[Term, ...]:
        while len(self._states) <= i:
            self._states.append(self.enc.fresh_state(f"{self.prefix}{len(self._states)}"))
        return self._states[i]

    def instances(self, i: int) -> list[Instance]:
        while len(self._instances) <= i:
            self._instances.append(self.enc.instances(self.state(len(self._instances))))
        return self._instances[i]

    def _step(self, i: int) -> tuple[Term, Term]:
        while len(self._steps) <= i:
            j = len(self._steps)
            tag = f"{self.prefix}{j}"
            self._steps.append(transition(self.instances(j), self.state(j), self.state(j + 1), tag))
        return self._steps[i]

    def step(self, i: int) -> Term:
        """Some action takes state i to state i + 1 without failing."""
        return self._step(i)[0]

    def idle(self, i: int) -> Term:
        """State i + 1 repeats state i: the path has ended (`idle`)."""
        return idle(self.state(i), self.state(i + 1), f"{self.prefix}{i}")

    def fail(self, i: int) -> Term:
        """Some action instance raises a StepError in state i."""
        return self._step(i)[1]

    def concrete(self, m: Any, upto: int) -> list[State]:
        """States 0..upto as the Z3 model `m` assigns them."""
        return [
            tuple(m.eval(v, model_completion=True).as_long() for v in self.state(i))
            for i in range(upto + 1)
        ]

    def taken(self, m: Any, i: int) -> tuple[int, tuple[int, ...]]:
        """The action instance (id, arguments) that takes step i in the Z3 model `m`."""
        nxt = self.state(i + 1)
        for inst in self.instances(i):
            for br in inst.branches:
                eqs = [a == b for a, b in zip(nxt, br.state, strict=True)]
                if z3.is_true(m.eval(z3.And(br.ok, *eqs), model_completion=True)):
                    return inst.action, inst.args
        raise AssertionError("the Z3 model takes no encoded step")

    def failing(self, m: Any, i: int) -> tuple[int, tuple[int, ...]]:
        """An action instance (id, arguments) that fails in state i in the Z3 model `m`."""
        for inst in self.instances(i):
            if z3.is_true(m.eval(inst.fail, model_completion=True)):
                return inst.action, inst.args
        raise AssertionError("no encoded step fails in the Z3 model")


def selector(tag: str) -> Term:
    """The variable that picks the branch of the step `tag` (an unrolling's prefix and the
    step's number)."""
    return z3.Int(f"_sel_{tag}")


def idle(cur: tuple[Term, ...], nxt: tuple[Term, ...], tag: str) -> Term:
    """`nxt` repeats `cur` and the selector of the step `tag` is 0: in place of that step, for a
    path that ended before it (the selector is then bounded as a step bounds it, which the
    bit-vector solver needs)."""
    return _and(selector(tag) == 0, *[a == b for a, b in zip(nxt, cur, strict=True)])


def transition(
    instances: list[Instance], cur: tuple[Term, ...], nxt: tuple[Term, ...], tag: str
) -> tuple[Term, Term]:
    """(some step goes from `cur` to `nxt`, some step raises StepError), for the instances of
    `cur`. A step picks one branch with a selector variable; each slot of `nxt` is then an
    if-then-else over the few branches that change it, the current value otherwise. This is
    the same relation as "some branch's guard holds and `nxt` equals its state", in a form
    Z3 solves much faster than that disjunction of whole-state equalities."""
    branches = [br for inst in instances for br in inst.branches if not z3.is_false(br.ok)]
    fails = [inst.fail for inst in instances if not z3.is_false(inst.fail)]
    fail = z3.Or(*fails) if fails else FALSE
    if not branches:
        return FALSE, fail
    sel = selector(tag)
    picks = [sel == b for b in range(len(branches))]
    guard = [sel >= 0, sel < len(branches)]
    guard += [z3.Implies(pick, br.ok) for pick, br in zip(picks, branches, strict=True)]
    frame: list[Term] = []
    for j, now in enumerate(cur):
        value = now
        for pick, br in zip(reversed(picks), reversed(branches), strict=True):
            if not br.state[j].eq(now):
                value = z3.If(pick, br.state[j], value)
        frame.append(nxt[j] == value)
    return z3.And(*guard, *frame), fail
