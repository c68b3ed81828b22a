"""The scheduler's bind step over Z3 terms, as model/scheduler.py defines it: for
each live object of the pod kind whose bind field is `none`, every live node is tested against
the filters in order (a filter is evaluated only where the ones before it passed), the nodes
passing all of them are scored (the weighted sum of the scores), and the pod is bound to any
node of maximal score. An error while filtering or scoring any node fails the whole instance for
that pod, as the compiled code raises before binding. Then the statements of the scheduler's
`on bind(p, n)`, if it has one, run on the state with the field set, as an action's body: each
of their branches is a way through the (pod, node) instance, and their errors fail it."""

from __future__ import annotations

import z3  # type: ignore[import-untyped]

from kcheck.lang import ast
from kcheck.lang.types import TRef
from kcheck.smt.refuse import Unsupported
from kcheck.smt.stmt import StmtEncoder
from kcheck.smt.terms import FALSE, TRUE, Branch, Env, Instance, Term, _and, _or


def bind_instances(
    enc: StmtEncoder, s: ast.Scheduler, aid: int, st: tuple[Term, ...]
) -> list[Instance]:
    """One instance per (pod, node) slot pair; the pod's failure is recorded on its first."""
    pk = enc.layout.kind(s.pod_kind)
    field = pk.field(s.node_field)
    assert isinstance(field.type, TRef)
    nk = enc.layout.kind(field.type.kind)
    weights: list[int] = []
    for sc in s.scores:
        w = 1 if sc.weight is None else enc._const_int(sc.weight, {})
        if w is None:
            raise Unsupported("a score weight that is not a constant", sc.span.line)
        weights.append(w)
    hook = next((h for h in s.hooks if h.event == "bind"), None)
    out: list[Instance] = []
    for p in range(pk.slots):
        pb = pk.slot_base(p)
        unbound = _and(st[pb] == 1, st[pb + field.offset] == -1)
        passes: list[Term] = []
        scores: list[Term] = []
        errs: list[Term] = []
        for n in range(nk.slots):
            env: Env = {}
            ok = st[nk.slot_base(n)] == 1
            for f in s.filters:
                env = {f.pod: (z3.IntVal(p), TRef(pk.name)), f.node: (z3.IntVal(n), TRef(nk.name))}
                v, err = enc.expr(f.expr, env, st)
                errs.append(_and(ok, err))
                ok = _and(ok, v)
            total: Term = z3.IntVal(0)
            for sc, w in zip(s.scores, weights, strict=True):
                env = {
                    sc.pod: (z3.IntVal(p), TRef(pk.name)),
                    sc.node: (z3.IntVal(n), TRef(nk.name)),
                }
                v, err = enc.expr(sc.expr, env, st)
                errs.append(_and(ok, err))
                total = total + w * v
            passes.append(ok)
            scores.append(total)
        fail = _and(unbound, _or(errs))
        for n in range(nk.slots):
            best = [
                z3.Implies(passes[m], scores[m] <= scores[n]) for m in range(nk.slots) if m != n
            ]
            chosen = _and(
                unbound, z3.Not(fail) if not z3.is_false(fail) else TRUE, passes[n], *best
            )
            new = list(st)
            new[pb + field.offset] = z3.IntVal(n)
            branches: tuple[Branch, ...] = (Branch(chosen, tuple(new), {}),)
            failed = fail if n == 0 else FALSE
            if hook is not None:  # `on bind(p, n)`, where this pod is bound to this node
                env = {
                    hook.params[0]: (z3.IntVal(p), TRef(pk.name)),
                    hook.params[1]: (z3.IntVal(n), TRef(nk.name)),
                }
                enc.fails = []
                done = enc.block(hook.body.stmts, [Branch(chosen, tuple(new), env)])
                branches = tuple(Branch(b.ok, b.state, {}) for b in done)
                failed = _or([failed, *enc.fails])
                enc.fails = []
            out.append(Instance(aid, (p, n), branches, failed))
    return out
