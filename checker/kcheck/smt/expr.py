"""Expressions of a checked model over Z3 terms (spec/smt.md): each evaluates to a pair (value,
error), the value a Z3 Bool for `bool` and a Z3 Int for everything else (ints, enum indexes,
slot numbers with `none` as -1), the error a Z3 Bool that holds exactly when the compiled code
would raise StepError while evaluating it, honouring the short-circuit order of `and`, `or`,
`implies` and `if` (a binding form evaluates every term: any failing term fails it). Also the
state access (slots, presence, field reads) and the binders' domains that statements share.

What is not encoded is refused with `Unsupported`, never approximated.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import z3  # type: ignore[import-untyped]

from kcheck.lang import ast
from kcheck.lang.symbols import (
    SEEN_BY,
    SEEN_OWN_WRITES,
    UNCHANGED,
    ParamInfo,
    Symbols,
    stale_watches,
)
from kcheck.lang.types import TBool, TEmptySet, TEnum, TInt, TRef, TSet, Type
from kcheck.model.controller_state import (
    Split,
    coalesced_watches,
    own_write_field,
    own_writes_var,
    real_cells,
    splits,
    unsynced_watches,
)
from kcheck.model.env import Local
from kcheck.model.ir import CompiledModel, KindLayout, Layout
from kcheck.model.layout import LocalTypes, dangling_kinds, split_cells
from kcheck.model.typeof import TypeOf
from kcheck.smt import conflicts
from kcheck.smt.intervals import interval
from kcheck.smt.refuse import Unsupported, refuse_concrete_param_uses, refuse_unencoded
from kcheck.smt.sets import Bits
from kcheck.smt.terms import FALSE, TRUE, Env, Term, _and, _ite, _or


class ExprEncoder:
    """Encodes the expressions of one compiled model; construction refuses unsupported models
    up front."""

    def __init__(self, model: CompiledModel, sym: Symbols, symbolic_params: bool = False) -> None:
        self.model = model
        self.sym = sym
        self.layout = model.layout
        self.types = TypeOf(sym)  # the compiled code's types, to agree with it
        self.dangling = dangling_kinds(sym)
        self.var_index = {v.name: v for v in self.layout.vars}
        self.budget_index = {b.fault: b for b in self.layout.budgets}
        self.fails: list[Term] = []
        # what controllers remember (spec/faults.md), as model/controller_state.py finds it
        self.stale = stale_watches(sym)  # controller -> kinds it reads through a cache
        self.coalesced = coalesced_watches(sym)
        self.unsynced = unsynced_watches(sym)
        self.splits = splits(sym)
        self.local_types: LocalTypes = {}  # the carried locals' declared types
        self.split: Split | None = None  # the split action being encoded (smt/stmt.py, Jump)
        for sp in self.splits.values():
            split_cells(sp, self.types, self.local_types)
        # the reading view of the action being encoded: kind -> the controller whose cache of
        # it is read (as the compiled code's ctx.view); empty outside a caching controller
        self.view: dict[str, str] = {}
        self.step_start: tuple[Term, ...] = ()  # the state the step being encoded began in
        # def calls per state and arguments (the state held, so that its id stays its own)
        self._calls: dict[int, tuple[tuple[Term, ...], dict[Any, tuple[Any, Term, Term]]]] = {}
        self.sets = Bits()
        self.set_slots = _set_slots(self.layout)  # state index -> elements of its set
        # slot -> (its term in every fresh state, what stands for its constants): pin()
        self.pinned: dict[int, tuple[Term, list[Term]]] = {}
        self._refuse_up_front()
        # With symbolic params each `param` is one Z3 constant, the same in every state.
        self.params: dict[str, Term] = {}
        if symbolic_params:
            self.params = {n: _param_const(p) for n, p in sym.params.items()}
            refuse_concrete_param_uses(sym)

    # ---- what is refused before anything is encoded
    def _refuse_up_front(self) -> None:
        refuse_unencoded(self.model, self.sym)

    def within_sizes(self, st: tuple[Term, ...]) -> Term:
        """What well-formedness adds with symbolic sizes (smt/sizes.py): nothing here."""
        return TRUE

    # ---- state access
    def fresh_state(self, prefix: str, pin: bool = True) -> tuple[Term, ...]:
        """A state of fresh constants named PREFIX_SLOT; a pinned slot (smt/frozen.py) is its
        value instead, unless `pin` is false."""
        out: list[Term] = []
        for i in range(self.layout.width):
            if pin and i in self.pinned:
                out.append(self.pinned[i][0])
            elif i in self.set_slots:
                out.append(self.sets.fresh(f"{prefix}_{i}", self.set_slots[i][0]))
            else:
                out.append(z3.Int(f"{prefix}_{i}"))
        return tuple(out)

    def pin(self, values: dict[int, int]) -> None:
        """From now on fresh states hold these slots at these values (slot -> value): only for
        slots that hold them in every state asked about (smt/frozen.py). Each pinned slot keeps
        its term and what stands for its constants when terms are renamed from the template."""
        self.pinned = {}
        for i, v in values.items():
            if i in self.set_slots:
                bits = [z3.BoolVal(v >> b & 1 == 1) for b in range(self.set_slots[i][0])]
                self.pinned[i] = (self.sets.mask(bits), bits)
            else:
                self.pinned[i] = (z3.IntVal(v), [z3.IntVal(v)])

    def set_size(self, elem: str) -> int:
        return self.layout.kind(elem).slots if elem in self.sym.kinds else len(self.sym.enums[elem])

    def _set_bits(self, e: ast.Expr, env: Env, st: tuple[Term, ...]) -> tuple[list[Term], Term]:
        """The elements of a set-valued expression as Bools, and its error condition."""
        t = self.type_of(e, env)
        v, err = self.expr(e, env, st)
        n = self.set_size(t.elem) if isinstance(t, TSet) else 0
        return self.sets.bits(v, n), err

    def _present(self, st: tuple[Term, ...], k: KindLayout, slot: int) -> Term:
        return st[k.slot_base(slot)] == 1

    def _pres_off(self, kname: str) -> int:
        """Offset of the presence flag reads of `kname` see: a cached copy's in a view."""
        x = self.view.get(kname)
        return 0 if x is None else self.layout.kind(kname).field(f"@{x}").offset

    def _field_off(self, k: KindLayout, fname: str) -> int:
        x = self.view.get(k.name)
        return k.field(fname if x is None else f"{fname}@{x}").offset

    def _seen(self, st: tuple[Term, ...], k: KindLayout, slot: int) -> Term:
        """Slot `slot` of `k` holds an object in the reading view."""
        return st[k.slot_base(slot) + self._pres_off(k.name)] == 1

    def _visible(self, st: tuple[Term, ...], k: KindLayout, slot: Term) -> Term:
        """`_alive` in the reading view: a cached object, for a kind read through a cache."""
        if z3.is_int_value(slot):
            i = slot.as_long()
            return self._seen(st, k, i) if 0 <= i < k.slots else FALSE
        return _or([_and(slot == i, self._seen(st, k, i)) for i in range(k.slots)])

    def _alive(self, st: tuple[Term, ...], k: KindLayout, slot: Term) -> Term:
        if z3.is_int_value(slot):  # a binder's value: no case split (it keeps terms small)
            i = slot.as_long()
            return self._present(st, k, i) if 0 <= i < k.slots else FALSE
        return _or([_and(slot == i, self._present(st, k, i)) for i in range(k.slots)])

    def _read(self, st: tuple[Term, ...], k: KindLayout, slot: Term, offset: int) -> Term:
        if k.slots == 0:
            return z3.IntVal(0)
        if z3.is_int_value(slot) and 0 <= slot.as_long() < k.slots:
            return st[k.slot_base(slot.as_long()) + offset]
        out = st[k.slot_base(k.slots - 1) + offset]
        for i in range(k.slots - 2, -1, -1):
            out = _ite(slot == i, st[k.slot_base(i) + offset], out)
        return out

    @staticmethod
    def _load(ty: Type, raw: Term) -> Term:
        return raw == 1 if isinstance(ty, TBool) else raw

    @staticmethod
    def _stored(ty: Type, v: Term) -> Term:
        return z3.If(v, z3.IntVal(1), z3.IntVal(0)) if isinstance(ty, TBool) else v

    def _range_err(self, ty: Type, v: Term) -> Term:
        if isinstance(ty, TInt) and ty.lo is not None and ty.hi is not None:
            return z3.Or(v < ty.lo, v > ty.hi)
        return FALSE

    def type_of(self, e: ast.Expr, env: Env) -> Type:
        return self.types.type_of(e, {n: Local("0", t) for n, (_, t) in env.items()})

    # ---- domains of binders: (value, presence condition) per candidate
    def _domain(
        self, b: ast.Binder, env: Env, st: tuple[Term, ...]
    ) -> tuple[Type, list[tuple[int, Term]]]:
        d = b.domain
        if isinstance(d, ast.RangeDomain):
            lo, hi = self._const_int(d.lo, env), self._const_int(d.hi, env)
            if lo is not None and hi is not None:
                return TInt(), [(v, TRUE) for v in range(lo, hi + 1)]
            # Bounds that read the state (or a symbolic param): every value the bounds' types
            # allow is a candidate, present where it lies between them. Exact on every state
            # whose values are within their declared ranges, as every reachable state's are.
            span_lo, span_hi = interval(self, d.lo, env), interval(self, d.hi, env)
            if span_lo is None or span_hi is None:
                raise Unsupported(
                    "a range bound whose values kcheck cannot bound from declared ranges"
                    " (write `x in LO..MAX where x <= e` for `x in LO..e`)",
                    d.span.line,
                )
            lv, _ = self.expr(d.lo, env, st)
            hv, _ = self.expr(d.hi, env, st)
            values = range(span_lo[0], span_hi[1] + 1)
            return TInt(), [(v, _and(lv <= v, z3.IntVal(v) <= hv)) for v in values]
        e = d.expr
        if isinstance(e, ast.Name) and e.id == "bool":
            return TBool(), [(0, TRUE), (1, TRUE)]  # false, true: as the compiled domain
        if isinstance(e, ast.Name) and e.id not in env:
            if e.id in self.sym.kinds:
                k = self.layout.kind(e.id)
                return TRef(e.id), [(i, self._seen(st, k, i)) for i in range(k.slots)]
            if e.id in self.sym.enums:
                return TEnum(e.id), [(i, TRUE) for i in range(len(self.sym.enums[e.id]))]
        t = self.type_of(e, env)
        if isinstance(t, TSet):
            # the set's members, in order (the compiled member test reads only the bit)
            bits, _ = self._set_bits(e, env, st)
            ty: Type = TRef(t.elem) if t.elem in self.sym.kinds else TEnum(t.elem)
            return ty, list(enumerate(bits))
        raise Unsupported("a binder over this domain", d.span.line)

    def _domains_err(self, binders: tuple[ast.Binder, ...], env: Env, st: tuple[Term, ...]) -> Term:
        """Evaluating the binders' set-valued domains raises (they are evaluated first)."""
        errs: list[Term] = []
        for i, b in enumerate(binders):
            earlier = {e.name for e in binders[:i]}
            if earlier & _domain_names(b.domain):  # taken once per value of those before it
                for env2, _, pres in self._combos(binders[:i], env, st):
                    errs.append(_and(pres, self._domain_err(b.domain, env2, st)))
            else:
                errs.append(self._domain_err(b.domain, env, st))
        return _or(errs)

    def _domain_err(self, d: ast.Domain, env: Env, st: tuple[Term, ...]) -> Term:
        if isinstance(d, ast.ExprDomain) and isinstance(self.type_of(d.expr, env), TSet):
            return self._set_bits(d.expr, env, st)[1]
        if isinstance(d, ast.RangeDomain) and st:
            return _or([self.expr(d.lo, env, st)[1], self.expr(d.hi, env, st)[1]])
        return FALSE

    def _const_int(self, e: ast.Expr, env: Env) -> int | None:
        stateful: tuple[type, ...] = (ast.Field, ast.Index, ast.Count, ast.CountAll, ast.Budget)
        stateful += (ast.Quant, ast.Aggregate, ast.SetBuilder)
        for n in ast.walk_nodes(e):  # what reads the state has no constant value
            if isinstance(n, stateful) or (isinstance(n, ast.Call) and n.func in self.sym.defs):
                return None
        try:
            v, err = self.expr(e, env, ())
        except Unsupported:  # it reads a var
            return None
        v, err = z3.simplify(v), z3.simplify(err)
        if z3.is_int_value(v) and z3.is_false(err):
            return int(v.as_long())
        return None

    def _combos(
        self, binders: tuple[ast.Binder, ...], env: Env, st: tuple[Term, ...]
    ) -> Iterator[tuple[Env, tuple[int, ...], Term]]:
        """Every combination of binder values in slot order: its env, values and presence. A
        binder's domain may name the binders before it (`for p in Pod, k in 0..p.max`): it is
        taken for each of their values, as the compiled nested loops take it."""
        if not binders:
            yield dict(env), (), TRUE
            return
        b, rest = binders[0], binders[1:]
        ty, vals = self._domain(b, env, st)
        for v, p in vals:
            env2 = {
                **env,
                b.name: (z3.BoolVal(v == 1) if isinstance(ty, TBool) else z3.IntVal(v), ty),
            }
            for env3, args, pres in self._combos(rest, env2, st):
                yield env3, (v, *args), _and(p, pres)

    # ---- expressions
    def expr(self, e: ast.Expr, env: Env, st: tuple[Term, ...]) -> tuple[Term, Term]:
        """(value, error) of `e` in state `st` (an empty tuple: constants only)."""
        x = self.expr
        match e:
            case ast.IntLit(value=v):
                return z3.IntVal(v), FALSE
            case ast.BoolLit(value=v):
                return z3.BoolVal(v), FALSE
            case ast.NoneLit():
                return z3.IntVal(-1), FALSE
            case ast.Name(id=n):
                if n in env:
                    return env[n][0], FALSE
                if n in self.var_index:
                    if not st:
                        raise Unsupported(f"var `{n}` where a constant is needed", e.span.line)
                    var = self.var_index[n]
                    return self._load(var.type, st[var.index]), FALSE
                if n in self.params:
                    return self.params[n], FALSE
                if n in self.sym.params:
                    p = self.sym.params[n]
                    if isinstance(p.type, TBool):
                        return z3.BoolVal(p.value == 1), FALSE
                    return z3.IntVal(p.value), FALSE
                if n in self.sym.consts:
                    return z3.IntVal(self.sym.consts[n]), FALSE
                if n in self.sym.members:
                    return z3.IntVal(self.sym.members[n][1]), FALSE
                raise Unsupported(f"name `{n}`", e.span.line)
            case ast.Field(obj=o, name=f):
                slot, err, k = self._ref(o, env, st)
                fl = k.field(f)
                off = self._field_off(k, f)
                return self._load(fl.type, self._read(st, k, slot, off)), err
            case ast.Call(func=fn, args=[ast.Name(id=k)]) if (
                fn == SEEN_OWN_WRITES and fn not in self.sym.defs
            ):
                return self._seen_own_writes(self.view[k], k, st), FALSE
            case ast.Call(func=fn, args=[obj]) if fn == UNCHANGED and fn not in self.sym.defs:
                return conflicts.unchanged(self, obj, env, st)
            case ast.Call(func=fn, args=[ast.Name(id=xc), inner]) if (
                fn == SEEN_BY and fn not in self.sym.defs
            ):
                # X's reading view, as in X's actions (model/expr.py seen_by): each read of a
                # kind X caches, of an object bound outside too, is checked against the cache
                saved, self.view = self.view, dict.fromkeys(self.stale.get(xc, ()), xc)
                try:
                    return x(inner, env, st)
                finally:
                    self.view = saved
            case ast.Call(func=fn, args=args):
                return self._call(e, fn, args, env, st)
            case ast.Unary(op="-", operand=o):
                v, err = x(o, env, st)
                return -v, err
            case ast.Unary(op="not", operand=o):
                v, err = x(o, env, st)
                return z3.Not(v), err
            case ast.Binary():
                return self._binary(e, env, st)
            case ast.Quant(quant=q, binders=bs, where=w, body=body):
                # every term is evaluated: the quantifier fails where any term fails, whatever
                # the others say (spec/language.md), so its error is free of slot order
                acc = TRUE if q == "forall" else FALSE
                errs: list[Term] = [self._domains_err(bs, env, st)]
                for env2, _, pres in self._combos(bs, env, st):
                    c, ce = self._cond(pres, w, env2, st)
                    bv, be = x(body, env2, st)
                    errs.append(_or([ce, _and(c, be)]))
                    if q == "forall":
                        acc = _and(acc, z3.Or(z3.Not(c), bv))
                    else:
                        acc = _or([acc, _and(c, bv)])
                return acc, _or(errs)
            case ast.Count(binders=bs, where=w):
                total: Term = z3.IntVal(0)
                errs = [self._domains_err(bs, env, st)]
                for env2, _, pres in self._combos(bs, env, st):
                    c, ce = self._cond(pres, w, env2, st)
                    total = total + z3.If(c, 1, 0)
                    errs.append(ce)
                return total, _or(errs)
            case ast.CountAll(arg=a):
                if isinstance(a, ast.Name) and a.id not in env and a.id in self.sym.kinds:
                    k = self.layout.kind(a.id)
                    off = self._pres_off(a.id)
                    return z3.Sum(
                        [z3.IntVal(0)] + [st[k.slot_base(i) + off] for i in range(k.slots)]
                    ), FALSE
                bits, err = self._set_bits(a, env, st)
                return z3.Sum([z3.IntVal(0)] + [z3.If(b, 1, 0) for b in bits]), err
            case ast.Aggregate(op=op, body=body, binders=bs, where=w):
                val: Term = z3.IntVal(0)
                seen: Term = FALSE
                errs = [self._domains_err(bs, env, st)]
                for env2, _, pres in self._combos(bs, env, st):
                    c, ce = self._cond(pres, w, env2, st)
                    bv, be = x(body, env2, st)
                    errs.append(_or([ce, _and(c, be)]))
                    if op == "sum":
                        val = val + z3.If(c, bv, 0)
                    else:
                        better = bv > val if op == "max" else bv < val
                        val = z3.If(z3.And(c, z3.Or(z3.Not(seen), better)), bv, val)
                        seen = _or([seen, c])
                return val, _or(errs)
            case ast.IfExpr(cond=c, then=a, else_=b):
                cv, ce = x(c, env, st)
                av, ae = x(a, env, st)
                bv, be = x(b, env, st)
                err = _or([ce, z3.If(cv, ae, be)])
                t = self.type_of(e, env)
                if isinstance(t, TSet):
                    size = self.set_size(t.elem)
                    a_bits, b_bits = self.sets.bits(av, size), self.sets.bits(bv, size)
                    both = zip(a_bits, b_bits, strict=True)
                    return self.sets.mask([_ite(cv, p, q) for p, q in both]), err
                return z3.If(cv, av, bv), err
            case ast.SetLit(elems=elems):
                return self._set_literal(e, elems, env, st)
            case ast.SetBuilder(binder=b, where=w):
                t = self.type_of(e, env)
                assert isinstance(t, TSet)
                bits = [FALSE] * self.set_size(t.elem)
                errs = [self._domains_err((b,), env, st)]
                for env2, vals, pres in self._combos((b,), env, st):
                    c, ce = self._cond(pres, w, env2, st)
                    bits[vals[0]] = c
                    errs.append(ce)
                return self.sets.mask(bits), _or(errs)
            case ast.Index(kind=kname, index=i):
                # `K[i]` names slot i of an ordered kind; it raises unless that object lives
                k = self.layout.kind(kname)
                iv, ie = x(i, env, st)
                live = _and(iv >= 0, iv < k.slots, self._visible(st, k, iv))
                return iv, _or([ie, z3.Not(live)])
            case ast.Budget(fault=fault):
                spent = self.budget_index[fault]
                return spent.budget - st[spent.index], FALSE
        raise Unsupported(_construct(e), _line(e))

    def _set_literal(
        self, e: ast.Expr, elems: tuple[ast.Expr, ...], env: Env, st: tuple[Term, ...]
    ) -> tuple[Term, Term]:
        t = self.type_of(e, env)
        if not elems or not isinstance(t, TSet):
            if elems:
                raise Unsupported("a set literal of this element type", _line(e))
            return z3.IntVal(0), FALSE
        vals = [self._element(el, env, st) for el in elems]
        n = self.set_size(t.elem)
        bits = [_or([v == i for v, _ in vals]) for i in range(n)]
        return self.sets.mask(bits), _or([err for _, err in vals])

    def _element(self, el: ast.Expr, env: Env, st: tuple[Term, ...]) -> tuple[Term, Term]:
        """A set literal's element: one that is `none` (`{p.node}`) raises, as the compiled
        model's `_some` does (a set holds objects, never `none`)."""
        v, err = self.expr(el, env, st)
        et = self.type_of(el, env)
        if isinstance(et, TRef) and et.optional:
            return v, _or([err, v < 0])
        return v, err

    def _cond(
        self, pres: Term, where: ast.Expr | None, env: Env, st: tuple[Term, ...]
    ) -> tuple[Term, Term]:
        """`pres and where`, short-circuited: (holds, raises)."""
        if where is None:
            return pres, FALSE
        wv, we = self.expr(where, env, st)
        return _and(pres, wv), _and(pres, we)

    def _ref(
        self, o: ast.Expr, env: Env, st: tuple[Term, ...], target: bool = False
    ) -> tuple[Term, Term, KindLayout]:
        """The slot a reference names, and whether using it raises (`none`, or an object
        deleted, a dangling reference: the compiled code's `_some` and `_deref`; in a
        controller's view, an object not in its cache: `_cached`). The `target` of a write or
        delete by a controller with caches is only checked against `none`: it names what the
        controller knows of, and a write to what is gone is dropped (by the caller)."""
        slot, err = self.expr(o, env, st)  # first: it refuses what is not encoded
        t = self.type_of(o, env)
        if not isinstance(t, TRef):
            raise Unsupported(f"a field read through {_construct(o)}", _line(o))
        k = self.layout.kind(t.kind)
        if target and self.view:
            return slot, _or([err, slot < 0]), k
        if t.kind in self.view:
            return slot, _or([err, z3.Not(self._visible(st, k, slot))]), k
        return slot, _or([err, z3.Not(self._alive(st, k, slot))]), k

    def _seen_own_writes(self, x: str, kname: str, st: tuple[Term, ...]) -> Term:
        """`seen_own_writes(K)` in a step of controller x that started in `step_start`: no
        write of x to K waits for x's informer (model/expr.py seen_own_writes)."""
        k = self.layout.kind(kname)
        own = next((f.offset for f in k.fields if f.name == own_write_field(x)), None)
        if own is None:
            unseen = [st[self.var_index[own_writes_var(x, kname)].index] == 1]
        else:  # a coalesced watch: a flag per object
            unseen = [st[k.slot_base(s) + own] == 1 for s in range(k.slots)]
        same = [self.step_start[i] == st[i] for i in real_cells(self.layout, kname)]
        return _and(z3.Not(_or(unseen)), *same)

    def _call(
        self, e: ast.Expr, fn: str, args: tuple[ast.Expr, ...], env: Env, st: tuple[Term, ...]
    ) -> tuple[Term, Term]:
        vals = [self.expr(a, env, st) for a in args]
        err = _or([ve for _, ve in vals])
        if fn in self.sym.defs:
            d = self.sym.defs[fn]
            denv: Env = {}
            for p, (v, _), a in zip(d.params, vals, args, strict=True):
                pt = self.types.resolve_type(p.type)
                at = self.type_of(a, env)
                if isinstance(pt, TRef) and isinstance(at, TRef) and at.optional:
                    pt = at
                denv[p.name] = (v, pt)
            # A call with the same arguments on the same state is the same term: the scheduler
            # asks `used(n)` for every pod and node, k8s.topology `matching(p, z, eligible)`
            # inside every skew and score. Z3 shares equal terms, so equal arguments are equal
            # ids while the memo holds them (it keeps the arguments for that).
            ids = tuple(v.get_id() for v, _ in vals)
            key = (fn, ids, tuple(t for _, t in denv.values()), tuple(sorted(self.view.items())))
            memo = self._calls.get(id(st))
            if memo is None or memo[0] is not st:
                memo = self._calls[id(st)] = (st, {})
            hit = memo[1].get(key)
            if hit is None:
                bv, be = self.expr(d.body, denv, st)
                hit = memo[1][key] = (tuple(v for v, _ in vals), bv, be)
            return hit[1], _or([err, hit[2]])
        if fn in ("min", "max") and len(vals) == 2:
            a, b = vals[0][0], vals[1][0]
            return (z3.If(a <= b, a, b) if fn == "min" else z3.If(a >= b, a, b)), err
        if fn == "abs" and len(vals) == 1:
            a = vals[0][0]
            return z3.If(a >= 0, a, -a), err
        if fn == "size" and len(args) == 1:
            bits, _ = self._set_bits(args[0], env, st)
            return z3.Sum([z3.IntVal(0)] + [z3.If(b, 1, 0) for b in bits]), err
        if fn == "ceil" and len(vals) == 2:
            a, b = vals[0][0], vals[1][0]
            return -_floordiv(-a, b), _or([err, b == 0])
        raise Unsupported(f"builtin `{fn}`", e.span.line if hasattr(e, "span") else 0)

    def _binary(self, e: ast.Binary, env: Env, st: tuple[Term, ...]) -> tuple[Term, Term]:
        op = e.op
        t = self.type_of(e, env)
        if op in ("|", "&", "-") and isinstance(t, TSet | TEmptySet):
            return self._set_op(e, t, env, st)
        if op == "in" and not isinstance(e.right, ast.SetLit):
            a, ae = self.expr(e.left, env, st)
            bits, be = self._set_bits(e.right, env, st)
            return _or([_and(a == i, b) for i, b in enumerate(bits)]), _or([ae, be])
        if op == "in":
            assert isinstance(e.right, ast.SetLit)
            a, ae = self.expr(e.left, env, st)
            elems = [self._element(el, env, st) for el in e.right.elems]
            return _or([a == v for v, _ in elems]), _or([ae] + [ve for _, ve in elems])
        a, ae = self.expr(e.left, env, st)
        b, be = self.expr(e.right, env, st)
        if op == "and":
            return z3.And(a, b), _or([ae, _and(a, be)])
        if op == "or":
            return z3.Or(a, b), _or([ae, _and(z3.Not(a), be)])
        if op == "implies":
            return z3.Implies(a, b), _or([ae, _and(a, be)])
        err = _or([ae, be])
        match op:
            case "+":
                return a + b, err
            case "-":
                return a - b, err
            case "*":
                return a * b, err
            case "/":
                return _floordiv(a, b), _or([err, b == 0])
            case "%":
                return a - b * _floordiv(a, b), _or([err, b == 0])
            case "==":
                return a == b, err
            case "!=":
                return a != b, err
            case "<":
                return a < b, err
            case "<=":
                return a <= b, err
            case ">":
                return a > b, err
            case ">=":
                return a >= b, err
        raise Unsupported(f"operator `{op}`", e.span.line)

    def _set_op(self, e: ast.Binary, t: Type, env: Env, st: tuple[Term, ...]) -> tuple[Term, Term]:
        if not isinstance(t, TSet):  # `{} | {}` and the like
            _, ae = self.expr(e.left, env, st)
            _, be = self.expr(e.right, env, st)
            return z3.IntVal(0), _or([ae, be])
        n = self.set_size(t.elem)
        a, ae = self.expr(e.left, env, st)
        b, be = self.expr(e.right, env, st)
        pairs = zip(self.sets.bits(a, n), self.sets.bits(b, n), strict=True)
        if e.op == "|":
            bits = [_or([x, y]) for x, y in pairs]
        elif e.op == "&":
            bits = [_and(x, y) for x, y in pairs]
        else:
            bits = [_and(x, z3.Not(y)) for x, y in pairs]
        return self.sets.mask(bits), _or([ae, be])


def _floordiv(a: Term, b: Term) -> Term:
    """Python's `//` (towards minus infinity); SMT-LIB `div` agrees for a positive divisor."""
    return z3.If(b > 0, a / b, (-a) / (-b))


def _construct(e: object) -> str:
    names = {
        "SetLit": "a set literal",
        "SetBuilder": "a set builder",
        "Temporal": "a temporal operator",
        "LeadsTo": "`leads_to`",
    }
    return names.get(type(e).__name__, type(e).__name__)


def _line(node: object) -> int:
    span = getattr(node, "span", ast.NOWHERE)
    return span.line if isinstance(span, ast.Span) else 0


def _domain_names(d: ast.Domain) -> set[str]:
    """The names a binder's domain reads."""
    if isinstance(d, ast.RangeDomain):
        return set(ast.names_in(d.lo)) | set(ast.names_in(d.hi))
    return set(ast.names_in(d.expr))


def _param_const(p: ParamInfo) -> Term:
    return z3.Bool(f"param_{p.name}") if isinstance(p.type, TBool) else z3.Int(f"param_{p.name}")


def _set_slots(layout: Layout) -> dict[int, tuple[int, str]]:
    """State index -> (number of possible elements, element kind or enum), for every set-valued
    var and field slot."""

    def size(elem: str) -> int:
        for k in layout.kinds:
            if k.name == elem:
                return k.slots
        return len(layout.enums[elem])

    out: dict[int, tuple[int, str]] = {}
    for v in layout.vars:
        if isinstance(v.type, TSet):
            out[v.index] = (size(v.type.elem), v.type.elem)
    for k in layout.kinds:
        for f in k.fields:
            if isinstance(f.type, TSet):
                for i in range(k.slots):
                    out[k.slot_base(i) + f.offset] = (size(f.type.elem), f.type.elem)
    return out
