"""`kcheck graph`: draw the reachable state space of a small model."""

from __future__ import annotations

import click

from kcheck.cli.common import fail, guard, load_model
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
@guard
def graph(
    model: str, defines: tuple[str, ...], output: str, max_states: int, no_symmetry: bool
) -> None:
    """Draw the reachable state space of a small MODEL (.dot, .svg, .png or .pdf)."""
    from kcheck.engines.dispatch import EngineOptions, Refused, state_space
    from kcheck.explore.bfs import Limits
    from kcheck.model.compile import compile_model
    from kcheck.report import dot

    check_picture_name("--output", output)
    check_outputs(model, {"--output": output})
    checked = load_model(model, defines)
    compiled = compile_model(checked.symbols, symmetry=not no_symmetry)
    options = EngineOptions("explicit", Limits(max_states=max_states), symmetry=not no_symmetry)
    try:
        space = state_space(compiled, options)
    except Refused as err:
        fail(str(err))
    try:
        dot.render(dot.state_space_graph(compiled, space), output)
    except dot.ReportError as err:
        fail(err.message)
    click.echo(f"drew the state space of {compiled.name} in {output}", err=True)
