"""`kcheck docs [TOPIC]`: the reference (spec/, docs/ci.md and docs/tutorial.md) from the command line, read in
place in a source checkout (tests/test_wheel.py checks the wheel's copies)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from kcheck.cli.main import main

ROOT = Path(__file__).resolve().parents[1]


def test_docs_lists_every_page_with_its_title() -> None:
    result = CliRunner().invoke(main, ["docs"])
    assert result.exit_code == 0
    for page in [
        *(ROOT / "spec").glob("*.md"),
        ROOT / "docs" / "ci.md",
        ROOT / "docs" / "tutorial.md",
    ]:
        title = page.read_text().splitlines()[0].lstrip("# ").replace("`", "")
        assert f"  {page.stem.lower()} " in result.stdout
        assert title in result.stdout


def test_docs_topic_prints_the_page() -> None:
    result = CliRunner().invoke(main, ["docs", "language"])
    assert result.exit_code == 0
    assert result.stdout == (ROOT / "spec" / "language.md").read_text()
    assert CliRunner().invoke(main, ["docs", "CI.md"]).stdout == (ROOT / "docs/ci.md").read_text()


def test_an_unknown_topic_is_a_usage_error_with_a_hint() -> None:
    result = CliRunner().invoke(main, ["docs", "langauge"])
    assert result.exit_code == 2
    assert "did you mean `language`?" in result.stderr
    assert "topics: readme, ci, cli" in result.stderr


def test_help_points_at_kcheck_docs_not_at_files() -> None:
    """`--help` must not send a user of the wheel to a file it does not contain."""
    for args in (["--help"], ["verify", "--help"], ["run", "--help"], ["ci", "--help"]):
        text = CliRunner().invoke(main, args).stdout
        assert "spec/" not in text and "docs/" not in text, args
    assert "kcheck docs language" in CliRunner().invoke(main, ["--help"]).stdout
