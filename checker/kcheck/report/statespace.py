"""`kcheck graph`: the reachable state space of a small model as a Graphviz picture, and what
makes a big one readable: the part of the graph around the shortest path to an invariant's
violation (`--around`), states grouped by the value of a KDSL expression (`--cluster`), and a
note with the measured size and these options when a picture is too big to read. It builds
and renders graphs and returns notes; it never prints. See spec/reports.md.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

# graphviz ships no type information; see the note in dot.py
import graphviz  # type: ignore[import-untyped]

from kcheck.engines.dispatch import EngineOptions, Refused, state_space
from kcheck.explore.bfs import Limits
from kcheck.explore.statespace import StateSpace
from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic, KcheckError, Source
from kcheck.lang.frontend import CheckedModel, check_source
from kcheck.model.evaluate import EvalError, Evaluator, Unsupported
from kcheck.model.ir import CompiledModel
from kcheck.report.dot import (
    BAD,
    BAD_BG,
    INITIAL_BG,
    ReportError,
    digraph,
    esc,
    font,
    framed,
    html_label,
    render,
    state_rows,
)
from kcheck.trace import show_value

# Above either, a picture of states listed in full is too big to read on a screen.
READABLE_STATES = 40
READABLE_EDGES = 100
# `--around` explores breadth-first up to the violation and `radius` levels past it, at most
# this many states.
EXPLORE_LIMIT = 200_000
_PROBE = "__kcheck_cluster"
_HEAD = f"invariant {_PROBE}: ("  # the probe line's text before the expression


def explore_space(
    model: CompiledModel, max_states: int, symmetry: bool, *, stop_after: str | None = None,
    radius: int = 0,
) -> StateSpace:  # fmt: skip
    """The state space the explicit engine records through the one dispatch (see
    kcheck.explore.statespace.reachable for `stop_after` and `radius`); a refusal (past
    `max_states`) becomes a ReportError."""
    options = EngineOptions("explicit", Limits(max_states=max_states), symmetry)
    try:
        return state_space(model, options, stop_after=stop_after, radius=radius)
    except Refused as err:
        raise ReportError(str(err)) from None


def around(space: StateSpace, invariant: str, radius: int) -> tuple[set[int], list[int]]:
    """The states within `radius` steps (either way along an edge) of the shortest path from an
    initial state to the first state that violates `invariant`, and that path. Raises
    ReportError when no explored state violates it."""
    inv = space.model.invariant(invariant)
    bad = next((n for n, s in enumerate(space.states) if not inv.holds(s)), None)
    if bad is None:
        raise ReportError(
            f"invariant {invariant} holds in every reachable state of {space.model.name}:"
            " there is no violation to draw around; draw the whole graph without --around"
        )
    path = [bad]
    while path[-1] in space.parent:
        path.append(space.parent[path[-1]])
    path.reverse()
    near: dict[int, set[int]] = {}
    for a, b, _ in space.edges:
        near.setdefault(a, set()).add(b)
        near.setdefault(b, set()).add(a)
    keep, frontier = set(path), set(path)
    for _ in range(radius):
        frontier = {m for n in frontier for m in near.get(n, ())} - keep
        keep |= frontier
    return keep, path


def cluster_expression(
    checked: CheckedModel, text: str, overrides: Mapping[str, int | str] | None = None
) -> ast.Expr:
    """`text` parsed and type-checked as a KDSL expression over the model's names. Raises
    KcheckError whose diagnostics point into `text` (render them with `cluster_source`)."""
    flat = text.replace("\r", " ").replace("\n", " ")  # one line, same columns
    lines = checked.source.text.rstrip("\n").split("\n")
    head = _HEAD
    probe = f"{checked.source.text.rstrip(chr(10))}\n{head}{flat}) == ({flat})\n"
    line, first = len(lines) + 1, len(head) + 1
    try:
        again = check_source(Source(checked.source.path, probe), overrides)
    except KcheckError as err:
        inside = [
            replace(d, span=ast.Span(1, d.span.col - len(head), 1, d.span.end_col - len(head)))
            for d in err.diagnostics
            if d.span.line == line and first <= d.span.col <= first + len(flat)
        ]
        # a parse error at the probe's closing `)` is the expression ending too early
        inside = [
            replace(d, message=d.message.replace("unexpected `)`", "the expression ends early"))
            if d.span.col == len(flat) + 1
            else d
            for d in inside
        ]
        if not inside:  # every error sits in the `== (copy)`: report its first only once
            inside = [
                replace(d, span=ast.Span(1, 1, 1, len(flat) + 1))
                for d in err.diagnostics[:1]
                if d.span.line == line
            ]
        raise KcheckError(inside or err.diagnostics) from None
    probe_inv = next(i for i in again.symbols.invariants if i.name == _PROBE)
    assert isinstance(probe_inv.expr, ast.Binary)
    return probe_inv.expr.left


def cluster_source(text: str) -> Source:
    """What `cluster_expression`'s diagnostics are located in: the option's text."""
    return Source("--cluster", text.replace("\r", " ").replace("\n", " "))


def cluster_keys(
    checked: CheckedModel, space: StateSpace, expr: ast.Expr, text: str, nodes: set[int]
) -> dict[int, str]:
    """Each node's cluster label: `EXPR = value`, or why the expression has no value there.
    Raises KcheckError (located in `text`) for an expression this evaluator cannot read."""
    ev = Evaluator(checked.symbols)
    shown = " ".join(text.split())
    out: dict[int, str] = {}
    for n in sorted(nodes):
        try:
            value = ev.value(expr, space.model.layout.decode(space.states[n]))
            out[n] = f"{shown} = {show_value(value)}"
        except EvalError as err:
            out[n] = f"{shown}: no value ({err})"
        except Unsupported as err:
            sp = err.span
            col = sp.col - len(_HEAD) if sp.line > 1 else 1
            raise KcheckError(
                [
                    Diagnostic(
                        "KC0502",
                        f"--cluster cannot group by {err.what}",
                        ast.Span(1, max(col, 1), 1, max(col, 1) + 1),
                        help="group by a state expression: vars, fields, count, sum, forall, ...",
                    )
                ]
            ) from None
    return out


def state_space_graph(
    space: StateSpace,
    keep: set[int] | None = None,
    path: list[int] | None = None,
    clusters: Mapping[int, str] | None = None,
    focus: str | None = None,
) -> graphviz.Digraph:
    """The states of `space` (those in `keep`, all by default) and the edges between them.
    Initial states are blue, states violating an invariant red with the invariants named; the
    edges of `path` are drawn bold red; with `clusters`, nodes of one label share a box."""
    model = space.model
    nodes = sorted(keep) if keep is not None else list(range(len(space.states)))
    shown = set(nodes)
    edges = [(a, b, t) for a, b, t in space.edges if a in shown and b in shown]
    on_path = set(itertools.pairwise(path or []))
    sym = "on" if space.symmetry else "off"
    title = (
        f"{model.name}: {len(nodes)} reachable state{'s' if len(nodes) != 1 else ''}"
        f" (symmetry {sym}), {len(edges)} transition{'s' if len(edges) != 1 else ''}"
    )
    if focus is not None:
        title += f", {focus}"
    g = digraph("states", title)
    g.attr(rankdir="TB", nodesep="0.3", ranksep="0.5")
    groups: dict[str, list[int]] = {}
    for n in nodes:
        groups.setdefault((clusters or {}).get(n, ""), []).append(n)
    for c, (label, members) in enumerate(groups.items()):
        if label:
            with g.subgraph(name=f"cluster_{c}") as sub:
                sub.attr(label=html_label(f"<B>{esc(label)}</B>"), style="rounded", color="#5f6368")
                for n in members:
                    _state_node(sub, space, n)
        else:
            for n in members:
                _state_node(g, space, n)
    for src, dst, text in edges:
        if (src, dst) in on_path:
            g.edge(f"n{src}", f"n{dst}", label=html_label(esc(text)), color=BAD, penwidth="2.5")
        else:
            g.edge(f"n{src}", f"n{dst}", label=html_label(esc(text)))
    return g


def _state_node(g: graphviz.Digraph, space: StateSpace, n: int) -> None:
    model, s = space.model, space.states[n]
    broken = [inv.name for inv in model.invariants if not inv.holds(s)]
    head = f"<B>{esc(f'state {n}')}</B>"
    if n in space.initial:
        head += "  " + font(esc("initial"), "#1a73e8", 10)
    rows = [head, *state_rows(model.layout.decode(s), None, True)]
    if broken:
        rows.append(f"<B>{font(esc('violates ' + ', '.join(broken)), BAD)}</B>")
        style = (BAD, BAD_BG, 2)
    elif n in space.initial:
        style = ("#1a73e8", INITIAL_BG, 2)
    else:
        style = ("#5f6368", "white", 1)
    g.node(f"n{n}", html_label(framed(rows, *style)))


_SVG_SIZE = re.compile(rb'<svg width="([\d.]+)pt" height="([\d.]+)pt"')


def measured_size(path: str) -> str | None:
    """The size of a written picture as its format gives it (SVG in points, PNG in pixels)."""
    try:
        data = Path(path).read_bytes()[:4096]
    except OSError:
        return None
    m = _SVG_SIZE.search(data)
    if m:
        return f"{float(m.group(1)):,.0f} × {float(m.group(2)):,.0f} pt"
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        w, h = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        return f"{w:,} × {h:,} px"
    return None


def readability_note(states: int, edges: int, size: str | None, *, symmetry: bool) -> str | None:
    """What to tell the user about a picture of `states` and `edges`: nothing while it is
    readable, else its size and what draws less."""
    if states <= READABLE_STATES and edges <= READABLE_EDGES:
        return None
    measured = f" ({size})" if size else ""
    options = [
        "--around INVARIANT [--radius K]: only the states within K steps of the shortest path"
        " to the invariant's first violation",
        "--cluster EXPR: the states grouped by the value of a KDSL expression (a var's name,"
        " `count(Pod)`, ...)",
        "--max-states N: refuse to draw more than N states",
    ]
    if not symmetry:
        options.append(
            "leave out --no-symmetry: one state then stands for all its slot permutations (the"
            " quotient by symmetry)"
        )
    options.append("-D NAME=VALUE: smaller constants, fewer states")
    return (
        f"the picture has {states:,} states and {edges:,} transitions{measured}: too big to"
        f" read (about {READABLE_STATES} states or {READABLE_EDGES} transitions is the limit)."
        " To draw less:\n" + "\n".join(f"  {o}" for o in options)
    )


def draw(
    checked: CheckedModel,
    model: CompiledModel,
    output: str,
    *,
    max_states: int,
    symmetry: bool,
    cluster: str | None = None,
    around_invariant: str | None = None,
    radius: int = 2,
    overrides: Mapping[str, int | str] | None = None,
) -> list[str]:
    """`kcheck graph`: draw the state space (or the part `around_invariant`, grouped by
    `cluster`) to `output` and return the notes to print. Raises ReportError for what cannot
    be drawn and KcheckError located in `cluster_source(cluster)` for a bad expression."""
    expr = cluster_expression(checked, cluster, overrides) if cluster is not None else None
    if around_invariant is not None:
        names = [i.name for i in model.invariants]
        if around_invariant not in names:
            temporal = [p.name for p in model.properties]
            why = (
                "is a temporal property: draw its counterexample with `kcheck verify --graph`"
                " or `--swimlane`"
                if around_invariant in temporal
                else "is not an invariant of the model"
            )
            listed = ", ".join(names) or "none"
            raise ReportError(
                f"--around {around_invariant}: {around_invariant} {why} (invariants: {listed})"
            )
        try:
            space = explore_space(
                model, EXPLORE_LIMIT, symmetry, stop_after=around_invariant, radius=radius
            )
        except ReportError:
            raise ReportError(
                f"--around {around_invariant}: no state violates it within the first"
                f" {EXPLORE_LIMIT:,} states explored breadth-first; shrink the model with -D"
            ) from None
        keep, path = around(space, around_invariant, radius)
        if len(keep) > max_states:
            raise ReportError(
                f"refusing to draw {len(keep)} states around {around_invariant}, more than the"
                f" limit of {max_states}; lower --radius or raise --max-states"
            )
        focus = f"within {radius} step{'s' if radius != 1 else ''} of the shortest path to a"
        focus += f" violation of {around_invariant} ({len(path) - 1} steps, in red)"
    else:
        space = explore_space(model, max_states, symmetry)
        keep, path, focus = set(range(len(space.states))), [], None
    clusters = cluster_keys(checked, space, expr, cluster, keep) if expr and cluster else None
    graph = state_space_graph(space, keep, path, clusters, focus)
    render(graph, output)
    edges = sum(1 for a, b, _ in space.edges if a in keep and b in keep)
    note = readability_note(len(keep), edges, measured_size(output), symmetry=symmetry)
    return [note] if note else []
