"""`kcheck infer`: infer the lemmas that prove a model's invariants by k-induction
(kcheck.engines.infer, spec/smt.md "Invariant inference") and print them as `lemma` lines a user
can paste into the model, or write them to a file."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from kcheck.cli.common import (
    EXIT_FOR,
    EXIT_HOLDS,
    EXIT_INCONCLUSIVE,
    EXIT_USAGE,
    fail,
    finite,
    guard,
    load_model,
    parse_defines,
)
from kcheck.cli.outputs import write_file
from kcheck.result import HOLDS


@click.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option(
    "-D", "defines", multiple=True, metavar="NAME=VALUE", help="Override a const or param."
)
@click.option(
    "--max-k",
    type=click.IntRange(min=1),
    default=6,
    show_default=True,
    help="The largest k of the final k-induction proof.",
)
@click.option(
    "--method",
    type=click.Choice(["houdini", "spacer", "auto"]),
    default="auto",
    show_default=True,
    help="Houdini over candidates mined from reachable states, IC3/PDR (Z3 Spacer), or "
    "Houdini then Spacer on what it left open.",
)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the lemma lines here.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1.0),
    default=300.0,
    show_default=True,
    callback=lambda ctx, param, value: finite(param, value),
    help="Seconds for the whole inference.",
)
@click.option(
    "--graph",
    "graph_path",
    type=click.Path(dir_okay=False),
    help="Draw each counterexample to induction left (.dot, .svg, .png or .pdf).",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False),
    help="Write an HTML page: the lemmas and each counterexample to induction left, drawn.",
)
@guard
def infer(
    model: str,
    defines: tuple[str, ...],
    max_k: int,
    method: str,
    output: str | None,
    timeout: float | None,
    graph_path: str | None,
    report_path: str | None,
) -> None:
    """Infer lemmas that prove MODEL's invariants for every depth (kcheck docs smt).

    Exit 0 when every invariant is proved with the lemmas printed, 1 when one is violated,
    3 when not proved (the counterexample to induction left is shown)."""
    from kcheck.engines.dispatch import Refused
    from kcheck.engines.infer import infer as run

    started = time.monotonic()  # --timeout counts from here: loading the model is in the run
    checked = load_model(model, defines)  # reports a model that does not check, exit 2
    try:
        found = run(checked.source, parse_defines(defines), max_k, timeout or 300.0,
                    method=method, started=started)  # fmt: skip
    except Refused as err:
        fail(f"{model}: {err}", EXIT_USAGE)
    # a lemma the final proof left open (out of time, or Z3 gave no answer) is shown, but not
    # as a line to paste: nothing proved rests on it
    unproved = {p.name for p in found.result.properties if p.status != HOLDS}
    text = "".join(
        ("// not proved: " if line.split(":")[0].split()[-1] in unproved else "") + line + "\n"
        for line in found.lemmas
    )
    head = (
        f"// kcheck infer: {found.generated} candidates, {found.held} true in all "
        f"{found.states} reachable states, {found.kept} inductive together, "
        f"{len(found.lemmas)} used\n"
        if found.method == "houdini"
        else f"// kcheck infer --method {method}: {len(found.lemmas)} lemmas ({found.method})\n"
    )
    if output is not None:
        write_file(output, head + text)
    else:
        sys.stdout.write(head + text)
    for note in found.notes:
        print(f"note: {note}", file=sys.stderr)
    for p in found.result.properties:
        if p.kind == "property":
            continue
        reason = f": {p.reason}" if p.reason else ""
        print(f"{p.kind} {p.name}: {p.status}{reason}", file=sys.stderr)
        if p.trace is not None:  # a violation: its shortest counterexample, replayed
            from kcheck.report.text import format_trace

            print("\n".join(f"  {line}" for line in format_trace(p.trace)), file=sys.stderr)
    verdict = found.verdict
    ctis = found.cti if verdict != HOLDS else {}
    _show_ctis(ctis, checked, graph_path)
    if report_path is not None:
        from kcheck.model.compile import compile_model
        from kcheck.report.cti import cti_html
        from kcheck.report.dot import actor_kinds_of

        kinds = actor_kinds_of(compile_model(checked.symbols))
        write_file(report_path, cti_html(model, found.lemmas, ctis, kinds))
    sys.exit(EXIT_HOLDS if verdict == HOLDS else EXIT_FOR.get(verdict, EXIT_INCONCLUSIVE))


def _show_ctis(ctis: dict[str, Any], checked: Any, graph_path: str | None) -> None:
    """Each counterexample to induction left, in text on stderr and, with --graph, drawn (one
    file per counterexample: the name before the extension when there are several)."""
    from pathlib import Path

    from kcheck.model.compile import compile_model
    from kcheck.report.cti import cti_graph, cti_lines
    from kcheck.report.dot import ReportError, actor_kinds_of, render

    for name, trace in sorted(ctis.items()):
        print("\n".join(cti_lines(name, trace)), file=sys.stderr)
    if graph_path is None or not ctis:
        return
    kinds = actor_kinds_of(compile_model(checked.symbols))
    target = Path(graph_path)
    for name, trace in sorted(ctis.items()):
        path = (
            target if len(ctis) == 1 else target.with_name(f"{target.stem}.{name}{target.suffix}")
        )
        try:
            render(cti_graph(name, trace, kinds), str(path))
        except ReportError as err:
            fail(str(err))
        print(f"drew the counterexample to induction for {name} in {path}", file=sys.stderr)
