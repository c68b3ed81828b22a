"""SARIF 2.1.0: golden files for the real models, every log valid against the official OASIS
schema (vendored in tests/schemas), violations located at the property's line with the
counterexample as a code flow, inconclusive properties as notes, and hostile text kept intact.

Regenerate the golden files with `KCHECK_UPDATE_GOLDEN=1 pytest tests/report/test_sarif.py`."""

from __future__ import annotations

import json
from functools import cache
from pathlib import PurePosixPath
from typing import Any

import pytest
from jsonschema import Draft4Validator

from kcheck.report.sarif import artifact_uri, to_sarif
from kcheck.result import VIOLATED, CheckResult, PropertyResult, Stats
from kcheck.trace import Step, Trace
from tests.report import GOLDEN, HOSTILE, MODELS, ROOT, check_golden, hostile_result, verified

SCHEMA = ROOT / "tests" / "schemas" / "sarif-schema-2.1.0.json"


@cache
def validator() -> Draft4Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)


def assert_valid(log: dict[str, Any]) -> None:
    # through JSON text, as a consumer reads it, so tuples or non-JSON values cannot slip by
    errors = sorted(validator().iter_errors(json.loads(json.dumps(log))), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def pretty(log: dict[str, Any]) -> str:
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def test_the_vendored_schema_is_the_official_sarif_2_1_0_schema() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert schema["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]


def test_the_schema_rejects_a_broken_log() -> None:
    log = to_sarif([(MODELS[0], verified(MODELS[0]))], "0.1.0")
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    assert list(validator().iter_errors(log)), "the schema check would not catch anything"


@pytest.mark.parametrize("path", MODELS, ids=[PurePosixPath(m).stem for m in MODELS])
def test_sarif_of_each_model_is_valid_and_matches_its_golden_file(path: str) -> None:
    log = to_sarif([(path, verified(path))], "0.1.0")
    assert_valid(log)
    check_golden(GOLDEN / "sarif" / f"{PurePosixPath(path).stem}.sarif", pretty(log))


def test_several_models_make_one_valid_run_with_an_invocation_each() -> None:
    log = to_sarif([(p, verified(p)) for p in MODELS], "0.1.0")
    assert_valid(log)
    (run,) = log["runs"]
    assert run["tool"]["driver"]["name"] == "kcheck"
    assert run["tool"]["driver"]["version"] == "0.1.0"
    assert [i["properties"]["file"] for i in run["invocations"]] == list(MODELS)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    }
    assert uris == set(MODELS)


def test_each_rule_is_declared_once_and_results_point_at_their_rule() -> None:
    log = to_sarif([(p, verified(p)) for p in MODELS], "0.1.0")
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert ids == ["invariant-violated", "property-violated", "bound-exceeded", "inconclusive"]
    assert rules[3]["defaultConfiguration"]["level"] == "note"
    for result in log["runs"][0]["results"]:
        assert ids[result["ruleIndex"]] == result["ruleId"]


def test_a_violated_invariant_is_located_at_its_line_with_the_trace_as_a_code_flow() -> None:
    path = MODELS[1]
    log = to_sarif([(path, verified(path))], "0.1.0")
    (result,) = [r for r in log["runs"][0]["results"] if r["ruleId"] == "invariant-violated"]
    assert result["level"] == "error"
    loc = result["locations"][0]["physicalLocation"]
    assert loc == {"artifactLocation": {"uri": path}, "region": {"startLine": 72}}
    assert "no_overcommit" in result["message"]["text"]
    assert result["properties"]["verdict"] == VIOLATED
    steps = result["codeFlows"][0]["threadFlows"][0]["locations"]
    assert [s["location"]["message"]["text"] for s in steps] == [
        "initial state",
        "workload.submit(): Pod#0 created",
        "workload.submit(): Pod#1 created",
        "default.bind(pod=Pod#1, node=Node#0): Pod#1.node",
        "default.bind(pod=Pod#0, node=Node#0): Pod#0.node",
    ]
    assert "physicalLocation" not in steps[0]["location"]  # the initial state has no line
    assert steps[3]["location"]["physicalLocation"]["region"] == {"startLine": 42}


def test_a_bound_error_ends_its_code_flow_at_the_failing_statement() -> None:
    log = to_sarif([(MODELS[0], verified(MODELS[0]))], "0.1.0")
    (result,) = [r for r in log["runs"][0]["results"] if r["ruleId"] == "bound-exceeded"]
    last = result["codeFlows"][0]["threadFlows"][0]["locations"][-1]["location"]
    assert last["physicalLocation"]["region"] == {"startLine": 36}
    assert last["message"]["text"].endswith("error: create Pod: all 5 slots are in use")


def test_inconclusive_is_a_note_without_a_code_flow_and_unchecked_or_holding_are_absent() -> None:
    log = to_sarif([("m.kdsl", hostile_result())], "0.1.0")
    assert_valid(log)
    results = log["runs"][0]["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("invariant-violated", "error"),
        ("bound-exceeded", "error"),
        ("inconclusive", "note"),
    ]
    assert "codeFlows" not in results[2]
    # every property, checked or not, is still recorded with its status in the invocation
    statuses = [p["status"] for p in log["runs"][0]["invocations"][0]["properties"]["properties"]]
    assert statuses == ["violated", "violated", "inconclusive", "not checked", "holds"]


def test_hostile_text_stays_valid_and_brackets_are_escaped_for_message_links() -> None:
    log = to_sarif([(f"dir/{HOSTILE}.kdsl", hostile_result())], "0.1.0")
    assert_valid(log)
    text = json.loads(pretty(log))  # survives a JSON round trip unchanged
    assert text == log
    result = log["runs"][0]["results"][0]
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == artifact_uri(f"dir/{HOSTILE}.kdsl")
    assert "<" not in uri and "|" not in uri and " " not in uri
    message = result["message"]["text"]
    assert "f\\]g\\[h" in message and "f]g[h" not in message.replace("\\]", "").replace("\\[", "")
    assert result["properties"]["property"] == f"inv{HOSTILE}"  # property bags keep raw text


def test_a_lasso_marks_where_its_loop_starts() -> None:
    state = {"x": 0}
    trace = Trace(
        (
            Step(None, {}, state),
            Step("a.tick", {}, {"x": 1}, line=5),
            Step("a.tock", {}, {"x": 0}, line=6),
        ),
        loop_start=0,
    )
    result = CheckResult(
        "m", "explicit", Stats(), [PropertyResult("live", "property", VIOLATED, 9, trace)], True
    )
    log = to_sarif([("m.kdsl", result)], "0.1.0")
    assert_valid(log)
    (r,) = log["runs"][0]["results"]
    assert r["ruleId"] == "property-violated"
    flow = r["codeFlows"][0]["threadFlows"][0]
    assert flow["message"]["text"] == "then steps 1-2 repeat forever (state 2 is state 0 again)"
    texts = [loc["location"]["message"]["text"] for loc in flow["locations"]]
    assert texts == [
        "initial state (the loop starts here)",
        "a.tick(): x",
        "a.tock(): x (back to the state of step 0)",
    ]


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("models/a.kdsl", "models/a.kdsl"),
        ("my models/a b.kdsl", "my%20models/a%20b.kdsl"),
        ("models\\win.kdsl", "models/win.kdsl"),
        ("/abs/a.kdsl", "file:///abs/a.kdsl"),
    ],
)
def test_artifact_uris_are_relative_when_the_path_is(path: str, uri: str) -> None:
    assert artifact_uri(path) == uri
