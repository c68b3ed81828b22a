"""Comparing two models' reachable states, decoded, as sets of JSON lines. A failed comparison
says how many states differ and shows a few: pytest's own explanation of two unequal sets of
thousands of long strings runs difflib over both, which on a CI machine (where pytest diffs in
full) took past the 15-minute test timeout."""

from __future__ import annotations

import json

from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from tests.explore.test_reference_agreement import reachable_and_errors

SHOWN = 3


def decoded_states(text: str) -> set[str]:
    """Every state reachable in the model `text`, without symmetry, decoded to sorted JSON."""
    model = compile_model(check_source(Source("m.kdsl", text)).symbols, symmetry=False)
    states, _ = reachable_and_errors(model)
    return {json.dumps(model.layout.decode(s), sort_keys=True, default=str) for s in states}


def assert_same_states(left: set[str], right: set[str]) -> None:
    only_left = sorted(left - right)
    only_right = sorted(right - left)
    if not only_left and not only_right:
        return
    lines = [f"{len(left)} states against {len(right)}"]
    lines += [f"only left ({len(only_left)}): {s}" for s in only_left[:SHOWN]]
    lines += [f"only right ({len(only_right)}): {s}" for s in only_right[:SHOWN]]
    raise AssertionError("\n".join(lines))
