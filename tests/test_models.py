"""The models in models/ double as tests: each states its expected verdict in a
`// expect: holds` or `// expect: violated NAME steps=N` line, and the suite holds it to that.
Exact distinct state counts, with and without symmetry, are pinned for the tutorial models."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from kcheck.explore.bfs import explore
from kcheck.lang.frontend import CheckedModel, load
from kcheck.model.compile import compile_model
from kcheck.result import HOLDS, VIOLATED, CheckResult
from tests.reference import enumerate_reachable

MODELS = Path(__file__).resolve().parents[1] / "models"
ALL = sorted(MODELS.glob("*.kdsl"))
EXPECT = re.compile(r"^// expect: (holds|violated (\w+) steps=(\d+))\s*$", re.M)

# distinct states: (with symmetry, without symmetry), measured with `kcheck verify --format json`
STATE_COUNTS = {
    "replicaset": (808, 6551),
    "replicaset_counts_running": (206, 3594),
    "pod_readiness": (320, 617),  # as the same model with flat fields per container
    "replicaset_expectations": (1606, 11287),  # as before its expectations became a local
    "scheduler": (3500, 41610),
    "scheduler_stale_snapshot": (71012, 716192),
}


@cache
def checked(name: str) -> CheckedModel:
    return load(str(MODELS / f"{name}.kdsl"))


@cache
def full_run(name: str, symmetry: bool) -> CheckResult:
    """Every reachable state (no invariant selected, so the search never stops early)."""
    model = compile_model(checked(name).symbols, symmetry=symmetry)
    return explore(model, invariants=[], symmetry=symmetry)


def test_every_model_states_what_it_should_verify() -> None:
    assert ALL, "no models found"
    for path in ALL:
        assert EXPECT.search(path.read_text()), f"{path.name} has no `// expect:` line"


@pytest.mark.parametrize("path", ALL, ids=[p.stem for p in ALL])
def test_model_verdict_matches_its_expect_line(path: Path) -> None:
    m = EXPECT.search(path.read_text())
    assert m is not None
    model = compile_model(checked(path.stem).symbols, symmetry=True)
    if m.group(1) == "holds":
        r = explore(model)
        assert r.verdict == HOLDS, [(p.name, p.status) for p in r.properties]
        assert r.complete
        return
    name, steps = m.group(2), int(m.group(3))
    if any(p.name == name for p in model.properties):
        r = explore(model, invariants=[], properties=[name])
    else:
        r = explore(model, invariants=[name], properties=[])
    assert r.verdict == VIOLATED
    (p,) = [p for p in r.properties if p.name == name]
    assert p.status == VIOLATED
    assert p.trace is not None and len(p.trace) == steps


@pytest.mark.parametrize("name", [n for n in STATE_COUNTS if n != "scheduler_stale_snapshot"])
@pytest.mark.parametrize("symmetry", [True, False], ids=["symmetry", "no-symmetry"])
def test_exact_state_counts(name: str, symmetry: bool) -> None:
    r = full_run(name, symmetry)
    assert r.complete
    assert r.stats.states == STATE_COUNTS[name][0 if symmetry else 1]


def test_exact_state_counts_of_the_stale_snapshot_model() -> None:
    """The biggest model: one full run each way, with no invariant to evaluate."""
    sym, plain = STATE_COUNTS["scheduler_stale_snapshot"]
    assert full_run("scheduler_stale_snapshot", True).stats.states == sym
    assert full_run("scheduler_stale_snapshot", False).stats.states == plain


def test_symmetry_keeps_the_verdicts_of_every_small_model() -> None:
    for name in ("replicaset", "replicaset_counts_running", "scheduler"):
        verdicts = []
        for symmetry in (True, False):
            model = compile_model(checked(name).symbols, symmetry=symmetry)
            r = explore(model, symmetry=symmetry)
            verdicts.append(
                {p.name: (p.status, len(p.trace) if p.trace else None) for p in r.properties}
            )
        assert verdicts[0] == verdicts[1], name


@pytest.mark.parametrize("name", ["replicaset", "scheduler"])
def test_reference_interpreter_reaches_the_same_states(name: str) -> None:
    model = compile_model(checked(name).symbols, symmetry=False)
    ref = enumerate_reachable(checked(name).symbols, model.layout)
    assert not ref.errors
    assert len(ref.states) == STATE_COUNTS[name][1]
