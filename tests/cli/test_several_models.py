"""`kcheck verify` with several models or directories: each model is checked and reported, the
exit code is the worst one a CI must act on (2 bad input, then 1 violated, then 3
inconclusive, then 0), and no report file of one model overwrites another's."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.test_cli import run

HOLDS = "model one\nvar x: 0..1 = 0\ninvariant zero: x == 0\n"
VIOLATED = (
    "model flips\nvar x: 0..1 = 0\ncontroller c {\n  action flip when x == 0 { x := 1 }\n}\n"
    "invariant zero: x == 0\n"
)
# 21 states: inconclusive under --max-states 5, while the others finish within 5
LONG = (
    "model counts\nvar x: 0..20 = 0\ncontroller c {\n  action up when x < 20 { x := x + 1 }\n}\n"
    "invariant small: x <= 20\n"
)
BROKEN = "model broken\nvar x: 0..1 = 0\ninvariant zero: y == 0\n"


def _models(tmp_path: Path, *texts: str) -> list[str]:
    paths = []
    for i, text in enumerate(texts):
        path = tmp_path / f"m{i}.kdsl"
        path.write_text(text, encoding="utf-8")
        paths.append(str(path))
    return paths


@pytest.mark.parametrize(
    ("texts", "code", "verdict"),
    [
        ((HOLDS, HOLDS), 0, "holds"),
        ((HOLDS, LONG), 3, "inconclusive"),
        ((LONG, VIOLATED, HOLDS), 1, "violated"),
        ((VIOLATED, BROKEN, LONG), 2, "bad input"),
    ],
)
def test_the_worst_model_decides_the_exit_code(
    tmp_path: Path, texts: tuple[str, ...], code: int, verdict: str
) -> None:
    paths = _models(tmp_path, *texts)
    r = run("verify", *paths, "-q", "--max-states", "5")
    assert r.exit_code == code, r.output
    # every model that loads is reported, and the summary names each model's verdict
    assert r.stdout.count("\nverdict: ") + r.stdout.startswith("verdict: ") == (
        sum(t is not BROKEN for t in texts) + 1
    )
    assert r.stdout.endswith(f"verdict: {verdict}\n")
    assert f"{len(texts)} models:" in r.stdout
    for path in paths:
        assert path in r.stdout.split(f"{len(texts)} models:")[1]


def test_a_model_that_does_not_load_shows_its_diagnostics_and_the_others_are_checked(
    tmp_path: Path,
) -> None:
    broken, good = _models(tmp_path, BROKEN, VIOLATED)
    r = run("verify", broken, good, "-q")
    assert r.exit_code == 2
    assert "error[KC0201]: unknown name `y`" in r.stderr
    assert "model flips" in r.stdout and "violated" in r.stdout


def test_a_directory_stands_for_every_model_under_it(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.kdsl").write_text(HOLDS, encoding="utf-8")
    (tmp_path / "b.kdsl").write_text(VIOLATED, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a model", encoding="utf-8")
    r = run("verify", str(tmp_path), str(tmp_path / "b.kdsl"), "-q")  # b named twice: once
    assert r.exit_code == 1, r.output
    assert r.stdout.count("\nmodel ") + r.stdout.startswith("model ") == 2
    assert "2 models:" in r.stdout


def test_json_for_several_models_is_a_list_of_their_documents(tmp_path: Path) -> None:
    paths = _models(tmp_path, HOLDS, VIOLATED)
    r = run("verify", *paths, "-q", "--format", "json")
    assert r.exit_code == 1
    docs = json.loads(r.stdout)
    assert [(d["model"], d["verdict"]) for d in docs] == [("one", "holds"), ("flips", "violated")]


def test_one_output_file_holds_every_models_report(tmp_path: Path) -> None:
    paths = _models(tmp_path, HOLDS, VIOLATED)
    out, junit = tmp_path / "out.txt", tmp_path / "junit.xml"
    r = run("verify", *paths, "-q", "-o", str(out), "--junit", str(junit))
    assert r.exit_code == 1
    assert r.stdout == ""
    text = out.read_text(encoding="utf-8")
    assert "model one" in text and "model flips" in text and text.endswith("verdict: violated\n")
    assert "violated: report written to" in r.stderr
    suites = ET.parse(junit).getroot().findall("testsuite")
    assert len(suites) == 2


@pytest.mark.parametrize("flag", ["--graph", "--swimlane", "--report"])
def test_a_picture_or_html_report_of_several_models_is_refused_before_any_work(
    tmp_path: Path, flag: str
) -> None:
    paths = _models(tmp_path, HOLDS, VIOLATED)
    target = tmp_path / ("r.html" if flag == "--report" else "t.dot")
    r = run("verify", *paths, "-q", flag, str(target))
    assert r.exit_code == 2
    assert f"{flag} is for one model, and 2 were given" in r.stderr
    assert r.stdout == "" and not target.exists()


def test_check_takes_directories_too(tmp_path: Path) -> None:
    _models(tmp_path, HOLDS, VIOLATED)
    r = run("check", str(tmp_path))
    assert r.exit_code == 0
    assert r.stdout.count(": ok") == 2
