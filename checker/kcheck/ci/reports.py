"""What `kcheck ci` writes: the summary table for the terminal, and in the output folder the
JUnit document (with the expectations applied), SARIF, the Markdown summary and the cache."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from kcheck import __version__
from kcheck.ci.gate import OK, SKIPPED, UNEXPECTED, Row, Totals
from kcheck.ci.plan import LoadFailure
from kcheck.ci.runner import Run
from kcheck.ci.verdict_cache import CACHE_FORMAT
from kcheck.result import CheckResult, PropertyResult


def present(run: Run) -> CheckResult:
    """The result as the reports show it: a sweep's runs named apart by their parameters."""
    if not run.job.overrides:
        return run.result
    return replace(run.result, model=f"{run.result.model} [{run.job.params}]")


def _gate_junit(text: str, runs: Sequence[Run], rows: Sequence[Row]) -> str:
    """The JUnit document with the expectations applied: an expected violation passes (its
    counterexample kept as output), an unexpected outcome fails, whatever its status."""
    root = ET.fromstring(text)
    by_suite = {present(r).model: r for r in runs}
    outcome = {(r.path, r.params, r.prop): r for r in rows}
    for suite in root.iter("testsuite"):
        run = by_suite.get(suite.get("name", ""))
        if run is None:
            continue
        kinds = {_case(p): p.name for p in run.result.properties}
        for case in suite.iter("testcase"):
            name = kinds.get(case.get("name", ""))
            row = outcome.get((run.job.path, run.job.params, name or ""))
            if row is None:
                continue
            failure, skipped = case.find("failure"), case.find("skipped")
            if row.outcome == OK and failure is not None:
                case.remove(failure)
                out = ET.SubElement(case, "system-out")
                out.text = f"expected violation (known bug):\n{failure.text or ''}"
            elif row.outcome == UNEXPECTED and failure is None:
                if skipped is not None:
                    case.remove(skipped)
                ET.SubElement(
                    case,
                    "failure",
                    {
                        "message": f"expected {row.expected}, got {row.got}: {row.note}",
                        "type": "unexpected-verdict",
                    },
                )
        for name in ("failures", "skipped"):
            tag = "failure" if name == "failures" else "skipped"
            suite.set(name, str(sum(1 for c in suite.iter("testcase") if c.find(tag) is not None)))
    for name in ("failures", "skipped"):
        root.set(name, str(sum(int(s.get(name, "0")) for s in root.iter("testsuite"))))
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _case(p: PropertyResult) -> str:
    from kcheck.report.junit import case_name

    return case_name(p)


_COLUMNS = ("model", "parameters", "property", "expected", "got", "result")


def _cells(row: Row) -> tuple[str, ...]:
    result = row.outcome + (f" ({row.note})" if row.note and row.outcome != OK else "")
    return (row.path, row.params, row.prop, row.expected, row.got, result)


def format_table(rows: Sequence[Row], colour: bool) -> str:
    """The summary table in kcheck's table style (report/table.py): colours and box-drawing
    only when asked (on a terminal), plain ASCII otherwise."""
    from rich.text import Text

    from kcheck.report.table import new_table, render

    table = new_table()
    for col in _COLUMNS:
        # fold, never cut: a model's path or a note shortened with an ellipsis is lost
        table.add_column(col, overflow="fold")
    style = {OK: "green", UNEXPECTED: "bold red", SKIPPED: "yellow"}
    for row in rows:
        # Text, not markup: a name from a model must never be read as rich's [style] syntax
        cells = [Text(c) for c in _cells(row)]
        table.add_row(*cells, style=style[row.outcome] if colour else None)
    return render(table, colour, max(100, _terminal_width()) if colour else 160)


def _terminal_width() -> int:
    import shutil

    return shutil.get_terminal_size((120, 24)).columns


def summary_markdown(
    rows: Sequence[Row], failures: Sequence[LoadFailure], totals: Totals, detail: str
) -> str:
    from kcheck.report.markdown import cell

    bad = totals.unexpected or totals.errors
    head = "❌ unexpected verdicts" if bad else "✅ every verdict as expected"
    lines = [f"# kcheck ci: {head}", "", totals.line(), ""]
    lines += [
        "| " + " | ".join(_COLUMNS) + " |",
        "| " + " | ".join("---" for _ in _COLUMNS) + " |",
    ]
    mark = {OK: "✅ OK", UNEXPECTED: "❌ UNEXPECTED", SKIPPED: "➖ SKIPPED"}
    for r in rows:
        result = mark[r.outcome] + (f": {cell(r.note)}" if r.note and r.outcome != OK else "")
        lines.append(
            f"| {cell(r.path)} | {cell(r.params)} | {cell(r.prop)} | {cell(r.expected)}"
            f" | {cell(r.got)} | {result} |"
        )
    for f in failures:
        lines += ["", f"**{cell(f.path)}** ({cell(f.params)}) does not load:", "", "```"]
        lines += [f.message.replace("```", "``\u200b`"), "```"]
    lines += ["", detail.replace("## kcheck:", "## kcheck details:", 1)]
    return "\n".join(lines).rstrip("\n") + "\n"


def write_reports(
    out: Path,
    runs: Sequence[Run],
    rows: Sequence[Row],
    failures: Sequence[LoadFailure],
    totals: Totals,
    cache: Mapping[str, Any],
) -> str | None:
    """Write every report and the cache; an error message when one cannot be written."""
    from kcheck.report.junit import to_junit
    from kcheck.report.markdown import to_markdown
    from kcheck.report.sarif import to_sarif

    shown = [(r.job.path, present(r)) for r in runs]
    summary = summary_markdown(rows, failures, totals, to_markdown(shown) if shown else "")
    files = {
        "junit.xml": _gate_junit(to_junit(shown), runs, rows),
        "kcheck.sarif": json.dumps(to_sarif(shown, __version__), indent=2, ensure_ascii=False)
        + "\n",
        "summary.md": summary,
        "cache.json": json.dumps(
            {"format": CACHE_FORMAT, "kcheck": __version__, "entries": cache}, indent=1
        )
        + "\n",
    }
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (out / name).write_text(text, encoding="utf-8")
        step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if step_summary:
            with open(step_summary, "a", encoding="utf-8") as f:
                f.write(summary)
    except OSError as err:
        return f"cannot write the reports in {out}: {err.strerror or err}"
    return None
