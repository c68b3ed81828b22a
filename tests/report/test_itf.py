"""`kcheck verify --format itf`: counterexamples in the Informal Trace Format (Apalache ADR-015).
The output has the shape the ADR gives (checked against tests/schemas/itf.schema.json, written
from its text), and decoding its states gives back the states of the JSON report exactly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from kcheck.cli.main import main
from kcheck.report.itf import decode_value, encode_value, itf_states

ROOT = Path(__file__).resolve().parents[2]
ITF_SCHEMA = json.loads((ROOT / "tests" / "schemas" / "itf.schema.json").read_text())
Draft202012Validator.check_schema(ITF_SCHEMA)
ITF = Draft202012Validator(ITF_SCHEMA)


def cli(args: list[str], code: int) -> Any:
    result = CliRunner().invoke(main, [*args, "-q"], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def valid_itf(trace: Any) -> None:
    assert [f"{list(e.absolute_path)}: {e.message}" for e in ITF.iter_errors(trace)] == []


CASES = [
    ("replicaset_counts_running", ["--invariant", "never_too_many_live"]),
    ("scheduler_stale_snapshot", []),
    ("hpa_vs_apply", ["--property", "settles"]),
]


@pytest.mark.parametrize(("model", "extra"), CASES, ids=[c[0] for c in CASES])
def test_one_counterexample_is_one_itf_trace_with_the_reports_states(
    model: str, extra: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    args = ["verify", f"models/{model}.kdsl", *extra]
    itf = cli([*args, "--format", "itf"], 1)
    report = cli([*args, "--format", "json"], 1)
    valid_itf(itf)
    [prop] = [p for p in report["properties"] if p["trace"] is not None]
    states = [s["state"] for s in prop["trace"]]
    assert itf_states(itf) == states
    assert [s["#meta"]["index"] for s in itf["states"]] == list(range(len(states)))
    assert [s["#meta"].get("action") for s in itf["states"]] == [s["action"] for s in prop["trace"]]
    assert itf["vars"] == list(states[0])
    assert itf["#meta"]["property"] == prop["name"]
    assert itf.get("loop") == prop.get("loop_start")


def test_a_lasso_names_its_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    itf = cli(["verify", "models/hpa_vs_apply.kdsl", "--property", "settles", "--format", "itf"], 1)
    assert 0 <= itf["loop"] < len(itf["states"]) - 1


def test_several_counterexamples_are_a_list_and_a_bound_error_ends_in_meta(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    traces = cli(["verify", "models/replicaset_counts_running.kdsl", "--format", "itf"], 1)
    assert isinstance(traces, list)
    assert [t["#meta"]["kind"] for t in traces] == ["invariant", "bound"]
    for trace in traces:
        valid_itf(trace)
    error = traces[1]["#meta"]["error"]
    assert error["action"] == "replicaset.scale_up"
    assert "message" in error


def test_a_run_that_holds_prints_an_empty_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert cli(["verify", "models/replicaset.kdsl", "--format", "itf"], 0) == []


# The values of the JSON report: integers, bools, enum members and object names, none, sets
# (lists), and tables of objects with fields.
_scalar = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
    st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]*(#[0-9]+)?\Z").filter(lambda s: s != "none"),
    st.none(),
)
_field = st.one_of(_scalar, st.lists(_scalar, max_size=3))
# an object with fields named exactly `tag` and `value` would read as an ITF variant: a known
# limit (spec/json.md), left out here
_object = st.dictionaries(st.from_regex(r"\A[a-z_][a-z0-9_]*\Z"), _field, max_size=3).filter(
    lambda d: not {"tag", "value"} <= set(d)
)
_table = st.dictionaries(st.from_regex(r"\A[A-Z][a-z]*#[0-9]\Z"), _object, max_size=3)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_field, _table))
def test_values_round_trip_through_itf(value: Any) -> None:
    encoded = encode_value(value, table=isinstance(value, dict))
    assert decode_value(json.loads(json.dumps(encoded))) == value
    valid_itf({"vars": ["x"], "states": [{"#meta": {"index": 0}, "x": encoded}]})
