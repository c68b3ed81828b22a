"""Checked AST -> CompiledModel. Every action, invariant and the init block become Python source
over the flat state tuple, compiled once with `compile()`: guards and effects are expressions on
constant tuple indexes, quantifiers over small kinds are unrolled, and no tree is walked while
searching. The input must have passed the type checker; this pass trusts it.

Nondeterminism (`choose`, `:= any`, scheduler ties) is compiled as nested loops in which the rest
of the action runs once per choice, on its own copy of the state.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kcheck.lang import ast
from kcheck.lang.symbols import Symbols
from kcheck.lang.types import (
    BOOL,
    EMPTY_SET,
    INT,
    NONE,
    TBool,
    TEmptySet,
    TEnum,
    TInt,
    TNone,
    TRef,
    TSet,
    Type,
)
from kcheck.model.bounds import bound_sources
from kcheck.model.controller_codegen import ControllerCodegen
from kcheck.model.controller_state import (
    coalesced_watches,
    splits,
    stale_watches,
    unsynced_watches,
    watchers,
)
from kcheck.model.env import Ctx, Env, Local
from kcheck.model.ir import (
    ActionInfo,
    BudgetLayout,
    CompiledModel,
    FieldLayout,
    InvariantInfo,
    KindLayout,
    Layout,
    VarLayout,
)
from kcheck.model.properties import instances, property_info, state_formulas, unquantified
from kcheck.model.runtime import RAISING, RUNTIME_NS

__all__ = ["Compiler", "Env", "Local", "compile_model"]
from kcheck.model.symmetry import make_canonicalizer, order_dependent_kinds, ref_sites

UNROLL_LIMIT = 64  # largest product of domain sizes unrolled into straight-line code
# Nested unrolled quantifiers multiply: past this many copies of one body, use loops instead.
MAX_UNROLLED_COPIES = 4096


def _is_const(code: str) -> bool:
    return code.lstrip("-").isdigit()


class _Gen:
    """Accumulates generated Python source with indentation."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 0
        self.counter = itertools.count()

    def fresh(self, stem: str) -> str:
        return f"{stem}_{next(self.counter)}"

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)

    def source(self) -> str:
        return "\n".join(self.lines) + "\n"


class Compiler:
    def __init__(self, sym: Symbols, symmetry: bool) -> None:
        self.sym = sym
        self.gen = _Gen()
        self.stale = stale_watches(sym)  # kinds read through a cache, stale or coalesced
        self.coalesced = coalesced_watches(sym)
        self.unsynced = unsynced_watches(sym)
        self.watchers = watchers(self.stale)
        self.splits = splits(sym)
        self.cc = ControllerCodegen(self)  # caches, split actions, restarts
        # kinds that a real reference may name after the object is gone (a dangling reference,
        # spec/language.md section 7): reads through such references are checked
        self.dangling = dangling_kinds(sym)
        self.layout, self.notes = self._layout(symmetry)
        self.budget_index = {b.fault: b for b in self.layout.budgets}
        self.prunable = {
            k.name
            for k in self.layout.kinds
            if k.symmetric and not any(ref_sites(self.layout, k.name))
        }
        self.actions: list[ActionInfo] = []
        self.hoist: dict[str, str] | None = None  # code -> local, while emitting a hot function
        self.hoist_lines: dict[str, list[str]] = {}  # local -> statements computing it
        self.copies = 1  # how many unrolled copies of the code being generated there will be
        self.deleted: set[str] = set()  # kinds an object of which this step may have deleted
        # In the per-action generators a failing instance or choice yields its StepError and the
        # enumeration goes on, so every step that does not fail is still found.
        self.tolerant = False
        self.tagged = False  # hot successors as (action id, state) pairs, for liveness
        # While emitting the labelled (per-action) form: binding forms evaluate their terms one
        # by one and report the first error by cause (runtime._terms), so the error of a step,
        # not only whether it fails, is the same whatever the slot order. The hot forms only
        # need to fail exactly when some term fails; they never report the error.
        self.careful = False
        # While compiling a controller that watches kinds stale: kind -> that controller, whose
        # cache its reads of the kind go through (its writes still go to the real objects).
        self.view: dict[str, str] = {}

    @contextmanager
    def _unrolled(self, n: int) -> Iterator[None]:
        saved = self.copies
        self.copies = saved * max(n, 1)
        try:
            yield
        finally:
            self.copies = saved

    # ---- layout
    def _layout(self, symmetry: bool) -> tuple[Layout, list[str]]:
        idx = 0
        vars_: list[VarLayout] = []
        for v in self.sym.vars.values():
            vars_.append(VarLayout(v.name, v.type, idx))
            idx += 1
        for sp in self.splits.values():
            if sp.kind is None:
                for name, ty in self.cc.split_cells(sp):
                    vars_.append(VarLayout(name, ty, idx))
                    idx += 1
        budgets: list[BudgetLayout] = []
        for a in self.sym.actors:
            if isinstance(a, ast.Fault):
                budgets.append(BudgetLayout(a.name, idx, self._const(a.budget)))
                idx += 1
        unsafe, notes = order_dependent_kinds(self.sym) if symmetry else ({}, [])
        kinds: list[KindLayout] = []
        for k in self.sym.kinds.values():
            fields = [FieldLayout(f.name, f.type, i + 1) for i, f in enumerate(k.fields)]
            real = list(fields)
            for x in self.watchers.get(k.name, ()):
                flag = len(fields) + 1
                fields.append(FieldLayout(f"@{x}", BOOL, flag, flag))
                fields += [
                    FieldLayout(f"{f.name}@{x}", f.type, flag + 1 + i, flag)
                    for i, f in enumerate(real)
                ]
                if (x, k.name) in self.coalesced and (x, k.name) not in self.unsynced:
                    # the initial add its handler has yet to hear (spec/faults.md section 3)
                    fields.append(FieldLayout(f"+add@{x}", BOOL, len(fields) + 1))
            for sp in self.splits.values():
                if sp.kind == k.name:
                    for name, ty in self.cc.split_cells(sp):
                        fields.append(FieldLayout(name, ty, len(fields) + 1))
            stride = len(fields) + 1
            sym_ok = symmetry and not k.ordered and k.name not in unsafe
            kinds.append(KindLayout(k.name, idx, k.size, stride, tuple(fields), sym_ok))
            idx += k.size * stride
        return Layout(idx, tuple(vars_), tuple(budgets), tuple(kinds), dict(self.sym.enums)), notes

    def _const(self, e: ast.Expr) -> int:
        value = eval(self.expr(e, {}, "None"), {"__builtins__": {}}, RUNTIME_NS)
        return int(value)

    # ---- types (the checker has proved them; here only what code generation needs)
    def type_of(self, e: ast.Expr, env: Env) -> Type:
        match e:
            case ast.IntLit():
                return INT
            case ast.BoolLit():
                return BOOL
            case ast.NoneLit():
                return NONE
            case ast.Name(id=n):
                if n in env:
                    return env[n].type
                if n in self.sym.vars:
                    return self.sym.vars[n].type
                if n in self.sym.params:
                    return self.sym.params[n].type
                if n in self.sym.members:
                    return TEnum(self.sym.members[n][0])
                return INT
            case ast.Field(obj=o, name=f):
                ot = self.type_of(o, env)
                assert isinstance(ot, TRef), f"field of non-reference {ot}"
                fi = self.sym.kinds[ot.kind].field(f)
                assert fi is not None
                return fi.type
            case ast.Call(func=fn):
                if fn in self.sym.defs:
                    d = self.sym.defs[fn]
                    return self.resolve_type(d.ret)
                return INT
            case ast.Index(kind=k):
                return TRef(k)
            case ast.Unary(op="not"):
                return BOOL
            case ast.Binary(op=op, left=a, right=b):
                if op in ("+", "*", "/", "%"):
                    return INT
                if op in ("-", "|", "&"):
                    ta = self.type_of(a, env)
                    if isinstance(ta, TSet):
                        return ta
                    if isinstance(ta, TEmptySet):
                        return self.type_of(b, env)
                    return INT
                return BOOL
            case ast.SetLit(elems=elems):
                if not elems:
                    return EMPTY_SET
                t0 = self.type_of(elems[0], env)
                if isinstance(t0, TEnum):
                    return TSet(t0.name)
                if isinstance(t0, TRef):
                    return TSet(t0.kind)
                return EMPTY_SET
            case ast.SetBuilder(binder=b):
                return TSet(self._elem_name(b.domain, env))
            case ast.Quant():
                return BOOL
            case ast.IfExpr(then=a, else_=b):
                ta = self.type_of(a, env)
                if isinstance(ta, TNone | TEmptySet):
                    tb = self.type_of(b, env)
                    return TRef(tb.kind, True) if isinstance(tb, TRef) else tb
                if isinstance(ta, TRef) and isinstance(self.type_of(b, env), TNone):
                    return TRef(ta.kind, True)
                return ta
            case ast.Unary():
                return INT
        return INT

    def resolve_type(self, t: ast.TypeExpr) -> Type:
        match t:
            case ast.BoolType():
                return BOOL
            case ast.IntType() | ast.RangeType():
                return INT
            case ast.NamedType(name=n):
                return TEnum(n) if n in self.sym.enums else TRef(n)
            case ast.OptionalType(name=n):
                return TRef(n, True)
            case ast.SetType(elem=n):
                return TSet(n)
        raise AssertionError(t)

    def _elem_name(self, d: ast.Domain, env: Env) -> str:
        if isinstance(d, ast.ExprDomain):
            e = d.expr
            if (
                isinstance(e, ast.Name)
                and e.id not in env
                and e.id in (*self.sym.kinds, *self.sym.enums)
            ):
                return e.id
            t = self.type_of(d.expr, env)
            assert isinstance(t, TSet)
            return t.elem
        raise AssertionError("range domain has no element kind")

    # ---- domains: each yields (binder type, per-value presence test, loop clause)
    def _domain(self, d: ast.Domain, env: Env, sv: str) -> tuple[Type, int | None, Any]:
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
        t = self.type_of(e, env)
        assert isinstance(t, TSet)
        code = self.expr(e, env, sv)
        if t.elem in self.sym.kinds:
            k = self.layout.kind(t.elem)
            return TRef(t.elem), k.slots, ("set", code)
        return TEnum(t.elem), len(self.sym.enums[t.elem]), ("set", code)

    def _member_test(self, desc: Any, value: str, sv: str) -> str | None:
        tag = desc[0]
        if tag == "kind":
            k: KindLayout = desc[1]
            return f"{sv}[{self._index(k.base, value, k.stride, self._pres_off(k.name))}]"
        if tag == "set":
            return f"(({desc[1]}) >> {value} & 1)"
        return None

    def _loop_clause(self, var: str, size: int | None, desc: Any, sv: str) -> str:
        if desc[0] == "range":
            return f"for {var} in range({desc[1]}, ({desc[2]}) + 1)"
        test = self._member_test(desc, var, sv)
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
            ty, size, desc = self._domain(b.domain, cenv, sv)
            var = self.gen.fresh(b.name)
            clauses.append(self._loop_clause(var, size, desc, sv))
            cenv[b.name] = Local(var, ty, desc[0] == "kind")
        cwhere = self.expr(where, cenv, sv, where_ctx(cenv)) if where is not None else None
        comp = (cenv, " ".join(clauses), cwhere)
        # Unrolled form.
        combos: list[tuple[Env, list[str]]] = [(dict(env), [])]
        total = 1
        for b in binders:
            ty, size, desc = self._domain(b.domain, combos[0][0], sv)
            if size is None or (desc[0] == "set" and not _is_stable(b.domain)):
                return None, comp
            total *= max(size, 1)
            if total > UNROLL_LIMIT or total * self.copies > MAX_UNROLLED_COPIES:
                return None, comp
            nxt: list[tuple[Env, list[str]]] = []
            for cenv2, conds in combos:
                _, _, desc2 = self._domain(b.domain, cenv2, sv)
                for i in range(size):
                    e2 = dict(cenv2)
                    e2[b.name] = Local(str(i), ty, desc2[0] == "kind")
                    test = self._member_test(desc2, str(i), sv)
                    nxt.append((e2, [*conds, test] if test else conds))
            combos = nxt
        unrolled: list[tuple[Env, str | None]] = []
        for cenv3, conds in combos:
            parts = list(conds)
            if where is not None:
                with self._unrolled(len(combos)):
                    parts.append(self.expr(where, cenv3, sv, where_ctx(cenv3)))
            cond = "(" + " and ".join(f"({p})" for p in parts) + ")" if parts else None
            unrolled.append((cenv3, cond))
        return unrolled, comp

    # ---- the reading view: a stale controller reads its cache of a kind
    def _pres_off(self, kname: str) -> int:
        """Offset of the presence flag that reads of `kname` see."""
        x = self.view.get(kname)
        return 0 if x is None else self.layout.kind(kname).field(f"@{x}").offset

    def _field_off(self, k: KindLayout, fname: str) -> int:
        x = self.view.get(k.name)
        return k.field(fname if x is None else f"{fname}@{x}").offset

    # ---- expressions
    def _index(self, base: int, slot: str, stride: int, offset: int = 0) -> str:
        if _is_const(slot):
            return str(base + int(slot) * stride + offset)
        return f"{base + offset} + ({slot}) * {stride}"

    def _ref_code(
        self, obj: ast.Expr, env: Env, sv: str, ctx: Ctx | None, target: bool = False
    ) -> tuple[str, TRef]:
        """Code for a reference's slot, checked against `none` when it may be none. Unless it is
        the `target` of a write or delete, an object read through a stale cache must be in it."""
        t = self.type_of(obj, env)
        assert isinstance(t, TRef), t
        code = self.expr(obj, env, sv, ctx)
        aid, args, line = (ctx.aid, ctx.args, obj.span.line) if ctx else (-1, "()", 0)
        if t.optional:
            what = _describe(obj)
            code = f"_some({code}, {what!r}, {aid}, {args}, {line})"
        x = self.view.get(t.kind)
        if x is not None:
            seen = isinstance(obj, ast.Name) and obj.id in env and env[obj.id].seen
            if not (seen or target):
                k = self.layout.kind(t.kind)
                flag = k.base + self._pres_off(t.kind)
                code = (
                    f"_cached({sv}, {code}, {flag}, {k.stride}, {t.kind!r}, {x!r}, "
                    f"{aid}, {args}, {line})"
                )
        elif not (target and self.view) and (
            (t.kind in self.deleted and sv != "s")
            or (
                t.kind in self.dangling
                and not (isinstance(obj, ast.Name) and obj.id in env and env[obj.id].seen)
            )
        ):
            # An object of this kind may have been deleted earlier in this step, or this
            # reference may dangle (it was stored after its object was deleted): it must not
            # read or write the (now empty) slot, which no new object takes while it is named.
            # (A controller with caches writes or deletes what is gone as the apiserver
            # answers, NotFound, and nothing changes: its write is dropped by the caller.)
            k = self.layout.kind(t.kind)
            what = _describe(obj)
            code = (
                f"_deref({sv}, {code}, {k.base}, {k.stride}, {t.kind!r}, {what!r}, "
                f"{aid}, {args}, {line})"
            )
        return code, t

    def expr(self, e: ast.Expr, env: Env, sv: str, ctx: Ctx | None = None) -> str:
        x = self.expr
        match e:
            case ast.IntLit(value=v):
                return str(v)
            case ast.BoolLit(value=v):
                return "True" if v else "False"
            case ast.NoneLit():
                return "-1"
            case ast.Name(id=n):
                if n in env:
                    return env[n].code
                if n in self.sym.vars:
                    return f"{sv}[{self._var(n).index}]"
                if n in self.sym.params:
                    return str(self.sym.params[n].value)
                if n in self.sym.consts:
                    return str(self.sym.consts[n])
                if n in self.sym.members:
                    return str(self.sym.members[n][1])
                raise AssertionError(f"unresolved name {n}")
            case ast.Field(obj=o, name=f):
                slot, t = self._ref_code(o, env, sv, ctx)
                k = self.layout.kind(t.kind)
                return f"{sv}[{self._index(k.base, slot, k.stride, self._field_off(k, f))}]"
            case ast.Call(func=fn, args=args):
                return self._call(fn, args, env, sv, ctx)
            case ast.Index(kind=kname, index=i):
                k = self.layout.kind(kname)
                aid, a, line = (ctx.aid, ctx.args, e.span.line) if ctx else (-1, "()", 0)
                flag = k.base + self._pres_off(kname)
                return (
                    f"_live({sv}, {x(i, env, sv, ctx)}, {flag}, {k.stride}, {k.slots}, "
                    f"{kname!r}, {aid}, {a}, {line})"
                )
            case ast.Unary(op="-", operand=o):
                return f"(-{x(o, env, sv, ctx)})"
            case ast.Unary(op="not", operand=o):
                return f"(not {x(o, env, sv, ctx)})"
            case ast.Binary():
                return self._binary(e, env, sv, ctx)
            case ast.SetLit(elems=elems):
                if not elems:
                    return "0"
                return "(" + " | ".join(f"(1 << {x(el, env, sv, ctx)})" for el in elems) + ")"
            case ast.SetBuilder(binder=b, where=w):
                if self.careful:
                    bname = b.name
                    members = self._terms((b,), w, env, sv, ctx, lambda e2: e2[bname].code)
                    return f"_bits({members})"
                unrolled, (cenv, clauses, cwhere) = self.bind_all((b,), w, env, sv, ctx)
                var = cenv[b.name].code
                if unrolled is not None:
                    terms = [
                        f"((1 << {e2[b.name].code}) if {c} else 0)" if c else
                        f"(1 << {e2[b.name].code})"
                        for e2, c in unrolled
                    ]  # fmt: skip
                    return "(" + " | ".join(["0", *terms]) + ")"
                cond = f" if {cwhere}" if cwhere else ""
                return f"_bits({var} {clauses}{cond})"
            case ast.Quant(quant=q, binders=bs, where=w, body=body):
                fn = "all" if q == "forall" else "any"
                if self.careful and not self.cannot_fail(e, env, sv, frozenset()):
                    return (
                        f"{fn}({self._terms(bs, w, env, sv, ctx, lambda e2: x(body, e2, sv, ctx))})"
                    )
                unrolled, (cenv, clauses, cwhere) = self.bind_all(bs, w, env, sv, ctx)
                if unrolled is not None:
                    with self._unrolled(len(unrolled)):
                        strict = not self.cannot_fail(e, env, sv, frozenset())
                        return self._quant_unrolled(q, body, unrolled, sv, ctx, strict)
                b_code = x(body, cenv, sv, ctx)
                cond = f" if {cwhere}" if cwhere else ""
                if _raises(b_code + clauses + cond) and not self.cannot_fail(
                    e, env, sv, frozenset()
                ):
                    # every term is evaluated (a list, not a generator): one that fails fails
                    # the quantifier even when another has decided its value (spec/language.md)
                    return f"{fn}([{b_code} {clauses}{cond}])"
                return f"{fn}({b_code} {clauses}{cond})"
            case ast.Count(binders=bs, where=w):
                if self.careful:
                    return f"len({self._terms(bs, w, env, sv, ctx, lambda e2: '1')})"
                grouped = self._grouped(bs, w, None, env, sv)
                if grouped is not None:
                    return grouped
                unrolled, (cenv, clauses, cwhere) = self.bind_all(bs, w, env, sv, ctx)
                if unrolled is not None:
                    terms = [f"({c})" if c else "1" for _, c in unrolled]
                    return "(" + " + ".join(["0", *terms]) + ")"
                cond = f" if {cwhere}" if cwhere else ""
                return f"sum(1 {clauses}{cond})"
            case ast.CountAll(arg=a):
                if isinstance(a, ast.Name) and a.id not in env and a.id in self.sym.kinds:
                    k = self.layout.kind(a.id)
                    off = self._pres_off(a.id)
                    terms = [f"{sv}[{k.slot_base(i) + off}]" for i in range(k.slots)]
                    return "(" + " + ".join(["0", *terms]) + ")"
                return f"({x(a, env, sv, ctx)}).bit_count()"
            case ast.Aggregate(op=op, body=body, binders=bs, where=w):
                if self.careful:
                    every = self._terms(bs, w, env, sv, ctx, lambda e2: x(body, e2, sv, ctx))
                    return f"sum({every})" if op == "sum" else f"{op}({every}, default=0)"
                grouped = self._grouped(bs, w, body, env, sv) if op == "sum" else None
                if grouped is not None:
                    return grouped
                unrolled, (cenv, clauses, cwhere) = self.bind_all(bs, w, env, sv, ctx)
                if op == "sum" and unrolled is not None:
                    with self._unrolled(len(unrolled)):
                        terms = [
                            f"({x(body, e2, sv, ctx)} if {c} else 0)" if c
                            else x(body, e2, sv, ctx)
                            for e2, c in unrolled
                        ]  # fmt: skip
                    return "(" + " + ".join(["0", *terms]) + ")"
                cond = f" if {cwhere}" if cwhere else ""
                b_code = x(body, cenv, sv, ctx)
                if op == "sum":
                    return f"sum({b_code} {clauses}{cond})"
                return f"{op}([{b_code} {clauses}{cond}], default=0)"
            case ast.IfExpr(cond=c, then=a, else_=b):
                return f"({x(a, env, sv, ctx)} if {x(c, env, sv, ctx)} else {x(b, env, sv, ctx)})"
            case ast.Budget(fault=fault):
                spent = self.budget_index[fault]
                return f"({spent.budget} - {sv}[{spent.index}])"
        raise AssertionError(f"cannot compile {type(e).__name__}")

    def _grouped(
        self,
        binders: tuple[ast.Binder, ...],
        where: ast.Expr | None,
        body: ast.Expr | None,
        env: Env,
        sv: str,
    ) -> str | None:
        """`count x in K where x.f == c and rest` (or `sum e for ...`) with a constant c, on the
        unchanged state of a hot function: computed for every value of f in one pass over K's
        slots, shared by all the c's (the pods of each ReplicaSet, the CPU used on each node).
        None when the pattern does not apply."""
        if self.hoist is None or sv != "s" or where is None or len(binders) != 1:
            return None
        b = binders[0]
        d = b.domain
        if not (
            isinstance(d, ast.ExprDomain)
            and isinstance(d.expr, ast.Name)
            and d.expr.id not in env
            and d.expr.id in self.sym.kinds
        ):
            return None
        kind = self.layout.kind(d.expr.id)
        conjuncts = _conjuncts(where)
        for i, c in enumerate(conjuncts):
            if not (isinstance(c, ast.Binary) and c.op == "=="):
                continue
            for field_side, other in ((c.left, c.right), (c.right, c.left)):
                if not (
                    isinstance(field_side, ast.Field)
                    and isinstance(field_side.obj, ast.Name)
                    and field_side.obj.id == b.name
                    and b.name not in ast.names_in(other)
                ):
                    continue
                key_code = self.expr(other, env, sv)
                if not _is_const(key_code):
                    continue
                f = kind.field(field_side.name)
                dom = _value_range(self.layout, f.type)
                if dom is None:
                    continue
                lo, size = dom
                rest = conjuncts[:i] + conjuncts[i + 1 :]
                off = self._field_off(kind, f.name)
                table = self._group_table(kind, b.name, off, lo, size, rest, body, env)
                if table is None:
                    return None
                index = int(key_code) - lo
                return f"{table}[{index}]" if 0 <= index < size else "0"
        return None

    def _group_table(
        self,
        kind: KindLayout,
        binder: str,
        offset: int,
        lo: int,
        size: int,
        rest: list[ast.Expr],
        body: ast.Expr | None,
        env: Env,
    ) -> str | None:
        """The name of a hoisted list: entry v is the count (or sum) over K's live objects whose
        field at `offset` is lo + v and that satisfy `rest`."""
        saved, self.hoist = self.hoist, None  # the pass below is itself on the state
        try:
            lines = []
            templates = []
            flag = self._pres_off(kind.name)
            for slot in range(kind.slots):
                e2 = {**env, binder: Local(str(slot), TRef(kind.name), True)}
                conds = [f"s[{kind.slot_base(slot) + flag}]"]
                conds += [self.expr(r, e2, "s") for r in rest]
                value = "1" if body is None else self.expr(body, e2, "s")
                code = " and ".join(f"({x})" for x in conds)
                if any(h in code or h in value for h in RAISING):
                    return None
                field = f"s[{kind.slot_base(slot) + offset}]"
                at = field if lo == 0 else (f"{field} + {-lo}" if lo < 0 else f"{field} - {lo}")
                lines.append((code, at, value))
                templates.append(code + "|" + value)
        finally:
            self.hoist = saved
        assert self.hoist is not None
        key = f"group:{kind.name}:{flag}:{offset}:{lo}:{size}:" + "||".join(templates)
        if key in self.hoist:
            return self.hoist[key]
        name = f"g_{len(self.hoist)}"
        self.hoist[key] = name
        prelude = [f"{name} = [0] * {size}"]
        prelude += [f"if {code}: {name}[{at}] += {value}" for code, at, value in lines]
        self.hoist_lines[name] = prelude
        return name

    def _quant_unrolled(
        self,
        q: str,
        body: ast.Expr,
        unrolled: list[tuple[Env, str | None]],
        sv: str,
        ctx: Ctx | None,
        strict: bool = True,
    ) -> str:
        x = self.expr
        if q == "forall":
            terms = [
                f"((not {c}) or {x(body, e2, sv, ctx)})" if c else x(body, e2, sv, ctx)
                for e2, c in unrolled
            ]
        else:
            terms = [
                f"({c} and {x(body, e2, sv, ctx)})" if c else x(body, e2, sv, ctx)
                for e2, c in unrolled
            ]
        if strict and any(_raises(t) for t in terms):
            # a tuple evaluates every term, so one that fails fails the quantifier
            fn = "all" if q == "forall" else "any"
            return f"{fn}(({''.join(t + ', ' for t in terms)}))"
        if q == "forall":
            return "(" + " and ".join(["True", *terms]) + ")"
        return "(" + " or ".join(["False", *terms]) + ")"

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
                t = self.type_of(o, env)
                if not isinstance(t, TRef) or not ok(o, env, sv, known):
                    return False
                if t.optional and o not in known:
                    return False
                seen = isinstance(o, ast.Name) and o.id in env and env[o.id].seen
                if t.kind in self.view:
                    return seen
                if t.kind in self.deleted and sv != "s":
                    return False
                return t.kind not in self.dangling or seen
            case ast.Unary(operand=o):
                return ok(o, env, sv, known)
            case ast.Binary(op=op, left=a, right=b):
                if not ok(a, env, sv, known):
                    return False
                if op in ("and", "implies"):
                    return ok(b, env, sv, known | _not_none(a, True))
                if op == "or":
                    return ok(b, env, sv, known | _not_none(a, False))
                if op in ("/", "%") and not (isinstance(b, ast.IntLit) and b.value != 0):
                    return False
                return ok(b, env, sv, known)
            case ast.IfExpr(cond=c, then=a, else_=b):
                return (
                    ok(c, env, sv, known)
                    and ok(a, env, sv, known | _not_none(c, True))
                    and ok(b, env, sv, known | _not_none(c, False))
                )
            case ast.SetLit(elems=elems):
                return all(ok(x, env, sv, known) for x in elems)
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
                    pt = self.resolve_type(prm.type)
                    at = self.type_of(a, env)
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
            ty, _, desc = self._domain(b.domain, env2, sv)
            env2[b.name] = Local("0", ty, desc[0] == "kind")
        if where is not None and not self.cannot_fail(where, env2, sv, known):
            return False
        inside = known | (_not_none(where, True) if where is not None else frozenset())
        return body is None or self.cannot_fail(body, env2, sv, inside)

    def _terms(
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
            ty, size, desc = self._domain(b.domain, cenv, sv)
            var = self.gen.fresh(b.name)
            clause = self._loop_clause(var, size, desc, sv)
            inner = level(i + 1, {**cenv, b.name: Local(var, ty, desc[0] == "kind")})
            return f"_terms(lambda {var}: {inner}, [{var} {clause}])"

        return level(0, env)

    def _binary(self, e: ast.Binary, env: Env, sv: str, ctx: Ctx | None) -> str:
        op = e.op
        if op in _CHAINED and any(
            isinstance(x, ast.Binary) and x.op == op for x in (e.left, e.right)
        ):
            return self._chain(e, env, sv, ctx)
        a = self.expr(e.left, env, sv, ctx)
        b = self.expr(e.right, env, sv, ctx)
        if op in ("+", "*", "==", "!=", "<", "<=", ">", ">=", "|", "&"):
            return f"({a} {op} {b})"
        if op == "and":
            return f"({a} and {b})"
        if op == "or":
            return f"({a} or {b})"
        if op == "implies":
            return f"((not {a}) or {b})"
        if op == "-":
            if isinstance(self.type_of(e.left, env), TSet | TEmptySet):
                return f"({a} & ~{b})"
            return f"({a} - {b})"
        if op in ("/", "%"):
            pyop = "//" if op == "/" else "%"
            if _is_const(b) and int(b) != 0:
                return f"({a} {pyop} {b})"
            aid, args, line = (ctx.aid, ctx.args, e.span.line) if ctx else (-1, "()", 0)
            return f"_div({a}, {b}, {pyop!r}, {aid}, {args}, {line})"
        if op == "in":
            lt = self.type_of(e.left, env)
            if isinstance(lt, TRef | TNone) and (isinstance(lt, TNone) or lt.optional):
                return f"_member({a}, {b})"
            return f"(({b}) >> {a} & 1 == 1)"
        raise AssertionError(op)

    def _chain(self, e: ast.Binary, env: Env, sv: str, ctx: Ctx | None) -> str:
        """`a + b + c ...` (parsed left-deep) as one flat Python chain in one pair of
        parentheses, walked without recursion: one level per operator would stop Python's own
        parser at 200 levels, and deep recursion here at the interpreter's limit."""
        operands: list[ast.Expr] = []
        todo: list[ast.Expr] = [e]  # the chain's operands, leftmost last
        while todo:
            cur = todo.pop()
            # `-` is not associative: only its left-deep spine, `a - b - c`, is one chain
            if (
                isinstance(cur, ast.Binary)
                and cur.op == e.op
                and (cur is e or e.op in _ASSOCIATIVE or not operands)
            ):
                todo += [cur.right, cur.left]
            else:
                operands.append(cur)
        codes = [self.expr(x, env, sv, ctx) for x in operands]
        if e.op == "-" and isinstance(self.type_of(operands[0], env), TSet | TEmptySet):
            return "(" + " & ".join([codes[0], *(f"~{c}" for c in codes[1:])]) + ")"
        return "(" + f" {e.op} ".join(codes) + ")"

    def _call(self, fn: str, args: tuple[ast.Expr, ...], env: Env, sv: str, ctx: Ctx | None) -> str:
        codes = [self.expr(a, env, sv, ctx) for a in args]
        if fn in self.sym.defs:
            d = self.sym.defs[fn]
            denv: Env = {}
            for p, code, a in zip(d.params, codes, args, strict=True):
                pt = self.resolve_type(p.type)
                if isinstance(pt, TRef) and not pt.optional:
                    at = self.type_of(a, env)
                    if isinstance(at, TRef) and at.optional:
                        pt = at
                denv[p.name] = Local(code if _is_const(code) else f"({code})", pt)
            body = self.expr(d.body, denv, sv, ctx)
            # Common subexpression: a call on the unchanged state with constant arguments is
            # computed once per state, provided evaluating it early cannot raise.
            if (
                self.hoist is not None
                and sv == "s"
                and all(_is_const(c) for c in codes)
                and not any(h in body for h in RAISING)
            ):
                return self.hoist.setdefault(body, f"h_{len(self.hoist)}")
            return body
        if fn in ("min", "max"):
            return f"{fn}({codes[0]}, {codes[1]})"
        if fn == "abs":
            return f"abs({codes[0]})"
        if fn == "ceil":
            aid, args_code = (ctx.aid, ctx.args) if ctx else (-1, "()")
            return f"(-_div(-({codes[0]}), {codes[1]}, '//', {aid}, {args_code}, 0))"
        if fn == "size":
            return f"({codes[0]}).bit_count()"
        raise AssertionError(f"unknown function {fn}")

    def _var(self, name: str) -> VarLayout:
        for v in self.layout.vars:
            if v.name == name:
                return v
        raise KeyError(name)

    # ---- statements
    def block(
        self,
        stmts: tuple[ast.Stmt, ...],
        env: Env,
        ctx: Ctx,
        k: Callable[[Env, Ctx], None],
    ) -> None:
        """Emit `stmts`, then the continuation `k` in whatever env and state they leave."""
        if not stmts:
            k(env, ctx)
            return
        first, rest = stmts[0], stmts[1:]
        g = self.gen
        sv = ctx.sv

        def then(env2: Env, ctx2: Ctx) -> None:
            self.block(rest, env2, ctx2, k)

        match first:
            case ast.Assign(target=t, value=v):
                value = self.expr(v, env, sv, ctx)
                if self.view and len(t.parts) > 1:
                    # the value is read even when the write lands on an object already gone
                    tmp = g.fresh("val")
                    g.emit(f"{tmp} = {value}")
                    value = tmp
                idx, ty, what, live = self._lvalue(t, env, ctx)
                with self._if_live(live, sv):
                    self._store(idx, ty, value, what, ctx, first.span.line)
                then(env, ctx)
            case ast.AssignAny(target=t, domain=d):
                ty, size, desc = self._domain(d, env, sv)
                var = g.fresh("v")
                loops = g.depth
                at = self._emit_clauses(self._loop_clause(var, size, desc, sv), None, self.tolerant)
                line = first.span.line
                fork = g.fresh("st")
                g.emit(f"{fork} = {sv}[:]")
                ctx2 = Ctx(ctx.aid, ctx.args, fork)
                idx, tty, what, live = self._lvalue(t, env, ctx2)
                with self._if_live(live, fork):
                    self._store(idx, tty, var, what, ctx2, line)
                then(env, ctx2)
                if at is not None:
                    self._close_try(at)
                g.depth = loops
            case ast.CreateStmt(create=c):
                self._create(c, env, ctx)
                then(env, ctx)
            case ast.Let(name=n, value=v):
                var = g.fresh(n)
                if isinstance(v, ast.Create):
                    slot = self._create(v, env, ctx)
                    g.emit(f"{var} = {slot}")
                    env2 = {**env, n: Local(var, TRef(v.kind))}
                else:
                    g.emit(f"{var} = {self.expr(v, env, sv, ctx)}")
                    env2 = {**env, n: Local(var, self.type_of(v, env))}
                then(env2, ctx)
            case ast.Delete(target=t):
                slot, rt = self._ref_code(t, env, sv, ctx, target=True)
                self.deleted.add(rt.kind)
                guard = ""
                if self.view:
                    # a stale controller may delete what is already gone: the apiserver
                    # answers NotFound and nothing changes
                    dk = self.layout.kind(rt.kind)
                    tmp = g.fresh("obj")
                    g.emit(f"{tmp} = {slot}")
                    slot = tmp
                    guard = f"if {sv}[{self._index(dk.base, slot, dk.stride)}]: "
                line = first.span.line
                g.emit(f"{guard}_del_{rt.kind}({sv}, {slot}, {ctx.aid}, {ctx.args}, {line})")
                then(env, ctx)
            case ast.Restart(controller=x):
                self.cc.restart(x, sv)
                then(env, ctx)
            case ast.Choose(binders=bs, where=w, body=body):
                _, (cenv, clauses, cwhere) = self.bind_all(bs, w, env, sv, ctx)
                # `for a in A if p for b in B if q` -> nested loops with `if not p: continue`
                loops = g.depth
                at = self._emit_clauses(clauses, cwhere, self.tolerant)
                fork = g.fresh("st")
                g.emit(f"{fork} = {sv}[:]")
                ctx2 = Ctx(ctx.aid, ctx.args, fork)
                self.block(body.stmts, cenv, ctx2, lambda env3, ctx3: then(env, ctx3))
                if at is not None:
                    self._close_try(at)
                g.depth = loops
            case ast.For(binders=bs, where=w, body=body):
                self.deleted |= self._deletes_in(body.stmts)
                items = g.fresh("items")
                failed = None
                if self.careful:
                    # every iteration runs even after one failed (the loop's iterations are
                    # independent, or its kind is not permuted), then the first error by cause
                    # is raised: the error does not depend on slot order
                    inner: Env = {}

                    def item(e2: Env) -> str:
                        inner.update(e2)
                        return "(" + "".join(f"{e2[b.name].code}, " for b in bs) + ")"

                    g.emit(f"{items} = {self._terms(bs, w, env, sv, ctx, item)}")
                    cenv = dict(env)
                    for b in bs:
                        cenv[b.name] = Local(
                            g.fresh(b.name), inner[b.name].type, inner[b.name].seen
                        )
                    failed = g.fresh("failed")
                    g.emit(f"{failed} = None")
                else:
                    _, (cenv, clauses, cwhere) = self.bind_all(bs, w, env, sv, ctx)
                    tup = "(" + ", ".join(cenv[b.name].code for b in bs) + ",)"
                    cond = f" if {cwhere}" if cwhere else ""
                    g.emit(f"{items} = [{tup} {clauses}{cond}]")
                names = [cenv[b.name].code for b in bs]
                g.emit(f"for {', '.join(names)}, in {items}:")
                g.depth += 1
                g.emit("pass")
                if failed is not None:
                    g.emit("try:")
                    g.depth += 1
                for b in bs:  # an object deleted earlier in this loop is skipped
                    bt = cenv[b.name].type
                    if isinstance(bt, TRef):
                        bk = self.layout.kind(bt.kind)
                        flag = self._pres_off(bt.kind)
                        pres = self._index(bk.base, cenv[b.name].code, bk.stride, flag)
                        g.emit(f"if not {sv}[{pres}]: continue")
                self.block(body.stmts, cenv, ctx, lambda env3, ctx3: None)
                if failed is not None:
                    g.depth -= 1
                    g.emit("except StepError as _e:")
                    g.emit(f"    {failed} = _pick({failed}, _e)")
                g.depth -= 1
                if failed is not None:
                    g.emit(f"if {failed} is not None: raise {failed}")
                then(env, ctx)
            case ast.If(cond=c, then=tb, else_=eb):
                cond = self.expr(c, env, sv, ctx)
                if _deterministic(first):
                    g.emit(f"if {cond}:")
                    g.depth += 1
                    g.emit("pass")
                    self.block(tb.stmts, env, ctx, lambda e3, c3: None)
                    g.depth -= 1
                    if eb is not None:
                        g.emit("else:")
                        g.depth += 1
                        g.emit("pass")
                        self.block(_else_stmts(eb), env, ctx, lambda e3, c3: None)
                        g.depth -= 1
                    then(env, ctx)
                else:
                    g.emit(f"if {cond}:")
                    g.depth += 1
                    self.block(tb.stmts, env, ctx, lambda e3, c3: then(env, c3))
                    g.depth -= 1
                    g.emit("else:")
                    g.depth += 1
                    self.block(_else_stmts(eb), env, ctx, lambda e3, c3: then(env, c3))
                    g.depth -= 1
            case _:  # `step` never reaches here: compile_model splits bodies at it
                raise AssertionError(f"cannot compile {type(first).__name__}")

    def _deletes_in(self, stmts: tuple[ast.Stmt, ...]) -> set[str]:
        """Kinds a loop body may delete objects of. Its locals are not typed here, so any
        `delete` counts for every kind: only extra checks, never fewer."""
        for st in ast.walk_stmts(stmts):
            if isinstance(st, ast.Delete):
                return set(self.sym.kinds)
        return set()

    def _emit_clauses(self, clauses: str, where: str | None, tolerant: bool = False) -> int | None:
        """Turn comprehension clauses `for v in X if t for w in Y` into nested loop headers.
        With `tolerant`, the tests go inside a `try` in the innermost loop (so that one value
        whose test fails does not end the loop); returns the depth to close it at."""
        g = self.gen
        parts = clauses.split(" for ")
        tests = []
        for i, part in enumerate(parts):
            part = part if i == 0 else "for " + part
            head, _, test = part.partition(" if ")
            g.emit(head + ":")
            g.depth += 1
            if test and not tolerant:
                g.emit(f"if not ({test}): continue")
            elif test:
                tests.append(test)
        if where and tolerant:
            tests.append(where)
        elif where:
            g.emit(f"if not ({where}): continue")
        if not tolerant:
            return None
        depth = self._open_try()
        for test in tests:
            g.emit(f"if not ({test}): continue")
        return depth

    def _open_try(self) -> int:
        self.gen.emit("try:")
        self.gen.depth += 1
        return self.gen.depth - 1

    def _close_try(self, depth: int) -> None:
        g = self.gen
        g.depth = depth
        g.emit("except StepError as _e:")
        g.emit("    yield (_e.action, _e.args, _e)")

    def _lvalue(self, t: ast.LValue, env: Env, ctx: Ctx) -> tuple[str, Type, str, str | None]:
        """(index, type, description, and for a stale controller the index of the target's
        real presence flag: its write is dropped when the object is already gone)."""
        sv = ctx.sv
        head = t.parts[0]
        if len(t.parts) == 1:
            v = self._var(head)
            return str(v.index), v.type, head, None
        obj: ast.Expr = t.base()
        for part in t.parts[1:-1]:
            obj = ast.Field(obj, part, t.span, t.span)
        slot, rt = self._ref_code(obj, env, sv, ctx, target=True)
        k = self.layout.kind(rt.kind)
        f = k.field(t.parts[-1])
        live = None
        if self.view:
            slot_var = self.gen.fresh("obj")
            self.gen.emit(f"{slot_var} = {slot}")
            slot = slot_var
            live = self._index(k.base, slot, k.stride)
        idx = self._index(k.base, slot, k.stride, f.offset)
        return idx, f.type, f"{rt.kind}.{f.name}", live

    @contextmanager
    def _if_live(self, live: str | None, sv: str) -> Iterator[None]:
        """Emit the body under `if <the object still exists>:` when `live` is given."""
        if live is None:
            yield
            return
        self.gen.emit(f"if {sv}[{live}]:")
        self.gen.depth += 1
        self.gen.emit("pass")
        try:
            yield
        finally:
            self.gen.depth -= 1

    def _store(self, idx: str, ty: Type, value: str, what: str, ctx: Ctx, line: int) -> None:
        g = self.gen
        if isinstance(ty, TInt) and ty.lo is not None and ty.hi is not None:
            tmp = g.fresh("val")
            g.emit(f"{tmp} = {value}")
            g.emit(f"if not {ty.lo} <= {tmp} <= {ty.hi}:")
            g.emit(
                f"    _err('range', '{what} := %d leaves its range {ty.lo}..{ty.hi}' % {tmp}, "
                f"{ctx.aid}, {ctx.args}, {line})"
            )
            value = tmp
        elif isinstance(ty, TBool):
            value = f"(1 if {value} else 0)"
        g.emit(f"{ctx.sv}[{idx}] = {value}")

    def _create(self, c: ast.Create, env: Env, ctx: Ctx) -> str:
        """Emit a create; returns the variable that holds the new object's slot."""
        g = self.gen
        kinfo = self.sym.kinds[c.kind]
        k = self.layout.kind(c.kind)
        given = {fi.name: fi.value for fi in c.fields}
        values: list[tuple[FieldLayout, str]] = []
        for f in k.fields:
            if f.hidden:
                if f.presence == 0 and isinstance(f.type, TRef):
                    values.append((f, "-1"))  # a split action's local, not in flight
                continue
            finfo = kinfo.field(f.name)
            assert finfo is not None
            if f.name in given:
                tmp = g.fresh("init")
                g.emit(f"{tmp} = {self.expr(given[f.name], env, ctx.sv, ctx)}")
                values.append((f, tmp))
            else:
                values.append((f, str(self.default_value(f.type, finfo.default))))
        slot = g.fresh("slot")
        g.emit(f"{slot} = _free_{c.kind}({ctx.sv}, s)")
        g.emit(f"if {slot} < 0:")
        g.emit(
            f"    _err('no-free-slot', 'create {c.kind}: all {k.slots} slots are in use', "
            f"{ctx.aid}, {ctx.args}, {c.span.line})"
        )
        g.emit(f"{ctx.sv}[{self._index(k.base, slot, k.stride)}] = 1")
        for f, code in values:
            idx = self._index(k.base, slot, k.stride, f.offset)
            self._store(idx, f.type, code, f"{c.kind}.{f.name}", ctx, c.span.line)
        return slot

    def default_value(self, ty: Type, default: ast.Expr | None) -> int:
        if default is not None:
            return self._const(default)
        match ty:
            case TInt(lo=lo):
                return lo or 0
            case TRef():
                return -1
        return 0

    # ---- whole actions
    def _twin_guard(self, kname: str, slot: str) -> str | None:
        """When pruning, the condition that object `slot` is not a twin of the one before it.

        Two objects of a symmetric kind that nothing refers to, with identical blocks, can be
        swapped without changing the state; so an action instance on the second gives a
        permutation of what the same instance on the first gives, and only the first is
        needed. In a canonical state twins are adjacent, so comparing neighbours finds them."""
        if kname not in self.prunable or not _is_const(slot) or int(slot) == 0:
            return None
        k = self.layout.kind(kname)
        a, b = k.slot_base(int(slot)), k.slot_base(int(slot) - 1)
        return " or ".join(f"s[{a + o}] != s[{b + o}]" for o in range(k.stride))

    def _prunable_binders(self, binders: tuple[ast.Binder, ...]) -> list[tuple[str, str]]:
        """(binder, kind) pairs that may be pruned: over a prunable kind, and the only binder
        of the action over that kind (two binders over one kind would prune each other)."""
        kinds = [
            b.domain.expr.id
            if isinstance(b.domain, ast.ExprDomain) and isinstance(b.domain.expr, ast.Name)
            else ""
            for b in binders
        ]
        return [
            (b.name, k)
            for b, k in zip(binders, kinds, strict=True)
            if k in self.prunable and kinds.count(k) == 1
        ]

    def action(
        self,
        actor: ast.Actor,
        a: ast.Action,
        labelled: bool,
        aid: int,
        prune: bool = False,
        segment: int = 0,
    ) -> None:
        """One action, or one segment of an action split by `step` (segment 0 is the part
        before the first `step`, guarded by the header; later ones resume where it stopped)."""
        g = self.gen
        actor_kind = _actor_kind(actor)
        budget = self.budget_index.get(actor.name) if isinstance(actor, ast.Fault) else None
        sp = self.splits.get((actor.name, a.name))
        stmts = a.body.stmts if sp is None else sp.segments[segment]
        g.emit(f"# {actor_kind} {actor.name}, action {a.name}:{segment + 1} (line {a.span.line})")
        self.view = {k: actor.name for k in self.stale.get(actor.name, ())}
        self.deleted = set()
        guard_ctx = Ctx(aid, "()", "s")
        where = a.where if segment == 0 else None
        unrolled, (cenv, clauses, cwhere) = (
            (self.cc.notifications(actor.name, a), ({}, "", None))
            if a.handler
            else self.bind_all(a.binders, where, {}, "s", guard_ctx, header=True)
        )
        instances: list[tuple[Env, list[str]]] = []
        loop_try: int | None = None
        if unrolled is not None:
            instances = [(e, [c] if c else []) for e, c in unrolled]
            depth0 = g.depth
        else:
            depth0 = g.depth
            if a.binders:
                loop_try = self._emit_clauses(clauses, cwhere, labelled)
            elif labelled:
                loop_try = self._open_try()
            instances = [(cenv, [])]
        twins = self._prunable_binders(a.binders) if prune and unrolled is not None else []
        for env, conds in instances:
            guard = list(conds)
            for bname, kname in twins:
                twin = self._twin_guard(kname, env[bname].code)
                if twin:
                    guard.append(twin)
            if sp is not None:
                guard.append(f"s[{self.cc.split_index(sp, '@step', env)}] == {segment}")
            if segment == 0 and not a.handler:  # handlers only hear news, like informers
                guard += self.cc.not_busy(actor.name, a, env)
            if a.when is not None and segment == 0:
                args_now = "(" + "".join(f"{env[b.name].code}, " for b in a.binders) + ")"
                guard.append(self.expr(a.when, env, "s", Ctx(aid, args_now, "s")))
            if budget is not None:
                guard.append(f"s[{budget.index}] < {budget.budget}")
            args = "(" + "".join(f"{env[b.name].code}, " for b in a.binders) + ")"
            ctx = Ctx(aid, args, "st")
            self.deleted = set()
            instance_try = self._open_try() if labelled and unrolled is not None else None
            if guard:
                g.emit("if " + " and ".join(f"({x})" for x in guard) + ":")
                g.depth += 1
            g.emit("st = list(s)")
            if budget is not None:
                g.emit(f"st[{budget.index}] += 1")
            if a.handler:  # the notification delivers the object's latest state
                self.cc.deliver(actor.name, a, env)
            self.tolerant = labelled
            done = self._result(labelled, aid, args)
            if sp is not None:
                env = self.cc.resume(sp, segment, env, Ctx(aid, args, "s"))
                done = self.cc.suspend(sp, segment, done)
            self.block(stmts, env, ctx, done)
            self.tolerant = False
            if guard:
                g.depth -= 1
            if instance_try is not None:
                self._close_try(instance_try)
        if loop_try is not None:
            self._close_try(loop_try)
        g.depth = depth0
        self.view = {}

    def _result(self, labelled: bool, aid: int, args: str) -> Callable[[Env, Ctx], None]:
        def emit(env: Env, ctx: Ctx) -> None:
            if labelled:
                self.gen.emit(f"yield ({aid}, {args}, tuple({ctx.sv}))")
            elif self.tagged:
                self.gen.emit(f"_ap(({aid}, tuple({ctx.sv})))")
            else:
                self.gen.emit(f"_ap(tuple({ctx.sv}))")

        return emit

    def scheduler_bind(
        self, s: ast.Scheduler, labelled: bool, aid: int, prune: bool = False
    ) -> None:
        g = self.gen
        pk = self.layout.kind(s.pod_kind)
        bind_field = pk.field(s.node_field)
        assert isinstance(bind_field.type, TRef)
        nk = self.layout.kind(bind_field.type.kind)
        weights = [self._const(sc.weight) if sc.weight is not None else 1 for sc in s.scores]
        g.emit(f"# scheduler {s.name}: bind one {pk.name} with {s.node_field} == none")
        for p in range(pk.slots):
            pb = pk.slot_base(p)
            twin = self._twin_guard(pk.name, str(p)) if prune else None
            extra = f" and ({twin})" if twin else ""
            pod_try = self._open_try() if labelled else None
            g.emit(f"if s[{pb}] and s[{pb + bind_field.offset}] == -1{extra}:")
            g.depth += 1
            g.emit("best = None")
            g.emit("cands = []")
            if self.careful:  # every node is filtered and scored, then the first error raised
                g.emit("failed = None")
            for n in range(nk.slots):
                if self.careful:
                    g.emit("try:")
                    g.depth += 1
                tests = [f"s[{nk.slot_base(n)}]"]
                for f in s.filters:
                    env = {
                        f.pod: Local(str(p), TRef(pk.name)),
                        f.node: Local(str(n), TRef(nk.name)),
                    }
                    tests.append(self.expr(f.expr, env, "s", Ctx(aid, f"({p}, {n})", "s")))
                g.emit("if " + " and ".join(f"({t})" for t in tests) + ":")
                g.depth += 1
                terms = []
                for sc, w in zip(s.scores, weights, strict=True):
                    env = {
                        sc.pod: Local(str(p), TRef(pk.name)),
                        sc.node: Local(str(n), TRef(nk.name)),
                    }
                    at_ctx = Ctx(aid, f"({p}, {n})", "s")
                    terms.append(f"{w} * ({self.expr(sc.expr, env, 's', at_ctx)})")
                g.emit(f"sc = {' + '.join(terms) if terms else '0'}")
                g.emit("if best is None or sc > best:")
                g.emit(f"    best = sc; cands = [{n}]")
                g.emit("elif sc == best:")
                g.emit(f"    cands.append({n})")
                g.depth -= 1
                if self.careful:
                    g.depth -= 1
                    g.emit("except StepError as _e:")
                    g.emit("    failed = _pick(failed, _e)")
            if self.careful:
                g.emit("if failed is not None: raise failed")
            g.emit("for n in cands:")
            g.depth += 1
            # binding the pod to each best node is its own step: one that fails in `on bind`
            # hides no other (nor depends on the order of the nodes)
            cand_try = self._open_try() if labelled else None
            g.emit("st = list(s)")
            g.emit(f"st[{pb + bind_field.offset}] = n")
            args = f"({p}, n)"
            done = self._result(labelled, aid, args)
            hook = next((h for h in s.hooks if h.event == "bind"), None)
            if hook is None:
                done({}, Ctx(aid, args, "st"))
            else:  # `on bind(p, n)`: in the same step, after the bind field is set
                hook_env: Env = {
                    hook.params[0]: Local(str(p), TRef(pk.name)),
                    hook.params[1]: Local("n", TRef(nk.name)),
                }
                self.deleted = set()
                self.tolerant = labelled
                self.block(hook.body.stmts, hook_env, Ctx(aid, args, "st"), done)
                self.tolerant = False
            if cand_try is not None:
                self._close_try(cand_try)
            g.depth -= 2
            if pod_try is not None:
                self._close_try(pod_try)

    # ---- helpers emitted once per model
    def kind_helpers(self) -> None:
        g = self.gen
        for k in self.layout.kinds:
            self.cc.free_helper(k)
            # delete: clear the block, then every reference to the object
            g.emit(f"def _del_{k.name}(st, x, aid, args, line):")
            g.emit(f"    b = {k.base} + x * {k.stride}")
            cached = [f.offset for f in k.fields if f.presence != 0]
            if not cached:
                g.emit(f"    st[b:b + {k.stride}] = _ZERO_{k.name}")
            else:  # caches keep their copy of the object until they sync
                for o in range(k.stride):
                    if o not in cached:
                        g.emit(f"    st[b + {o}] = 0")
            for v in self.layout.vars:
                if isinstance(v.type, TRef) and v.type.kind == k.name:
                    if v.type.optional:
                        g.emit(f"    if st[{v.index}] == x: st[{v.index}] = -1")
                    else:
                        g.emit(
                            f"    if st[{v.index}] == x: _err('dangling', 'delete leaves "
                            f"{v.name} without its {k.name}', aid, args, line)"
                        )
                if isinstance(v.type, TSet) and v.type.elem == k.name:
                    g.emit(f"    st[{v.index}] &= ~(1 << x)")
            for j in self.layout.kinds:
                for f in j.fields:
                    refs = isinstance(f.type, TRef) and f.type.kind == k.name
                    sets = isinstance(f.type, TSet) and f.type.elem == k.name
                    if not (refs or sets) or f.presence != 0:
                        continue
                    g.emit(
                        f"    for jb in range({j.base}, {j.base + j.slots * j.stride}, {j.stride}):"
                    )
                    g.emit("        if not st[jb]: continue")
                    o = f.offset
                    if sets:
                        g.emit(f"        st[jb + {o}] &= ~(1 << x)")
                    elif isinstance(f.type, TRef) and f.type.optional:
                        g.emit(f"        if st[jb + {o}] == x: st[jb + {o}] = -1")
                    else:
                        g.emit(
                            f"        if st[jb + {o}] == x: _err('dangling', 'delete leaves "
                            f"{j.name}#%d.{f.name} dangling' % ((jb - {j.base}) // {j.stride}), "
                            "aid, args, line)"
                        )


def dangling_kinds(sym: Symbols) -> set[str]:
    """The kinds that a real reference (a field, a set, a var) may name after the object is
    gone. `delete` clears every reference to the object it deletes, so one can only be made
    later, by storing a reference that already dangles: one read from a controller's cache (it
    may remember an object the apiserver has deleted), or a local naming an object deleted
    earlier in the same step. Over-approximated: a read through a reference to another kind
    needs no check, since it names a live object or `none`."""
    targets: dict[str, set[str]] = {}  # field or var name -> kinds it may refer to

    def note(name: str, ty: Type) -> None:
        if isinstance(ty, TRef):
            targets.setdefault(name, set()).add(ty.kind)
        elif isinstance(ty, TSet) and ty.elem in sym.kinds:
            targets.setdefault(name, set()).add(ty.elem)

    for kinfo in sym.kinds.values():
        for f in kinfo.fields:
            note(f.name, f.type)
    for v in sym.vars.values():
        note(v.name, v.type)
    every = set().union(*targets.values()) if targets else set()
    if any(stale_watches(sym).values()):
        return every
    out: set[str] = set()
    bodies = [i.body.stmts for i in sym.inits]
    for actor in sym.actors:
        bodies += [a.body.stmts for a in actor.actions]
        if isinstance(actor, ast.Scheduler):
            bodies += [h.body.stmts for h in actor.hooks]
    for body in bodies:
        # after a `delete` (or anywhere in a loop that deletes), a stored reference may dangle
        after_delete = False
        for st in ast.walk_stmts(body):
            if isinstance(st, ast.Delete) or (
                isinstance(st, ast.For)
                and any(isinstance(x, ast.Delete) for x in ast.walk_stmts(st.body.stmts))
            ):
                after_delete = True
            elif after_delete and isinstance(st, ast.Assign | ast.AssignAny):
                out |= targets.get(st.target.parts[-1], set())
            elif after_delete and isinstance(st, ast.CreateStmt | ast.Let):
                c = st.create if isinstance(st, ast.CreateStmt) else st.value
                if isinstance(c, ast.Create):
                    for fi in c.fields:
                        out |= targets.get(fi.name, set())
    return out


def _not_none(e: ast.Expr, holds: bool) -> frozenset[ast.Expr]:
    """References known not to be `none` where `e` evaluates to `holds`."""
    match e:
        case ast.Binary(op="!=", left=a, right=ast.NoneLit()) if holds:
            return frozenset({a})
        case ast.Binary(op="==", left=a, right=ast.NoneLit()) if not holds:
            return frozenset({a})
        case ast.Binary(op="and", left=a, right=b) if holds:
            return _not_none(a, True) | _not_none(b, True)
        case ast.Binary(op="or", left=a, right=b) if not holds:
            return _not_none(a, False) | _not_none(b, False)
        case ast.Unary(op="not", operand=a):
            return _not_none(a, not holds)
    return frozenset()


def _raises(code: str) -> bool:
    """Whether generated code may raise StepError."""
    return any(h in code for h in RAISING)


def _conjuncts(e: ast.Expr) -> list[ast.Expr]:
    if isinstance(e, ast.Binary) and e.op == "and":
        return _conjuncts(e.left) + _conjuncts(e.right)
    return [e]


# Left-associative operators whose Python spelling, unparenthesised, means the same chain
# (comparisons are not: Python chains `a == b == c`).
_CHAINED = frozenset({"+", "-", "*", "|", "&", "and", "or"})
_ASSOCIATIVE = _CHAINED - {"-"}  # their right-nested chains flatten too


def _value_range(layout: Layout, ty: Type) -> tuple[int, int] | None:
    """(lowest value, number of values) of a field a group table is indexed by."""
    if isinstance(ty, TRef):
        return -1, layout.kind(ty.kind).slots + 1
    if isinstance(ty, TEnum):
        return 0, len(layout.enums[ty.name])
    if isinstance(ty, TBool):
        return 0, 2
    if isinstance(ty, TInt) and ty.lo is not None and ty.hi is not None and ty.hi - ty.lo < 256:
        return ty.lo, ty.hi - ty.lo + 1
    return None


def _describe(e: ast.Expr) -> str:
    match e:
        case ast.Name(id=n):
            return n
        case ast.Field(obj=o, name=f):
            return f"{_describe(o)}.{f}"
    return "expression"


def _is_stable(d: ast.Domain) -> bool:
    """A set domain may be unrolled only if evaluating it repeatedly is cheap and pure."""
    return isinstance(d, ast.ExprDomain) and isinstance(d.expr, ast.Name | ast.Field)


def _else_stmts(eb: ast.Block | ast.If | None) -> tuple[ast.Stmt, ...]:
    if eb is None:
        return ()
    if isinstance(eb, ast.If):
        return (eb,)
    return eb.stmts


def _deterministic(s: ast.Stmt) -> bool:
    match s:
        case ast.Choose() | ast.AssignAny():
            return False
        case ast.If(then=t, else_=e):
            return all(_deterministic(x) for x in t.stmts) and all(
                _deterministic(x) for x in _else_stmts(e)
            )
        case ast.For(body=b):
            return all(_deterministic(x) for x in b.stmts)
    return True


def _actor_kind(a: ast.Actor) -> str:
    return {
        ast.Controller: "controller",
        ast.Process: "process",
        ast.Scheduler: "scheduler",
        ast.Fault: "fault",
    }[type(a)]


def compile_model(sym: Symbols, *, symmetry: bool = True) -> CompiledModel:
    """Compile a checked model once; the result is shared by every engine."""
    c = Compiler(sym, symmetry)
    g = c.gen
    layout = c.layout
    c.kind_helpers()

    # initial state: vars at their initial values, budgets unspent, no objects
    init = [0] * layout.width
    for v in layout.vars:
        if v.name in sym.vars:
            init[v.index] = c._const(sym.vars[v.name].decl.init)
        elif isinstance(v.type, TRef):
            init[v.index] = -1  # a split action's local, not in flight
    g.emit(f"_INIT = {tuple(init)!r}")
    for k in layout.kinds:
        g.emit(f"_ZERO_{k.name} = {[0] * k.stride!r}")
    g.emit("def _initial():")
    g.depth += 1
    # a declared initial value outside its range fails init, as any other assignment would
    for v in layout.vars:
        lo, hi = (v.type.lo, v.type.hi) if isinstance(v.type, TInt) else (None, None)
        if (
            v.name in sym.vars
            and lo is not None
            and hi is not None
            and not lo <= init[v.index] <= hi
        ):
            why = f"{v.name} := {init[v.index]} leaves its range {lo}..{hi}"
            g.emit(f"_err('range', {why!r}, -1, (), {sym.vars[v.name].decl.init.span.line})")
    g.emit("out = []")
    g.emit("s = _INIT")
    g.emit("st = list(s)")
    init_stmts = tuple(s for i in sym.inits for s in i.body.stmts)

    def initial_state(env: Env, ctx: Ctx) -> None:
        # controllers start once their informers have synced (WaitForCacheSync); a coalesced
        # watch's handler still hears one add per initial object (unless it is `unsynced`:
        # then it starts empty, and hears of every object as it fills)
        for x, kinds in c.stale.items():
            for kname in kinds:
                if (x, kname) not in c.unsynced:
                    c.cc.refresh(x, kname, ctx.sv, ctx.sv)
                    c.cc.announce(x, kname, ctx.sv)
        g.emit(f"out.append(tuple({ctx.sv}))")

    c.block(init_stmts, {}, Ctx(-1, "()", "st"), initial_state)
    g.emit("return out")
    g.depth -= 1

    # actions: a fast form returning successor states, and a labelled generator for traces
    actions: list[ActionInfo] = []
    units: list[_Unit] = []
    for actor in sym.actors:
        if isinstance(actor, ast.Scheduler):
            units.append(_Unit(actor, None))
        for act in actor.actions:
            sp = c.splits.get((actor.name, act.name))
            for seg in range(1 if sp is None else len(sp.segments)):
                units.append(_Unit(actor, act, seg))
        if isinstance(actor, ast.Controller):
            for w in actor.watches:
                if w.stale and not any(u.sync == w.kind and u.actor is actor for u in units):
                    units.append(_Unit(actor, None, sync=w.kind, span=w.span))
    for aid, u in enumerate(units):
        actor, a = u.actor, u.action
        if u.sync is not None:
            name = f"sync@{u.sync}"
            actions.append(ActionInfo(aid, actor.name, "controller", name, "weak", (), u.span))
        elif a is None:
            assert isinstance(actor, ast.Scheduler)
            pk = sym.kinds[actor.pod_kind]
            bf = pk.field(actor.node_field)
            assert bf is not None and isinstance(bf.type, TRef)
            params: tuple[tuple[str, Type], ...] = (
                ("pod", TRef(actor.pod_kind)),
                ("node", TRef(bf.type.kind)),
            )
            actions.append(
                ActionInfo(aid, actor.name, "scheduler", "bind", "weak", params, actor.span)
            )
        else:
            env_types: Env = {}
            ps: list[tuple[str, Type]] = []
            for b in a.binders:
                ty, _, _ = c._domain(b.domain, env_types, "s")
                env_types[b.name] = Local("0", ty)
                ps.append((b.name, ty))
            fairness = a.fairness or ("unfair" if isinstance(actor, ast.Fault) else "weak")
            name, span = a.name, a.span
            sp = c.splits.get((actor.name, a.name))
            if sp is not None and u.segment > 0:  # a later step starts after its `step`
                name, span = f"{a.name}:{u.segment + 1}", sp.segments[u.segment][0].span
            actions.append(
                ActionInfo(aid, actor.name, _actor_kind(actor), name, fairness, tuple(ps), span)
            )

    def emit_unit(aid: int, u: _Unit, labelled: bool, prune: bool = False) -> None:
        c.careful = labelled
        try:
            emit_one(aid, u, labelled, prune)
        finally:
            c.careful = False

    def emit_one(aid: int, u: _Unit, labelled: bool, prune: bool) -> None:
        if u.sync is not None:
            c.cc.sync_action(u.actor.name, u.sync, labelled, aid)
        elif u.action is None:
            assert isinstance(u.actor, ast.Scheduler)
            c.scheduler_bind(u.actor, labelled, aid, prune)
        else:
            c.action(u.actor, u.action, labelled, aid, prune, u.segment)

    # the hot path: every action inline in one function that returns a list; a second form
    # for symmetric search skips action instances on twin objects (see Compiler._twin_guard)
    hot = (
        ("_successors", False, False),
        ("_successors_sym", True, False),
        ("_tagged", False, True),
        ("_tagged_sym", True, True),
    )
    for name, prune, tagged in hot:
        c.tagged = tagged
        g.emit(f"def {name}(s):")
        g.depth += 1
        g.emit("out = []")
        g.emit("_ap = out.append")
        top = len(g.lines)
        c.hoist = {}
        c.hoist_lines = {}
        for aid, u in enumerate(units):
            emit_unit(aid, u, False, prune)
        # group tables first: the hoisted calls may read them
        prelude = [line for lines in c.hoist_lines.values() for line in lines]
        prelude += [f"{v} = {k}" for k, v in c.hoist.items() if v not in c.hoist_lines]
        g.lines[top:top] = ["    " * g.depth + line for line in prelude]
        c.hoist = None
        c.tagged = False
        g.emit("return out")
        g.depth -= 1
    # per action, labelled: for traces, and to isolate an action whose step fails
    for aid, u in enumerate(units):
        g.emit(f"def _lab_{aid}(s):")
        g.depth += 1
        emit_unit(aid, u, True)
        g.emit("yield from ()")
        g.depth -= 1

    # invariants
    for i, inv in enumerate(sym.invariants):
        g.emit(f"def _inv_{i}(s):")
        c.hoist, c.hoist_lines = {}, {}
        body = c.expr(inv.expr, {}, "s", Ctx(-2 - i, "()", "s"))
        for line in [x for lines in c.hoist_lines.values() for x in lines]:
            g.emit("    " + line)
        for code, name in c.hoist.items():
            if name not in c.hoist_lines:
                g.emit(f"    {name} = {code}")
        c.hoist = None
        g.emit(f"    return bool({body})")
        # the same, naming the error it fails with as the labelled actions do (order-free):
        # used only where the invariant cannot be evaluated, to say why
        c.careful = True
        g.emit(f"def _inv_why_{i}(s):")
        g.emit(f"    return bool({c.expr(inv.expr, {}, 's', Ctx(-2 - i, '()', 's'))})")
        c.careful = False

    # the state formulas of temporal properties: P (and Q for leads_to) as predicates, once
    # per binding of a property's `forall` binders
    labels: dict[int, list[str]] = {}
    for i, p in enumerate(sym.properties):
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
                c.careful = True
                why = c.expr(part, env, "s", Ctx(-2, "()", "s"))
                c.careful = False
                if guard:
                    why = f"({guard}) and ({why})" if trigger else f"not ({guard}) or ({why})"
                g.emit(f"def _propwhy_{i}_{n}_{j}(s):")
                g.emit(f"    return bool({why})")

    source = g.source()
    ns: dict[str, Any] = dict(RUNTIME_NS)
    exec(compile(source, f"<kcheck model {sym.program.name}>", "exec"), ns)
    invariants = tuple(
        InvariantInfo(inv.name, inv.span, ns[f"_inv_{i}"], inv.lemma, ns[f"_inv_why_{i}"])
        for i, inv in enumerate(sym.invariants)
    )
    properties = tuple(property_info(p, ns, i, labels[i]) for i, p in enumerate(sym.properties))
    canon = make_canonicalizer(layout) if any(k.symmetric for k in layout.kinds) else None
    return CompiledModel(
        name=sym.program.name,
        layout=layout,
        actions=tuple(actions),
        initial=ns["_initial"],
        successors=ns["_successors"],
        tagged_successors=ns["_tagged"],
        tagged_symmetric_successors=ns["_tagged_sym"],
        symmetric_successors=ns["_successors_sym"],
        action_outcomes=tuple(ns[f"_lab_{aid}"] for aid in range(len(units))),
        invariants=invariants,
        properties=properties,
        canonicalize=canon,
        symmetry_notes=tuple(c.notes),
        python_source=source,
        bounds=bound_sources(sym),
    )


@dataclass(frozen=True)
class _Unit:
    """One compiled action: an action (or one segment of a split one), a scheduler's bind
    (`action` None), or a controller's informer sync (`sync` names the kind)."""

    actor: ast.Actor
    action: ast.Action | None
    segment: int = 0
    sync: str | None = None
    span: ast.Span = ast.NOWHERE
