"""`kcheck conform` against `kcheck run`: two implementations of one model's behaviours. Every
log the simulated run writes conforms, and a log with any one event removed does not."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from kcheck.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
STALE = str(ROOT / "models" / "replicaset_stale_cache.kdsl")
REPLICASET = str(ROOT / "models" / "replicaset.kdsl")
SIM_LOG = ROOT / "tests" / "fixtures" / "conform" / "replicaset_sim.jsonl"


def _conform(model: str, log: str) -> tuple[int, dict[str, object]]:
    r = CliRunner().invoke(main, ["conform", model, log, "--output-format", "json"])
    return r.exit_code, json.loads(r.output)


@settings(max_examples=5, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**16))
def test_every_simulated_run_conforms(seed: int) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        log = str(Path(tmp) / "run.jsonl")
        r = CliRunner().invoke(main, ["run", STALE, "--seed", str(seed), "--log-json", log, "-q"])
        assert r.exit_code in (0, 1), r.output  # holds, or a violation the model itself has
        code, out = _conform(STALE, log)
        assert (code, out["verdict"]) == (0, "conforms"), out


@settings(max_examples=8, deadline=None, derandomize=True)
@given(data=st.data())
def test_a_log_missing_any_event_does_not_conform(data: st.DataObject) -> None:
    import tempfile

    lines = SIM_LOG.read_text(encoding="utf-8").splitlines()
    steps = [i for i, x in enumerate(lines) if json.loads(x)["from"] != "kcheck"]
    drop = data.draw(st.sampled_from(steps))
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "cut.jsonl"
        log.write_text("\n".join(x for i, x in enumerate(lines) if i != drop) + "\n", "utf-8")
        code, out = _conform(REPLICASET, str(log))
    assert (code, out["verdict"]) == (1, "does not conform")
    # reported at the step that lost its event, or at a later one (never before the cut)
    step = json.loads(lines[drop])["step"]
    first = min(i for i, x in enumerate(lines) if json.loads(x)["step"] == step) + 1
    failed = out["failed_at"]
    assert isinstance(failed, dict) and failed["line"] >= first
