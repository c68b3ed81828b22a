"""Binders, compiled: the domain a binder ranges over (a kind's slots, an enum, a set, a range),
the two ways to range over binders (unrolled into straight-line code when the domains are small
constants, or as comprehension clauses), and the careful form that evaluates every term on its
own (runtime._terms). Used by expressions (quantifiers, aggregates), statements (`choose`,
`for`, `:= any`) and actions' headers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from kcheck.lang import ast
from kcheck.lang.types import BOOL, INT, TEnum, TRef, TSet, Type
from kcheck.model.context import CompileContext, index
from kcheck.model.env import Ctx, Env, Local
from kcheck.model.ir import KindLayout
from kcheck.model.typeof import TypeOf

UNROLL_LIMIT = 64  # largest product of domain sizes unrolled into straight-line code
# Nested unrolled quantifiers multiply: past this many copies of one body, use loops instead.
MAX_UNROLLED_COPIES = 4096


class ExprFn(Protocol):
    """Compiles an expression to Python source (ExprCompiler.expr): domains and `where`s."""

    def __call__(self, e: ast.Expr, env: Env, sv: str, ctx: Ctx | None = None) -> str: ...


class Binding:
    def __init__(self, ctx: CompileContext, types: TypeOf, expr: ExprFn) -> None:
        self.ctx = ctx
        self.sym = ctx.sym
        self.layout = ctx.layout
        self.gen = ctx.gen
        self.types = types
        self.expr = expr

    # ---- domains: each yields (binder type, per-value presence test, loop clause)
    def domain(self, d: ast.Domain, env: Env, sv: str) -> tuple[Type, int | None, Any]:
        """(element type, constant size if unrollable, descriptor)."""
        if isinstance(d, ast.RangeDomain):
            return INT, None, ("range", self.expr(d.lo, env, sv), self.expr(d.hi, env, sv))
        e = d.expr
        if isinstance(e, ast.Name) and e.id == "bool":
            return BOOL, 2, ("range", "0", "1")  # false, true
        if isinstance(e, ast.Name) and e.id not in env:
            if e.id in self.sym.kinds:
                k = self.layout.kind(e.id)
                return TRef(e.id), k.slots, ("kind", k)
            if e.id in self.sym.enums:
                return TEnum(e.id), len(self.sym.enums[e.id]), ("enum", e.id)
        t = self.types.type_of(e, env)
        assert isinstance(t, TSet)
        code = self.expr(e, env, sv)
        if t.elem in self.sym.kinds:
            k = self.layout.kind(t.elem)
            return TRef(t.elem), k.slots, ("set", code)
        return TEnum(t.elem), len(self.sym.enums[t.elem]), ("set", code)

    def member_test(self, desc: Any, value: str, sv: str) -> str | None:
        tag = desc[0]
        if tag == "kind":
            k: KindLayout = desc[1]
            return f"{sv}[{index(k.base, value, k.stride, self.ctx.pres_off(k.name))}]"
        if tag == "set":
            return f"(({desc[1]}) >> {value} & 1)"
        return None

    def loop_clause(self, var: str, size: int | None, desc: Any, sv: str) -> str:
        if desc[0] == "range":
            return f"for {var} in range({desc[1]}, ({desc[2]}) + 1)"
        test = self.member_test(desc, var, sv)
        clause = f"for {var} in range({size})"
        return clause + (f" if {test}" if test else "")

    def bind_all(
        self,
        binders: tuple[ast.Binder, ...],
        where: ast.Expr | None,
        env: Env,
        sv: str,
        ctx: Ctx | None = None,
        header: bool = False,
    ) -> tuple[list[tuple[Env, str | None]] | None, tuple[Env, str, str | None]]:
        """Both ways to range over binders: unrolled (a list of (env, condition)) when every
        domain has a small constant size, and as comprehension clauses with runtime variables.
        For an action's header, errors in `where` are reported with that instance's binders."""

        def where_ctx(e: Env) -> Ctx | None:
            if ctx is None or not header:
                return ctx
            return Ctx(ctx.aid, "(" + "".join(f"{e[b.name].code}, " for b in binders) + ")", sv)

        # Comprehension form.
        cenv = dict(env)
        clauses: list[str] = []
        for b in binders:
            ty, size, desc = self.domain(b.domain, cenv, sv)
            var = self.gen.fresh(b.name)
            clauses.append(self.loop_clause(var, size, desc, sv))
            cenv[b.name] = Local(var, ty, desc[0] == "kind")
        cwhere = self.expr(where, cenv, sv, where_ctx(cenv)) if where is not None else None
        comp = (cenv, " ".join(clauses), cwhere)
        # Unrolled form.
        combos: list[tuple[Env, list[str]]] = [(dict(env), [])]
        total = 1
        for b in binders:
            if not combos:  # an empty domain before this binder: no instance at all
                break
            ty, size, desc = self.domain(b.domain, combos[0][0], sv)
            if size is None or (desc[0] == "set" and not _is_stable(b.domain)):
                return None, comp
            total *= max(size, 1)
            if total > UNROLL_LIMIT or total * self.ctx.copies > MAX_UNROLLED_COPIES:
                return None, comp
            nxt: list[tuple[Env, list[str]]] = []
            for cenv2, conds in combos:
                _, _, desc2 = self.domain(b.domain, cenv2, sv)
                for i in range(size):
                    e2 = dict(cenv2)
                    e2[b.name] = Local(str(i), ty, desc2[0] == "kind")
                    test = self.member_test(desc2, str(i), sv)
                    nxt.append((e2, [*conds, test] if test else conds))
            combos = nxt
        unrolled: list[tuple[Env, str | None]] = []
        for cenv3, conds in combos:
            parts = list(conds)
            if where is not None:
                with self.ctx.unrolled(len(combos)):
                    parts.append(self.expr(where, cenv3, sv, where_ctx(cenv3)))
            cond = "(" + " and ".join(f"({p})" for p in parts) + ")" if parts else None
            unrolled.append((cenv3, cond))
        return unrolled, comp

    def terms(
        self,
        binders: tuple[ast.Binder, ...],
        where: ast.Expr | None,
        env: Env,
        sv: str,
        ctx: Ctx | None,
        elem: Callable[[Env], str],
    ) -> str:
        """Code for the list of `elem` over every binding that satisfies `where`, in slot order,
        each term isolated by runtime._terms (one binder per level: a later binder's domain is
        part of the earlier binder's term)."""

        def level(i: int, cenv: Env) -> str:
            if i == len(binders):
                if where is None:
                    return f"[{elem(cenv)}]"
                return f"([{elem(cenv)}] if {self.expr(where, cenv, sv, ctx)} else [])"
            b = binders[i]
            ty, size, desc = self.domain(b.domain, cenv, sv)
            var = self.gen.fresh(b.name)
            clause = self.loop_clause(var, size, desc, sv)
            inner = level(i + 1, {**cenv, b.name: Local(var, ty, desc[0] == "kind")})
            return f"_terms(lambda {var}: {inner}, [{var} {clause}])"

        return level(0, env)


def _is_stable(d: ast.Domain) -> bool:
    """A set domain may be unrolled only if evaluating it repeatedly is cheap and pure."""
    return isinstance(d, ast.ExprDomain) and isinstance(d.expr, ast.Name | ast.Field)
