"""Statements of a checked model over Z3 terms (spec/smt.md): a statement maps each branch (a
way through the step so far: when it completes, the state it leaves, its local names) to the
branches after it, one per `choose` candidate or `any` value; every condition under which it
raises is recorded in `fails` (a failing step is not a transition, exactly as in
`CompiledModel.labelled_successors`). `create`, `delete` and `for` follow the compiled code slot
for slot."""

from __future__ import annotations

import z3  # type: ignore[import-untyped]

from kcheck.lang import ast
from kcheck.lang.keys import key_fields
from kcheck.lang.types import TInt, TRef, TSet, Type
from kcheck.model.ir import KindLayout
from kcheck.model.typeof import zero_value
from kcheck.smt import controllers
from kcheck.smt.expr import ExprEncoder, _line
from kcheck.smt.refuse import Unsupported
from kcheck.smt.terms import FALSE, TRUE, Branch, Env, Term, _and, _ite, _or


class StmtEncoder(ExprEncoder):
    """Encodes the statements of one compiled model, over its expressions."""

    def _fail(self, ok: Term, err: Term) -> Term:
        """Record that the step raises where `ok and err`; the path goes on where it does not."""
        if not z3.is_false(err):
            self.fails.append(_and(ok, err))
        return _and(ok, z3.Not(err)) if not z3.is_false(err) else ok

    def block(self, stmts: tuple[ast.Stmt, ...], branches: list[Branch]) -> list[Branch]:
        for s in stmts:
            out: list[Branch] = []
            for br in branches:
                out.extend(self.stmt(s, br))
            branches = out
        return branches

    def stmt(self, s: ast.Stmt, br: Branch) -> list[Branch]:
        ok, st, env = br.ok, br.state, br.env
        match s:
            case ast.Assign(target=t, value=v):
                val, ve = self.expr(v, env, st)
                ok = self._fail(ok, ve)
                return [self._assign(t, val, ok, st, env)]
            case ast.AssignAny(target=t, domain=d):
                return self._assign_any(s, t, d, br)
            case ast.CreateStmt(create=c, otherwise=orelse) if orelse is not None:
                return self._create_else(c, orelse, br)
            case ast.CreateStmt(create=c):
                ok, st, _ = self._create(c, ok, st, env)
                return [Branch(ok, st, env)]
            case ast.Let(name=n, value=v):
                if isinstance(v, ast.Create):
                    ok, st, slot = self._create(v, ok, st, env)
                    return [Branch(ok, st, {**env, n: (slot, TRef(v.kind))})]
                val, ve = self.expr(v, env, st)
                ok = self._fail(ok, ve)
                return [Branch(ok, st, {**env, n: (val, self.type_of(v, env))})]
            case ast.Delete(target=t):
                return [self._delete(t, ok, st, env)]
            case ast.Choose(binders=bs, where=w, body=body):
                ok = self._fail(ok, self._domains_err(bs, env, st))
                out: list[Branch] = []
                for env2, _, pres in self._combos(bs, env, st):
                    c_ok = _and(ok, pres)
                    if w is not None:
                        wv, we = self.expr(w, env2, st)
                        c_ok = _and(self._fail(c_ok, we), wv)
                    for b2 in self.block(body.stmts, [Branch(c_ok, st, env2)]):
                        out.append(Branch(b2.ok, b2.state, env))
                return out
            case ast.For(binders=bs, where=w, body=body):
                return [self._for(s, bs, w, body, br)]
            case ast.Restart(controller=x):
                return [Branch(ok, controllers.restart(self, x, st, self.local_types), env)]
            case ast.Jump(target=j) if self.split is not None and self.split.lowered is not None:
                # the path's step ends here (lang/steps.py): nothing follows a Jump
                live = self.split.lowered.needs[j] if j else ()
                st = controllers.jump(self, self.split, j, live, env, st, self.local_types)
                return [Branch(ok, st, env)]
            case ast.If(cond=c, then=tb, else_=eb):
                cv, ce = self.expr(c, env, st)
                ok = self._fail(ok, ce)
                then = self.block(tb.stmts, [Branch(_and(ok, cv), st, env)])
                other = self.block(_else_stmts(eb), [Branch(_and(ok, z3.Not(cv)), st, env)])
                if len(then) == 1 and len(other) == 1:
                    a, b = then[0], other[0]
                    merged = tuple(_ite(cv, x, y) for x, y in zip(a.state, b.state, strict=True))
                    return [Branch(_or([a.ok, b.ok]), merged, env)]
                return [Branch(b.ok, b.state, env) for b in [*then, *other]]
        raise Unsupported(f"statement {type(s).__name__}", _line(s))

    def _assign(self, t: ast.LValue, val: Term, ok: Term, st: tuple[Term, ...], env: Env) -> Branch:
        if len(t.parts) == 1:
            var = self.var_index[t.parts[0]]
            ok = self._fail(ok, self._range_err(var.type, val))
            new = list(st)
            new[var.index] = self._stored(var.type, val)
            return Branch(ok, tuple(new), env)
        obj: ast.Expr = t.base()
        for part in t.parts[1:-1]:
            obj = ast.Field(obj, part, t.span, t.span)
        k = self.layout.kind(self._kind_of(obj, env))
        f = k.field(t.parts[-1])
        slot, se, _ = self._ref(obj, env, st, target=True)
        ok = self._fail(ok, se)
        # a controller with caches writes to what is gone as the apiserver answers (NotFound):
        # nothing changes and the value is not range-checked (the compiled `_if_live`)
        lands = [_and(slot == i, self._present(st, k, i) if self.view else TRUE)
                 for i in range(k.slots)]  # fmt: skip
        ok = self._fail(ok, _and(_or(lands), self._range_err(f.type, val)))
        new = list(st)
        stored = self._stored(f.type, val)
        for i in range(k.slots):
            idx = k.slot_base(i) + f.offset
            new[idx] = _ite(lands[i], stored, st[idx])
        return Branch(ok, tuple(new), env)

    def _kind_of(self, obj: ast.Expr, env: Env) -> str:
        t = self.type_of(obj, env)
        assert isinstance(t, TRef), t
        return t.kind

    def _assign_any(
        self, s: ast.AssignAny, t: ast.LValue, d: ast.Domain, br: Branch
    ) -> list[Branch]:
        ok, st, env = br.ok, br.state, br.env
        if isinstance(d, ast.RangeDomain):
            lo, le = self.expr(d.lo, env, st)
            hi, he = self.expr(d.hi, env, st)
            ok = self._fail(ok, _or([le, he]))
            if len(t.parts) == 1:
                ty = self.var_index[t.parts[0]].type
            else:
                obj: ast.Expr = t.base()
                for part in t.parts[1:-1]:
                    obj = ast.Field(obj, part, t.span, t.span)
                ty = self.layout.kind(self._kind_of(obj, env)).field(t.parts[-1]).type
            if not (isinstance(ty, TInt) and ty.lo is not None and ty.hi is not None):
                raise Unsupported("`any` over a range into an unbounded target", s.span.line)
            # Values outside the target's range fail one by one (a range error each); only
            # values inside it can be successors, so they are the only branches. A write that
            # a controller with caches makes to an object already gone changes nothing and
            # fails for no value: one branch, the state as it was.
            gone = FALSE
            if self.view and len(t.parts) > 1:
                obj_slot, oe, ok_ = self._ref(obj, env, st, target=True)
                ok = self._fail(_and(ok, lo <= hi), oe)  # read once there is a value
                gone = z3.Not(_or([_and(obj_slot == i, self._present(st, ok_, i))
                                   for i in range(ok_.slots)]))  # fmt: skip
            outside = z3.And(lo <= hi, z3.Or(lo < ty.lo, hi > ty.hi), z3.Not(gone))
            self._fail(ok, outside)
            out: list[Branch] = []
            if not z3.is_false(gone):
                out.append(Branch(_and(ok, gone, lo <= hi), st, env))
                ok = _and(ok, z3.Not(gone))
            for v in range(ty.lo, ty.hi + 1):
                val = z3.IntVal(v)
                out.append(self._assign(t, val, _and(ok, lo <= val, val <= hi), st, env))
            return out
        binder = ast.Binder("_any", d, span=d.span)
        ok = self._fail(ok, self._domains_err((binder,), env, st))
        out = []
        for env2, _, pres in self._combos((binder,), env, st):
            out.append(self._assign(t, env2["_any"][0], _and(ok, pres), st, env))
        return out

    def _create_else(self, c: ast.Create, other: ast.Block, br: Branch) -> list[Branch]:
        """`create K { ... } else { ... }`: the else block on the state as it was where a live
        K has the new name (as the compiled code), the create where none has."""
        taken: list[Term] = []
        ok, st, _ = self._create(c, br.ok, br.state, br.env, taken)
        made = [Branch(ok, st, br.env)]
        if not taken:  # no key: the checker refuses the `else`; nothing can be taken
            return made
        ok_values, is_taken = taken
        other_brs = self.block(other.stmts, [Branch(_and(ok_values, is_taken), br.state, br.env)])
        if len(other_brs) == 1:
            b = other_brs[0]
            merged = tuple(_ite(is_taken, x, y) for x, y in zip(b.state, st, strict=True))
            return [Branch(_or([b.ok, ok]), merged, br.env)]
        return [*(Branch(b.ok, b.state, br.env) for b in other_brs), *made]

    def _name_taken(self, k: KindLayout, names: tuple[str, ...], values: dict[int, Term],
                    st: tuple[Term, ...]) -> Term:  # fmt: skip
        """A live (real, not cached) object of `k` has the key values about to be stored."""
        offs = [k.field(n).offset for n in names]
        return _or([
            _and(self._present(st, k, i), *(st[k.slot_base(i) + o] == values[o] for o in offs))
            for i in range(k.slots)
        ])  # fmt: skip

    def _create(
        self,
        c: ast.Create,
        ok: Term,
        st: tuple[Term, ...],
        env: Env,
        handled: list[Term] | None = None,
    ) -> tuple[Term, tuple[Term, ...], Term]:
        """The create's (ok, state, slot). A taken name (a key field's) fails the step, or,
        when `handled` is given, is appended to it with the ok before the name check, and
        the returned ok excludes it."""
        kinfo = self.sym.kinds[c.kind]
        k = self.layout.kind(c.kind)
        given = {fi.name: fi.value for fi in c.fields}
        values: list[tuple[int, Term]] = []  # (offset, value) of each field create writes
        range_errs: list[Term] = []
        for f in k.fields:
            if f.hidden:  # a cache's copy is not written; an in-flight reference is idle
                if f.presence == 0 and isinstance(f.type, TRef):
                    values.append((f.offset, z3.IntVal(-1)))
                continue
            finfo = kinfo.field(f.name)
            assert finfo is not None
            if f.name in given:
                v, ve = self.expr(given[f.name], env, st)
                ok = self._fail(ok, ve)
                range_errs.append(self._range_err(f.type, v))
                values.append((f.offset, self._stored(f.type, v)))
            else:
                # a default may name a param, so it is range-checked like a given value
                v = self._default(f.type, finfo.default)
                range_errs.append(self._range_err(f.type, v))
                values.append((f.offset, v))
        names = key_fields(kinfo)
        if names:
            taken = self._name_taken(k, names, dict(values), st)
            if handled is None:
                ok = self._fail(ok, taken)
            else:
                handled.extend([ok, taken])
                ok = _and(ok, z3.Not(taken))
        # as the compiled _free_K: the lowest slot free now and when the step began, else the
        # lowest free now (one freed during the step)
        before = self.step_start
        fresh: Term = z3.IntVal(-1)
        reused: Term = z3.IntVal(-1)
        for i in range(k.slots - 1, -1, -1):
            free_now = _and(z3.Not(self._taken(st, k, i)), z3.Not(self._named(st, k.name, i)))
            was_free = (
                _and(z3.Not(self._taken(before, k, i)), z3.Not(self._named(before, k.name, i)))
                if before
                else TRUE
            )
            fresh = _ite(_and(free_now, was_free), z3.IntVal(i), fresh)
            reused = _ite(free_now, z3.IntVal(i), reused)
        slot: Term = _ite(fresh >= 0, fresh, reused)
        ok = self._fail(ok, self._no_slot(k.name, slot))
        ok = self._fail(ok, _or(range_errs))
        new = list(st)
        for i in range(k.slots):
            b = k.slot_base(i)
            here = slot == i
            new[b] = _ite(here, z3.IntVal(1), st[b])
            for o, v in values:
                new[b + o] = _ite(here, v, st[b + o])
        return ok, tuple(new), slot

    def _no_slot(self, kind: str, slot: Term) -> Term:
        """`create` finds no free slot (smt/sizes.py also fails past a symbolic size)."""
        return slot < 0

    def _taken(self, st: tuple[Term, ...], k: KindLayout, i: int) -> Term:
        """Slot i of `k` holds an object, or a cache remembers one there (the compiled
        _free_K: Kubernetes never reuses a UID)."""
        flags = [0, *(f.offset for f in k.fields if f.name.startswith("@"))]
        return _or([st[k.slot_base(i) + o] == 1 for o in flags])

    def _named(self, st: tuple[Term, ...], kind: str, i: int) -> Term:
        """A reference names slot i of `kind` while it is free, so `create` never takes it (as
        the compiled _free_K): a real one (a field of a live object, a var, a set) only of kinds
        where one can dangle (layout.dangling_kinds); one in a cache's copy of an object, of
        every kind, while that copy is cached."""
        real = kind in self.dangling
        out: list[Term] = []
        for v in self.layout.vars if real else ():
            if isinstance(v.type, TRef) and v.type.kind == kind:
                out.append(st[v.index] == i)
            elif isinstance(v.type, TSet) and v.type.elem == kind:
                out.append(self.sets.bits(st[v.index], self.set_size(kind))[i])
        for j in self.layout.kinds:
            for f in j.fields:
                refs = isinstance(f.type, TRef) and f.type.kind == kind
                sets = isinstance(f.type, TSet) and f.type.elem == kind
                if not (refs or sets) or not (real or f.presence != 0):
                    continue
                for slot in range(j.slots):
                    value = st[j.slot_base(slot) + f.offset]
                    here = value == i if refs else self.sets.bits(value, self.set_size(kind))[i]
                    out.append(_and(st[j.slot_base(slot) + f.presence] == 1, here))
        return _or(out)

    def _delete(self, t: ast.Expr, ok: Term, st: tuple[Term, ...], env: Env) -> Branch:
        slot, se, k = self._ref(t, env, st, target=True)
        ok = self._fail(ok, se)
        # a controller with caches may delete what is already gone: NotFound, nothing changes
        hits = [_and(slot == i, self._present(st, k, i) if self.view else TRUE)
                for i in range(k.slots)]  # fmt: skip
        doing = _or(hits)
        kept = {f.offset for f in k.fields if f.presence != 0}  # caches keep their copy
        new = list(st)
        for i in range(k.slots):
            for o in range(k.stride):
                if o not in kept:
                    idx = k.slot_base(i) + o
                    new[idx] = _ite(hits[i], z3.IntVal(0), st[idx])
        dangling: list[Term] = []
        for v in self.layout.vars:
            if isinstance(v.type, TRef) and v.type.kind == k.name:
                here = _and(doing, new[v.index] == slot)
                if v.type.optional:
                    new[v.index] = _ite(here, z3.IntVal(-1), new[v.index])
                else:
                    dangling.append(here)
        for j in self.layout.kinds:
            for f in j.fields:
                if not (isinstance(f.type, TRef) and f.type.kind == k.name) or f.presence != 0:
                    continue
                for i in range(j.slots):
                    idx = j.slot_base(i) + f.offset
                    here = _and(doing, new[j.slot_base(i)] == 1, new[idx] == slot)
                    if f.type.optional:
                        new[idx] = _ite(here, z3.IntVal(-1), new[idx])
                    else:
                        dangling.append(here)
        # and every set of this kind loses the object (free slots hold the empty set)
        for idx, elem in self._set_sites(k.name):
            n = self.set_size(elem)
            bits = self.sets.bits(new[idx], n)
            new[idx] = self.sets.mask([_and(b, z3.Not(hits[i])) for i, b in enumerate(bits)])
        ok = self._fail(ok, _or(dangling))
        return Branch(ok, tuple(new), env)

    def _set_sites(self, kind: str) -> list[tuple[int, str]]:
        """The state indexes of every real set of objects of `kind`, vars and fields (a cache's
        copy keeps its sets as they were)."""
        cached = {
            j.slot_base(i) + f.offset
            for j in self.layout.kinds
            for f in j.fields
            if f.presence != 0
            for i in range(j.slots)
        }
        return [
            (i, kind) for i, (_, elem) in self.set_slots.items() if elem == kind and i not in cached
        ]

    def _for(
        self,
        s: ast.For,
        bs: tuple[ast.Binder, ...],
        w: ast.Expr | None,
        body: ast.Block,
        br: Branch,
    ) -> Branch:
        ok, st, env = br.ok, br.state, br.env
        ok = self._fail(ok, self._domains_err(bs, env, st))
        # The objects matching at loop entry, in slot order; one deleted meanwhile is skipped.
        items: list[tuple[Env, Term]] = []
        for env2, _, pres in self._combos(bs, env, st):
            c, ce = self._cond(pres, w, env2, st)
            ok = self._fail(ok, ce)
            items.append((env2, c))
        for env2, c in items:
            still = [
                self._visible(st, self.layout.kind(t.kind), v)
                for v, t in (env2[b.name] for b in bs)
                if isinstance(t, TRef)
            ]
            run = _and(c, *still)
            done = self.block(body.stmts, [Branch(_and(ok, run), st, env2)])
            if len(done) != 1:
                raise Unsupported("nondeterminism inside `for`", s.span.line)
            d = done[0]
            st = tuple(_ite(run, x, y) for x, y in zip(d.state, st, strict=True))
            ok = _or([d.ok, _and(ok, z3.Not(run))])
        return Branch(ok, st, env)

    def _default(self, ty: Type, default: ast.Expr | None) -> Term:
        """A field's declared default (which may name a param), else the type's."""
        if default is None:
            return z3.IntVal(zero_value(ty))
        v, _ = self.expr(default, {}, ())
        return self._stored(ty, v)


def _else_stmts(eb: ast.Block | ast.If | None) -> tuple[ast.Stmt, ...]:
    if eb is None:
        return ()
    if isinstance(eb, ast.If):
        return (eb,)
    return eb.stmts
