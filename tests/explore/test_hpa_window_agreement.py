"""models/hpa.kdsl keeps its scale-down stabilization window as aged recommendations (a
sliding-window maximum's monotone queue, each entry's age a clock of ticks of one sync), not as
the ring of WINDOW slots it had before (kept as tests/fixtures/hpa_ring.kdsl). The two must be
the same HPA:

- in lockstep, fed every sequence of recommendations, the two windows give the same highest
  recommendation at every sync (exhaustive over windows 1..5 and recommendations up to 4; the
  queue's two conditions are read out of models/hpa.kdsl itself, so this checks the model's
  text, not a copy);
- the ring model and the new one give every property the same verdict, for windows 1..4 and
  several params;
- a queue that drops an entry one sync early fails both checks (so they can fail).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.result import HOLDS

ROOT = Path(__file__).resolve().parents[2]
HPA = (ROOT / "models" / "hpa.kdsl").read_text(encoding="utf-8")
RING = (ROOT / "tests" / "fixtures" / "hpa_ring.kdsl").read_text(encoding="utf-8")
# the two conditions that make the queue: which entries count at a sync, which a sync forgets
IN_WINDOW = re.compile(r"max r\.replicas for r in Recommendation where (.+)\)\n")
FORGET = re.compile(r"for r in Recommendation where (.+) \{\n")


def conditions(text: str) -> tuple[str, str]:
    (in_window,) = IN_WINDOW.findall(text)
    (forget,) = FORGET.findall(text)
    return in_window, forget


# Both windows side by side, fed any recommendation (0..MAX_PODS) at every sync, one sync a
# tick as in hpa.kdsl; `agree` records whether their highest ever differed.
LOCKSTEP = """model window_lockstep
const MAX_PODS = 4
const WINDOW = 3
kind Slot[WINDOW] ordered {{
  replicas: 0..MAX_PODS = 0
}}
kind Recommendation[MAX_PODS] {{
  replicas: 1..MAX_PODS
  age: clock
}}
var next: 0..WINDOW - 1 = 0
var agree: bool = true
init {{
  for i in 1..WINDOW {{
    create Slot {{}}
  }}
}}
controller hpa {{
  var since_sync: clock = 0
  action sync for rec in 0..MAX_PODS when after(since_sync, 1) within 0 {{
    let ring = max(rec, max s.replicas for s in Slot where s != Slot[next])
    let aged = max(rec, max r.replicas for r in Recommendation where {in_window})
    if ring != aged {{
      agree := false
    }}
    Slot[next].replicas := rec
    next := (next + 1) % WINDOW
    for r in Recommendation where {forget} {{
      delete r
    }}
    if rec > 0 {{
      create Recommendation {{ replicas: rec }}
    }}
    since_sync := 0
  }}
}}
invariant same_highest: agree
"""
LOCKSTEP_SIZES = [(w, m) for w in range(1, 6) for m in range(1, 5)]


def lockstep_disagreements(in_window: str, forget: str) -> list[tuple[int, int]]:
    """The (WINDOW, MAX_PODS) where some sequence of recommendations makes the two differ."""
    text = LOCKSTEP.format(in_window=in_window, forget=forget)
    out = []
    for window, top in LOCKSTEP_SIZES:
        sym = check_source(Source("lockstep.kdsl", text), {"WINDOW": window, "MAX_PODS": top})
        result = explore(compile_model(sym.symbols))
        if result.verdict != HOLDS:
            out.append((window, top))
        else:
            assert result.complete
    return out


def test_the_queue_and_the_ring_give_the_same_highest_after_every_sync_sequence() -> None:
    assert lockstep_disagreements(*conditions(HPA)) == []


def test_its_variants_keep_the_same_window() -> None:
    for name in ("hpa_no_stabilization", "hpa_counts_spec_replicas"):
        text = (ROOT / "models" / f"{name}.kdsl").read_text(encoding="utf-8")
        assert conditions(text) == conditions(HPA), name


def one_sync_early(text: str) -> str:
    """The planted bug: forget an entry a sync before it leaves the window."""
    _, forget = conditions(text)
    assert "WINDOW - 1" in forget
    early = forget.replace("WINDOW - 1", "WINDOW - 2")
    return text.replace(f"where {forget} {{", f"where {early} {{")


def test_a_queue_that_forgets_one_sync_early_disagrees_in_lockstep() -> None:
    in_window, forget = conditions(one_sync_early(HPA))
    got = lockstep_disagreements(in_window, forget)
    # at 2 syncs, what it forgets a sync early is what it would forget anyway
    assert got == [(w, m) for w, m in LOCKSTEP_SIZES if w >= 3]


# params of hpa.kdsl: the defaults, three dips (they outlast a 3-sync window), a higher floor,
# the example manifest's instance, and a load at its highest from the start
PARAMS: list[dict[str, int]] = [
    {},
    {"DIPS": 3},
    {"min_replicas": 2, "initial_replicas": 3, "initial_load": 4},
    {"TARGET": 6, "max_replicas": 5, "initial_replicas": 2},
    {"LOAD_CHANGES": 0, "initial_load": 20, "max_replicas": 5},
]
GRID = [(w, i) for w in range(1, 5) for i in range(len(PARAMS))]


@cache
def verdicts(text: str, window: int, params: int) -> dict[str, str]:
    defines = {"WINDOW": window, **PARAMS[params]}
    sym = check_source(Source("hpa.kdsl", text), defines)
    result = explore(compile_model(sym.symbols))
    assert result.complete
    return {p.name: p.status for p in result.properties}


@pytest.mark.parametrize(("window", "params"), GRID)
def test_the_ring_and_the_aged_window_give_the_same_verdicts(window: int, params: int) -> None:
    assert verdicts(HPA, window, params) == verdicts(RING, window, params)


def test_the_verdicts_tell_the_windows_apart() -> None:
    """The grid is not blind: some windows hold and some do not, and the planted bug changes a
    verdict there."""
    statuses = {frozenset(verdicts(RING, w, i).items()) for w, i in GRID}
    assert len(statuses) > 1
    bad = one_sync_early(HPA)
    assert bad != HPA
    assert [(w, i) for w, i in GRID if verdicts(bad, w, i) != verdicts(RING, w, i)]
