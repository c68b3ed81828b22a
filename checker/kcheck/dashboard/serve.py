"""The `kcheck explore` command: load and compile the model, open a report when asked, check
the port, and serve the dashboard with uvicorn until interrupted. Prints to the terminal and
returns the exit code (2 for bad input: a model file that cannot be read, a report of another
model, a port in use, the web extra not installed). A model with errors is served anyway: its
diagnostics are printed, and the page shows them until the file is saved without them."""

from __future__ import annotations

import errno
import socket
import sys
from collections.abc import Mapping

import click

from kcheck.lang.diagnostics import KcheckError, Source, render_all

EXIT_USAGE = 2


def _error(message: str) -> int:
    click.echo(f"kcheck: error: {message}", err=True)
    return EXIT_USAGE


def port_problem(host: str, port: int) -> str | None:
    """Why the dashboard cannot listen on host:port, or None if it can."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        return f"cannot listen on {host}: {err.strerror}"
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(addr)
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                return (
                    f"port {port} on {host} is in use; pick another with --port (0: any free port)"
                )
            return f"cannot listen on {host}:{port}: {err.strerror}"
    return None


def explore_command(
    path: str,
    defines: Mapping[str, int | str],
    host: str,
    port: int,
    report: str | None,
    follow: str | None = None,
) -> int:
    try:
        import uvicorn

        from kcheck.dashboard.app import create_app
    except ImportError:
        return _error(
            "kcheck explore needs the web extra: pip install 'kcheck[explore]'"
            " (starlette and uvicorn)"
        )
    from kcheck.dashboard.counterexample import ReportError, load_report
    from kcheck.dashboard.watch import Watch
    from kcheck.lang.parser import read_source

    try:
        read_source(path)  # a path that cannot be read is a mistyped command: no page for it
    except KcheckError as err:
        click.echo(render_all(err.diagnostics, Source(path, "")), err=True)
        return EXIT_USAGE
    watch = Watch(path, defines)
    session = watch.session
    if session is None:
        click.echo(watch.diagnostics, err=True)
        if report is not None or follow is not None:
            # a report or a run log cannot be checked against a model that does not load
            return _error(f"--{'report' if report else 'follow'} needs {path} without errors")
        click.echo(
            f"kcheck explore: the page shows these errors and waits for {path} to be saved"
            " without them",
            err=True,
        )
    if report is not None and session is not None:
        try:
            with open(report, encoding="utf-8") as f:
                text = f.read()
        except OSError as err:
            return _error(f"cannot read {report}: {err.strerror}")
        try:
            shown = load_report(session, text)
        except ReportError as err:
            return _error(f"{report}: {err}")
        click.echo(f"showing {shown} from {report}", err=True)
    if follow is not None and session is not None:
        from kcheck.dashboard.live import start, update

        session.live = start(session, follow)
        update(session, session.live)
        click.echo(f"following the run logged in {follow}", err=True)
    problem = port_problem(host, port)
    if problem is not None:
        return _error(problem)
    config = uvicorn.Config(create_app(watch), host=host, port=port, log_level="warning")
    server = uvicorn.Server(config)

    # the address is printed once the socket listens (port 0 picks a free one)
    original = server.startup

    async def startup(sockets: list[socket.socket] | None = None) -> None:
        await original(sockets)
        for srv in server.servers:
            for sock in srv.sockets:
                bound = sock.getsockname()
                shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
                click.echo(f"kcheck explore: http://{shown}:{bound[1]}/  (Ctrl-C stops)", err=True)
                sys.stderr.flush()
                return

    server.startup = startup  # type: ignore[method-assign]
    try:
        server.run()
    except SystemExit:  # uvicorn's own exit when the port was taken since it was checked
        return _error(f"cannot listen on {host}:{port} (uvicorn's message above)")
    return 0 if server.started else EXIT_USAGE
