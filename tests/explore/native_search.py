"""What the tests of the search's C paths share (test_generated_code, test_threads,
test_predicates_in_c): the models, the skip without a C compiler, compiled models, and the
summary of an answer that two searches must agree on."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from kcheck.explore.store import SOURCE
from kcheck.lang.frontend import load
from kcheck.model import native
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel
from kcheck.result import CheckResult

ROOT = Path(__file__).resolve().parents[2]
MODELS = sorted((ROOT / "models").glob("*.kdsl"))

needs_native = pytest.mark.skipif(
    native.load_extension(SOURCE, "_store") is None,
    reason="no C compiler here: the Python store is in use",
)


@cache
def compiled(name: str, symmetry: bool = True) -> CompiledModel:
    """models/NAME.kdsl at its declared sizes."""
    return compile_model(load(str(ROOT / "models" / f"{name}.kdsl")).symbols, symmetry=symmetry)


def summary(r: CheckResult) -> tuple[object, ...]:
    """Counts, depth, completeness, limit, verdict, and every entry with its trace."""
    props = tuple((p.name, p.kind, p.status, p.trace, p.reason) for p in r.properties)
    s = r.stats
    return (s.states, s.transitions, s.depth, r.complete, r.limit, r.verdict, props)
