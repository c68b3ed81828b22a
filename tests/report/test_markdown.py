"""The Markdown job summary: golden files for the real models, one table row per property with
its status symbol, each counterexample folded as a step table, and model text that can neither
break a table nor inject HTML.

Regenerate the golden files with `KCHECK_UPDATE_GOLDEN=1 pytest tests/report/test_markdown.py`."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

import pytest

from kcheck.report.markdown import cell, to_markdown
from kcheck.result import VIOLATED, CheckResult, PropertyResult, Stats
from kcheck.trace import Step, Trace
from tests.report import GOLDEN, HOSTILE, MODELS, check_golden, hostile_result, verified
from tests.report.test_mermaid import _LINE as MERMAID_LINE


def table_rows(md: str, header: str) -> list[list[str]]:
    """The cells of the table that starts with `header`, split on unescaped pipes."""
    lines = md.splitlines()
    start = lines.index(header)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells, cur, i = [], "", 1
        while i < len(line):
            if line[i] == "\\" and i + 1 < len(line):
                cur += line[i : i + 2]
                i += 2
                continue
            if line[i] == "|":
                cells.append(cur.strip())
                cur = ""
            else:
                cur += line[i]
            i += 1
        rows.append(cells)
    return rows


SUMMARY = "| model | property | kind | status | detail |"
STEPS = "| step | action | args | changes |"


@pytest.mark.parametrize("path", MODELS, ids=[PurePosixPath(m).stem for m in MODELS])
def test_markdown_of_each_model_matches_its_golden_file(path: str) -> None:
    md = to_markdown([(path, verified(path))])
    check_golden(GOLDEN / "markdown" / f"{PurePosixPath(path).stem}.md", md)


def test_one_row_per_property_with_its_status_symbol() -> None:
    results = [(p, verified(p)) for p in MODELS]
    md = to_markdown(results)
    assert md.startswith("## kcheck: ❌ violated\n")
    rows = table_rows(md, SUMMARY)
    assert len(rows) == sum(len(r.properties) for _, r in results)
    assert rows[0][:4] == [
        "replicaset_counts_running",
        "never_too_many_live",
        "invariant",
        "❌ violated",
    ]
    statuses = {row[3] for row in rows}
    assert "⚠️ inconclusive" in statuses
    assert "❌ violated" in statuses and "✅ holds" in statuses


def test_every_status_has_its_symbol() -> None:
    md = to_markdown([("m.kdsl", hostile_result())])
    statuses = [row[3] for row in table_rows(md, SUMMARY)]
    assert statuses == [
        "❌ violated",
        "❌ violated",
        "⚠️ inconclusive",
        "➖ not checked",
        "✅ holds",
    ]


def test_each_counterexample_is_folded_with_a_row_per_step() -> None:
    path = MODELS[1]
    md = to_markdown([(path, verified(path))])
    assert md.count("<details>") == md.count("</details>") == 1
    rows = table_rows(md, STEPS)
    assert [r[0] for r in rows] == ["0", "1", "2", "3", "4"]
    assert rows[3][1:] == [
        "default.bind (line 42)",
        "pod=Pod#1, node=Node#0",
        "Pod#1.node: none → Node#0",
    ]
    # and why, as a nested list of the invariant's parts and their values
    assert "The last state violates no_overcommit:\n\n- forall n in Node: used(n)" in md
    assert "\n  - used(n) &lt;= n.cpu is false\n    - used(n) = 5\n    - n.cpu = 4\n" in md


def test_a_bound_error_row_shows_the_error() -> None:
    md = to_markdown([(MODELS[0], verified(MODELS[0]))])
    assert "| 6 | replicaset.scale_up (line 36) | rs=ReplicaSet#0 | error: create Pod: " in md
    assert "error: create Pod: all 5 slots are in use" in md


def test_hostile_text_cannot_break_a_table_or_inject_html() -> None:
    md = to_markdown([(f"dir/{HOSTILE}.kdsl", hostile_result())])
    assert "<script>" not in md and "<b>" not in md and "\x1b" not in md
    assert "&lt;script&gt;" in md
    # outside the tags kcheck writes itself, no raw `<` is left
    stripped = md
    for tag in ("<details>", "</details>", "<summary>", "</summary>", "<br>", "<br/>"):
        stripped = stripped.replace(tag, "")
    assert "<" not in stripped
    # each counterexample has a Mermaid block whose every line is Mermaid kcheck wrote, with
    # the hostile text encoded inside its labels (tests/report/test_mermaid.py)
    blocks = re.findall(r"\n```mermaid\n(.*?)\n```\n", md, re.S)
    assert len(blocks) == md.count("<details>") > 0
    for block in blocks:
        assert all(MERMAID_LINE.fullmatch(x) for x in block.splitlines()), block
    # every row of every table has exactly its columns: no `|` or newline broke one
    for header, width in ((SUMMARY, 5), (STEPS, 4)):
        for row in table_rows(md, header):
            assert len(row) == width, row
    summary_line = next(line for line in md.splitlines() if line.startswith("<summary>"))
    assert "&lt;b&gt;&amp;c&quot;d&#x27;e" in summary_line


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a|b", "a\\|b"),
        ("<b>&", "&lt;b&gt;&amp;"),
        ("[x](javascript:1)", "\\[x\\](javascript:1)"),
        ("`code` *em*", "\\`code\\` \\*em\\*"),
        ("never_too_many_live", "never_too_many_live"),
        ("_em_ ~~s~~", "\\_em\\_ \\~\\~s\\~\\~"),
        ("a\\|b", "a\\\\\\|b"),
        ("two\nlines", "two lines"),
        ("esc\x1b[31m", "esc\\\\x1b\\[31m"),
    ],
)
def test_cells_escape_markdown_and_html(raw: str, shown: str) -> None:
    assert cell(raw) == shown


def test_a_lasso_names_its_loop() -> None:
    trace = Trace(
        (
            Step(None, {}, {"x": 0}),
            Step("a.tick", {}, {"x": 1}, line=5),
            Step("a.tock", {}, {"x": 0}, line=6),
        ),
        loop_start=0,
    )
    prop = PropertyResult("live", "property", VIOLATED, 9, trace)
    md = to_markdown([("m.kdsl", CheckResult("m", "explicit", Stats(), [prop], True))])
    actions = [row[1] for row in table_rows(md, STEPS)]
    assert actions == [
        "initial state ⟲ loop starts here",
        "a.tick (line 5)",
        "a.tock (line 6) ⟲ back to step 0",
    ]
    assert "Then steps 1-2 repeat forever (state 2 is state 0 again)." in md


def test_a_deadlock_stays_in_its_last_state() -> None:
    trace = Trace((Step(None, {}, {"x": 0}), Step("a.tick", {}, {"x": 1}, line=5)), loop_start=1)
    prop = PropertyResult("live", "property", VIOLATED, 9, trace)
    md = to_markdown([("m.kdsl", CheckResult("m", "explicit", Stats(), [prop], True))])
    assert "From step 1 the behaviour stays in this state forever (no action is enabled)." in md


def test_no_models_is_a_summary_that_holds() -> None:
    assert to_markdown([]).startswith("## kcheck: ✅ holds\n")
