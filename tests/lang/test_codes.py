"""spec/diagnostics.md lists every diagnostic code, and only those that kcheck can report."""

from __future__ import annotations

import re
from pathlib import Path

from kcheck.lang.diagnostics import CODES

SPEC = Path(__file__).resolve().parents[2] / "spec" / "diagnostics.md"
ROW = re.compile(r"^\|\s*`(KC\d{4})`\s*\|\s*(.+?)\s*\|\s*$")


def spec_table() -> dict[str, str]:
    rows = [ROW.match(line) for line in SPEC.read_text(encoding="utf-8").splitlines()]
    return {m.group(1): m.group(2).replace("\\|", "|") for m in rows if m}


def test_spec_lists_exactly_the_codes_in_diagnostics_py() -> None:
    table = spec_table()
    assert set(table) == set(CODES), (
        f"missing from spec/diagnostics.md: {sorted(set(CODES) - set(table))}; "
        f"not in CODES: {sorted(set(table) - set(CODES))}"
    )


def test_spec_summaries_match_the_code() -> None:
    assert spec_table() == CODES
