"""Guard and branch coverage (spec/simulate.md "Coverage"), compiled only when asked for
(`compile_model(..., coverage=True)`): a third form of every action, `_cov_<aid>`, the labelled
generator with two additions and nothing else changed:

- each conjunct of an action's `where` and `when` goes through `_cg(point, value)`, which counts
  it true or false in `_GC` (a conjunct is evaluated only where the ones before it held);
- each step it yields carries its *path*: the points (`if` then/else, `choose`, `:= any`) its
  body went through, built in fresh local tuples (`_cp_N = _cp_M + (point,)`), so each of the
  outcomes a `choose` forks carries only its own branches.

The hot forms and the labelled form are emitted before it, byte for byte as without coverage, so
a search that does not ask for coverage runs exactly the code it ran before.

A point is named by its action and source position, not by where it was emitted: the same
statement emitted several times (unrolled instances, the rest of an action after a
nondeterministic `if`) is one point.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kcheck.lang import ast
from kcheck.lang.fmt_expr import format_expr

GUARDS = ("where", "when")  # the kinds of a point that is a guard conjunct; the rest are branches

# (action, args, next state or its StepError, path); model/ir.py holds this module's CoverCode,
# so the state types are not imported from there
CoverOutcome = tuple[int, tuple[int, ...], Any, tuple[int, ...]]


@dataclass(frozen=True)
class Point:
    """One guard conjunct or one branch of one compiled action."""

    id: int
    action: int
    kind: str  # where | when (guard conjuncts); then | else | choose | any (branches)
    line: int
    col: int
    text: str

    @property
    def guard(self) -> bool:
        return self.kind in GUARDS


@dataclass(frozen=True)
class CoverCode:
    """The coverage form of a compiled model: its points, the per-action generators that yield
    (action, args, state or error, path), and the guard counters they add to."""

    points: tuple[Point, ...]
    outcomes: tuple[Callable[[tuple[int, ...]], Iterator[CoverOutcome]], ...]
    counters: list[int] = field(repr=False)  # 2 * point + held: the generated code's `_GC`

    def take_counts(self) -> list[int]:
        """The guard counts since the last call, and start again from zero."""
        out = list(self.counters)
        self.counters[:] = [0] * len(self.counters)
        return out


class Cover:
    """While the coverage form is emitted: the points met so far and the local that holds the
    current path (a stack discipline: every branch restores the path it started from)."""

    def __init__(self) -> None:
        self.points: list[Point] = []
        self._ids: dict[tuple[int, str, int, int], int] = {}
        self.path = "()"
        self._fresh = 0

    def point(self, action: int, kind: str, span: ast.Span, text: str) -> int:
        key = (action, kind, span.line, span.col)
        pid = self._ids.get(key)
        if pid is None:
            pid = self._ids[key] = len(self.points)
            self.points.append(Point(pid, action, kind, span.line, span.col, text))
        return pid

    def fresh(self) -> str:
        self._fresh += 1
        return f"_cp_{self._fresh}"

    def guard(self, action: int, kind: str, e: ast.Expr, code: str) -> str:
        """`code` (the compiled conjunct `e`) wrapped to count it."""
        return f"_cg({self.point(action, kind, e.span, format_expr(e))}, ({code}))"

    def extend(self, pid: int) -> tuple[str, str]:
        """A fresh path local, and the line that sets it to the current path plus `pid`."""
        var = self.fresh()
        return var, f"{var} = {self.path} + ({pid},)"

    def runtime(self) -> list[str]:
        """The source of the counters and of `_cg`, emitted after every point is known."""
        return [
            f"_GC = [0] * {2 * max(1, len(self.points))}",
            "def _cg(i, v):",
            "    _GC[2 * i + (1 if v else 0)] += 1",
            "    return v",
        ]


def conjuncts(e: ast.Expr) -> list[ast.Expr]:
    """`a and b and c` as [a, b, c] (any other expression: itself)."""
    if isinstance(e, ast.Binary) and e.op == "and":
        return conjuncts(e.left) + conjuncts(e.right)
    return [e]
