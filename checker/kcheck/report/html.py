"""The HTML report: one self-contained file for a bug ticket or a CI artifact. It holds the
verdict, the engine and the search statistics, a table of every property's verdict, and per
counterexample the trace graph and the sequence diagram (inline SVG from `dot.py`), the sequence
diagram's Mermaid source (folded, to paste where Mermaid is drawn) and a step-by-step table of
state diffs. See spec/reports.md, "HTML report".

Self-contained means the file loads nothing: the CSS is inline, there is no JavaScript, no
font, image or link to fetch, and a Content-Security-Policy forbids fetching anything should a
browser find something to fetch. Everything from the model or the trace goes through `_e`
(`html.escape`); the SVG is escaped by `dot.py` and graphviz, and only its prolog, doctype and
comments are stripped here. Without Graphviz's `dot` the report says so in place of the
pictures: a report is never lost for want of a picture.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

# graphviz ships no type information; see the note in dot.py
import graphviz  # type: ignore[import-untyped]

from kcheck.model.ir import CompiledModel
from kcheck.report import dot
from kcheck.report.mermaid import sequence_diagram
from kcheck.report.sarif import loop_sentence
from kcheck.report.text import lookup, state_lines
from kcheck.result import (
    HOLDS,
    INCONCLUSIVE,
    NOT_CHECKED,
    VIOLATED,
    CheckResult,
    Coverage,
    PropertyResult,
)
from kcheck.trace import Step, Trace, changed_fields, loop_renaming, show_value, stutter_reason

NO_DOT = (
    "The pictures are left out: Graphviz's dot program was not found on PATH. Install Graphviz"
    " (Debian/Ubuntu: apt-get install graphviz, macOS: brew install graphviz) and write the"
    " report again to see them. The step table below holds the same counterexample."
)

# control characters other than tab and newline are invisible in a page (or worse, in a log it
# is pasted from): shown as \xNN, as the Markdown report does
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# what precedes the <svg> element in graphviz's output, and its comments; the doctype names a
# DTD by URL, which a self-contained page must not carry
_SVG_PREAMBLE = re.compile(r"<\?xml.*?\?>|<!DOCTYPE[^>]*>|<!--.*?-->", re.S)
_SVG_ID = re.compile(r'\bid="')

_STATUS_CLASS = {HOLDS: "holds", VIOLATED: "violated", INCONCLUSIVE: "inconclusive"}
_STATUS_CLASS[NOT_CHECKED] = "not-checked"

_CSS = """
:root { --ink:#202124; --muted:#5f6368; --line:#dadce0; --bg:#f8f9fa; --blue:#0b57d0;
  --green:#137333; --red:#b3261e; --amber:#8a5a00; --grey:#80868b; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.45;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 32px 48px; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono",
  monospace; font-size: 12.5px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 36px 0 10px; padding-bottom: 6px;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 20px 0 8px; color: var(--muted); }
header { border: 1px solid var(--line); border-left: 6px solid var(--grey); border-radius: 8px;
  padding: 16px 20px; background: var(--bg); }
header.violated { border-left-color: var(--red); }
header.holds { border-left-color: var(--green); }
header.inconclusive { border-left-color: var(--amber); }
.subtitle { color: var(--muted); margin: 0 0 12px; }
.badge { display: inline-block; padding: 1px 10px; border-radius: 999px; font-weight: 600;
  font-size: 12.5px; white-space: nowrap; border: 1px solid transparent; }
.badge.holds { background: #e6f4ea; color: var(--green); border-color: #a8dab5; }
.badge.violated { background: #fce8e6; color: var(--red); border-color: #f4b4ae; }
.badge.inconclusive { background: #fef7e0; color: var(--amber); border-color: #f6d77c; }
.badge.not-checked { background: #f1f3f4; color: var(--muted); border-color: var(--line); }
.verdict { font-size: 15px; padding: 3px 14px; vertical-align: middle; margin-left: 8px; }
dl.stats { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr));
  gap: 8px 20px; margin: 0; }
dl.stats div { min-width: 0; }
dl.stats dt { color: var(--muted); font-size: 12px; text-transform: uppercase;
  letter-spacing: .04em; }
dl.stats dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; }
ul.notes { margin: 12px 0 0; padding-left: 20px; color: var(--amber); }
table { border-collapse: collapse; width: 100%; margin: 8px 0; }
th, td { text-align: left; vertical-align: top; padding: 6px 10px;
  border-bottom: 1px solid var(--line); }
th { background: var(--bg); font-size: 12px; text-transform: uppercase; letter-spacing: .04em;
  color: var(--muted); border-bottom: 2px solid var(--line); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.name { font-weight: 600; word-break: break-word; }
a { color: var(--blue); }
.kind { display: inline-block; font-size: 11px; padding: 0 6px; border-radius: 4px;
  background: #f1f3f4; color: var(--muted); margin-right: 6px; }
.kind.controller { background: #e8f0fe; color: #174ea6; }
.kind.scheduler { background: #fef7e0; color: #7a5200; }
.kind.process { background: #e6f4ea; color: #0d652d; }
.kind.fault { background: #fce8e6; color: #a50e0e; }
.conclusion { margin: 6px 0 12px; padding: 8px 12px; border-radius: 6px; background: #fce8e6;
  color: var(--red); font-weight: 600; }
figure { margin: 12px 0; border: 1px solid var(--line); border-radius: 8px; padding: 12px;
  overflow-x: auto; background: #fff; }
figure svg { display: block; margin: 0 auto; max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 12.5px; margin-bottom: 8px; }
details.mermaid-source { margin: 0 0 12px; color: var(--muted); }
pre.why { margin: -4px 0 12px; padding: 8px 12px; border-left: 4px solid var(--red);
  background: #fff8f7; overflow-x: auto; }
details.mermaid-source pre { background: var(--bg); border: 1px solid var(--line);
  border-radius: 6px; padding: 8px 12px; overflow-x: auto; color: var(--ink); }
.pictures-missing { border: 1px dashed var(--amber); background: #fef7e0; color: var(--amber);
  border-radius: 6px; padding: 10px 14px; }
table.steps td.changes div { margin: 1px 0; }
.created { color: var(--green); }
.deleted { color: var(--grey); }
.old { color: var(--muted); }
.new { color: var(--blue); font-weight: 700; }
.error { color: var(--red); font-weight: 600; }
.nochange, .line { color: var(--grey); }
tr.initial td { background: #f4f8fe; }
tr.loop td { background: #fff8e1; }
tr.loop td:first-child { box-shadow: inset 4px 0 0 #f9ab00; }
tr.loop-note td { background: #fef7e0; color: var(--amber); font-weight: 600; }
tr.last td { background: #fce8e6; }
footer { margin-top: 40px; color: var(--grey); font-size: 12px; }
@media print { main { max-width: none; padding: 0; } figure { break-inside: avoid; } }
"""


def _e(text: object) -> str:
    """Model-derived text made safe for HTML text and attribute values."""
    shown = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))
    return html.escape(shown, quote=True)


def _steps(n: int) -> str:
    return f"{n} step{'s' if n != 1 else ''}"


def _badge(status: str, extra: str = "") -> str:
    cls = _STATUS_CLASS.get(status, "not-checked")
    return f'<span class="badge {cls}{extra}">{_e(status)}</span>'


def _how_it_ended(result: CheckResult) -> str:
    if result.complete and any(p.kind == "bound" for p in result.properties):
        return "every state reachable within the model's bounds explored"
    if result.complete:
        return "every reachable state explored"
    if result.limit:
        return f"stopped at {result.limit}"
    return "stopped once every invariant was violated"


def _subject(p: PropertyResult) -> str:
    # a bound's name already says it is one ("bound: no-free-slot in ...")
    return p.name if p.name.startswith(f"{p.kind}:") else f"{p.kind} {p.name}"


def _header(model_path: str, result: CheckResult) -> list[str]:
    s = result.stats
    v = result.verdict
    stats = [
        ("engine", result.engine),
        ("states", f"{s.states:,}"),
        ("transitions", f"{s.transitions:,}"),
        ("depth", str(s.depth)),
        ("time", f"{s.seconds:.2f} s"),
        ("search", _how_it_ended(result)),
    ]
    out = [
        f'<header class="{_STATUS_CLASS.get(v, "not-checked")}">',
        f"<h1>kcheck: {_e(result.model)} {_badge(v, ' verdict')}</h1>",
        f'<p class="subtitle">model <code>{_e(model_path)}</code></p>',
        '<dl class="stats">',
    ]
    out += [f"<div><dt>{k}</dt><dd>{_e(val)}</dd></div>" for k, val in stats]
    out.append("</dl>")
    if result.notes:
        out.append('<ul class="notes">')
        out += [f"<li>note: {_e(n)}</li>" for n in result.notes]
        out.append("</ul>")
    out.append("</header>")
    return out


def _property_table(result: CheckResult, anchors: Mapping[int, str]) -> list[str]:
    out = [
        "<h2>Properties</h2>",
        '<table class="properties">',
        "<thead><tr><th>kind</th><th>name</th><th>status</th>"
        '<th class="num">line</th><th>detail</th></tr></thead>',
        "<tbody>",
    ]
    for i, p in enumerate(result.properties):
        detail: list[str] = []
        if i in anchors and p.trace is not None:
            detail.append(f'<a href="#{anchors[i]}">counterexample of {_steps(len(p.trace))}</a>')
        if p.reason:
            detail.append(_e(p.reason))
        line = str(p.line) if p.line is not None else ""
        out.append(
            f'<tr><td>{_e(p.kind)}</td><td class="name">{_e(p.name)}</td>'
            f'<td>{_badge(p.status)}</td><td class="num">{line}</td>'
            f"<td>{'; '.join(detail)}</td></tr>"
        )
    out += ["</tbody>", "</table>"]
    return out


def _coverage_table(cov: Coverage) -> list[str]:
    """A simulation's coverage (spec/simulate.md): per action, how often its walks fired it."""
    out = [
        f"<h2>Coverage ({cov.traces:,} random traces of depth {cov.depth}, seed {cov.seed})</h2>"
        if not cov.exhaustive
        else f"<h2>Coverage of the reachable graph ({cov.states:,} states"
        f"{'' if cov.complete else ', incomplete'})</h2>",
        '<table class="properties">',
        '<thead><tr><th>action</th><th class="num">fired</th>'
        # a pass over the whole graph takes every enabled step: none is passed over
        + ("" if cov.exhaustive else '<th class="num">enabled, not taken</th>')
        + '<th class="num">deepest step</th></tr></thead>',
        "<tbody>",
    ]
    for a in cov.actions:
        fired = str(a.fired) if a.fired else "never"
        passed = "" if cov.exhaustive else f'<td class="num">{a.passed}</td>'
        out.append(
            f'<tr><td class="name">{_e(a.action)}</td><td class="num">{fired}</td>'
            f'{passed}<td class="num">{a.deepest or ""}</td></tr>'
        )
    out += ["</tbody>", "</table>"]
    if cov.branches:
        out += _branch_table(cov)
    return out


def _branch_table(cov: Coverage) -> list[str]:
    """Guards (held/failed per conjunct) and branches (taken, deepest step), by source line."""
    out = [
        "<h3>Guards and branches</h3>",
        '<table class="properties">',
        "<thead><tr><th>action</th><th>at</th><th>kind</th><th>code</th>"
        '<th class="num">held / taken</th><th class="num">failed</th>'
        '<th class="num">deepest step</th></tr></thead>',
        "<tbody>",
    ]
    for b in cov.branches:
        count = str(b.count) if b.count else "never"
        failed = str(b.failed) if b.guard else ""
        deepest = "" if b.guard or not b.count else str(b.deepest)
        out.append(
            f'<tr><td class="name">{_e(b.action)}</td><td>{b.line}:{b.col}</td>'
            f"<td>{_e(b.kind)}</td><td><code>{_e(b.text)}</code></td>"
            f'<td class="num">{count}</td><td class="num">{failed}</td>'
            f'<td class="num">{deepest}</td></tr>'
        )
    out += ["</tbody>", "</table>"]
    return out


# --- pictures -------------------------------------------------------------------------------


class _NoDot(Exception):
    pass


def _svg(graph: graphviz.Digraph, prefix: str) -> str:
    """The graph as an inline <svg> element. Element ids get `prefix` so that the several
    pictures of one page do not share ids (graphviz numbers them node1, node2, ... in each)."""
    try:
        text: str = graph.pipe(format="svg", encoding="utf-8", quiet=True)
    except graphviz.ExecutableNotFound:
        raise _NoDot from None
    svg = _SVG_PREAMBLE.sub("", text)
    start = svg.find("<svg")
    if start < 0:
        raise dot.ReportError("Graphviz `dot` wrote no <svg> element")
    return _SVG_ID.sub(f'id="{prefix}-', svg[start:]).strip()


def _pictures(p: PropertyResult, kinds: Mapping[str, str], anchor: str) -> list[str]:
    out: list[str] = []
    for what, draw, caption in (
        ("trace", dot.trace_graph, "The counterexample as a chain of states"),
        ("swimlane", dot.swimlane, "The same steps as a sequence diagram, one column per actor"),
    ):
        try:
            svg = _svg(draw(p, kinds), f"{anchor}-{what}")
        except _NoDot:
            return [f'<p class="pictures-missing">{_e(NO_DOT)}</p>']
        except graphviz.CalledProcessError as err:
            raw = err.stderr or b""
            stderr = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            first = (stderr.strip().splitlines() or ["no message"])[0]
            out.append(
                f'<p class="pictures-missing">The {what} picture could not be drawn: Graphviz'
                f" `dot` failed (exit {err.returncode}): {_e(first)}</p>"
            )
            continue
        except dot.ReportError as err:
            out.append(
                f'<p class="pictures-missing">The {what} picture could not be drawn:'
                f" {_e(err.message)}</p>"
            )
            continue
        out.append(f'<figure class="{what}"><figcaption>{caption}</figcaption>{svg}</figure>')
    return out


def _mermaid(p: PropertyResult, kinds: Mapping[str, str]) -> list[str]:
    """The sequence diagram's Mermaid source, folded, to paste into a GitHub issue or a wiki
    (which draw it); the page itself shows the Graphviz picture and runs no script."""
    return [
        '<details class="mermaid-source"><summary>Mermaid source of the sequence diagram'
        " (GitHub draws it in a <code>```mermaid</code> block)</summary>",
        f'<pre class="mono">{_e(sequence_diagram(p, kinds))}</pre>',
        "</details>",
    ]


# --- the step table -------------------------------------------------------------------------


def _call(step: Step) -> str:
    args = ", ".join(f"{k}={show_value(v)}" for k, v in step.args.items())
    return f"{step.action}({args})"


def _changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for path in changed_fields(before, after):
        if path.endswith(" created"):
            oid = path.removesuffix(" created")
            fields = after[oid.split("#")[0]][oid]
            fs = ", ".join(f"{f}={show_value(v)}" for f, v in fields.items())
            out.append(f'<div class="created">+ {_e(oid)} {{{_e(fs)}}}</div>')
        elif path.endswith(" deleted"):
            out.append(f'<div class="deleted">− {_e(path.removesuffix(" deleted"))}</div>')
        elif before is not None:
            old, new = show_value(lookup(before, path)), show_value(lookup(after, path))
            out.append(
                f'<div>{_e(path)}: <span class="old">{_e(old)}</span> → '
                f'<span class="new">{_e(new)}</span></div>'
            )
    return out or ['<div class="nochange">(no change)</div>']


def _loop_note(trace: Trace) -> str:
    k, n = trace.loop_start, len(trace.steps) - 1
    assert k is not None
    if k == n:
        text = (
            f"⟲ from step {k} the behaviour stays in this state forever ({stutter_reason(trace)})"
        )
    else:
        text = (
            f"⟲ steps {k + 1}..{n} repeat forever"
            f" (state {n} is state {k} again{loop_renaming(trace)})"
        )
    return f'<tr class="loop-note"><td colspan="4">{_e(text)}</td></tr>'


def _step_table(p: PropertyResult, trace: Trace, kinds: Mapping[str, str]) -> list[str]:
    out = [
        '<table class="steps mono">',
        '<thead><tr><th class="num">step</th><th>actor</th><th>action(args)</th>'
        "<th>changes</th></tr></thead>",
        "<tbody>",
    ]
    k, last = trace.loop_start, len(trace.steps) - 1
    prev: dict[str, Any] | None = None
    for i, step in enumerate(trace.steps):
        classes = []
        if step.action is None:
            classes.append("initial")
            actor = ""
            action = "initial state"
            changes = [f"<div>{_e(x)}</div>" for x in state_lines(step.state or {})]
        else:
            name = step.action.split(".", 1)[0]
            kind = kinds.get(name, "actor")
            actor = f'<span class="kind {_e(kind)}">{_e(kind)}</span>{_e(name)}'
            action = _e(_call(step))
            if step.line is not None:
                action += f' <span class="line">line {step.line}</span>'
            if step.error is not None:
                changes = [f'<div class="error">error: {_e(step.error)}</div>']
            elif step.state is not None:
                changes = _changes(prev, step.state)
            else:
                changes = []
        if k is not None and k < i:
            classes.append("loop")
        if i == last and p.status == VIOLATED and k is None:
            classes.append("last")
        if k is not None and i == k + 1:
            out.append(_loop_note(trace))
        cls = f' class="{" ".join(classes)}"' if classes else ""
        out.append(
            f'<tr{cls}><td class="num">{i}</td><td>{actor}</td><td>{action}</td>'
            f'<td class="changes">{"".join(changes)}</td></tr>'
        )
        if step.state is not None:
            prev = step.state
    if k is not None and k == last:
        out.append(_loop_note(trace))
    out += ["</tbody>", "</table>"]
    return out


def _conclusion(p: PropertyResult, trace: Trace) -> str | None:
    if p.status != VIOLATED:
        return None
    if p.kind == "invariant":
        return f"The last state violates invariant {p.name}."
    if p.kind == "bound":
        # a bound's reason may end in its hint's full stop (model/bounds.py)
        return (
            f"The last step fails: {p.reason.rstrip('.')}." if p.reason else "The last step fails."
        )
    loop = loop_sentence(trace)
    if loop is not None:
        return f"{p.name} does not hold: {loop.removeprefix('then ')}."
    return f"{p.name} does not hold."


def _counterexample(p: PropertyResult, kinds: Mapping[str, str], anchor: str) -> list[str]:
    assert p.trace is not None
    trace = p.trace
    where = f" (line {p.line})" if p.line is not None else ""
    title = f"Counterexample for {_subject(p)}{where}, {_steps(len(trace))}"
    out = [f'<section class="counterexample" id="{anchor}">', f"<h2>{_e(title)}</h2>"]
    conclusion = _conclusion(p, trace)
    if conclusion:
        out.append(f'<p class="conclusion">{_e(conclusion)}</p>')
    if p.explanation:
        out.append('<pre class="why mono">' + _e("\n".join(p.explanation)) + "</pre>")
    out += _pictures(p, kinds, anchor)
    out += _mermaid(p, kinds)
    out.append("<h3>Step by step</h3>")
    out += _step_table(p, trace, kinds)
    out.append("</section>")
    return out


def to_html(
    model_path: str, compiled: CompiledModel, result: CheckResult, tool_version: str
) -> str:
    """The report of one `kcheck verify` run as a complete HTML document (a str ending in a
    newline), loading nothing from anywhere. Needs Graphviz's `dot` only for the pictures."""
    kinds = dot.actor_kinds_of(compiled)
    anchors = {
        i: f"cx-{n}"
        for n, i in enumerate(
            (i for i, p in enumerate(result.properties) if p.trace is not None and p.trace.steps),
            start=1,
        )
    }
    title = f"kcheck: {result.model}: {result.verdict}"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        # nothing may be fetched: a report opens offline and cannot phone home
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';'
        " style-src 'unsafe-inline'; img-src data:\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="kcheck {_e(tool_version)}">',
        f"<title>{_e(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
    ]
    out += _header(model_path, result)
    out += _property_table(result, anchors)
    if result.coverage is not None:
        out += _coverage_table(result.coverage)
    for i, anchor in anchors.items():
        out += _counterexample(result.properties[i], kinds, anchor)
    if not anchors:
        out.append('<p class="subtitle">No counterexample: nothing to show step by step.</p>')
    out += [
        f"<footer>Written by kcheck {_e(tool_version)} from <code>{_e(model_path)}</code>."
        "</footer>",
        "</main>",
        "</body>",
        "</html>",
    ]
    return "\n".join(out) + "\n"
