"""Statements, compiled in continuation-passing style: `block` emits the statements and then the
continuation in whatever environment and state they leave, so `choose` and `:= any` become
nested loops in which the rest of the action runs once per choice, on its own copy of the state.
Also `create` and `delete` and the per-kind helpers they call (`_free_K`, `_del_K`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from kcheck.lang import ast
from kcheck.lang.fmt_expr import format_expr
from kcheck.lang.keys import key_fields
from kcheck.lang.types import TBool, TEnum, TInt, TRef, TSet, Type
from kcheck.model.context import CompileContext, index
from kcheck.model.controller_codegen import ControllerCodegen
from kcheck.model.env import Ctx, Env, Local
from kcheck.model.expr import ExprCompiler
from kcheck.model.ir import FieldLayout
from kcheck.model.typeof import zero_value


class StmtCompiler:
    def __init__(self, ctx: CompileContext, exprs: ExprCompiler, cc: ControllerCodegen) -> None:
        self.ctx = ctx
        self.sym = ctx.sym
        self.layout = ctx.layout
        self.gen = ctx.gen
        self.exprs = exprs
        self.types = exprs.types
        self.binding = exprs.binding
        self.cc = cc  # caches, split actions, restarts
        # where a `Jump` (an action with `step` inside a block) ends its step: set per action
        self.jump: Callable[[int, Env, Ctx], None] | None = None

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
                value = self.exprs.expr(v, env, sv, ctx)
                if self.ctx.view and len(t.parts) > 1:
                    # the value is read even when the write lands on an object already gone
                    tmp = g.fresh("val")
                    g.emit(f"{tmp} = {value}")
                    value = tmp
                idx, ty, what, live = self._lvalue(t, env, ctx)
                with self._if_live(live, sv):
                    self._store(idx, ty, value, what, ctx, first.span.line)
                then(env, ctx)
            case ast.AssignAny(target=t, domain=d):
                ty, size, desc = self.binding.domain(d, env, sv)
                var = g.fresh("v")
                loops = g.depth
                at = self.ctx.emit_clauses(
                    self.binding.loop_clause(var, size, desc, sv), None, self.ctx.tolerant
                )
                line = first.span.line
                fork = g.fresh("st")
                g.emit(f"{fork} = {sv}[:]")
                ctx2 = Ctx(ctx.aid, ctx.args, fork)
                saved = self._enter(ctx.aid, "any", first.span, ":= any")
                idx, tty, what, live = self._lvalue(t, env, ctx2)
                with self._if_live(live, fork):
                    self._store(idx, tty, var, what, ctx2, line)
                then(env, ctx2)
                self._leave(saved)
                if at is not None:
                    self.ctx.close_try(at)
                g.depth = loops
            case ast.CreateStmt(create=c, otherwise=other) if other is not None:
                self._create_else(c, other.stmts, env, ctx, then)
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
                    g.emit(f"{var} = {self.exprs.expr(v, env, sv, ctx)}")
                    env2 = {**env, n: Local(var, self.types.type_of(v, env))}
                then(env2, ctx)
            case ast.Delete(target=t):
                slot, rt = self.exprs.ref_code(t, env, sv, ctx, target=True)
                self.ctx.deleted.add(rt.kind)
                guard = ""
                if self.ctx.view:
                    # a stale controller may delete what is already gone: the apiserver
                    # answers NotFound and nothing changes
                    dk = self.layout.kind(rt.kind)
                    tmp = g.fresh("obj")
                    g.emit(f"{tmp} = {slot}")
                    slot = tmp
                    guard = f"if {sv}[{index(dk.base, slot, dk.stride)}]: "
                line = first.span.line
                g.emit(f"{guard}_del_{rt.kind}({sv}, {slot}, {ctx.aid}, {ctx.args}, {line})")
                then(env, ctx)
            case ast.Restart(controller=x):
                self.cc.restart(x, sv)
                then(env, ctx)
            case ast.Choose(binders=bs, where=w, body=body):
                _, (cenv, clauses, cwhere) = self.binding.bind_all(bs, w, env, sv, ctx)
                # `for a in A if p for b in B if q` -> nested loops with `if not p: continue`
                loops = g.depth
                at = self.ctx.emit_clauses(clauses, cwhere, self.ctx.tolerant)
                fork = g.fresh("st")
                g.emit(f"{fork} = {sv}[:]")
                ctx2 = Ctx(ctx.aid, ctx.args, fork)
                chosen = "choose " + ", ".join(b.name for b in bs)
                saved = self._enter(ctx.aid, "choose", first.span, chosen)
                self.block(body.stmts, cenv, ctx2, lambda env3, ctx3: then(env, ctx3))
                self._leave(saved)
                if at is not None:
                    self.ctx.close_try(at)
                g.depth = loops
            case ast.For(binders=bs, where=w, body=body):
                self.ctx.deleted |= self._deletes_in(body.stmts)
                items = g.fresh("items")
                failed = None
                if self.ctx.careful:
                    # every iteration runs even after one failed (the loop's iterations are
                    # independent, or its kind is not permuted), then the first error by cause
                    # is raised: the error does not depend on slot order
                    inner: Env = {}

                    def item(e2: Env) -> str:
                        inner.update(e2)
                        return "(" + "".join(f"{e2[b.name].code}, " for b in bs) + ")"

                    g.emit(f"{items} = {self.binding.terms(bs, w, env, sv, ctx, item)}")
                    cenv = dict(env)
                    for b in bs:
                        cenv[b.name] = Local(
                            g.fresh(b.name), inner[b.name].type, inner[b.name].seen
                        )
                    failed = g.fresh("failed")
                    g.emit(f"{failed} = None")
                else:
                    _, (cenv, clauses, cwhere) = self.binding.bind_all(bs, w, env, sv, ctx)
                    tup = "(" + ", ".join(cenv[b.name].code for b in bs) + ",)"
                    cond = f" if {cwhere}" if cwhere else ""
                    g.emit(f"{items} = [{tup} {clauses}{cond}]")
                names = [cenv[b.name].code for b in bs]
                acc = self._accumulate()
                outer = self._swap(acc)
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
                        flag = self.ctx.pres_off(bt.kind)
                        pres = index(bk.base, cenv[b.name].code, bk.stride, flag)
                        g.emit(f"if not {sv}[{pres}]: continue")
                self.block(body.stmts, cenv, ctx, lambda env3, ctx3: self._join(acc))
                if failed is not None:
                    g.depth -= 1
                    g.emit("except StepError as _e:")
                    g.emit(f"    {failed} = _pick({failed}, _e)")
                g.depth -= 1
                if failed is not None:
                    g.emit(f"if {failed} is not None: raise {failed}")
                self._leave(outer)
                self._then_joined(acc, then, env, ctx)
            case ast.If(cond=c, then=tb, else_=eb):
                cond = self.exprs.expr(c, env, sv, ctx)
                text = format_expr(c)
                if _deterministic(first):
                    join = self._accumulate(declare=False)
                    g.emit(f"if {cond}:")
                    g.depth += 1
                    g.emit("pass")
                    saved = self._enter(ctx.aid, "then", first.span, text)
                    self.block(tb.stmts, env, ctx, lambda e3, c3: self._join(join))
                    self._leave(saved)
                    g.depth -= 1
                    if eb is not None or join is not None:
                        g.emit("else:")
                        g.depth += 1
                        g.emit("pass")
                        saved = self._enter(ctx.aid, "else", first.span, text)
                        self.block(_else_stmts(eb), env, ctx, lambda e3, c3: self._join(join))
                        self._leave(saved)
                        g.depth -= 1
                    self._then_joined(join, then, env, ctx)
                else:
                    g.emit(f"if {cond}:")
                    g.depth += 1
                    saved = self._enter(ctx.aid, "then", first.span, text)
                    self.block(tb.stmts, env, ctx, lambda e3, c3: then(env, c3))
                    self._leave(saved)
                    g.depth -= 1
                    g.emit("else:")
                    g.depth += 1
                    saved = self._enter(ctx.aid, "else", first.span, text)
                    self.block(_else_stmts(eb), env, ctx, lambda e3, c3: then(env, c3))
                    self._leave(saved)
                    g.depth -= 1
            case ast.Jump(target=t):  # the path's step ends; nothing after it runs
                assert self.jump is not None, "a Jump outside an action with nested `step`"
                self.jump(t, env, ctx)
            case _:  # `step` never reaches here: compile_model splits bodies at it
                raise AssertionError(f"cannot compile {type(first).__name__}")

    # ---- coverage (model/coverage.py): only while the coverage form is emitted; else no-ops
    def _enter(self, aid: int, kind: str, span: ast.Span, text: str) -> str | None:
        """The path goes through branch point (aid, kind, span) from here; returns the path to
        restore once the branch's code is emitted."""
        cov = self.ctx.cover
        if cov is None:
            return None
        saved = cov.path
        var, line = cov.extend(cov.point(aid, kind, span, text))
        self.gen.emit(line)
        cov.path = var
        return saved

    def _swap(self, var: str | None) -> str | None:
        cov = self.ctx.cover
        if cov is None or var is None:
            return None
        saved, cov.path = cov.path, var
        return saved

    def _leave(self, saved: str | None) -> None:
        if self.ctx.cover is not None and saved is not None:
            self.ctx.cover.path = saved

    def _accumulate(self, declare: bool = True) -> str | None:
        """A path local that the code after a deterministic `if` or a `for` continues from
        (the branches, or the iterations, set it as they end)."""
        cov = self.ctx.cover
        if cov is None:
            return None
        var = cov.fresh()
        if declare:
            self.gen.emit(f"{var} = {cov.path}")
        return var

    def _join(self, var: str | None) -> None:
        cov = self.ctx.cover
        if cov is not None and var is not None:
            self.gen.emit(f"{var} = {cov.path}")

    def _then_joined(
        self, var: str | None, then: Callable[[Env, Ctx], None], env: Env, ctx: Ctx
    ) -> None:
        cov = self.ctx.cover
        if cov is None or var is None:
            then(env, ctx)
            return
        saved, cov.path = cov.path, var
        then(env, ctx)
        cov.path = saved

    def _deletes_in(self, stmts: tuple[ast.Stmt, ...]) -> set[str]:
        """Kinds a loop body may delete objects of. Its locals are not typed here, so any
        `delete` counts for every kind: only extra checks, never fewer."""
        for st in ast.walk_stmts(stmts):
            if isinstance(st, ast.Delete):
                return set(self.sym.kinds)
        return set()

    def _lvalue(self, t: ast.LValue, env: Env, ctx: Ctx) -> tuple[str, Type, str, str | None]:
        """(index, type, description, and for a stale controller the index of the target's
        real presence flag: its write is dropped when the object is already gone)."""
        sv = ctx.sv
        head = t.parts[0]
        if len(t.parts) == 1:
            v = self.ctx.var(head)
            return str(v.index), v.type, head, None
        obj: ast.Expr = t.base()
        for part in t.parts[1:-1]:
            obj = ast.Field(obj, part, t.span, t.span)
        slot, rt = self.exprs.ref_code(obj, env, sv, ctx, target=True)
        k = self.layout.kind(rt.kind)
        f = k.field(t.parts[-1])
        live = None
        if self.ctx.view:
            slot_var = self.gen.fresh("obj")
            self.gen.emit(f"{slot_var} = {slot}")
            slot = slot_var
            live = index(k.base, slot, k.stride)
        idx = index(k.base, slot, k.stride, f.offset)
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
        """Emit a create; returns the variable that holds the new object's slot. A taken
        name is the runtime error `exists` (AlreadyExists not handled)."""
        values = self._create_values(c, env, ctx)
        taken = self._name_taken(c, values, ctx)
        if taken is not None:
            self.gen.emit(f"if {taken[0]}:")
            self.gen.emit(
                f"    _err('exists', 'create {c.kind}: a live {c.kind} already has the name ' "
                f"+ {taken[1]} + ' (AlreadyExists)', {ctx.aid}, {ctx.args}, {c.span.line})"
            )
        return self._create_commit(c, values, ctx)

    def _create_else(
        self,
        c: ast.Create,
        other: tuple[ast.Stmt, ...],
        env: Env,
        ctx: Ctx,
        then: Callable[[Env, Ctx], None],
    ) -> None:
        """`create K { ... } else { ... }`: the else block runs, and nothing is created, when
        a live K (the apiserver's, never a cache's) already has the new object's name."""
        g = self.gen
        values = self._create_values(c, env, ctx)
        taken = self._name_taken(c, values, ctx)
        g.emit(f"if {taken[0] if taken is not None else 'False'}:")
        g.depth += 1
        g.emit("pass")
        det = all(_deterministic(x) for x in other)
        self.block(
            other, env, ctx, (lambda e3, c3: None) if det else (lambda e3, c3: then(env, c3))
        )
        g.depth -= 1
        g.emit("else:")
        g.depth += 1
        g.emit("pass")
        self._create_commit(c, values, ctx)
        if not det:
            then(env, ctx)
        g.depth -= 1
        if det:
            then(env, ctx)

    def _name_taken(
        self, c: ast.Create, values: list[tuple[FieldLayout, str]], ctx: Ctx
    ) -> tuple[str, str] | None:
        """For a kind with `key` fields: (a variable that is true when a live object has the
        key values about to be stored, code for the name as a message shows it); else None.
        Reads the real objects: the apiserver checks names, whatever a cache says."""
        names = key_fields(self.sym.kinds[c.kind])
        if not names:
            return None
        g = self.gen
        k = self.layout.kind(c.kind)
        given = {f.name: code for f, code in values}
        same = " and ".join(f"{ctx.sv}[_b + {k.field(n).offset}] == {given[n]}" for n in names)
        taken = g.fresh("taken")
        g.emit(
            f"{taken} = any({ctx.sv}[_b] and {same} "
            f"for _b in range({k.base}, {k.base + k.slots * k.stride}, {k.stride}))"
        )
        shown = " + ', ' + ".join(
            f"'{n}=' + {self._shown(k.field(n).type, given[n])}" for n in names
        )
        return taken, shown

    def _shown(self, ty: Type, code: str) -> str:
        """Code for a stored value as a message writes it (KDSL spelling)."""
        if isinstance(ty, TBool):
            return f"('true' if {code} else 'false')"
        if isinstance(ty, TEnum):
            return f"{self.layout.enums[ty.name]!r}[{code}]"
        if isinstance(ty, TRef):
            return f"'{ty.kind}#%d' % {code}"
        return f"str({code})"

    def _create_values(self, c: ast.Create, env: Env, ctx: Ctx) -> list[tuple[FieldLayout, str]]:
        """Emit the evaluation of a create's field values; (field, code) for each field."""
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
                g.emit(f"{tmp} = {self.exprs.expr(given[f.name], env, ctx.sv, ctx)}")
                values.append((f, tmp))
            else:
                values.append((f, str(self.default_value(f.type, finfo.default))))
        return values

    def _create_commit(self, c: ast.Create, values: list[tuple[FieldLayout, str]], ctx: Ctx) -> str:
        """Emit taking a slot and storing `values` there; returns the slot's variable."""
        g = self.gen
        k = self.layout.kind(c.kind)
        slot = g.fresh("slot")
        g.emit(f"{slot} = _free_{c.kind}({ctx.sv}, s)")
        g.emit(f"if {slot} < 0:")
        g.emit(
            f"    _err('no-free-slot', 'create {c.kind}: all {k.slots} slots are in use', "
            f"{ctx.aid}, {ctx.args}, {c.span.line})"
        )
        g.emit(f"{ctx.sv}[{index(k.base, slot, k.stride)}] = 1")
        for f, code in values:
            idx = index(k.base, slot, k.stride, f.offset)
            self._store(idx, f.type, code, f"{c.kind}.{f.name}", ctx, c.span.line)
        return slot

    def default_value(self, ty: Type, default: ast.Expr | None) -> int:
        if default is not None:
            return self.exprs.const(default)
        return zero_value(ty)

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


def _else_stmts(eb: ast.Block | ast.If | None) -> tuple[ast.Stmt, ...]:
    if eb is None:
        return ()
    if isinstance(eb, ast.If):
        return (eb,)
    return eb.stmts


def _deterministic(s: ast.Stmt) -> bool:
    match s:
        case ast.Choose() | ast.AssignAny() | ast.Jump():  # a Jump ends its path's step
            return False
        case ast.If(then=t, else_=e):
            return all(_deterministic(x) for x in t.stmts) and all(
                _deterministic(x) for x in _else_stmts(e)
            )
        case ast.For(body=b) | ast.CreateStmt(otherwise=ast.Block() as b):
            return all(_deterministic(x) for x in b.stmts)
    return True
