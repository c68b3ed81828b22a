"""The published JSON Schemas (kcheck/schemas/, spec/json.md) describe what kcheck writes and
reads: every JSON report the golden models and several other runs produce validates against
the report schema, the repository's kcheck.toml and the fixtures' validate against the
configuration schema, and broken documents of each kind are rejected."""

from __future__ import annotations

import copy
import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from kcheck.cli.main import main
from kcheck.result import FORMAT_VERSION

ROOT = Path(__file__).resolve().parents[2]


def schema(name: str) -> Draft202012Validator:
    data = json.loads(resources.files("kcheck").joinpath("schemas", name).read_text("utf-8"))
    Draft202012Validator.check_schema(data)
    return Draft202012Validator(data)


def errors(validator: Draft202012Validator, doc: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]


# (command line, exit code): the golden tests' three models (an invariant with a bound error
# beside it, a longer invariant trace, a lasso), a run that holds, one stopped by a limit, a
# Z3 engine that leaves the temporal properties `not checked` (with symbolic params), a
# k-induction proof, and the same document from `kcheck run`.
REPORTS = [
    (["verify", "models/replicaset_counts_running.kdsl"], 1),
    (["verify", "models/scheduler_stale_snapshot.kdsl"], 1),
    (["verify", "models/hpa_vs_apply.kdsl", "--property", "settles"], 1),
    (["verify", "models/replicaset.kdsl"], 0),
    (["verify", "models/replicaset.kdsl", "--max-states", "20"], 3),
    (
        [
            "verify",
            "models/replicaset.kdsl",
            "--engine",
            "bmc",
            "--depth",
            "3",
            "--symbolic-params",
        ],
        3,
    ),
    # its invariants only: its convergence is proved too, but that takes half a minute
    (
        [
            "verify",
            "models/smt_replicaset_lemmas.kdsl",
            "--engine",
            "induction",
            "--invariant",
            "pods_fit",
        ],
        0,
    ),
    # a timelock: the built-in check `time_passes` fails (tests/explore/test_timelocks.py)
    (["verify", "tests/fixtures/timelock.kdsl"], 1),
    (["run", "models/replicaset.kdsl", "--seed", "3"], 0),
    (["run", "models/replicaset_counts_running.kdsl", "--seed", "1"], 1),
]


def report(args: list[str], code: int) -> dict[str, Any]:
    result = CliRunner().invoke(main, [*args, "-q", "--format", "json"], catch_exceptions=False)
    assert result.exit_code == code, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.mark.parametrize(("args", "code"), REPORTS, ids=[" ".join(a[:2]) for a, _ in REPORTS])
def test_reports_validate_against_the_report_schema(
    args: list[str], code: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    data = report(args, code)
    assert data["format_version"] == FORMAT_VERSION
    assert errors(schema("report.schema.json"), data) == []


def test_the_report_schema_covers_every_kind_of_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runs above reach each status, a lasso, a bound error and a proof, so the schema is
    tested against each shape it allows (not only the easy ones)."""
    monkeypatch.chdir(ROOT)
    props = [p for args, code in REPORTS[:8] for p in report(args, code)["properties"]]
    assert {p["status"] for p in props} == {"holds", "violated", "inconclusive", "not checked"}
    assert {p["kind"] for p in props} >= {"invariant", "property", "bound", "timelock"}
    assert any("loop_start" in p for p in props)
    assert any("proof" in p for p in props)
    assert any(s.get("state") is None for p in props for s in p["trace"] or [])


def _move_trace(doc: dict[str, Any]) -> None:
    doc["properties"][1]["trace"] = doc["properties"][0]["trace"]


def _broken_reports(good: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for what, edit in [
        ("no format_version", lambda d: d.pop("format_version")),
        ("format version 2", lambda d: d.update(format_version="2.0")),
        ("unknown status", lambda d: d["properties"][0].update(status="passed")),
        ("a field kcheck does not write", lambda d: d.update(extra=1)),
        ("holds with a violated property", lambda d: d.update(verdict="holds")),
        ("a trace on an inconclusive property", _move_trace),
        ("a float in a state", lambda d: d["properties"][0]["trace"][0]["state"].update(x=1.5)),
        ("negative states", lambda d: d["stats"].update(states=-1)),
    ]:
        doc = copy.deepcopy(good)
        edit(doc)
        out.append((what, doc))
    return out


def test_broken_reports_fail_the_report_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    good = report(["verify", "models/replicaset_counts_running.kdsl"], 1)
    assert good["properties"][1]["status"] == "inconclusive"  # what one edit relies on
    validator = schema("report.schema.json")
    for what, doc in _broken_reports(good):
        assert errors(validator, doc), what


@pytest.mark.parametrize(
    ("model", "code"),
    [("replicaset", 0), ("replicaset_counts_running", 1)],
    ids=["holds", "violated"],
)
def test_run_events_validate_against_the_event_schema(
    model: str, code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    log = tmp_path / "events.jsonl"
    args = ["run", f"models/{model}.kdsl", "-q", "--seed", "1", "--log-json", str(log)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == code, result.output
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert events[0]["reason"] == "RunStarted"
    assert events[-1]["reason"] == ("Converged" if code == 0 else "Violation")
    validator = schema("run-event.schema.json")
    assert [e for event in events for e in errors(validator, event)] == []
    assert errors(validator, {**events[0], "type": "Info"})
    assert errors(validator, {k: v for k, v in events[0].items() if k != "from"})


CONFIGS = [
    ROOT / "kcheck.toml",
    ROOT / "tests" / "fixtures" / "ci_repo" / "kcheck.toml",
    ROOT / "examples" / "pdb" / "kcheck.toml",
]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_configurations_validate_against_the_kcheck_toml_schema(path: Path) -> None:
    assert errors(schema("kcheck-toml.schema.json"), tomllib.loads(path.read_text())) == []


def test_the_documented_example_configuration_validates() -> None:
    """docs/ci.md's annotated example (the first ```toml block) is a valid configuration."""
    text = (ROOT / "docs" / "ci.md").read_text()
    block = text.split("```toml\n", 1)[1].split("```", 1)[0]
    assert errors(schema("kcheck-toml.schema.json"), tomllib.loads(block)) == []


BROKEN_CONFIGS = [
    'model = "models/*.kdsl"',  # a misspelt `models`
    'models = "models/*.kdsl"',  # not a list
    "[[model]]\ndefines = { N = 1 }",  # a rule without its path
    'models = ["m"]\nengine = "bmc"',
    'models = ["m"]\nmax_states = 0',
    'models = ["m"]\ntimeout = 0',
    'models = ["m"]\nsymmetry = "yes"',
    'models = ["m"]\nexpect = { p = "fails" }',
    'models = ["m"]\ndefines = { N = "1..x" }',
    'models = ["m"]\ndefines = { N = [] }',
    'models = ["m"]\ndefines = { N = 1.5 }',
    'models = ["m"]\nout = ""',
    'models = ["m"]\nmanifests = "deploy/*.yaml"',  # not a list
    'models = ["m"]\nmanifests = []',
    '[[model]]\npath = "m"\nmanifests = [""]',
    "",  # nothing to check
]


@pytest.mark.parametrize("text", BROKEN_CONFIGS)
def test_broken_configurations_fail_the_kcheck_toml_schema(text: str) -> None:
    assert errors(schema("kcheck-toml.schema.json"), tomllib.loads(text))


@pytest.mark.parametrize("text", BROKEN_CONFIGS)
def test_kcheck_ci_rejects_what_the_schema_rejects(text: str, tmp_path: Path) -> None:
    """The schema is not stricter than `kcheck ci` itself (nor laxer on these cases): each
    configuration the schema rejects, `kcheck ci` rejects with exit 2."""
    (tmp_path / "kcheck.toml").write_text(text)
    result = CliRunner().invoke(main, ["ci", "--config", str(tmp_path / "kcheck.toml")])
    assert result.exit_code == 2, result.output
