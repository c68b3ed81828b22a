"""Following a live run's JSON event log (`kcheck run --log-json`): the dashboard finds each
logged step again in the model, so the path it shows is the run's own trace, state for state;
it keeps up as the log grows, and says so when a log is not of this model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from starlette.testclient import TestClient

from kcheck.dashboard.app import create_app
from tests.dashboard.conftest import MODELS, STALE, session_of

KCHECK = "import sys; from kcheck.cli.main import main; sys.exit(main())"


def run_log(model: Path, tmp_path: Path) -> tuple[list[str], list[dict[str, object]]]:
    """A sim run's event log lines, and the trace its JSON result shows."""
    log, result = tmp_path / "events.jsonl", tmp_path / "run.json"
    done = subprocess.run(
        [sys.executable, "-c", KCHECK, "run", str(model), "--driver", "sim", "--timeout", "5",
         "-q", "--log-json", str(log), "--format", "json", "-o", str(result)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 1, 3), done.stderr
    entry = next(p for p in json.loads(result.read_text())["properties"] if p.get("trace"))
    return log.read_text().splitlines(keepends=True), entry["trace"]


def test_following_a_run_shows_its_trace_state_for_state_as_the_log_grows(tmp_path: Path) -> None:
    lines, trace = run_log(STALE, tmp_path)
    growing = tmp_path / "growing.jsonl"
    half = len(lines) // 2
    growing.write_text("".join(lines[:half]))
    c = TestClient(create_app(session_of(STALE)))
    view = c.post("/api/follow", json={"path": str(growing)}).json()
    assert view["origin"] == "live" and view["live"]["ended"] is None
    early = len(view["steps"])
    assert 1 < early < len(trace)
    with growing.open("a") as f:
        f.write("".join(lines[half:]))
    view = c.get("/api/view").json()
    assert view["live"]["problem"] is None
    assert view["live"]["ended"].startswith("Violation: invariant no_overcommit")
    assert [s["action"] for s in view["steps"][1:]] == [s["action"] for s in trace[1:]]
    assert view["cursor"] == len(trace) - 1  # it followed to the end
    fired = view["live"]["fired"]
    assert sum(fired.values()) == len(trace) - 1
    assert fired["default.bind"] == sum(s["action"] == "default.bind" for s in trace)
    for i, step in enumerate(trace):
        shown = c.post("/api/jump", json={"step": i}).json()
        assert shown["state"] == step["state"]
        assert shown["steps"][i]["args"] == step["args"]
    assert {i["name"]: i["holds"] for i in shown["invariants"]}["no_overcommit"] is False
    # a search (or a report) opened afterwards is not overwritten by the run followed
    found = c.post("/api/search", json={"expr": "count(Pod) == 2"}).json()
    assert found["origin"].startswith("search") and len(found["steps"]) == 3
    assert c.get("/api/view").json()["steps"] == found["steps"]


def test_a_log_of_another_model_stops_following_with_the_reason(tmp_path: Path) -> None:
    lines, _ = run_log(MODELS / "replicaset_stale_cache.kdsl", tmp_path)
    log = tmp_path / "other.jsonl"
    log.write_text("".join(lines))
    c = TestClient(create_app(session_of(STALE)))
    live = c.post("/api/follow", json={"path": str(log)}).json()["live"]
    assert live["problem"] is not None and "is no step of this model" in live["problem"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    live = c.post("/api/follow", json={"path": str(bad)}).json()["live"]
    assert "not an event of `kcheck run --log-json`" in live["problem"]
