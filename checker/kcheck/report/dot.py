"""Pictures of behaviours, drawn with Graphviz: a counterexample as a chain of states and the
same trace as a sequence diagram with one column per actor, the helpers every picture shares
(labels, state rows, rendering), and `render`. The state-space graph of `kcheck graph` is in
statespace.py. This module builds `graphviz.Digraph` objects and renders them; it never prints.

Every label is an HTML-like label built from `html.escape`d text, so nothing a model or a trace
contains (names, values, error messages) can break out of it. Node names are synthetic (`s3`,
`r2_1`), never model text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

# graphviz 0.21 ships no type information (no py.typed, no typeshed stubs). A stub would have
# to be a top-level `graphviz.pyi` on mypy's path to type this import; the few calls made here
# are covered by the golden tests instead. Imported where a picture is drawn: `kcheck verify`
# imports this module for its text report, and graphviz costs start-up time.
if TYPE_CHECKING:
    import graphviz  # type: ignore[import-untyped]

from kcheck.model.ir import CompiledModel
from kcheck.report.text import lookup
from kcheck.result import PropertyResult
from kcheck.trace import Step, Trace, changed_fields, loop_renaming, show_value, stutter_reason

FORMATS = ("dot", "svg", "png", "pdf")
INSTALL_HINT = (
    "install Graphviz (Debian/Ubuntu: `apt-get install graphviz`, macOS: `brew install graphviz`,"
    " others: https://graphviz.org/download/), or write the DOT source with a .dot extension"
)

# Actor kinds in lane order; an actor missing from the mapping gets a lane after these.
KIND_ORDER = ("controller", "scheduler", "process", "fault")
# A state with more rows than this shows, after the first step, only what changed.
FULL_STATE_ROWS = 10

_FONT = "Helvetica"
_CHANGED = "#0b57d0"  # blue: a field the step changed
_CREATED = "#137333"  # green: an object the step created
_GONE = "#80868b"  # grey: an object the step deleted, unchanged counts, notes
BAD = "#b3261e"  # red: the violation, an error
INITIAL_BG = "#e8f0fe"
BAD_BG = "#fce8e6"
_LANE_BG = {
    "controller": "#e8f0fe",
    "scheduler": "#fef7e0",
    "process": "#e6f4ea",
    "fault": "#fce8e6",
}


class ReportError(Exception):
    """A report could not be written; the message says what to do about it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- text helpers ---------------------------------------------------------------------------


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # graphviz rejects these in labels


def esc(text: str) -> str:
    """Text made safe for an HTML-like label (line breaks kept as breaks, control characters
    shown as \\xNN as the other reports do)."""
    shown = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return html.escape(shown, quote=True).replace("\n", '<BR ALIGN="LEFT"/>')


def font(text_html: str, colour: str | None = None, size: int | None = None) -> str:
    attrs = (f' COLOR="{colour}"' if colour else "") + (f' POINT-SIZE="{size}"' if size else "")
    return f"<FONT{attrs}>{text_html}</FONT>" if attrs else text_html


def html_label(inner: str) -> str:
    """An HTML-like label: the graphviz package passes `<...>` through unquoted."""
    return f"<{inner}>"


def framed(rows: Iterable[str], border: str, bg: str, width: int = 1) -> str:
    body = "".join(f'<TR><TD ALIGN="LEFT" BALIGN="LEFT">{r}</TD></TR>' for r in rows)
    return (
        f'<TABLE BORDER="{width}" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3"'
        f' STYLE="ROUNDED" COLOR="{border}" BGCOLOR="{bg}">{body}</TABLE>'
    )


def _call(step: Step) -> str:
    args = ", ".join(f"{k}={show_value(v)}" for k, v in step.args.items())
    return f"{step.action}({args})"


def _actor(action: str) -> str:
    return action.split(".", 1)[0]


def actor_kinds_of(model: CompiledModel) -> dict[str, str]:
    """Each actor's kind (controller, process, scheduler or fault), in declaration order: the
    mapping `trace_graph` and `swimlane` take."""
    return {a.actor: a.actor_kind for a in model.actions}


def _kind_of(actor_kinds: Mapping[str, str], action: str) -> str:
    return actor_kinds.get(_actor(action), "actor")


def _verdict_line(prop: PropertyResult, trace: Trace) -> str:
    where = f" (line {prop.line})" if prop.line else ""
    if prop.kind == "bound":
        return f"{prop.name}{where}"
    return f"violates {prop.kind} {prop.name}{where}" + _loop_words(trace)


def _loop_words(trace: Trace) -> str:
    """A lasso's last state is its loop's first state again (the engines replay it so); a loop
    of no steps is a behaviour that stays in its last state (no fair action is enabled)."""
    k, n = trace.loop_start, len(trace.steps) - 1
    if k is None:
        return ""
    if k == n:
        return f": from here it stays in this state forever ({stutter_reason(trace)})"
    return (
        f": steps {k + 1}-{n} repeat forever (state {n} is state {k} again{loop_renaming(trace)})"
    )


def _title(prop: PropertyResult, trace: Trace, what: str) -> str:
    where = f" (line {prop.line})" if prop.line else ""
    n = len(trace)
    # a bound's name already says it is one ("bound: no-free-slot in ...")
    subject = prop.name if prop.name.startswith(f"{prop.kind}:") else f"{prop.kind} {prop.name}"
    return f"{what} for {subject}{where}, {n} step{'s' if n != 1 else ''}"


# --- state rows -----------------------------------------------------------------------------


def _object_row(oid: str, fields: Mapping[str, Any], changed: set[str], before: Any) -> str:
    parts = []
    for f, v in fields.items():
        text = esc(f"{f}={show_value(v)}")
        if f"{oid}.{f}" in changed:
            was = font(esc(f" was {show_value(before[oid][f])}"), _GONE, 9)
            parts.append(f"<B>{font(text, _CHANGED)}</B>{was}")
        else:
            parts.append(text)
    return f"<B>{esc(oid)}</B>  " + "  ".join(parts)


def state_rows(state: Mapping[str, Any], before: Mapping[str, Any] | None, full: bool) -> list[str]:
    """One row per var and per object; with `before`, what changed is highlighted, and unless
    `full` the unchanged rows are only counted."""
    changed = set(changed_fields(dict(before), dict(state))) if before is not None else set()
    rows: list[str] = []
    unchanged = 0
    for key, value in state.items():
        if isinstance(value, dict):
            continue
        if key in changed:
            was = font(esc(f" was {show_value(before.get(key) if before else None)}"), _GONE, 9)
            rows.append(f"<B>{font(esc(f'{key} = {show_value(value)}'), _CHANGED)}</B>{was}")
        elif full:
            rows.append(esc(f"{key} = {show_value(value)}"))
        else:
            unchanged += 1
    for key, objs in state.items():
        if not isinstance(objs, dict):
            continue
        if not objs and full and before is None:
            rows.append(font(esc(f"{key}: (none)"), _GONE))
        old = before.get(key) if before is not None else None
        old = old if isinstance(old, dict) else {}
        for oid, fields in objs.items():
            if f"{oid} created" in changed:
                fs = "  ".join(esc(f"{f}={show_value(v)}") for f, v in fields.items())
                rows.append(font(f"<B>+ {esc(oid)}</B>  {fs}", _CREATED))
            elif full or any(p.startswith(f"{oid}.") for p in changed):
                rows.append(_object_row(oid, fields, changed, old))
            else:
                unchanged += 1
        rows.extend(
            font(esc(f"− {oid} deleted"), _GONE) for oid in old if f"{oid} deleted" in changed
        )
    if unchanged:
        rows.append(font(esc(f"… {unchanged} unchanged"), _GONE, 10))
    elif not rows:
        rows.append(font("(empty)", _GONE))
    return rows


def _row_count(state: Mapping[str, Any]) -> int:
    return sum(len(v) if isinstance(v, dict) else 1 for v in state.values())


def _change_lines(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """What a step changed, as the text report words it."""
    out: list[str] = []
    for path in changed_fields(dict(before), dict(after)):
        if path.endswith(" created"):
            oid = path[: -len(" created")]
            fields = after[oid.split("#")[0]][oid]
            fs = ", ".join(f"{f}={show_value(v)}" for f, v in fields.items())
            out.append(font(esc(f"+ {oid} {{{fs}}}"), _CREATED))
        elif path.endswith(" deleted"):
            out.append(font(esc(f"− {path[: -len(' deleted')]}"), _GONE))
        else:
            old, new = lookup(before, path), lookup(after, path)
            out.append(esc(f"{path}: {show_value(old)} → ") + f"<B>{esc(show_value(new))}</B>")
    return out or [font("(no change)", _GONE)]


def trace_graph(
    prop: PropertyResult, actor_kinds: Mapping[str, str], *, full_rows: int = FULL_STATE_ROWS
) -> graphviz.Digraph:
    """The counterexample of `prop` as a chain of states, top to bottom. Each state lists the
    vars and objects with what its step changed highlighted (states with more than `full_rows`
    rows show only the changes and a count of the rest); each edge names the actor kind and the
    call `actor.action(args)`; the last state names the violated property (an error step, its
    error); a lasso's loop is a dashed back edge to where it starts."""
    trace = _trace_of(prop)
    g = digraph("counterexample", _title(prop, trace, "counterexample"))
    g.attr(rankdir="TB", nodesep="0.4", ranksep="0.45")
    last = len(trace.steps) - 1
    prev: Mapping[str, Any] | None = None
    for i, step in enumerate(trace.steps):
        if step.state is None:  # a step that could not complete: only its error to show
            rows = [
                f"<B>{esc(f'step {i}')}</B>  " + font(esc("could not complete"), BAD),
                font(esc(f"error: {step.error}"), BAD),
            ]
            if i == last:
                rows.append(f"<B>{font(esc(_verdict_line(prop, trace)), BAD)}</B>")
            g.node(f"s{i}", html_label(framed(rows, BAD, BAD_BG, 2)))
        else:
            full = prev is None or _row_count(step.state) <= full_rows
            head = "initial state" if i == 0 else f"after step {i}"
            if i == trace.loop_start and i != last:
                head += ", the loop starts here"
            elif trace.loop_start is not None and i == last and i != trace.loop_start:
                head += f", state {trace.loop_start} again"
            rows = [f"<B>{esc(f'state {i}')}</B>  " + font(esc(head), _GONE, 10)]
            rows += state_rows(step.state, prev, full)
            bad = i == last and prop.status == "violated"
            if bad:
                rows.append(f"<B>{font(esc(_verdict_line(prop, trace)), BAD)}</B>")
            border, bg, width = (
                (BAD, BAD_BG, 2)
                if bad
                else ("#1a73e8", INITIAL_BG, 2)
                if i == 0
                else ("#5f6368", "white", 1)
            )
            g.node(f"s{i}", html_label(framed(rows, border, bg, width)))
            prev = step.state
        if i > 0 and step.action is not None:
            g.edge(f"s{i - 1}", f"s{i}", label=_edge_label(i, step, actor_kinds))
    k = trace.loop_start
    if k is not None and 0 <= k <= last:
        words = "stays here forever" if k == last else f"repeats forever: state {last} is state {k}"
        g.edge(
            f"s{last}",
            f"s{k}",
            label=html_label(font(esc(words), BAD)),
            style="dashed",
            color=BAD,
            constraint="false",
        )
    return g


def _edge_label(i: int, step: Step, actor_kinds: Mapping[str, str]) -> str:
    assert step.action is not None
    kind = _kind_of(actor_kinds, step.action)
    where = f", line {step.line}" if step.line else ""
    return html_label(
        font(esc(f"step {i}: {kind}{where}"), _GONE, 9) + f"<BR/><B>{esc(_call(step))}</B>"
    )


def _trace_of(prop: PropertyResult) -> Trace:
    if prop.trace is None or not prop.trace.steps:
        raise ReportError(f"{prop.kind} {prop.name} has no counterexample to draw")
    return prop.trace


def digraph(name: str, title: str) -> graphviz.Digraph:
    import graphviz

    return graphviz.Digraph(
        name,
        graph_attr={
            "label": html_label(f"<B>{esc(title)}</B>"),
            "labelloc": "t",
            "fontname": _FONT,
        },
        node_attr={"shape": "plain", "fontname": _FONT, "fontsize": "11"},
        edge_attr={"fontname": _FONT, "fontsize": "10"},
    )


# --- the counterexample as a sequence diagram ----------------------------------------------


def lanes_of(trace: Trace, actor_kinds: Mapping[str, str]) -> list[str]:
    """The actors that act in `trace`, in column order: controllers, the scheduler, processes
    (the kubelet), then faults, then actors `actor_kinds` does not name, in order of appearance;
    within a kind, in declaration order."""
    actors: list[str] = []
    for step in trace.steps[1:]:
        if step.action is not None and _actor(step.action) not in actors:
            actors.append(_actor(step.action))
    declared = list(actor_kinds)

    def lane_key(actor: str) -> tuple[int, int]:
        kind = actor_kinds.get(actor)
        rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
        return rank, declared.index(actor) if actor in declared else len(declared)

    return sorted(actors, key=lane_key)  # stable: undeclared actors in order of appearance


def loop_words(trace: Trace) -> str | None:
    """What a lasso's loop does, as the sequence diagrams head it; None without a loop."""
    k, n = trace.loop_start, len(trace.steps) - 1
    if k is None:
        return None
    if k == n:
        return f"⟲ from step {n} it stays in this state forever ({stutter_reason(trace)})"
    return (
        f"⟲ steps {k + 1}-{n} repeat forever (state {n} is state {k} again{loop_renaming(trace)})"
    )


_LIFELINE = f'<TD BORDER="1" SIDES="R" STYLE="dashed" COLOR="{_GONE}"></TD><TD></TD>'
_LOOP_BG = "#fef7e0"
_LOOP_INK = "#8a5a00"


def swimlane(prop: PropertyResult, actor_kinds: Mapping[str, str]) -> graphviz.Digraph:
    """The counterexample of `prop` as a sequence diagram read top to bottom: one column per
    actor that acts in it (ordered as `lanes_of`), headed by its kind and name, with a dashed
    lifeline down the middle; the initial state in full on the first row, then one row per step
    with the step number at the left and a box in its actor's column holding the call, its
    line and what it changed. A lasso's loop is bracketed on the left and headed with how it
    repeats; the verdict is the last row. The whole diagram is one Graphviz HTML table, so a
    box can never leave its column and time always runs down."""
    trace = _trace_of(prop)
    lanes = lanes_of(trace, actor_kinds)
    cols = 2 * max(len(lanes), 1)  # two cells per actor: the lifeline is the border between
    k, last = trace.loop_start, len(trace.steps) - 1
    loop_from = k + 1 if k is not None and k < last else None  # the first step that repeats
    lead = 2 if loop_from is not None else 1  # the loop bracket's column, the step numbers'

    def row(cells: str, skip: int = lead) -> str:
        return f"<TR>{'<TD></TD>' * skip}{cells}</TR>"

    def wide(inner: str, pad: int = 2) -> str:
        return f'<TD COLSPAN="{cols}" ALIGN="LEFT" CELLPADDING="{pad}">{inner}</TD>'

    def num(i: int) -> str:
        return f'<TD ALIGN="RIGHT" VALIGN="TOP" CELLPADDING="6">{font(str(i), _GONE, 10)}</TD>'

    def head(actor: str) -> str:
        kind = actor_kinds.get(actor, "actor")
        text = font(esc(kind), _GONE, 9) + f"<BR/><B>{esc(actor)}</B>"
        head_box = framed([text], "#5f6368", _LANE_BG.get(kind, "#f1f3f4"))
        return f'<TD COLSPAN="2" CELLPADDING="4">{head_box}</TD>'

    rows = [row("".join(head(a) for a in lanes) or wide(""))]
    first = trace.steps[0].state or {}
    init = [f"<B>{esc('initial state')}</B>", *state_rows(first, None, True)]
    if trace.steps[0].error is not None:
        init.append(font(esc(f"error: {trace.steps[0].error}"), BAD))
    rows.append(row(num(0) + wide(framed(init, "#1a73e8", INITIAL_BG, 2), 4), lead - 1))
    loop_head = font(f"<B>{esc(loop_words(trace) or '')}</B>", _LOOP_INK)
    prev: Mapping[str, Any] = first
    for i, step in enumerate(trace.steps[1:], start=1):
        assert step.action is not None
        lane = lanes.index(_actor(step.action))
        bracket = "<TD></TD>" if loop_from is not None and i < loop_from else ""
        if i == loop_from:
            rows.append(row(wide(loop_head)))
            bracket = (
                f'<TD ROWSPAN="{last - i + 1}" BGCOLOR="{_LOOP_BG}" BORDER="1" SIDES="L"'
                f' COLOR="{_LOOP_INK}">{font("⟲", _LOOP_INK, 14)}</TD>'
            )
        box = f'<TD COLSPAN="2" CELLPADDING="3">{_step_box(step, prev, prop, i == last)}</TD>'
        cells = "".join(box if j == lane else _LIFELINE for j in range(len(lanes)))
        rows.append(row(bracket + num(i) + cells, 0))
        if step.state is not None:
            prev = step.state
    if k is not None and k == last:  # a loop of no steps: the behaviour stays where it ends
        rows.append(row(wide(loop_head)))
    if prop.status == "violated":
        rows.append(row(wide(f"<B>{font(esc(_verdict_line(prop, trace)), BAD)}</B>")))
    g = digraph("swimlane", _title(prop, trace, "sequence diagram"))
    table = '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">'
    g.node("sequence", html_label(table + "".join(rows) + "</TABLE>"))
    return g


def _step_box(step: Step, before: Mapping[str, Any], prop: PropertyResult, is_last: bool) -> str:
    where = f"   line {step.line}" if step.line else ""
    rows = [f"<B>{esc(_call(step))}</B>" + font(esc(where), _GONE, 9)]
    if step.state is None:
        rows.append(font(esc(f"error: {step.error}"), BAD))
    else:
        rows += _change_lines(before, step.state)
    bad = is_last and prop.status == "violated"
    return framed(
        rows,
        BAD if bad or step.state is None else "#5f6368",
        BAD_BG if bad else "white",
        2 if bad else 1,
    )


# --- rendering ------------------------------------------------------------------------------


def render(graph: graphviz.Digraph, path: str) -> None:
    """Write `graph` to `path` in the format its extension names: .dot writes the DOT source,
    .svg/.png/.pdf run Graphviz's `dot`. Raises ReportError (never a library exception) when
    the format is unknown, `dot` is missing or fails, or the file cannot be written."""
    ext = Path(path).suffix.lower().lstrip(".")
    if ext not in FORMATS:
        what = f"unknown graph format `.{ext}`" if ext else "no extension to pick a format from"
        raise ReportError(
            f"cannot write {path}: {what}; use one of " + ", ".join(f".{f}" for f in FORMATS)
        )
    import graphviz

    data: bytes
    if ext == "dot":
        data = graph.source.encode("utf-8")
    else:
        try:
            data = graph.pipe(format=ext, encoding=None)
        except graphviz.ExecutableNotFound:
            raise ReportError(
                f"cannot draw {path}: the Graphviz `dot` program was not found on PATH; "
                + INSTALL_HINT
            ) from None
        except graphviz.CalledProcessError as err:
            stderr = err.stderr.decode("utf-8", "replace") if err.stderr else ""
            raise ReportError(
                f"cannot draw {path}: Graphviz `dot` failed (exit {err.returncode}): "
                + (stderr.strip() or "no message")
            ) from None
    try:
        Path(path).write_bytes(data)
    except OSError as err:
        raise ReportError(f"cannot write {path}: {err.strerror or err}") from None


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def path_for(path: str, name: str) -> str:
    """`path` with `-NAME` before its extension, NAME made safe for a file name: where the
    picture of one of several counterexamples goes (`trace.svg` → `trace-no_overcommit.svg`)."""
    p = Path(path)
    slug = _UNSAFE.sub("-", name).strip("-.") or "property"
    return str(p.with_name(f"{p.stem}-{slug}{p.suffix}"))
