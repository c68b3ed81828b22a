"""The AST evaluator on decoded states (kcheck.model.evaluate) agrees with the compiled
invariants on the first reachable states of every model in models/: the same verdict in every
state where the compiled code has one, and no value exactly where the compiled code fails."""

from __future__ import annotations

from collections import deque
from pathlib import Path

import pytest

from kcheck.lang.frontend import load
from kcheck.model.compile import compile_model
from kcheck.model.evaluate import EvalError, Evaluator
from kcheck.model.ir import State, StepError

ROOT = Path(__file__).resolve().parents[2]
MODELS = sorted(p.name for p in (ROOT / "models").glob("*.kdsl"))
STATES = 150  # per model, breadth-first: enough to reach violations in most models


@pytest.mark.parametrize("name", MODELS)
def test_evaluator_agrees_with_the_compiled_invariants(name: str) -> None:
    checked = load(str(ROOT / "models" / name))
    model = compile_model(checked.symbols, symmetry=False)
    ev = Evaluator(checked.symbols)
    seen: set[State] = set()
    queue: deque[State] = deque(model.initial())
    checked_states = 0
    while queue and checked_states < STATES:
        s = queue.popleft()
        if s in seen:
            continue
        seen.add(s)
        checked_states += 1
        decoded = model.layout.decode(s)
        for info, inv in zip(model.invariants, checked.symbols.invariants, strict=True):
            try:
                expected: bool | None = info.holds(s)
            except StepError:
                expected = None
            try:
                got: bool | None = bool(ev.value(inv.expr, decoded))
            except EvalError:
                got = None
            assert got == expected, (name, inv.name, decoded)
        queue.extend(t for _, _, t in model.labelled_successors(s))
    assert checked_states > 0
