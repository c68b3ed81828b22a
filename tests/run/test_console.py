"""`kcheck run`'s event table on the terminal: long names fold inside their column at any
width, and a log keeps one whole line per event."""

from __future__ import annotations

import io

from kcheck.run.console import EventPrinter, StatusLine, event_widths
from kcheck.run.events import Event
from kcheck.run.interpreter import Counters

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
        # the message as text (not rich markup), wrapped in its column (a word longer than the
        # column folds, so compare without the spaces)
        message = "".join(r[starts[5] :] for r in rows)
        assert "".join(message.split()) == "".join(LONG.message.split())


def test_the_usual_names_keep_their_usual_columns_on_a_wide_terminal() -> None:
    assert event_widths(120)[:5] == (9, 7, 18, 16, 14)
    assert all(w >= 8 for w in event_widths(40)[2:5])
    assert event_widths(64)[5] >= 10  # the message keeps room to wrap in


def test_a_log_keeps_one_whole_line_per_event() -> None:
    out = io.StringIO()  # not a terminal, no width asked: as in a CI log
    EventPrinter(out, colour=False)(LONG)
    head, row = out.getvalue().rstrip("\n").split("\n")
    assert head.split() == ["TIME", "TYPE", "REASON", "FROM", "OBJECT", "MESSAGE"]
    assert row == LONG.line()


def test_an_event_is_printed_on_a_clean_line_not_after_the_status_line() -> None:
    term = io.StringIO()  # stdout and stderr on one terminal, as a user sees them
    status = StatusLine(term, tty=True, enabled=True)
    printer = EventPrinter(term, colour=False, width=100)
    printer.before = status.clear  # as kcheck run wires them
    status(Counters())
    printer(LONG)
    status(Counters())
    text = term.getvalue()
    first, second = (i for i in range(len(text)) if text.startswith("  t=", i))
    header = text.index("TIME")
    assert first < header < second
    # the status line is erased (carriage return, erase line) before the event is printed
    assert text[first:header].endswith("\r\x1b[2K" + " " * 5)
    assert "\n" not in text[first:header]
