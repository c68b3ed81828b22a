"""`kcheck ci`'s gate: each property's status compared with the verdict expected of it, one
row per property, and the totals that decide the exit code."""

from __future__ import annotations

from dataclasses import dataclass

from kcheck.ci.runner import Run
from kcheck.result import HOLDS, NOT_CHECKED, VIOLATED, Coverage

OK, UNEXPECTED, SKIPPED = "OK", "UNEXPECTED", "SKIPPED"


@dataclass(frozen=True)
class Row:
    path: str
    params: str
    prop: str
    expected: str
    got: str
    outcome: str  # OK, UNEXPECTED, SKIPPED
    note: str = ""
    kind: str = ""


def compare(run: Run) -> list[Row]:
    """One row per property checked, plus one per expected property that was not reported."""
    exp = run.job.expectation
    rows: list[Row] = []
    seen: set[str] = set()
    for p in run.result.properties:
        seen.add(p.name)
        stated = exp.statuses.get(p.name)
        expected = stated or HOLDS
        got = p.status
        n = len(p.trace) if p.trace is not None else None
        if got == VIOLATED and n is not None:
            got_shown = f"violated ({n} step{'s' if n != 1 else ''})"
        else:
            got_shown = got
        note = ""
        if got == NOT_CHECKED and stated == NOT_CHECKED:
            # the configuration acknowledges it: shown as skipped, never as a pass
            outcome, note = SKIPPED, p.reason or "not checked"
        elif got == NOT_CHECKED:
            # a gate passes only what was checked (spec/promises.md)
            outcome = UNEXPECTED
            note = (
                f"not checked: {p.reason or 'the engine did not check it'}; "
                f'to accept that, set expect = {{ {p.name} = "not checked" }}'
            )
        elif got == expected == VIOLATED:
            want = exp.steps.get(p.name)
            if want is not None and n != want:
                outcome = UNEXPECTED
                note = f"the counterexample has {n} steps, {want} expected"
            else:
                outcome = OK
        elif got == expected:
            outcome = OK
        elif got == HOLDS:
            outcome, note = UNEXPECTED, "fixed? update the expectation"
        elif got == VIOLATED:
            outcome, note = UNEXPECTED, "a violation that is not expected"
        else:
            outcome, note = UNEXPECTED, f"{got}: {p.reason}" if p.reason else got
        exp_shown = expected + (f" ({exp.steps[p.name]} steps)" if p.name in exp.steps else "")
        rows.append(
            Row(run.job.path, run.job.params, p.name, exp_shown, got_shown, outcome, note, p.kind)
        )
    for name, status in exp.statuses.items():
        if name in seen:
            continue
        if status == VIOLATED:
            # an expected bound error that no longer happens, or a property not selected
            checked = name.startswith("bound: ") or run.result.complete
            note = (
                "fixed? update the expectation"
                if checked
                else "not reported (the search stopped early)"
            )
            got = HOLDS if checked else "not reported"
            rows.append(Row(run.job.path, run.job.params, name, status, got, UNEXPECTED, note))
    gate = run.job.settings.simulate
    if gate is not None and gate.every_action and run.coverage is not None:
        rows.append(_coverage_row(run, run.coverage))
    if gate is not None and gate.every_branch and run.coverage is not None:
        rows.append(_branch_row(run, run.coverage))
    return rows


def _branch_row(run: Run, cov: Coverage) -> Row:
    """The `simulate = { every_branch = true }` gate: every branch taken and every guard
    conjunct true on some walk."""
    never = cov.never_taken
    walks = f"{cov.traces} random traces of depth {cov.depth} (seed {cov.seed})"
    want = "every branch taken"
    if never:
        got = f"never taken: {', '.join(never)}"
        note = f"in {walks}; dead code or a guard that is never true, or more walks needed"
        return Row(run.job.path, run.job.params, "branch coverage", want, got, UNEXPECTED,
                   note, "coverage")  # fmt: skip
    got = f"all {len(cov.branches)} guards and branches"
    return Row(run.job.path, run.job.params, "branch coverage", want, got, OK, f"in {walks}",
               "coverage")  # fmt: skip


def _coverage_row(run: Run, cov: Coverage) -> Row:
    """The `simulate = { every_action = true }` gate: every action fired on some walk."""
    never = cov.never_fired
    walks = f"{cov.traces} random traces of depth {cov.depth} (seed {cov.seed})"
    if never:
        got = f"never fired: {', '.join(never)}"
        note = f"in {walks}; a guard that is never true, or more traces or depth needed"
        return Row(run.job.path, run.job.params, "coverage", "every action fired", got,
                   UNEXPECTED, note, "coverage")  # fmt: skip
    got = f"all {len(cov.actions)} fired"
    return Row(run.job.path, run.job.params, "coverage", "every action fired", got, OK,
               f"in {walks}", "coverage")  # fmt: skip


@dataclass(frozen=True)
class Totals:
    runs: int
    cached: int
    ok: int
    unexpected: int
    skipped: int
    errors: int

    def line(self) -> str:
        parts = [
            f"{self.ok + self.unexpected + self.skipped} checks: {self.ok} OK",
            f"{self.unexpected} UNEXPECTED",
        ]
        if self.skipped:
            parts.append(f"{self.skipped} skipped (not checked)")
        if self.errors:
            parts.append(f"{self.errors} not loaded")
        return (
            ", ".join(parts)
            + f"; {self.runs} runs, {self.cached} cached"
            + (" (--no-cache to re-check)" if self.cached else "")
        )
