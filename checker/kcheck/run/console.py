"""What `kcheck run` shows on the terminal: the event stream, a status line (rich; redrawn in
place on a terminal, every 10 s otherwise) and the summary at the end."""

from __future__ import annotations

import time
from collections.abc import Callable
from io import StringIO
from typing import IO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from kcheck.report.text import format_trace, verdict_table
from kcheck.result import HOLDS, INCONCLUSIVE, NOT_CHECKED, VIOLATED
from kcheck.run.events import Event
from kcheck.run.interpreter import Counters, RunOutcome

_COLOUR = {HOLDS: "green", VIOLATED: "red", INCONCLUSIVE: "yellow", NOT_CHECKED: "bright_black"}
_MARK = {HOLDS: "ok", VIOLATED: "FAIL", INCONCLUSIVE: "??", NOT_CHECKED: "--"}


# the event columns after TIME and TYPE, at their usual width: REASON, FROM, OBJECT
_NAME_WIDTHS = (18, 16, 14)
_HEAD = ("TIME", "TYPE", "REASON", "FROM", "OBJECT", "MESSAGE")


def event_widths(total: int) -> tuple[int, ...]:
    """The event table's column widths on a terminal `total` columns wide: TIME and TYPE fixed,
    REASON, FROM and OBJECT at their usual widths while MESSAGE keeps 24 columns; below that
    MESSAGE (which wraps at words) keeps 16 and the names narrow in proportion, never under 8
    (a folded `Create/d` reads worse than a wrapped message); MESSAGE has the rest."""
    room = total - 9 - 7 - 2 * 5  # two spaces between the six columns
    names = list(_NAME_WIDTHS)
    if room - sum(names) < 24:
        share = room - 16
        names = [max(8, share * w // sum(_NAME_WIDTHS)) for w in _NAME_WIDTHS]
    return (9, 7, *names, max(room - sum(names), 10))


class EventPrinter:
    """Prints each event as a `kubectl describe` row, with a header before the first. On a
    terminal (or given a `width`) the rows are a table fitted to its width: a name longer than
    its column folds inside it, so the columns stay aligned. Elsewhere (a log) each event is one
    line, whole, for grep."""

    def __init__(self, out: IO[str], colour: bool, width: int | None = None) -> None:
        self.console = Console(file=out, highlight=False, no_color=not colour, soft_wrap=True)
        self.started = False
        self.before: Callable[[], None] | None = None  # e.g. StatusLine.clear
        self.widths: tuple[int, ...] | None = None
        if width is not None or out.isatty():
            self.console = Console(file=out, highlight=False, no_color=not colour, width=width)
            self.widths = event_widths(self.console.width)

    def __call__(self, event: Event) -> None:
        if self.before is not None:
            self.before()
        if self.widths is not None:
            self._row(event)
            return
        if not self.started:
            self.console.print(
                f"{'TIME':>9}  {'TYPE':<7}  {'REASON':<18}  {'FROM':<16}  {'OBJECT':<14}  MESSAGE",
                style="bold",
            )
            self.started = True
        style = "yellow" if event.type == "Warning" else None
        self.console.print(Text(event.line(), style=style or ""))

    def _row(self, event: Event) -> None:
        assert self.widths is not None
        if not self.started:
            self.console.print(self._grid(_HEAD, "bold"))
            self.started = True
        cells = (f"{event.time:8.2f}s", event.type, event.reason, event.source, event.object)
        style = "yellow" if event.type == "Warning" else ""
        self.console.print(self._grid((*cells, event.message), style))

    def _grid(self, cells: tuple[str, ...], style: str) -> Table:
        assert self.widths is not None
        grid = Table.grid(padding=(0, 2))
        for i, w in enumerate(self.widths):
            grid.add_column(width=w, justify="right" if i == 0 else "left", overflow="fold")
        # Text, not markup: a name from a model must never be read as rich's [style] syntax
        grid.add_row(*(Text(c) for c in cells), style=style)
        return grid


class StatusLine:
    """time, steps, reconciles, faults and invariant checks on stderr: on a terminal one line
    drawn with rich and redrawn in place, taken off (`clear`) before each event so the event
    stream scrolls above it; a plain line every 10 s otherwise. (Not rich's Live: the events
    are printed on stdout, outside it, and landed in the middle of its line.)"""

    def __init__(self, err: IO[str], tty: bool, enabled: bool) -> None:
        self.err, self.enabled = err, enabled
        self.console = Console(file=err) if enabled and tty else None
        self.drawn = False
        self.last = 0.0 if tty else time.monotonic()

    def __call__(self, c: Counters) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < (0.2 if self.console else 10.0):
            return
        self.last = now
        line = (
            f"  t={c.time:7.1f}s  steps {c.steps:>6}  reconciles {c.reconciles:>6}"
            f"  faults {c.faults:>3}  invariant checks {c.invariant_checks:>8}"
        )
        if self.console is not None:
            # one line, cut to the terminal's width: a wrapped line cannot be redrawn in place
            shown = Text(line, style="bold", no_wrap=True, overflow="ellipsis")
            shown.truncate(max(self.console.width - 1, 1), overflow="ellipsis")
            self.err.write("\r\x1b[2K")
            self.console.print(shown, end="")
            self.err.flush()
            self.drawn = True
        else:
            self.err.write(line + "\n")
            self.err.flush()

    def clear(self) -> None:
        """Take the status line off the terminal until the next update, so that what is printed
        on stdout now (an event) starts on a clean line, not in the middle of it."""
        if self.drawn:
            self.err.write("\r\x1b[2K")
            self.err.flush()
            self.drawn = False
            self.last = 0.0

    def close(self) -> None:
        self.clear()


def summary(outcome: RunOutcome, path: str, colour: bool) -> str:
    r, c = outcome.result, outcome.counters
    clock = "simulated " if outcome.driver in ("sim", "sim+etcd") else ""
    lines = [
        f"run {r.model} ({path}), {outcome.driver} driver, seed {outcome.seed}: {c.steps} steps"
        f" ({c.reconciles} reconciles, {c.engine_steps} observed, {c.faults} faults),"
        f" {c.invariant_checks} invariant checks, {c.time:.1f} {clock}s"
    ]
    if c.converged_after is not None:
        lines.append(f"converged {c.converged_after:.2f} {clock}s after the last fault")
    if r.limit:
        lines.append(f"stopped at {r.limit} before the run could decide")
    lines.append("")
    lines.append(verdict_table(r, colour))
    for p in r.properties:
        if p.trace is not None:
            where = f" (line {p.line})" if p.line else ""
            lines.append("")
            lines.append(f"trace for {p.kind} {p.name}{where}, {len(p.trace)} steps:")
            lines.extend(format_trace(p.trace))
            if p.reason:
                lines.append(f"  {p.reason}")
            elif p.kind == "invariant":
                lines.append(f"  the last state violates {p.name}")
    lines.append("")
    v = r.verdict
    verdict = Text(f"verdict: {v}", style=f"bold {_COLOUR[v]}")
    lines.append(_render(verdict, colour))
    return "\n".join(lines)


def _render(thing: Table | Text, colour: bool) -> str:
    out = StringIO()
    console = Console(
        file=out,
        width=160,
        force_terminal=colour,
        no_color=not colour,
        color_system="standard" if colour else None,
        highlight=False,
    )
    console.print(thing)
    return out.getvalue().rstrip("\n")
