"""A Markdown summary for a CI job page (GitHub's $GITHUB_STEP_SUMMARY): one table row per
model and property, then each counterexample folded in a <details> block as a table of steps
and a Mermaid sequence diagram (which GitHub draws).
Everything that comes from a model is escaped, so no name or value can break the table or
inject HTML. See spec/reports.md."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

from kcheck.report.mermaid import change_lines, sequence_diagram
from kcheck.report.sarif import loop_sentence
from kcheck.report.text import state_lines
from kcheck.result import HOLDS, INCONCLUSIVE, NOT_CHECKED, VIOLATED, CheckResult, PropertyResult
from kcheck.trace import Trace, loop_renaming, show_value

SYMBOL = {HOLDS: "✅", VIOLATED: "❌", INCONCLUSIVE: "⚠️", NOT_CHECKED: "➖"}

# Markdown punctuation that could start a link, code span, emphasis or strike-through, or end a
# table cell. `_` only counts at a word's edge (CommonMark never emphasises inside a word), so
# identifiers like never_too_many_live stay readable in the raw file.
_MARKDOWN = re.compile(r"[\\`*\[\]|~]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
# control characters would be invisible (or worse, terminal escapes in a raw log): shown as \xNN
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _flat(text: str) -> str:
    one_line = " ".join(str(text).split())
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", one_line)


def cell(text: str) -> str:
    """Model-derived text made safe for a table cell: HTML escaped, Markdown punctuation and
    `|` backslash-escaped, line breaks flattened."""
    return _MARKDOWN.sub(lambda m: "\\" + m.group(), html.escape(_flat(text), quote=False))


def _html(text: str) -> str:
    """Model-derived text inside raw HTML (a <summary>), where Markdown is not interpreted."""
    return html.escape(_flat(text))


def _steps(n: int) -> str:
    return f"{n} step{'s' if n != 1 else ''}"


def _detail(p: PropertyResult) -> str:
    parts: list[str] = []
    if p.status == VIOLATED and p.trace is not None:
        parts.append(f"counterexample of {_steps(len(p.trace))}")
    if p.reason:
        parts.append(p.reason)
    if p.line is not None:
        parts.append(f"line {p.line}")
    return cell("; ".join(parts))


def _step_table(trace: Trace) -> list[str]:
    lines = ["| step | action | args | changes |", "| ---: | --- | --- | --- |"]
    prev: dict[str, Any] | None = None
    for i, step in enumerate(trace.steps):
        if step.action is None:
            action, args = "initial state", ""
            changes = state_lines(step.state or {})
        else:
            action = step.action
            args = ", ".join(f"{k}={show_value(v)}" for k, v in step.args.items())
            if step.error is not None:
                changes = [f"error: {step.error}"]
            elif step.state is not None:
                changes = change_lines(prev, step.state) or ["(no change)"]
            else:
                changes = []
        if step.line is not None:
            action += f" (line {step.line})"
        if trace.loop_start == i:
            action += " ⟲ loop starts here"
        elif trace.loop_start is not None and i == len(trace.steps) - 1 and i > trace.loop_start:
            action += f" ⟲ back to step {trace.loop_start}{loop_renaming(trace)}"
        shown = "<br>".join(cell(c) for c in changes)
        lines.append(f"| {i} | {cell(action)} | {cell(args)} | {shown} |")
        if step.state is not None:
            prev = step.state
    return lines


def _counterexample(model: str, p: PropertyResult, kinds: Mapping[str, str]) -> list[str]:
    assert p.trace is not None
    where = f" (line {p.line})" if p.line is not None else ""
    label = p.name if p.name.startswith(f"{p.kind}: ") else f"{p.kind} {p.name}"
    summary = f"{model}: {label}{where}, counterexample of {_steps(len(p.trace))}"
    lines = ["<details>", f"<summary>{SYMBOL[VIOLATED]} {_html(summary)}</summary>", ""]
    lines.extend(_step_table(p.trace))
    lines += ["", "```mermaid", sequence_diagram(p, kinds).rstrip("\n"), "```", ""]
    loop = loop_sentence(p.trace)
    if loop is not None:
        lines.append(loop[0].upper() + loop[1:] + ".")
        lines.append("")
    if p.kind == "invariant":
        lines.append(f"The last state violates {cell(p.name)}" + (":" if p.explanation else "."))
        lines.append("")
        if p.explanation:
            lines.extend(f"{'  ' * _depth(x)}- {cell(x.strip())}" for x in p.explanation)
            lines.append("")
    elif p.kind == "bound" and p.reason:
        lines.append(f"The last step fails: {cell(p.reason.rstrip('.'))}.")
        lines.append("")
    lines.append("</details>")
    return lines


def _depth(line: str) -> int:
    return (len(line) - len(line.lstrip(" "))) // 2


def _overall(results: Sequence[tuple[str, CheckResult]]) -> str:
    verdicts = {r.verdict for _, r in results}
    for v in (VIOLATED, INCONCLUSIVE):
        if v in verdicts:
            return v
    return HOLDS


def _stats_line(path: str, r: CheckResult) -> str:
    s = r.stats
    how = (
        "every state reachable within the model's bounds explored"
        if r.complete and any(p.kind == "bound" for p in r.properties)
        else "every reachable state explored"
        if r.complete
        else f"stopped at {r.limit}"
        if r.limit
        else "stopped once every invariant was violated"
    )
    return (
        f"- {SYMBOL[r.verdict]} {cell(r.model)} ({cell(path)}): {r.verdict}; {s.states:,} states,"
        f" {s.transitions:,} transitions, depth {s.depth}, {s.seconds:.2f} s, {r.engine} engine,"
        f" {cell(how)}"
    )


def to_markdown(
    results: Sequence[tuple[str, CheckResult]],
    actor_kinds: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """The summary for each (model path, result), as Markdown text ending in a newline.
    `actor_kinds` gives, per model name, each actor's kind (`dot.actor_kinds_of`), to order and
    label the sequence diagrams' columns; without it they come in order of appearance."""
    verdict = _overall(results)
    lines = [f"## kcheck: {SYMBOL[verdict]} {verdict}", ""]
    for path, r in results:
        lines.append(_stats_line(path, r))
        lines.extend(f"  - note: {cell(n)}" for n in r.notes)
    lines += [
        "",
        "| model | property | kind | status | detail |",
        "| --- | --- | --- | --- | --- |",
    ]
    for _, r in results:
        for p in r.properties:
            status = f"{SYMBOL.get(p.status, '')} {p.status}".strip()
            lines.append(
                f"| {cell(r.model)} | {cell(p.name)} | {cell(p.kind)} | {status} | {_detail(p)} |"
            )
    for _, r in results:
        for p in r.properties:
            if p.status == VIOLATED and p.trace is not None:
                lines.append("")
                kinds = (actor_kinds or {}).get(r.model, {})
                lines.extend(_counterexample(r.model, p, kinds))
    return "\n".join(lines) + "\n"
