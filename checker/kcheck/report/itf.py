"""Counterexamples in the Informal Trace Format (ITF, Apalache's ADR-015), the trace format that
Apalache, Quint and their tools read: one ITF trace per counterexample (`itf_traces`), and the
document `kcheck verify --format itf` prints (`itf_document`). `decode_value` and `itf_states`
read one back, for the round-trip test and for scripts. See spec/json.md, "ITF traces"."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kcheck.result import FORMAT_VERSION, CheckResult, PropertyResult
from kcheck.trace import Trace

ITF_SPEC = "https://apalache-mc.org/docs/adr/015adr-trace.html"

# `none` is a reserved word of KDSL, so no enum member or object is named so: the string is
# unambiguous, and a `K?` field stays a string (a Str in ITF) whether or not it names an object.
NONE = "none"


def encode_value(value: Any, table: bool = False) -> Any:
    """A value of kcheck's JSON report as an ITF expression. Every integer is a `#bigint` (ITF
    has allowed no plain JSON numbers since its revision of 2023-09-14), a set (a list in the
    report) is a `#set`, a kind's table of objects is a `#map` from name to record, an object's
    fields are a record, and `none` is the string "none"."""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return {"#bigint": str(value)}
    if value is None:
        return NONE
    if isinstance(value, list):
        return {"#set": [encode_value(v) for v in value]}
    if isinstance(value, tuple):  # a bounded list (lang/lists.py): an ITF list
        return [encode_value(v) for v in value]
    if isinstance(value, dict):
        if table:
            return {"#map": [[name, encode_value(v)] for name, v in value.items()]}
        return {str(k): encode_value(v) for k, v in value.items()}
    raise TypeError(f"no ITF encoding for {type(value).__name__}")


def decode_value(itf: Any) -> Any:
    """The report's value of an ITF expression written by `encode_value`."""
    if isinstance(itf, bool) or itf is None:
        return itf
    if isinstance(itf, str):
        return None if itf == NONE else itf
    if isinstance(itf, list):  # an ITF list (sequence); kcheck writes none, read as a list
        return [decode_value(v) for v in itf]
    if isinstance(itf, dict):
        if set(itf) == {"#bigint"}:
            return int(itf["#bigint"])
        if set(itf) == {"#set"}:
            return [decode_value(v) for v in itf["#set"]]
        if set(itf) == {"#map"}:
            return {k: decode_value(v) for k, v in itf["#map"]}
        if set(itf) == {"#tup"}:
            return [decode_value(v) for v in itf["#tup"]]
        return {k: decode_value(v) for k, v in itf.items()}
    raise TypeError(f"not an ITF expression: {itf!r}")


def _state(index: int, state: Mapping[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"#meta": {"index": index, **meta}}
    for var, value in state.items():
        out[var] = encode_value(value, table=isinstance(value, dict))
    return out


def itf_trace(prop: PropertyResult, trace: Trace, source: str, model: str) -> dict[str, Any]:
    """One counterexample as an ITF trace: its states in order, the step that led to each in
    the state's `#meta`, and for a lasso `loop`, the index of the state its loop returns to."""
    states: list[dict[str, Any]] = []
    variables: dict[str, None] = {}  # ordered set
    meta: dict[str, Any] = {
        "format": "ITF",
        "format-description": ITF_SPEC,
        "source": source,
        "description": f"kcheck: {prop.kind} {prop.name} {prop.status}",
        "kcheck_format_version": FORMAT_VERSION,
        "model": model,
        "property": prop.name,
        "kind": prop.kind,
    }
    for step in trace.steps:
        step_meta: dict[str, Any] = {}
        if step.action is not None:
            step_meta["action"] = step.action
            step_meta["args"] = step.args
        if step.line is not None:
            step_meta["line"] = step.line
        if step.state is None:
            # the failing step of a bound error reaches no state: it is told in the trace's
            # #meta, and the trace ends in the last state reached
            meta["error"] = {**step_meta, "message": step.error}
            continue
        variables.update(dict.fromkeys(step.state))
        states.append(_state(len(states), step.state, step_meta))
    out: dict[str, Any] = {"#meta": meta, "vars": list(variables), "states": states}
    if trace.loop_start is not None:
        out["loop"] = trace.loop_start
        if trace.loop_renames:
            meta["loop_renames"] = dict(trace.loop_renames)
        if trace.waiting:
            meta["waiting"] = list(trace.waiting)
    return out


def itf_traces(result: CheckResult, source: str) -> list[dict[str, Any]]:
    """One ITF trace per property of the result that has a counterexample, in report order."""
    return [
        itf_trace(p, p.trace, source, result.model)
        for p in result.properties
        if p.trace is not None
    ]


def itf_document(result: CheckResult, source: str) -> dict[str, Any] | list[dict[str, Any]]:
    """What `--format itf` prints: the ITF trace itself when the run has exactly one
    counterexample (the file Apalache and Quint tools read), otherwise a JSON list of them
    (empty when nothing was violated); `--invariant NAME` or `--property NAME` picks one."""
    traces = itf_traces(result, source)
    return traces[0] if len(traces) == 1 else traces


def itf_states(trace: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The states of an ITF trace as the report's JSON shows them (without `#meta`)."""
    return [
        {k: decode_value(v) for k, v in state.items() if k != "#meta"} for state in trace["states"]
    ]
