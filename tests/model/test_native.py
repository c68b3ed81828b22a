"""The native canonicaliser (canon.c) must give exactly what the generated Python one gives:
the same representative for every state, so state counts never depend on which one ran."""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source, load
from kcheck.model import native
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel, State, StepError
from kcheck.model.symmetry import make_canonicalizer, native_plan, python_canonicalizer
from tests.explore.modelgen import models

ROOT = Path(__file__).resolve().parents[2]

needs_native = pytest.mark.skipif(
    native.load() is None, reason="no C compiler here: the Python canonicaliser is in use"
)


def successors(model: CompiledModel, s: State) -> list[State]:
    """Every successor that does not fail (bad-variant models leave their bounds)."""
    out: list[State] = []
    for step in model.action_steps:
        with contextlib.suppress(StepError):
            out.extend(t for _, _, t in step(s))
    return out


def sample_states(model: CompiledModel, rounds: int = 10, width: int = 200) -> list[State]:
    """Reachable-looking states, most of them not canonical: successors of successors."""
    rng = random.Random(7)
    frontier = list(model.initial())
    out: list[State] = list(frontier)
    for _ in range(rounds):
        nxt = [t for s in frontier[:width] for t in successors(model, s)]
        rng.shuffle(nxt)
        frontier = nxt
        out.extend(nxt)
    return out


@needs_native
@pytest.mark.parametrize(
    ("path", "defines"),
    [
        ("models/replicaset.kdsl", {"REPLICASETS": 3, "MAX_REPLICAS": 3, "CRASHES": 3}),
        ("models/scheduler.kdsl", {"NODES": 3, "PODS": 5}),
        ("models/scheduler_stale_snapshot.kdsl", {}),
        ("models/replicaset_counts_running.kdsl", {}),
        ("models/replicaset_stale_cache.kdsl", {"REPLICASETS": 2}),  # cached references
    ],
)
def test_native_and_python_canonicalisers_agree_on_the_models(
    path: str, defines: dict[str, int | str]
) -> None:
    model = compile_model(load(str(ROOT / path), defines).symbols)
    plan = native_plan(model.layout)
    assert plan is not None
    fast, slow = native.native_canonicalizer(plan), python_canonicalizer(model.layout)
    assert fast is not None
    states = sample_states(model)
    assert len(states) > 1000
    for s in states:
        assert fast(s) == slow(s), s


@needs_native
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models() | models(controller_state=True))
def test_native_and_python_canonicalisers_agree_on_random_models(text: str) -> None:
    model = compile_model(check_source(Source("random.kdsl", text)).symbols)
    if model.canonicalize is None:
        return
    plan = native_plan(model.layout)
    if plan is None:
        return
    fast, slow = native.native_canonicalizer(plan), python_canonicalizer(model.layout)
    assert fast is not None
    for s in sample_states(model, rounds=6, width=60):
        assert fast(s) == slow(s), s


@needs_native
def test_native_canonicaliser_returns_a_canonical_state_unchanged() -> None:
    model = compile_model(load(str(ROOT / "models/scheduler.kdsl")).symbols)
    canon = make_canonicalizer(model.layout)
    for s in sample_states(model, rounds=5):
        c = canon(s)
        assert canon(c) is c  # no new tuple for a state that is already its representative


@needs_native
def test_malformed_plans_and_states_are_errors_not_crashes() -> None:
    module = native.load()
    assert module is not None
    for plan in ([], [3], [3, 1, 0, 0, 5, 1], [4, 1, 7, 0, 2, 2], [4, 1, 1, 0, 2, 2, 9]):
        with pytest.raises(ValueError):
            module.make(plan)
    canon = module.make([4, 1, 0, 0, 2, 2])
    with pytest.raises(ValueError):
        canon((1, 2, 3))
    with pytest.raises(TypeError):
        canon([1, 2, 3, 4])
    assert canon((0, 0, 1, 5)) == (1, 5, 0, 0)


def test_without_a_compiler_kcheck_falls_back_to_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CC", "/nonexistent/cc")
    monkeypatch.setattr("shutil.which", lambda name: None)  # native imports shutil to build
    assert native._build(native.SOURCE, tmp_path / "x.so") is False
    monkeypatch.setenv("KCHECK_NATIVE", "0")
    native._built.cache_clear()
    try:
        model = compile_model(load(str(ROOT / "models/scheduler.kdsl")).symbols)
        canon = make_canonicalizer(model.layout)
        assert type(canon).__name__ != "Canon"
        assert canon(model.initial()[0]) == python_canonicalizer(model.layout)(model.initial()[0])
    finally:
        native._built.cache_clear()


def test_a_source_the_compiler_rejects_is_reported_as_such(tmp_path: Path) -> None:
    # a compiler that is there but fails is not "no compiler": the reason quotes its error
    import shutil

    if (shutil.which("cc") or shutil.which("gcc")) is None:
        pytest.skip("no C compiler here")
    bad = tmp_path / "broken.c"
    bad.write_text("int broken(void) { return undeclared_name; }\n", encoding="utf-8")
    assert native._build(bad, tmp_path / "broken.so") is False
    why = native.unavailable(bad)
    assert "could not compile broken.c" in why and "undeclared_name" in why, why
    assert (
        native.unavailable(tmp_path / "other.c")
        == "no C compiler or Python headers to build it with"
    )
