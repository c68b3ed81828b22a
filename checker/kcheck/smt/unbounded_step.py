"""Statements, actions, `init` and the k-induction proof of smt/unbounded.py's encoding (each
kind an uninterpreted sort): spec/smt.md, "Symbolic sizes"."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import z3  # type: ignore[import-untyped]

from kcheck.lang import ast
from kcheck.lang.symbols import Symbols
from kcheck.lang.types import TBool, TRef
from kcheck.model.typeof import zero_value
from kcheck.result import HOLDS, INCONCLUSIVE, Proof, PropertyResult
from kcheck.smt.params import witness
from kcheck.smt.refuse import Unsupported
from kcheck.smt.solver import Deadline, check, new_solver
from kcheck.smt.terms import FALSE, TRUE, Term, _and, _or
from kcheck.smt.unbounded import ENGINE, Encoding, Env, Ref, St, Val, _line


@dataclass(frozen=True)
class Way:
    """One way through a block: it completes when `ok`, leaving `st`."""

    ok: Term
    st: St
    env: Env


class Steps(Encoding):
    def _fail(self, ok: Term, err: Term) -> Term:
        if not z3.is_false(err):
            self.fails.append(_and(ok, err))
        return _and(ok, z3.Not(err)) if not z3.is_false(err) else ok

    def block(self, stmts: Sequence[ast.Stmt], ways: list[Way]) -> list[Way]:
        for s in stmts:
            ways = [w2 for w in ways for w2 in self.stmt(s, w)]
        return ways

    def stmt(self, s: ast.Stmt, w: Way) -> list[Way]:
        ok, st, env = w.ok, w.st, w.env
        match s:
            case ast.Assign(target=t, value=e):
                v, err = (None, FALSE) if isinstance(e, ast.NoneLit) else self.expr(e, env, st)
                ok = self._fail(ok, err)
                return [self._assign(t, v, ok, st, env)]
            case ast.If(cond=c, then=th, else_=el):
                cv, ce = self.expr(c, env, st)
                ok = self._fail(ok, ce)
                rest = () if el is None else (el,) if isinstance(el, ast.If) else el.stmts
                return self.block(th.stmts, [Way(_and(ok, cv), st, env)]) + self.block(
                    rest, [Way(_and(ok, z3.Not(cv)), st, env)]
                )
            case ast.CreateStmt(create=c):
                ok, st, _ = self._create(c, ok, st, env)
                return [Way(ok, st, env)]
            case ast.AssignAny(target=t, domain=ast.RangeDomain(lo=lo_e, hi=hi_e)):
                lo, le = self.expr(lo_e, env, st)
                hi, he = self.expr(hi_e, env, st)
                ok = self._fail(ok, _or([le, he]))
                v = self.fresh(z3.IntSort(), "any")
                self.consts.append(v)
                return [self._assign(t, v, _and(ok, v >= lo, v <= hi), st, env)]
            case ast.AssignAny(target=t, domain=d):
                env2, xs, dom = self._binders((ast.Binder("_any", d, span=s.span),), env, st)
                self.consts += xs
                return [self._assign(t, env2["_any"], _and(ok, dom), st, env)]
            case ast.Let(name=n, value=v):
                if isinstance(v, ast.Create):
                    ok, st, obj = self._create(v, ok, st, env)
                    return [Way(ok, st, {**env, n: Ref(v.kind, TRUE, obj)})]
                val, err = self.expr(v, env, st)
                return [Way(self._fail(ok, err), st, {**env, n: val})]
            case ast.Delete(target=t):
                return [self._delete(t, ok, st, env)]
            case ast.Choose(binders=bs, where=wh, body=body):
                env2, xs, dom = self._binders(bs, env, st)
                self.consts += xs
                wv, we = self.expr(wh, env2, st) if wh is not None else (TRUE, FALSE)
                ok = self._fail(_and(ok, dom), we)
                return self.block(body.stmts, [Way(_and(ok, wv), st, env2)])
            case ast.For(binders=bs, where=wh, body=body):
                return self._for(s, bs, wh, body, Way(ok, st, env))
        raise Unsupported(f"{type(s).__name__} for any number of objects", _line(s, None))

    def _assign(self, t: ast.LValue, v: Val, ok: Term, st: St, env: Env) -> Way:
        if len(t.parts) == 1:
            var = self.sym.vars[t.parts[0]]
            ok = self._fail(ok, z3.Not(self._in_range(var.type, v)))
            return Way(ok, {**st, f"v:{t.parts[0]}": v}, env)
        r, err = self.expr(ast.Name(t.parts[0], span=t.span), env, st)
        for f in t.parts[1:-1]:
            r, err = self._read(r, f, st, err)
        f = t.parts[-1]
        alive = st[f"alive:{r.kind}"]
        info = self.sym.kinds[r.kind].field(f)
        assert info is not None
        if v is None:  # `:= none`
            assert isinstance(info.type, TRef)
            v = Ref(info.type.kind, FALSE, self.fresh(self.sorts[info.type.kind], "none"))
        err = _or([err, z3.Not(r.has), z3.Not(alive[r.obj]),
                   z3.Not(self._in_range(info.type, v)) if not isinstance(v, Ref) else FALSE])  # fmt: skip
        ok = self._fail(ok, err)
        new = dict(st)
        key = f"{r.kind}.{f}"
        if isinstance(v, Ref):
            new[f"f:{key}"] = z3.Store(st[f"f:{key}"], r.obj, v.obj)
            if f"has:{key}" in st:
                new[f"has:{key}"] = z3.Store(st[f"has:{key}"], r.obj, v.has)
        else:
            new[f"f:{key}"] = z3.Store(st[f"f:{key}"], r.obj, v)
        return Way(ok, new, env)

    def _create(self, c: ast.Create, ok: Term, st: St, env: Env) -> tuple[Term, St, Term]:
        k = c.kind
        info = self.sym.kinds[k]
        x = self.fresh(self.sorts[k], f"new_{k}")
        self.consts.append(x)
        if k not in self.unbounded:  # a fixed size keeps its capacity
            ok = self._fail(ok, self._at_least(st, k, info.size))
        given = {fi.name: fi.value for fi in c.fields}
        new = dict(st)
        for f in info.fields:
            key = f"{k}.{f.name}"
            if f.name in given or f.default is not None:
                e = given.get(f.name, f.default)
                assert e is not None
                if isinstance(e, ast.NoneLit):
                    assert isinstance(f.type, TRef)
                    e = None
                    v, err = (
                        Ref(f.type.kind, FALSE, self.fresh(self.sorts[f.type.kind], "none")),
                        FALSE,
                    )
                else:
                    v, err = self.expr(e, env, st)
                rng = FALSE if isinstance(v, Ref) else z3.Not(self._in_range(f.type, v))
                ok = self._fail(ok, _or([err, rng]))
            elif isinstance(f.type, TRef):
                v = Ref(f.type.kind, FALSE, self.fresh(self.sorts[f.type.kind], "none"))
            else:
                z = zero_value(f.type)
                v = z3.BoolVal(bool(z)) if isinstance(f.type, TBool) else z3.IntVal(z)
            if isinstance(v, Ref):
                new[f"f:{key}"] = z3.Store(st[f"f:{key}"], x, v.obj)
                if f"has:{key}" in st:
                    new[f"has:{key}"] = z3.Store(st[f"has:{key}"], x, v.has)
            else:
                new[f"f:{key}"] = z3.Store(st[f"f:{key}"], x, v)
        alive = st[f"alive:{k}"]
        ok = _and(ok, z3.Not(alive[x]), z3.Not(self.start[f"alive:{k}"][x]))
        new[f"alive:{k}"] = z3.Store(alive, x, True)
        return ok, new, x

    def _delete(self, t: ast.Expr, ok: Term, st: St, env: Env) -> Way:
        r, err = self.expr(t, env, st)
        k = r.kind
        alive = st[f"alive:{k}"]
        ok = self._fail(ok, _or([err, z3.Not(r.has), z3.Not(alive[r.obj])]))
        new = dict(st)
        new[f"alive:{k}"] = z3.Store(alive, r.obj, False)
        dangling: list[Term] = []
        for j, info in self.sym.kinds.items():
            for f in info.fields:
                if not (isinstance(f.type, TRef) and f.type.kind == k):
                    continue
                y = self.fresh(self.sorts[j], "y")
                names = st[f"f:{j}.{f.name}"][y] == r.obj
                if f.type.optional:  # cleared in every object
                    has = st[f"has:{j}.{f.name}"]
                    new[f"has:{j}.{f.name}"] = z3.Lambda([y], z3.And(has[y], z3.Not(names)))
                else:
                    other = y != r.obj if j == k else TRUE
                    dangling.append(z3.Exists([y], z3.And(st[f"alive:{j}"][y], other, names)))
        ok = self._fail(ok, _or(dangling))
        return Way(ok, new, env)

    def _for(self, s: ast.For, bs: Sequence[ast.Binder], wh: ast.Expr | None, body: ast.Block,
             w: Way) -> list[Way]:  # fmt: skip
        b = bs[0]
        if len(bs) == 1 and isinstance(b.domain, ast.RangeDomain):  # constant bounds: unrolled
            lo, _ = self.expr(b.domain.lo, w.env, w.st)
            hi, _ = self.expr(b.domain.hi, w.env, w.st)
            lo, hi = z3.simplify(lo), z3.simplify(hi)
            if wh is None and z3.is_int_value(lo) and z3.is_int_value(hi):
                ways = [w]
                for i in range(lo.as_long(), hi.as_long() + 1):
                    ways = [Way(x.ok, x.st, {**x.env, b.name: z3.IntVal(i)}) for x in ways]
                    ways = self.block(body.stmts, ways)
                return [Way(x.ok, x.st, w.env) for x in ways]
        # over objects: each object's body assigns only its own fields, read by no other one
        if len(bs) != 1 or not all(isinstance(x, ast.Assign) for x in body.stmts):
            raise Unsupported("a `for` whose body is not field assignments", s.span.line)
        written = set()
        for x in body.stmts:
            assert isinstance(x, ast.Assign)
            if len(x.target.parts) != 2 or x.target.parts[0] != b.name:
                raise Unsupported("a `for` that writes beyond its own object", s.span.line)
            written.add(x.target.parts[1])
        for n in ast.walk_nodes((wh, body)):
            if (
                isinstance(n, ast.Field)
                and n.name in written
                and not (isinstance(n.obj, ast.Name) and n.obj.id == b.name)
            ):
                raise Unsupported(
                    "a `for` that reads a field it writes in other objects", s.span.line
                )
        env, xs, dom = self._binders(bs, w.env, w.st)
        y = xs[0]
        ref = env[b.name]
        kind = ref.kind
        wv, we = self.expr(wh, env, w.st) if wh is not None else (TRUE, FALSE)
        st = w.st
        errs: list[Term] = [we]
        cur: dict[str, Term] = {}  # field -> its new value for y
        view = dict(st)
        for x in body.stmts:
            assert isinstance(x, ast.Assign)
            f = x.target.parts[1]
            v, err = self.expr(x.value, env, view)
            info = self.sym.kinds[kind].field(f)
            assert info is not None
            rng = FALSE if isinstance(v, Ref) else z3.Not(self._in_range(info.type, v))
            errs.append(z3.And(wv, _or([err, rng])))
            if isinstance(v, Ref):
                raise Unsupported("a `for` that assigns a reference", s.span.line)
            cur[f] = v
            view = {**view, f"f:{kind}.{f}": z3.Store(view[f"f:{kind}.{f}"], y, v)}
        ok = self._fail(w.ok, z3.Exists([y], z3.And(dom, _or(errs))))
        new = dict(st)
        for f, v in cur.items():
            old = st[f"f:{kind}.{f}"]
            new[f"f:{kind}.{f}"] = z3.Lambda([y], z3.If(z3.And(dom, wv), v, old[y]))
        return [Way(ok, new, w.env)]

    # ---- actions, init, goals
    def step(self, cur: St, nxt: St) -> tuple[Term, Term, list[Term]]:
        """(some action takes `cur` to `nxt`, some action instance fails in `cur`, with the
        constants the failure is existential in)."""
        moves: list[Term] = []
        fails: list[Term] = []
        consts: list[Term] = []
        self.start = cur
        for actor in self.sym.actors:
            for a in getattr(actor, "actions", ()):
                self.fails, self.consts = [], []
                env, xs, dom = self._binders(a.binders, {}, cur)
                self.consts += xs
                ok = dom
                for g in (a.where, a.when):
                    if g is not None:
                        gv, ge = self.expr(g, env, cur)
                        ok = _and(self._fail(ok, ge), gv)
                st = cur
                if isinstance(actor, ast.Fault):
                    spent = cur[f"s:{actor.name}"]
                    ok = _and(ok, spent < self._budget(actor.name))
                    st = {**cur, f"s:{actor.name}": spent + 1}
                ways = self.block(a.body.stmts, [Way(ok, st, env)])
                for w in ways:
                    eqs = [nxt[key] == w.st[key] for key in nxt]
                    moves.append(z3.And(w.ok, *eqs))
                fails.append(_or(self.fails))
                consts += self.consts
        return _or(moves), _or(fails), consts

    def initial(self, st: St) -> tuple[Term, Term]:
        start: St = {}
        for key, v in st.items():
            if key.startswith("alive:"):
                start[key] = z3.K(self.sorts[key[6:]], False)
            elif key.startswith("s:"):
                start[key] = z3.IntVal(0)
            elif key.startswith("v:"):
                var = self.sym.vars[key[2:]]
                val, _ = self.expr(var.decl.init, {}, {})
                start[key] = val
            else:
                start[key] = v  # no object lives: field values are irrelevant
        self.fails, self.consts, self.start = [], [], start
        ways = self.block(tuple(s for i in self.sym.inits for s in i.body.stmts),
                          [Way(TRUE, start, {})])  # fmt: skip
        fail = _or(self.fails)
        return _or([z3.And(w.ok, *[st[k] == w.st[k] for k in st]) for w in ways]), fail


def prove_unbounded(
    sym: Symbols,
    shown: Callable[[dict[str, int]], Symbols],
    sizes: dict[str, int],
    max_k: int,
    invariants: Sequence[str] | None,
    timeout_s: float,
) -> tuple[list[PropertyResult], list[str], int]:
    """k-induction of "well-formed, every invariant, no step fails" for any number of objects
    of the kinds the consts `sizes` (name -> smallest value) size; (entries, notes, deepest k).
    `shown(values)` is `sym` with the sizes as params at those values, for a witness."""
    kinds = {k for k, i in sym.kinds.items() if ast.names_in(i.decl.size) & set(sizes)}
    skip = frozenset(i.name for i in sym.invariants) - set(names_of(sym, invariants))
    enc = Steps(sym, kinds, set(sizes), skip)
    deadline = Deadline(timeout_s)
    states = [enc.state(f"u{i}") for i in range(max_k + 1)]
    steps = [enc.step(states[i], states[i + 1] if i < max_k else enc.state("u_next"))
             for i in range(max_k + 1)]  # fmt: skip
    init, init_fail = enc.initial(states[0])
    invs = [i for i in sym.invariants if i.name not in skip]
    names = names_of(sym, invariants)

    def violations(i: int) -> list[Term]:
        out = []
        for inv in invs:
            v, err = enc.expr(inv.expr, {}, states[i])
            out.append(z3.Or(z3.Not(v), err))
        return out

    def good(i: int) -> Term:
        return z3.And(enc.well_formed(states[i]), z3.Not(_or(violations(i))))

    def entries(status: str, why: str, k: int = 0) -> list[PropertyResult]:
        out = []
        for n in names:
            inv = next(i for i in invs if i.name == n)
            proof = Proof(k, (), tuple(i.name for i in invs), "proved") if status == HOLDS else None
            out.append(PropertyResult(n, "invariant", status, inv.span.line, None, why, ENGINE,
                                      proof))  # fmt: skip
        return out

    what = ", ".join(sorted(kinds))
    base = new_solver()
    base.add(init)
    answer, _ = check(base, init_fail, deadline)
    if answer != "unsat":
        why = "`init` may fail" if answer == "sat" else f"Z3 answered unknown ({answer})"
        return entries(INCONCLUSIVE, f"not proved for any number of objects: {why}"), [], 0
    for k in range(1, max_k + 1):
        d = k - 1
        if d > 0:
            base.add(steps[d - 1][0])
        answer, m = check(base, z3.Or(z3.Not(good(d)), steps[d][1]), deadline)
        if answer == "sat":
            # which goal: a Z3 model does not evaluate quantifiers, so ask one at a time
            target: str | None = None
            for inv, bad in zip(invs, violations(d), strict=True):
                answer, m = check(base, bad, deadline)
                if answer == "sat":
                    target = inv.name
                    break
            else:
                answer, m = check(base, steps[d][1], deadline)
            if answer != "sat":
                why = (f"a state that breaks well-formedness is reached in {d} steps (a kcheck "
                       "bug)" if answer == "unsat" else f"Z3 answered unknown ({answer})")  # fmt: skip
                return entries(INCONCLUSIVE, f"not proved for any number of objects: {why}"), [], k
            return _refuted(sym, shown, enc, m, states, d, sizes, kinds, names, invs, target,
                            deadline), [], k  # fmt: skip
        if answer != "unsat":
            return entries(INCONCLUSIVE, f"Z3 answered unknown ({answer}) at k = {k}"), [], k
        solver = new_solver()
        for i in range(k):
            solver.add(good(i), z3.ForAll(steps[i][2], z3.Not(steps[i][1])) if steps[i][2]
                       else z3.Not(steps[i][1]), steps[i][0])  # fmt: skip
        answer, _ = check(solver, z3.Or(z3.Not(good(k)), steps[k][1]), deadline)
        if answer == "unsat":
            why = f"proved (k = {k}) for any number of objects of {what}"
            note = (f"kinds {what} are uninterpreted sorts: a proof holds for every number of "
                    "their objects (at a fixed size only a `no-free-slot` bound can be reached)")  # fmt: skip
            return entries(HOLDS, why, k), [note], k
        if answer != "sat":
            return entries(INCONCLUSIVE, f"Z3 answered unknown ({answer}) at k = {k}"), [], k
    why = (f"not proved for any number of objects: not inductive for k <= {max_k} (no violation "
           f"in {max_k - 1} steps); try --size with an upper bound")  # fmt: skip
    return entries(INCONCLUSIVE, why), [], max_k


def names_of(sym: Symbols, invariants: Sequence[str] | None) -> list[str]:
    """The selected invariants, and the lemmas (assumed by no proof here: proved with them)."""
    if invariants is None:
        return [i.name for i in sym.invariants]
    return [i.name for i in sym.invariants if i.name in invariants or i.lemma]


def _refuted(
    sym: Symbols,
    shown: Callable[[dict[str, int]], Symbols],
    enc: Steps,
    m: Any,
    states: list[St],
    d: int,
    sizes: dict[str, int],
    kinds: set[str],
    names: list[str],
    invs: list[ast.Invariant],
    target: str | None,
    deadline: Deadline,
) -> list[PropertyResult]:
    """A state reachable in `d` steps breaks the goal, with some number of objects: replayed at
    that number with the concrete BMC (params.witness) before it is reported."""
    values: dict[str, int] = {}
    for name, lo in sizes.items():
        n = lo
        for k in kinds:
            if name not in ast.names_in(sym.kinds[k].decl.size):
                continue
            universe = m.get_universe(enc.sorts[k]) or []
            ever = [e for e in universe
                    if any(z3.is_true(m.eval(states[i][f"alive:{k}"][e], model_completion=True))
                           for i in range(d + 1))]  # fmt: skip
            n = max(n, len(ever))
        values[name] = n
    steps_needed = d if target is not None else d + 1
    entry = witness(shown(values), values, target, steps_needed, deadline.remaining())
    entry = replace(entry, engine=ENGINE)
    out: list[PropertyResult] = []
    for name in names:
        inv = next(i for i in invs if i.name == name)
        if name == target:
            out.append(replace(entry, reason=_found(entry.reason)))
        else:
            why = f"not proved for any number of objects: {target or 'a step'} fails first"
            out.append(
                PropertyResult(name, "invariant", INCONCLUSIVE, inv.span.line, None, why, ENGINE)
            )
    if target is None:
        out.append(replace(entry, reason=_found(entry.reason)))
    return out


def _found(reason: str | None) -> str:
    """Witness's reason, for a size found by the unbounded search (not the smallest)."""
    text = re.sub(r"\(the smallest failing params within \d+ steps\)", "", reason or "").strip()
    return f"{text} (found for any number of objects, replayed at that size)"
