"""`kcheck ci`'s cache and imports (spec/language.md §13): a model's cached verdict is not
reused once a module it imports has changed, and the standard library's modules are part of
kcheck's own fingerprint."""

from __future__ import annotations

from pathlib import Path

import pytest

from kcheck.ci.command import run_ci
from kcheck.ci.verdict_cache import code_fingerprint

MODEL = """// expect: holds
model m

import "lib/limit.kdsl"

var x: 0..3 = 0

process p {
  action inc when x < 3 {
    x := x + 1
  }
}

invariant small: x <= limit.MAX
"""


def ci(lines: list[str]) -> int:
    return run_ci(None, None, False, lines.append)


def test_a_changed_module_is_checked_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "lib").mkdir()
    (tmp_path / "models" / "m.kdsl").write_text(MODEL)
    module = tmp_path / "models" / "lib" / "limit.kdsl"
    module.write_text("module limit\nconst MAX = 3\n")
    (tmp_path / "kcheck.toml").write_text('models = ["models/*.kdsl"]\nout = "reports"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    first: list[str] = []
    assert ci(first) == 0, first
    module.write_text("module limit\nconst MAX = 2\n")  # the model's text is unchanged
    second: list[str] = []
    assert ci(second) == 1, second
    assert "0 cached" in "\n".join(second)


def test_the_fingerprint_covers_the_standard_library(tmp_path: Path) -> None:
    package = tmp_path / "kcheck"
    (package / "stdlib" / "k8s").mkdir(parents=True)
    module = package / "stdlib" / "k8s" / "m.kdsl"
    module.write_text("module k8s.m\nconst A = 1\n")
    before = code_fingerprint(package, "grammar")
    module.write_text("module k8s.m\nconst A = 2\n")
    assert code_fingerprint(package, "grammar") != before
