"""`kcheck graph`: draw the reachable state space of a small model."""

from __future__ import annotations

import sys

import click

from kcheck.cli.common import (
    EXIT_USAGE,
    fail,
    guard,
    load_model,
    parse_defines,
    print_diagnostics,
)
from kcheck.cli.outputs import check_outputs, check_picture_name


@click.command()
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
@click.option(
    "--cluster", metavar="EXPR", help="Group the states by the value of this KDSL expression."
)
@click.option(
    "--around",
    metavar="INVARIANT",
    help="Draw only the states near the shortest path to a violation of INVARIANT.",
)
@click.option(
    "--radius",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="With --around: how many steps from that path to draw.",
)
@guard
def graph(
    model: str,
    defines: tuple[str, ...],
    output: str,
    max_states: int,
    no_symmetry: bool,
    cluster: str | None,
    around: str | None,
    radius: int,
) -> None:
    """Draw the reachable state space of a small MODEL (.dot, .svg, .png or .pdf)."""
    from kcheck.lang.diagnostics import KcheckError
    from kcheck.model.compile import compile_model
    from kcheck.report import dot, statespace

    check_picture_name("--output", output)
    check_outputs(model, {"--output": output})
    checked = load_model(model, defines)
    compiled = compile_model(checked.symbols, symmetry=not no_symmetry)
    try:
        notes = statespace.draw(
            checked, compiled, output, max_states=max_states, symmetry=not no_symmetry,
            cluster=cluster, around_invariant=around, radius=radius,
            overrides=parse_defines(defines),
        )  # fmt: skip
    except dot.ReportError as err:
        fail(err.message)
    except KcheckError as err:
        print_diagnostics(err, statespace.cluster_source(cluster or ""), "--cluster")
        sys.exit(EXIT_USAGE)
    click.echo(f"drew the state space of {compiled.name} in {output}", err=True)
    for note in notes:
        click.echo(f"note: {note}", err=True)
