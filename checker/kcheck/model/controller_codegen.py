"""Code generation for what controllers remember (spec/faults.md): the copies of informer
caches, their sync steps and handlers' deliveries, the cells of actions split by `step` (laid
out by layout.py), `restart`, and the free-slot rule that keeps a slot a cache remembers.
Expressions and statements are expr.py's and stmt.py's: this part only moves values between
real and hidden cells."""

from __future__ import annotations

from collections.abc import Callable

from kcheck.lang import ast
from kcheck.lang.types import TRef, TSet, Type
from kcheck.model.context import CompileContext, index
from kcheck.model.controller_state import (
    Split,
    changed_var,
    conflict_watches,
    own_write_field,
    own_write_watches,
    own_writes_var,
    real_cells,
)
from kcheck.model.env import Ctx, Env, Local
from kcheck.model.ir import FieldLayout, KindLayout
from kcheck.model.layout import LocalTypes


class ControllerCodegen:
    def __init__(self, c: CompileContext, local_types: LocalTypes) -> None:
        self.c = c
        self.local_types = local_types  # carried locals' declared types (layout.split_cells)
        # (controller, kind) -> index of its "a write of mine is not cached yet" flag
        self.own_writes = {
            (x, k): c.var(own_writes_var(x, k)).index
            for x, k in own_write_watches(c.sym)
            if (x, k) not in c.coalesced
        }
        # (controller, kind) -> offsets of (its per-object "write not delivered" flag, its
        # cached presence flag), for `seen_own_writes(K)` on a coalesced watch
        self.own_fields = {
            (x, k): (
                c.layout.kind(k).field(own_write_field(x)).offset,
                c.layout.kind(k).field(f"@{x}").offset,
            )
            for x, k in own_write_watches(c.sym)
            if (x, k) in c.coalesced
        }
        self.changed = {(x, k): c.var(changed_var(x, k)).index for x, k in conflict_watches(c.sym)}

    def note_changes(self, done: Callable[[Env, Ctx], None]) -> Callable[[Env, Ctx], None]:
        """The end of any step: each live object it changed has a new resourceVersion, which
        no cache that `unchanged(x)` asks about has seen yet (a step that leaves an object as
        it was makes no new version, as the apiserver skips a no-op update)."""
        if not self.changed and not self.own_fields:
            return done

        def finish(env: Env, ctx: Ctx) -> None:
            g, sv = self.c.gen, ctx.sv
            # an object gone from the apiserver and from a coalesced cache has no notification
            # left to deliver (a create and delete in between are missed): its flag goes
            for (_, kname), (own, cached) in self.own_fields.items():
                k = self.c.layout.kind(kname)
                for slot in range(k.slots):
                    b = k.slot_base(slot)
                    g.emit(f"if not {sv}[{b}] and not {sv}[{b + cached}]: {sv}[{b + own}] = 0")
            for (_, kname), i in self.changed.items():
                k = self.c.layout.kind(kname)
                n = sum(1 for f in k.fields if not f.hidden)
                for slot in range(k.slots):
                    b = k.slot_base(slot)
                    g.emit(
                        f"if {sv}[{b}] and tuple({sv}[{b}:{b + n + 1}]) != s[{b}:{b + n + 1}]: "
                        f"{sv}[{i}] |= {1 << slot}"
                    )
            done(env, ctx)

        return finish

    def note_own_writes(
        self, x: str, done: Callable[[Env, Ctx], None]
    ) -> Callable[[Env, Ctx], None]:
        """The end of a step of controller x: where it changed K's objects, its cache of K has
        a write of its own to catch up with (a write that leaves them as they were is none, as
        the apiserver skips a no-op update)."""
        flags = [(k, i) for (c, k), i in self.own_writes.items() if c == x]
        per_object = [(k, offs) for (c, k), offs in self.own_fields.items() if c == x]
        if not flags and not per_object:
            return done

        def finish(env: Env, ctx: Ctx) -> None:
            g, sv = self.c.gen, ctx.sv
            for kname, i in flags:
                same = " and ".join(
                    f"{sv}[{j}] == s[{j}]" for j in real_cells(self.c.layout, kname)
                )
                g.emit(f"if not ({same or 'True'}): {sv}[{i}] = 1")
            # coalesced: each object it changed has a notification of its own write to come,
            # unless it is gone and not cached (nothing of it is left to deliver)
            for kname, (own, cached) in per_object:
                k = self.c.layout.kind(kname)
                n = sum(1 for f in k.fields if not f.hidden)
                for slot in range(k.slots):
                    b = k.slot_base(slot)
                    g.emit(
                        f"if tuple({sv}[{b}:{b + n + 1}]) != s[{b}:{b + n + 1}] and "
                        f"({sv}[{b}] or {sv}[{b + cached}]): {sv}[{b + own}] = 1"
                    )
            done(env, ctx)

        return finish

    def split_index(self, sp: Split, cell: str, env: Env) -> str:
        """Index of a split action's hidden cell (`@step` or `@<local>`) for the instance
        bound in `env`."""
        name = f"{sp.group}{cell}"
        if sp.kind is None:
            return str(self.c.var(name).index)
        k = self.c.layout.kind(sp.kind)
        return index(k.base, env[sp.action.binders[0].name].code, k.stride, k.field(name).offset)

    def _cache_cells(self, x: str, kname: str, slot: str) -> tuple[str, str]:
        """Slices of one object's real block (presence and fields) and of x's cached copy."""
        k = self.c.layout.kind(kname)
        flag = k.field(f"@{x}").offset
        n = sum(1 for f in k.fields if not f.hidden)
        real = index(k.base, slot, k.stride)
        cached = index(k.base, slot, k.stride, flag)
        return f"{real}:({real}) + {n + 1}", f"{cached}:({cached}) + {n + 1}"

    def _add_offset(self, x: str, kname: str) -> int | None:
        """The offset of the flag "x's handler has yet to hear the initial add of this
        object", for a coalesced watch that starts synced (None for other watches)."""
        k = self.c.layout.kind(kname)
        return next((f.offset for f in k.fields if f.name == f"+add@{x}"), None)

    def announce(self, x: str, kname: str, sv: str) -> None:
        """Emit: x's coalesced cache of `kname` has just listed every object, and its handler
        is yet to hear one add per object, as an informer's initial list delivers them."""
        add = self._add_offset(x, kname)
        if add is None:
            return
        k = self.c.layout.kind(kname)
        for slot in range(k.slots):
            self.c.gen.emit(f"{sv}[{k.slot_base(slot) + add}] = {sv}[{k.slot_base(slot)}]")

    def notifications(self, x: str, a: ast.Action) -> list[tuple[Env, str | None]]:
        """A handler's instances: one per object whose cached copy differs from the real one
        (created, changed or deleted since its last notification) or whose initial add is
        still to be heard, over every slot."""
        b = a.binders[0]
        assert isinstance(b.domain, ast.ExprDomain) and isinstance(b.domain.expr, ast.Name)
        kname = b.domain.expr.id
        add = self._add_offset(x, kname)
        k = self.c.layout.kind(kname)
        out: list[tuple[Env, str | None]] = []
        for slot in range(k.slots):
            real, cached = self._cache_cells(x, kname, str(slot))
            news = f"s[{real}] != s[{cached}]"
            if add is not None:
                news = f"s[{k.slot_base(slot) + add}] or {news}"
            if (x, kname) in self.own_fields:  # a write of x's own is still to be delivered
                news = f"s[{k.slot_base(slot) + self.own_fields[(x, kname)][0]}] or {news}"
            out.append(({b.name: Local(str(slot), TRef(kname))}, news))
        return out

    def deliver(self, x: str, a: ast.Action, env: Env) -> None:
        b = a.binders[0]
        t = env[b.name].type
        assert isinstance(t, TRef)
        real, cached = self._cache_cells(x, t.kind, env[b.name].code)
        self.c.gen.emit(f"st[{cached}] = s[{real}]")
        add = self._add_offset(x, t.kind)
        k = self.c.layout.kind(t.kind)
        if add is not None:
            self.c.gen.emit(f"st[{index(k.base, env[b.name].code, k.stride, add)}] = 0")
        if (x, t.kind) in self.own_fields:  # its latest state holds every write before it
            own = self.own_fields[(x, t.kind)][0]
            self.c.gen.emit(f"st[{index(k.base, env[b.name].code, k.stride, own)}] = 0")

    def not_busy(self, actor: str, a: ast.Action, env: Env) -> list[str]:
        """An actor works on one object at a time, like a work queue that never hands out a
        key twice: no action starts on an object that one of its split actions has in flight,
        and none at all while one without a binder is in flight."""
        out: list[str] = []
        for sp in self.c.splits.values():
            if sp.actor != actor or sp.action is a:
                continue
            if sp.kind is None:
                out.append(f"s[{self.c.var(sp.group + '@step').index}] == 0")
                continue
            k = self.c.layout.kind(sp.kind)
            off = k.field(sp.group + "@step").offset
            for b in a.binders:
                bt = env[b.name].type
                if isinstance(bt, TRef) and bt.kind == sp.kind:
                    out.append(f"s[{index(k.base, env[b.name].code, k.stride, off)}] == 0")
        return out

    def resume(self, sp: Split, segment: int, env: Env, ctx: Ctx) -> Env:
        """The locals an earlier segment left for this one, read back from the state."""
        if segment == 0:
            return env
        env = dict(env)
        saved = sp.live_after(segment - 1) if sp.lowered is None else sp.lowered.needs[segment]
        for n in saved:
            ty = self.local_types[(sp.group, n)]
            var = self.c.gen.fresh(n)
            code = f"s[{self.split_index(sp, f'@{n}', env)}]"
            if isinstance(ty, TRef) and not ty.optional:
                what = f"{n} (deleted while {sp.group} was in flight)"
                code = f"_some({code}, {what!r}, {ctx.aid}, {ctx.args}, {sp.action.span.line})"
            self.c.gen.emit(f"{var} = {code}")
            env[n] = Local(var, ty)
        return env

    def suspend(
        self, sp: Split, segment: int, done: Callable[[Env, Ctx], None]
    ) -> Callable[[Env, Ctx], None]:
        """The end of a segment: record the next one (0 after the last) and the locals it
        needs; every other cell goes back to its idle value, so equal worlds stay equal."""
        if sp.lowered is not None:  # every path ends in a `Jump` (self.jump), none falls off
            return done
        last = segment == len(sp.segments) - 1
        live = () if last else sp.live_after(segment)
        return lambda env, ctx: self._save(sp, 0 if last else segment + 1, live, env, ctx, done)

    def jump(
        self, sp: Split, target: int, env: Env, ctx: Ctx, done: Callable[[Env, Ctx], None]
    ) -> None:
        """`Jump(target)` in an action with `step` inside a block (lang/steps.py): record the
        resume point and the locals it reads, and end the atomic step."""
        assert sp.lowered is not None
        live = sp.lowered.needs[target] if target else ()
        self._save(sp, target, live, env, ctx, done)

    def _save(
        self,
        sp: Split,
        target: int,
        live: tuple[str, ...],
        env: Env,
        ctx: Ctx,
        done: Callable[[Env, Ctx], None],
    ) -> None:
        """Record the next resume point and the locals it reads; every other cell goes back
        to its idle value, so equal worlds stay equal."""
        g = self.c.gen
        sv = ctx.sv
        guard = ""
        if sp.kind is not None:  # the object may be gone: its in-flight state went with it
            k = self.c.layout.kind(sp.kind)
            guard = f"if {sv}[{index(k.base, env[sp.action.binders[0].name].code, k.stride)}]:"
            g.emit(guard)
            g.depth += 1
        g.emit(f"{sv}[{self.split_index(sp, '@step', env)}] = {target}")
        for n in sp.carried:
            idle = "-1" if isinstance(self.local_types[(sp.group, n)], TRef) else "0"
            value = env[n].code if n in live else idle
            g.emit(f"{sv}[{self.split_index(sp, f'@{n}', env)}] = {value}")
        if guard:
            g.depth -= 1
        done(env, ctx)

    def refresh(self, x: str, kname: str, src: str, dst: str) -> None:
        """Emit the copy of every `kname` object of `src` into x's cache in `dst`: the
        informer has caught up with the apiserver."""
        k = self.c.layout.kind(kname)
        flag = k.field(f"@{x}").offset
        n = sum(1 for f in k.fields if not f.hidden)
        for slot in range(k.slots):
            b = k.slot_base(slot)
            self.c.gen.emit(f"{dst}[{b + flag}:{b + flag + n + 1}] = {src}[{b}:{b + n + 1}]")

    def sync_action(self, x: str, kname: str, labelled: bool, aid: int) -> None:
        """`x.sync@K`: the informer delivers everything that changed since it last did, as
        one step; enabled while x's cache of K differs from the real objects."""
        g = self.c.gen
        k = self.c.layout.kind(kname)
        flag = k.field(f"@{x}").offset
        n = sum(1 for f in k.fields if not f.hidden)
        g.emit(f"# controller {x}: its informer for {kname} catches up")
        stale = []
        for slot in range(k.slots):
            b = k.slot_base(slot)
            stale.append(f"s[{b + flag}:{b + flag + n + 1}] != s[{b}:{b + n + 1}]")
        own = self.own_writes.get((x, kname))
        if own is not None:  # a write that left the objects as cached still comes as an event
            stale.append(f"s[{own}]")
        changed = self.changed.get((x, kname))
        if changed is not None:  # so does one whose object was put back as it was cached
            stale.append(f"s[{changed}]")
        g.emit(f"if {' or '.join(stale)}:")
        g.depth += 1
        g.emit("st = list(s)")
        self.refresh(x, kname, "s", "st")
        if own is not None:
            g.emit(f"st[{own}] = 0")
        if changed is not None:  # the cache now holds every object's current version
            g.emit(f"st[{changed}] = 0")
        self.c.result(labelled, aid, "()")({}, Ctx(aid, "()", "st"))
        g.depth -= 1

    def restart(self, x: str, sv: str) -> None:
        """`restart x`: in-flight actions are lost and the informers start over with a fresh
        LIST of the real objects."""
        g = self.c.gen
        for kname in self.c.stale.get(x, ()):
            if (x, kname) in self.c.coalesced and (x, kname) not in self.c.unsynced:
                # the informer relists and the controller waits for it: the cache holds the
                # real objects, the handler hears one add each, deletions are lost
                self.refresh(x, kname, sv, sv)
                self.announce(x, kname, sv)
                if (x, kname) in self.own_fields:  # the relist holds every write
                    k = self.c.layout.kind(kname)
                    own = self.own_fields[(x, kname)][0]
                    for slot in range(k.slots):
                        g.emit(f"{sv}[{k.slot_base(slot) + own}] = 0")
            elif (x, kname) in self.c.coalesced:
                # the informer relists: every object is notified again, deletions are lost
                k = self.c.layout.kind(kname)
                flag = k.field(f"@{x}").offset
                n = sum(1 for f in k.fields if not f.hidden)
                for slot in range(k.slots):
                    b = k.slot_base(slot)
                    g.emit(f"{sv}[{b + flag}:{b + flag + n + 1}] = {[0] * (n + 1)!r}")
            else:
                self.refresh(x, kname, sv, sv)
                if (x, kname) in self.own_writes:  # the relist holds every write
                    g.emit(f"{sv}[{self.own_writes[(x, kname)]}] = 0")
                if (x, kname) in self.changed:  # and every object's current version
                    g.emit(f"{sv}[{self.changed[(x, kname)]}] = 0")
        for sp in self.c.splits.values():
            if sp.actor != x:
                continue
            cells = [("@step", "0")] + [
                (f"@{n}", "-1" if isinstance(self.local_types[(sp.group, n)], TRef) else "0")
                for n in sp.carried
            ]
            if sp.kind is None:
                for cell, idle in cells:
                    g.emit(f"{sv}[{self.c.var(sp.group + cell).index}] = {idle}")
                continue
            k = self.c.layout.kind(sp.kind)
            for slot in range(k.slots):
                b = k.slot_base(slot)
                sets = "; ".join(
                    f"{sv}[{b + k.field(sp.group + cell).offset}] = {idle}" for cell, idle in cells
                )
                g.emit(f"if {sv}[{b}]: {sets}")

    def free_helper(self, k: KindLayout) -> None:
        """`_free_K(st, s)`: a slot that no object, no cache and no reference holds now (`st`): one that was
        also free when the step began (`s`) if there is one, the lowest such; else the lowest
        freed during the step. A slot a stale cache still remembers (as an object, or as the
        target of a cached reference) is never reused: Kubernetes never reuses a UID, so a stale
        read must never find a new object where it remembers an old one. Preferring slots free
        from the start keeps a local that still names an object gone during the step from
        naming the new one, and keeps the step independent of slot order (which symmetry
        reduction needs): free-from-the-start slots are all alike."""
        g = self.c.gen
        g.emit(f"def _free_{k.name}(st, s):")

        def names_k(ty: Type) -> bool:
            return (isinstance(ty, TRef) and ty.kind == k.name) or (
                isinstance(ty, TSet) and ty.elem == k.name
            )

        # A real reference may dangle too (it names a deleted object: layout.dangling_kinds):
        # its slot is not free either, so the reference never comes to name a new object.
        real = k.name in self.c.dangling
        held: list[tuple[KindLayout, FieldLayout]] = [
            (j, f)
            for j in self.c.layout.kinds
            for f in j.fields
            if (f.presence != 0 or real) and names_k(f.type)
        ]
        held_vars = [v for v in self.c.layout.vars if real and names_k(v.type)]
        flags = [0, *(f.offset for f in k.fields if f.name.startswith("@"))]
        for state in ("st", "s"):
            g.emit(f"    held_{state} = 0")
            for v in held_vars:
                value = f"{state}[{v.index}]"
                if isinstance(v.type, TSet):
                    g.emit(f"    held_{state} |= {value}")
                else:
                    g.emit(f"    if {value} >= 0: held_{state} |= 1 << {value}")
            for j, f in held:
                for slot in range(j.slots):
                    jb = j.slot_base(slot)
                    value = f"{state}[{jb + f.offset}]"
                    bits = value if isinstance(f.type, TSet) else f"(1 << {value})"
                    cond = f"{state}[{jb + f.presence}]"
                    if isinstance(f.type, TRef):
                        cond += f" and {value} >= 0"
                    g.emit(f"    if {cond}: held_{state} |= {bits}")
            for i in range(k.slots):
                taken = " or ".join(f"{state}[{k.slot_base(i) + o}]" for o in flags)
                g.emit(f"    if {taken}: held_{state} |= {1 << i}")
        g.emit(f"    for i in range({k.slots}):")
        g.emit("        if not (held_st | held_s) >> i & 1: return i")
        g.emit(f"    for i in range({k.slots}):")
        g.emit("        if not held_st >> i & 1: return i")
        g.emit("    return -1")
