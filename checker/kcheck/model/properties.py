"""Temporal properties, compiled: the state formulas of each supported shape, and one set of
predicates per binding of a property's leading `forall` binders (spec/liveness.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kcheck.lang import ast
from kcheck.lang.types import BOOL, INT, TEnum, TRef, Type
from kcheck.model.env import Env, Local
from kcheck.model.ir import PropertyInfo

if TYPE_CHECKING:
    from kcheck.model.compile import Compiler


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


def instances(c: Compiler, e: ast.Expr) -> list[tuple[str, Env, str]]:
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
                        lo, hi = c._const(b.domain.lo), c._const(b.domain.hi)
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
