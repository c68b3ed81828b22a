"""`kcheck verify`: check models' invariants and temporal properties with the engine asked for
(kcheck.engines.dispatch), one model after another within one budget for the whole command
(--timeout, --max-memory, SIGINT/SIGTERM), then print the reports, write the report files and
exit with the worst model's code."""

from __future__ import annotations

import contextlib
import json
import math
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

import click

from kcheck.cli.common import (
    EXIT_FOR,
    EXIT_HOLDS,
    EXIT_INCONCLUSIVE,
    EXIT_INTERNAL,
    EXIT_USAGE,
    EXIT_VIOLATED,
    Progress,
    expand_dirs,
    fail,
    finite,
    guard,
    load_model,
    parse_defines,
    shown,
    use_colour,
)
from kcheck.cli.outputs import check_outputs, check_picture_name, write_file, write_reports
from kcheck.explore.budget import Budget
from kcheck.lang.diagnostics import suggest
from kcheck.result import HOLDS, INCONCLUSIVE, VIOLATED


@click.command()
@click.argument("models", nargs=-1, required=True, type=click.Path())
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
@click.option(
    "--size",
    "sizes",
    multiple=True,
    metavar="NAME=LO..HI",
    help="With --engine bmc or induction: the const NAME that sizes a kind (kind Node[NAME]) "
    "is symbolic over LO..HI (up to 1000): one check for every -D NAME=n at once. NAME=LO.. "
    "(induction): for any number of objects, the kind an uninterpreted sort. Repeatable; "
    "implies --symbolic-params.",
)
@click.option(
    "--infer",
    is_flag=True,
    help="With --engine induction: when plain induction leaves an invariant unproved, infer "
    "lemmas (as kcheck infer does) and prove it with them.",
)
@click.option("--no-symmetry", is_flag=True, help="Explore every slot permutation separately.")
@click.option(
    "--allow-timelocks",
    is_flag=True,
    help="In a model with time, do not report a reachable state where time stops and no step "
    "is possible (a timelock, reported by default: kcheck docs explorer).",
)
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
@click.option(
    "--threads",
    type=click.IntRange(min=1, max=256),
    default=1,
    show_default=True,
    help="Expand states on this many threads in this process (the explicit search; each "
    "a core of this machine): the same states, verdicts and counterexamples as one thread "
    "(kcheck docs explorer).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Search on this many worker processes (a local Ray instance; the explicit search, "
    "kcheck docs distributed). Needs pip install 'kcheck[distributed]'.",
)
@click.option(
    "--ray",
    "ray_address",
    metavar="ADDRESS",
    help="Search on the running Ray cluster at ADDRESS (host:port of `ray start --head`), one "
    "worker per CPU unless --workers says.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress line on stderr.")
@click.option("--coverage", is_flag=True,
              help="Also count which guards held and which branches every reachable "
              "transition takes (a second pass; kcheck docs simulate): a branch never taken is "
              "dead code.")  # fmt: skip
@guard
def verify(models: tuple[str, ...], max_memory: str | None, **options: Any) -> None:
    """Check the invariants and temporal properties of each MODEL (a directory stands for every
    .kdsl file under it). The exit code is the worst of the models': 2 a model that does not
    load or a bad option, then 1 a violation, then 3 inconclusive, else 0."""
    o = VerifyOptions(**options)
    paths = expand_dirs(models)
    budget = Budget.start(o.timeout, _memory_limit(max_memory))
    with _stop_on_signals(budget):
        _verify(paths, o, budget)


@dataclass(frozen=True)
class VerifyOptions:
    """The command line of `kcheck verify` but its models, as click parsed it."""

    defines: tuple[str, ...]
    manifests: tuple[str, ...]
    invariants: tuple[str, ...]
    properties: tuple[str, ...]
    fmt: str
    output: str | None
    view: str
    graph_path: str | None
    swimlane_path: str | None
    junit_path: str | None
    sarif_path: str | None
    markdown_path: str | None
    report_path: str | None
    engine: str
    depth: int
    max_k: int
    symbolic_params: bool
    sizes: tuple[str, ...]
    infer: bool
    no_symmetry: bool
    allow_timelocks: bool
    max_states: int | None
    max_depth: int | None
    timeout: float | None
    threads: int
    workers: int
    ray_address: str | None
    quiet: bool
    coverage: bool = False

    def outputs(self) -> dict[str, str | None]:
        return {"--output": self.output, "--graph": self.graph_path,
                "--swimlane": self.swimlane_path, "--junit": self.junit_path,
                "--sarif": self.sarif_path, "--markdown": self.markdown_path,
                "--report": self.report_path}  # fmt: skip


# Which exit code wins when models end differently: what a CI must act on first.
WORST_FIRST = (EXIT_INTERNAL, EXIT_USAGE, EXIT_VIOLATED, EXIT_INCONCLUSIVE, EXIT_HOLDS)
SAID = {EXIT_INTERNAL: "internal error", EXIT_USAGE: "bad input", EXIT_VIOLATED: VIOLATED,
        EXIT_INCONCLUSIVE: INCONCLUSIVE, EXIT_HOLDS: HOLDS}  # fmt: skip


def _verify(paths: list[str], o: VerifyOptions, budget: Budget) -> None:
    several = len(paths) > 1
    for flag, path in (("--graph", o.graph_path), ("--swimlane", o.swimlane_path)):
        if path:
            check_picture_name(flag, path)
    if several:
        for flag, path in (("--graph", o.graph_path), ("--swimlane", o.swimlane_path),
                           ("--report", o.report_path)):  # fmt: skip
            if path:
                fail(
                    f"{flag} is for one model, and {len(paths)} were given; name one MODEL "
                    "(--output, --junit, --sarif and --markdown cover several)"
                )
        if o.fmt == "itf":
            # an ITF file is one trace of one model's variables: several models have no one file
            fail(
                f"--format itf is for one model, and {len(paths)} were given; name one MODEL "
                "(--format json covers several)"
            )
    for path in paths:
        check_outputs(path, o.outputs())
    runs: list[tuple[str, Any, Any]] = []
    codes: list[int] = []
    texts: list[str] = []
    for path in paths:
        try:
            compiled, result = _check(path, o, budget, several)
        except SystemExit as stop:  # the model's error is printed; the others are still checked
            if not several:
                raise
            codes.append(stop.code if isinstance(stop.code, int) else EXIT_INTERNAL)
            continue
        if o.coverage:
            result.coverage = _search_coverage(path, o)
        runs.append((path, compiled, result))
        codes.append(EXIT_FOR[result.verdict])
        if o.fmt == "text":
            text = _text(path, compiled, result, o)
            if o.output:
                texts.append(text)
            else:
                click.echo(("\n" if len(codes) > 1 else "") + text, color=use_colour(sys.stdout))
    worst = min(codes, key=WORST_FIRST.index)
    if o.fmt == "json":
        docs = [result.to_json() for _, _, result in runs]
        texts = [json.dumps(docs[0] if not several else docs, indent=2)]
        if not o.output:
            click.echo(texts[0])
    elif o.fmt == "itf" and runs:
        from kcheck.report.itf import itf_document

        path, _, result = runs[0]
        texts = [json.dumps(itf_document(result, path), indent=2)]
        if not o.output:
            click.echo(texts[0])
    elif several:
        summary = _summary(paths, codes, worst)
        texts.append(summary)
        if not o.output:
            click.echo("\n" + summary)
    if o.output:
        write_file(o.output, "\n\n".join(texts) + "\n")
        click.echo(f"{SAID[worst]}: report written to {shown(o.output)}", err=True)
    if runs:
        write_reports(runs, o.graph_path, o.swimlane_path, o.junit_path, o.sarif_path,
                      o.markdown_path, o.report_path)  # fmt: skip
    sys.exit(worst)


def _search_coverage(path: str, o: VerifyOptions) -> Any:
    """`--coverage`: the guards and branches of the reachable graph, on the model compiled
    with its coverage form (the search itself ran without it)."""
    from kcheck.explore.coverage import search_coverage
    from kcheck.model.compile import compile_model

    checked = load_model(path, o.defines, o.manifests)
    model = compile_model(checked.symbols, symmetry=not o.no_symmetry, coverage=True)
    return search_coverage(model, symmetry=not o.no_symmetry,
                           max_states=o.max_states or COVERAGE_STATES)  # fmt: skip


COVERAGE_STATES = 1_000_000  # verify --coverage's pass stops past this without --max-states


def _check(path: str, o: VerifyOptions, budget: Budget, several: bool) -> tuple[Any, Any]:
    """Load, compile and check one model; a model's error is printed (naming the model when
    several are checked) and ends its check with SystemExit."""
    from kcheck.engines.dispatch import EngineFailure, EngineOptions, Refused, Stopped, check
    from kcheck.explore.bfs import Limits
    from kcheck.model.compile import compile_model

    which = f"{shown(path)}: " if several else ""
    if o.infer and (o.engine != "induction" or o.symbolic_params or o.sizes):
        fail("--infer needs --engine induction (without --symbolic-params or --size)")
    if o.infer and o.manifests:
        # inference re-reads the model's text with the -D values only: its proof would be of
        # the model's own instance, not the manifests'
        fail("--infer does not take --manifest yet; pass the manifests' values with -D")
    symmetry = not o.no_symmetry
    try:
        budget.armed = True
        checked = load_model(path, o.defines, o.manifests)
        compiled = compile_model(checked.symbols, symmetry=symmetry)
    except Stopped as stop:
        fail(f"{which}stopped at {stop.reason} before the search began; nothing was checked", 3)
    finally:
        budget.armed = False
    for flag, asked, declared in (
        ("--invariant", o.invariants, [inv.name for inv in compiled.invariants]),
        ("--property", o.properties, [p.name for p in compiled.properties]),
    ):
        for name in asked:
            if name not in declared:
                hint = suggest(name, declared)
                sort = flag.removeprefix("--")
                fail(
                    f"{which}{flag} {name}: the model has no {sort} `{name}`"
                    + (f"; {hint}" if hint else "")
                )
    # Naming some properties of one sort checks only those; naming none of a sort checks
    # none of it when the other sort was named, and all of it otherwise.
    named = bool(o.invariants or o.properties)
    chosen_invariants = list(o.invariants) if named else None
    chosen_properties = list(o.properties) if named else None
    options = EngineOptions(o.engine, Limits(o.max_states, o.max_depth, o.timeout, budget,
                                   allow_timelocks=o.allow_timelocks, threads=o.threads),
                            symmetry, o.depth, o.max_k, o.symbolic_params, o.sizes,
                            workers=o.workers, ray_address=o.ray_address)  # fmt: skip
    progress = Progress(enabled=not o.quiet and o.engine in ("explicit", "auto"))
    try:
        result = check(compiled, checked.symbols, chosen_invariants, chosen_properties, options,
                       progress)  # fmt: skip
        if o.infer:
            result = _with_inferred(result, checked.source, o, budget)
    except (Refused, EngineFailure, Stopped) as err:
        progress.close()
        _engine_error(err, which)
    progress.close()
    from kcheck.report.explain import explain_result

    result = explain_result(
        checked.symbols, result, params_known=not (o.symbolic_params or o.sizes)
    )
    if not compiled.actions:
        from kcheck.lang.frontend import NO_ACTIONS

        result.notes.append(NO_ACTIONS)
    return compiled, result


def _with_inferred(result: Any, source: Any, o: VerifyOptions, budget: Budget) -> Any:
    """--infer: the invariants plain induction left open, proved with inferred lemmas."""
    from kcheck.engines.infer import with_inferred

    left = budget.remaining(o.timeout or 300.0)
    return with_inferred(result, source, parse_defines(o.defines), o.max_k, left)


def _text(path: str, compiled: Any, result: Any, o: VerifyOptions) -> str:
    from kcheck.report.dot import actor_kinds_of
    from kcheck.report.text import format_result

    colour = o.output is None and use_colour(sys.stdout)
    kinds = actor_kinds_of(compiled)
    return format_result(result, path, not o.no_symmetry, colour, o.view, kinds)


def _summary(paths: list[str], codes: list[int], worst: int) -> str:
    """The verdict of each of several models, and the worst of them."""
    width = max(len(SAID[c]) for c in codes)
    lines = [f"{len(paths)} models:"]
    lines += [f"  {SAID[c]:<{width}}  {shown(p)}" for p, c in zip(paths, codes, strict=True)]
    lines.append(f"verdict: {SAID[worst]}")
    return "\n".join(lines)


def _engine_error(err: BaseException, which: str) -> NoReturn:
    from kcheck.engines.dispatch import EngineFailure, Stopped

    if isinstance(err, Stopped):
        fail(f"{which}stopped at {err.reason} before Z3 decided anything (inconclusive)", 3)
    if isinstance(err, EngineFailure):
        fail(f"{which}internal error: {err}", EXIT_INTERNAL)
    fail(f"{which}{err}")


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
