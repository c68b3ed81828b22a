"""Docker and Prometheus support is the optional extra `kcheck[run]`: without its packages the
simulated run still works, and every command that needs one says exactly what to install,
before any work (simulated here by making the import fail; tests/test_wheel.py meets the real
absence in a fresh install)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kcheck.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
MODEL = "models/replicaset.kdsl"


@pytest.fixture
def no_extras(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    # None in sys.modules makes `import docker` raise ImportError
    monkeypatch.setitem(sys.modules, "docker", None)
    monkeypatch.setitem(sys.modules, "prometheus_client", None)


@pytest.mark.parametrize(
    ("args", "package"),
    [
        (["run", MODEL, "--driver", "docker"], "docker"),
        (["run", "--cleanup"], "docker"),
        (["image"], "docker"),
        (["run", MODEL, "--metrics-port", "9"], "prometheus-client"),
    ],
    ids=["driver", "cleanup", "image", "metrics"],
)
@pytest.mark.usefixtures("no_extras")
def test_a_missing_extra_says_what_to_install(args: list[str], package: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert f"needs the Python package `{package}`, which is not installed" in result.stderr
    assert f"{sys.executable} -m pip install '{package}" in result.stderr
    assert "kcheck[run]" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.usefixtures("no_extras")
def test_the_simulated_run_needs_no_extra() -> None:
    result = CliRunner().invoke(main, ["run", MODEL, "-q", "--seed", "3"])
    assert result.exit_code == 0, result.output
