"""`kcheck ci` pairs a model with manifest globs: each file, or each folder's YAML files, is one
instance; a repository of manifests is gated on every change (examples/pdb)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kcheck.ci.command import run_ci

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pdb"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "pdb"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("reports", ".kcheck*"))
    monkeypatch.chdir(root)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return root


def ci() -> tuple[int, str]:
    lines: list[str] = []
    code = run_ci(None, None, True, lines.append)
    text = "\n".join(lines)
    assert "Traceback" not in text
    return code, text


def row(text: str, app: str, prop: str) -> str:
    hits = [ln for ln in text.splitlines() if f"manifest=apps/{app}" in ln and prop in ln]
    assert len(hits) == 1, text
    return hits[0]


def test_a_rollout_that_drops_below_its_pdb_fails_the_gate(repo: Path) -> None:
    code, text = ci()
    assert code == 1
    assert "violated" in row(text, "web", "rollout_keeps_pdb")
    assert "UNEXPECTED" in row(text, "web", "rollout_keeps_pdb")
    assert "OK" in row(text, "api", "rollout_keeps_pdb")


def test_fixing_the_manifest_passes_the_gate(repo: Path) -> None:
    deploy = repo / "apps" / "web" / "deployment.yaml"
    deploy.write_text(
        deploy.read_text().replace(
            "  # no strategy",
            "  strategy:\n    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}\n  # was: no strategy",
        )
    )
    code, text = ci()
    assert code == 0, text
    assert "OK" in row(text, "web", "rollout_keeps_pdb")


def test_a_bad_manifest_does_not_load_and_says_where(repo: Path) -> None:
    pdb = repo / "apps" / "api" / "pdb.yaml"
    pdb.write_text(pdb.read_text().replace("maxUnavailable: 1", "maxUnavailable: 1x"))
    code, text = ci()
    assert code == 2
    assert (
        "apps/api/pdb.yaml:6:19: error[KC0606]: `spec.maxUnavailable: 1x` is not an integer" in text
    )


def test_a_glob_that_matches_nothing_is_a_configuration_error(repo: Path) -> None:
    toml = repo / "kcheck.toml"
    toml.write_text(toml.read_text().replace('"apps/*"', '"nowhere/*"'))
    code, text = ci()
    assert code == 2
    assert "manifests: 'nowhere/*' matches nothing" in text


def test_a_field_the_model_does_not_map_does_not_load_the_app(repo: Path) -> None:
    """A paused Deployment does not roll out; the model maps the rollout and describes one
    that is not paused, so the app is refused (KC0610), not gated as a different system."""
    deploy = repo / "apps" / "api" / "deployment.yaml"
    text = deploy.read_text()
    deploy.write_text(text.replace("spec:\n", "spec:\n  paused: true\n", 1))
    code, out = ci()
    assert code == 2
    assert "apps/api/deployment.yaml:" in out
    assert "error[KC0610]: the model does not map `spec.paused` (true here)" in out
    assert "OK" in row(out, "web", "rolls_out")  # the other app is still gated
