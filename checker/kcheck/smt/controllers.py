"""What controllers remember, over Z3 terms (spec/faults.md, spec/smt.md): the copies of informer
caches, their sync steps and handlers' deliveries, the cells of actions split by `step`, and
`restart`. The state is the compiled layout's, hidden cells (names with `@`) included, and each
function here is the Z3 image of one in model/controller_codegen.py, slot for slot: the
Z3 engines and the explicit one step through the same states."""

from __future__ import annotations

import z3  # type: ignore[import-untyped]

from kcheck.lang import ast
from kcheck.lang.types import TRef, Type
from kcheck.model.controller_state import Split, own_write_field, own_writes_var, real_cells
from kcheck.model.ir import KindLayout
from kcheck.smt import conflicts
from kcheck.smt.expr import ExprEncoder
from kcheck.smt.terms import FALSE, TRUE, Env, Term, _and, _ite, _or

State = tuple[Term, ...]


def _blocks(enc: ExprEncoder, x: str, k: KindLayout, slot: int) -> tuple[int, int, int]:
    """(index of slot's real block, index of x's cached copy of it, length of each): the
    presence flag and the model's own fields."""
    n = sum(1 for f in k.fields if not f.hidden)
    b = k.slot_base(slot)
    return b, b + k.field(f"@{x}").offset, n + 1


def differs(enc: ExprEncoder, x: str, k: KindLayout, slot: int, st: State) -> Term:
    """x's cached copy of the object in `slot` is not the real one."""
    real, cached, n = _blocks(enc, x, k, slot)
    return _or([st[real + o] != st[cached + o] for o in range(n)])


def refresh(enc: ExprEncoder, x: str, kname: str, st: State) -> State:
    """x's informer for `kname` has caught up: every cached copy is the real object."""
    k = enc.layout.kind(kname)
    new = list(st)
    for slot in range(k.slots):
        real, cached, n = _blocks(enc, x, k, slot)
        new[cached : cached + n] = st[real : real + n]
    return tuple(new)


def add_offset(enc: ExprEncoder, x: str, kname: str) -> int | None:
    """The offset of the flag "x's handler has yet to hear this object's initial add"."""
    k = enc.layout.kind(kname)
    return next((f.offset for f in k.fields if f.name == f"+add@{x}"), None)


def announce(enc: ExprEncoder, x: str, kname: str, st: State) -> State:
    """x's coalesced cache of `kname` has just listed every object: its handler is yet to hear
    one add per object (nothing for another watch)."""
    add = add_offset(enc, x, kname)
    if add is None:
        return st
    k = enc.layout.kind(kname)
    new = list(st)
    for slot in range(k.slots):
        new[k.slot_base(slot) + add] = st[k.slot_base(slot)]
    return tuple(new)


def start(enc: ExprEncoder, st: State) -> State:
    """After `init`: every cache not `unsynced` holds the real objects (WaitForCacheSync)."""
    for x, kinds in enc.stale.items():
        for kname in kinds:
            if (x, kname) not in enc.unsynced:
                st = announce(enc, x, kname, refresh(enc, x, kname, st))
    return st


def own_writes_flag(enc: ExprEncoder, x: str, kname: str) -> int | None:
    """The index of x's "a write of mine to K is not cached yet" flag, if the model asks
    `seen_own_writes(K)` in x (controller_codegen.own_writes)."""
    v = enc.var_index.get(own_writes_var(x, kname))
    return None if v is None else v.index


def own_field(enc: ExprEncoder, x: str, kname: str) -> int | None:
    """The offset of x's per-object flag "a write of mine is not delivered yet", if the model
    asks `seen_own_writes(K)` in x and x watches K coalesced (controller_codegen.own_fields)."""
    k = enc.layout.kind(kname)
    return next((f.offset for f in k.fields if f.name == own_write_field(x)), None)


def _set_own(
    enc: ExprEncoder, x: str, kname: str, st: State, value: Term, where: list[Term]
) -> State:
    """Set x's per-object own-write flag of every slot where `where[slot]` holds."""
    own = own_field(enc, x, kname)
    if own is None:
        return st
    k = enc.layout.kind(kname)
    new = list(st)
    for slot in range(k.slots):
        i = k.slot_base(slot) + own
        new[i] = _ite(where[slot], value, st[i])
    return tuple(new)


def forget_gone_writes(enc: ExprEncoder, st: State) -> State:
    """The end of any step: an object gone from the apiserver and from a coalesced cache has
    no notification left to deliver, so no write of its own waits (controller_codegen)."""
    for x, kinds in enc.stale.items():
        for kname in kinds:
            own = own_field(enc, x, kname)
            if own is None:
                continue
            k = enc.layout.kind(kname)
            cached = k.field(f"@{x}").offset
            gone = [
                _and(st[k.slot_base(s)] == 0, st[k.slot_base(s) + cached] == 0)
                for s in range(k.slots)
            ]
            st = _set_own(enc, x, kname, st, z3.IntVal(0), gone)
    return st


def sync(enc: ExprEncoder, x: str, kname: str, st: State) -> tuple[Term, State]:
    """`x.sync@K`: (enabled, state after): enabled while the cache differs anywhere, or a
    write of x's own is still to come (a write that left the objects as cached), or an object
    changed since the cache copied it (put back as cached: its version still moved)."""
    k = enc.layout.kind(kname)
    ok = _or([differs(enc, x, k, slot, st) for slot in range(k.slots)])
    after = conflicts.forget(enc, x, kname, refresh(enc, x, kname, st))
    changed = conflicts.changed_index(enc, x, kname)
    if changed is not None:
        ok = _or([ok, *enc.sets.bits(st[changed], k.slots)])
    flag = own_writes_flag(enc, x, kname)
    if flag is not None:
        ok = _or([ok, st[flag] == 1])
        after = (*after[:flag], z3.IntVal(0), *after[flag + 1 :])
    return ok, after


def unchanged(enc: ExprEncoder, kname: str, before: State, after: State) -> Term:
    """K's real objects (presence and model fields) are the same in both states."""
    return _and(*[before[i] == after[i] for i in real_cells(enc.layout, kname)])


def note_own_writes(enc: ExprEncoder, x: str, start: State, state: State) -> State:
    """The end of a step of controller x: where it changed K's objects, its cache of K has
    a write of its own to catch up with (controller_codegen.note_own_writes)."""
    new = list(state)
    for kname in enc.stale.get(x, ()):
        flag = own_writes_flag(enc, x, kname)
        if flag is not None:
            new[flag] = _ite(unchanged(enc, kname, start, state), state[flag], z3.IntVal(1))
    out = tuple(new)
    for kname in enc.stale.get(x, ()):  # coalesced: per object changed, unless gone and uncached
        if own_field(enc, x, kname) is None:
            continue
        k = enc.layout.kind(kname)
        cached = k.field(f"@{x}").offset
        n = sum(1 for f in k.fields if not f.hidden)
        wrote = []
        for s in range(k.slots):
            b = k.slot_base(s)
            same = _and(
                *[start[j] == state[j] for j in range(b, b + n + 1) if not start[j].eq(state[j])]
            )
            left = _or([state[b] == 1, state[b + cached] == 1])
            wrote.append(FALSE if z3.is_true(same) else _and(z3.Not(same), left))
        out = _set_own(enc, x, kname, out, z3.IntVal(1), wrote)
    return out


def news(enc: ExprEncoder, x: str, kname: str, slot: int, st: State) -> Term:
    """x's handler has a notification about the object in `slot`: its cached copy differs
    from the real one, or its initial add is still to be heard."""
    k = enc.layout.kind(kname)
    add = add_offset(enc, x, kname)
    pending = st[k.slot_base(slot) + add] == 1 if add is not None else FALSE
    own = own_field(enc, x, kname)  # a write of x's own is still to be delivered
    mine = st[k.slot_base(slot) + own] == 1 if own is not None else FALSE
    return _or([mine, pending, differs(enc, x, k, slot, st)])


def deliver(enc: ExprEncoder, x: str, kname: str, slot: int, st: State) -> State:
    """The notification delivers the object's latest state (or its absence) to the cache."""
    k = enc.layout.kind(kname)
    real, cached, n = _blocks(enc, x, k, slot)
    new = list(st)
    new[cached : cached + n] = st[real : real + n]
    for off in (add_offset(enc, x, kname), own_field(enc, x, kname)):
        if off is not None:  # its initial add heard; its latest state holds every write
            new[k.slot_base(slot) + off] = z3.IntVal(0)
    return tuple(new)


def _cells(
    enc: ExprEncoder, sp: Split, local_types: dict[tuple[str, str], Type]
) -> list[tuple[str, Term]]:
    """A split action's hidden cells, each with its idle value."""
    out: list[tuple[str, Term]] = [("@step", z3.IntVal(0))]
    for n in sp.carried:
        idle = -1 if isinstance(local_types[(sp.group, n)], TRef) else 0
        out.append((f"@{n}", z3.IntVal(idle)))
    return out


def cell_index(enc: ExprEncoder, sp: Split, cell: str, slot: int | None) -> int:
    """The state index of a split action's cell, for the object in `slot` (or its var)."""
    name = f"{sp.group}{cell}"
    if sp.kind is None:
        return enc.var_index[name].index
    k = enc.layout.kind(sp.kind)
    assert slot is not None
    return k.slot_base(slot) + k.field(name).offset


def restart(enc: ExprEncoder, x: str, st: State, local_types: dict[tuple[str, str], Type]) -> State:
    """`restart x`: in-flight actions are lost and the informers start over with a fresh
    LIST of the real objects (controller_codegen.restart)."""
    for kname in enc.stale.get(x, ()):
        if (x, kname) in enc.coalesced and (x, kname) not in enc.unsynced:
            st = announce(enc, x, kname, refresh(enc, x, kname, st))
            slots = enc.layout.kind(kname).slots  # the relist holds every write
            st = _set_own(enc, x, kname, st, z3.IntVal(0), [TRUE] * slots)
        elif (x, kname) in enc.coalesced:  # relisted from empty: every object is news again
            k = enc.layout.kind(kname)
            new = list(st)
            for slot in range(k.slots):
                _, cached, n = _blocks(enc, x, k, slot)
                new[cached : cached + n] = [z3.IntVal(0)] * n
            st = tuple(new)
        else:
            st = conflicts.forget(enc, x, kname, refresh(enc, x, kname, st))
            flag = own_writes_flag(enc, x, kname)
            if flag is not None:  # the relist holds every write
                st = (*st[:flag], z3.IntVal(0), *st[flag + 1 :])
    new = list(st)
    for sp in enc.splits.values():
        if sp.actor != x:
            continue
        cells = _cells(enc, sp, local_types)
        if sp.kind is None:
            for cell, idle in cells:
                new[cell_index(enc, sp, cell, None)] = idle
            continue
        k = enc.layout.kind(sp.kind)
        for slot in range(k.slots):
            here = st[k.slot_base(slot)] == 1
            for cell, idle in cells:
                i = cell_index(enc, sp, cell, slot)
                new[i] = _ite(here, idle, new[i])
    return tuple(new)


def binder_slot(sp: Split, env: Env) -> int | None:
    """The slot of the object a split action's instance works on (None without a binder)."""
    if sp.kind is None:
        return None
    v = env[sp.action.binders[0].name][0]
    assert z3.is_int_value(v)
    return int(v.as_long())


def not_busy(enc: ExprEncoder, actor: str, a: ast.Action, env: Env, st: State) -> Term:
    """No other split action of `actor` is in flight on an object among this instance's binder
    values (or at all, for one without a binder): a work queue never hands a key out twice."""
    out: list[Term] = []
    for sp in enc.splits.values():
        if sp.actor != actor or sp.action is a:
            continue
        if sp.kind is None:
            out.append(st[cell_index(enc, sp, "@step", None)] == 0)
            continue
        for b in a.binders:
            v, bt = env[b.name]
            if isinstance(bt, TRef) and bt.kind == sp.kind:
                assert z3.is_int_value(v)
                out.append(st[cell_index(enc, sp, "@step", int(v.as_long()))] == 0)
    return _and(*out) if out else TRUE


def suspend(
    enc: ExprEncoder,
    sp: Split,
    segment: int,
    env: Env,
    st: State,
    local_types: dict[tuple[str, str], Type],
) -> State:
    """The end of a segment: the next one to run (0 after the last) and the locals it needs;
    every other cell idle. Nothing is kept for an object gone meanwhile."""
    last = segment == len(sp.segments) - 1
    live = () if last else sp.live_after(segment)
    return jump(enc, sp, 0 if last else segment + 1, live, env, st, local_types)


def jump(
    enc: ExprEncoder,
    sp: Split,
    target: int,
    live: tuple[str, ...],
    env: Env,
    st: State,
    local_types: dict[tuple[str, str], Type],
) -> State:
    """Record resume point `target` (0: done) and the locals `live` it reads (lang/steps.py's
    `Jump`, or the end of a segment); every other cell idle."""
    slot = binder_slot(sp, env)
    here = TRUE
    if slot is not None:
        k = enc.layout.kind(sp.kind or "")
        here = st[k.slot_base(slot)] == 1
    new = list(st)
    i = cell_index(enc, sp, "@step", slot)
    new[i] = _ite(here, z3.IntVal(target), st[i])
    for (cell, idle), n in zip(_cells(enc, sp, local_types)[1:], sp.carried, strict=True):
        i = cell_index(enc, sp, cell, slot)
        value = enc._stored(local_types[(sp.group, n)], env[n][0]) if n in live else idle
        new[i] = _ite(here, value, st[i])
    return tuple(new)
