"""Guard and branch coverage of the walks (spec/simulate.md "Coverage"), and of a complete
search (`kcheck verify --coverage`, search_coverage), counted on the model's
coverage form (model/coverage.py): how often each conjunct of each action's `where`/`when` held
and failed in the states the walks stood in, and how often each branch (`if` then/else,
`choose`, `:= any`) was on a step the walks took, and the deepest such step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kcheck.model.coverage import CoverCode
from kcheck.model.ir import CompiledModel, State, StepError
from kcheck.result import ActionCoverage, BranchCoverage, Coverage

Outcome = tuple[int, tuple[int, ...], State | StepError]


@dataclass
class Tally:
    """Counts of one range of walks (merged across workers by `add`)."""

    taken: list[int]
    deepest: list[int]
    guards: list[int] = field(default_factory=list)  # 2 * point + held

    @classmethod
    def empty(cls, code: CoverCode | None) -> Tally:
        n = len(code.points) if code is not None else 0
        return cls([0] * n, [0] * n, [0] * (2 * n))

    def took(self, path: tuple[int, ...], depth: int) -> None:
        for pid in path:
            self.taken[pid] += 1
            if depth > self.deepest[pid]:
                self.deepest[pid] = depth

    def add(self, other: Tally) -> None:
        for i, n in enumerate(other.taken):
            self.taken[i] += n
            self.deepest[i] = max(self.deepest[i], other.deepest[i])
        for i, n in enumerate(other.guards[: len(self.guards)]):
            self.guards[i] += n


def outcomes_with_paths(code: CoverCode, s: State) -> tuple[list[Outcome], list[tuple[int, ...]]]:
    """The outcomes of `s` exactly as `simulate.outcomes` lists them, and each one's path."""
    outs: list[Outcome] = []
    paths: list[tuple[int, ...]] = []
    for gen in code.outcomes:
        for aid, args, t, path in gen(s):
            outs.append((aid, args, t))
            paths.append(path)
    return outs, paths


def rows(model: CompiledModel, tally: Tally) -> tuple[BranchCoverage, ...]:
    """The coverage table's guard and branch rows, in action and source order."""
    code = model.coverage
    if code is None:
        return ()
    out = []
    order = ("where", "when", "then", "else", "choose", "any")
    for p in sorted(code.points, key=lambda p: (p.action, p.line, p.col, order.index(p.kind))):
        label = model.actions[p.action].label
        if p.guard:
            failed, held = tally.guards[2 * p.id], tally.guards[2 * p.id + 1]
            out.append(BranchCoverage(label, p.kind, p.line, p.col, p.text, held, failed, 0))
        else:
            out.append(BranchCoverage(label, p.kind, p.line, p.col, p.text, tally.taken[p.id],
                                      0, tally.deepest[p.id]))  # fmt: skip
    return tuple(out)


def search_coverage(model: CompiledModel, *, symmetry: bool, max_states: int) -> Coverage:
    """`kcheck verify --coverage`: the guards and branches of every transition of the
    reachable graph (breadth-first over the coverage form, up to symmetry when `symmetry`), so
    a branch never taken is one no behaviour of the model takes, when the pass is complete.
    `deepest` is the largest breadth-first depth at which a step takes it. Stops past
    `max_states` states; the result says whether it saw them all."""
    code = model.coverage
    if code is None:
        raise ValueError("search_coverage needs a model compiled with coverage=True")
    canon = model.canonicalize if symmetry else None
    n = len(model.actions)
    fired, deepest = [0] * n, [0] * n
    tally = Tally.empty(code)
    code.take_counts()
    try:
        inits = model.initial()
    except StepError:
        inits = []
    seen: set[State] = set()
    frontier: list[State] = []
    for s in inits:
        s = canon(s) if canon is not None else s
        if s not in seen:
            seen.add(s)
            frontier.append(s)
    depth = 0
    while frontier and len(seen) <= max_states:
        depth += 1
        nxt: list[State] = []
        for s in frontier:
            for gen in code.outcomes:
                for aid, _, t, path in gen(s):
                    fired[aid] += 1
                    deepest[aid] = depth
                    tally.took(path, depth)
                    if isinstance(t, StepError):
                        continue
                    t = canon(t) if canon is not None else t
                    if t not in seen:
                        seen.add(t)
                        nxt.append(t)
        frontier = nxt
    tally.guards = code.take_counts()
    actions = tuple(ActionCoverage(a.label, fired[a.id], 0, deepest[a.id]) for a in model.actions)
    return Coverage(0, depth, 0, actions, rows(model, tally), complete=not frontier,
                    states=len(seen))  # fmt: skip
