"""A naive reference enumerator for KDSL models: a tree-walking interpreter over dict states.

It shares nothing with the compiler but the parsed, checked symbols. States are plain dicts
(`vars`, spent `budgets`, and per kind `slot -> {field: value}`) with values as Python sees them:
bools, ints, enum member names and `None` or a slot number for references. Only `encode` looks at
the compiled layout, to turn a reference state into the same flat tuple the compiler uses, so the
two reachable sets can be compared exactly.

The subset: ints, bools, enums, kinds with int/enum/bool fields and optional references, vars,
defs, count/forall/exists/sum/min/max, `in` over set literals, create/delete/choose/for/if/assign/
`:= any`/let, controller/process/fault actions with for/where/when, fault budgets, a scheduler's
bind step (filters, weighted scores, ties explored). Anything else raises NotImplementedError.
"""

from __future__ import annotations

import copy
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from kcheck.lang import ast
from kcheck.lang.symbols import Symbols
from kcheck.lang.types import TBool, TEnum, TInt, TRef, TSet, Type


class RefError(Exception):
    """A step left the model's bounds (the reference's StepError)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class _Disabled(Exception):
    """Internal: no candidate for a `choose` (the branch yields nothing)."""


RState = dict[str, Any]


def _freeze(st: RState) -> Any:
    return (
        tuple(sorted(st["vars"].items())),
        tuple(sorted(st["budgets"].items())),
        tuple(
            (k, tuple((slot, tuple(sorted(obj.items()))) for slot, obj in sorted(objs.items())))
            for k, objs in sorted(st["kinds"].items())
        ),
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
        raise NotImplementedError(ty)

    def coerce(self, ty: Type, v: Any) -> Any:
        if isinstance(ty, TBool):
            return bool(v)
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
        if slot not in objs:
            raise RefError("dead")
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
            case ast.Field(obj=o, name=f):
                k = self.kind_of_ref(o, env, st)
                fi = self.sym.kinds[k].field(f)
                assert fi is not None and isinstance(fi.type, TRef)
                return fi.type.kind
        raise NotImplementedError(type(e).__name__)

    def domain(self, d: ast.Domain, env: dict[str, Any], st: RState | None) -> list[Any]:
        """Values of a binder's domain, with the kind each one points into (or None)."""
        if isinstance(d, ast.RangeDomain):
            lo, hi = self.eval(d.lo, env, st), self.eval(d.hi, env, st)
            return [(v, None) for v in range(lo, hi + 1)]
        e = d.expr
        if isinstance(e, ast.Name) and e.id not in env:
            if e.id in self.sym.kinds:
                assert st is not None
                return [(slot, e.id) for slot in sorted(st["kinds"][e.id])]
            if e.id in self.sym.enums:
                return [(m, None) for m in self.sym.enums[e.id]]
        raise NotImplementedError("set domains")

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

    def lazy_bindings(self, binders, where, env, st):  # type: ignore[no-untyped-def]
        """Like `bindings`, but the where clause runs lazily so quantifiers short-circuit."""

        def go(i: int, e: dict[str, Any]):  # type: ignore[no-untyped-def]
            if i == len(binders):
                if where is None or self.eval(where, e, st):
                    yield e
                return
            b = binders[i]
            for v, k in self.domain(b.domain, e, st):
                yield from go(i + 1, {**e, b.name: (v, k)})

        return go(0, env)

    def eval(self, e: ast.Expr, env: dict[str, Any], st: RState | None) -> Any:
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
                        denv[p.name] = (v, kind)
                    return ev(d.body, denv, st)
                if fn == "min":
                    return min(vals)
                if fn == "max":
                    return max(vals)
                if fn == "abs":
                    return abs(vals[0])
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
                    if not isinstance(b, ast.SetLit):
                        raise NotImplementedError("in over a non-literal set")
                    return x in {ev(el, env, st) for el in b.elems}
                y = ev(b, env, st)
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
                gen = (bool(ev(body, e2, st)) for e2 in self.lazy_bindings(bs, w, env, st))
                return all(gen) if q == "forall" else any(gen)
            case ast.Count(binders=bs, where=w):
                return sum(1 for _ in self.lazy_bindings(bs, w, env, st))
            case ast.CountAll(arg=a):
                if isinstance(a, ast.Name) and a.id in self.sym.kinds:
                    assert st is not None
                    return len(st["kinds"][a.id])
                raise NotImplementedError("count of a set")
            case ast.Aggregate(op=op, body=body, binders=bs, where=w):
                vals = [ev(body, e2, st) for e2 in self.lazy_bindings(bs, w, env, st)]
                if op == "sum":
                    return sum(vals)
                if not vals:
                    return 0
                return max(vals) if op == "max" else min(vals)
            case ast.IfExpr(cond=c, then=a, else_=b):
                return ev(a, env, st) if ev(c, env, st) else ev(b, env, st)
        raise NotImplementedError(type(e).__name__)

    # ---- statements: each returns the list of states it can end in
    def lvalue_type(self, lv: ast.LValue, env: dict[str, Any]) -> Type:
        if len(lv.parts) == 1:
            return self.sym.vars[lv.parts[0]].type
        kind = env[lv.parts[0]][1]
        ty: Type = TRef(kind)
        for part in lv.parts[1:]:
            assert isinstance(ty, TRef)
            fi = self.sym.kinds[ty.kind].field(part)
            assert fi is not None
            ty = fi.type
        return ty

    def store(self, lv: ast.LValue, value: Any, env: dict[str, Any], st: RState) -> None:
        ty = self.lvalue_type(lv, env)
        if len(lv.parts) == 1:
            st["vars"][lv.parts[0]] = self.check_store(ty, value)
            return
        slot, kind = env[lv.parts[0]]
        target = self.obj(st, kind, slot)
        for part in lv.parts[1:-1]:
            fi = self.sym.kinds[kind].field(part)
            assert fi is not None and isinstance(fi.type, TRef)
            kind = fi.type.kind
            target = self.obj(st, kind, target[part])
        target[lv.parts[-1]] = self.check_store(ty, value)

    def create(self, c: ast.Create, env: dict[str, Any], st: RState) -> int:
        info = self.sym.kinds[c.kind]
        given = {fi.name: fi.value for fi in c.fields}
        values: dict[str, Any] = {}
        for f in info.fields:
            if f.name in given:
                values[f.name] = self.eval(given[f.name], env, st)
            else:
                values[f.name] = self.default(f.type, f.default)
        objs = st["kinds"][c.kind]
        free = [i for i in range(info.size) if i not in objs]
        if not free:
            raise RefError("no-free-slot")
        slot = free[0]
        objs[slot] = {}
        for f in info.fields:
            objs[slot][f.name] = self.check_store(f.type, values[f.name])
        return slot

    def delete(self, kind: str, slot: int, st: RState) -> None:
        del st["kinds"][kind][slot]
        for name, v in self.sym.vars.items():
            if isinstance(v.type, TRef) and v.type.kind == kind and st["vars"][name] == slot:
                if not v.type.optional:
                    raise RefError("dangling")
                st["vars"][name] = None
        for kname, info in self.sym.kinds.items():
            for f in info.fields:
                if isinstance(f.type, TSet):
                    raise NotImplementedError("set fields")
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
                    st2 = copy.deepcopy(st)
                    self.store(lv, v, env, st2)
                    out.extend(self.block(rest, env, st2))
                return out
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
                for e2 in self.bindings(bs, w, env, st):
                    st2 = copy.deepcopy(st)
                    for _, st3 in self.block(body.stmts, e2, st2):
                        out.extend(self.block(rest, env, st3))
                return out
            case ast.For(binders=bs, where=w, body=body):
                items = self.bindings(bs, w, env, st)
                for e2 in items:
                    # an object deleted earlier in the loop is skipped
                    if any(
                        k is not None and v not in st["kinds"][k]
                        for name, (v, k) in e2.items()
                        if name not in env
                    ):
                        continue
                    ends = self.block(body.stmts, e2, st)
                    assert len(ends) == 1, "a for body is deterministic"
                    st = ends[0][1]
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
        raise NotImplementedError(type(first).__name__)

    # ---- the transition relation
    def initial(self) -> list[RState]:
        st: RState = {
            "vars": {
                n: self.coerce(v.type, self.eval(v.decl.init, {}, None))
                for n, v in self.sym.vars.items()
            },
            "budgets": {f.name: 0 for f in self.faults},
            "kinds": {k: {} for k in self.sym.kinds},
        }
        stmts = tuple(s for i in self.sym.inits for s in i.body.stmts)
        return [s for _, s in self.block(stmts, {}, st)]

    def steps(self, st: RState) -> tuple[list[RState], set[str]]:
        """Every successor of `st`, and the codes of the steps that failed. An action instance
        whose step fails contributes no successor."""
        out: list[RState] = []
        errors: set[str] = set()
        for actor in self.sym.actors:
            if isinstance(actor, ast.Scheduler):
                try:
                    out.extend(self.schedule(actor, st))
                except RefError as err:
                    errors.add(err.code)
            budget = None
            if isinstance(actor, ast.Fault):
                budget = int(self.eval(actor.budget, {}, None))
            for a in actor.actions:
                try:
                    instances = list(self.lazy_bindings(a.binders, a.where, {}, st))
                except RefError as err:
                    errors.add(err.code)
                    continue
                for env in instances:
                    try:
                        if a.when is not None and not self.eval(a.when, env, st):
                            continue
                        if budget is not None and st["budgets"][actor.name] >= budget:
                            continue
                        st2 = copy.deepcopy(st)
                        if budget is not None:
                            st2["budgets"][actor.name] += 1
                        out.extend(s for _, s in self.block(a.body.stmts, env, st2))
                    except RefError as err:
                        errors.add(err.code)
        return out, errors

    def schedule(self, s: ast.Scheduler, st: RState) -> list[RState]:
        pod_info = self.sym.kinds[s.pod_kind]
        bf = pod_info.field(s.node_field)
        assert bf is not None and isinstance(bf.type, TRef)
        node_kind = bf.type.kind
        out = []
        for p, pod in sorted(st["kinds"][s.pod_kind].items()):
            if pod[s.node_field] is not None:
                continue
            scored: list[tuple[int, int]] = []
            for n in sorted(st["kinds"][node_kind]):
                ok = True
                for f in s.filters:
                    env = {f.pod: (p, s.pod_kind), f.node: (n, node_kind)}
                    if not self.eval(f.expr, env, st):
                        ok = False
                        break
                if not ok:
                    continue
                total = 0
                for sc in s.scores:
                    env = {sc.pod: (p, s.pod_kind), sc.node: (n, node_kind)}
                    w = self.eval(sc.weight, {}, None) if sc.weight is not None else 1
                    total += w * self.eval(sc.expr, env, st)
                scored.append((total, n))
            if not scored:
                continue
            best = max(t for t, _ in scored)
            for t, n in scored:
                if t == best:
                    st2 = copy.deepcopy(st)
                    st2["kinds"][s.pod_kind][p][s.node_field] = n
                    out.append(st2)
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
        return int(v)

    for var in layout.vars:
        out[var.index] = enc(var.type, st["vars"][var.name])
    for b in layout.budgets:
        out[b.index] = st["budgets"][b.fault]
    for k in layout.kinds:
        for slot, obj in st["kinds"][k.name].items():
            base = k.slot_base(slot)
            out[base] = 1
            for f in k.fields:
                out[base + f.offset] = enc(f.type, obj[f.name])
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
            except RefError as err:
                result.errors.add("invariant:" + err.code)
                continue
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
