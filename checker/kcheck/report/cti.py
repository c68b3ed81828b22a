"""A counterexample to induction as pictures (spec/smt.md, "Invariant inference"): the state
where every invariant and lemma holds (not necessarily reachable), the step, and the state it
breaks, in text (lines), as a graphviz drawing in the style of report/dot.py's traces, and as a
self-contained HTML page with the lemmas inferred."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

import graphviz  # type: ignore[import-untyped]

from kcheck.report.dot import (
    BAD,
    BAD_BG,
    INITIAL_BG,
    digraph,
    esc,
    font,
    framed,
    html_label,
    state_rows,
)
from kcheck.report.text import format_trace
from kcheck.trace import Trace

HOLDS_HERE = "every invariant and lemma holds here (a state induction cannot rule out)"


def cti_lines(name: str, trace: Trace) -> list[str]:
    """`name`'s counterexample to induction in words, one line per state and step."""
    what = "a step fails" if name == "bound" else f"{name} fails"
    lines = [f"counterexample to induction for {name}: {HOLDS_HERE}; then {what}"]
    shown = format_trace(trace)
    if shown:  # the first state is not an initial one
        shown[0] = shown[0].replace("initial state", "a state where all hold")
    return lines + [f"  {line}" for line in shown]


def cti_graph(name: str, trace: Trace, actor_kinds: Mapping[str, str]) -> graphviz.Digraph:
    """The two states (or the state and its failing step) and the step between them."""
    g = digraph("cti", f"counterexample to induction for {name}")
    g.attr(rankdir="TB", nodesep="0.4", ranksep="0.45")
    first, step = trace.steps[0], trace.steps[1]
    assert first.state is not None
    rows = [f"<B>{esc('state')}</B>  " + font(esc(HOLDS_HERE), "#5f6368", 10)]
    rows += state_rows(first.state, None, True)
    g.node("s0", html_label(framed(rows, "#1a73e8", INITIAL_BG, 2)))
    after: list[str]
    if step.state is None:
        after = [f"<B>{font(esc(f'the step fails: {step.error}'), BAD)}</B>"]
    else:
        after = [f"<B>{esc('after the step')}</B>"]
        after += state_rows(step.state, first.state, True)
        after.append(f"<B>{font(esc(f'{name} is violated'), BAD)}</B>")
    g.node("s1", html_label(framed(after, BAD, BAD_BG, 2)))
    args = ", ".join(f"{k}={_show(v)}" for k, v in step.args.items())
    g.edge("s0", "s1", label=html_label(f"<B>{esc(f'{step.action}({args})')}</B>"))
    return g


def _show(v: Any) -> str:
    return "none" if v is None else str(v).lower() if isinstance(v, bool) else str(v)


def cti_html(model: str, lemmas: list[str], ctis: Mapping[str, Trace],
             actor_kinds: Mapping[str, str]) -> str:  # fmt: skip
    """A self-contained page: the lemmas inferred, then each counterexample to induction left
    in text and as an inline picture (text only when Graphviz is missing)."""
    out = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8">',
        f"<title>kcheck infer: {html.escape(model)}</title></head><body>",
        f"<h1>kcheck infer: {html.escape(model)}</h1>",
        "<h2>Lemmas used</h2>",
        "<pre>" + html.escape("\n".join(lemmas) or "(none)") + "</pre>",
    ]
    for i, (name, trace) in enumerate(sorted(ctis.items())):
        out.append(f"<h2>Counterexample to induction: {html.escape(name)}</h2>")
        out.append("<pre>" + html.escape("\n".join(cti_lines(name, trace))) + "</pre>")
        try:
            svg = cti_graph(name, trace, actor_kinds).pipe(format="svg", encoding="utf-8")
        except graphviz.ExecutableNotFound:
            continue
        start = svg.find("<svg")
        if start >= 0:  # ids made unique per picture, as the page holds several
            out.append(re.sub(r'id="', f'id="cti{i}-', svg[start:]))
    out.append("</body></html>")
    return "\n".join(out) + "\n"
