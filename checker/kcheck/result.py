"""What an engine answers: a verdict per property, statistics, and the overall verdict. The CLI
maps verdicts to exit codes (0 holds, 1 violated, 2 bad input, 3 inconclusive).

The rule every engine's answer obeys (spec/promises.md): a run is `holds` only when every
property it was asked about was checked and holds. A property an engine did not check is
listed as `not checked` (never dropped), and then the run is at best inconclusive."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kcheck.trace import Trace

HOLDS = "holds"
VIOLATED = "violated"
INCONCLUSIVE = "inconclusive"
NOT_CHECKED = "not checked"

# The JSON report's format (spec/json.md, schema kcheck/schemas/report.schema.json): the major
# number changes when a field is removed, renamed or changes meaning, so that a reader of the
# old format would misread the new; the minor number when a field or a value is added.
FORMAT_VERSION = "1.1"  # 1.1: a step of a timed trace has `time`, a temporal proof `measures`


@dataclass(frozen=True)
class Proof:
    """What a k-induction proof rests on (spec/smt.md): the k of the step case, the lemmas it
    assumed, the invariants proved together with it (their conjunction was inductive), and
    whether it was proved that no step leaves the model's bounds ("proved", "not proved",
    "violated"): the step relation has no failing steps, so the proof covers the states reached
    within the bounds, and is the model's only when no step leaves them. A temporal property's
    proof also names the measures (KDSL expressions) that no fair loop breaking it can change
    (spec/smt.md, "Measures"); they appear in JSON only when there are some."""

    k: int
    lemmas: tuple[str, ...] = ()
    jointly: tuple[str, ...] = ()
    bounds: str = "proved"
    measures: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"k": self.k, "lemmas": list(self.lemmas),
                               "jointly": list(self.jointly), "bounds": self.bounds}  # fmt: skip
        if self.measures:
            out["measures"] = list(self.measures)
        return out


@dataclass(frozen=True)
class PropertyResult:
    name: str
    kind: str  # "invariant", "property" or "bound" (the model left its declared bounds)
    status: str  # holds, violated, inconclusive, not checked
    line: int | None = None
    trace: Trace | None = None
    reason: str | None = None
    engine: str | None = None  # which engine decided this entry, when a run mixes engines
    proof: Proof | None = None  # an induction proof: what it rests on
    # why the last state violates a violated invariant: its parts' values there, one line each,
    # indented two spaces a level (report/explain.py); empty when not explained
    explanation: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "status": self.status,
            "line": self.line,
            "trace": self.trace.to_json() if self.trace is not None else None,
        }
        if self.trace is not None and self.trace.loop_start is not None:
            out["loop_start"] = self.trace.loop_start
            if self.trace.waiting:
                out["waiting"] = list(self.trace.waiting)
            if self.trace.loop_renames:
                out["loop_renames"] = dict(self.trace.loop_renames)
        if self.reason:
            out["reason"] = self.reason
        if self.engine:
            out["engine"] = self.engine
        if self.proof is not None:
            out["proof"] = self.proof.to_json()
        if self.explanation:
            out["explanation"] = list(self.explanation)
        return out


@dataclass
class Stats:
    states: int = 0
    transitions: int = 0
    depth: int = 0
    seconds: float = 0.0
    queue: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "states": self.states,
            "transitions": self.transitions,
            "depth": self.depth,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class ActionCoverage:
    """How often a simulation fired one action, passed it over while it was enabled, and the
    deepest step at which it fired (0: never)."""

    action: str
    fired: int
    passed: int
    deepest: int

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "fired": self.fired, "enabled_not_taken": self.passed,
                "max_depth": self.deepest}  # fmt: skip


GUARD_KINDS = ("where", "when")


@dataclass(frozen=True)
class BranchCoverage:
    """One guard conjunct (kind `where`/`when`: how often it held and failed where evaluated)
    or one branch (`then`, `else`, `choose`, `any`: how many steps taken went through it, and
    the deepest), at its source line:col (spec/simulate.md "Coverage")."""

    action: str
    kind: str
    line: int
    col: int
    text: str
    count: int  # a guard: held; a branch: taken
    failed: int  # a guard: failed; a branch: 0
    deepest: int  # a branch: the deepest step that took it (0: never); a guard: 0

    @property
    def guard(self) -> bool:
        return self.kind in GUARD_KINDS

    @property
    def where(self) -> str:
        return f"{self.action} {self.kind} {self.line}:{self.col}"

    @property
    def never(self) -> bool:
        """A branch never taken, or a guard conjunct that never held."""
        return self.count == 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action, "kind": self.kind, "line": self.line,
                               "col": self.col, "text": self.text}  # fmt: skip
        if self.guard:
            out.update(held=self.count, failed=self.failed)
        else:
            out.update(taken=self.count, max_depth=self.deepest)
        return out


@dataclass(frozen=True)
class Coverage:
    """What a simulation's random walks (or a complete search, `verify --coverage`) covered
    (spec/simulate.md)."""

    traces: int
    depth: int
    seed: int
    actions: tuple[ActionCoverage, ...]
    branches: tuple[BranchCoverage, ...] = ()
    # `kcheck verify --coverage`: over the reachable graph (traces 0, depth its BFS depth),
    # complete when it saw every reachable state (up to symmetry), `states` of them
    complete: bool = False
    states: int = 0

    @property
    def exhaustive(self) -> bool:
        return self.traces == 0 and self.states > 0

    @property
    def never_fired(self) -> list[str]:
        return [a.action for a in self.actions if a.fired == 0]

    @property
    def never_taken(self) -> list[str]:
        """Branches never taken and guard conjuncts that never held, as `ACTION KIND L:C`."""
        return [b.where for b in self.branches if b.never]

    def to_json(self) -> dict[str, Any]:
        return {"traces": self.traces, "depth": self.depth, "seed": self.seed,
                "actions": [a.to_json() for a in self.actions],
                "never_fired": self.never_fired,
                "branches": [b.to_json() for b in self.branches],
                "never_taken": self.never_taken,
                "search": ({"complete": self.complete, "states": self.states}
                           if self.exhaustive else None)}  # fmt: skip


@dataclass
class CheckResult:
    model: str
    engine: str
    stats: Stats
    properties: list[PropertyResult]
    complete: bool  # the whole reachable state space (within bounds) was explored
    limit: str | None = None  # which limit stopped the search, when one did
    notes: list[str] = field(default_factory=list)
    coverage: Coverage | None = None  # a simulation's: which actions its walks fired

    @property
    def verdict(self) -> str:
        statuses = {p.status for p in self.properties}
        if VIOLATED in statuses:
            return VIOLATED
        # inconclusive or not checked: what was not decided is never reported as holding
        if statuses - {HOLDS}:
            return INCONCLUSIVE
        # nothing to report but the bounds (no invariant, no property): they hold only if
        # the engine saw every state or proved it (BMC to a depth, a search cut short: no)
        if not statuses and not self.complete:
            return INCONCLUSIVE
        return HOLDS

    def account_for(self, asked: Sequence[Asked], engine: str) -> CheckResult:
        """This result with every property the run was asked about that the engine left out
        listed as `not checked`. Every command calls it on every engine's answer, so an
        engine that forgets a property can never make the run hold."""
        have = {p.name for p in self.properties}
        missing = [
            PropertyResult(a.name, a.kind, NOT_CHECKED, a.line, reason=_not_checked_by(engine, a))
            for a in asked
            if a.name not in have
        ]
        if not missing:
            return self
        return replace(self, properties=[*self.properties, *missing])

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "model": self.model,
            "verdict": self.verdict,
            "engine": self.engine,
            "stats": self.stats.to_json(),
            "complete": self.complete,
            "limit": self.limit,
            "notes": self.notes,
            "properties": [p.to_json() for p in self.properties],
        } | ({"coverage": self.coverage.to_json()} if self.coverage is not None else {})


@dataclass(frozen=True)
class Asked:
    """A property a run was asked to check: its name, sort (invariant or property) and line."""

    name: str
    kind: str
    line: int | None = None


def _not_checked_by(engine: str, asked: Asked) -> str:
    if asked.kind == "property":
        return f"{engine} does not check temporal properties; the explicit engine does"
    return f"{engine} did not check it"
