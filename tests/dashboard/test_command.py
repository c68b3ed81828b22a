"""`kcheck explore` on bad input: a clear message on the terminal and exit 2, before any
server starts (a model with errors, a report of another model, a port in use)."""

from __future__ import annotations

import socket
from pathlib import Path

from click.testing import CliRunner

from kcheck.cli.main import main
from tests.dashboard.conftest import MODELS, STALE, report_of, session_of


def test_a_model_with_errors_prints_its_diagnostics_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.kdsl"
    bad.write_text("model bad\nvar x: 0..2 = 0\ninvariant ok: y == 1\n")
    result = CliRunner().invoke(main, ["explore", str(bad), "--port", "0"])
    assert result.exit_code == 2
    assert "bad.kdsl:3:15: error[KC0201]: unknown name `y`" in result.stderr


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
