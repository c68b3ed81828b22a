"""Report files: the checks every output path passes before any work (never overwrite the model
or another output), and writing the text, pictures, JUnit, SARIF, Markdown and HTML reports a
command was asked for."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from kcheck import __version__
from kcheck.cli.common import fail, shown


def check_outputs(model: str | None, paths: dict[str, str | None]) -> None:
    """Refuse, before any work, an output path that cannot be written or that would overwrite
    the model itself or another output: a search must never be wasted, nor a model lost, on a
    report path."""
    seen: dict[str, str] = {}
    model_path = Path(model).resolve() if model else None
    for flag, path in paths.items():
        if not path or path == "-":
            continue
        target = Path(path)
        resolved = target.resolve()
        if model_path is not None and (
            resolved == model_path or (target.exists() and _same_file(target, model_path))
        ):
            fail(f"{flag} {shown(path)}: that is the model file; it would be overwritten")
        if str(resolved) in seen:
            fail(f"{flag} {shown(path)}: {seen[str(resolved)]} writes the same file")
        seen[str(resolved)] = flag
        if target.is_dir():
            fail(f"{flag} {shown(path)}: is a directory")
        folder = resolved.parent
        if not folder.is_dir():
            fail(f"{flag} {shown(path)}: the folder {shown(str(folder))} does not exist")
        if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
            fail(f"{flag} {shown(path)}: permission denied")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_picture_name(flag: str, path: str) -> None:
    from kcheck.report import dot

    if Path(path).suffix.lower().lstrip(".") not in dot.FORMATS:
        names = ", ".join(f".{f}" for f in dot.FORMATS)
        fail(f"{flag} {path}: the file name must end in one of {names}")


def write_file(path: str, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as err:
        fail(f"cannot write {path}: {err.strerror or err}")


def write_reports(
    runs: Sequence[tuple[str, Any, Any]],
    graph_path: str | None,
    swimlane_path: str | None,
    junit_path: str | None,
    sarif_path: str | None,
    markdown_path: str | None,
    report_path: str | None,
) -> None:
    """The report files asked for with --graph, --swimlane, --junit, --sarif, --markdown and
    --report, for each (model path, compiled model, result): JUnit, SARIF and Markdown cover
    every model in one file; a command checking several models refuses the others first."""
    from kcheck.report import dot

    # each writer is imported only when its file is asked for: they cost start-up time
    for _, compiled, result in runs:
        traced = [p for p in result.properties if p.trace is not None]
        kinds = dot.actor_kinds_of(compiled)
        for path, draw in ((graph_path, dot.trace_graph), (swimlane_path, dot.swimlane)):
            if not path:
                continue
            for p in traced:
                target = path if len(traced) == 1 else dot.path_for(path, p.name)
                try:
                    dot.render(draw(p, kinds), target)
                except dot.ReportError as err:
                    fail(err.message)
                click.echo(f"drew {p.name} in {target}", err=True)
            if not traced:
                click.echo(f"{path}: no counterexample to draw", err=True)
    both = [(model_path, result) for model_path, _, result in runs]
    if junit_path:
        from kcheck.report.junit import to_junit

        write_file(junit_path, to_junit(both))
    if sarif_path:
        from kcheck.report.sarif import to_sarif

        sarif = to_sarif(both, __version__)
        write_file(sarif_path, json.dumps(sarif, indent=2, ensure_ascii=False) + "\n")
    if markdown_path:
        from kcheck.report.markdown import to_markdown

        kinds_of = {result.model: dot.actor_kinds_of(compiled) for _, compiled, result in runs}
        write_file(markdown_path, to_markdown(both, kinds_of))
    if report_path:
        from kcheck.report.html import to_html

        for model_path, compiled, result in runs:
            write_file(report_path, to_html(model_path, compiled, result, __version__))
            click.echo(f"{result.verdict}: HTML report written to {report_path}", err=True)
