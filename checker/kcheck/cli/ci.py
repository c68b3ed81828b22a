"""`kcheck ci`: the CI gate over every configured model (kcheck.ci owns the work)."""

from __future__ import annotations

import sys

import click

from kcheck.cli.common import guard


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="The kcheck.toml or pyproject.toml to read (default: look in the current directory).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Write the reports here instead of the configured `out` (default reports/).",
)
@click.option("--no-cache", is_flag=True, help="Check every model again, ignoring the cache.")
@click.option("--quiet", "-q", is_flag=True, help="No progress line on stderr.")
@guard
def ci(config_path: str | None, out_dir: str | None, no_cache: bool, quiet: bool) -> None:
    """Check every configured model against its expected verdicts (kcheck docs ci).

    Exit codes: 0 all as expected, 1 an unexpected verdict, 2 a configuration error or a
    model that does not load.
    """
    from kcheck.ci.command import run_ci

    sys.exit(run_ci(config_path, out_dir, no_cache, click.echo, quiet))
