"""The `kcheck` entry point: the command group, and the list of its commands. A new command is
a module of its own in this package (or its package's cli module, as `kcheck run`) and one line
in COMMANDS."""

from __future__ import annotations

import click

from kcheck import __version__
from kcheck.cli.check import check
from kcheck.cli.ci import ci
from kcheck.cli.docs import docs
from kcheck.cli.explore import explore
from kcheck.cli.fmt import fmt
from kcheck.cli.graph import graph
from kcheck.cli.infer import infer
from kcheck.cli.lsp import lsp
from kcheck.cli.simulate import simulate
from kcheck.cli.verify import verify
from kcheck.conform.cli import conform_command
from kcheck.mbt.cli import test
from kcheck.run.cli import image, run

COMMANDS: tuple[click.Command, ...] = (
    verify, check, simulate, infer, fmt, graph, explore, ci, run, image, test, conform_command,
    docs, lsp,
)  # fmt: skip


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kcheck")
def main() -> None:
    """kcheck: model checking for Kubernetes-style systems.

    Write a model in KDSL (`kcheck docs language` prints the language reference), then
    `kcheck verify model.kdsl`. `kcheck docs` lists every page of the reference.
    Exit codes: 0 holds, 1 violated, 2 bad input or usage, 3 inconclusive.
    """


for command in COMMANDS:
    main.add_command(command)
