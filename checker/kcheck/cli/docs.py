"""`kcheck docs`: the reference that ships in the package (kcheck.manual owns the pages)."""

from __future__ import annotations

import click

from kcheck.cli.common import fail


@click.command()
@click.argument("topic", required=False)
def docs(topic: str | None) -> None:
    """Print a page of kcheck's reference (Markdown); without TOPIC, list the pages.

    e.g. `kcheck docs language`, `kcheck docs json`, `kcheck docs ci | less`.
    """
    from kcheck.manual import UnknownTopic, render

    try:
        click.echo(render(topic))
    except UnknownTopic as err:
        fail(str(err))
