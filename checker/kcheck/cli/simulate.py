"""`kcheck simulate`: random walks through a model (spec/simulate.md), through the one engine
dispatch (`--engine simulate`); prints the verdicts, the counterexamples (shrunk) and the
coverage table, or the JSON report, and writes the HTML report. A simulation's best answer is
inconclusive (exit 3): it finds violations, it never proves."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from kcheck.cli.common import EXIT_FOR, fail, finite, guard, load_model, shown, use_colour
from kcheck.cli.outputs import check_outputs, write_file, write_reports
from kcheck.lang.diagnostics import suggest


@click.command()
@click.argument("model", type=click.Path())
@click.option(
    "-D", "defines", multiple=True, metavar="NAME=VALUE", help="Override a const or param."
)
@click.option("--invariant", "invariants", multiple=True, metavar="NAME",
              help="Check only this invariant (repeatable).")  # fmt: skip
@click.option("--property", "properties", multiple=True, metavar="NAME",
              help="Check only this temporal property (repeatable).")  # fmt: skip
@click.option("--traces", type=click.IntRange(min=1), default=1000, show_default=True,
              help="How many random walks.")  # fmt: skip
@click.option("--depth", type=click.IntRange(min=0), default=50, show_default=True,
              help="The most steps of each walk.")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True,
              help="The same seed gives the same walks, whatever --workers.")  # fmt: skip
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Local processes to spread the walks over (with --ray: Ray tasks).")  # fmt: skip
@click.option("--ray", "ray_address", metavar="ADDRESS",
              help="Walk on the running Ray cluster at ADDRESS, one task per CPU unless "
              "--workers says; needs pip install 'kcheck[distributed]'.")  # fmt: skip
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    callback=lambda ctx, param, value: finite(param, value),
    help="Stop walking after this many seconds; the walks done count.",
)
@click.option("--allow-timelocks", is_flag=True,
              help="In a model with time, a walk that reaches a state where time stops and no "
              "step is possible just ends there (by default it is reported).")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)  # fmt: skip
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write the report here instead of stdout.")  # fmt: skip
@click.option("--report", "report_path", type=click.Path(dir_okay=False),
              help="Write a self-contained HTML report, with the coverage table.")  # fmt: skip
@click.option("--quiet", "-q", is_flag=True,
              help="Accepted as by verify; simulate prints no progress line.")  # fmt: skip
@guard
def simulate(model: str, **o: Any) -> None:
    """Check MODEL's invariants and temporal properties on random walks: each step taken
    uniformly among the enabled action instances. A violation is shrunk to a short
    counterexample; with none, the verdict is inconclusive (exit 3), never holds."""
    from kcheck.engines.dispatch import EngineFailure, EngineOptions, Refused, check
    from kcheck.explore.bfs import Limits
    from kcheck.model.compile import compile_model
    from kcheck.report.explain import explain_result

    check_outputs(model, {"--output": o["output"], "--report": o["report_path"]})
    checked = load_model(model, o["defines"])
    compiled = compile_model(checked.symbols, symmetry=True, coverage=True)
    for flag, asked, declared in (
        ("--invariant", o["invariants"], [inv.name for inv in compiled.invariants]),
        ("--property", o["properties"], [p.name for p in compiled.properties]),
    ):
        for name in asked:
            if name not in declared:
                hint = suggest(name, declared)
                fail(f"{flag} {name}: the model has no {flag[2:]} `{name}`"
                     + (f"; {hint}" if hint else ""))  # fmt: skip
    named = bool(o["invariants"] or o["properties"])
    options = EngineOptions("simulate", Limits(timeout=o["timeout"], allow_timelocks=o["allow_timelocks"]), depth=o["depth"],
                            traces=o["traces"], seed=o["seed"], workers=o["workers"],
                            ray_address=o["ray_address"],
                            named_as="kcheck simulate")  # fmt: skip
    try:
        result = check(compiled, checked.symbols, list(o["invariants"]) if named else None,
                       list(o["properties"]) if named else None, options)  # fmt: skip
    except (Refused, EngineFailure) as err:
        fail(str(err), 2 if isinstance(err, Refused) else 70)
    result = explain_result(checked.symbols, result)
    if o["fmt"] == "json":
        text = json.dumps(result.to_json(), indent=2)
    else:
        from kcheck.report.dot import actor_kinds_of
        from kcheck.report.text import format_result

        colour = o["output"] is None and use_colour(sys.stdout)
        text = format_result(result, model, True, colour, "trace", actor_kinds_of(compiled))
    if o["output"]:
        write_file(o["output"], text + "\n")
        click.echo(f"{result.verdict}: report written to {shown(o['output'])}", err=True)
    else:
        click.echo(text, color=o["output"] is None and use_colour(sys.stdout))
    write_reports([(model, compiled, result)], None, None, None, None, None, o["report_path"])
    sys.exit(EXIT_FOR[result.verdict])
