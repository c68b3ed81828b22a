"""How to get past a bound error (spec/explorer.md, "Bounds are errors, never clamps").

`bound_sources` records, at compile time, where each declared bound comes from: a kind's number
of slots and the upper end of every int range, with the const that sets it, so that
the `-D NAME=VALUE` a hint suggests is exact. `explain_bound` turns a step that failed into the
reason every engine's `bound` entry gives: the runtime message, the bound (its declaration, line
and value), the action and line that hit it, and the two ways out: raise the bound, or guard
the action. Errors that are no size to raise (`none`, `division`, ...) get the guard alone.
"""

from __future__ import annotations

import re
from dataclasses import fields, is_dataclass

from kcheck.lang import ast
from kcheck.lang.fmt_expr import format_expr
from kcheck.lang.symbols import Symbols
from kcheck.lang.types import TInt
from kcheck.model.ir import BoundSource, CompiledModel, StepError

# the messages the compiled code raises (compile.py: `create`, and `_store` / `_initial`)
_NO_SLOT = re.compile(r"create (?P<kind>\w+): all (?P<n>\d+) slots are in use")
_RANGE = re.compile(
    r"(?P<what>[\w.@:]+) := (?P<v>-?\d+) leaves its range (?P<lo>-?\d+)\.\.(?P<hi>-?\d+)"
)

# what a step did when it failed with a cause that no size fixes
_GUARD_ONLY = {
    "none": "reads a field, or deletes, through a reference that is `none`",
    "deleted": "reads, writes or deletes through a reference to an object already deleted",
    "uncached": "reads an object that its controller's cache does not hold",
    "dangling": "deletes an object that a non-optional reference still names (make that "
    "reference optional, `K?`, or clear it first)",
    "division": "divides by zero",
    "dead": "names a slot `K[i]` where no object lives",
    "exists": "creates an object under a name a live object already has (handle AlreadyExists "
    "with `create ... else { ... }`)",
}


def bound_sources(sym: Symbols) -> tuple[BoundSource, ...]:
    """Every kind's number of slots, and the upper end of every var's and field's int range."""
    out: list[BoundSource] = []
    for k in sym.kinds.values():
        out.append(_source(sym, k.name, k.decl.size, k.size))
    ranges = [(v.name, v.type, v.decl.type) for v in sym.vars.values()]
    for k in sym.kinds.values():
        ranges += [(f"{k.name}.{f.name}", f.type, f.decl.type) for f in k.fields]
    for what, ty, written in ranges:
        if isinstance(ty, TInt) and ty.hi is not None and isinstance(written, ast.RangeType):
            out.append(_source(sym, what, written.hi, ty.hi))
    return tuple(out)


def explain_bound(model: CompiledModel, err: StepError) -> str:
    """The reason of a `bound` entry: what failed, then which bound and how to get past it."""
    hint = bound_hint(model, err)
    return f"{err.message}. {hint}" if hint else err.message


def bound_hint(model: CompiledModel, err: StepError) -> str:
    """Which bound the failing step hit and what to do about it, in a few sentences."""
    by_what = {b.what: b for b in model.bounds}
    step = "init" if err.action < 0 else model.actions[err.action].label
    at = f"{step} (line {err.line})" if err.line else step
    if err.code == "no-free-slot" and (m := _NO_SLOT.match(err.message)):
        kind, slots = m["kind"], int(m["n"])
        src = by_what.get(kind)
        if src is None:
            return ""
        setting = (
            f", {src.name} = {slots}" if src.name is not None and src.written != str(slots) else ""
        )
        text = (
            f"The bound: `kind {kind}[{src.written}]` (line {src.line}) gives {kind} {slots} "
            f"slot{'s' if slots != 1 else ''}{setting}, and {at} needed one more. If the model "
            f"is right and the world was too small, raise it: {_raise(src, slots + 1)}."
        )
        if err.action >= 0:
            text += (
                f" If {step} should not `create {kind}` while every slot is in use, guard it, "
                f"e.g. `when count({kind}) < {src.written}`."
            )
        return text
    if err.code == "range" and (m := _RANGE.match(err.message)):
        what, v, lo, hi = m["what"], int(m["v"]), int(m["lo"]), int(m["hi"])
        src = by_what.get(what)
        guard = (
            f"guard {step} so that it stores only values within {lo}..{hi}"
            if err.action >= 0
            else "fix the initial value"
        )
        if v > hi and src is not None:
            return (
                f"The bound: the range of {what} ends at `{src.written}` (line {src.line}), "
                f"{hi}, and {at} stored {v}. If the value is right, raise it: "
                f"{_raise(src, v)}; if not, {guard}."
            )
        return f"The bound: the range {lo}..{hi} of {what}, which {at} left. {guard[0].upper()}{guard[1:]}."
    if err.code in _GUARD_ONLY:
        did = _GUARD_ONLY[err.code]
        if err.action < 0:
            return f"This is no size to raise: init {did} (line {err.line}); fix init."
        return (
            f"This is no size to raise: {at} {did}. Guard the action (its `when` or `where`) "
            f"so that the step is not taken where it fails, or fix the statement."
        )
    return ""


def _raise(src: BoundSource, want: int) -> str:
    """How to make `src` at least `want`, as a user would type it."""
    if src.name is not None:
        return f"`-D {src.name}={want}`"
    if src.names:
        names = ", ".join(src.names)
        return f"`-D` one of {names} so that `{src.written}` is at least {want}"
    return (
        f"write {want} or more for `{src.written}` at line {src.line} (a const there would "
        f"let `-D` raise it)"
    )


def _source(sym: Symbols, what: str, expr: ast.Expr, value: int) -> BoundSource:
    names = tuple(dict.fromkeys(n for n in _names(expr) if n in sym.consts))
    name = expr.id if isinstance(expr, ast.Name) and expr.id in names else None
    return BoundSource(what, format_expr(expr), expr.span.line, value, name, names)


def _names(node: object) -> list[str]:
    """The names an expression reads, in order."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, tuple):
        return [n for x in node for n in _names(x)]
    if is_dataclass(node) and not isinstance(node, type | ast.Span):
        return [n for f in fields(node) for n in _names(getattr(node, f.name))]
    return []
