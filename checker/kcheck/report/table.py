"""The one table style of kcheck's terminal output (`verify`'s and `run`'s verdicts, `ci`'s
summary): rich, no borders, a rule under the header. The rule is box-drawing only in colour on
a terminal; anywhere else (a CI log, a pipe, a file, NO_COLOR) it is plain ASCII, so no log
shows broken characters."""

from __future__ import annotations

from io import StringIO

from rich import box
from rich.console import Console
from rich.table import Table

# rich's SIMPLE_HEAD with an ASCII rule under the header
ASCII_HEAD = box.Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True)


def new_table() -> Table:
    """An empty table in kcheck's style; add its columns and rows, then `render` it."""
    return Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1))


def render(table: Table, terminal: bool, width: int = 160) -> str:
    """The table as text: colours and the box-drawing rule on a terminal, plain ASCII otherwise.
    Trailing spaces are dropped from each line."""
    table.box = box.SIMPLE_HEAD if terminal else ASCII_HEAD
    out = StringIO()
    console = Console(
        file=out,
        width=width,
        force_terminal=terminal,
        no_color=not terminal,
        color_system="standard" if terminal else None,
        highlight=False,
    )
    console.print(table)
    return "\n".join(line.rstrip() for line in out.getvalue().rstrip("\n").split("\n"))
