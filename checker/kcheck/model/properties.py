"""Invariants and temporal properties, compiled: each invariant as a predicate on the state
(and its careful twin that names the error it fails with); for temporal properties the state
formulas of each supported shape, and one set of predicates per binding of a property's leading
`forall` binders (spec/liveness.md).
"""

from __future__ import annotations

from typing import Any

from kcheck.lang import ast
from kcheck.lang.types import BOOL, INT, TEnum, TRef, Type
from kcheck.model.context import CompileContext
from kcheck.model.env import Ctx, Env, Local
from kcheck.model.expr import ExprCompiler
from kcheck.model.ir import PropertyInfo


def state_formulas(e: ast.Expr) -> tuple[ast.Expr, ...]:
    """The state formulas of a supported temporal property: (P,) or (P, Q); () otherwise."""
    match e:
        case ast.Temporal(op="eventually", body=ast.Temporal(op="always", body=p)):
            return (p,)
        case ast.Temporal(op="always", body=ast.Temporal(op="eventually", body=p)):
            return (p,)
        case ast.Temporal(op="always", body=p):
            return (p,)
        case ast.LeadsTo(left=p, right=q):
            return (p, q)
    return ()


MAX_PROPERTY_INSTANCES = 256  # bindings of a quantified property checked one by one


def unquantified(e: ast.Expr) -> ast.Expr:
    while isinstance(e, ast.Quant) and e.quant == "forall":
        e = e.body
    return e


def instances(c: ExprCompiler, e: ast.Expr) -> list[tuple[str, Env, str]]:
    """Every binding of a property's leading `forall` binders: (label, env, guard), the guard
    saying that each bound object is live and the `where` holds. One unnamed binding for an
    unquantified property; none when a domain is not a kind, an enum or a constant range, or
    when there are too many bindings to check one by one."""
    out: list[tuple[str, Env, list[str]]] = [("", {}, [])]
    while isinstance(e, ast.Quant) and e.quant == "forall":
        for b in e.binders:
            nxt: list[tuple[str, Env, list[str]]] = []
            for label, env, guard in out:
                if isinstance(b.domain, ast.RangeDomain):
                    try:
                        lo, hi = c.const(b.domain.lo), c.const(b.domain.hi)
                    except (AssertionError, KeyError, TypeError, NameError):
                        return []
                    values: list[tuple[str, str, str | None]] = [
                        (str(v), str(v), None) for v in range(lo, hi + 1)
                    ]
                    ty: Type = INT
                else:
                    d = b.domain.expr
                    if not isinstance(d, ast.Name) or d.id in env:
                        return []
                    if d.id in c.sym.kinds:
                        k = c.layout.kind(d.id)
                        ty = TRef(d.id)
                        values = [
                            (f"{d.id}#{i}", str(i), f"s[{k.slot_base(i)}]") for i in range(k.slots)
                        ]
                    elif d.id == "bool":
                        ty = BOOL
                        values = [("false", "0", None), ("true", "1", None)]
                    elif d.id in c.sym.enums:
                        ty = TEnum(d.id)
                        values = [(m, str(i), None) for i, m in enumerate(c.sym.enums[d.id])]
                    else:
                        return []
                for shown, code, live in values:
                    env2 = {**env, b.name: Local(code, ty)}
                    tag = f"{b.name}={shown}"
                    nxt.append(
                        (
                            f"{label}, {tag}" if label else tag,
                            env2,
                            [*guard, *([live] if live else [])],
                        )
                    )
            out = nxt
            if len(out) > MAX_PROPERTY_INSTANCES:
                return []
        if e.where is not None:
            out = [(label, env, [*guard, c.expr(e.where, env, "s")]) for label, env, guard in out]
        e = e.body
    return [(label, env, " and ".join(f"({g})" for g in guard)) for label, env, guard in out]


def emit_invariants(ctx: CompileContext, c: ExprCompiler) -> None:
    """`_inv_i(s)` and `_inv_why_i(s)` for every invariant, in declaration order."""
    g = ctx.gen
    for i, inv in enumerate(ctx.sym.invariants):
        g.emit(f"def _inv_{i}(s):")
        ctx.hoist, ctx.hoist_lines = {}, {}
        body = c.expr(inv.expr, {}, "s", Ctx(-2 - i, "()", "s"))
        for line in [x for lines in ctx.hoist_lines.values() for x in lines]:
            g.emit("    " + line)
        for code, name in ctx.hoist.items():
            if name not in ctx.hoist_lines:
                g.emit(f"    {name} = {code}")
        ctx.hoist = None
        g.emit(f"    return bool({body})")
        # the same, naming the error it fails with as the labelled actions do (order-free):
        # used only where the invariant cannot be evaluated, to say why
        ctx.careful = True
        g.emit(f"def _inv_why_{i}(s):")
        g.emit(f"    return bool({c.expr(inv.expr, {}, 's', Ctx(-2 - i, '()', 's'))})")
        ctx.careful = False


def emit_properties(ctx: CompileContext, c: ExprCompiler) -> dict[int, list[str]]:
    """The state formulas of temporal properties: P (and Q for leads_to) as predicates
    `_prop_i_n_j` and `_propwhy_i_n_j`, once per binding of a property's `forall` binders.
    Returns each property's binding labels."""
    g = ctx.gen
    labels: dict[int, list[str]] = {}
    for i, p in enumerate(ctx.sym.properties):
        labels[i] = []
        for n, (label, env, guard) in enumerate(instances(c, p.expr)):
            labels[i].append(label)
            parts = state_formulas(unquantified(p.expr))
            for j, part in enumerate(parts):
                code = c.expr(part, env, "s", Ctx(-2, "()", "s"))
                if guard:
                    # the object's obligation starts while it lives, and ends with it
                    trigger = j == 0 and len(parts) == 2
                    code = f"({guard}) and ({code})" if trigger else f"not ({guard}) or ({code})"
                g.emit(f"def _prop_{i}_{n}_{j}(s):")
                g.emit(f"    return bool({code})")
                # the same, naming the error the spec says, for explaining a failure
                ctx.careful = True
                why = c.expr(part, env, "s", Ctx(-2, "()", "s"))
                ctx.careful = False
                if guard:
                    why = f"({guard}) and ({why})" if trigger else f"not ({guard}) or ({why})"
                g.emit(f"def _propwhy_{i}_{n}_{j}(s):")
                g.emit(f"    return bool({why})")
    return labels


def property_info(p: ast.Property, ns: dict[str, Any], i: int, labels: list[str]) -> PropertyInfo:
    parts = state_formulas(unquantified(p.expr))
    bound = tuple(
        (label, tuple(ns[f"_prop_{i}_{k}_{j}"] for j in range(len(parts))))
        for k, label in enumerate(labels)
    )
    careful = tuple(
        tuple(ns[f"_propwhy_{i}_{k}_{j}"] for j in range(len(parts))) for k in range(len(labels))
    )
    quantified = isinstance(p.expr, ast.Quant)
    preds = bound[0][1] if bound and not quantified else ()
    return PropertyInfo(p.name, p.span, _shape(p.expr), preds, quantified, bound, careful)


def _shape(e: ast.Expr) -> str:
    match e:
        case ast.Quant(quant="forall", body=b):
            return _shape(b)
        case ast.Temporal(op="eventually", body=ast.Temporal(op="always")):
            return "eventually always"
        case ast.Temporal(op="always", body=ast.Temporal(op="eventually")):
            return "always eventually"
        case ast.Temporal(op="always"):
            return "always"
        case ast.LeadsTo():
            return "leads_to"
    return "temporal"
