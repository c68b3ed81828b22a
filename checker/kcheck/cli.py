"""The command line: thin glue over the passes. Only this module prints and picks exit codes:
0 every checked property holds, 1 a violation, 2 bad input or usage, 3 inconclusive."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from kcheck import __version__
from kcheck.lang.diagnostics import KcheckError, Source, render_all, suggest
from kcheck.result import HOLDS, INCONCLUSIVE, VIOLATED, Asked, Stats

EXIT_HOLDS, EXIT_VIOLATED, EXIT_USAGE, EXIT_INCONCLUSIVE, EXIT_INTERNAL = 0, 1, 2, 3, 70
EXIT_FOR = {HOLDS: EXIT_HOLDS, VIOLATED: EXIT_VIOLATED, INCONCLUSIVE: EXIT_INCONCLUSIVE}

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"kcheck: error: {message}", err=True)
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
        if value.lstrip("-").isdigit():
            out[name] = int(value)
        elif value in ("true", "false"):
            out[name] = int(value == "true")
        elif value.isidentifier():
            out[name] = value  # an enum member, resolved against the param's enum
        else:
            raise click.BadParameter(
                f"{d!r}: VALUE must be an integer, true/false or an enum member", param_hint="-D"
            )
    return out


def _load(path: str, defines: Sequence[str]) -> Any:
    from kcheck.lang.frontend import load

    overrides = _parse_defines(defines)
    try:
        model = load(path, overrides)
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
        rate = (s.states - self.last_states) / max(now - self.last_time, 1e-9)
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

    Write a model in KDSL (see spec/language.md), then `kcheck verify model.kdsl`.
    Exit codes: 0 holds, 1 violated, 2 bad input or usage, 3 inconclusive.
    """


@main.command()
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
    help="Stop (inconclusive) after this many seconds.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress line on stderr.")
@_guard
def verify(
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
) -> None:
    """Check the invariants and temporal properties of MODEL by exhaustive search."""
    from kcheck.explore.bfs import Limits, ReplayError, explore
    from kcheck.model.compile import compile_model

    for flag, path in (("--graph", graph_path), ("--swimlane", swimlane_path)):
        if path:
            _check_picture_name(flag, path)
    checked = _load(model, defines)
    symmetry = not no_symmetry
    compiled = compile_model(checked.symbols, symmetry=symmetry)
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
    if symbolic_params and engine not in ("bmc", "induction"):
        _fail("--symbolic-params needs --engine bmc or --engine induction")
    if engine in ("bmc", "induction"):
        bound = depth if engine == "bmc" else max_k
        result = _run_z3(
            engine, compiled, checked, bound, invariants, properties, timeout, symbolic_params
        )
    elif engine == "auto":
        from kcheck.smt.auto import auto

        progress = _Progress(enabled=not quiet)
        limits = Limits(max_states, max_depth, timeout)
        try:
            result = auto(compiled, checked.symbols, invariants=chosen_invariants,
                          properties=chosen_properties, symmetry=symmetry, limits=limits,
                          depth=depth, max_k=max_k, progress=progress)  # fmt: skip
        except ReplayError as err:
            progress.close()
            _fail(f"internal error: {err}", EXIT_INTERNAL)
        progress.close()
    else:
        progress = _Progress(enabled=not quiet)
        try:
            result = explore(
                compiled,
                invariants=chosen_invariants,
                properties=chosen_properties,
                symmetry=symmetry,
                limits=Limits(max_states, max_depth, timeout),
                progress=progress,
            )
        except ReplayError as err:
            progress.close()
            _fail(f"internal error: {err}", EXIT_INTERNAL)
        progress.close()
    result = result.account_for(
        _asked(compiled, chosen_invariants, chosen_properties), f"--engine {engine}"
    )
    if fmt == "json":
        text = json.dumps(result.to_json(), indent=2)
    else:
        from kcheck.report.text import format_result

        colour = output is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        from kcheck.report.dot import actor_kinds_of

        kinds = actor_kinds_of(compiled)
        text = format_result(result, model, symmetry, colour, view, kinds)
    if output:
        _write(output, text + "\n")
        click.echo(f"{result.verdict}: report written to {output}", err=True)
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


def _run_z3(
    engine: str,
    compiled: Any,
    checked: Any,
    bound: int,
    invariants: tuple[str, ...],
    properties: tuple[str, ...],
    timeout: float | None,
    symbolic_params: bool = False,
) -> Any:
    """Bounded model checking (bound: the depth) or k-induction (bound: the largest k) of the
    invariants with Z3 (spec/smt.md), for every value of the params with `symbolic_params`."""
    from kcheck.smt.bmc import ReplayError as BmcReplayError
    from kcheck.smt.bmc import Unsupported, bmc
    from kcheck.smt.induction import induction

    if properties:
        _fail(f"--engine {engine} checks invariants only; drop --property")
    from kcheck.smt.params import symbolic_bmc

    chosen = list(invariants) or None
    # the temporal properties are listed as not checked: all, or none when invariants were named
    props = list(properties) if invariants or properties else None
    try:
        if engine == "induction":
            result = induction(compiled, checked.symbols, bound, chosen, timeout or 600.0,
                               symbolic_params, props)  # fmt: skip
        else:
            run = symbolic_bmc if symbolic_params else bmc
            result = run(compiled, checked.symbols, bound, chosen, timeout or 600.0, props)
        return result
    except Unsupported as err:
        _fail(str(err))
    except BmcReplayError as err:
        _fail(f"internal error: {err}", EXIT_INTERNAL)


def _asked(
    compiled: Any, invariants: Sequence[str] | None, properties: Sequence[str] | None
) -> list[Asked]:
    """What a verify run was asked about: the named invariants and properties, or all of them
    when none was named."""
    return [
        Asked(p.name, kind, p.span.line)
        for kind, declared, chosen in (
            ("invariant", compiled.invariants, invariants),
            ("property", compiled.properties, properties),
        )
        for p in declared
        if chosen is None or p.name in chosen
    ]


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
        click.echo(f"{path}: ok")
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
@_guard
def ci(config_path: str | None, out_dir: str | None, no_cache: bool) -> None:
    """Check every configured model against its expected verdicts (docs/ci.md).

    Exit codes: 0 all as expected, 1 an unexpected verdict, 2 a configuration error or a
    model that does not load.
    """
    from kcheck.ci import run_ci

    sys.exit(run_ci(config_path, out_dir, no_cache, click.echo))


def _add_run_commands() -> None:
    from kcheck.run.cli import image, run

    main.add_command(run)
    main.add_command(image)


_add_run_commands()
