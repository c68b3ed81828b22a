"""Mutated models that use enum-indexed arrays, parts in `create`, arrays inside records and
lists never crash kcheck (issue 19 point 4): each mutant either checks, and then compiles and
is explored, or is refused with located diagnostics. Bounded: a fixed seed and count."""

from __future__ import annotations

import random
import re

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from tests.lang import test_create_parts, test_enum_arrays, test_lists, test_nested_arrays

TEXTS = [test_enum_arrays.GOOD, test_create_parts.GOOD, test_nested_arrays.GOOD, test_lists.GOOD]
WORDS = ["0", "1", "9", "-1", "Ready", "c", "p", "q", "i", "none", "true", "[0]", ".ready",
         "finalizers", "containers", "ports", "conditions", "append", "remove", "size", "Pod",
         "Finalizer", "list<Finalizer, 2>", "Port[2]", "Condition[ConditionType]"]  # fmt: skip
MUTANTS = 300


def _mutant(rng: random.Random) -> str:
    toks = re.findall(r"\w+|[^\w\s]|\s+", rng.choice(TEXTS))
    for _ in range(rng.randint(1, 3)):
        k = rng.randrange(len(toks))
        if not toks[k].isspace():
            toks[k] = rng.choice(WORDS) if rng.random() < 0.6 else toks[rng.randrange(len(toks))]
    return "".join(toks)


def test_mutants_of_part_and_list_models_are_checked_or_refused_never_crash() -> None:
    rng = random.Random(12)
    accepted = refused = 0
    for _ in range(MUTANTS):
        text = _mutant(rng)
        try:
            checked = check_source(Source("m.kdsl", text))
        except KcheckError as err:
            assert err.diagnostics, text
            assert all(d.span.line >= 1 for d in err.diagnostics if d.severity == "error"), text
            refused += 1
            continue
        accepted += 1
        if accepted <= 40:  # the engine runs what the checker accepted
            explore(compile_model(checked.symbols))
    assert accepted > 0 and refused > 0
