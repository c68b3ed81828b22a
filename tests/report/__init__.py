"""Shared by the report tests: the real results of two bad models as `kcheck verify` gives them
(timing pinned to zero so golden files do not change from run to run), hand-built results with
hostile text, and golden-file comparison (`KCHECK_UPDATE_GOLDEN=1` rewrites the files)."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from kcheck.cli.main import main
from kcheck.result import (
    HOLDS,
    INCONCLUSIVE,
    NOT_CHECKED,
    VIOLATED,
    CheckResult,
    PropertyResult,
    Stats,
)
from kcheck.trace import Step, Trace

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
# the two models every machine format is pinned on, by their path as a user would type it
MODELS = ("models/replicaset_counts_running.kdsl", "models/scheduler_stale_snapshot.kdsl")


def _trace(steps: Any, loop_start: int | None) -> Trace | None:
    if steps is None:
        return None
    return Trace(
        tuple(
            Step(s["action"], s["args"], s["state"], s.get("error"), s.get("line")) for s in steps
        ),
        loop_start,
    )


def result_from_json(data: dict[str, Any]) -> CheckResult:
    s = data["stats"]
    return CheckResult(
        model=data["model"],
        engine=data["engine"],
        stats=Stats(s["states"], s["transitions"], s["depth"], 0.0),  # seconds pinned to 0
        properties=[
            PropertyResult(
                p["name"],
                p["kind"],
                p["status"],
                p["line"],
                _trace(p["trace"], p.get("loop_start")),
                p.get("reason"),
                explanation=tuple(p.get("explanation", ())),
            )
            for p in data["properties"]
        ],
        complete=data["complete"],
        limit=data["limit"],
        notes=list(data["notes"]),
    )


@cache
def verified(path: str) -> CheckResult:
    """What `kcheck verify PATH --format json` reports, read back into a CheckResult."""
    run = CliRunner().invoke(main, ["verify", str(ROOT / path), "--format", "json", "-q"])
    assert run.exit_code in (0, 1, 3), run.output
    return result_from_json(json.loads(run.stdout))


def real_results() -> list[tuple[str, CheckResult]]:
    return [(path, verified(path)) for path in MODELS]


HOSTILE = "a<b>&c\"d'e|f]g[h`i*j_k\x1bl\nm"


def hostile_result() -> CheckResult:
    """Every kind of model-derived text carries characters that break XML, HTML or tables."""
    trace = Trace(
        (
            Step(None, {}, {"x": 0, "Obj": {f"Obj#{HOSTILE}": {"f": HOSTILE}}}),
            Step(
                f"act.{HOSTILE}",
                {"arg": HOSTILE},
                {"x": 1, "Obj": {f"Obj#{HOSTILE}": {"f": "<script>alert(1)</script>"}}},
                line=3,
            ),
            Step(f"act.{HOSTILE}", {"arg": HOSTILE}, None, error=f"boom {HOSTILE}", line=4),
        ),
        loop_start=None,
    )
    return CheckResult(
        model=f"m{HOSTILE}",
        engine="explicit",
        stats=Stats(3, 2, 2, 0.0),
        properties=[
            PropertyResult(f"inv{HOSTILE}", "invariant", VIOLATED, 7, trace),
            PropertyResult(f"bound: {HOSTILE}", "bound", VIOLATED, 4, trace, f"boom {HOSTILE}"),
            PropertyResult(f"undecided{HOSTILE}", "invariant", INCONCLUSIVE, 8, reason=HOSTILE),
            PropertyResult(f"live{HOSTILE}", "property", NOT_CHECKED, 9, reason=HOSTILE),
            PropertyResult("fine", "invariant", HOLDS, 10),
        ],
        complete=False,
        limit="max-states",
        notes=[f"note {HOSTILE}"],
    )


def check_golden(path: Path, actual: str) -> None:
    if os.environ.get("KCHECK_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run with KCHECK_UPDATE_GOLDEN=1 to create it"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (
        f"{path.name} differs; if the change is intended, rerun with KCHECK_UPDATE_GOLDEN=1"
    )
