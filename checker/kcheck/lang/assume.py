"""`assume NAME: e`: a constraint between consts and params (spec/language.md, `assume`).

The apiserver rejects some combinations of values that are each in range (a Deployment with
`maxSurge: 0` and `maxUnavailable: 0`); an assumption says so in the model. Its expression may
read only constants, params and enum members, with arithmetic, comparisons, logic, `if` and
min/max/abs/ceil, so it has one value per configuration: `check_source` evaluates it once the
-D values are known and refuses a configuration that breaks it, and the Z3 engine's symbolic
params range only over configurations that satisfy it (Encoder.param_ranges).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic
from kcheck.lang.symbols import Symbols
from kcheck.lang.types import TBool, TEnum

_FUNCS = ("min", "max", "abs", "ceil")
_NODES = (ast.IntLit, ast.BoolLit, ast.Name, ast.Unary, ast.Binary, ast.IfExpr, ast.Call)
_CHILDREN = ("operand", "left", "right", "cond", "then", "else_")
_EXPRS = (
    ast.IntLit, ast.BoolLit, ast.NoneLit, ast.Name, ast.Field, ast.Call, ast.Index, ast.Unary,
    ast.Binary, ast.SetLit, ast.SetBuilder, ast.Quant, ast.Count, ast.CountAll, ast.Aggregate,
    ast.Budget, ast.IfExpr, ast.Temporal, ast.LeadsTo,
)  # fmt: skip


def assumption_shape(a: ast.Assume, sym: Symbols) -> list[Diagnostic]:
    """What in `a` is not a constant, a param or an operation on them (each reported once:
    the walk does not go below a part it refuses)."""
    out: list[Diagnostic] = []
    stack: list[ast.Expr] = [a.expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            if node.id in sym.consts or node.id in sym.params or node.id in sym.members:
                continue
            out.append(
                Diagnostic(
                    "KC0402",
                    f"an assumption reads only constants and params; `{node.id}` is "
                    + _what(node.id, sym),
                    node.span,
                    help="a condition on the state is an `invariant`",
                )
            )
        elif isinstance(node, ast.Call) and node.func not in _FUNCS:
            out.append(
                Diagnostic(
                    "KC0402",
                    f"`{node.func}(...)` in an assumption",
                    node.func_span,
                    help="an assumption may call only min, max, abs and ceil",
                )
            )
        elif isinstance(node, ast.Binary) and node.op not in _OPS:
            out.append(Diagnostic("KC0402", f"`{node.op}` in an assumption", node.op_span))
        elif isinstance(node, _NODES):
            stack.extend(
                x for x in (getattr(node, f, None) for f in _CHILDREN) if isinstance(x, _EXPRS)
            )
            if isinstance(node, ast.Call):
                stack.extend(node.args)
        else:
            out.append(
                Diagnostic(
                    "KC0402",
                    "an assumption reads only constants and params",
                    getattr(node, "span", a.expr.span),
                    help="no quantifiers, counts or objects: it is about the configuration",
                )
            )
    return out


def _what(name: str, sym: Symbols) -> str:
    if name in sym.vars:
        return "a var"
    if name in sym.defs:
        return "a def"
    if name in sym.kinds:
        return "a kind"
    return "not a constant"


_OPS = ("+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "and", "or", "implies")


def broken_assumptions(sym: Symbols) -> list[Diagnostic]:
    """Each assumption that is false for the consts and params as given (-D included)."""
    values: dict[str, int] = dict(sym.consts)
    values.update({n: p.value for n, p in sym.params.items()})
    values.update({m: i for m, (_, i) in sym.members.items()})
    out: list[Diagnostic] = []
    for a in sym.assumptions:
        try:
            if evaluate(a.expr, values):
                continue
            why = "does not hold"
        except ZeroDivisionError:
            why = "divides by zero"
        names = ast.names_in(a.expr)
        read = [n for n in sym.params if n in names] + [n for n in sym.consts if n in names]
        shown = ", ".join(f"{n}={_show(sym, n)}" for n in read)
        out.append(
            Diagnostic(
                "KC0406",
                f"assumption `{a.name}` {why}" + (f" for {shown}" if shown else ""),
                a.expr.span,
                help="choose values that satisfy it (-D NAME=VALUE)",
            )
        )
    return out


def _show(sym: Symbols, name: str) -> str:
    if name not in sym.params:
        return str(sym.consts[name])
    p = sym.params[name]
    if isinstance(p.type, TEnum):
        return sym.enums[p.type.name][p.value]
    if isinstance(p.type, TBool):
        return "true" if p.value else "false"
    return str(p.value)


def evaluate(e: ast.Expr, values: Mapping[str, int]) -> int:
    """The value of an assumption's expression (bools as 0/1); its shape was checked."""
    match e:
        case ast.IntLit(value=v):
            return v
        case ast.BoolLit(value=v):
            return int(v)
        case ast.Name(id=n):
            return values[n]
        case ast.Unary(op="-", operand=x):
            return -evaluate(x, values)
        case ast.Unary(op="not", operand=x):
            return int(not evaluate(x, values))
        case ast.IfExpr(cond=c, then=t, else_=f):
            return evaluate(t, values) if evaluate(c, values) else evaluate(f, values)
        case ast.Call(func=func, args=args):
            vals = [evaluate(x, values) for x in args]
            if func == "abs":
                return abs(vals[0])
            if func == "min":
                return min(vals)
            if func == "max":
                return max(vals)
            return -(-vals[0] // vals[1])  # ZeroDivisionError: reported as such
        case ast.Binary(op=op, left=x, right=y):
            return _binary(op, evaluate(x, values), lambda: evaluate(y, values))
    raise TypeError(f"not an assumption expression: {e!r}")


def _binary(op: str, a: int, b_of: Callable[[], int]) -> int:
    if op == "and":
        return int(bool(a) and bool(b_of()))
    if op == "or":
        return int(bool(a) or bool(b_of()))
    if op == "implies":
        return int(not a or bool(b_of()))
    b = int(b_of())
    if op in ("/", "%"):
        return a // b if op == "/" else a % b  # ZeroDivisionError: reported as such
    table = {
        "+": a + b,
        "-": a - b,
        "*": a * b,
        "==": int(a == b),
        "!=": int(a != b),
        "<": int(a < b),
        "<=": int(a <= b),
        ">": int(a > b),
        ">=": int(a >= b),
    }
    return table[op]
