"""How deeply a model nests (spec/diagnostics.md, KC0505): every engine turns expressions and
statements into generated Python or Z3 terms by recursion, and Python bounds all three
(parentheses at 200 levels, statically nested loops at 20, recursion at 1000 frames). A model
the checker accepts must never hit those bounds later, so nesting beyond the documented limits is
refused here, at the deepest place, before any engine runs.

Depth is counted as the code generators see it: a chain of one associative operator
(`a + b + c`, `p and q and r`, and the left-deep `a - b - c`) is one level, however long; a call
of a `def` adds the depth of its body, which is inlined.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator

from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic

# Levels of one expression, `def` bodies included (spec/diagnostics.md).
MAX_EXPR_DEPTH = 64
# Statements nested in one another (`if`, `for`, `choose`), and of those the loops.
MAX_BLOCK_DEPTH = 48
MAX_LOOP_DEPTH = 8

_ASSOCIATIVE = frozenset({"+", "*", "|", "&", "and", "or"})
_EXPR_TYPES = tuple(t for t in typing.get_args(ast.Expr) if isinstance(t, type))


def _children(node: object) -> Iterator[object]:
    if not dataclasses.is_dataclass(node):
        return
    for f in dataclasses.fields(node):
        v = getattr(node, f.name)
        if isinstance(v, tuple):
            yield from (x for x in v if dataclasses.is_dataclass(x) and not isinstance(x, ast.Span))
        elif dataclasses.is_dataclass(v) and not isinstance(v, ast.Span):
            yield v


def _flat(parent: object, child: object) -> bool:
    """Is `child` part of `parent`'s operator chain (the same level)?"""
    if not (isinstance(parent, ast.Binary) and isinstance(child, ast.Binary)):
        return False
    if parent.op != child.op:
        return False
    return parent.op in _ASSOCIATIVE or (parent.op == "-" and child is parent.left)


class _Depths:
    def __init__(self, program: ast.Program) -> None:
        self.defs = {d.name: d for d in program.decls if isinstance(d, ast.Def)}
        self.def_depth: dict[str, int] = {}
        self.busy: set[str] = set()  # defs being measured (recursion is KC0501's business)

    def expr(self, root: object) -> tuple[int, ast.Span]:
        """The depth of an expression and the span of its deepest part, without recursion."""
        depth: dict[int, tuple[int, ast.Span]] = {}
        stack: list[tuple[object, bool]] = [(root, False)]
        while stack:
            node, done = stack.pop()
            if not done:
                stack.append((node, True))
                stack.extend((c, False) for c in _children(node))
                continue
            span = getattr(node, "span", ast.NOWHERE)
            best, where = 0, span
            for c in _children(node):
                d, w = depth[id(c)]
                d = d if _flat(node, c) else d + 1
                if d > best:
                    best, where = d, w
            if isinstance(node, ast.Call) and node.func in self.defs:
                # the body is inlined with the arguments in place of its parameters
                best += self.of_def(node.func) + 1
            if best == 0:
                where = span
            depth[id(node)] = (best, where if where != ast.NOWHERE else span)
        return depth[id(root)]

    def of_def(self, name: str) -> int:
        if name in self.def_depth:
            return self.def_depth[name]
        if name in self.busy:
            return 0
        self.busy.add(name)
        d = self.expr(self.defs[name].body)[0]
        self.busy.discard(name)
        self.def_depth[name] = d
        return d


def _roots(node: object) -> Iterator[object]:
    """The outermost expressions under a declaration or statement."""
    stack = [node]
    while stack:
        n = stack.pop()
        for c in _children(n):
            if isinstance(c, _EXPR_TYPES):
                yield c
            else:
                stack.append(c)


def _blocks(decl: object) -> Iterator[tuple[int, int, ast.Span]]:
    """(statement depth, loop depth, span) of every `if`, `for` and `choose`."""
    stack: list[tuple[object, int, int]] = [(decl, 0, 0)]
    while stack:
        n, blocks, loops = stack.pop()
        if isinstance(n, ast.If | ast.For | ast.Choose) or (
            isinstance(n, ast.CreateStmt) and n.otherwise is not None  # `create ... else {`
        ):
            blocks += 1
            loops += isinstance(n, ast.For | ast.Choose)
            yield blocks, loops, n.span
        stack.extend((c, blocks, loops) for c in _children(n) if not isinstance(c, _EXPR_TYPES))


def nesting_errors(program: ast.Program) -> list[Diagnostic]:
    """One KC0505 per declaration that nests too deeply."""
    measure = _Depths(program)
    out: list[Diagnostic] = []
    for decl in program.decls:
        found = _too_deep(measure, decl)
        if found is not None:
            out.append(found)
    return out


def _too_deep(measure: _Depths, decl: object) -> Diagnostic | None:
    for blocks, loops, span in _blocks(decl):
        if loops > MAX_LOOP_DEPTH:
            return Diagnostic(
                "KC0505",
                f"`for` and `choose` statements nested {loops} deep; kcheck accepts at most "
                f"{MAX_LOOP_DEPTH}",
                _head(span),
                help="bind several names in one statement (`choose a in K, b in K`), or split "
                "the action",
            )
        if blocks > MAX_BLOCK_DEPTH:
            return Diagnostic(
                "KC0505",
                f"statements nested {blocks} deep; kcheck accepts at most {MAX_BLOCK_DEPTH}",
                _head(span),
                help="combine conditions with `and`, or split the action",
            )
    for root in _roots(decl):
        depth, where = measure.expr(root)
        if depth > MAX_EXPR_DEPTH:
            return Diagnostic(
                "KC0505",
                f"expression nested {depth} levels deep (with the `def`s it calls); kcheck "
                f"accepts at most {MAX_EXPR_DEPTH}",
                getattr(root, "span", ast.NOWHERE),
                notes=(f"its deepest part is at line {where.line}, column {where.col}",)
                if where != ast.NOWHERE
                else (),
                help="write a long sum or conjunction as one chain (`a + b + c`, one level "
                "however long) instead of nesting it, or name parts with `let` in actions",
            )
    return None


def _head(span: ast.Span) -> ast.Span:
    """The first line of a statement's span: its keyword and what follows."""
    if span.end_line == span.line:
        return span
    return ast.Span(span.line, span.col, span.line, span.col + 1)
