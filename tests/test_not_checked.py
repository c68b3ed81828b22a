"""The rule of the result type (spec/promises.md): a property that an engine did not check is
listed as `not checked`, and a run with one is never `holds` — in every engine, in the JSON
report and in the `kcheck ci` gate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kcheck.ci.command import run_ci
from kcheck.cli.main import main
from kcheck.result import (
    HOLDS,
    INCONCLUSIVE,
    NOT_CHECKED,
    VIOLATED,
    Asked,
    CheckResult,
    PropertyResult,
    Stats,
)

FLIP = """model flip
var x: 0..1 = 0
process p { action flip { x := 1 - x } }
property settles: eventually always x == 1
"""

# `small` holds; the explicit engine does not check a `forall` over a set in a property
SET_PROPERTY = """model setprop
enum Label { A, B }
var s: set<Label> = {}
process p { action add for l in Label { s := s | {l} } }
invariant small: count(s) <= 2
property grows: forall l in s: eventually always l in s
"""


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def result_of(*statuses: str) -> CheckResult:
    props = [PropertyResult(f"p{i}", "invariant", s) for i, s in enumerate(statuses)]
    return CheckResult("m", "explicit", Stats(), props, True)


@pytest.mark.parametrize(
    ("statuses", "verdict"),
    [
        ((HOLDS, HOLDS), HOLDS),
        ((HOLDS, NOT_CHECKED), INCONCLUSIVE),
        ((NOT_CHECKED,), INCONCLUSIVE),
        ((HOLDS, INCONCLUSIVE), INCONCLUSIVE),
        ((NOT_CHECKED, VIOLATED), VIOLATED),
    ],
)
def test_a_run_holds_only_when_everything_was_checked_and_holds(
    statuses: tuple[str, ...], verdict: str
) -> None:
    assert result_of(*statuses).verdict == verdict


def test_account_for_lists_what_an_engine_left_out() -> None:
    r = result_of(HOLDS).account_for(
        [Asked("p0", "invariant", 3), Asked("later", "property", 7)], "--engine bmc"
    )
    assert [(p.name, p.status, p.line) for p in r.properties] == [
        ("p0", HOLDS, None),
        ("later", NOT_CHECKED, 7),
    ]
    assert "temporal" in (r.properties[1].reason or "")
    assert r.verdict == INCONCLUSIVE


@pytest.mark.parametrize("engine", ["bmc", "induction"])
def test_the_z3_engines_never_call_an_unchecked_temporal_property_holding(
    tmp_path: Path, engine: str
) -> None:
    # with symbolic params the Z3 engines still check invariants only
    model = write(tmp_path, "flip.kdsl", FLIP)
    r = run("verify", model, "--engine", engine, "--symbolic-params", "--format", "json", "-q")
    assert r.exit_code == 3, r.output
    report = json.loads(r.stdout)
    assert report["verdict"] == INCONCLUSIVE
    assert [(p["name"], p["status"]) for p in report["properties"]] == [("settles", NOT_CHECKED)]


@pytest.mark.parametrize("engine", ["explicit", "auto", "bmc", "induction"])
def test_the_explicit_and_z3_engines_find_the_lasso(tmp_path: Path, engine: str) -> None:
    model = write(tmp_path, "flip.kdsl", FLIP)
    r = run("verify", model, "--engine", engine, "-q")
    assert r.exit_code == 1, r.output
    assert "verdict: violated" in r.stdout


@pytest.mark.parametrize("engine", ["bmc", "induction"])
def test_asking_symbolic_params_for_a_temporal_property_is_a_usage_error(
    tmp_path: Path, engine: str
) -> None:
    model = write(tmp_path, "flip.kdsl", FLIP)
    r = run("verify", model, "--engine", engine, "--symbolic-params", "--property", "settles", "-q")
    assert r.exit_code == 2
    assert "invariants only" in r.output


def test_a_property_the_explicit_engine_cannot_check_makes_the_run_inconclusive(
    tmp_path: Path,
) -> None:
    model = write(tmp_path, "setprop.kdsl", SET_PROPERTY)
    r = run("verify", model, "-q")
    assert r.exit_code == 3, r.output
    assert "verdict: inconclusive" in r.stdout
    assert "not checked" in r.stdout


@pytest.fixture
def ci_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    (root / "models" / "setprop.kdsl").write_text(SET_PROPERTY)
    monkeypatch.chdir(root)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return root


def gate(root: Path, config: str) -> tuple[int, str]:
    (root / "kcheck.toml").write_text(config)
    lines: list[str] = []
    code = run_ci(None, None, True, lines.append)
    return code, "\n".join(lines)


def test_the_ci_gate_fails_on_a_property_it_did_not_check(ci_repo: Path) -> None:
    code, out = gate(ci_repo, 'models = ["models/*.kdsl"]\n')
    assert code == 1, out
    (line,) = [ln for ln in out.splitlines() if "grows" in ln and "UNEXPECTED" in ln]
    assert "not checked" in line or "not checked" in out


def test_the_ci_gate_accepts_a_not_checked_property_only_when_told(ci_repo: Path) -> None:
    config = 'models = ["models/*.kdsl"]\nexpect = { grows = "not checked", small = "holds" }\n'
    code, out = gate(ci_repo, config)
    assert code == 0, out
    assert "SKIPPED" in out
    shutil.rmtree(ci_repo / "reports", ignore_errors=True)
