"""`kcheck explore`: the local dashboard of a model (kcheck.dashboard owns the server)."""

from __future__ import annotations

import sys

import click

from kcheck.cli.common import guard, parse_defines


@click.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option(
    "-D", "defines", multiple=True, metavar="NAME=VALUE", help="Override a const or param."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
    help="The port to listen on (0: any free port).",
)  # fmt: skip
@click.option(
    "--report", type=click.Path(dir_okay=False),
    help="Open this `kcheck verify --format json` report's counterexample (or a `kcheck simulate"
    " --format json` report's coverage) at start.",
)  # fmt: skip
@click.option(
    "--follow", type=click.Path(dir_okay=False),
    help="Follow the live run logging to this `kcheck run --log-json` file.",
)  # fmt: skip
@guard
def explore(
    model: str, defines: tuple[str, ...], host: str, port: int, report: str | None,
    follow: str | None,
) -> None:  # fmt: skip
    """Step through MODEL's states in the browser: a local dashboard (kcheck docs dashboard)."""
    from kcheck.dashboard.serve import explore_command

    sys.exit(explore_command(model, parse_defines(defines), host, port, report, follow))
