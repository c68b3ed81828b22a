"""Expressions, compiled: each KDSL expression becomes one Python expression over the state
variable `sv`, with constant tuple indexes. Reads through a reference that may be none, dangle
or miss a stale cache compile to runtime checks (runtime.py); quantifiers and aggregates over
small kinds are unrolled; on the unchanged state of a hot function, calls and grouped counts
are hoisted so each is computed once per state.
"""

from __future__ import annotations

from dataclasses import replace

from kcheck.lang import ast
from kcheck.lang.symbols import SEEN_BY, SEEN_OWN_WRITES, UNCHANGED
from kcheck.lang.types import TBool, TEmptySet, TEnum, TInt, TNone, TRef, TSet, Type
from kcheck.model.bind import Binding
from kcheck.model.context import CompileContext, index, is_const, raises
from kcheck.model.controller_state import (
    changed_var,
    own_write_field,
    own_writes_var,
    real_cells,
)
from kcheck.model.env import Ctx, Env, Local
from kcheck.model.failfree import FailFree
from kcheck.model.ir import KindLayout, Layout
from kcheck.model.runtime import RAISING, RUNTIME_NS
from kcheck.model.typeof import TypeOf


class ExprCompiler:
    def __init__(self, ctx: CompileContext, types: TypeOf) -> None:
        self.ctx = ctx
        self.sym = ctx.sym
        self.layout = ctx.layout
        self.types = types
        self.binding = Binding(ctx, types, self.expr)
        self.failfree = FailFree(ctx, types, self.binding)

    def const(self, e: ast.Expr) -> int:
        """The value of a constant expression (the checker has proved it one)."""
        value = eval(self.expr(e, {}, "None"), {"__builtins__": {}}, RUNTIME_NS)
        return int(value)

    def ref_code(
        self, obj: ast.Expr, env: Env, sv: str, ctx: Ctx | None, target: bool = False
    ) -> tuple[str, TRef]:
        """Code for a reference's slot, checked against `none` when it may be none. Unless it is
        the `target` of a write or delete, an object read through a stale cache must be in it."""
        t = self.types.type_of(obj, env)
        assert isinstance(t, TRef), t
        code = self.expr(obj, env, sv, ctx)
        aid, args, line = (ctx.aid, ctx.args, obj.span.line) if ctx else (-1, "()", 0)
        if t.optional:
            what = _describe(obj)
            code = f"_some({code}, {what!r}, {aid}, {args}, {line})"
        x = self.ctx.view.get(t.kind)
        if x is not None:
            seen = isinstance(obj, ast.Name) and obj.id in env and env[obj.id].seen
            if not (seen or target):
                k = self.layout.kind(t.kind)
                flag = k.base + self.ctx.pres_off(t.kind)
                code = (
                    f"_cached({sv}, {code}, {flag}, {k.stride}, {t.kind!r}, {x!r}, "
                    f"{aid}, {args}, {line})"
                )
        elif not (target and self.ctx.view) and (
            (t.kind in self.ctx.deleted and sv != "s")
            or (
                t.kind in self.ctx.dangling
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
                    return f"{sv}[{self.ctx.var(n).index}]"
                if n in self.sym.params:
                    return str(self.sym.params[n].value)
                if n in self.sym.consts:
                    return str(self.sym.consts[n])
                if n in self.sym.members:
                    return str(self.sym.members[n][1])
                raise AssertionError(f"unresolved name {n}")
            case ast.Field(obj=o, name=f):
                slot, t = self.ref_code(o, env, sv, ctx)
                k = self.layout.kind(t.kind)
                return f"{sv}[{index(k.base, slot, k.stride, self.ctx.field_off(k, f))}]"
            case ast.Call(func=fn, args=[ast.Name(id=k)]) if (
                fn == SEEN_OWN_WRITES and fn not in self.sym.defs
            ):
                return self.seen_own_writes(k, sv)
            case ast.Call(func=fn, args=[obj]) if fn == UNCHANGED and fn not in self.sym.defs:
                return self.unchanged(obj, env, sv, ctx)
            case ast.Call(func=fn, args=[ast.Name(id=xc), inner]) if (
                fn == SEEN_BY and fn not in self.sym.defs
            ):
                return self.seen_by(xc, inner, env, sv, ctx)
            case ast.Call(func=fn, args=args):
                return self._call(fn, args, env, sv, ctx)
            case ast.Index(kind=kname, index=i):
                k = self.layout.kind(kname)
                aid, a, line = (ctx.aid, ctx.args, e.span.line) if ctx else (-1, "()", 0)
                flag = k.base + self.ctx.pres_off(kname)
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
                return (
                    "("
                    + " | ".join(f"(1 << {self._element(el, env, sv, ctx)})" for el in elems)
                    + ")"
                )
            case ast.SetBuilder(binder=b, where=w):
                if self.ctx.careful:
                    bname = b.name
                    members = self.binding.terms((b,), w, env, sv, ctx, lambda e2: e2[bname].code)
                    return f"_bits({members})"
                unrolled, (cenv, clauses, cwhere) = self.binding.bind_all((b,), w, env, sv, ctx)
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
                if self.ctx.careful and not self.failfree.cannot_fail(e, env, sv, frozenset()):
                    return f"{fn}({self.binding.terms(bs, w, env, sv, ctx, lambda e2: x(body, e2, sv, ctx))})"
                unrolled, (cenv, clauses, cwhere) = self.binding.bind_all(bs, w, env, sv, ctx)
                if unrolled is not None:
                    with self.ctx.unrolled(len(unrolled)):
                        strict = not self.failfree.cannot_fail(e, env, sv, frozenset())
                        return self._quant_unrolled(q, body, unrolled, sv, ctx, strict)
                b_code = x(body, cenv, sv, ctx)
                cond = f" if {cwhere}" if cwhere else ""
                if raises(b_code + clauses + cond) and not self.failfree.cannot_fail(
                    e, env, sv, frozenset()
                ):
                    # every term is evaluated (a list, not a generator): one that fails fails
                    # the quantifier even when another has decided its value (spec/language.md)
                    return f"{fn}([{b_code} {clauses}{cond}])"
                return f"{fn}({b_code} {clauses}{cond})"
            case ast.Count(binders=bs, where=w):
                if self.ctx.careful:
                    return f"len({self.binding.terms(bs, w, env, sv, ctx, lambda e2: '1')})"
                grouped = self._grouped(bs, w, None, env, sv)
                if grouped is not None:
                    return grouped
                unrolled, (cenv, clauses, cwhere) = self.binding.bind_all(bs, w, env, sv, ctx)
                if unrolled is not None:
                    terms = [f"({c})" if c else "1" for _, c in unrolled]
                    return "(" + " + ".join(["0", *terms]) + ")"
                cond = f" if {cwhere}" if cwhere else ""
                return f"sum(1 {clauses}{cond})"
            case ast.CountAll(arg=a):
                if isinstance(a, ast.Name) and a.id not in env and a.id in self.sym.kinds:
                    k = self.layout.kind(a.id)
                    off = self.ctx.pres_off(a.id)
                    terms = [f"{sv}[{k.slot_base(i) + off}]" for i in range(k.slots)]
                    return "(" + " + ".join(["0", *terms]) + ")"
                return f"({x(a, env, sv, ctx)}).bit_count()"
            case ast.Aggregate(op=op, body=body, binders=bs, where=w):
                if self.ctx.careful:
                    every = self.binding.terms(bs, w, env, sv, ctx, lambda e2: x(body, e2, sv, ctx))
                    return f"sum({every})" if op == "sum" else f"{op}({every}, default=0)"
                grouped = self._grouped(bs, w, body, env, sv) if op == "sum" else None
                if grouped is not None:
                    return grouped
                unrolled, (cenv, clauses, cwhere) = self.binding.bind_all(bs, w, env, sv, ctx)
                if op == "sum" and unrolled is not None:
                    with self.ctx.unrolled(len(unrolled)):
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
                spent = self.ctx.budget_index[fault]
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
        if self.ctx.hoist is None or sv != "s" or where is None or len(binders) != 1:
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
                if not is_const(key_code):
                    continue
                f = kind.field(field_side.name)
                dom = _value_range(self.layout, f.type)
                if dom is None:
                    continue
                lo, size = dom
                rest = conjuncts[:i] + conjuncts[i + 1 :]
                # the table is computed once at the top of the function: the rest may not read
                # a binder of an enclosing comprehension (`forall i in 0..2: count p in Pod
                # where p.owner == s and p.ordinal == i`), which does not exist there
                free = set().union(*(ast.names_in(r) for r in rest), ast.names_in(body))
                if any(n in env and not is_const(env[n].code) for n in free - {b.name}):
                    return None
                off = self.ctx.field_off(kind, f.name)
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
        saved, self.ctx.hoist = self.ctx.hoist, None  # the pass below is itself on the state
        try:
            lines = []
            templates = []
            flag = self.ctx.pres_off(kind.name)
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
            self.ctx.hoist = saved
        assert self.ctx.hoist is not None
        key = f"group:{kind.name}:{flag}:{offset}:{lo}:{size}:" + "||".join(templates)
        if key in self.ctx.hoist:
            return self.ctx.hoist[key]
        name = f"g_{len(self.ctx.hoist)}"
        self.ctx.hoist[key] = name
        prelude = [f"{name} = [0] * {size}"]
        prelude += [f"if {code}: {name}[{at}] += {value}" for code, at, value in lines]
        self.ctx.hoist_lines[name] = prelude
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
        if strict and any(raises(t) for t in terms):
            # a tuple evaluates every term, so one that fails fails the quantifier
            fn = "all" if q == "forall" else "any"
            return f"{fn}(({''.join(t + ', ' for t in terms)}))"
        if q == "forall":
            return "(" + " and ".join(["True", *terms]) + ")"
        return "(" + " or ".join(["False", *terms]) + ")"

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
            if isinstance(self.types.type_of(e.left, env), TSet | TEmptySet):
                return f"({a} & ~{b})"
            return f"({a} - {b})"
        if op in ("/", "%"):
            pyop = "//" if op == "/" else "%"
            if is_const(b) and int(b) != 0:
                return f"({a} {pyop} {b})"
            aid, args, line = (ctx.aid, ctx.args, e.span.line) if ctx else (-1, "()", 0)
            return f"_div({a}, {b}, {pyop!r}, {aid}, {args}, {line})"
        if op == "in":
            lt = self.types.type_of(e.left, env)
            if isinstance(lt, TRef | TNone) and (isinstance(lt, TNone) or lt.optional):
                return f"_member({a}, {b})"
            return f"(({b}) >> {a} & 1 == 1)"
        raise AssertionError(op)

    def _element(self, el: ast.Expr, env: Env, sv: str, ctx: Ctx | None) -> str:
        """A set literal's element: one that may be `none` (`{p.node}`) is checked, since a
        set holds objects, never `none` (spec/language.md section 6)."""
        code = self.expr(el, env, sv, ctx)
        t = self.types.type_of(el, env)
        if isinstance(t, TRef) and t.optional:
            aid, args, line = (ctx.aid, ctx.args, el.span.line) if ctx else (-1, "()", 0)
            code = f"_some({code}, {_describe(el)!r}, {aid}, {args}, {line})"
        return code

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
        if e.op == "-" and isinstance(self.types.type_of(operands[0], env), TSet | TEmptySet):
            return "(" + " & ".join([codes[0], *(f"~{c}" for c in codes[1:])]) + ")"
        return "(" + f" {e.op} ".join(codes) + ")"

    def seen_own_writes(self, kname: str, sv: str) -> str:
        """`seen_own_writes(K)` in an action of controller X (spec/faults.md): no write of X
        to K waits for X's informer, neither from an earlier step (the flag) nor from this one
        (K's real objects differ from the step's start)."""
        x = self.ctx.view[kname]
        k = self.layout.kind(kname)
        if any(f.name == own_write_field(x) for f in k.fields):  # coalesced: one per object
            own = k.field(own_write_field(x)).offset
            flags = [f"{sv}[{k.slot_base(slot) + own}]" for slot in range(k.slots)]
            unseen = f"({' or '.join(flags)})" if flags else "False"
        else:
            unseen = f"{sv}[{self.ctx.var(own_writes_var(x, kname)).index}]"
        if sv == "s":
            return f"(not {unseen})"
        cells = " and ".join(f"{sv}[{i}] == s[{i}]" for i in real_cells(self.layout, kname))
        return f"(not {unseen} and {cells or 'True'})"

    def seen_by(self, xc: str, inner: ast.Expr, env: Env, sv: str, ctx: Ctx | None) -> str:
        """`seen_by(X, e)` in an invariant, lemma or property: e in X's reading view, each kind
        X caches read from X's copy, as in X's own actions. An object bound outside is not
        known to be in the cache: reading its fields is checked (`uncached`)."""
        view = dict.fromkeys(self.ctx.stale.get(xc, ()), xc)
        inside = {
            n: replace(v, seen=False) if isinstance(v.type, TRef) and v.type.kind in view else v
            for n, v in env.items()
        }
        saved, self.ctx.view = self.ctx.view, view
        try:
            return self.expr(inner, inside, sv, ctx)
        finally:
            self.ctx.view = saved

    def unchanged(self, x: ast.Expr, env: Env, sv: str, ctx: Ctx | None) -> str:
        """`unchanged(x)` in an action of controller X (spec/faults.md "Conflicts"): X caches
        x, the apiserver still has it, and no step wrote it since X's copy (the set), this one
        included (its cells as at the step's start)."""
        slot, t = self.ref_code(x, env, sv, ctx)
        xc = self.ctx.view[t.kind]
        k = self.layout.kind(t.kind)
        i = self.ctx.var(changed_var(xc, t.kind)).index
        n = sum(1 for f in k.fields if not f.hidden)
        b = f"{k.base} + o * {k.stride}"
        cached = f"{sv}[{b} + {k.field(f'@{xc}').offset}]"
        same = "" if sv == "s" else f" and tuple({sv}[{b}:{b} + {n + 1}]) == s[{b}:{b} + {n + 1}]"
        return f"(lambda o: {cached} and {sv}[{b}] and not (s[{i}] >> o & 1){same})({slot})"

    def _call(self, fn: str, args: tuple[ast.Expr, ...], env: Env, sv: str, ctx: Ctx | None) -> str:
        codes = [self.expr(a, env, sv, ctx) for a in args]
        if fn in self.sym.defs:
            d = self.sym.defs[fn]
            denv: Env = {}
            for p, code, a in zip(d.params, codes, args, strict=True):
                pt = self.types.resolve_type(p.type)
                if isinstance(pt, TRef) and not pt.optional:
                    at = self.types.type_of(a, env)
                    if isinstance(at, TRef) and at.optional:
                        pt = at
                denv[p.name] = Local(code if is_const(code) else f"({code})", pt)
            body = self.expr(d.body, denv, sv, ctx)
            # Common subexpression: a call on the unchanged state with constant arguments is
            # computed once per state, provided evaluating it early cannot raise.
            if (
                self.ctx.hoist is not None
                and sv == "s"
                and all(is_const(c) for c in codes)
                and not any(h in body for h in RAISING)
            ):
                return self.ctx.hoist.setdefault(body, f"h_{len(self.ctx.hoist)}")
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
