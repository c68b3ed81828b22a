"""`kcheck explore` on bad input: a clear message on the terminal and exit 2, before any
server starts (a report of another model, a port in use, a model file that cannot be read),
and a model with errors, whose diagnostics are printed before it is served."""

from __future__ import annotations

import socket
from pathlib import Path

from click.testing import CliRunner

from kcheck.cli.main import main
from tests.dashboard.conftest import MODELS, STALE, report_of, session_of


def busy_port() -> socket.socket:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    return busy


def test_a_model_with_errors_prints_its_diagnostics_and_is_served_anyway(tmp_path: Path) -> None:
    bad = tmp_path / "bad.kdsl"
    bad.write_text("model bad\nvar x: 0..2 = 0\ninvariant ok: y == 1\n")
    # a port in use stops the command just before it would serve: what it printed is kept
    with busy_port() as busy:
        port = busy.getsockname()[1]
        result = CliRunner().invoke(main, ["explore", str(bad), "--port", str(port)])
    assert "bad.kdsl:3:15: error[KC0201]: unknown name `y`" in result.stderr
    assert f"the page shows these errors and waits for {bad} to be saved" in result.stderr
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr
    assert result.exit_code == 2


def test_a_model_with_errors_and_a_report_or_a_missing_file_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.kdsl"
    bad.write_text("model bad\nvar x: 0..2 = 0\ninvariant ok: y == 1\n")
    result = CliRunner().invoke(main, ["explore", str(bad), "--report", str(bad)])
    assert result.exit_code == 2
    assert "unknown name `y`" in result.stderr
    assert f"--report needs {bad} without errors" in result.stderr
    result = CliRunner().invoke(main, ["explore", str(tmp_path / "none.kdsl")])
    assert result.exit_code == 2
    assert "error[KC0104]: cannot read" in result.stderr


def test_a_report_of_another_model_is_refused_with_exit_2(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text(report_of(session_of(MODELS / "replicaset_stale_cache.kdsl")))
    result = CliRunner().invoke(main, ["explore", str(STALE), "--report", str(other)])
    assert result.exit_code == 2
    assert "the report is of model `replicaset_stale_cache`" in result.stderr
    assert "this dashboard shows `scheduler_stale_snapshot`" in result.stderr


def test_a_port_in_use_is_refused_with_exit_2() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(main, ["explore", str(STALE), "--port", str(port)])
    assert result.exit_code == 2
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr
