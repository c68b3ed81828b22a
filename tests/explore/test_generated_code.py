"""The search over a model's generated C (explore/cgen.py, store_gen.c) against the reference
Python search: the same states, transitions, verdicts and shortest traces on every model in
models/ and on generated models (issue 14.1)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from kcheck.explore import bfs
from kcheck.explore.bfs import Limits, explore
from kcheck.explore.store import SOURCE, generated_code
from kcheck.lang.frontend import load
from kcheck.model import native
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel
from kcheck.result import CheckResult
from tests.explore.modelgen import models

ROOT = Path(__file__).resolve().parents[2]
MODELS = sorted((ROOT / "models").glob("*.kdsl"))
CAP = 20_000  # as test_store.py: both searches cut at the same state

needs_native = pytest.mark.skipif(
    native.load_extension(SOURCE, "_store") is None,
    reason="no C compiler here: the Python store is in use",
)


@pytest.fixture(autouse=True)
def generated_from_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bfs, "GEN_AFTER", 0)


@cache
def _compiled(name: str, symmetry: bool) -> CompiledModel:
    return compile_model(load(str(ROOT / "models" / f"{name}.kdsl")).symbols, symmetry=symmetry)


def _summary(r: CheckResult) -> tuple[object, ...]:
    props = tuple((p.name, p.kind, p.status, p.trace, p.reason) for p in r.properties)
    s = r.stats
    return (s.states, s.transitions, s.depth, r.complete, r.limit, r.verdict, props)


@needs_native
@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_generated_code_finds_what_the_reference_search_finds(path: Path) -> None:
    # without symmetry: the generated code runs where no canonicaliser is needed
    model = _compiled(path.stem, False)
    limits = Limits(max_states=CAP)
    gen = explore(model, symmetry=False, limits=limits)
    reference = explore(model, symmetry=False, limits=limits, packed=False)
    assert _summary(gen) == _summary(reference)


@needs_native
def test_the_reference_models_run_in_c() -> None:
    # the two models of the Spin comparison translate, each with at most four statements
    # (a `min` over a list, a comprehension, the scheduler's ties) left in Python
    for name in ("replicaset", "scheduler_starvation"):
        code = generated_code(_compiled(name, False))
        assert code is not None
        assert len(code.fallbacks) <= 4
        assert code.invariants == frozenset(range(len(_compiled(name, False).invariants)))


@needs_native
def test_most_models_translate() -> None:
    translated = [p.stem for p in MODELS if generated_code(_compiled(p.stem, False)) is not None]
    assert len(translated) * 2 > len(MODELS), translated


@needs_native
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.booleans().flatmap(lambda failing: models(failing=failing)))
def test_generated_code_agrees_on_generated_models(text: str) -> None:
    # (failing models: invariants that cannot be evaluated, steps that leave the bounds)
    note(text)
    from kcheck.lang.diagnostics import Source
    from kcheck.lang.frontend import check_source

    model = compile_model(check_source(Source("gen.kdsl", text)).symbols, symmetry=False)
    gen = explore(model, symmetry=False)
    reference = explore(model, symmetry=False, packed=False)
    assert _summary(gen) == _summary(reference)
