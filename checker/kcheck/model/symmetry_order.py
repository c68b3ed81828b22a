"""Which kinds must stay ordered under symmetry reduction (model/symmetry.py): a `for` loop
whose outcome may depend on the order it visits objects keeps its kinds out of it. Found
conservatively, from the syntax."""

from __future__ import annotations

from typing import Any

from kcheck.lang import ast
from kcheck.lang.steps import steps_of
from kcheck.lang.symbols import Symbols
from kcheck.lang.types import TRef, TSet


def _loop_is_order_safe(loop: ast.For, sym: Symbols) -> bool:
    """Safe when every iteration writes only fields of its own object and reads those fields
    of no other object: then the iterations commute. An iteration may also delete its own
    object when nothing refers to that kind and the body never counts or ranges over it."""
    own = {b.name for b in loop.binders}
    written: set[str] = set()
    deleted: set[str] = set()
    for s in ast.walk_stmts(loop.body.stmts):
        match s:
            case ast.Assign(target=t):
                if len(t.parts) != 2 or t.parts[0] not in own:
                    return False
                written.add(t.parts[1])
            case ast.Delete(target=ast.Name(id=x)) if x in own:
                kind = _binder_kind(loop, x, sym)
                if kind is None or _referenced(kind, sym):
                    return False
                deleted.add(kind)
            case ast.Let() | ast.If():
                pass
            case _:
                return False
    for node in ast.walk_nodes(loop.body):
        own_read = (
            isinstance(node, ast.Field) and isinstance(node.obj, ast.Name) and node.obj.id in own
        )
        if isinstance(node, ast.Field) and node.name in written and not own_read:
            return False
        if deleted and _ranges_over(node, deleted):
            return False
    return True


def _binder_kind(loop: ast.For, name: str, sym: Symbols) -> str | None:
    for b in loop.binders:
        d = b.domain
        if b.name == name and isinstance(d, ast.ExprDomain) and isinstance(d.expr, ast.Name):
            return d.expr.id if d.expr.id in sym.kinds else None
    return None


def _referenced(kind: str, sym: Symbols) -> bool:
    """Does any field or var hold a reference to, or a set of, objects of `kind`?"""
    types = [f.type for k in sym.kinds.values() for f in k.fields]
    types += [v.type for v in sym.vars.values()]
    return any(
        (isinstance(t, TRef) and t.kind == kind) or (isinstance(t, TSet) and t.elem == kind)
        for t in types
    )


def _ranges_over(node: Any, kinds: set[str]) -> bool:
    """Does this expression count or range over the live objects of one of `kinds`?"""
    if isinstance(node, ast.CountAll):
        return isinstance(node.arg, ast.Name) and node.arg.id in kinds
    binders: tuple[ast.Binder, ...] = ()
    if isinstance(node, ast.Quant | ast.Count | ast.Aggregate):
        binders = node.binders
    elif isinstance(node, ast.SetBuilder):
        binders = (node.binder,)
    return any(
        isinstance(b.domain, ast.ExprDomain)
        and isinstance(b.domain.expr, ast.Name)
        and b.domain.expr.id in kinds
        for b in binders
    )


def _loop_kinds(loop: ast.For, sym: Symbols) -> list[str]:
    kinds = []
    for b in loop.binders:
        d = b.domain
        if (
            isinstance(d, ast.ExprDomain)
            and isinstance(d.expr, ast.Name)
            and d.expr.id in sym.kinds
        ):
            kinds.append(d.expr.id)
            continue
        if isinstance(d, ast.ExprDomain):
            # a set of objects iterates in slot order too: be conservative
            kinds.extend(sym.kinds)
    return kinds


def order_dependent_kinds(sym: Symbols) -> tuple[dict[str, int], list[str]]:
    """Kinds that an order-dependent `for` loop iterates, with the loop's line."""
    out: dict[str, int] = {}
    for actor in sym.actors:
        bodies = [a.body for a in actor.actions]
        bodies += [h.body for h in getattr(actor, "hooks", ())]  # a scheduler's `on bind`
        for body in bodies:
            for s in ast.walk_stmts(body.stmts):
                # a loop with `step` visits its items in any order (lang/steps.py): symmetric
                if (
                    isinstance(s, ast.For)
                    and not steps_of(s.body.stmts)
                    and not (_loop_is_order_safe(s, sym))
                ):
                    for k in _loop_kinds(s, sym):
                        out.setdefault(k, s.span.line)
    notes = [
        f"symmetry off for {k}: the `for` loop at line {line} may depend on the order it "
        f"visits {k} objects"
        for k, line in sorted(out.items())
        if not sym.kinds[k].ordered
    ]
    return out, notes
