"""What `kcheck ci` shows while it checks, on a terminal only: which run of how many, its model
and parameters, the states, depth and rate of its search so far, and the time since the start;
one rich line redrawn in place and cleared when the checks end. Off a terminal (a CI log) and
with -q it shows nothing: the summary table is the output."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from kcheck.result import Stats


class QuietProgress:
    """No progress at all: off a terminal, or with -q."""

    def __enter__(self) -> QuietProgress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def begin(self, index: int, label: str) -> None:
        """Run number `index` (from 1), of `label` (its model and parameters), starts."""

    def searched(self, stats: Stats) -> None:
        """The running search's figures so far (the explicit engine's progress callback)."""

    def interrupt(self, show: Callable[[], None]) -> None:
        """Print something (a note) without the progress line in the way."""
        show()


class LiveProgress(QuietProgress):
    """The progress line on `console`, a terminal."""

    def __init__(self, console: Console, total: int) -> None:
        self.total = total
        self.progress = Progress(
            SpinnerColumn(),
            # not markup: `[N=2]` in a label, or a name from a model, is text
            TextColumn("{task.description}", markup=False),
            TextColumn("{task.fields[search]}", markup=False),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            # stdout is the report's; a note is printed with `interrupt`, never redirected
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.task: TaskID = self.progress.add_task("", total=total, search="")

    def __enter__(self) -> LiveProgress:
        self.progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.progress.stop()

    def begin(self, index: int, label: str) -> None:
        self.progress.update(
            self.task,
            completed=index - 1,
            description=f"checking {index}/{self.total} {label}",
            search="",
            refresh=True,
        )

    def searched(self, stats: Stats) -> None:
        rate = stats.states / stats.seconds if stats.seconds > 0 else 0.0
        self.progress.update(
            self.task,
            search=(
                f"  {stats.states:,} states, depth {stats.depth}, {rate:,.0f} states/s,"
                f" {stats.seconds:.1f} s"
            ),
            refresh=True,  # called at most every 0.5 s (explore.bfs.PROGRESS_EVERY)
        )

    def interrupt(self, show: Callable[[], None]) -> None:
        self.progress.stop()
        try:
            show()
        finally:
            self.progress.start()


def progress_for(console: Console | None, quiet: bool, total: int) -> QuietProgress:
    """The progress `kcheck ci` shows: on `console` (default: stderr) when it is a terminal
    and -q was not given, else none. A terminal is what isatty() says, not rich's guess:
    FORCE_COLOR in a CI job must colour the logs, not fill them with progress frames."""
    import sys

    if quiet:
        return QuietProgress()
    if console is None:
        if not sys.stderr.isatty():
            return QuietProgress()
        console = Console(stderr=True)
    return LiveProgress(console, total) if console.is_terminal else QuietProgress()
