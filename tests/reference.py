"""A naive reference enumerator for KDSL models: a tree-walking interpreter over dict states.

It shares nothing with the compiler but the parsed, checked symbols. States are plain dicts
(`vars`, spent `budgets`, and per kind `slot -> {field: value}`) with values as Python sees them:
bools, ints, enum member names and `None` or a slot number for references. Only `encode` looks at
the compiled layout, to turn a reference state into the same flat tuple the compiler uses, so the
two reachable sets can be compared exactly.

The subset: ints, bools, enums, kinds with int/enum/bool/set fields and optional references,
vars, defs, count/forall/exists/sum/min/max/ceil/size, sets (literals, builders, `in`, `|`, `&`,
`-`, binders over them; a delete removes the object from every set), `budget(f)`,
create/delete/choose/for/if/assign/`:= any`/let, controller/process/fault actions with for/where/when, fault budgets, a scheduler's
bind step (filters, weighted scores, ties explored, the `on bind` statements). Anything else raises NotImplementedError.

Controllers' memory (spec/faults.md), written from the spec, not from the compiler: a state also
has `caches` ((controller, kind) -> slot -> fields: what the controller last saw) and `flight`
((actor, action) -> key -> {"step": next segment, locals}), where the key is the binder's slot
or None. While an action of a controller with caches runs, reads of a cached kind go to a view
of the state in which that kind is the cache.
"""

from __future__ import annotations

import copy
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from kcheck.lang import ast
from kcheck.lang.symbols import Symbols
from kcheck.lang.types import TBool, TEnum, TInt, TRef, TSet, Type
from tests import reference_steps


class RefError(Exception):
    """A step left the model's bounds (the reference's StepError)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# When several terms of a binding form (or iterations of a `for`, or nodes of a scheduler)
# fail, the error is the first by cause in this order (spec/language.md section 7).
CAUSES = (
    "none",
    "deleted",
    "uncached",
    "dead",
    "division",
    "range",
    "dangling",
    "exists",
    "no-free-slot",
)


def first_error(errs: list[RefError]) -> RefError:
    return min(errs, key=lambda e: CAUSES.index(e.code))


class _Disabled(Exception):
    """Internal: no candidate for a `choose` (the branch yields nothing)."""


RState = dict[str, Any]

_ATOMS = (int, str, bool, type(None), frozenset, float)


def clone(x: Any) -> Any:
    """A deep copy of a state or a part of it. States are dicts, lists, sets and tuples of
    atoms; copy.deepcopy's memo and dispatch made it most of the reference's time (test_nested_steps
    spent minutes in it). Anything else falls back to deepcopy, so no object is ever shared."""
    t = type(x)
    if t is dict:
        return {k: clone(v) for k, v in x.items()}
    if t is list:
        return [clone(v) for v in x]
    if t is set:
        return {clone(v) for v in x}
    if t is tuple:
        return tuple(clone(v) for v in x)
    if isinstance(x, _ATOMS):
        return x
    return copy.deepcopy(x)


def _freeze(st: RState) -> Any:
    def objs_key(objs: dict[Any, dict[str, Any]]) -> Any:
        return tuple((slot, tuple(sorted(obj.items()))) for slot, obj in sorted(objs.items()))

    return (
        tuple(sorted(st["vars"].items())),
        tuple(sorted(st["budgets"].items())),
        tuple((k, objs_key(objs)) for k, objs in sorted(st["kinds"].items())),
        tuple((key, objs_key(c)) for key, c in sorted(st["caches"].items())),
        tuple((key, tuple(sorted(p))) for key, p in sorted(st["pending"].items())),
        tuple(
            (
                key,
                tuple((str(k), tuple(sorted(v.items()))) for k, v in sorted(keys.items(), key=str)),
            )
            for key, keys in sorted(st["flight"].items())
            if keys
        ),
        tuple(sorted(st["writes"].items())),
        tuple((key, tuple(sorted(v))) for key, v in sorted(st["changed"].items())),
    )


@dataclass
class ReferenceResult:
    states: set[tuple[int, ...]]  # encoded with the compiled layout
    depth_of: dict[tuple[int, ...], int]
    violated: dict[str, int]  # invariant -> least depth of a violating state
    errors: set[str] = field(default_factory=set)  # step error codes met anywhere
    truncated: bool = False


class Interpreter:
    def __init__(self, sym: Symbols) -> None:
        self.sym = sym
        self.faults = [a for a in sym.actors if isinstance(a, ast.Fault)]
        # (controller, kind) -> "stale" or "coalesced"
        self.watch: dict[tuple[str, str], str] = {
            (a.name, w.kind): "stale" if w.stale else "coalesced"
            for a in sym.actors
            if isinstance(a, ast.Controller)
            for w in a.watches
            if w.stale or w.coalesced
        }
        # coalesced watches that start empty (`unsynced`); the others start synced, with an
        # initial add still to be heard for each object (`pending`)
        self.unsynced = {
            (a.name, w.kind)
            for a in sym.actors
            if isinstance(a, ast.Controller)
            for w in a.watches
            if w.coalesced and w.unsynced
        }
        # (controller, kind) of every `seen_own_writes(K)` in a controller's actions: the
        # state's `writes` says whether one of its writes to K is not in its cache yet
        self.own_writes = {
            (a.name, n.args[0].id): None
            for a in sym.actors
            if isinstance(a, ast.Controller)
            for n in ast.walk_nodes(a.actions)
            if isinstance(n, ast.Call)
            and n.func == "seen_own_writes"
            and n.func not in sym.defs
            and len(n.args) == 1
            and isinstance(n.args[0], ast.Name)
        }
        # (controller, kind) for each kind a controller that calls `unchanged(x)` watches stale:
        # the state's `changed` holds the objects written since its cache's copy of them
        self.conflicts = {
            (a.name, w.kind): None
            for a in sym.actors
            if isinstance(a, ast.Controller)
            and any(
                isinstance(n, ast.Call) and n.func == "unchanged" and n.func not in sym.defs
                for n in ast.walk_nodes(a.actions)
            )
            for w in a.watches
            if w.stale
        }
        self.reading: str | None = None  # the controller whose caches reads go through
        self.start: RState = {"kinds": {k: {} for k in sym.kinds}, "caches": {}}  # step's start
        self.failed: set[str] = set()  # codes of the choices that failed in this step

    # ---- controllers' caches
    def rd(self, st: RState | None) -> RState | None:
        """The state as the running action reads it: cached kinds replaced by its caches."""
        if st is None or self.reading is None:
            return st
        kinds = dict(st["kinds"])
        for (x, k), _ in self.watch.items():
            if x == self.reading:
                kinds[k] = st["caches"][(x, k)]
        return {**st, "kinds": kinds, "view": True, "real": st["kinds"]}

    def cached(self, kind: str) -> bool:
        return self.reading is not None and (self.reading, kind) in self.watch

    # ---- values
    def default(self, ty: Type, expr: ast.Expr | None) -> Any:
        if expr is not None:
            return self.coerce(ty, self.eval(expr, {}, None))
        match ty:
            case TInt(lo=lo):
                return lo if lo is not None else 0
            case TBool():
                return False
            case TEnum(name=e):
                return self.sym.enums[e][0]
            case TRef():
                return None
            case TSet():
                return frozenset()
        raise NotImplementedError(ty)

    def coerce(self, ty: Type, v: Any) -> Any:
        if isinstance(ty, TBool):
            return bool(v)
        if isinstance(ty, TSet):
            return frozenset(v)
        return v

    def check_store(self, ty: Type, v: Any) -> Any:
        bounded = isinstance(ty, TInt) and ty.lo is not None and ty.hi is not None
        if bounded and not ty.lo <= v <= ty.hi:  # type: ignore[union-attr, operator]
            raise RefError("range")
        return self.coerce(ty, v)

    def param_value(self, name: str) -> Any:
        p = self.sym.params[name]
        if isinstance(p.type, TBool):
            return bool(p.value)
        if isinstance(p.type, TEnum):
            return self.sym.enums[p.type.name][p.value]
        return p.value

    # ---- expressions
    def obj(self, st: RState, kind: str, slot: Any) -> dict[str, Any]:
        if slot is None:
            raise RefError("none")
        objs = st["kinds"][kind]
        if slot not in objs:  # through a reference to a deleted object (a dangling one)
            raise RefError("uncached" if st.get("view") and self.cached(kind) else "deleted")
        return objs[slot]

    def kind_of_ref(self, e: ast.Expr, env: dict[str, Any], st: RState | None) -> str:
        """The kind a reference expression points into (only names and fields reach here)."""
        match e:
            case ast.Name(id=n):
                if n in env:
                    return env[n][1]
                vt = self.sym.vars[n].type
                assert isinstance(vt, TRef)
                return vt.kind
            case ast.Index(kind=k):
                return k
            case ast.Field(obj=o, name=f):
                k = self.kind_of_ref(o, env, st)
                fi = self.sym.kinds[k].field(f)
                assert fi is not None and isinstance(fi.type, TRef)
                return fi.type.kind
            case ast.Call(func=fn) if fn in self.sym.defs:
                ret = self.sym.defs[fn].ret
                assert isinstance(ret, ast.NamedType | ast.OptionalType)
                assert ret.name in self.sym.kinds
                return ret.name
            case ast.IfExpr(then=a):
                return self.kind_of_ref(a, env, st)
        raise NotImplementedError(type(e).__name__)

    def domain(self, d: ast.Domain, env: dict[str, Any], st: RState | None) -> list[Any]:
        """Values of a binder's domain, with the kind each one points into (or None)."""
        if isinstance(d, ast.RangeDomain):
            lo, hi = self.eval(d.lo, env, st), self.eval(d.hi, env, st)
            return [(v, None) for v in range(lo, hi + 1)]
        e = d.expr
        if isinstance(e, ast.Name) and e.id == "bool":
            return [(False, None), (True, None)]
        if isinstance(e, ast.Name) and e.id not in env:
            if e.id in self.sym.kinds:
                view = self.rd(st) if st is not None and not st.get("view") else st
                assert view is not None
                return [(slot, e.id) for slot in sorted(view["kinds"][e.id])]
            if e.id in self.sym.enums:
                return [(m, None) for m in self.sym.enums[e.id]]
        # a set-valued expression: its members, in slot (or member) order
        elem = self.set_elem(e, env)
        order = self.sym.enums.get(elem) if elem is not None else None
        members = self.eval(e, env, st)
        if order is not None:
            return [(m, None) for m in order if m in members]
        return [(v, elem) for v in sorted(members)]

    def set_elem(self, e: ast.Expr, env: dict[str, Any]) -> str | None:
        """The element kind or enum of a set-valued expression (None: an empty literal)."""
        match e:
            case ast.Name(id=n) if n in env:
                return None if env[n][1] is None else env[n][1]
            case ast.Name(id=n) if n in self.sym.vars:
                ty = self.sym.vars[n].type
                assert isinstance(ty, TSet)
                return ty.elem
            case ast.Field(obj=o, name=f):
                fi = self.sym.kinds[self.kind_of_ref(o, env, None)].field(f)
                assert fi is not None and isinstance(fi.type, TSet)
                return fi.type.elem
            case ast.SetLit(elems=els):
                for el in els:
                    if isinstance(el, ast.Name) and el.id in self.sym.members:
                        return next(k for k, ms in self.sym.enums.items() if el.id in ms)
                    try:
                        return self.kind_of_ref(el, env, None)
                    except (AssertionError, KeyError, NotImplementedError):
                        continue
                return None
            case ast.SetBuilder(binder=b):
                d = b.domain
                named = isinstance(d, ast.ExprDomain) and isinstance(d.expr, ast.Name)
                if named and (d.expr.id in self.sym.kinds or d.expr.id in self.sym.enums):
                    return d.expr.id
                if isinstance(d, ast.ExprDomain):
                    return self.set_elem(d.expr, env)
                return None
            case ast.Binary(left=a, right=b):
                return self.set_elem(a, env) or self.set_elem(b, env)
            case ast.IfExpr(then=a, else_=b):
                return self.set_elem(a, env) or self.set_elem(b, env)
            case ast.Call(func=fn) if fn in self.sym.defs:
                ty = self.sym.defs[fn].ret
                if isinstance(ty, ast.SetType):
                    return ty.elem
        raise NotImplementedError(f"set of {type(e).__name__}")

    def bindings(
        self,
        binders: tuple[ast.Binder, ...],
        where: ast.Expr | None,
        env: dict[str, Any],
        st: RState | None,
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []

        def go(i: int, e: dict[str, Any]) -> None:
            if i == len(binders):
                if where is None or self.eval(where, e, st):
                    out.append(e)
                return
            b = binders[i]
            for v, k in self.domain(b.domain, e, st):
                go(i + 1, {**e, b.name: (v, k)})

        go(0, env)
        return out

    def terms(
        self,
        binders: tuple[ast.Binder, ...],
        where: ast.Expr | None,
        env: dict[str, Any],
        st: RState | None,
        elem: Any,
    ) -> list[Any]:
        """`elem(env)` for every binding that satisfies `where`. Every term is evaluated, even
        after one failed; then the first error by cause is raised."""
        out: list[Any] = []
        errs: list[RefError] = []

        def go(i: int, e: dict[str, Any]) -> None:
            if i == len(binders):
                if where is None or self.eval(where, e, st):
                    out.append(elem(e))
                return
            b = binders[i]
            for v, k in self.domain(b.domain, e, st):
                try:
                    go(i + 1, {**e, b.name: (v, k)})
                except RefError as err:
                    errs.append(err)

        go(0, env)
        if errs:
            raise first_error(errs)
        return out

    def _element(self, el: ast.Expr, env: dict[str, Any], st: RState | None) -> Any:
        """A set literal's element: a set holds objects, never `none` (`{p.node}` with p
        unbound is a runtime error, spec/language.md section 6)."""
        v = self.eval(el, env, st)
        if v is None:
            raise RefError("none")
        return v

    def eval(self, e: ast.Expr, env: dict[str, Any], st: RState | None) -> Any:
        if st is not None and self.reading is not None and not st.get("view"):
            st = self.rd(st)
        ev = self.eval
        match e:
            case ast.IntLit(value=v):
                return v
            case ast.BoolLit(value=v):
                return v
            case ast.NoneLit():
                return None
            case ast.Name(id=n):
                if n in env:
                    return env[n][0]
                if n in self.sym.vars:
                    assert st is not None
                    return st["vars"][n]
                if n in self.sym.params:
                    return self.param_value(n)
                if n in self.sym.consts:
                    return self.sym.consts[n]
                if n in self.sym.members:
                    return n
                raise NotImplementedError(f"name {n}")
            case ast.Field(obj=o, name=f):
                slot = ev(o, env, st)
                assert st is not None
                return self.obj(st, self.kind_of_ref(o, env, st), slot)[f]
            case ast.Call(func="seen_own_writes", args=[ast.Name(id=k)]) if (
                "seen_own_writes" not in self.sym.defs
            ):
                # no write of mine to k waits for my cache: from an earlier step, or this one
                assert st is not None and self.reading is not None
                mine = st["writes"][(self.reading, k)]
                return not mine and st.get("real", st["kinds"])[k] == self.start["kinds"][k]
            case ast.Call(func="seen_by", args=[ast.Name(id=x), inner]) if (
                "seen_by" not in self.sym.defs
            ):
                # an invariant reads e as controller x reads it: its cached kinds from its cache
                assert st is not None and self.reading is None
                self.reading = x
                try:
                    return ev(inner, env, self.rd(st))
                finally:
                    self.reading = None
            case ast.Call(func="unchanged", args=[x]) if "unchanged" not in self.sym.defs:
                # the apiserver's object still has the version of my cached copy
                assert st is not None and self.reading is not None
                slot, kind = ev(x, env, st), self.kind_of_ref(x, env, st)
                real = st.get("real", st["kinds"])[kind]
                return (
                    slot in st["caches"][(self.reading, kind)]
                    and slot in real
                    and slot not in st["changed"][(self.reading, kind)]
                    and real[slot] == self.start["kinds"][kind].get(slot)
                )
            case ast.Call(func=fn, args=args):
                vals = [ev(a, env, st) for a in args]
                if fn in self.sym.defs:
                    d = self.sym.defs[fn]
                    denv: dict[str, Any] = {}
                    for p, v in zip(d.params, vals, strict=True):
                        kind = None
                        is_ref = isinstance(p.type, ast.NamedType | ast.OptionalType)
                        if is_ref and p.type.name in self.sym.kinds:
                            kind = p.type.name
                        if isinstance(p.type, ast.SetType):  # a set's element kind or enum
                            kind = p.type.elem
                        denv[p.name] = (v, kind)
                    return ev(d.body, denv, st)
                if fn == "min":
                    return min(vals)
                if fn == "max":
                    return max(vals)
                if fn == "abs":
                    return abs(vals[0])
                if fn == "ceil":  # a / b rounded up; by zero: the division error
                    if vals[1] == 0:
                        raise RefError("division")
                    return -(-vals[0] // vals[1])
                if fn == "size":
                    return len(vals[0])
                raise NotImplementedError(f"call {fn}")
            case ast.Unary(op="-", operand=o):
                return -ev(o, env, st)
            case ast.Unary(op="not", operand=o):
                return not ev(o, env, st)
            case ast.Binary(op=op, left=a, right=b):
                if op == "and":
                    return bool(ev(a, env, st)) and bool(ev(b, env, st))
                if op == "or":
                    return bool(ev(a, env, st)) or bool(ev(b, env, st))
                if op == "implies":
                    return (not ev(a, env, st)) or bool(ev(b, env, st))
                x = ev(a, env, st)
                if op == "in":
                    return x in ev(b, env, st)
                y = ev(b, env, st)
                if isinstance(x, frozenset) or isinstance(y, frozenset):
                    match op:
                        case "|":
                            return x | y
                        case "&":
                            return x & y
                        case "-":
                            return x - y
                        case "==":
                            return x == y
                        case "!=":
                            return x != y
                match op:
                    case "+":
                        return x + y
                    case "-":
                        return x - y
                    case "*":
                        return x * y
                    case "/" | "%":
                        if y == 0:
                            raise RefError("division")
                        return x // y if op == "/" else x % y
                    case "==":
                        return x == y
                    case "!=":
                        return x != y
                    case "<":
                        return x < y
                    case "<=":
                        return x <= y
                    case ">":
                        return x > y
                    case ">=":
                        return x >= y
                raise NotImplementedError(op)
            case ast.Quant(quant=q, binders=bs, where=w, body=body):
                vals = self.terms(bs, w, env, st, lambda e2: bool(ev(body, e2, st)))
                return all(vals) if q == "forall" else any(vals)
            case ast.Count(binders=bs, where=w):
                return len(self.terms(bs, w, env, st, lambda e2: 1))
            case ast.CountAll(arg=a):
                if isinstance(a, ast.Name) and a.id in self.sym.kinds:
                    assert st is not None
                    return len(st["kinds"][a.id])
                return len(ev(a, env, st))
            case ast.SetLit(elems=els):
                return frozenset(self._element(el, env, st) for el in els)
            case ast.SetBuilder(binder=bd, where=w):
                return frozenset(self.terms((bd,), w, env, st, lambda e2: e2[bd.name][0]))
            case ast.Budget(fault=f):  # the fault's budget less its firings so far
                assert st is not None
                actor = next(a for a in self.faults if a.name == f)
                assert actor.budget is not None
                return int(self.eval(actor.budget, {}, None)) - st["budgets"][f]
            case ast.Aggregate(op=op, body=body, binders=bs, where=w):
                vals = self.terms(bs, w, env, st, lambda e2: ev(body, e2, st))
                if op == "sum":
                    return sum(vals)
                if not vals:
                    return 0
                return max(vals) if op == "max" else min(vals)
            case ast.IfExpr(cond=c, then=a, else_=b):
                return ev(a, env, st) if ev(c, env, st) else ev(b, env, st)
            case ast.Index(kind=k, index=i):
                slot = ev(i, env, st)
                assert st is not None
                if slot not in st["kinds"][k]:
                    raise RefError("dead")
                return slot
        raise NotImplementedError(type(e).__name__)

    # ---- statements: each returns the list of states it can end in
    def lvalue_type(self, lv: ast.LValue, env: dict[str, Any]) -> Type:
        if len(lv.parts) == 1:
            return self.sym.vars[lv.parts[0]].type
        kind = lv.parts[0] if lv.index is not None else self._lvalue_head(lv, env, None)[1]
        ty: Type = TRef(kind)
        for part in lv.parts[1:]:
            assert isinstance(ty, TRef)
            fi = self.sym.kinds[ty.kind].field(part)
            assert fi is not None
            ty = fi.type
        return ty

    def _lvalue_head(
        self, lv: ast.LValue, env: dict[str, Any], st: RState | None
    ) -> tuple[Any, str]:
        """The object an assignment path starts from: a bound name, or a var holding a
        reference (`target.have := 1`, an actor's local `c.target` among them)."""
        head = lv.parts[0]
        if head in env:
            slot, kind = env[head]
            return slot, kind
        vt = self.sym.vars[head].type
        assert isinstance(vt, TRef)
        return (st["vars"][head] if st is not None else None), vt.kind

    def store(self, lv: ast.LValue, value: Any, env: dict[str, Any], st: RState) -> None:
        ty = self.lvalue_type(lv, env)
        if len(lv.parts) == 1:
            st["vars"][lv.parts[0]] = self.check_store(ty, value)
            return
        if lv.index is not None:  # `K[i].f`: the i-th object of an ordered kind
            kind, slot = lv.parts[0], self.eval(lv.base(), env, st)
        else:
            slot, kind = self._lvalue_head(lv, env, st)
        view = self.rd(st)
        assert view is not None
        for part in lv.parts[1:-1]:  # the path is read (through caches), the last hop written
            fi = self.sym.kinds[kind].field(part)
            assert fi is not None and isinstance(fi.type, TRef)
            slot = self.obj(view, kind, slot)[part]
            kind = fi.type.kind
        if self.reading is not None and slot is not None and slot not in st["kinds"][kind]:
            return  # a stale controller writes to an object already gone: NotFound
        self.obj(st, kind, slot)[lv.parts[-1]] = self.check_store(ty, value)

    def create_values(self, c: ast.Create, env: dict[str, Any], st: RState) -> dict[str, Any]:
        info = self.sym.kinds[c.kind]
        given = {fi.name: fi.value for fi in c.fields}
        values: dict[str, Any] = {}
        for f in info.fields:
            if f.name in given:
                values[f.name] = self.eval(given[f.name], env, st)
            else:
                values[f.name] = self.default(f.type, f.default)
        return values

    def name_taken(self, c: ast.Create, values: dict[str, Any], st: RState) -> bool:
        """A live object of the apiserver (never a cache's) has the new object's key."""
        keys = [f.name for f in self.sym.kinds[c.kind].fields if f.decl.key]
        return bool(keys) and any(
            all(o[n] == values[n] for n in keys) for o in st["kinds"][c.kind].values()
        )

    def create(
        self,
        c: ast.Create,
        env: dict[str, Any],
        st: RState,
        values: dict[str, Any] | None = None,
    ) -> int:
        info = self.sym.kinds[c.kind]
        if values is None:
            values = self.create_values(c, env, st)
            if self.name_taken(c, values, st):
                raise RefError("exists")  # AlreadyExists, not handled

        # free: no object, no cache and no reference holds it now (a reference to a deleted
        # object dangles, and never comes to name a new one); one free since the step began first
        def refs(ty: Type, v: Any) -> set[int]:
            if isinstance(ty, TRef) and ty.kind == c.kind and v is not None:
                return {v}
            if isinstance(ty, TSet) and ty.elem == c.kind and v is not None:
                return set(v)  # (a step's start before `init` has no vars yet)
            return set()

        def held(state: RState) -> set[int]:
            out = set(state["kinds"][c.kind])
            for name, var in self.sym.vars.items():
                out |= refs(var.type, state.get("vars", {}).get(name))
            for k, objs in state["kinds"].items():
                for f in self.sym.kinds[k].fields:
                    for o in objs.values():
                        out |= refs(f.type, o[f.name])
            for (actor, aname), keys in state.get("flight", {}).items():
                for locals_ in keys.values():
                    for n, v in locals_.items():
                        if n != "step" and self.local_kind(actor, aname, n) == c.kind:
                            out |= {v} if v is not None else set()
            for (_, k), cache in state["caches"].items():
                if k == c.kind:
                    out |= set(cache)
                for f in self.sym.kinds[k].fields:
                    if isinstance(f.type, TRef) and f.type.kind == c.kind:
                        out |= {o[f.name] for o in cache.values() if o[f.name] is not None}
            return out

        now, before = held(st), held(self.start)
        objs = st["kinds"][c.kind]
        free = [i for i in range(info.size) if i not in now and i not in before]
        free += [i for i in range(info.size) if i not in now and i in before]
        if not free:
            raise RefError("no-free-slot")
        slot = free[0]
        objs[slot] = {}
        for f in info.fields:
            objs[slot][f.name] = self.check_store(f.type, values[f.name])
        return slot

    def delete(self, kind: str, slot: int, st: RState) -> None:
        if slot not in st["kinds"][kind]:
            if self.reading is not None:
                return  # already gone: NotFound
            raise RefError("deleted")  # through a dangling reference
        del st["kinds"][kind][slot]
        # in-flight work on the object ends; in-flight locals naming it become none
        for (_, k), pending in st["pending"].items():
            if k == kind:
                pending.discard(slot)  # its initial add is not heard: it is gone
        for (_, k), changed in st.get("changed", {}).items():
            if k == kind:
                changed.discard(slot)  # a set holds no deleted object
        for (actor, aname), keys in st["flight"].items():
            if self.split_kind(actor, aname) == kind:
                keys.pop(slot, None)
            for locals_ in keys.values():
                for n, k in locals_.get(" kinds", ()):  # `step` inside a block
                    if k != kind:
                        continue
                    if n.startswith("for@"):  # a loop's unvisited items: it is not one now
                        locals_[n] &= ~(1 << slot)
                    elif locals_[n] == slot:
                        locals_[n] = None
                        locals_[" gone"] = tuple(sorted({*locals_[" gone"], n}))
                if " kinds" in locals_:
                    continue
                for n, v in list(locals_.items()):
                    if n != "step" and self.local_kind(actor, aname, n) == kind and v == slot:
                        locals_[n] = None
        for name, v in self.sym.vars.items():
            if isinstance(v.type, TSet) and v.type.elem == kind:
                st["vars"][name] = st["vars"][name] - {slot}
            if isinstance(v.type, TRef) and v.type.kind == kind and st["vars"][name] == slot:
                if not v.type.optional:
                    raise RefError("dangling")
                st["vars"][name] = None
        for kname, info in self.sym.kinds.items():
            for f in info.fields:
                if isinstance(f.type, TSet) and f.type.elem == kind:
                    for obj in st["kinds"][kname].values():
                        obj[f.name] = obj[f.name] - {slot}
                if isinstance(f.type, TRef) and f.type.kind == kind:
                    for obj in st["kinds"][kname].values():
                        if obj[f.name] == slot:
                            if not f.type.optional:
                                raise RefError("dangling")
                            obj[f.name] = None

    def block(
        self, stmts: tuple[ast.Stmt, ...], env: dict[str, Any], st: RState
    ) -> list[tuple[dict[str, Any], RState]]:
        """Run `stmts` on `st` (which it may mutate); every (env, state) it can end in."""
        if not stmts:
            return [(env, st)]
        first, rest = stmts[0], stmts[1:]
        match first:
            case ast.Assign(target=lv, value=v):
                self.store(lv, self.eval(v, env, st), env, st)
                return self.block(rest, env, st)
            case ast.AssignAny(target=lv, domain=d):
                out = []
                for v, _ in self.domain(d, env, st):
                    st2 = clone(st)
                    try:  # each value is its own step: one that fails hides no other
                        self.store(lv, v, env, st2)
                        out.extend(self.block(rest, env, st2))
                    except RefError as err:
                        self.failed.add(err.code)
                return out
            case ast.CreateStmt(create=c, otherwise=other) if other is not None:
                values = self.create_values(c, env, st)
                if self.name_taken(c, values, st):  # AlreadyExists: the else block instead
                    return [
                        (env, st3) for _, st2 in self.block(other.stmts, env, st)
                        for _, st3 in self.block(rest, env, st2)
                    ]  # fmt: skip
                self.create(c, env, st, values)
                return self.block(rest, env, st)
            case ast.CreateStmt(create=c):
                self.create(c, env, st)
                return self.block(rest, env, st)
            case ast.Let(name=n, value=v):
                if isinstance(v, ast.Create):
                    slot = self.create(v, env, st)
                    env2 = {**env, n: (slot, v.kind)}
                else:
                    kind = None
                    if isinstance(v, ast.Name | ast.Field):
                        try:
                            kind = self.kind_of_ref(v, env, st)
                        except (AssertionError, KeyError, NotImplementedError):
                            kind = None
                    env2 = {**env, n: (self.eval(v, env, st), kind)}
                return self.block(rest, env2, st)
            case ast.Delete(target=t):
                slot = self.eval(t, env, st)
                kind = self.kind_of_ref(t, env, st)
                if slot is None:
                    raise RefError("none")
                self.delete(kind, slot, st)
                return self.block(rest, env, st)
            case ast.Choose(binders=bs, where=w, body=body):
                out = []
                for e2 in self.bindings(bs, None, env, st):
                    st2 = clone(st)
                    try:  # each choice is its own step: one that fails hides no other
                        if w is not None and not self.eval(w, e2, st2):
                            continue
                        for _, st3 in self.block(body.stmts, e2, st2):
                            out.extend(self.block(rest, env, st3))
                    except RefError as err:
                        self.failed.add(err.code)
                return out
            case ast.For(binders=bs, where=w, body=body):
                items = self.terms(bs, w, env, st, lambda e2: e2)
                errs: list[RefError] = []
                for e2 in items:
                    # an object deleted earlier in the loop is skipped (as the reader sees it)
                    view = self.rd(st)
                    assert view is not None
                    if any(
                        k is not None and v not in view["kinds"][k]
                        for name, (v, k) in e2.items()
                        if name not in env
                    ):
                        continue
                    try:  # every iteration runs; then the first error by cause
                        ends = self.block(body.stmts, e2, st)
                    except RefError as err:
                        errs.append(err)
                        continue
                    assert len(ends) == 1, "a for body is deterministic"
                    st = ends[0][1]
                if errs:
                    raise first_error(errs)
                return self.block(rest, env, st)
            case ast.If(cond=c, then=tb, else_=eb):
                if self.eval(c, env, st):
                    branch: tuple[ast.Stmt, ...] = tb.stmts
                elif eb is None:
                    branch = ()
                elif isinstance(eb, ast.If):
                    branch = (eb,)
                else:
                    branch = eb.stmts
                out = []
                for _, st2 in self.block(branch, env, st):
                    out.extend(self.block(rest, env, st2))
                return out
            case ast.Restart(controller=x):
                self.restart(x, st)
                return self.block(rest, env, st)
        raise NotImplementedError(type(first).__name__)

    def restart(self, x: str, st: RState) -> None:
        for (c, k), mode in self.watch.items():
            if c == x:
                self.list_and_watch(c, k, mode, st)
        for (actor, _), keys in st["flight"].items():
            if actor == x:
                keys.clear()

    def list_and_watch(self, x: str, k: str, mode: str, st: RState) -> None:
        """x's informer of k (re)starts: it lists the objects, and x waits until it has
        (WaitForCacheSync); a coalesced one's handler then hears one add per object. An
        `unsynced` coalesced cache starts empty instead."""
        if (x, k) in self.unsynced:
            st["caches"][(x, k)] = {}
            st["pending"][(x, k)] = set()
            return
        st["caches"][(x, k)] = clone(st["kinds"][k])
        st["pending"][(x, k)] = set(st["kinds"][k]) if mode == "coalesced" else set()
        if (x, k) in st.get("writes", {}):  # the list holds every write
            st["writes"][(x, k)] = frozenset() if mode == "coalesced" else False
        if (x, k) in st.get("changed", {}):  # and every object's current version
            st["changed"][(x, k)] = set()

    # ---- actions split by `step`
    def segments(self, a: ast.Action) -> list[tuple[ast.Stmt, ...]]:
        out: list[list[ast.Stmt]] = [[]]
        for st in a.body.stmts:
            if isinstance(st, ast.Step):
                out.append([])
            else:
                out[-1].append(st)
        return [tuple(x) for x in out]

    def action_of(self, actor: str, aname: str) -> ast.Action:
        for a in self.sym.actors:
            if a.name == actor:
                for act in a.actions:
                    if act.name == aname:
                        return act
        raise KeyError((actor, aname))

    def split_kind(self, actor: str, aname: str) -> str | None:
        a = self.action_of(actor, aname)
        if not a.binders:
            return None
        d = a.binders[0].domain
        if (
            isinstance(d, ast.ExprDomain)
            and isinstance(d.expr, ast.Name)
            and d.expr.id in self.sym.kinds
        ):
            return d.expr.id
        if len(self.segments(a)) > 1:  # a `step` keyed by a value that is not an object
            raise NotImplementedError("split action over a non-kind domain")
        return None

    def local_kind(self, actor: str, aname: str, name: str) -> str | None:
        """The kind a `let` of a split action points into, when it is a reference."""
        a = self.action_of(actor, aname)
        env: dict[str, Any] = {}
        if a.binders:
            env[a.binders[0].name] = (0, self.split_kind(actor, aname))
        for st in a.body.stmts:
            if isinstance(st, ast.Let) and st.name == name:
                if isinstance(st.value, ast.Create):
                    return st.value.kind
                try:
                    return self.kind_of_ref(st.value, env, None)
                except (AssertionError, KeyError, NotImplementedError, AttributeError):
                    return None
        return None

    def needed_after(self, segs: list[tuple[ast.Stmt, ...]], i: int) -> set[str]:
        """Names read in the segments after segment i."""
        names: set[str] = set()

        def walk(node: Any) -> None:
            if isinstance(node, tuple):
                for x in node:
                    walk(x)
                return
            if not hasattr(node, "__dataclass_fields__"):
                return
            if isinstance(node, ast.Name):
                names.add(node.id)
            if isinstance(node, ast.LValue):
                names.add(node.parts[0])
            for f in node.__dataclass_fields__:
                if not f.endswith("span"):
                    walk(getattr(node, f))

        walk(tuple(segs[i + 1 :]))
        return names

    # ---- the transition relation
    def initial(self) -> list[RState]:
        st: RState = {
            "vars": {
                n: self.check_store(v.type, self.eval(v.decl.init, {}, None))
                for n, v in self.sym.vars.items()
            },
            "budgets": {f.name: 0 for f in self.faults},
            "kinds": {k: {} for k in self.sym.kinds},
            "caches": {key: {} for key in self.watch},
            "pending": {key: set() for key in self.watch},
            "flight": {},
            # on a coalesced watch, the objects with a write of its own still to deliver
            "writes": {
                key: frozenset() if self.watch.get(key) == "coalesced" else False
                for key in self.own_writes
            },
            "changed": {key: set() for key in self.conflicts},
        }
        stmts = tuple(s for i in self.sym.inits for s in i.body.stmts)
        out = [s for _, s in self.block(stmts, {}, st)]
        for s in out:  # informers have synced before controllers start
            for (x, k), mode in self.watch.items():
                self.list_and_watch(x, k, mode, s)
        return out

    def steps(self, st: RState) -> tuple[list[RState], set[str]]:
        """Every successor of `st`, and the codes of the steps that failed. An action instance
        whose step fails contributes no successor."""
        self.start = st
        out: list[RState] = []
        errors: set[str] = set()
        for (x, k), mode in self.watch.items():  # informers catching up
            behind = st["writes"].get((x, k), False)  # a write of x's own is still to come
            behind = behind or bool(st["changed"].get((x, k)))  # or a version it has not seen
            if mode == "stale" and (st["caches"][(x, k)] != st["kinds"][k] or behind):
                st2 = clone(st)
                st2["caches"][(x, k)] = clone(st["kinds"][k])
                if (x, k) in st2["writes"]:
                    st2["writes"][(x, k)] = False
                if (x, k) in st2["changed"]:  # every object's current version is in the cache
                    st2["changed"][(x, k)] = set()
                out.append(st2)
        syncs = list(out)
        self.failed = errors
        for actor in self.sym.actors:
            if isinstance(actor, ast.Scheduler):
                out.extend(self.schedule(actor, st))
            budget = None
            if isinstance(actor, ast.Fault):
                budget = int(self.eval(actor.budget, {}, None))
            has_cache = any(x == actor.name for x, _ in self.watch)
            self.reading = actor.name if has_cache else None
            try:
                for a in actor.actions:
                    after = self.action_steps(actor, a, budget, st, errors)
                    for st2 in after:  # a controller's step that changed k: a write of its own
                        for x, k in self.own_writes:
                            if x != actor.name or st2["kinds"][k] == st["kinds"][k]:
                                continue
                            if self.watch[(x, k)] == "stale":
                                st2["writes"][(x, k)] = True
                                continue
                            # coalesced: per object, unless it is gone and uncached
                            kept = set(st2["kinds"][k]) | set(st2["caches"][(x, k)])
                            wrote = {
                                o for o in kept if st2["kinds"][k].get(o) != st["kinds"][k].get(o)
                            }
                            st2["writes"][(x, k)] = st2["writes"][(x, k)] | wrote
                    out.extend(after)
            finally:
                self.reading = None
        for st2 in out:  # nothing is left to deliver of what the apiserver and cache lack
            for (x, k), w in st2["writes"].items():
                if isinstance(w, frozenset):
                    kept = set(st2["kinds"][k]) | set(st2["caches"][(x, k)])
                    st2["writes"][(x, k)] = w & kept
        for st2 in out[len(syncs) :]:  # a step that changed a live object made a new version
            for (_, k), objs in st2["changed"].items():
                for slot, obj in st2["kinds"][k].items():
                    if obj != st["kinds"][k].get(slot):
                        objs.add(slot)
        return out, errors

    def action_steps(
        self, actor: ast.Actor, a: ast.Action, budget: int | None, st: RState, errors: set[str]
    ) -> list[RState]:
        out: list[RState] = []
        segs = self.segments(a)
        key_of = self.split_kind(actor.name, a.name) is not None
        flight = st["flight"].get((actor.name, a.name))
        nested = reference_steps.Nested(self, a) if reference_steps.nested(a) else None
        # later segments: resume what is in flight
        if flight is not None:
            for key, locals_ in sorted(flight.items(), key=lambda kv: (kv[0] is None, kv[0])):
                if nested is not None:  # `step` inside a block: tests/reference_steps.py
                    try:
                        out.extend(self.resume_nested(actor, a, nested, key, locals_, st))
                    except RefError as err:
                        errors.add(err.code)
                    continue
                i = locals_["step"]
                env: dict[str, Any] = {}
                if key_of:
                    env[a.binders[0].name] = (key, self.split_kind(actor.name, a.name))
                try:
                    for n, v in locals_.items():
                        if n == "step":
                            continue
                        lk = self.local_kind(actor.name, a.name, n)
                        if lk is not None and v is None:
                            raise RefError("none")  # deleted while in flight
                        env[n] = (v, lk)
                    st2 = clone(st)
                    out.extend(self.finish(actor, a, segs, i, key, env, st2))
                except RefError as err:
                    errors.add(err.code)
        # handlers: one instance per object whose cached copy is out of date
        if a.handler:
            kind = self.split_kind(actor.name, a.name)
            assert kind is not None
            cache = st["caches"][(actor.name, kind)]
            pending = st["pending"][(actor.name, kind)]
            mine = st["writes"].get((actor.name, kind), frozenset())
            for slot in range(self.sym.kinds[kind].size):
                same = cache.get(slot) == st["kinds"][kind].get(slot)
                if same and slot not in pending and slot not in mine:
                    continue
                st2 = clone(st)
                st2["pending"][(actor.name, kind)].discard(slot)
                if (actor.name, kind) in st2["writes"]:  # delivered: my writes before it too
                    st2["writes"][(actor.name, kind)] = mine - {slot}
                c2 = st2["caches"][(actor.name, kind)]
                if slot in st2["kinds"][kind]:
                    c2[slot] = clone(st2["kinds"][kind][slot])
                else:
                    c2.pop(slot, None)
                try:
                    env = {a.binders[0].name: (slot, kind)}
                    out.extend(s for _, s in self.block(a.body.stmts, env, st2))
                except RefError as err:
                    errors.add(err.code)
            return out
        # the first segment (the whole body when there is no `step`); each instance is its own
        # step, from its `where` on: one that fails hides no other
        for env in self.bindings(a.binders, None, {}, st):
            try:
                if a.where is not None and not self.eval(a.where, env, st):
                    continue
                if self.busy(actor.name, a, env, st):
                    continue
                if a.when is not None and not self.eval(a.when, env, st):
                    continue
                if budget is not None and st["budgets"][actor.name] >= budget:
                    continue
                st2 = clone(st)
                if budget is not None:
                    st2["budgets"][actor.name] += 1
                key = env[a.binders[0].name][0] if len(segs) > 1 and key_of else None
                if nested is not None:
                    key = env[a.binders[0].name][0] if key_of else None
                    ends = nested.start(env, st2)
                    out.extend(self.record_nested(actor, a, nested, key, ends))
                    continue
                out.extend(self.finish(actor, a, segs, 0, key, env, st2))
            except RefError as err:
                errors.add(err.code)
        return out

    def resume_nested(
        self,
        actor: ast.Actor,
        a: ast.Action,
        nested: reference_steps.Nested,
        key: Any,
        locals_: dict[str, Any],
        st: RState,
    ) -> list[RState]:
        """Go on with an action with `step` inside a block where it stopped."""
        if locals_[" gone"]:
            raise RefError("none")  # an object it still needs was deleted meanwhile
        saved = {n: v for n, v in locals_.items() if not n.startswith(" ") and n != "step"}
        k = reference_steps.override(locals_[" k"], saved)
        ends = nested.resume(k, clone(st))
        return self.record_nested(actor, a, nested, key, ends)

    def record_nested(
        self,
        actor: ast.Actor,
        a: ast.Action,
        nested: reference_steps.Nested,
        key: Any,
        ends: list[tuple[int, dict[str, Any], Any, RState]],
    ) -> list[RState]:
        """Where each way through stopped: the resume point, the locals the rest reads, and
        the continuation (kept out of the compiled encoding)."""
        out = []
        binders = {b.name for b in a.binders}
        kind = self.split_kind(actor.name, a.name)
        for target, env, k, st2 in ends:
            keys = st2["flight"].setdefault((actor.name, a.name), {})
            keys.pop(key, None)
            alive = kind is None or key in st2["kinds"][kind]
            if target and alive:
                need = sorted((nested.needs(k) & set(env)) - binders)
                keys[key] = {"step": target, **{n: env[n][0] for n in need}} | {
                    " k": k,
                    " kinds": tuple((n, env[n][1]) for n in need),
                    " gone": (),
                }
            out.append(st2)
        return out

    def busy(self, actor: str, a: ast.Action, env: dict[str, Any], st: RState) -> bool:
        """Whether an action of the actor is in flight on an object this instance binds (or
        an action without a binder is in flight at all)."""
        for (x, aname), keys in st["flight"].items():
            if x != actor or not keys:
                continue
            kind = self.split_kind(x, aname)
            if kind is None:
                return True
            for b in a.binders:
                v, k = env[b.name]
                if k == kind and v in keys:
                    return True
        return False

    def finish(
        self,
        actor: ast.Actor,
        a: ast.Action,
        segs: list[tuple[ast.Stmt, ...]],
        i: int,
        key: Any,
        env: dict[str, Any],
        st: RState,
    ) -> list[RState]:
        """Run segment i; record where the action stands after it."""
        out = []
        for env2, st2 in self.block(segs[i], env, st):
            if len(segs) > 1:
                keys = st2["flight"].setdefault((actor.name, a.name), {})
                keys.pop(key, None)
                kind = self.split_kind(actor.name, a.name)
                alive = kind is None or key in st2["kinds"][kind]
                if i + 1 < len(segs) and alive:
                    later = self.needed_after(segs, i)
                    binder = a.binders[0].name if a.binders else None
                    keys[key] = {"step": i + 1} | {
                        n: v for n, (v, _) in env2.items() if n in later and n != binder
                    }
            out.append(st2)
        return out

    def schedule(self, s: ast.Scheduler, st: RState) -> list[RState]:
        pod_info = self.sym.kinds[s.pod_kind]
        bf = pod_info.field(s.node_field)
        assert bf is not None and isinstance(bf.type, TRef)
        node_kind = bf.type.kind
        out = []
        for p, pod in sorted(st["kinds"][s.pod_kind].items()):
            if pod[s.node_field] is not None:
                continue
            try:  # each pod is its own step
                out.extend(self.schedule_pod(s, p, node_kind, st))
            except RefError as err:
                self.failed.add(err.code)
        return out

    def schedule_pod(self, s: ast.Scheduler, p: int, node_kind: str, st: RState) -> list[RState]:
        scored: list[tuple[int, int]] = []
        errs: list[RefError] = []
        for n in sorted(st["kinds"][node_kind]):
            try:  # every node is filtered and scored; then the first error by cause
                if all(
                    self.eval(f.expr, {f.pod: (p, s.pod_kind), f.node: (n, node_kind)}, st)
                    for f in s.filters
                ):
                    total = 0
                    for sc in s.scores:
                        env = {sc.pod: (p, s.pod_kind), sc.node: (n, node_kind)}
                        w = self.eval(sc.weight, {}, None) if sc.weight is not None else 1
                        total += w * self.eval(sc.expr, env, st)
                    scored.append((total, n))
            except RefError as err:
                errs.append(err)
        if errs:
            raise first_error(errs)
        out: list[RState] = []
        if not scored:
            return out
        best = max(t for t, _ in scored)
        hook = next((h for h in s.hooks if h.event == "bind"), None)
        for t, n in scored:
            if t == best:
                st2 = clone(st)
                st2["kinds"][s.pod_kind][p][s.node_field] = n
                if hook is None:
                    out.append(st2)
                    continue
                # `on bind(p, n)`: the same step goes on with the field set; binding the pod
                # to each best node is its own step
                env = {hook.params[0]: (p, s.pod_kind), hook.params[1]: (n, node_kind)}
                try:
                    out.extend(st3 for _, st3 in self.block(hook.body.stmts, env, st2))
                except RefError as err:
                    self.failed.add(err.code)
        return out

    def holds(self, inv: ast.Invariant, st: RState) -> bool:
        return bool(self.eval(inv.expr, {}, st))


def encode(st: RState, layout: Any) -> tuple[int, ...]:
    """The reference state in the compiled layout's flat encoding (the layout is used only for
    positions and enum member numbers)."""
    out = [0] * layout.width

    def enc(ty: Type, v: Any) -> int:
        if isinstance(ty, TBool):
            return 1 if v else 0
        if isinstance(ty, TEnum):
            return layout.enums[ty.name].index(v)
        if isinstance(ty, TRef):
            return -1 if v is None else int(v)
        if isinstance(ty, TSet) and isinstance(v, int):  # a loop's unvisited items, a mask
            return v
        if isinstance(ty, TSet):  # a bit per member (enum) or per slot (kind)
            members = layout.enums.get(ty.elem)
            if members is not None:
                return sum(1 << members.index(m) for m in v)
            return sum(1 << slot for slot in v)
        return int(v)

    flight: dict[str, Any] = {}  # hidden cell name prefix -> key -> locals
    for (actor, aname), keys in st["flight"].items():
        flight[f"{actor}:{aname}"] = keys

    def local(group: str, key: Any, cell: str, ty: Type) -> int:
        entry = flight.get(group, {}).get(key)
        if entry is None:
            return -1 if isinstance(ty, TRef) else 0
        if cell == "step":
            return int(entry["step"])
        v = entry.get(cell)
        if v is None and cell not in entry:
            return -1 if isinstance(ty, TRef) else 0
        return enc(ty, v)

    for var in layout.vars:
        if var.name.endswith("@changed"):  # `unchanged`: the objects written since the copy
            x, _, k = var.name[: -len("@changed")].partition(".")
            out[var.index] = sum(1 << slot for slot in st["changed"][(x, k)])
            continue
        if var.name.endswith("@writes"):  # `seen_own_writes`: controller.kind@writes
            x, _, k = var.name[: -len("@writes")].partition(".")
            out[var.index] = 1 if st["writes"][(x, k)] else 0
            continue
        if "@" in var.name:
            group, cell = var.name.split("@", 1)
            out[var.index] = local(group, None, cell, var.type)
            continue
        out[var.index] = enc(var.type, st["vars"][var.name])
    for b in layout.budgets:
        out[b.index] = st["budgets"][b.fault]
    for k in layout.kinds:
        for slot, obj in st["kinds"][k.name].items():
            base = k.slot_base(slot)
            out[base] = 1
            for f in k.fields:
                if "@" not in f.name:
                    out[base + f.offset] = enc(f.type, obj[f.name])
                elif ":" in f.name:  # a split action's cell, kept with the object
                    group, cell = f.name.split("@", 1)
                    out[base + f.offset] = local(group, slot, cell, f.type)
        for (x, kind), pending in st["pending"].items():
            if kind == k.name:
                for slot in pending:
                    out[k.slot_base(slot) + k.field(f"+add@{x}").offset] = 1
        for (x, kind), w in st["writes"].items():  # a coalesced watch's, per object
            if kind == k.name and isinstance(w, frozenset):
                for slot in w:
                    out[k.slot_base(slot) + k.field(f"+own@{x}").offset] = 1
        for (x, kind), cache in st["caches"].items():
            if kind != k.name:
                continue
            for slot, obj in cache.items():
                base = k.slot_base(slot)
                out[base + k.field(f"@{x}").offset] = 1
                for name, v in obj.items():
                    f = k.field(f"{name}@{x}")
                    out[base + f.offset] = enc(f.type, v)
    return tuple(out)


def enumerate_reachable(sym: Symbols, layout: Any, max_states: int = 200_000) -> ReferenceResult:
    """Breadth-first search without symmetry over reference states."""
    interp = Interpreter(sym)
    result = ReferenceResult(set(), {}, {})
    seen: set[Any] = set()
    queue: deque[tuple[RState, int]] = deque()

    def visit(st: RState, depth: int) -> None:
        key = _freeze(st)
        if key in seen:
            return
        seen.add(key)
        enc = encode(st, layout)
        result.states.add(enc)
        result.depth_of[enc] = depth
        for inv in sym.invariants:
            try:
                ok = interp.holds(inv, st)
            except RefError as err:  # an invariant that cannot be evaluated is violated
                result.errors.add("invariant:" + err.code)
                ok = False
            if not ok and inv.name not in result.violated:
                result.violated[inv.name] = depth
        queue.append((st, depth))

    try:
        inits = interp.initial()
    except RefError as err:
        result.errors.add(err.code)
        inits = []
    for s in inits:
        visit(s, 0)
    while queue:
        if len(seen) > max_states:
            result.truncated = True
            break
        st, depth = queue.popleft()
        nexts, errs = interp.steps(st)
        result.errors |= errs
        for t in nexts:
            visit(t, depth + 1)
    return result
