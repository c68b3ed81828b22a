"""SARIF 2.1.0 for code-scanning tools: one run for all the models checked together, one result
per violated or inconclusive property, located at the property's line in its .kdsl file, with
the counterexample as a code flow whose locations are the actions' lines. See spec/reports.md."""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from pathlib import PurePath, PurePosixPath, PureWindowsPath
from typing import Any

from kcheck.result import INCONCLUSIVE, VIOLATED, CheckResult, PropertyResult
from kcheck.trace import Trace, changed_fields, loop_renaming, show_value, stutter_reason

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)

# (id, name, level, short description, full description); a rule's index is its place here.
_RULES: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "invariant-violated",
        "InvariantViolated",
        "error",
        "An invariant is false in a reachable state.",
        "Some sequence of actions allowed by the model reaches a state where the invariant is "
        "false. The code flow is the shortest such sequence kcheck found.",
    ),
    (
        "property-violated",
        "PropertyViolated",
        "error",
        "A temporal property fails on some behaviour.",
        "Some behaviour allowed by the model breaks the property; for a liveness property the "
        "code flow ends in a loop that repeats forever.",
    ),
    (
        "bound-exceeded",
        "BoundExceeded",
        "error",
        "A step leaves the model's declared bounds.",
        "An action needs more objects or a larger value than the model declares (for example "
        "a kind's capacity), so its effect cannot be represented. Raise the bound or guard the "
        "action; the code flow leads to the step that failed.",
    ),
    (
        "inconclusive",
        "Inconclusive",
        "note",
        "A property was not decided.",
        "The search stopped before it could decide the property (a limit was hit, or states "
        "past a bound error were not explored). It is neither proved nor refuted.",
    ),
)
_RULE_INDEX = {rule[0]: i for i, rule in enumerate(_RULES)}


def _rule_descriptor(rule: tuple[str, str, str, str, str]) -> dict[str, Any]:
    rid, name, level, short, full = rule
    return {
        "id": rid,
        "name": name,
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "defaultConfiguration": {"level": level},
        "help": {"text": full},
    }


def artifact_uri(path: str) -> str:
    """The file as a URI reference: a relative path stays relative (with `/` separators and
    percent-encoding), an absolute one becomes a file: URI."""
    pure: PurePath = PureWindowsPath(path) if "\\" in path else PurePosixPath(path)
    if pure.is_absolute():
        return pure.as_uri()
    return urllib.parse.quote(pure.as_posix(), safe="/")


def _region(line: int | None) -> dict[str, Any]:
    return {"region": {"startLine": line}} if line is not None and line >= 1 else {}


def _physical(uri: str, line: int | None) -> dict[str, Any]:
    return {"physicalLocation": {"artifactLocation": {"uri": uri}, **_region(line)}}


def _text(text: str) -> dict[str, str]:
    """A SARIF message: its text may hold `[label](id)` links, so literal brackets are escaped."""
    return {"text": text.replace("[", "\\[").replace("]", "\\]")}


def _label(p: PropertyResult) -> str:
    """`invariant name`; a bound's name already reads `bound: ...`."""
    return p.name if p.name.startswith(f"{p.kind}: ") else f"{p.kind} {p.name}"


def loop_sentence(trace: Trace) -> str | None:
    """How a lasso repeats, in the words of the text report: its last state is the state at
    `loop_start` again (or, when they are the same step, nothing more can happen)."""
    if trace.loop_start is None:
        return None
    k, n = trace.loop_start, len(trace.steps) - 1
    if k == n:
        return f"from step {k} the behaviour stays in this state forever ({stutter_reason(trace)})"
    return f"then steps {k + 1}-{n} repeat forever (state {n} is state {k} again{loop_renaming(trace)})"


def _step_text(action: str, args: dict[str, Any]) -> str:
    return f"{action}(" + ", ".join(f"{k}={show_value(v)}" for k, v in args.items()) + ")"


def _code_flow(trace: Trace, uri: str, p: PropertyResult) -> dict[str, Any]:
    locations: list[dict[str, Any]] = []
    prev: dict[str, Any] | None = None
    for i, step in enumerate(trace.steps):
        if step.action is None:
            text = "initial state"
        else:
            text = _step_text(step.action, step.args) + ": "
            if step.error is not None:
                text += f"error: {step.error}"
            else:
                text += ", ".join(changed_fields(prev, step.state)) or "no change"
        if trace.loop_start == i:
            text += " (the loop starts here)"
        elif trace.loop_start is not None and i == len(trace.steps) - 1 and i > trace.loop_start:
            text += f" (back to the state of step {trace.loop_start}{loop_renaming(trace)})"
        location: dict[str, Any] = {"message": _text(text)}
        if step.action is not None:
            location.update(_physical(uri, step.line))
        locations.append({"location": location, "executionOrder": i})
        if step.state is not None:
            prev = step.state
    flow: dict[str, Any] = {"locations": locations}
    loop = loop_sentence(trace)
    if loop is not None:
        flow["message"] = _text(loop)
    return {
        "message": _text(f"counterexample for {_label(p)}"),
        "threadFlows": [flow],
    }


def _message(p: PropertyResult, model: str) -> str:
    if p.status == INCONCLUSIVE:
        because = f": {p.reason}" if p.reason else ""
        return f"{_label(p)} of model {model} is inconclusive{because}"
    n = len(p.trace) if p.trace is not None else 0
    steps = f"{n} step{'s' if n != 1 else ''}"
    if p.kind == "bound":
        because = f": {p.reason}" if p.reason else ""
        return f"{_label(p)} of model {model} is exceeded after {steps}{because}"
    why = ""
    if p.explanation:  # why the last state violates it, its lines joined as one sentence
        why = ": " + "; ".join(" ".join(x.split()).rstrip(":") for x in p.explanation)
    return f"{_label(p)} of model {model} is violated by a counterexample of {steps}{why}"


def _result(p: PropertyResult, path: str, result: CheckResult) -> dict[str, Any]:
    uri = artifact_uri(path)
    rule = "inconclusive" if p.status == INCONCLUSIVE else f"{p.kind}-violated"
    if p.kind == "bound" and p.status == VIOLATED:
        rule = "bound-exceeded"
    if rule not in _RULE_INDEX:
        rule = "property-violated"
    out: dict[str, Any] = {
        "ruleId": rule,
        "ruleIndex": _RULE_INDEX[rule],
        "level": _RULES[_RULE_INDEX[rule]][2],
        "message": _text(_message(p, result.model)),
        "locations": [_physical(uri, p.line)],
        # stable across runs and line moves, so a code-scanning tool tracks one alert per property
        "partialFingerprints": {"kcheckProperty/v1": f"{path}:{p.kind}:{p.name}"},
    }
    if p.trace is not None and p.status == VIOLATED:
        out["codeFlows"] = [_code_flow(p.trace, uri, p)]
    props: dict[str, Any] = {
        "model": result.model,
        "property": p.name,
        "kind": p.kind,
        "verdict": p.status,
    }
    if p.trace is not None:
        props["steps"] = len(p.trace)
    if p.reason:
        props["reason"] = p.reason
    if p.explanation:
        props["explanation"] = list(p.explanation)
    out["properties"] = props
    return out


def _invocation(path: str, result: CheckResult) -> dict[str, Any]:
    s = result.stats
    inv: dict[str, Any] = {
        "executionSuccessful": True,
        "properties": {
            "model": result.model,
            "file": path,
            "verdict": result.verdict,
            "engine": result.engine,
            "states": s.states,
            "transitions": s.transitions,
            "depth": s.depth,
            "seconds": round(s.seconds, 3),
            "complete": result.complete,
            "limit": result.limit,
            "properties": [
                {"name": p.name, "kind": p.kind, "status": p.status, "line": p.line}
                for p in result.properties
            ],
        },
    }
    if result.notes:
        inv["toolExecutionNotifications"] = [
            {"level": "note", "message": _text(n)} for n in result.notes
        ]
    return inv


def to_sarif(results: Sequence[tuple[str, CheckResult]], tool_version: str) -> dict[str, Any]:
    """The SARIF 2.1.0 log (a JSON-ready dict) for each (model path, result)."""
    sarif_results = [
        _result(p, path, result)
        for path, result in results
        for p in result.properties
        if p.status in (VIOLATED, INCONCLUSIVE)
    ]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "kcheck",
                "version": tool_version,
                "rules": [_rule_descriptor(r) for r in _RULES],
            }
        },
        "invocations": [_invocation(path, result) for path, result in results],
        "results": sarif_results,
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
