"""A counterexample as a Mermaid `sequenceDiagram`: the sequence diagram of `dot.swimlane` as
text that GitHub (and any Mermaid renderer) draws without Graphviz. The Markdown summary
embeds it in a ```mermaid block and the HTML report shows its source. See spec/reports.md.

Mermaid's grammar gives meaning to `;`, `#`, `%%`, `:`, `,`, `<` and more, and renders HTML
in labels, so every character of model text outside a small safe set is written as a Mermaid
entity code (`#35;` for `#`), which Mermaid decodes only after parsing and shows as text.
Participant ids are synthetic (`a0`, `a1`), never model text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kcheck.report.dot import lanes_of, loop_words
from kcheck.report.text import lookup, state_lines
from kcheck.result import VIOLATED, PropertyResult
from kcheck.trace import Trace, changed_fields, show_value

# Left as they are: letters, digits and punctuation with no meaning to Mermaid's sequence
# grammar or to HTML. Everything else, including `#` itself and any non-ASCII, is encoded.
_UNSAFE = re.compile(r"[^A-Za-z0-9 _.=(){}+\-/]")
_BR = "<br/>"


def text(value: str) -> str:
    """Model text made safe as Mermaid label text: one line, every character outside the safe
    set as an entity code `#N;` (decimal), so nothing can end a statement, start a comment or
    become markup."""
    one_line = " ".join(value.split())
    return _UNSAFE.sub(lambda m: f"#{ord(m.group())};", one_line) or "#32;"


def change_lines(prev: Mapping[str, Any] | None, state: Mapping[str, Any]) -> list[str]:
    """What a step changed, in the text report's words: `+ Pod#0 {...}` created, `- Pod#0`
    deleted, `Pod#0.node: none → Node#1` changed."""
    out: list[str] = []
    for path in changed_fields(dict(prev) if prev is not None else None, dict(state)):
        if path.endswith(" created"):
            oid = path.removesuffix(" created")
            fields = state[oid.split("#")[0]][oid]
            out.append(
                f"+ {oid} {{" + ", ".join(f"{f}={show_value(v)}" for f, v in fields.items()) + "}"
            )
        elif path.endswith(" deleted"):
            out.append(f"- {path.removesuffix(' deleted')}")
        elif prev is not None:
            out.append(
                f"{path}: {show_value(lookup(prev, path))} → {show_value(lookup(state, path))}"
            )
    return out


def _note(over: str, lines: list[str]) -> str:
    return f"    Note over {over}: " + _BR.join(text(x) for x in lines)


def sequence_diagram(prop: PropertyResult, actor_kinds: Mapping[str, str]) -> str:
    """The counterexample of `prop` as Mermaid source (no fence), ending in a newline: one
    participant per acting actor in `lanes_of` order, the initial state as a note over all of
    them, one note per step over its actor (step number, call, line, changes), a lasso's
    repeating steps inside a `loop` block, and the verdict as a last note."""
    trace = prop.trace
    if trace is None or not trace.steps:
        raise ValueError(f"{prop.kind} {prop.name} has no counterexample to draw")
    lanes = lanes_of(trace, actor_kinds)
    ids = {actor: f"a{j}" for j, actor in enumerate(lanes)}
    out = ["sequenceDiagram"]
    for actor in lanes:
        kind = actor_kinds.get(actor)
        out.append(f"    participant {ids[actor]} as {text(f'{kind} {actor}' if kind else actor)}")
    if not lanes:  # a counterexample of no step: something to hang the notes on
        out.append(f"    participant a0 as {text('initial state')}")
    everyone = "a0" if len(lanes) <= 1 else f"a0,a{len(lanes) - 1}"
    first = trace.steps[0]
    init = ["initial state", *state_lines(first.state or {})]
    if first.error is not None:
        init.append(f"error: {first.error}")
    out.append(_note(everyone, init))
    k, last = trace.loop_start, len(trace.steps) - 1
    prev = first.state
    indent = ""
    for i, step in enumerate(trace.steps[1:], start=1):
        assert step.action is not None
        if k is not None and i == k + 1:
            out.append(f"    loop {text(loop_words(trace) or '')}")
            indent = "    "
        args = ", ".join(f"{a}={show_value(v)}" for a, v in step.args.items())
        head = f"{i}  {step.action}({args})" + (f"  line {step.line}" if step.line else "")
        if step.state is None:
            body = [f"error: {step.error}"]
        else:
            body = change_lines(prev, step.state) or ["(no change)"]
            prev = step.state
        out.append(indent + _note(ids[step.action.split(".", 1)[0]], [head, *body]))
    if indent:
        out.append("    end")
    elif k is not None and k == last:
        out.append(_note(everyone, [loop_words(trace) or ""]))
    if prop.status == VIOLATED:
        out.append(_note(everyone, [_verdict(prop, trace)]))
    return "\n".join(out) + "\n"


def _verdict(prop: PropertyResult, trace: Trace) -> str:
    where = f" (line {prop.line})" if prop.line else ""
    if prop.kind == "bound":
        return f"{prop.name}{where}" + (f": {prop.reason}" if prop.reason else "")
    return f"violates {prop.kind} {prop.name}{where}"
