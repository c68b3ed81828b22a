"""`kcheck fmt`: rewrite models in canonical layout, or check that they are."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kcheck.cli.common import EXIT_USAGE, expand_dirs, guard, print_diagnostics
from kcheck.lang.diagnostics import KcheckError, Source


@click.command()
@click.argument("models", nargs=-1, required=True, type=click.Path())
@click.option(
    "--check", "check_only", is_flag=True, help="Exit 1 if a file is not formatted; change nothing."
)
@click.option(
    "--diff",
    "show_diff",
    is_flag=True,
    help="Print what would change as a unified diff, exit 1 if anything would; change nothing.",
)
@guard
def fmt(models: tuple[str, ...], check_only: bool, show_diff: bool) -> None:
    """Rewrite MODELS in canonical layout, keeping their comments. A directory stands for every
    .kdsl file under it."""
    from kcheck.lang.fmt import format_diff, format_program
    from kcheck.lang.parser import parse, read_source

    unformatted: list[str] = []
    for path in expand_dirs(models):
        try:
            source = read_source(path)
            program = parse(source)
        except KcheckError as err:
            try:
                src: Source | None = read_source(path)
            except KcheckError:
                src = None
            print_diagnostics(err, src, path)
            sys.exit(EXIT_USAGE)
        text = format_program(program, source.text)
        if text == source.text:
            continue
        if show_diff:
            unformatted.append(path)
            click.echo(format_diff(path, source.text, text), nl=False)
        elif check_only:
            unformatted.append(path)
            click.echo(f"{path}: not formatted", err=True)
        else:
            Path(path).write_text(text, encoding="utf-8")
            click.echo(f"{path}: formatted")
    if unformatted:
        sys.exit(1)
