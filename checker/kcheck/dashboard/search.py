"""Searching for a state by an expression: the expression is checked and compiled by the model's
own front end and compiler, as the negation of an extra invariant of the same model, and the
explicit engine's breadth-first search finds the shortest path to a state where it holds (the
counterexample of that invariant). The path is replayed through the model the dashboard serves
before it is shown (the extra invariant leaves the state layout unchanged)."""

from __future__ import annotations

from dataclasses import replace

from kcheck.dashboard.counterexample import _moves
from kcheck.dashboard.session import Session
from kcheck.explore.bfs import Limits, explore
from kcheck.explore.replay import TraceMismatch, replay
from kcheck.lang.diagnostics import KcheckError, Source, render
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.result import VIOLATED

TARGET = "kcheck_dashboard_search"
MAX_STATES = 2_000_000
TIMEOUT = 60.0  # seconds


class SearchError(Exception):
    """The expression is not valid, or no state was found; the message says which."""


def search(session: Session, expr: str, limits: Limits | None = None) -> int:
    """Show the shortest path to a reachable state where `expr` holds; returns its length.
    Raises SearchError with a located diagnostic when `expr` does not check."""
    text = " ".join(expr.split("\n")).rstrip()
    if not text.strip():
        raise SearchError("type an expression, e.g. `exists p in Pod: p.phase == Running`")
    base = session.checked.source
    # the expression on a line of its own, so a diagnostic's column is the expression's
    head = base.text.rstrip("\n") + f"\n\ninvariant {TARGET}: not (\n"
    expr_line = head.count("\n") + 1
    source = Source(base.path, head + text + "\n)\n")
    try:
        checked = check_source(source, session.defines)
    except KcheckError as err:
        raise SearchError(_diagnostics(err, text, expr_line)) from None
    model = compile_model(checked.symbols)
    result = explore(
        model,
        invariants=[TARGET],
        properties=[],
        limits=limits or Limits(max_states=MAX_STATES, timeout=TIMEOUT),
    )
    entry = next((p for p in result.properties if p.name == TARGET), None)
    if entry is None or entry.status != VIOLATED or entry.trace is None:
        if result.complete:
            raise SearchError(f"no reachable state satisfies `{text}`")
        bound = next((p for p in result.properties if p.kind == "bound"), None)
        why = f"the search stopped ({result.limit})" if result.limit else "the search stopped"
        if bound is not None:
            why = f"the model leaves its bounds first ({bound.name})"
        raise SearchError(f"no state satisfying `{text}` found: {why}")
    trace = entry.trace
    try:
        done = replay(session.model, trace)
    except TraceMismatch as err:  # the same model plus one invariant: a kcheck bug if so
        raise SearchError(f"internal error: the path found does not replay ({err})") from None
    session.set_path(_moves(session.model, trace, done.states), f"search: {text}")
    session.cursor = len(session.path) - 1
    return len(trace)


def _diagnostics(err: KcheckError, text: str, expr_line: int) -> str:
    """The errors about the expression, located in it (`search:1:COL`)."""
    shown = Source("search", text)
    out = []
    for d in err.diagnostics:
        if d.severity != "error":
            continue
        if d.message.startswith("the operand of `not` must be a bool"):  # our wrapper's `not`
            d = replace(
                d, message="the search expression" + d.message[len("the operand of `not`") :]
            )
        if d.span.line > expr_line:  # the parser met our closing `)`: the expression ended early
            end = len(text) + 1
            d = replace(d, span=replace(d.span, line=1, col=end, end_line=1, end_col=end + 1))
            out.append(render(d, shown))
        elif d.span.line == expr_line:
            same = d.span.end_line == expr_line
            end = d.span.end_col if same else len(text) + 1
            span = replace(d.span, line=1, end_line=1, end_col=end)
            out.append(render(replace(d, span=span), shown))
        else:
            out.append(render(d, shown) if d.span.line == 0 else f"search: error: {d.message}")
    return "\n\n".join(out) or "the expression does not check"
