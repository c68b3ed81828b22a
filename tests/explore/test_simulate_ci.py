"""`kcheck ci`'s coverage gate, `simulate = { ..., every_action = true }` (docs/ci.md): an
action that no random walk fired fails the gate; when every one fired, the row is OK."""

from __future__ import annotations

from pathlib import Path

import pytest

from kcheck.ci.command import run_ci
from tests.explore.test_simulate import TINY

FIRES_ALL = TINY.replace("  action never when a == 4 - 1 and a == 0 { a := 0 }\n", "")


def ci(root: Path, model: str, gate: str) -> tuple[int, str]:
    (root / "m.kdsl").write_text(model)
    (root / "kcheck.toml").write_text(f'models = ["m.kdsl"]\nsimulate = {gate}\n')
    lines: list[str] = []
    code = run_ci(str(root / "kcheck.toml"), str(root / "out"), True, lines.append)
    return code, "\n".join(lines)


def test_an_action_no_walk_fired_fails_the_gate(tmp_path: Path) -> None:
    code, text = ci(tmp_path, TINY, "{ traces = 20, depth = 5, every_action = true }")
    assert code == 1, text
    assert "never fired: c.never" in text


def test_every_action_fired_passes_the_gate(tmp_path: Path) -> None:
    code, text = ci(tmp_path, FIRES_ALL, "{ traces = 20, depth = 5, every_action = true }")
    assert code == 0, text
    assert "all 3 fired" in text


def test_without_every_action_there_is_no_coverage_row(tmp_path: Path) -> None:
    code, text = ci(tmp_path, TINY, "{ traces = 20, depth = 5, every_action = false }")
    assert code == 0, text
    assert "coverage" not in text


@pytest.mark.parametrize(
    ("gate", "said"),
    [
        ("{ traces = 0 }", "simulate.traces: must be an integer of at least 1"),
        ("{ walks = 3 }", "simulate.walks: unknown key"),
        ("{ every_action = 1 }", "simulate.every_action: must be true or false"),
        ("3", "simulate: must be a table"),
    ],
)
def test_a_bad_simulate_table_is_an_error_naming_the_key(
    tmp_path: Path, gate: str, said: str
) -> None:
    code, text = ci(tmp_path, TINY, gate)
    assert code == 2
    assert said in text, text


def test_a_guard_conjunct_that_never_held_fails_the_branch_gate(tmp_path: Path) -> None:
    gate = "{ traces = 20, depth = 5, every_action = false, every_branch = true }"
    code, text = ci(tmp_path, TINY, gate)
    assert code == 1, text
    # `a == 4 - 1` holds at a == 3; `a == 0` is then evaluated and never holds
    assert "never taken: c.never when 8:36" in text, text


def test_every_branch_taken_passes_the_branch_gate(tmp_path: Path) -> None:
    gate = "{ traces = 20, depth = 5, every_action = false, every_branch = true }"
    code, text = ci(tmp_path, FIRES_ALL, gate)
    assert code == 0, text
    assert "all 3 guards and branches" in text, text


def test_a_bad_every_branch_is_an_error_naming_the_key(tmp_path: Path) -> None:
    code, text = ci(tmp_path, TINY, '{ every_branch = "yes" }')
    assert code == 2
    assert "simulate.every_branch: must be true or false" in text, text
