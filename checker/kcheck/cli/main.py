"""The `kcheck` entry point: the command group, and the list of its commands. A new command is
a module of its own in this package (or its package's cli module, as `kcheck run`) and one line
in COMMANDS."""

from __future__ import annotations

import importlib

import click

from kcheck import __version__

# name -> "module:attribute". A command's module is imported only when that command runs (or
# help lists it): `kcheck verify` does not pay for importing Docker, etcd, Ray or the
# dashboard's modules (click's documented pattern for lazily loaded subcommands).
COMMANDS: dict[str, str] = {
    "verify": "kcheck.cli.verify:verify",
    "check": "kcheck.cli.check:check",
    "simulate": "kcheck.cli.simulate:simulate",
    "infer": "kcheck.cli.infer:infer",
    "fmt": "kcheck.cli.fmt:fmt",
    "graph": "kcheck.cli.graph:graph",
    "explore": "kcheck.cli.explore:explore",
    "ci": "kcheck.cli.ci:ci",
    "run": "kcheck.run.cli:run",
    "image": "kcheck.run.cli:image",
    "test": "kcheck.mbt.cli:test",
    "conform": "kcheck.conform.cli:conform_command",
    "docs": "kcheck.cli.docs:docs",
    "lsp": "kcheck.cli.lsp:lsp",
}


class _Commands(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = COMMANDS.get(cmd_name)
        if where is None:
            return None
        module, attribute = where.split(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command) and command.name == cmd_name, where
        return command


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kcheck")
def main() -> None:
    """kcheck: model checking for Kubernetes-style systems.

    Write a model in KDSL (`kcheck docs language` prints the language reference), then
    `kcheck verify model.kdsl`. `kcheck docs` lists every page of the reference.
    Exit codes: 0 holds, 1 violated, 2 bad input or usage, 3 inconclusive.
    """
