"""`kcheck check`: parse and type-check models without exploring them."""

from __future__ import annotations

import sys

import click

from kcheck.cli.common import EXIT_USAGE, expand_dirs, guard, load_model, shown


@click.command()
@click.argument("models", nargs=-1, required=True, type=click.Path())
@click.option(
    "-D", "defines", multiple=True, metavar="NAME=VALUE", help="Override a const or param."
)
@guard
def check(models: tuple[str, ...], defines: tuple[str, ...]) -> None:
    """Parse and type-check MODELS without exploring them. A directory stands for every .kdsl
    file under it."""
    failed = False
    for path in expand_dirs(models):
        try:
            load_model(path, defines)
        except SystemExit:
            failed = True
            continue
        click.echo(f"{shown(path)}: ok")
    sys.exit(EXIT_USAGE if failed else 0)
