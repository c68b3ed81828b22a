"""The command line: thin glue over the passes. Only this module prints and picks exit codes:
0 every checked property holds, 1 a violation, 2 bad input or usage, 3 inconclusive."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from kcheck import __version__
from kcheck.explore.budget import Budget
from kcheck.lang.diagnostics import KcheckError, Source, render_all, suggest
from kcheck.result import HOLDS, INCONCLUSIVE, VIOLATED, Stats

EXIT_HOLDS, EXIT_VIOLATED, EXIT_USAGE, EXIT_INCONCLUSIVE, EXIT_INTERNAL = 0, 1, 2, 3, 70
EXIT_FOR = {HOLDS: EXIT_HOLDS, VIOLATED: EXIT_VIOLATED, INCONCLUSIVE: EXIT_INCONCLUSIVE}

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    # a message can quote a path or a name from the user: no raw escape sequences
    shown = "\n".join(_shown(line) for line in message.split("\n"))
    click.echo(f"kcheck: error: {shown}", err=True)
    sys.exit(code)


def _print_diagnostics(err: KcheckError, source: Source | None, path: str) -> None:
    src = source or Source(path, "")
    click.echo(render_all(err.diagnostics, src), err=True)


def _guard(fn: F) -> F:
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
            _fail(
                "kcheck ran out of memory before it had a result (inconclusive); lower "
                "--max-memory, or make the model smaller",
                EXIT_INCONCLUSIVE,
            )
        except RecursionError:
            _fail("the model is nested too deeply for kcheck to process", EXIT_USAGE)
        except Exception as exc:
            if os.environ.get("KCHECK_DEBUG"):
                raise
            _fail(
                f"internal error: {type(exc).__name__}: {exc}\n"
                "This is a bug in kcheck; rerun with KCHECK_DEBUG=1 for a traceback and report it.",
                EXIT_INTERNAL,
            )

    return wrapper  # type: ignore[return-value]


def _parse_defines(defines: Sequence[str]) -> dict[str, int | str]:
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


def _load(path: str, defines: Sequence[str], manifests: Sequence[str] = ()) -> Any:
    from kcheck.lang.frontend import load

    overrides = _parse_defines(defines)
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
        _print_diagnostics(err, source, path)
        sys.exit(EXIT_USAGE)
    if model.warnings:
        _print_diagnostics(KcheckError(model.warnings), model.source, path)
    return model


class _Progress:
    """One status line on stderr: redrawn in place on a terminal, every 10 s otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.last_print = time.monotonic()
        self.last_states = 0
        self.last_time = time.monotonic()
        self.drawn = False

    def __call__(self, s: Stats) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not self.tty and now - self.last_print < 10:
            return
        if s.states < self.last_states:  # a new search (a quantified property's own) began
            self.last_states, self.last_time = 0, now - s.seconds
        rate = max(0.0, (s.states - self.last_states) / max(now - self.last_time, 1e-9))
        self.last_states, self.last_time, self.last_print = s.states, now, now
        line = (
            f"  {s.states:>12,} states  depth {s.depth:>4}  {rate:>10,.0f} states/s"
            f"  queue {s.queue:>10,}  {s.seconds:>6.1f} s"
        )
        if self.tty:
            click.echo("\r" + line, err=True, nl=False)
            self.drawn = True
        else:
            click.echo(line, err=True)

    def close(self) -> None:
        if self.drawn:
            click.echo("\r" + " " * 100 + "\r", err=True, nl=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kcheck")
def main() -> None:
    """kcheck: model checking for Kubernetes-style systems.

    Write a model in KDSL (`kcheck docs language` prints the language reference), then
    `kcheck verify model.kdsl`. `kcheck docs` lists every page of the reference.
    Exit codes: 0 holds, 1 violated, 2 bad input or usage, 3 inconclusive.
    """


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option(
    "-D", "defines", multiple=True, metavar="NAME=VALUE", help="Override a const or param."
)
@click.option(
    "--manifest", "manifests", multiple=True, type=click.Path(dir_okay=False),
    help="Fill consts, params and initial objects from Kubernetes YAML, through the model's "
    "`manifest` section (kcheck docs manifests).",
)  # fmt: skip
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
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "itf"]),
    default="text",
    show_default=True,
    help="itf: the counterexamples in the Informal Trace Format (kcheck docs json).",
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
    "of 1000000 states, then induction and bmc for the invariants left open (kcheck docs smt).",
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
    callback=lambda ctx, param, value: _finite(param, value),
    help="Stop (inconclusive) after this many seconds: the whole command, every search included.",
)
@click.option(
    "--max-memory",
    metavar="SIZE",
    help="Stop (inconclusive) when kcheck uses more memory than this: 512M, 4G, or MB. "
    "[default: 3/4 of the machine's memory; `none` for no limit]",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress line on stderr.")
@_guard
def verify(max_memory: str | None, **options: Any) -> None:
    """Check the invariants and temporal properties of MODEL by exhaustive search."""
    budget = Budget.start(options["timeout"], _memory_limit(max_memory))
    with _stop_on_signals(budget):
        _verify(**options, budget=budget)


def _verify(
    model: str,
    defines: tuple[str, ...],
    manifests: tuple[str, ...],
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
            _check_picture_name(flag, path)
    check_outputs(
        model,
        {"--output": output, "--graph": graph_path, "--swimlane": swimlane_path,
         "--junit": junit_path, "--sarif": sarif_path, "--markdown": markdown_path,
         "--report": report_path},
    )  # fmt: skip
    symmetry = not no_symmetry
    try:
        budget.armed = True
        checked = _load(model, defines, manifests)
        compiled = compile_model(checked.symbols, symmetry=symmetry)
    except Stopped as stop:
        _fail(f"stopped at {stop.reason} before the search began; nothing was checked", 3)
    finally:
        budget.armed = False
    names = [inv.name for inv in compiled.invariants]
    for name in invariants:
        if name not in names:
            hint = suggest(name, names)
            _fail(
                f"--invariant {name}: the model has no invariant `{name}`"
                + (f"; {hint}" if hint else "")
            )
    prop_names = [p.name for p in compiled.properties]
    for name in properties:
        if name not in prop_names:
            hint = suggest(name, prop_names)
            _fail(
                f"--property {name}: the model has no property `{name}`"
                + (f"; {hint}" if hint else "")
            )
    # Naming some properties of one sort checks only those; naming none of a sort checks
    # none of it when the other sort was named, and all of it otherwise.
    chosen_invariants = list(invariants) if invariants or properties else None
    chosen_properties = list(properties) if invariants or properties else None
    options = EngineOptions(engine, Limits(max_states, max_depth, timeout, budget), symmetry,
                            depth, max_k, symbolic_params)  # fmt: skip
    progress = _Progress(enabled=not quiet and engine in ("explicit", "auto"))
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
    elif fmt == "itf":
        from kcheck.report.itf import itf_document

        text = json.dumps(itf_document(result, model), indent=2)
    else:
        from kcheck.report.text import format_result

        colour = output is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        from kcheck.report.dot import actor_kinds_of

        kinds = actor_kinds_of(compiled)
        text = format_result(result, model, symmetry, colour, view, kinds)
    if output:
        _write(output, text + "\n")
        click.echo(f"{result.verdict}: report written to {_shown(output)}", err=True)
    else:
        click.echo(text)
    _write_reports(
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
        _fail(f"stopped at {err.reason} before Z3 decided anything (inconclusive)", 3)
    if isinstance(err, EngineFailure):
        _fail(f"internal error: {err}", EXIT_INTERNAL)
    _fail(str(err))


def _finite(param: click.Parameter, value: float | None) -> float | None:
    """Refuse nan and inf, which FloatRange lets through (nan compares false to every bound)."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value}: give a finite number of seconds", param=param)
    return value


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


def check_outputs(model: str | None, paths: dict[str, str | None]) -> None:
    """Refuse, before any work, an output path that cannot be written or that would overwrite
    the model itself or another output: a search must never be wasted, nor a model lost, on a
    report path."""
    seen: dict[str, str] = {}
    model_path = Path(model).resolve() if model else None
    for flag, path in paths.items():
        if not path or path == "-":
            continue
        target = Path(path)
        resolved = target.resolve()
        if model_path is not None and (
            resolved == model_path or (target.exists() and _same_file(target, model_path))
        ):
            _fail(f"{flag} {_shown(path)}: that is the model file; it would be overwritten")
        if str(resolved) in seen:
            _fail(f"{flag} {_shown(path)}: {seen[str(resolved)]} writes the same file")
        seen[str(resolved)] = flag
        if target.is_dir():
            _fail(f"{flag} {_shown(path)}: is a directory")
        folder = resolved.parent
        if not folder.is_dir():
            _fail(f"{flag} {_shown(path)}: the folder {_shown(str(folder))} does not exist")
        if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
            _fail(f"{flag} {_shown(path)}: permission denied")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _shown(text: str) -> str:
    """A path or name as it may safely reach a terminal: control characters escaped."""
    from kcheck.lang.diagnostics import printable

    return printable(text)


def _check_picture_name(flag: str, path: str) -> None:
    from kcheck.report import dot

    if Path(path).suffix.lower().lstrip(".") not in dot.FORMATS:
        names = ", ".join(f".{f}" for f in dot.FORMATS)
        _fail(f"{flag} {path}: the file name must end in one of {names}")


def _write(path: str, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as err:
        _fail(f"cannot write {path}: {err.strerror or err}")


def _write_reports(
    model_path: str,
    compiled: Any,
    result: Any,
    graph_path: str | None,
    swimlane_path: str | None,
    junit_path: str | None,
    sarif_path: str | None,
    markdown_path: str | None,
    report_path: str | None,
) -> None:
    """The report files asked for with --graph, --swimlane, --junit, --sarif, --markdown and
    --report."""
    from kcheck.report import dot
    from kcheck.report.junit import to_junit
    from kcheck.report.markdown import to_markdown
    from kcheck.report.sarif import to_sarif

    traced = [p for p in result.properties if p.trace is not None]
    kinds = dot.actor_kinds_of(compiled)
    for path, draw in ((graph_path, dot.trace_graph), (swimlane_path, dot.swimlane)):
        if not path:
            continue
        for p in traced:
            target = path if len(traced) == 1 else dot.path_for(path, p.name)
            try:
                dot.render(draw(p, kinds), target)
            except dot.ReportError as err:
                _fail(err.message)
            click.echo(f"drew {p.name} in {target}", err=True)
        if not traced:
            click.echo(f"{path}: no counterexample to draw", err=True)
    both = [(model_path, result)]
    if junit_path:
        _write(junit_path, to_junit(both))
    if sarif_path:
        sarif = to_sarif(both, __version__)
        _write(sarif_path, json.dumps(sarif, indent=2, ensure_ascii=False) + "\n")
    if markdown_path:
        _write(markdown_path, to_markdown(both))
    if report_path:
        from kcheck.report.html import to_html

        _write(report_path, to_html(model_path, compiled, result, __version__))
        click.echo(f"{result.verdict}: HTML report written to {report_path}", err=True)


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option(
    "-D", "defines", multiple=True, metavar="NAME=VALUE", help="Override a const or param."
)
@click.option(
    "--output", "-o", required=True, type=click.Path(dir_okay=False), help="Where to draw it."
)
@click.option(
    "--max-states",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Refuse to draw more states than this.",
)
@click.option("--no-symmetry", is_flag=True, help="Draw every slot permutation separately.")
@_guard
def graph(
    model: str, defines: tuple[str, ...], output: str, max_states: int, no_symmetry: bool
) -> None:
    """Draw the reachable state space of a small MODEL (.dot, .svg, .png or .pdf)."""
    from kcheck.model.compile import compile_model
    from kcheck.report import dot

    _check_picture_name("--output", output)
    check_outputs(model, {"--output": output})
    checked = _load(model, defines)
    compiled = compile_model(checked.symbols, symmetry=not no_symmetry)
    try:
        dot.render(dot.state_space_graph(compiled, max_states, not no_symmetry), output)
    except dot.ReportError as err:
        _fail(err.message)
    click.echo(f"drew the state space of {compiled.name} in {output}", err=True)


@main.command()
@click.argument("models", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "-D", "defines", multiple=True, metavar="NAME=VALUE", help="Override a const or param."
)
@_guard
def check(models: tuple[str, ...], defines: tuple[str, ...]) -> None:
    """Parse and type-check MODELS without exploring them."""
    failed = False
    for path in models:
        try:
            _load(path, defines)
        except SystemExit:
            failed = True
            continue
        click.echo(f"{_shown(path)}: ok")
    sys.exit(EXIT_USAGE if failed else 0)


def _expand_dirs(paths: tuple[str, ...]) -> list[str]:
    """Each directory replaced by the .kdsl files under it, in sorted order."""
    out: list[str] = []
    for path in paths:
        if not Path(path).is_dir():
            out.append(path)
            continue
        found = sorted(str(p) for p in Path(path).rglob("*.kdsl"))
        if not found:
            click.echo(f"kcheck: error: no .kdsl files under {path}", err=True)
            sys.exit(EXIT_USAGE)
        out.extend(found)
    return out


@main.command()
@click.argument("models", nargs=-1, required=True, type=click.Path())
@click.option(
    "--check", "check_only", is_flag=True, help="Exit 1 if a file is not formatted; change nothing."
)
@_guard
def fmt(models: tuple[str, ...], check_only: bool) -> None:
    """Rewrite MODELS in canonical layout, keeping their comments. A directory stands for every
    .kdsl file under it."""
    from kcheck.lang.fmt import format_program
    from kcheck.lang.parser import parse, read_source

    unformatted: list[str] = []
    for path in _expand_dirs(models):
        try:
            source = read_source(path)
            program = parse(source)
        except KcheckError as err:
            try:
                src: Source | None = read_source(path)
            except KcheckError:
                src = None
            _print_diagnostics(err, src, path)
            sys.exit(EXIT_USAGE)
        text = format_program(program, source.text)
        if text == source.text:
            continue
        if check_only:
            unformatted.append(path)
            click.echo(f"{path}: not formatted", err=True)
        else:
            Path(path).write_text(text, encoding="utf-8")
            click.echo(f"{path}: formatted")
    if unformatted:
        sys.exit(1)


@main.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="The kcheck.toml or pyproject.toml to read (default: look in the current directory).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Write the reports here instead of the configured `out` (default reports/).",
)
@click.option("--no-cache", is_flag=True, help="Check every model again, ignoring the cache.")
@click.option("--quiet", "-q", is_flag=True, help="No progress line on stderr.")
@_guard
def ci(config_path: str | None, out_dir: str | None, no_cache: bool, quiet: bool) -> None:
    """Check every configured model against its expected verdicts (kcheck docs ci).

    Exit codes: 0 all as expected, 1 an unexpected verdict, 2 a configuration error or a
    model that does not load.
    """
    from kcheck.ci.command import run_ci

    sys.exit(run_ci(config_path, out_dir, no_cache, click.echo, quiet))


@main.command()
@click.argument("topic", required=False)
def docs(topic: str | None) -> None:
    """Print a page of kcheck's reference (Markdown); without TOPIC, list the pages.

    e.g. `kcheck docs language`, `kcheck docs json`, `kcheck docs ci | less`.
    """
    from kcheck.manual import UnknownTopic, render

    try:
        click.echo(render(topic))
    except UnknownTopic as err:
        _fail(str(err))


@main.command()
@_guard
def lsp() -> None:
    """Serve KDSL to an editor: the language server protocol on stdin/stdout (docs/editors.md)."""
    try:
        from kcheck.lsp.server import serve
    except ImportError as err:
        _fail(f"the language server needs pygls ({err}): pip install 'kcheck[lsp]'")
    serve()


def _add_run_commands() -> None:
    from kcheck.run.cli import image, run

    main.add_command(run)
    main.add_command(image)


_add_run_commands()
