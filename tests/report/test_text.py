"""Golden files for the terminal report of the models' counterexamples, in both views (the step
by step trace and the `kubectl describe` style events), and the events' wording."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from kcheck.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "text"
CASES = [
    ("replicaset_counts_running", []),
    ("scheduler_stale_snapshot", []),
    ("hpa_vs_apply", ["--property", "settles"]),
]


def run(model: str, extra: list[str]) -> str:
    result = CliRunner().invoke(
        main, ["verify", f"models/{model}.kdsl", "-q", *extra], catch_exceptions=False
    )
    assert result.exit_code == 1, result.output
    # the one line that depends on the machine: how long the search took
    return re.sub(r", \d+\.\d\d s,", ", <time> s,", result.output)


@pytest.mark.parametrize("view", ["trace", "events"])
@pytest.mark.parametrize(("model", "extra"), CASES, ids=[c[0] for c in CASES])
def test_text_report_matches_its_golden_file(
    model: str, extra: list[str], view: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    text = run(model, [*extra, "--view", view])
    path = GOLDEN / f"{model}.{view}.txt"
    if os.environ.get("KCHECK_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_events_read_like_kubectl_describe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    text = run("scheduler_stale_snapshot", ["--view", "events"])
    assert "Successfully assigned Pod#1 to Node#0" in text
    assert re.search(r"Normal\s+Scheduled\s+default\s+Pod#1", text)
    lasso = run("hpa_vs_apply", ["--property", "settles", "--view", "events"])
    assert re.search(r"\(steps \d+-\d+ repeat forever\)", lasso)
