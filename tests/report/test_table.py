"""kcheck's one table style (report/table.py): box-drawing only on a terminal, plain ASCII in a
log, the same for verify's verdicts and ci's summary."""

from __future__ import annotations

from rich.table import Table

from kcheck.report.table import new_table, render
from kcheck.report.text import verdict_table
from kcheck.result import HOLDS, CheckResult, PropertyResult, Stats


def small_table() -> Table:
    table = new_table()
    table.add_column("property")
    table.add_column("verdict")
    table.add_row("pods_fit", "holds")
    return table


def test_a_log_gets_plain_ascii_and_a_terminal_box_drawing() -> None:
    plain = render(small_table(), terminal=False)
    assert plain.isascii() and "\x1b[" not in plain
    assert plain.split("\n")[1].strip("- ") == ""  # the rule under the header
    assert "─" in render(small_table(), terminal=True)


def test_verify_draws_its_verdicts_in_the_same_style() -> None:
    result = CheckResult(
        "m", "explicit", Stats(), [PropertyResult("pods_fit", "invariant", HOLDS, 3)], True
    )
    shown = verdict_table(result, colour=False)
    assert shown.isascii()
    assert [line.split() for line in shown.split("\n")][2] == [
        "ok",
        "invariant",
        "pods_fit",
        "holds",
    ]
