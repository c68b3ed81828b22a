"""Checked AST -> checked AST without `feasible(S, p, n)` (spec/language.md §3, "Feasibility").

The builtin is expanded here, once, into ordinary defs, so that every pass after the checker (the
compiler, the Z3 encoder, the reference interpreter, symmetry analysis) meets only constructs it
already knows, and none of them has a second implementation to keep in step:

    def default.node_ready(p: Pod, n: Node): bool = <the filter's body>      one per filter
    def feasible@default(pod@: Pod, node@: Node): bool =
        default.node_ready(pod@, node@) and default.fits(pod@, node@)       one per scheduler

and every `feasible(default, a, b)` becomes `feasible@default(a, b)`. The names cannot be written
in KDSL, so they never clash with the user's. A call of a def binds its arguments to the
parameters without substituting text, so no bound name of a filter can capture a name of the
caller. Filters are conjoined in declaration order with `and`, which stops at the first filter
that fails, as the scheduler's bind step evaluates them; a scheduler without filters gives `true`.

The input must have passed the checker: every `feasible` call has three arguments, the first
naming a scheduler whose `binds` resolved.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace
from typing import Any

from kcheck.lang import ast
from kcheck.lang.symbols import FEASIBLE

_POD, _NODE = "pod@", "node@"


def feasible_def(scheduler: str) -> str:
    """The name of the def that `feasible(scheduler, p, n)` becomes."""
    return f"feasible@{scheduler}"


def filter_def(scheduler: str, filter_name: str) -> str:
    """The name of the def holding one filter's body."""
    return f"{scheduler}.{filter_name}"


def _is_feasible(node: object, schedulers: dict[str, ast.Scheduler]) -> bool:
    return (
        isinstance(node, ast.Call)
        and node.func == FEASIBLE
        and len(node.args) == 3
        and isinstance(node.args[0], ast.Name)
        and node.args[0].id in schedulers
    )


def _children(node: object) -> list[object]:
    if isinstance(node, tuple):
        return list(node)
    if is_dataclass(node) and not isinstance(node, type):
        return [getattr(node, f.name) for f in fields(node) if "span" not in f.name]
    return []


def _holders(root: object, schedulers: dict[str, ast.Scheduler]) -> set[int]:
    """The ids of the nodes (tuples included) that contain a `feasible` call, the calls too.
    Post-order without recursion: deep trees are fine."""
    out: set[int] = set()
    stack: list[tuple[object, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        kids = _children(node)
        if not done:
            stack.append((node, True))
            stack.extend((k, False) for k in kids)
        elif _is_feasible(node, schedulers) or any(id(k) in out for k in kids):
            out.add(id(node))
    return out


def _rewrite(node: Any, holders: set[int], schedulers: dict[str, ast.Scheduler]) -> Any:
    """`node` with every `feasible(S, a, b)` below it replaced; subtrees without one are shared,
    not copied, so the recursion only follows the paths down to the calls."""
    if id(node) not in holders:
        return node
    if isinstance(node, tuple):
        return tuple(_rewrite(x, holders, schedulers) for x in node)
    if _is_feasible(node, schedulers):
        assert isinstance(node, ast.Call)
        s = node.args[0]
        assert isinstance(s, ast.Name)
        args = tuple(_rewrite(a, holders, schedulers) for a in node.args[1:])
        return ast.Call(feasible_def(s.id), args, node.func_span, node.span)
    changes = {
        f.name: _rewrite(getattr(node, f.name), holders, schedulers)
        for f in fields(node)
        if "span" not in f.name
    }
    return replace(node, **changes)


def _node_kind(program: ast.Program, s: ast.Scheduler) -> str:
    for d in program.decls:
        if isinstance(d, ast.Kind) and d.name == s.pod_kind:
            for f in d.fields:
                if f.name == s.node_field and isinstance(f.type, ast.OptionalType):
                    return f.type.name
    raise AssertionError(f"scheduler {s.name}: `binds` did not resolve; was the model checked?")


def _defs_of(program: ast.Program, s: ast.Scheduler) -> list[ast.Def]:
    """The per-filter defs of scheduler `s` and its feasibility def, spanning its declaration."""
    pod, node = ast.NamedType(s.pod_kind, s.pod_kind_span), ast.NamedType(_node_kind(program, s))
    out: list[ast.Def] = []
    calls: list[ast.Expr] = []
    for f in s.filters:
        name = filter_def(s.name, f.name)
        params = (ast.DefParam(f.pod, pod, f.name_span), ast.DefParam(f.node, node, f.name_span))
        out.append(ast.Def(name, params, ast.BoolType(), f.expr, f.name_span, f.span))
        calls.append(ast.Call(name, (ast.Name(_POD), ast.Name(_NODE)), f.name_span, f.span))
    body: ast.Expr = calls[0] if calls else ast.BoolLit(True, s.name_span)
    for c in calls[1:]:
        body = ast.Binary("and", body, c, ast.NOWHERE, s.span)
    params = (ast.DefParam(_POD, pod, s.name_span), ast.DefParam(_NODE, node, s.name_span))
    out.append(ast.Def(feasible_def(s.name), params, ast.BoolType(), body, s.name_span, s.span))
    return out


def expand_feasible(program: ast.Program) -> ast.Program:
    """`program` with every `feasible(S, p, n)` expanded; the same object if it has none."""
    schedulers = {d.name: d for d in program.decls if isinstance(d, ast.Scheduler)}
    holders = _holders(program, schedulers)
    if not holders:
        return program
    rewritten: ast.Program = _rewrite(program, holders, schedulers)
    used = sorted(
        {
            n.args[0].id
            for n in ast.walk_nodes(program)
            if _is_feasible(n, schedulers)
            and isinstance(n, ast.Call)
            and isinstance(n.args[0], ast.Name)
        }
    )
    # The scheduler declarations after rewriting: a filter may ask another scheduler.
    final = {d.name: d for d in rewritten.decls if isinstance(d, ast.Scheduler)}
    extra = tuple(d for name in used for d in _defs_of(rewritten, final[name]))
    return replace(rewritten, decls=rewritten.decls + extra)
