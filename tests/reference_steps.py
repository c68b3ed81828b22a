"""The reference interpreter's `step` inside `if`, `for` and `choose` (spec/language.md, "Steps
inside blocks"), written from the spec with an explicit continuation, not from the compiler's
lowering (checker/kcheck/lang/steps.py).

A running action is a stack of frames: the rest of a block (with the locals of that block), or
the end of a loop's body (with the loop's unvisited items). A `step` stops the run; the stack is
kept in the state, with the resume point's number (the `step`'s place in source order, or a
loop's, after every `step`) and the locals the rest of the action reads before it binds them
anew, which are what the compiled state shows. A loop takes its list once, visits one item at a
time in any order, and an iteration that ends without a `step` ends its atomic step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kcheck.lang import ast

if TYPE_CHECKING:
    from tests.reference import Interpreter, RState

# a frame: ("seq", stmts, i, env) the rest stmts[i:] in env; ("loop", for, env) the end of an
# iteration of `for` whose outside env (with its unvisited items) is env; ("head", for, env):
# the loop's next item. An env is a tuple of sorted (name, (value, kind)) pairs, to be hashable.
Frame = tuple[Any, ...]
K = tuple[Frame, ...]
Env = dict[str, Any]


def _steps(stmts: tuple[ast.Stmt, ...]) -> list[ast.Step]:
    out: list[ast.Step] = []
    for s in stmts:
        match s:
            case ast.Step():
                out.append(s)
            case ast.If(then=t, else_=e):
                out += _steps(t.stmts)
                if isinstance(e, ast.If):
                    out += _steps((e,))
                elif isinstance(e, ast.Block):
                    out += _steps(e.stmts)
            case ast.For(body=b) | ast.Choose(body=b):
                out += _steps(b.stmts)
    return out


def _loops(stmts: tuple[ast.Stmt, ...]) -> list[ast.For]:
    out: list[ast.For] = []
    for s in stmts:
        match s:
            case ast.If(then=t, else_=e):
                out += _loops(t.stmts)
                if isinstance(e, ast.If):
                    out += _loops((e,))
                elif isinstance(e, ast.Block):
                    out += _loops(e.stmts)
            case ast.For(body=b):
                if _steps(b.stmts):
                    out.append(s)
                out += _loops(b.stmts)
            case ast.Choose(body=b):
                out += _loops(b.stmts)
    return out


def nested(a: ast.Action) -> bool:
    """A `step` of the action stands inside a block."""
    return len(_steps(a.body.stmts)) > sum(isinstance(s, ast.Step) for s in a.body.stmts)


def todo(f: ast.For) -> str:
    return f"for@{f.span.line}:{f.span.col}"


def _reads(node: Any, bound: frozenset[str]) -> set[str]:
    """Names read by `node` and not bound by it first."""
    if isinstance(node, tuple):
        out: set[str] = set()
        for x in node:
            out |= _reads(x, bound)
            if isinstance(x, ast.Let):
                bound = bound | {x.name}
        return out
    if isinstance(node, ast.Name):
        return set() if node.id in bound else {node.id}
    if isinstance(node, ast.LValue):
        return ({node.parts[0]} - bound) | _reads(node.index, bound)
    if not hasattr(node, "__dataclass_fields__"):
        return set()
    out = set()
    binders = getattr(node, "binders", None)
    if isinstance(node, ast.SetBuilder):
        binders = (node.binder,)
    inner = bound | {b.name for b in binders or ()}
    for f in node.__dataclass_fields__:
        if "span" in f:
            continue
        v = getattr(node, f)
        if f in ("binders", "binder"):
            out |= _reads(tuple(b.domain for b in (v if f == "binders" else (v,))), bound)
        else:
            out |= _reads(v, inner)
    return out


class Nested:
    """Runs one action with `step` inside a block."""

    def __init__(self, interp: Interpreter, a: ast.Action) -> None:
        self.i = interp
        self.a = a
        steps = _steps(a.body.stmts)
        # by place, not identity: the state keeps (deep copies of) the statements
        self.number = {_at(s): n + 1 for n, s in enumerate(steps)}
        self.number |= {_at(f): len(steps) + 1 + n for n, f in enumerate(_loops(a.body.stmts))}

    def start(self, env: Env, st: RState) -> list[tuple[int, Env, K, RState]]:
        return self.run(self.a.body.stmts, 0, env, (), st)

    def resume(self, k: K, st: RState) -> list[tuple[int, Env, K, RState]]:
        return self.cont(k, st)

    def run(
        self, stmts: tuple[ast.Stmt, ...], i: int, env: Env, k: K, st: RState
    ) -> list[tuple[int, Env, K, RState]]:
        """Run stmts[i:] then the continuation k; each way ends at a resume point (0: done),
        with the env there, the continuation to resume with, and the state."""
        while i < len(stmts):
            s = stmts[i]
            if not _steps((s,)):
                out = []
                for env2, st2 in self.i.block((s,), env, st):
                    out += self.run(stmts, i + 1, env2, k, st2)
                return out
            after: K = (("seq", stmts, i + 1, _frz(env)), *k)
            match s:
                case ast.Step():
                    return [(self.number[_at(s)], env, _settled(after), st)]
                case ast.If(cond=c, then=t, else_=e):
                    if self.i.eval(c, env, st):
                        branch: tuple[ast.Stmt, ...] = t.stmts
                    else:
                        branch = () if e is None else (e,) if isinstance(e, ast.If) else e.stmts
                    return self.run(branch, 0, env, after, st)
                case ast.Choose(binders=bs, where=w, body=b):
                    out = []
                    for e2 in self.i.bindings(bs, None, env, st):
                        st2 = _copy(st)
                        try:  # each choice is its own step: one that fails hides no other
                            if w is not None and not self.i.eval(w, e2, st2):
                                continue
                            out += self.run(b.stmts, 0, e2, after, st2)
                        except _ref_error() as err:
                            self.i.failed.add(err.code)
                    return out
                case ast.For(binders=(x,), where=w, body=_):
                    items = self.i.terms((x,), w, env, st, lambda e2: e2[x.name])
                    kind = items[0][1] if items else None
                    if kind is None:
                        kind = _kind_of_domain(self.i, x.domain, env)
                    mask = sum(1 << v for v, _ in items)
                    return self.head(s, {**env, todo(s): (mask, kind)}, after, st)
            raise NotImplementedError(type(s).__name__)
        return self.cont(k, st)

    def head(self, f: ast.For, env: Env, k: K, st: RState) -> list[tuple[int, Env, K, RState]]:
        """The loop's next item: any one left, or what follows the loop."""
        mask, kind = env[todo(f)]
        if not mask:
            return self.cont(k, st)
        x = f.binders[0].name
        out = []
        for slot in range(mask.bit_length()):
            if mask >> slot & 1:
                outside = {**env, todo(f): (mask & ~(1 << slot), kind)}
                e2 = {**outside, x: (slot, kind)}
                frame = ("loop", f, "fresh", _frz(outside))
                st2 = _copy(st)
                try:
                    out += self.run(f.body.stmts, 0, e2, (frame, *k), st2)
                except _ref_error() as err:
                    self.i.failed.add(err.code)
        return out

    def cont(self, k: K, st: RState) -> list[tuple[int, Env, K, RState]]:
        if not k:
            return [(0, {}, (), st)]
        f, rest = k[0], k[1:]
        if f[0] == "seq":
            return self.run(f[1], f[2], dict(f[3]), rest, st)
        if f[0] == "head":
            return self.head(f[1], dict(f[2]), rest, st)
        # the end of an iteration: without a `step` in it, the next item is a step of its own
        loop, fresh, outside = f[1], f[2], dict(f[3])
        if fresh == "fresh":
            return [(self.number[_at(loop)], outside, (("head", loop, _frz(outside)), *rest), st)]
        return self.head(loop, outside, rest, st)

    def needs(self, k: K) -> set[str]:
        """The locals the rest of the action reads before binding them anew."""
        out: set[str] = set()
        for f in k:
            if f[0] == "seq":
                out |= _reads(f[1][f[2] :], frozenset())
            elif f[0] in ("loop", "head"):
                loop = f[1]
                out |= {todo(loop)} | _reads(loop.body.stmts, frozenset({loop.binders[0].name}))
        return out


def _at(s: ast.Stmt) -> tuple[int, int]:
    return (s.span.line, s.span.col)


def _settled(k: K) -> K:
    """After a `step`, an iteration under way is no longer fresh."""
    return tuple(("loop", f[1], "old", *f[3:]) if f[0] == "loop" else f for f in k)


def _frz(env: Env) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(env.items()))


def _copy(st: RState) -> RState:
    from tests.reference import clone

    return clone(st)


def _ref_error() -> type[Exception]:
    from tests.reference import RefError

    return RefError


def _kind_of_domain(interp: Interpreter, d: ast.Domain, env: Env) -> str | None:
    named = isinstance(d, ast.ExprDomain) and isinstance(d.expr, ast.Name)
    if named and d.expr.id in interp.sym.kinds:  # type: ignore[union-attr]
        return d.expr.id  # type: ignore[union-attr]
    return None


def override(k: K, saved: dict[str, Any]) -> K:
    """The continuation with the saved locals' current values (a delete may have changed
    them while the action waited)."""

    def env(e: tuple[tuple[str, Any], ...]) -> tuple[tuple[str, Any], ...]:
        return tuple((n, (saved[n], v[1]) if n in saved else v) for n, v in e)

    out: list[Frame] = []
    for f in k:
        if f[0] == "seq" or f[0] == "loop":
            out.append((f[0], f[1], f[2], env(f[3])))
        else:
            out.append((f[0], f[1], env(f[2])))
    return tuple(out)
