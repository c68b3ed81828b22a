"""`kcheck lsp`: the language server for editors (kcheck.lsp owns the protocol)."""

from __future__ import annotations

import click

from kcheck.cli.common import fail, guard


@click.command()
@guard
def lsp() -> None:
    """Serve KDSL to an editor: the language server protocol on stdin/stdout (docs/editors.md)."""
    try:
        from kcheck.lsp.server import serve
    except ImportError as err:
        fail(f"the language server needs pygls ({err}): pip install 'kcheck[lsp]'")
    serve()
