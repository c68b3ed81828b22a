"""Which expressions can never fail: a sound, conservative test that lets a quantifier whose body
guards its own reads keep Python's short-circuit form instead of evaluating every term (where
one failing term must fail the whole quantifier, spec/language.md).
"""

from __future__ import annotations

from kcheck.lang import ast
from kcheck.lang.types import TRef
from kcheck.model.bind import Binding
from kcheck.model.context import CompileContext
from kcheck.model.env import Env, Local
from kcheck.model.typeof import TypeOf


class FailFree:
    def __init__(self, ctx: CompileContext, types: TypeOf, binding: Binding) -> None:
        self.ctx = ctx
        self.sym = ctx.sym
        self.types = types
        self.binding = binding

    def cannot_fail(self, e: ast.Expr, env: Env, sv: str, known: frozenset[ast.Expr]) -> bool:
        """Whether evaluating `e` can never raise, given that the references in `known` are
        not `none` (facts its enclosing `and`/`or`/`where`/`if` established): a sound,
        conservative test, so that a quantifier whose body guards its reads
        (`p.node != none and p.node.ready`) keeps its short-circuit form. Every read that
        would compile to a check (`_some`, `_cached`, `_deref`) must be shown not to fail."""
        ok = self.cannot_fail
        match e:
            case ast.IntLit() | ast.BoolLit() | ast.NoneLit() | ast.Budget():
                return True
            case ast.Name():
                return True
            case ast.Field(obj=o):
                t = self.types.type_of(o, env)
                if not isinstance(t, TRef) or not ok(o, env, sv, known):
                    return False
                if t.optional and o not in known:
                    return False
                seen = isinstance(o, ast.Name) and o.id in env and env[o.id].seen
                if t.kind in self.ctx.view:
                    return seen
                if t.kind in self.ctx.deleted and sv != "s":
                    return False
                return t.kind not in self.ctx.dangling or seen
            case ast.Unary(operand=o):
                return ok(o, env, sv, known)
            case ast.Binary(op=op, left=a, right=b):
                if not ok(a, env, sv, known):
                    return False
                if op in ("and", "implies"):
                    return ok(b, env, sv, known | not_none(a, True))
                if op == "or":
                    return ok(b, env, sv, known | not_none(a, False))
                if op in ("/", "%") and not (isinstance(b, ast.IntLit) and b.value != 0):
                    return False
                return ok(b, env, sv, known)
            case ast.IfExpr(cond=c, then=a, else_=b):
                return (
                    ok(c, env, sv, known)
                    and ok(a, env, sv, known | not_none(c, True))
                    and ok(b, env, sv, known | not_none(c, False))
                )
            case ast.SetLit(elems=elems):
                # an element that may be `none` is checked (model/expr.py `_element`)
                return all(
                    ok(x, env, sv, known)
                    and (x in known or not _maybe_none(self.types.type_of(x, env)))
                    for x in elems
                )
            case ast.CountAll(arg=a):
                return ok(a, env, sv, known)
            case ast.Call(func=fn, args=args):
                if not all(ok(a, env, sv, known) for a in args):
                    return False
                if fn in ("min", "max", "abs", "size"):
                    return True
                if fn not in self.sym.defs:
                    return False  # ceil divides
                d = self.sym.defs[fn]
                denv: Env = {}
                for prm, a in zip(d.params, args, strict=True):
                    pt = self.types.resolve_type(prm.type)
                    at = self.types.type_of(a, env)
                    if isinstance(pt, TRef) and isinstance(at, TRef) and at.optional:
                        pt = at
                    denv[prm.name] = Local("0", pt)
                return ok(d.body, denv, sv, frozenset())
            case (
                ast.Quant(binders=bs, where=w, body=body)
                | ast.Aggregate(binders=bs, where=w, body=body)
            ):
                return self._binding_cannot_fail(bs, w, body, env, sv, known)
            case ast.Count(binders=bs, where=w):
                return self._binding_cannot_fail(bs, w, None, env, sv, known)
            case ast.SetBuilder(binder=b, where=w):
                return self._binding_cannot_fail((b,), w, None, env, sv, known)
        return False

    def _binding_cannot_fail(
        self,
        binders: tuple[ast.Binder, ...],
        where: ast.Expr | None,
        body: ast.Expr | None,
        env: Env,
        sv: str,
        known: frozenset[ast.Expr],
    ) -> bool:
        names = {b.name for b in binders}
        # facts about names the binders shadow say nothing inside
        known = frozenset(k for k in known if not (ast.names_in(k) & names))
        env2 = dict(env)
        for b in binders:
            if isinstance(b.domain, ast.RangeDomain):
                if not (self.cannot_fail(b.domain.lo, env2, sv, known)
                        and self.cannot_fail(b.domain.hi, env2, sv, known)):  # fmt: skip
                    return False
            elif not (
                (isinstance(b.domain.expr, ast.Name) and b.domain.expr.id not in env2)
                or self.cannot_fail(b.domain.expr, env2, sv, known)
            ):
                return False
            ty, _, desc = self.binding.domain(b.domain, env2, sv)
            env2[b.name] = Local("0", ty, desc[0] == "kind")
        if where is not None and not self.cannot_fail(where, env2, sv, known):
            return False
        inside = known | (not_none(where, True) if where is not None else frozenset())
        return body is None or self.cannot_fail(body, env2, sv, inside)


def not_none(e: ast.Expr, holds: bool) -> frozenset[ast.Expr]:
    """References known not to be `none` where `e` evaluates to `holds`."""
    match e:
        case ast.Binary(op="!=", left=a, right=ast.NoneLit()) if holds:
            return frozenset({a})
        case ast.Binary(op="==", left=a, right=ast.NoneLit()) if not holds:
            return frozenset({a})
        case ast.Binary(op="and", left=a, right=b) if holds:
            return not_none(a, True) | not_none(b, True)
        case ast.Binary(op="or", left=a, right=b) if not holds:
            return not_none(a, False) | not_none(b, False)
        case ast.Unary(op="not", operand=a):
            return not_none(a, not holds)
    return frozenset()


def _maybe_none(t: object) -> bool:
    return isinstance(t, TRef) and t.optional
