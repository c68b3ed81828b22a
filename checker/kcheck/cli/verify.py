"""`kcheck verify`: check a model's invariants and temporal properties with the engine asked for
(kcheck.engines.dispatch), within one budget for the whole command (--timeout, --max-memory,
SIGINT/SIGTERM), then print the report and write the report files."""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any, NoReturn

import click

from kcheck.cli.common import (
    EXIT_FOR,
    EXIT_INTERNAL,
    Progress,
    fail,
    finite,
    guard,
    load_model,
    shown,
)
from kcheck.cli.outputs import check_outputs, check_picture_name, write_file, write_reports
from kcheck.explore.budget import Budget
from kcheck.lang.diagnostics import suggest


@click.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option(
    "-D", "defines", multiple=True, metavar="NAME=VALUE", help="Override a const or param."
)
@click.option(
    "--invariant",
    "invariants",
    multiple=True,
    metavar="NAME",
    help="Check only this invariant (repeatable).",
)
@click.option(
    "--property",
    "properties",
    multiple=True,
    metavar="NAME",
    help="Check only this temporal property (repeatable).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the report here instead of stdout.",
)
@click.option(
    "--view",
    type=click.Choice(["trace", "events"]),
    default="trace",
    show_default=True,
    help="Show counterexamples step by step, or as events in the style of kubectl describe.",
)
@click.option(
    "--graph",
    "graph_path",
    type=click.Path(dir_okay=False),
    help="Draw each counterexample as a chain of states (.dot, .svg, .png or .pdf).",
)
@click.option(
    "--swimlane",
    "swimlane_path",
    type=click.Path(dir_okay=False),
    help="Draw each counterexample with one lane per actor (.dot, .svg, .png or .pdf).",
)
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False), help="Write JUnit XML.")
@click.option("--sarif", "sarif_path", type=click.Path(dir_okay=False), help="Write SARIF 2.1.0.")
@click.option(
    "--markdown", "markdown_path", type=click.Path(dir_okay=False), help="Write a Markdown summary."
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False),
    help="Write a self-contained HTML report (pictures embedded).",
)
@click.option(
    "--engine",
    type=click.Choice(["auto", "explicit", "bmc", "induction"]),
    default="auto",
    show_default=True,
    help="explicit: exhaustive search; bmc: Z3 bounded model checking of invariants; "
    "induction: Z3 k-induction proofs of invariants; auto: explicit search within a budget "
    "of 1000000 states, then induction and bmc for the invariants left open (spec/smt.md).",
)
@click.option(
    "--depth",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="With --engine bmc: how many steps to unroll.",
)
@click.option(
    "--max-k",
    type=click.IntRange(min=1),
    default=6,
    show_default=True,
    help="With --engine induction: the largest k to try.",
)
@click.option(
    "--symbolic-params",
    is_flag=True,
    help="With --engine bmc or induction: keep every param symbolic over its range.",
)
@click.option("--no-symmetry", is_flag=True, help="Explore every slot permutation separately.")
@click.option(
    "--max-states",
    type=click.IntRange(min=1),
    help="Stop (inconclusive) after this many distinct states.",
)
@click.option(
    "--max-depth", type=click.IntRange(min=0), help="Explore behaviours of at most this many steps."
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    callback=lambda ctx, param, value: finite(param, value),
    help="Stop (inconclusive) after this many seconds: the whole command, every search included.",
)
@click.option(
    "--max-memory",
    metavar="SIZE",
    help="Stop (inconclusive) when kcheck uses more memory than this: 512M, 4G, or MB. "
    "[default: 3/4 of the machine's memory; `none` for no limit]",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress line on stderr.")
@guard
def verify(max_memory: str | None, **options: Any) -> None:
    """Check the invariants and temporal properties of MODEL by exhaustive search."""
    budget = Budget.start(options["timeout"], _memory_limit(max_memory))
    with _stop_on_signals(budget):
        _verify(**options, budget=budget)


def _verify(
    model: str,
    defines: tuple[str, ...],
    invariants: tuple[str, ...],
    properties: tuple[str, ...],
    fmt: str,
    output: str | None,
    view: str,
    graph_path: str | None,
    swimlane_path: str | None,
    junit_path: str | None,
    sarif_path: str | None,
    markdown_path: str | None,
    report_path: str | None,
    engine: str,
    depth: int,
    max_k: int,
    symbolic_params: bool,
    no_symmetry: bool,
    max_states: int | None,
    max_depth: int | None,
    timeout: float | None,
    quiet: bool,
    budget: Budget,
) -> None:
    from kcheck.engines.dispatch import EngineFailure, EngineOptions, Refused, Stopped, check
    from kcheck.explore.bfs import Limits
    from kcheck.model.compile import compile_model

    for flag, path in (("--graph", graph_path), ("--swimlane", swimlane_path)):
        if path:
            check_picture_name(flag, path)
    check_outputs(
        model,
        {"--output": output, "--graph": graph_path, "--swimlane": swimlane_path,
         "--junit": junit_path, "--sarif": sarif_path, "--markdown": markdown_path,
         "--report": report_path},
    )  # fmt: skip
    symmetry = not no_symmetry
    try:
        budget.armed = True
        checked = load_model(model, defines)
        compiled = compile_model(checked.symbols, symmetry=symmetry)
    except Stopped as stop:
        fail(f"stopped at {stop.reason} before the search began; nothing was checked", 3)
    finally:
        budget.armed = False
    names = [inv.name for inv in compiled.invariants]
    for name in invariants:
        if name not in names:
            hint = suggest(name, names)
            fail(
                f"--invariant {name}: the model has no invariant `{name}`"
                + (f"; {hint}" if hint else "")
            )
    prop_names = [p.name for p in compiled.properties]
    for name in properties:
        if name not in prop_names:
            hint = suggest(name, prop_names)
            fail(
                f"--property {name}: the model has no property `{name}`"
                + (f"; {hint}" if hint else "")
            )
    # Naming some properties of one sort checks only those; naming none of a sort checks
    # none of it when the other sort was named, and all of it otherwise.
    chosen_invariants = list(invariants) if invariants or properties else None
    chosen_properties = list(properties) if invariants or properties else None
    options = EngineOptions(engine, Limits(max_states, max_depth, timeout, budget), symmetry,
                            depth, max_k, symbolic_params)  # fmt: skip
    progress = Progress(enabled=not quiet and engine in ("explicit", "auto"))
    try:
        result = check(compiled, checked.symbols, chosen_invariants, chosen_properties, options,
                       progress)  # fmt: skip
    except (Refused, EngineFailure, Stopped) as err:
        progress.close()
        _engine_error(err)
    progress.close()
    if not compiled.actions:
        from kcheck.lang.frontend import NO_ACTIONS

        result.notes.append(NO_ACTIONS)
    if fmt == "json":
        text = json.dumps(result.to_json(), indent=2)
    else:
        from kcheck.report.text import format_result

        colour = output is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        from kcheck.report.dot import actor_kinds_of

        kinds = actor_kinds_of(compiled)
        text = format_result(result, model, symmetry, colour, view, kinds)
    if output:
        write_file(output, text + "\n")
        click.echo(f"{result.verdict}: report written to {shown(output)}", err=True)
    else:
        click.echo(text)
    write_reports(
        model,
        compiled,
        result,
        graph_path,
        swimlane_path,
        junit_path,
        sarif_path,
        markdown_path,
        report_path,
    )
    sys.exit(EXIT_FOR[result.verdict])


def _engine_error(err: BaseException) -> NoReturn:
    from kcheck.engines.dispatch import EngineFailure, Stopped

    if isinstance(err, Stopped):
        fail(f"stopped at {err.reason} before Z3 decided anything (inconclusive)", 3)
    if isinstance(err, EngineFailure):
        fail(f"internal error: {err}", EXIT_INTERNAL)
    fail(str(err))


_UNITS = {"": 2**20, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def _memory_limit(text: str | None) -> int | None:
    """--max-memory as bytes: None for `none`, the default share of the machine when unset."""
    from kcheck.explore.budget import default_max_memory

    if text is None:
        return default_max_memory()
    t = text.strip().lower().removesuffix("b").removesuffix("i")
    if t in ("none", "no", "off", "unlimited"):
        return None
    unit = t[-1:] if t[-1:] in _UNITS else ""
    number = t[: len(t) - len(unit)]
    try:
        value = float(number) if number.isascii() else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise click.BadParameter(
            f"{text!r}: give a size such as 512M or 4G (a plain number is MB), or `none`",
            param_hint="--max-memory",
        )
    return max(1, int(value * _UNITS[unit]))


@contextlib.contextmanager
def _stop_on_signals(budget: Budget) -> Iterator[None]:
    """SIGINT and SIGTERM, and the deadline (SIGALRM), stop the search as a limit does: what it
    found is kept and reported. A second SIGINT or SIGTERM once the search has stopped ends kcheck
    at once (exit 130)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(signum: int, frame: object) -> None:
        if budget.reason is not None and not budget.armed:
            raise KeyboardInterrupt
        budget.request(signal.Signals(signum).name)

    def on_alarm(signum: int, frame: object) -> None:
        budget.request(budget.timeout_label())

    old: dict[signal.Signals, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        # a signal ignored when kcheck started (a background job's SIGINT) stays ignored
        if signal.getsignal(sig) != signal.SIG_IGN:
            old[sig] = signal.signal(sig, on_signal)
    alarm = budget.deadline is not None and hasattr(signal, "setitimer")
    if alarm:
        old[signal.SIGALRM] = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, budget.remaining(0.0))
    try:
        yield
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, handler in old.items():
            signal.signal(signum, handler)
