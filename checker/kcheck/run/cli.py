"""`kcheck run` and `kcheck image`: click glue over the interpreter and the drivers. Exit codes:
0 converged with no violation, 1 a violation (invariant, property, conformance, bound),
2 bad input or usage, 3 inconclusive (the time limit came first), 4 the driver failed."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import IO, Any

import click

from kcheck.cli.common import fail, finite, guard, load_model, use_colour
from kcheck.cli.outputs import check_outputs, check_picture_name, write_file, write_reports
from kcheck.model.ir import CompiledModel
from kcheck.result import HOLDS, INCONCLUSIVE, VIOLATED
from kcheck.run.console import EventPrinter, StatusLine, summary
from kcheck.run.driver import Divergence, Driver, DriverError
from kcheck.run.events import Event, JsonLines
from kcheck.run.interpreter import (
    Counters,
    Interpreter,
    NoInitialState,
    RunConfig,
    RunOutcome,
    Stopped,
)
from kcheck.run.signals import StopSignals
from kcheck.run.sim import SimDriver

EXIT_DRIVER = 4
_EXIT = {HOLDS: 0, VIOLATED: 1, INCONCLUSIVE: 3}


def _finite(param: click.Parameter, value: float) -> float:
    checked = finite(param, value)
    assert checked is not None
    return checked


@click.command()
@click.argument("model", required=False, type=click.Path(dir_okay=False))
@click.option(
    "-D", "defines", multiple=True, metavar="NAME=VALUE", help="Override a const or param."
)
@click.option(
    "--driver",
    type=click.Choice(["sim", "docker"]),
    default="sim",
    show_default=True,
    help="sim: in-process on a simulated clock; docker: real containers on a Docker engine.",
)
@click.option(
    "--store",
    type=click.Choice(["memory", "etcd"]),
    default="memory",
    show_default=True,
    help="Where the model's objects live: in the run's memory, or in a real etcd.",
)
@click.option(
    "--etcd",
    "etcd_url",
    metavar="URL",
    help="With --store etcd: an etcd already running (default: the run starts its own).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every choice.")
@click.option(
    "--faults",
    type=click.Choice(["on", "off"]),
    default="on",
    show_default=True,
    help="Inject the model's faults within their budgets.",
)
@click.option(
    "--settle",
    type=click.FloatRange(min=0),
    callback=lambda ctx, param, value: _finite(param, value),
    default=30.0,
    show_default=True,
    help="Seconds after the last fault within which every property must be met.",
)
@click.option(
    "--hold",
    type=click.FloatRange(min=0),
    callback=lambda ctx, param, value: _finite(param, value),
    default=1.0,
    show_default=True,
    help="Seconds `eventually always P` must hold without a break.",
)
@click.option(
    "--fault-every",
    type=click.FloatRange(min=0, min_open=True),
    callback=lambda ctx, param, value: _finite(param, value),
    default=2.0,
    show_default=True,
    help="Mean seconds between injected faults.",
)
@click.option(
    "--chaos",
    type=click.FloatRange(min=0),
    callback=lambda ctx, param, value: _finite(param, value),
    default=20.0,
    show_default=True,
    help="Inject faults during the first this many seconds only.",
)
@click.option(
    "--fault-after",
    type=click.FloatRange(min=0),
    callback=lambda ctx, param, value: _finite(param, value),
    default=0.0,
    show_default=True,
    help="Inject no fault before this many seconds.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    callback=lambda ctx, param, value: _finite(param, value),
    default=600.0,
    show_default=True,
    help="Stop (inconclusive, exit 3) after this many seconds.",
)
@click.option(
    "--tick",
    type=click.FloatRange(min=0, min_open=True),
    callback=lambda ctx, param, value: _finite(param, value),
    default=0.1,
    show_default=True,
    help="With --driver sim: simulated seconds per step.",
)
@click.option(
    "--tick-ms",
    type=click.FloatRange(min=0, min_open=True),
    callback=lambda ctx, param, value: _finite(param, value),
    default=1000.0,
    show_default=True,
    help="A model with clocks: milliseconds of the run's time per `tick` (`kcheck docs run`).",
)
@click.option(
    "--invariant", "invariants", multiple=True, metavar="NAME", help="Check only this invariant."
)
@click.option(
    "--log-json", type=click.Path(dir_okay=False), help="Write every event as a JSON line here."
)
@click.option(
    "--metrics-port", type=click.IntRange(1, 65535), help="Serve Prometheus metrics on this port."
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the result here.")
@click.option(
    "--graph", "graph_path", type=click.Path(dir_okay=False), help="Draw the trace of a violation."
)
@click.option(
    "--swimlane",
    "swimlane_path",
    type=click.Path(dir_okay=False),
    help="Draw it with one lane per actor.",
)
@click.option(
    "--binding",
    "binding_path",
    type=click.Path(dir_okay=False),
    help="A TOML file binding the model to Docker (kcheck docs run).",
)
@click.option(
    "--image", help="With --driver docker: the image of every pod (default kcheck/busybox)."
)
@click.option(
    "--cleanup",
    is_flag=True,
    help="Remove the containers and networks of earlier runs whose process is gone, then exit.",
)
@click.option(
    "--run-id",
    "run_ids",
    multiple=True,
    metavar="RUN_ID",
    help="With --cleanup: remove exactly this run's containers and networks, live or not.",
)
@click.option("--quiet", "-q", is_flag=True, help="No event stream and no status line.")
def run(**options: Any) -> None:
    """Execute MODEL live: its controllers and scheduler make the decisions, faults are
    injected within their budgets, and every invariant is checked on what happens (kcheck docs run).

    Exit codes: 0 converged with no violation, 1 a violation (invariant, property,
    conformance), 2 bad input or usage, 3 inconclusive (--timeout came first), 4 the driver
    failed (no engine, permission denied, the engine or etcd died, a missing image).
    """
    guard(_run)(RunOptions(**options))


@dataclass(frozen=True)
class RunOptions:
    """The command line of `kcheck run`, as click parsed it."""

    model: str | None
    defines: tuple[str, ...]
    driver: str
    store: str
    etcd_url: str | None
    seed: int
    faults: str
    settle: float
    hold: float
    fault_every: float
    chaos: float
    fault_after: float
    timeout: float
    tick: float
    tick_ms: float
    invariants: tuple[str, ...]
    log_json: str | None
    metrics_port: int | None
    fmt: str
    output: str | None
    graph_path: str | None
    swimlane_path: str | None
    binding_path: str | None
    image: str | None
    cleanup: bool
    run_ids: tuple[str, ...]
    quiet: bool
    model_binding: dict[str, Any] | None = None  # the model's `docker` block, if it has one

    def config(self) -> RunConfig:
        return RunConfig(
            seed=self.seed,
            faults=self.faults == "on",
            settle=self.settle,
            hold=self.hold,
            fault_every=self.fault_every,
            chaos=self.chaos,
            fault_after=self.fault_after,
            timeout=self.timeout,
            invariants=self.invariants or None,
            tick_ms=self.tick_ms,
        )


def _need_extras(o: RunOptions) -> None:
    """What the `run` extra provides is optional: say what to install before any work."""
    from kcheck.run.extras import MissingExtra, need

    try:
        if o.cleanup:
            need("docker", "kcheck run --cleanup")
        elif o.driver == "docker":
            need("docker", "kcheck run --driver docker")
        if o.metrics_port is not None and not o.cleanup:
            need("prometheus_client", "--metrics-port")
    except MissingExtra as err:
        fail(str(err), 2)


def _run(o: RunOptions) -> None:
    from kcheck.model.compile import compile_model

    if o.run_ids and not o.cleanup:
        fail("--run-id goes with --cleanup (kcheck run --cleanup --run-id RUN_ID)", 2)
    if o.etcd_url and o.store != "etcd":
        fail("--etcd goes with --store etcd (kcheck run MODEL --store etcd --etcd URL)", 2)
    if o.etcd_url and not re.fullmatch(r"http://[^/\s:]+(:\d+)?/?", o.etcd_url):
        fail(f"--etcd {o.etcd_url}: give etcd's client URL, http://HOST:PORT", 2)
    _need_extras(o)
    if o.cleanup:
        _cleanup(o.run_ids)
        return
    if o.model is None:
        fail("missing MODEL (or --cleanup)", 2)
    for flag, path in (("--graph", o.graph_path), ("--swimlane", o.swimlane_path)):
        if path:
            check_picture_name(flag, path)
    check_outputs(
        o.model,
        {"--output": o.output, "--graph": o.graph_path, "--swimlane": o.swimlane_path,
         "--log-json": o.log_json},
    )  # fmt: skip
    checked = load_model(o.model, o.defines)
    compiled = compile_model(checked.symbols, symmetry=False)
    from kcheck.run.binding import config_from_model

    o = replace(o, model=o.model, model_binding=config_from_model(checked.symbols))
    assert o.model is not None
    known = [inv.name for inv in compiled.invariants]
    for name in o.invariants:
        if name not in known:
            fail(f"--invariant {name}: the model has no invariant `{name}`", 2)
    colour = use_colour(sys.stdout)
    outcome = _execute(o, compiled, colour)
    if o.fmt == "json":
        text = json.dumps(outcome.result.to_json(), indent=2)
    else:
        text = summary(outcome, o.model, colour and o.output is None)
    if o.output:
        write_file(o.output, text + "\n")
        click.echo(f"{outcome.result.verdict}: result written to {o.output}", err=True)
    else:
        click.echo(text, color=colour)
    write_reports(
        [(o.model, compiled, outcome.result)], o.graph_path, o.swimlane_path, None, None, None, None
    )
    sys.exit(_EXIT[outcome.result.verdict])


def _execute(o: RunOptions, compiled: CompiledModel, colour: bool) -> RunOutcome:
    """Run the interpreter with the event sinks, the metrics and the driver asked for; the
    driver's world is removed whatever happens."""
    with ExitStack() as stack:
        sinks: list[Callable[[Event], None]] = []
        printer = EventPrinter(sys.stdout, colour) if not o.quiet and o.fmt == "text" else None
        if printer is not None:
            sinks.append(printer)
        if o.log_json:
            try:
                stream: IO[str] = stack.enter_context(open(o.log_json, "w", encoding="utf-8"))
            except OSError as err:
                fail(f"cannot write {o.log_json}: {err.strerror or err}", 2)
            sinks.append(JsonLines(stream))

        def sink(event: Event) -> None:
            for s in sinks:
                s(event)

        counters = Counters()
        if o.metrics_port is not None:
            from kcheck.run.metrics import serve

            try:
                stack.callback(serve(o.metrics_port, counters, compiled.name, o.driver))
            except OSError as err:
                fail(f"--metrics-port {o.metrics_port}: {err.strerror or err}", 2)
        world = _driver(o, compiled)
        status = StatusLine(sys.stderr, sys.stderr.isatty(), not o.quiet)
        if printer is not None:
            printer.before = status.clear  # each event on a clean line, the status below it
        outcome: RunOutcome | None = None
        error: str | None = None
        code = EXIT_DRIVER
        crash: Exception | None = None
        # A world to tear down (Docker): a stop signal only asks the run to stop at its next
        # safe point, and nothing interrupts the teardown (kcheck.run.signals).
        with StopSignals(cooperative=world.run_id is not None) as signals:
            interpreter = Interpreter(
                compiled, world, o.config(), sink, counters, status, signals.requested
            )
            try:
                outcome = interpreter.run()
            except Stopped:
                pass
            except NoInitialState as err:
                error, code = str(err), 2
            except DriverError as err:
                error, code = str(err), EXIT_DRIVER
            except Exception as err:  # an internal error: reported once the world is gone
                crash = err
            finally:
                status.close()
                leak = world.close()
    if leak:
        click.echo(f"kcheck: warning: {leak}", err=True)
    if crash is not None:
        raise crash
    if error is not None:
        fail(error, code)
    if outcome is None:  # stopped by a signal
        run = f" (run {world.run_id})" if world.run_id else ""
        done = "" if leak else f"; removed everything the run created{run}"
        click.echo(f"kcheck: interrupted{done}", err=True)
        sys.exit(130)
    if o.store == "etcd" and not o.quiet:
        from kcheck.run.etcd_store import EtcdDriver, store_line

        if isinstance(world, EtcdDriver):  # what the store did, for the reader of the run
            click.echo(store_line(world), err=True)
    if signals.received:
        # the run had ended before the signal came: its result is complete, and kept
        click.echo(
            "kcheck: the run had reached its verdict when the stop signal came; its result follows",
            err=True,
        )
    return outcome


def _driver(o: RunOptions, compiled: CompiledModel) -> Driver:
    if o.driver == "sim" and o.store == "etcd":
        import secrets

        return _etcd(o, secrets.token_hex(4), None)
    if o.driver == "sim":
        return SimDriver(o.tick)
    from kcheck.run.binding import BindingError, load_config, resolve
    from kcheck.run.docker_driver import DockerDriver
    from kcheck.run.engine import connect, new_run_id

    try:
        file = load_config(o.binding_path) if o.binding_path else None
        binding = resolve(
            compiled.layout, file, block=o.model_binding, file_name=o.binding_path or ""
        )
    except BindingError as err:
        fail(str(err), 2)
    if o.image:
        binding = replace(binding, image=o.image)
    try:
        docker_world = DockerDriver(connect(), binding, new_run_id())
    except DriverError as err:
        fail(str(err), EXIT_DRIVER)
    if o.store == "etcd":  # the objects in etcd, the pods in Docker, under one run id
        return _etcd(o, docker_world.run_id or new_run_id(), docker_world)
    return docker_world


def _etcd(o: RunOptions, run_key: str, inner: Driver | None) -> Driver:
    from kcheck.run.etcd_store import connect_etcd

    try:
        return connect_etcd(o.etcd_url, run_key, o.tick, inner)
    except DriverError as err:
        if inner is not None:
            inner.close()
        fail(str(err), EXIT_DRIVER)


def _cleanup(run_ids: tuple[str, ...]) -> None:
    """Remove what earlier runs left: only runs whose process is known to be gone (a live run,
    here or on another host, is never touched), or exactly the runs named."""
    from kcheck.run.engine import cleanup, connect, runs

    try:
        client = connect()
        found = runs(client, run_ids or None)
        targets = found if run_ids else [r for r in found if r.alive is False]
        removed = [cleanup(client, r.run_id) for r in targets]
    except (DriverError, Divergence) as err:
        fail(str(err), EXIT_DRIVER)
    containers, networks = sum(c for c, _ in removed), sum(n for _, n in removed)
    ids = ", ".join(r.run_id for r in targets)
    runs_word = "run" if len(targets) == 1 else "runs"
    which = f"of {runs_word} {ids}" if run_ids else "of earlier kcheck runs whose process is gone"
    if targets or not run_ids:
        click.echo(
            f"removed {containers} containers and {networks} networks {which}"
            + (f" ({ids})" if ids and not run_ids else "")
        )
    for rid in run_ids:
        if rid not in {r.run_id for r in found}:
            click.echo(f"run {rid} has no container or network left")
    for r in found:
        if run_ids and r.alive:
            click.echo(f"note: run {r.run_id} was still live ({r.why}): it will fail now")
        elif not run_ids and r.alive is not False:
            how = (
                ""
                if r.alive
                else f"; if it is over, remove it with `kcheck run --cleanup --run-id {r.run_id}`"
            )
            click.echo(f"kept run {r.run_id}: {r.why}{how}")


@click.command()
@click.option("--tag", default="kcheck/busybox:latest", show_default=True, help="The image's name.")
def image(tag: str) -> None:
    """Build the local pod image from the host's static busybox (no registry needed)."""
    guard(_image)(tag)


# Docker's reference grammar, simplified: lowercase path components, an optional tag.
_IMAGE_NAME = re.compile(
    r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?"
)


def _image(tag: str) -> None:
    from kcheck.run.extras import MissingExtra, need

    try:
        need("docker", "kcheck image")
    except MissingExtra as err:
        fail(str(err), 2)
    from kcheck.run.engine import connect
    from kcheck.run.image import build

    if not _IMAGE_NAME.fullmatch(tag):
        fail(f"--tag {tag!r}: not an image name (lowercase `name[:tag]`, e.g. kcheck/busybox:1)", 2)

    try:
        image_id = build(connect(), tag)
    except DriverError as err:
        fail(str(err), EXIT_DRIVER)
    click.echo(f"built {tag} ({image_id[:19]})")
