"""What every command shares: the exit codes, when to colour (NO_COLOR, FORCE_COLOR), the
one-line error and the diagnostics it prints, the guard that turns a crash into an internal
error, loading a model with -D overrides, the progress line, and the option checks several
commands make. Only the command line prints and
picks exit codes: 0 every checked property holds, 1 a violation, 2 bad input or usage, 3
inconclusive, 70 an internal error."""

from __future__ import annotations

import math
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn, TypeVar

import click

if TYPE_CHECKING:  # rich is imported when a progress line is drawn: it costs start-up time
    from rich.console import Console
    from rich.live import Live

from kcheck.lang.diagnostics import KcheckError, Source, render_all
from kcheck.result import HOLDS, INCONCLUSIVE, VIOLATED, Stats

EXIT_HOLDS, EXIT_VIOLATED, EXIT_USAGE, EXIT_INCONCLUSIVE, EXIT_INTERNAL = 0, 1, 2, 3, 70
EXIT_FOR = {HOLDS: EXIT_HOLDS, VIOLATED: EXIT_VIOLATED, INCONCLUSIVE: EXIT_INCONCLUSIVE}

F = TypeVar("F", bound=Callable[..., Any])


def use_colour(stream: IO[str]) -> bool:
    """Whether to colour what goes to `stream`, by the NO_COLOR (no-color.org) and FORCE_COLOR
    (force-color.org) conventions: never when NO_COLOR is set to anything, always when
    FORCE_COLOR is (but to 0 or false), else only on a terminal. Every command asks this, for
    its reports and its diagnostics alike."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR", "").strip().lower() not in ("", "0", "false"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    # a message can quote a path or a name from the user: no raw escape sequences
    text = "\n".join(shown(line) for line in message.split("\n"))
    colour = use_colour(sys.stderr)
    error = click.style("error:", fg="red", bold=True) if colour else "error:"
    click.echo(f"kcheck: {error} {text}", err=True, color=colour)
    sys.exit(code)


def print_diagnostics(err: KcheckError, source: Source | None, path: str) -> None:
    src = source or Source(path, "")
    colour = use_colour(sys.stderr)
    click.echo(render_all(err.diagnostics, src, colour), err=True, color=colour)


def guard(fn: F) -> F:
    """Turn every unexpected exception into a one-line internal error (no traceback unless
    KCHECK_DEBUG is set): a crash is a kcheck bug, and the user should be told so plainly."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (SystemExit, click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("kcheck: interrupted", err=True)
            sys.exit(130)
        except MemoryError:
            fail(
                "kcheck ran out of memory before it had a result (inconclusive); lower "
                "--max-memory, or make the model smaller",
                EXIT_INCONCLUSIVE,
            )
        except RecursionError:
            fail("the model is nested too deeply for kcheck to process", EXIT_USAGE)
        except Exception as exc:
            if os.environ.get("KCHECK_DEBUG"):
                raise
            fail(
                f"internal error: {type(exc).__name__}: {exc}\n"
                "This is a bug in kcheck; rerun with KCHECK_DEBUG=1 for a traceback and report it.",
                EXIT_INTERNAL,
            )

    return wrapper  # type: ignore[return-value]


def parse_defines(defines: Sequence[str]) -> dict[str, int | str]:
    out: dict[str, int | str] = {}
    for d in defines:
        name, sep, value = d.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name.isidentifier() or not value:
            raise click.BadParameter(
                f"{d!r}: expected NAME=VALUE, e.g. -D MAX_PODS=6", param_hint="-D"
            )
        # ASCII digits only: str.isdigit() also takes `²` (which int() refuses) and `١`
        if re.fullmatch(r"-?[0-9]+", value) and len(value) <= 4000:
            out[name] = int(value)
        elif value in ("true", "false"):
            out[name] = value == "true"  # a bool: an integer param refuses it (symbols.py)
        elif value.isidentifier() and value.isascii():
            out[name] = value  # an enum member, resolved against the param's enum
        else:
            raise click.BadParameter(
                f"{d!r}: VALUE must be an integer, true/false or an enum member", param_hint="-D"
            )
    return out


def load_model(path: str, defines: Sequence[str], manifests: Sequence[str] = ()) -> Any:
    """The checked model at `path` with the `-D` overrides and the values its `manifest` section
    reads from `manifests` (spec/manifests.md); every error is printed and exits 2."""
    from kcheck.lang.frontend import load

    overrides = parse_defines(defines)
    rewrite = None
    try:
        if manifests:
            from kcheck.lang.manifest.fill import ManifestError, fill_from_files

            try:
                overrides, rewrite, shown = fill_from_files(path, manifests, overrides)
            except ManifestError as bad:
                click.echo(bad.render(), err=True)
                sys.exit(EXIT_USAGE)
            click.echo(shown, err=True)
        model = load(path, overrides, rewrite)
    except KcheckError as err:
        from kcheck.lang.parser import read_source

        try:
            source: Source | None = read_source(path)
        except KcheckError:
            source = None
        print_diagnostics(err, source, path)
        sys.exit(EXIT_USAGE)
    if model.warnings:
        print_diagnostics(KcheckError(model.warnings), model.source, path)
    return model


class Progress:
    """One status line on stderr while a search runs: on a terminal a rich line redrawn in place
    (cut to the terminal's width) and removed at the end; off a terminal (a CI log) a plain line
    a minute, so that a long search is quiet in the log yet never looks hung."""

    LOG_EVERY = 60.0  # seconds between lines off a terminal

    def __init__(self, enabled: bool, console: Console | None = None) -> None:
        self.enabled = enabled
        self.console = console  # None: a console on stderr, made with the first redrawn line
        # what isatty() says, not rich's guess: FORCE_COLOR in a CI job colours the log but must
        # not fill it with redrawn frames
        self.tty = console.is_terminal if console else sys.stderr.isatty()
        self.live: Live | None = None
        self.last_print = time.monotonic()
        self.last_states = 0
        self.last_time = time.monotonic()

    def __call__(self, s: Stats) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not self.tty and now - self.last_print < self.LOG_EVERY:
            return
        if s.states < self.last_states or self.last_states == 0:
            # the first figures of a search (a quantified property gets a search of its own):
            # the rate so far is over the search's own time, not since this object was made
            self.last_states, self.last_time = 0, now - s.seconds
        rate = max(0.0, (s.states - self.last_states) / max(now - self.last_time, 1e-9))
        self.last_states, self.last_time, self.last_print = s.states, now, now
        line = (
            f"{s.states:>11,} states  depth {s.depth:>3}  {rate:>9,.0f} states/s"
            f"  queue {s.queue:>9,}  {s.seconds:>5.1f} s"  # fits 80 columns
        )
        if not self.tty:
            click.echo(line, err=True)
            return
        from rich.console import Console
        from rich.live import Live
        from rich.text import Text

        text = Text(line, no_wrap=True, overflow="ellipsis")
        if self.live is None:
            console = self.console or Console(stderr=True, highlight=False)
            self.live = Live(text, console=console, transient=True, auto_refresh=False)
            self.live.start()
        self.live.update(text, refresh=True)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


def finite(param: click.Parameter, value: float | None) -> float | None:
    """Refuse nan and inf, which FloatRange lets through (nan compares false to every bound)."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value}: give a finite number of seconds", param=param)
    return value


def shown(text: str) -> str:
    """A path or name as it may safely reach a terminal: control characters escaped."""
    from kcheck.lang.diagnostics import printable

    return printable(text)


def expand_dirs(paths: tuple[str, ...]) -> list[str]:
    """Each directory replaced by the .kdsl files under it, in sorted order; a file named twice
    (or also found under a directory named) is kept once, where it first appears."""
    out: list[str] = []
    for path in paths:
        if not Path(path).is_dir():
            out.append(path)
            continue
        found = sorted(str(p) for p in Path(path).rglob("*.kdsl"))
        if not found:
            fail(f"no .kdsl files under {path}")
        out.extend(found)
    seen: set[Path] = set()
    unique = []
    for path in out:
        key = Path(path).resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique
