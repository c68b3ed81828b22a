"""Opening a report: the JSON report of `kcheck verify --format json` (spec/json.md), checked
against the model the dashboard serves by replaying its trace (kcheck.explore.replay), then
laid out as the session's path so the page steps through it; and the action coverage of a
`kcheck simulate --format json` report, checked against the model's actions."""

from __future__ import annotations

import json
from typing import Any

from kcheck.ci.verdict_cache import BadEntry, _result_from_json
from kcheck.dashboard.session import Ending, Move, Session
from kcheck.explore.replay import TraceMismatch, check_counterexample, replay
from kcheck.model.ir import CompiledModel, State, StepError
from kcheck.result import VIOLATED, PropertyResult
from kcheck.trace import ObjectNames, Trace


class ReportError(Exception):
    """A report that cannot be shown for this model; the message says why."""


def _parse(text: str, model: CompiledModel) -> dict[str, Any]:
    """The report `text` as JSON, once it is a kcheck report of `model`. Raises ReportError."""
    try:
        data = json.loads(text)
    except ValueError as err:
        raise ReportError(f"the file is not JSON ({err})") from None
    if not isinstance(data, dict) or "properties" not in data or "model" not in data:
        raise ReportError(
            "the file is not a report of `kcheck verify --format json` or"
            " `kcheck simulate --format json`"
        )
    if data["model"] != model.name:
        raise ReportError(
            f"the report is of model `{data['model']}`, and this dashboard shows `{model.name}`"
        )
    return data


def _traced(data: dict[str, Any]) -> list[PropertyResult]:
    try:
        result = _result_from_json(data)
    except (BadEntry, KeyError, TypeError, ValueError) as err:
        raise ReportError(f"the report is not what kcheck writes: {err}") from None
    return [p for p in result.properties if p.status == VIOLATED and p.trace is not None]


def simulated_coverage(data: dict[str, Any], model: CompiledModel) -> dict[str, Any] | None:
    """The `coverage` of a `kcheck simulate` report (spec/json.md), None when the report has
    none; its actions must be exactly the model's (a report of an older version of the model,
    with an action since renamed, would say "never fired" of the wrong things). Raises
    ReportError."""
    cov = data.get("coverage")
    if cov is None:
        return None
    try:
        rows: list[dict[str, Any]] = [
            {
                "action": str(a["action"]),
                "fired": int(a["fired"]),
                "enabled_not_taken": int(a["enabled_not_taken"]),
                "max_depth": int(a["max_depth"]),
            }
            for a in cov["actions"]
        ]
        out: dict[str, Any] = {
            "traces": int(cov["traces"]),
            "depth": int(cov["depth"]),
            "seed": cov.get("seed"),
            "actions": rows,
            "never": [r["action"] for r in rows if not r["fired"]],
        }
    except (KeyError, TypeError, ValueError) as err:
        raise ReportError(f"the report's coverage is not what kcheck writes: {err}") from None
    ours = [a.label for a in model.actions]
    theirs = [r["action"] for r in rows]
    if sorted(theirs) != sorted(ours):
        missing = sorted(set(ours) - set(theirs))
        extra = sorted(set(theirs) - set(ours))
        raise ReportError(
            "the report's coverage does not match the model's actions"
            + (f"; the model has {', '.join(missing)} and the report not" if missing else "")
            + (f"; the report has {', '.join(extra)} and the model not" if extra else "")
        )
    return out


def load_report(session: Session, text: str, name: str | None = None) -> str:
    """Show the counterexample of `name` (the first one when None) from the report `text`,
    and a simulation's coverage when the report has one; returns what was shown. Raises
    ReportError when the report does not fit the model (then nothing changes)."""
    model = session.model
    data = _parse(text, model)
    simulated = simulated_coverage(data, model)
    found = _traced(data)
    if name is not None:
        found = [p for p in found if p.name == name]
        if not found:
            raise ReportError(f"the report has no counterexample of `{name}`")
    if not found and simulated is None:
        raise ReportError(f"the report has no counterexample (verdict: {data.get('verdict')})")
    if found:
        show_counterexample(session, found[0])
    if simulated is not None:
        session.simulated = simulated
        cov = f"the coverage of {simulated['traces']} simulated traces"
        return f"the counterexample of {found[0].name} and {cov}" if found else cov
    return f"the counterexample of {found[0].name}"


def show_counterexample(session: Session, prop: PropertyResult) -> None:
    """Lay out a violated entry's trace as the session's path, once it replays through the
    session's model. Raises ReportError when it does not."""
    model = session.model
    trace = prop.trace
    if trace is None:
        raise ReportError(f"{prop.name} has no counterexample")
    try:
        check_counterexample(model, prop)
        done = replay(model, trace)
    except TraceMismatch as err:
        raise ReportError(
            f"the report's trace of {prop.name} does not match the model: {err}"
        ) from None
    path = _moves(model, trace, done.states)
    ending = None
    last = trace.steps[-1]
    if last.state is None:
        ending = Ending(last.action or "init", last.args, last.error or "fails")
    session.set_path(path, f"counterexample: {prop.name}", trace.loop_start, ending)


def _moves(model: CompiledModel, trace: Trace, states: tuple[State, ...]) -> list[Move]:
    """The replayed states as moves: each step's action instance found again among the
    outcomes that lead from one state to the next with the arguments the trace shows."""
    if not states:
        return []
    kinds = [k.name for k in model.layout.kinds]
    names = ObjectNames(kinds)
    names.state(model.layout.decode(states[0]))
    labels = {a.label: a.id for a in model.actions}
    moves = [Move(-1, (), states[0])]
    for i in range(1, len(states)):
        step = trace.steps[i]
        aid = labels[step.action or ""]
        pick: tuple[int, tuple[int, ...]] | None = None
        for got, args, t in model.action_outcomes[aid](states[i - 1]):
            if isinstance(t, StepError) or t != states[i]:
                continue
            if names.copy().args(model.describe_args(got, args)) == step.args:
                pick = (got, args)
                break
        if pick is None:  # replay found this step; failing to find it again is a kcheck bug
            raise ReportError(f"step {i}: replayed, yet its action instance is not found")
        names.args(model.describe_args(*pick))
        names.state(model.layout.decode(states[i]))
        moves.append(Move(pick[0], pick[1], states[i]))
    return moves


def summary(props: list[PropertyResult]) -> list[dict[str, Any]]:
    return [{"name": p.name, "kind": p.kind, "steps": len(p.trace or Trace(()))} for p in props]
