"""`kcheck ci`, the command: reads the configuration, runs the plan, prints the summary and
writes the reports. Like the rest of the CLI layer it talks to the terminal (through the `echo`
it is given) and picks the exit code: 0 everything as expected, 1 an unexpected verdict, 2 a
configuration error or a model that does not load."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from kcheck.ci.config import ConfigError, find_config, parse_config
from kcheck.ci.gate import OK, SKIPPED, UNEXPECTED, Totals, compare
from kcheck.ci.plan import LoadFailure, plan
from kcheck.ci.progress import progress_for
from kcheck.ci.reports import format_table, write_reports
from kcheck.ci.runner import Run, run_job
from kcheck.ci.verdict_cache import cache_entry, kcheck_fingerprint, load_cache
from kcheck.cli.common import use_colour

EXIT_OK, EXIT_UNEXPECTED, EXIT_ERROR = 0, 1, 2


def run_ci(
    config_path: str | None,
    out_dir: str | None,
    no_cache: bool,
    echo: Callable[[str], None],
    quiet: bool = False,
    console: Console | None = None,
) -> int:
    """Check every configured model and parameter set, print the summary, write the reports
    and return the exit code: 0 all as expected, 1 an unexpected verdict, 2 a configuration
    error or a model that does not load. While it checks, a progress line on `console`
    (default: stderr) when that is a terminal and not `quiet` (ci/progress.py)."""
    try:
        file, table, prefix = find_config(config_path, Path.cwd())
        config = parse_config(file, table, prefix)
        jobs, failures = plan(config)
    except ConfigError as err:
        echo(f"kcheck: error: {err}")
        return EXIT_ERROR
    out = Path(out_dir) if out_dir is not None else config.base / config.out
    cache_file = out / "cache.json"
    cache: dict[str, Any] = {}
    if not no_cache:
        cache, why = load_cache(cache_file)
        if why:
            echo(f"kcheck: note: {_shown_dir(out)}cache.json: {why}")
    code = kcheck_fingerprint()
    runs: list[Run] = []
    new_cache: dict[str, Any] = {}
    with progress_for(console, quiet, len(jobs)) as shown:
        for index, job in enumerate(jobs, 1):
            shown.begin(index, job.label)
            done = run_job(
                job,
                cache,
                code,
                lambda text: shown.interrupt(lambda: echo(f"kcheck: note: {text}")),
                shown.searched,
            )
            if isinstance(done, LoadFailure):
                failures.append(done)
                continue
            runs.append(done)
            if done.result.limit is None or not done.result.limit.startswith("timeout"):
                # a timeout depends on the machine's speed, so its answer is not reusable
                key = job.cache_key(code)
                new_cache[key] = cache_entry(job, key, done.result)
    for f in failures:
        echo(f"kcheck: error: {f.path} ({f.params}) does not load:\n{f.message}")
    rows = [row for r in runs for row in compare(r)]
    totals = Totals(
        runs=len(runs),
        cached=sum(r.cached for r in runs),
        ok=sum(r.outcome == OK for r in rows),
        unexpected=sum(r.outcome == UNEXPECTED for r in rows),
        skipped=sum(r.outcome == SKIPPED for r in rows),
        errors=len(failures),
    )
    colour = use_colour(sys.stdout)
    if rows:
        echo(format_table(rows, colour))
    echo(totals.line())
    written = write_reports(out, runs, rows, failures, totals, new_cache)
    if isinstance(written, str):
        echo(f"kcheck: error: {written}")
        return EXIT_ERROR
    echo(f"reports written to {_shown_dir(out)} (junit.xml, kcheck.sarif, summary.md)")
    if failures:
        return EXIT_ERROR
    return EXIT_UNEXPECTED if totals.unexpected else EXIT_OK


def _shown_dir(out: Path) -> str:
    try:
        return out.resolve().relative_to(Path.cwd().resolve()).as_posix() + "/"
    except ValueError:
        return f"{out}/"
