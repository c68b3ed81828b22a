"""Temporal properties on one live run. A run is finite and has faults, so the checker's
"eventually" becomes a deadline: every obligation must be met within `settle` seconds after the
last fault (or after it arose, if later), and `eventually always P` must also *hold* P for
`hold` seconds without a break. `always P` is an invariant. Quantified properties are checked
binding by binding (PropertyInfo.instances)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kcheck.model.ir import CompiledModel, State, StepError


@dataclass
class Obligation:
    """One property (or one binding of a quantified one) being watched."""

    name: str  # the property's name, with its binding when quantified
    prop: str
    shape: str
    predicates: tuple[Callable[[State], bool], ...]
    held_since: float | None = None  # eventually always: P true without a break since then
    seen_after_fault: bool = False  # always eventually: P seen since the last fault
    pending_since: float | None = None  # leads_to: P seen, Q not yet
    failed: str | None = None


@dataclass
class Monitor:
    settle: float
    hold: float
    obligations: list[Obligation] = field(default_factory=list)
    not_checked: list[tuple[str, str]] = field(default_factory=list)  # (property, why)
    last_fault: float = 0.0

    @classmethod
    def for_model(cls, model: CompiledModel, settle: float, hold: float) -> Monitor:
        m = cls(settle, hold)
        for p in model.properties:
            if p.quantified and not p.instances:
                m.not_checked.append((p.name, "a quantified property without bindings to check"))
                continue
            for label, preds in p.instances or (("", p.predicates),):
                name = f"{p.name}[{label}]" if label else p.name
                m.obligations.append(Obligation(name, p.name, p.shape, preds))
        return m

    def fault(self, now: float) -> None:
        """A fault resets every obligation's clock: the system may be knocked off course."""
        self.last_fault = now
        for o in self.obligations:
            o.seen_after_fault = False

    def observe(self, s: State, now: float) -> Obligation | None:
        """Record state `s` seen at `now`; the first obligation it breaks for good, if any."""
        for o in self.obligations:
            try:
                _observe_one(o, s, now)
            except StepError as err:  # it reads through `none`, divides by zero: as in verify
                o.failed = f"cannot be evaluated in the last state: {err.message}"
            if o.failed:
                return o
        return None

    def met(self, o: Obligation, now: float, quiet: bool) -> bool:
        """Is `o` met at `now`? `quiet`: nothing can change any more (no fault left, no
        action enabled), so a condition that holds now holds for ever."""
        if o.shape == "always":
            return o.failed is None
        if o.shape == "eventually always":
            if o.held_since is None:
                return False
            return quiet or now - max(o.held_since, self.last_fault) >= self.hold
        if o.shape == "always eventually":
            return o.seen_after_fault
        return o.pending_since is None

    def overdue(self, now: float) -> Obligation | None:
        """The first obligation whose deadline has passed unmet (call only once faults are over
        or the deadline is past the last fault)."""
        for o in self.obligations:
            start = self.last_fault
            if o.shape == "leads_to" and o.pending_since is not None:
                start = max(start, o.pending_since)
            if now - start > self.settle and not self.met(o, now, quiet=False):
                o.failed = f"not reached and held within {self.settle:g} s after the last fault"
                if o.shape == "leads_to":
                    o.failed = f"not answered within {self.settle:g} s"
                return o
        return None

    def reached(self, now: float) -> float:
        """When the properties were last reached: the latest start of an `eventually always`
        that holds now (the hold period is not part of the time to converge)."""
        starts = [o.held_since for o in self.obligations if o.held_since is not None]
        return max(starts, default=now)

    def all_met(self, now: float, quiet: bool) -> bool:
        return all(self.met(o, now, quiet) for o in self.obligations)


def _observe_one(o: Obligation, s: State, now: float) -> None:
    if o.shape == "always":
        if not o.predicates[0](s):
            o.failed = "the state breaks it"
    elif o.shape == "eventually always":
        if o.predicates[0](s):
            if o.held_since is None:
                o.held_since = now
        else:
            o.held_since = None
    elif o.shape == "always eventually":
        if o.predicates[0](s):
            o.seen_after_fault = True
    elif o.shape == "leads_to":
        p, q = o.predicates
        if q(s):
            o.pending_since = None
        elif p(s) and o.pending_since is None:
            o.pending_since = now
