"""`kcheck run`'s event table on the terminal: long names fold inside their column at any
width, and a log keeps one whole line per event."""

from __future__ import annotations

import io

from kcheck.run.console import EventPrinter, event_widths
from kcheck.run.events import Event

LONG = Event(
    time=1.25,
    step=3,
    type="Warning",
    reason="ScaleUpWhenBelowTargetReplicas",
    source="replicaset_controller_with_a_long_name",
    object="ReplicaSet#0",
    message="created Pod#1 [bold]with a message long enough to wrap[/bold] at any width",
)


def column(lines: list[str], start: int, width: int) -> str:
    return "".join(line[start : start + width].strip() for line in lines)


def test_a_long_name_folds_inside_its_column_at_a_narrow_width() -> None:
    for width in (60, 80, 120):
        out = io.StringIO()
        EventPrinter(out, colour=False, width=width)(LONG)
        head, *rows = out.getvalue().rstrip("\n").split("\n")
        assert all(len(line) <= width for line in (head, *rows)), width
        widths = event_widths(width)
        starts = [sum(widths[:i]) + 2 * i for i in range(len(widths))]
        assert head[starts[2] :].startswith("REASON")
        # each name whole, read down its own column: nothing cut, nothing spilled into the next
        assert column(rows, starts[2], widths[2]) == LONG.reason
        assert column(rows, starts[3], widths[3]) == LONG.source
        assert column(rows, starts[4], widths[4]) == LONG.object
        # the message as text (not rich markup), its words wrapped in its column
        assert " ".join(r[starts[5] :].strip() for r in rows).split() == LONG.message.split()


def test_the_usual_names_keep_their_usual_columns_on_a_wide_terminal() -> None:
    assert event_widths(120)[:5] == (9, 7, 18, 16, 14)
    assert all(w >= 6 for w in event_widths(40))


def test_a_log_keeps_one_whole_line_per_event() -> None:
    out = io.StringIO()  # not a terminal, no width asked: as in a CI log
    EventPrinter(out, colour=False)(LONG)
    head, row = out.getvalue().rstrip("\n").split("\n")
    assert head.split() == ["TIME", "TYPE", "REASON", "FROM", "OBJECT", "MESSAGE"]
    assert row == LONG.line()
