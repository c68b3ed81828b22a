"""Why the last state of a counterexample violates an invariant: the values of the invariant's
parts at that state, found by walking its expression down to what is false (the failing
binding of a `forall`, the false conjunct of an `and`, the two sides of a comparison), e.g.

    forall n in Node: used(n) <= n.cpu  fails for n = Node#0:
      used(n) <= n.cpu  is false
        used(n) = 5
        n.cpu = 4

The values come from `model.evaluate` (an AST walk over the decoded state); the verdict is the
engines' own. `explain_result` attaches the lines to each violated invariant of a result, and
every report shows them (spec/reports.md, "Why the last state violates it").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from kcheck.lang import ast
from kcheck.lang.fmt_expr import format_expr
from kcheck.lang.symbols import Symbols
from kcheck.model.evaluate import Env, EvalError, Evaluator, Unsupported
from kcheck.result import VIOLATED, CheckResult, PropertyResult
from kcheck.trace import show_value

_COMPARE = ("==", "!=", "<", "<=", ">", ">=", "in", "not in")
_ARITH = ("+", "-", "*", "/", "%", "|", "&")
MAX_LINES = 40  # a long `and` of many parts is cut, with a count of the rest


def explain_result(sym: Symbols, result: CheckResult, *, params_known: bool = True) -> CheckResult:
    """`result` with each violated invariant whose counterexample ends in a state explained.
    `params_known` False (params were symbolic): invariants that read a param are left
    unexplained rather than shown with the model's values for them."""
    props = [_explained(sym, p, params_known) for p in result.properties]
    if all(a is b for a, b in zip(props, result.properties, strict=True)):
        return result
    return replace(result, properties=props)


def _explained(sym: Symbols, p: PropertyResult, params_known: bool) -> PropertyResult:
    if p.status != VIOLATED or p.kind != "invariant" or p.trace is None or not p.trace.steps:
        return p
    state = p.trace.steps[-1].state
    inv = next((i for i in sym.invariants if i.name == p.name), None)
    if state is None or inv is None:
        return p
    lines = explain(sym, inv.expr, state, params_known=params_known)
    return replace(p, explanation=tuple(lines)) if lines else p


def explain(
    sym: Symbols, expr: ast.Expr, state: Mapping[str, Any], *, params_known: bool = True
) -> list[str]:
    """Lines (indented two spaces a level) saying why `expr` is false in `state`; empty when
    it is not false there or cannot be evaluated here."""
    w = _Why(Evaluator(sym, params_known=params_known), state)
    try:
        if w.ev(expr, {}) is not False:
            return []
        w.false(expr, {}, 0)
    except (Unsupported, EvalError, KeyError):  # KeyError: a state without a var it names
        return []
    if len(w.out) > MAX_LINES:
        return [*w.out[:MAX_LINES], f"… {len(w.out) - MAX_LINES} more lines"]
    return w.out


class _Why:
    def __init__(self, ev: Evaluator, state: Mapping[str, Any]) -> None:
        self.evaluator = ev
        self.state = state
        self.out: list[str] = []

    def ev(self, e: ast.Expr, env: Env) -> Any:
        return self.evaluator.value(e, self.state, env)

    def say(self, depth: int, text: str) -> None:
        self.out.append("  " * depth + text)

    def false(self, e: ast.Expr, env: Env, depth: int) -> None:
        """Say why `e`, false under `env`, is false."""
        match e:
            case ast.Quant(quant="forall", binders=bs, where=w, body=body):
                for b in self.evaluator.bindings(bs, w, env, self.state):
                    shown = ", ".join(f"{x.name} = {show_value(b[x.name])}" for x in bs)
                    try:
                        holds = self.ev(body, b)
                    except EvalError as err:
                        self.say(depth, f"{format_expr(e)}  fails for {shown}: {err}")
                        return
                    if not holds:
                        self.say(depth, f"{format_expr(e)}  fails for {shown}:")
                        self.false(body, b, depth + 1)
                        return
            case ast.Quant(quant="exists", binders=bs, where=w):
                n = sum(1 for _ in self.evaluator.bindings(bs, w, env, self.state))
                self.say(depth, f"{format_expr(e)}  is false: none of {n} candidates satisfies it")
            case ast.Binary(op="and", left=a, right=b):
                self.false(a if self.ev(a, env) is False else b, env, depth)
            case ast.Binary(op="or", left=a, right=b):
                self.false(a, env, depth)
                self.false(b, env, depth)
            case ast.Binary(op="implies", left=a, right=b):
                self.say(depth, f"{format_expr(a)}  holds, but")
                self.false(b, env, depth)
            case ast.Unary(op="not", operand=a):
                self.say(depth, f"{format_expr(a)}  holds")
                self.values(a, env, depth + 1)
            case ast.Call(func=fn, args=args) if fn in self.evaluator.sym.defs:
                d = self.evaluator.sym.defs[fn]
                vals = [self.ev(x, env) for x in args]
                self.say(depth, f"{format_expr(e)}  is false")
                self.false(
                    d.body, {p.name: v for p, v in zip(d.params, vals, strict=True)}, depth + 1
                )
            case _ if _parts(e) == [e]:  # a bool var, field or the like: its value says it
                self.values(e, env, depth)
            case _:
                self.say(depth, f"{format_expr(e)}  is false")
                self.values(e, env, depth + 1)

    def values(self, e: ast.Expr, env: Env, depth: int) -> None:
        """The value of each part of a comparison or sum that is not a literal."""
        for part in _parts(e):
            try:
                self.say(depth, f"{format_expr(part)} = {show_value(self.ev(part, env))}")
            except EvalError as err:
                self.say(depth, f"{format_expr(part)}: {err}")


def _parts(e: ast.Expr) -> list[ast.Expr]:
    """The operands worth a value: both sides of a comparison, and inside arithmetic its
    non-literal operands too (`healthy() + 1 >= MIN` shows `healthy() + 1`, `healthy()` and
    `MIN`)."""
    match e:
        case ast.Binary(op=op, left=a, right=b) if op in _COMPARE:
            return [*_operand(a), *_operand(b)]
        case ast.Unary(op="not", operand=a):
            return _parts(a) or _operand(a)
    return _operand(e)


def _operand(e: ast.Expr) -> list[ast.Expr]:
    match e:
        case ast.IntLit() | ast.BoolLit() | ast.NoneLit():
            return []
        case ast.Binary(op=op, left=a, right=b) if op in _ARITH:
            return [e, *_operand(a), *_operand(b)]
        case ast.Unary(op="-", operand=a):
            return _operand(a)
    return [e]
