"""The package as a user installs it: the wheel is built from this checkout, installed into a
fresh virtual environment without the optional extra `run`, and used from outside the source
tree. It must verify a model, carry the reference (`kcheck docs` prints spec/'s pages byte for
byte, so the copies cannot drift) and the JSON Schemas, and say what to install for Docker.

Slow (a build and an install of z3-solver, about a minute): `-m "not wheel"` deselects it. pip
reaches its index only for what its cache lacks; the versions are those of requirements.lock."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.wheel


def sh(*args: str | Path, cwd: Path, code: int = 0, limit: float = 600) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=limit
    )
    assert done.returncode == code, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check")
    sh(*pip, "wheel", "--no-deps", "-w", tmp / "dist", ROOT, cwd=tmp)
    [wheel] = (tmp / "dist").glob("kcheck-*.whl")
    sh(sys.executable, "-m", "venv", tmp / "venv", cwd=tmp)
    bin_dir = tmp / "venv" / "bin"
    sh(bin_dir / "python", "-m", "pip", "--disable-pip-version-check", "install", "-q",
       "-c", ROOT / "requirements.lock", wheel, cwd=tmp)  # fmt: skip
    return bin_dir


def test_the_installed_wheel_verifies_a_model(venv: Path, tmp_path: Path) -> None:
    out = sh(venv / "kcheck", "verify", ROOT / "models" / "replicaset.kdsl", cwd=tmp_path)
    assert "verdict: holds" in out
    report = sh(venv / "kcheck", "verify", ROOT / "models" / "replicaset_counts_running.kdsl",
                "--format", "json", "-q", cwd=tmp_path, code=1)  # fmt: skip
    assert json.loads(report)["format_version"] == "1.1"


def test_the_wheel_carries_the_reference_unchanged(venv: Path, tmp_path: Path) -> None:
    listing = sh(venv / "kcheck", "docs", cwd=tmp_path)
    pages = [
        *sorted((ROOT / "spec").glob("*.md")),
        ROOT / "docs" / "ci.md",
        ROOT / "docs" / "tutorial.md",
    ]
    for page in pages:
        topic = page.stem.lower()
        assert f"  {topic} " in listing
        shown = sh(venv / "kcheck", "docs", topic, cwd=tmp_path)
        assert shown == page.read_text(encoding="utf-8").rstrip("\n") + "\n", topic
    assert "kcheck docs language" in sh(venv / "kcheck", "--help", cwd=tmp_path)


def test_the_wheel_carries_the_schemas(venv: Path, tmp_path: Path) -> None:
    code = (
        "import json, kcheck, pathlib; d = pathlib.Path(kcheck.__file__).parent / 'schemas';"
        "print(sorted(p.name for p in d.glob('*.json')));"
        "[json.loads(p.read_text()) for p in d.glob('*.json')]"
    )
    out = sh(venv / "python", "-c", code, cwd=tmp_path)
    assert "['kcheck-toml.schema.json', 'report.schema.json', 'run-event.schema.json']" in out


def test_without_the_run_extra_docker_says_what_to_install(venv: Path, tmp_path: Path) -> None:
    model = ROOT / "models" / "replicaset.kdsl"
    assert "verdict: holds" in sh(venv / "kcheck", "run", model, "-q", cwd=tmp_path)
    out = sh(venv / "kcheck", "run", model, "--driver", "docker", cwd=tmp_path, code=2)
    assert "-m pip install 'docker<8,>=7.1'" in out
    assert "kcheck[run]" in out
    out = sh(venv / "kcheck", "run", model, "--metrics-port", "9", cwd=tmp_path, code=2)
    assert "prometheus-client" in out
