"""The scheduler's bind step, compiled: for each unbound pod, filter and score every node, and
bind the pod to each best-scoring node as its own step (ties are nondeterministic), then run its
`on bind` hook in the same step.
"""

from __future__ import annotations

from kcheck.lang import ast
from kcheck.lang.types import TRef
from kcheck.model.context import CompileContext
from kcheck.model.env import Ctx, Env, Local
from kcheck.model.expr import ExprCompiler
from kcheck.model.stmt import StmtCompiler


class SchedulerCompiler:
    def __init__(self, ctx: CompileContext, exprs: ExprCompiler, stmts: StmtCompiler) -> None:
        self.ctx = ctx
        self.layout = ctx.layout
        self.gen = ctx.gen
        self.exprs = exprs
        self.stmts = stmts

    def bind(self, s: ast.Scheduler, labelled: bool, aid: int, prune: bool = False) -> None:
        g = self.gen
        pk = self.layout.kind(s.pod_kind)
        bind_field = pk.field(s.node_field)
        assert isinstance(bind_field.type, TRef)
        nk = self.layout.kind(bind_field.type.kind)
        weights = [self.exprs.const(sc.weight) if sc.weight is not None else 1 for sc in s.scores]
        g.emit(f"# scheduler {s.name}: bind one {pk.name} with {s.node_field} == none")
        for p in range(pk.slots):
            pb = pk.slot_base(p)
            twin = self.ctx.twin_guard(pk.name, str(p)) if prune else None
            extra = f" and ({twin})" if twin else ""
            pod_try = self.ctx.open_try() if labelled else None
            g.emit(f"if s[{pb}] and s[{pb + bind_field.offset}] == -1{extra}:")
            g.depth += 1
            g.emit("best = None")
            g.emit("cands = []")
            if self.ctx.careful:  # every node is filtered and scored, then the first error raised
                g.emit("failed = None")
            for n in range(nk.slots):
                if self.ctx.careful:
                    g.emit("try:")
                    g.depth += 1
                tests = [f"s[{nk.slot_base(n)}]"]
                for f in s.filters:
                    env = {
                        f.pod: Local(str(p), TRef(pk.name)),
                        f.node: Local(str(n), TRef(nk.name)),
                    }
                    tests.append(self.exprs.expr(f.expr, env, "s", Ctx(aid, f"({p}, {n})", "s")))
                g.emit("if " + " and ".join(f"({t})" for t in tests) + ":")
                g.depth += 1
                terms = []
                for sc, w in zip(s.scores, weights, strict=True):
                    env = {
                        sc.pod: Local(str(p), TRef(pk.name)),
                        sc.node: Local(str(n), TRef(nk.name)),
                    }
                    at_ctx = Ctx(aid, f"({p}, {n})", "s")
                    terms.append(f"{w} * ({self.exprs.expr(sc.expr, env, 's', at_ctx)})")
                g.emit(f"sc = {' + '.join(terms) if terms else '0'}")
                g.emit("if best is None or sc > best:")
                g.emit(f"    best = sc; cands = [{n}]")
                g.emit("elif sc == best:")
                g.emit(f"    cands.append({n})")
                g.depth -= 1
                if self.ctx.careful:
                    g.depth -= 1
                    g.emit("except StepError as _e:")
                    g.emit("    failed = _pick(failed, _e)")
            if self.ctx.careful:
                g.emit("if failed is not None: raise failed")
            g.emit("for n in cands:")
            g.depth += 1
            # binding the pod to each best node is its own step: one that fails in `on bind`
            # hides no other (nor depends on the order of the nodes)
            cand_try = self.ctx.open_try() if labelled else None
            g.emit("st = list(s)")
            g.emit(f"st[{pb + bind_field.offset}] = n")
            args = f"({p}, n)"
            done = self.stmts.cc.note_changes(self.ctx.result(labelled, aid, args))
            hook = next((h for h in s.hooks if h.event == "bind"), None)
            if hook is None:
                done({}, Ctx(aid, args, "st"))
            else:  # `on bind(p, n)`: in the same step, after the bind field is set
                hook_env: Env = {
                    hook.params[0]: Local(str(p), TRef(pk.name)),
                    hook.params[1]: Local("n", TRef(nk.name)),
                }
                self.ctx.deleted = set()
                self.ctx.tolerant = labelled
                self.stmts.block(hook.body.stmts, hook_env, Ctx(aid, args, "st"), done)
                self.ctx.tolerant = False
            if cand_try is not None:
                self.ctx.close_try(cand_try)
            g.depth -= 2
            if pod_try is not None:
                self.ctx.close_try(pod_try)
