"""Proofs for any number of objects (spec/smt.md, "Symbolic sizes"): `--size NAME=LO..` (no
upper bound) encodes each kind as an uninterpreted sort, as Ivy and mypyvy do: a state is, per
kind, an array "alive" over the sort and one array per field; `forall`/`exists` are quantifiers,
an action's `for` binders and a `choose` are objects picked by the step, `create` takes some
object dead now and when the step began, `delete` updates "alive" and clears the optional
references to the object. A kind of fixed size c keeps its capacity (`create` fails when c
objects live). Only a fragment is encoded (_Refuse names the first construct outside it): no
`count`/`sum`/`min`/`max` (not first-order), no sets, no schedulers or controller faults, a
`for` over objects only assigning fields of its own object.

The proof is k-induction of one goal: well-formedness, every invariant and "no step fails".
A proof holds for every number of objects of the unbounded kinds (creates never run out; at a
fixed size only a `no-free-slot` bound can be reached). A violation found from the initial
states is concretised: the number of objects ever alive on its path gives a size n, and the
concrete BMC at `-D NAME=n` must find and replay it (params.witness) before it is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import z3  # type: ignore[import-untyped]

from kcheck.lang import ast
from kcheck.lang.symbols import Symbols
from kcheck.lang.types import TBool, TEnum, TInt, TRef, Type
from kcheck.smt.refuse import Unsupported
from kcheck.smt.terms import FALSE, TRUE, Term, _and, _or

ENGINE = "induction"
St = dict[str, Term]  # "alive:K", "f:K.f", "has:K.f" (an optional reference is set), "v:x", "s:F"


@dataclass(frozen=True)
class Ref:
    kind: str
    has: Term  # not `none`
    obj: Term  # an element of the kind's sort


@dataclass(frozen=True)
class CountOf:
    """`count x in K where c`: not a term (not first-order), only compared with a bounded one."""

    x: Term
    cond: Term  # x alive and `c`


Val = Any  # a Z3 term, a Ref, or a CountOf
Env = dict[str, Val]

_FO = "not first-order over an unbounded number of objects"
_NOT_YET = "not encoded with uninterpreted sorts yet"
_REFUSED = {
    ast.CountAll: f"`count` ({_FO})", ast.SetBuilder: f"a set ({_NOT_YET})",
    ast.SetType: f"a set ({_NOT_YET})", ast.Index: f"`K[i]` ({_FO})", ast.Step: f"`step` ({_NOT_YET})",
    ast.Restart: f"`restart` ({_NOT_YET})", ast.Scheduler: f"a scheduler ({_NOT_YET})",
}  # fmt: skip


def refuse_outside(
    sym: Symbols, unbounded: set[str], sizes: set[str], skip: frozenset[str] = frozenset()
) -> None:
    """Raise Unsupported naming the first construct outside the fragment, and its line (the
    invariants named in `skip` are not checked, so not read)."""
    for d in sym.program.decls:
        if isinstance(d, ast.Property | ast.Manifest | ast.Docker):
            continue
        if isinstance(d, ast.Invariant) and d.name in skip:
            continue
        for n in ast.walk_nodes(d):
            if isinstance(n, ast.Aggregate) and n.op == "sum":
                raise Unsupported(f"`sum` ({_FO}), for any number of objects", *_at(n, d))
        if isinstance(d, ast.Kind):
            continue
        for n in ast.walk_nodes(d):
            for cls, what in _REFUSED.items():
                if isinstance(n, cls):
                    raise Unsupported(f"{what}, for any number of objects", *_at(n, d))
            if isinstance(n, ast.Name) and n.id in sizes:
                raise Unsupported(f"`{n.id}`, an unbounded size, in an expression", *_at(n, d))
            if isinstance(n, ast.Controller) and n.watches:
                raise Unsupported("a watch for any number of objects", *_at(n, d))
            if isinstance(n, ast.Binary) and n.op in ("/", "%", "|", "&"):
                raise Unsupported(f"`{n.op}` for any number of objects", *_at(n, d))
    for v in sym.vars.values():
        if isinstance(v.type, TRef) or not isinstance(v.type, TInt | TBool | TEnum):
            raise Unsupported("a var that is not an int, bool or enum", v.decl.span.line)
    for k in sym.kinds.values():
        for f in k.fields:
            if not isinstance(f.type, TInt | TBool | TEnum | TRef):
                raise Unsupported("a field that is a set", f.decl.span.line)
        if k.name not in unbounded and k.size > 3:
            raise Unsupported(
                f"kind `{k.name}` of fixed size {k.size} (at most 3)", k.decl.span.line
            )


def _at(n: object, d: object) -> tuple[int, str]:
    """The line of `n` (else of `d`), and the module file it is in (empty: the model's)."""
    span = getattr(n, "span", None) or getattr(d, "span", None)
    return (int(span.line), str(span.file or "")) if span is not None else (0, "")


def _line(n: object, d: object) -> int:
    span = getattr(n, "span", None) or getattr(d, "span", None)
    return int(span.line) if span is not None else 0


class Encoding:
    """The sorts, states and steps of one model."""

    def __init__(
        self, sym: Symbols, unbounded: set[str], sizes: set[str], skip: frozenset[str]
    ) -> None:
        refuse_outside(sym, unbounded, sizes, skip)
        self.sym = sym
        self.unbounded = unbounded
        self.sorts = {k: z3.DeclareSort(f"Obj_{k}") for k in sym.kinds}
        self.n = 0  # fresh names
        self.fails: list[Term] = []
        self.consts: list[Term] = []
        self.start: St = {}

    def fresh(self, sort: Any, tag: str) -> Term:
        self.n += 1
        return z3.Const(f"{tag}!{self.n}", sort)

    # ---- states
    def _sort_of(self, ty: Type) -> Any:
        if isinstance(ty, TBool):
            return z3.BoolSort()
        if isinstance(ty, TRef):
            return self.sorts[ty.kind]
        return z3.IntSort()

    def state(self, tag: str) -> St:
        st: St = {}
        for k, info in self.sym.kinds.items():
            srt = self.sorts[k]
            st[f"alive:{k}"] = z3.Array(f"{tag}_alive_{k}", srt, z3.BoolSort())
            for f in info.fields:
                st[f"f:{k}.{f.name}"] = z3.Array(f"{tag}_{k}_{f.name}", srt, self._sort_of(f.type))
                if isinstance(f.type, TRef) and f.type.optional:
                    st[f"has:{k}.{f.name}"] = z3.Array(
                        f"{tag}_{k}_{f.name}_has", srt, z3.BoolSort()
                    )
        for v in self.sym.vars.values():
            st[f"v:{v.name}"] = z3.Const(f"{tag}_{v.name}", self._sort_of(v.type))
        for a in self.sym.actors:
            if isinstance(a, ast.Fault):
                st[f"s:{a.name}"] = z3.Int(f"{tag}_spent_{a.name}")
        return st

    def _budget(self, fault: str) -> int:
        a = next(x for x in self.sym.actors if isinstance(x, ast.Fault) and x.name == fault)
        v, _ = self.expr(a.budget, {}, {})
        return int(z3.simplify(v).as_long())

    def _in_range(self, ty: Type, v: Term) -> Term:
        if isinstance(ty, TInt) and ty.lo is not None and ty.hi is not None:
            return z3.And(v >= ty.lo, v <= ty.hi)
        if isinstance(ty, TEnum):
            return z3.And(v >= 0, v < len(self.sym.enums[ty.name]))
        return TRUE

    def well_formed(self, st: St) -> Term:
        parts = [self._in_range(v.type, st[f"v:{v.name}"]) for v in self.sym.vars.values()]
        for a in self.sym.actors:
            if isinstance(a, ast.Fault):
                s = st[f"s:{a.name}"]
                parts.append(z3.And(s >= 0, s <= self._budget(a.name)))
        for k, info in self.sym.kinds.items():
            x = self.fresh(self.sorts[k], "wf")
            alive = st[f"alive:{k}"]
            facts = []
            for f in info.fields:
                v = st[f"f:{k}.{f.name}"][x]
                if isinstance(f.type, TRef):
                    ok = st[f"alive:{f.type.kind}"][v]
                    facts.append(
                        z3.Implies(st[f"has:{k}.{f.name}"][x], ok) if f.type.optional else ok
                    )
                else:
                    facts.append(self._in_range(f.type, v))
            if facts:
                parts.append(z3.ForAll([x], z3.Implies(alive[x], z3.And(*facts))))
            if k not in self.unbounded:
                parts.append(z3.Not(self._at_least(st, k, info.size + 1)))
        return _and(*parts)

    def _at_least(self, st: St, k: str, c: int) -> Term:
        """At least c objects of `k` live (first-order for a constant c)."""
        if c <= 0:
            return TRUE
        xs = [self.fresh(self.sorts[k], "cap") for _ in range(c)]
        alive = st[f"alive:{k}"]
        return z3.Exists(xs, z3.And(*[alive[x] for x in xs], z3.Distinct(*xs) if c > 1 else TRUE))

    # ---- expressions: (value, error)
    def expr(self, e: ast.Expr, env: Env, st: St) -> tuple[Val, Term]:
        match e:
            case ast.IntLit(value=v):
                return z3.IntVal(v), FALSE
            case ast.BoolLit(value=v):
                return z3.BoolVal(v), FALSE
            case ast.Name(id=n):
                if n in env:
                    return env[n], FALSE
                if f"v:{n}" in st:
                    return st[f"v:{n}"], FALSE
                if n in self.sym.params:
                    p = self.sym.params[n]
                    return (z3.BoolVal(bool(p.value)) if isinstance(p.type, TBool)
                            else z3.IntVal(p.value)), FALSE  # fmt: skip
                if n in self.sym.consts:
                    return z3.IntVal(self.sym.consts[n]), FALSE
                if n in self.sym.members:
                    return z3.IntVal(self.sym.members[n][1]), FALSE
            case ast.Field(obj=o, name=f):
                r, err = self.expr(o, env, st)
                if isinstance(r, Ref):
                    return self._read(r, f, st, err)
            case ast.Unary(op=op, operand=a):
                v, err = self.expr(a, env, st)
                return (z3.Not(v) if op == "not" else -v), err
            case ast.Binary(op=op, left=a, right=b):
                return self._binary(op, a, b, env, st)
            case ast.IfExpr(cond=c, then=t, else_=f):
                cv, ce = self.expr(c, env, st)
                tv, te = self.expr(t, env, st)
                fv, fe = self.expr(f, env, st)
                err = _or([ce, z3.And(cv, te), z3.And(z3.Not(cv), fe)])
                if isinstance(tv, Ref):
                    return Ref(tv.kind, z3.If(cv, tv.has, fv.has), z3.If(cv, tv.obj, fv.obj)), err
                return z3.If(cv, tv, fv), err
            case ast.Quant(quant=q, binders=bs, where=w, body=body):
                return self._quant(q, bs, w, body, env, st)
            case ast.Call(func=fn, args=args):
                return self._call(fn, args, env, st, e)
            case ast.Count(binders=bs, where=w):
                env2, xs, dom = self._binders(bs, env, st)
                wv, we = self.expr(w, env2, st) if w is not None else (TRUE, FALSE)
                if len(xs) != 1 or not isinstance(env2[bs[0].name], Ref):
                    raise Unsupported(f"`count` over several binders ({_FO})", _line(e, None))
                return CountOf(xs[0], z3.And(dom, wv)), z3.Exists(xs, z3.And(dom, we))
            case ast.Aggregate(op=op, body=body, binders=bs, where=w) if op in ("min", "max"):
                return self._extreme(op, body, bs, w, env, st)
            case ast.Budget(fault=f):
                return self._budget(f) - st[f"s:{f}"], FALSE
        raise Unsupported(f"{type(e).__name__} for any number of objects", _line(e, None))

    def _read(self, r: Ref, f: str, st: St, err: Term) -> tuple[Val, Term]:
        alive = st[f"alive:{r.kind}"]
        err = _or([err, z3.Not(r.has), z3.Not(alive[r.obj])])
        ty = self.sym.kinds[r.kind].field(f)
        assert ty is not None
        v = st[f"f:{r.kind}.{f}"][r.obj]
        if isinstance(ty.type, TRef):
            has = st[f"has:{r.kind}.{f}"][r.obj] if ty.type.optional else TRUE
            return Ref(ty.type.kind, has, v), err
        return v, err

    def _binary(self, op: str, a: ast.Expr, b: ast.Expr, env: Env, st: St) -> tuple[Val, Term]:
        if op in ("==", "!=") and (isinstance(a, ast.NoneLit) or isinstance(b, ast.NoneLit)):
            r, err = self.expr(b if isinstance(a, ast.NoneLit) else a, env, st)
            return (z3.Not(r.has) if op == "==" else r.has), err
        if op == "in" and isinstance(b, ast.SetLit):
            v, err = self.expr(a, env, st)
            opts = [self.expr(x, env, st) for x in b.elems]
            return _or([v == o for o, _ in opts]), _or([err, *[oe for _, oe in opts]])
        av, ae = self.expr(a, env, st)
        bv, be = self.expr(b, env, st)
        if isinstance(av, CountOf) or isinstance(bv, CountOf):
            return self._compare_count(op, a, av, b, bv, env), _or([ae, be])
        if op == "and":
            return z3.And(av, bv), _or([ae, z3.And(av, be)])
        if op == "or":
            return z3.Or(av, bv), _or([ae, z3.And(z3.Not(av), be)])
        if op == "implies":
            return z3.Implies(av, bv), _or([ae, z3.And(av, be)])
        err = _or([ae, be])
        if isinstance(av, Ref):
            same = z3.And(av.has == bv.has, z3.Implies(av.has, av.obj == bv.obj))
            if op in ("==", "!="):
                return (same if op == "==" else z3.Not(same)), err
        ops = {"+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y,
               "==": lambda x, y: x == y, "!=": lambda x, y: x != y, "<": lambda x, y: x < y,
               "<=": lambda x, y: x <= y, ">": lambda x, y: x > y, ">=": lambda x, y: x >= y}  # fmt: skip
        if op not in ops:
            raise Unsupported(f"`{op}` for any number of objects", _line(a, None))
        return ops[op](av, bv), err

    def _binders(self, bs: Sequence[ast.Binder], env: Env, st: St) -> tuple[Env, list[Term], Term]:
        """Fresh bound values for `bs`: (env, the constants, their domain condition)."""
        env = dict(env)
        consts: list[Term] = []
        dom: list[Term] = []
        for b in bs:
            d = b.domain
            if isinstance(d, ast.ExprDomain) and isinstance(d.expr, ast.Name):
                name = d.expr.id
                if name in self.sym.kinds:
                    x = self.fresh(self.sorts[name], b.name)
                    env[b.name] = Ref(name, TRUE, x)
                    dom.append(st[f"alive:{name}"][x])
                elif name in self.sym.enums:
                    x = self.fresh(z3.IntSort(), b.name)
                    env[b.name] = x
                    dom.append(z3.And(x >= 0, x < len(self.sym.enums[name])))
                elif name == "bool":
                    x = self.fresh(z3.BoolSort(), b.name)
                    env[b.name] = x
                else:
                    raise Unsupported("a binder over a set", b.span.line)
                consts.append(x)
            elif isinstance(d, ast.RangeDomain):
                lo, le = self.expr(d.lo, env, st)
                hi, he = self.expr(d.hi, env, st)
                if not z3.is_false(_or([le, he])):
                    raise Unsupported("a range whose bounds can fail", b.span.line)
                x = self.fresh(z3.IntSort(), b.name)
                env[b.name] = x
                consts.append(x)
                dom.append(z3.And(x >= lo, x <= hi))
            else:
                raise Unsupported("a binder over a set", b.span.line)
        return env, consts, _and(*dom)

    def _quant(self, q: str, bs: Sequence[ast.Binder], w: ast.Expr | None, body: ast.Expr,
               env: Env, st: St) -> tuple[Val, Term]:  # fmt: skip
        env2, xs, dom = self._binders(bs, env, st)
        wv, we = self.expr(w, env2, st) if w is not None else (TRUE, FALSE)
        bv, be = self.expr(body, env2, st)
        err = z3.Exists(xs, z3.And(dom, z3.Or(we, z3.And(wv, be))))
        if q == "forall":
            return z3.ForAll(xs, z3.Implies(z3.And(dom, wv), bv)), err
        return z3.Exists(xs, z3.And(dom, wv, bv)), err

    def _call(
        self, fn: str, args: Sequence[ast.Expr], env: Env, st: St, e: ast.Expr
    ) -> tuple[Val, Term]:
        vals = [self.expr(a, env, st) for a in args]
        err = _or([x for _, x in vals])
        vs = [v for v, _ in vals]
        if fn in self.sym.defs:
            d = self.sym.defs[fn]
            inner = {p.name: v for p, v in zip(d.params, vs, strict=True)}
            v, be = self.expr(d.body, inner, st)
            return v, _or([err, be])
        if fn == "min" and len(vs) == 2:
            return z3.If(vs[0] <= vs[1], vs[0], vs[1]), err
        if fn == "max" and len(vs) == 2:
            return z3.If(vs[0] >= vs[1], vs[0], vs[1]), err
        if fn == "abs" and len(vs) == 1:
            return z3.If(vs[0] >= 0, vs[0], -vs[0]), err
        raise Unsupported(f"`{fn}` for any number of objects", _line(e, None))

    # ---- counts and extremes over a bounded range of values: first-order
    def _compare_count(self, op: str, a: ast.Expr, av: Val, b: ast.Expr, bv: Val, env: Env) -> Term:
        """`count(S) op t` with t of bounded range: for each value v of t, "at least v members"
        (v distinct live objects meet the condition) is first-order."""
        flip = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
        if isinstance(bv, CountOf):
            if isinstance(av, CountOf):
                raise Unsupported(f"a comparison of two counts ({_FO})", _line(a, None))
            a, av, b, bv, op = b, bv, a, av, flip.get(op, op)
        if op not in flip:
            raise Unsupported(f"a count in `{op}` ({_FO})", _line(a, None))
        lo, hi = self._interval(b, env)
        if hi - lo > 16:
            raise Unsupported(f"a count compared with a term of range {lo}..{hi}", _line(b, None))

        def at_least(c: int) -> Term:
            if c <= 0:
                return TRUE
            xs = [self.fresh(av.x.sort(), "c") for _ in range(c)]
            conds = [z3.substitute(av.cond, (av.x, x)) for x in xs]
            return z3.Exists(xs, z3.And(*conds, z3.Distinct(*xs) if c > 1 else TRUE))

        def cmp(v: int) -> Term:
            match op:
                case ">=":
                    return at_least(v)
                case ">":
                    return at_least(v + 1)
                case "<=":
                    return z3.Not(at_least(v + 1))
                case "<":
                    return z3.Not(at_least(v))
                case "==":
                    return z3.And(at_least(v), z3.Not(at_least(v + 1)))
            return z3.Not(z3.And(at_least(v), z3.Not(at_least(v + 1))))

        return _or([z3.And(bv == v, cmp(v)) for v in range(lo, hi + 1)])

    def _extreme(self, op: str, body: ast.Expr, bs: Sequence[ast.Binder], w: ast.Expr | None,
                 env: Env, st: St) -> tuple[Val, Term]:  # fmt: skip
        """`min e for x in K where c` (empty: 0) with e of bounded range, value by value."""
        env2, xs, dom = self._binders(bs, env, st)
        wv, we = self.expr(w, env2, st) if w is not None else (TRUE, FALSE)
        bv, be = self.expr(body, env2, st)
        lo, hi = self._interval(body, env2)
        if hi - lo > 16:
            raise Unsupported(f"`{op}` of a term of range {lo}..{hi}", _line(body, None))
        values = range(lo, hi + 1) if op == "min" else range(hi, lo - 1, -1)
        out: Term = z3.IntVal(0)
        for v in reversed(values):
            out = z3.If(z3.Exists(xs, z3.And(dom, wv, bv == v)), z3.IntVal(v), out)
        return out, z3.Exists(xs, z3.And(dom, z3.Or(we, z3.And(wv, be))))

    def _interval(self, e: ast.Expr, env: Env) -> tuple[int, int]:
        """Bounds of an int expression from declared ranges (sound in well-formed states)."""
        match e:
            case ast.IntLit(value=v):
                return v, v
            case ast.Name(id=n) if n in self.sym.consts and n not in env:
                return self.sym.consts[n], self.sym.consts[n]
            case ast.Name(id=n) if n in self.sym.params and n not in env:
                return self.sym.params[n].value, self.sym.params[n].value
            case ast.Name(id=n) if n in self.sym.vars and n not in env:
                return _type_range(self.sym.vars[n].type, self.sym)
            case ast.Field(obj=o, name=f):
                k = self._kind_of(o, env)
                info = self.sym.kinds[k].field(f) if k is not None else None
                if info is not None:
                    return _type_range(info.type, self.sym)
            case ast.IfExpr(then=t, else_=f):
                (a, b), (c, d) = self._interval(t, env), self._interval(f, env)
                return min(a, c), max(b, d)
            case ast.Binary(op="+" | "-", left=x, right=y):
                (a, b), (c, d) = self._interval(x, env), self._interval(y, env)
                return (a + c, b + d) if e.op == "+" else (a - d, b - c)
            case ast.Call(func=fn, args=args) if fn in self.sym.defs:
                fdef = self.sym.defs[fn]
                inner = {p.name: env.get(x.id) if isinstance(x, ast.Name) else None
                         for p, x in zip(fdef.params, args, strict=True)}  # fmt: skip
                return self._interval(fdef.body, {k: v for k, v in inner.items() if v is not None})
            case ast.Budget(fault=f):
                return 0, self._budget(f)
        raise Unsupported("a term whose range is not bounded by declared ranges", _line(e, None))

    def _kind_of(self, o: ast.Expr, env: Env) -> str | None:
        if isinstance(o, ast.Name) and isinstance(env.get(o.id), Ref):
            return str(env[o.id].kind)
        if isinstance(o, ast.Field):
            k = self._kind_of(o.obj, env)
            info = self.sym.kinds[k].field(o.name) if k is not None else None
            if info is not None and isinstance(info.type, TRef):
                return info.type.kind
        return None


def _type_range(ty: Type, sym: Symbols) -> tuple[int, int]:
    if isinstance(ty, TInt) and ty.lo is not None and ty.hi is not None:
        return ty.lo, ty.hi
    if isinstance(ty, TEnum):
        return 0, len(sym.enums[ty.name]) - 1
    if isinstance(ty, TBool):
        return 0, 1
    raise Unsupported("a term whose range is not bounded by declared ranges", 0)
