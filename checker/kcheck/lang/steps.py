"""`step` inside `if`, `for` and `choose` (spec/language.md "Steps inside blocks"): where it may
stand, and the lowering of such an action into flat segments that every engine already runs.

An action whose `step`s all stand directly in its body is cut at them (model/controller_state.py).
One with a `step` inside a block is a small state machine instead. Its **resume points** are
numbered: 0 is the action's start, 1..n are its `step`s in source order, and n+1.. are the
loops with a `step` in their body, in source order (a loop's "next item" point). The segment of
a resume point is the code that runs from there, in one atomic step, up to the next `step` on
each path: the rest of the block the point stands in, then the rest of every enclosing block,
with the branches of an `if` each carrying their own copy of what follows. Every path of a
segment ends in a `Jump` (never parsed): the resume point to go on from (saved in the state with
the locals that point reads), or 0 when the action is done.

A `for x in D where c { ... step ... }` takes its list once, when it starts (`{x in D where c}`,
read like any `for`'s domain: from the cache for a stale controller), keeps what it has not
visited in a hidden local (`for@LINE:COL`), and visits one item at a time, in an order it
leaves open (a lister promises none; every order is explored, which keeps symmetry sound). An
item deleted before its turn drops out of the list, as a `for` skips an object deleted earlier
in its loop. An iteration that reaches the end of the body without a `step` ends its atomic
step there: the next item is picked up by a step of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic


@dataclass(frozen=True)
class _Frame:
    """A frame of a continuation: the rest of a block, or the end of a loop's body."""

    rest: tuple[ast.Stmt, ...] = ()
    loop: ast.For | None = None
    fresh: bool = False  # the loop's iteration began in this segment: its end is a new step
    scope: frozenset[str] = frozenset()  # the locals in scope where this frame goes on


@dataclass(frozen=True)
class Lowered:
    """An action with `step` inside a block, as flat segments: `segments[i]` runs from resume
    point i; `needs[i]` are the locals it reads that an earlier segment left (saved at the
    `Jump` to i); `spans[i]` locates the point (the action, a `step`, a loop)."""

    segments: tuple[tuple[ast.Stmt, ...], ...]
    needs: tuple[tuple[str, ...], ...]
    spans: tuple[ast.Span, ...]

    @property
    def carried(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(n for ns in self.needs for n in ns))


def head_span(span: ast.Span, width: int) -> ast.Span:
    """The keyword at the start of a statement."""
    return ast.Span(span.line, span.col, span.line, span.col + width)


def steps_of(stmts: tuple[ast.Stmt, ...]) -> list[ast.Step]:
    """Every `step` of a body, nested ones included, in source order."""
    return [s for s in ast.walk_stmts(stmts) if isinstance(s, ast.Step)]


def nested_step(a: ast.Action) -> bool:
    """Whether a `step` of the action stands inside a block."""
    return len(steps_of(a.body.stmts)) > sum(isinstance(s, ast.Step) for s in a.body.stmts)


def _has_step(s: ast.Stmt) -> bool:
    return bool(steps_of((s,)))


def todo_name(f: ast.For) -> str:
    """The hidden local of a loop with `step`: the items it has still to visit."""
    return f"for@{f.span.line}:{f.span.col}"


def loops_of(stmts: tuple[ast.Stmt, ...]) -> list[ast.For]:
    """The loops with a `step` in their body, in source order."""
    return [s for s in ast.walk_stmts(stmts) if isinstance(s, ast.For) and _has_step(s)]


def placement(a: ast.Action) -> list[Diagnostic]:
    """`step` where the lowering cannot take it: in a `create ... else` block, or in a `for`
    that is not over one kind or set (its items are visited one at a time, remembered as a set
    of objects)."""
    out: list[Diagnostic] = []
    for s in ast.walk_stmts(a.body.stmts):
        if isinstance(s, ast.CreateStmt) and s.otherwise is not None:
            for st in steps_of(s.otherwise.stmts):
                out.append(
                    Diagnostic(
                        "KC0502",
                        "`step` is not allowed in a `create ... else` block",
                        head_span(st.span, len("step")),
                        notes=("the `else` block runs in the step of the failed create",),
                        help="set a local in the `else` block and test it with `if` after it",
                    )
                )
        if isinstance(s, ast.For) and _has_step(s):
            bs = s.binders
            if len(bs) != 1 or not isinstance(bs[0].domain, ast.ExprDomain):
                out.append(
                    Diagnostic(
                        "KC0502",
                        "a `for` with `step` in its body needs one binder over a kind or a set",
                        head_span(s.span, len("for")),
                        notes=(
                            "its items are visited one step at a time and remembered as a "
                            "set of objects between steps",
                        ),
                        help="nest one `for` per binder, or move the `step` out of the loop",
                    )
                )
    return out


class _Lowering:
    def __init__(self, a: ast.Action) -> None:
        self.steps = steps_of(a.body.stmts)
        self.loops = loops_of(a.body.stmts)
        self.number = {id(s): i + 1 for i, s in enumerate(self.steps)}
        n = len(self.steps)
        self.number.update({id(f): n + 1 + i for i, f in enumerate(self.loops)})
        count = 1 + n + len(self.loops)
        self.start: list[list[_Frame] | None] = [None] * count  # continuation at each point
        self.scope: list[frozenset[str]] = [frozenset()] * count
        self.spans: list[ast.Span] = [a.span] + [s.span for s in self.steps]
        self.spans += [f.span for f in self.loops]

    def gen(
        self, stmts: tuple[ast.Stmt, ...], k: list[_Frame], scope: frozenset[str]
    ) -> tuple[ast.Stmt, ...]:
        """The code of `stmts` followed by the continuation `k`, up to the next `step` on each
        path; `scope` is the locals bound here."""
        out: list[ast.Stmt] = []
        for i, s in enumerate(stmts):
            if isinstance(s, ast.Let):
                scope = scope | {s.name}
            if not _has_step(s):
                out.append(s)
                continue
            k2 = [_Frame(stmts[i + 1 :], scope=scope), *k] if stmts[i + 1 :] else k
            match s:
                case ast.Step():
                    j = self.number[id(s)]
                    self.start[j], self.scope[j] = [_unfresh(f) for f in k2], scope
                    out.append(ast.Jump(j, s.span))
                case ast.If(cond=c, then=t, else_=e):
                    else_ = () if e is None else (e,) if isinstance(e, ast.If) else e.stmts
                    out.append(
                        ast.If(
                            c,
                            ast.Block(self.gen(t.stmts, k2, scope), t.span),
                            ast.Block(self.gen(else_, k2, scope), s.span),
                            s.span,
                        )
                    )
                case ast.Choose(binders=bs, where=w, body=b):
                    inner = scope | {x.name for x in bs}
                    out.append(ast.Choose(bs, w, ast.Block(self.gen(b.stmts, k2, inner)), s.span))
                case ast.For(binders=(x,), where=w, body=b):
                    todo = todo_name(s)
                    out.append(ast.Let(todo, ast.SetBuilder(x, w, s.span), s.span, s.span))
                    j = self.number[id(s)]
                    self.start[j] = [_unfresh(f) for f in k2]
                    self.scope[j] = scope | {todo}
                    out += self.head(s, k2, scope | {todo})
                case _:  # placement() refuses the rest
                    raise AssertionError(f"`step` in {type(s).__name__}")
            return tuple(out)
        return (*out, *self.cont(k, scope))

    def cont(self, k: list[_Frame], scope: frozenset[str]) -> tuple[ast.Stmt, ...]:
        """What runs when a block ends: the rest of the enclosing block, the next item of an
        enclosing loop, or the action is done."""
        if not k:
            return (ast.Jump(0),)
        f, rest = k[0], k[1:]
        if f.loop is None:
            return self.gen(f.rest, rest, f.scope)
        if f.fresh:  # an iteration that took no `step` ends here; the next one is a new step
            return (ast.Jump(self.number[id(f.loop)], f.loop.span),)
        return self.head(f.loop, rest, f.scope)

    def head(self, f: ast.For, k: list[_Frame], scope: frozenset[str]) -> tuple[ast.Stmt, ...]:
        """A loop's next item: any one not visited yet, or, with none left, what follows it."""
        x = f.binders[0]
        todo = todo_name(f)
        sp = f.span
        pick = ast.Let(
            todo,
            ast.Binary("-", ast.Name(todo, sp), ast.SetLit((ast.Name(x.name, sp),), sp), sp, sp),
            sp,
            sp,
        )
        inner = scope | {x.name}
        body = self.gen(f.body.stmts, [_Frame(loop=f, fresh=True, scope=scope), *k], inner)
        each = ast.Binder(x.name, ast.ExprDomain(ast.Name(todo, sp), sp), x.name_span, x.span)
        return (
            ast.If(
                ast.Binary("!=", ast.Name(todo, sp), ast.SetLit((), sp), sp, sp),
                ast.Block((ast.Choose((each,), None, ast.Block((pick, *body), sp), sp),), sp),
                ast.Block(self.cont(k, scope), sp),
                sp,
            ),
        )


def _unfresh(f: _Frame) -> _Frame:
    return _Frame(f.rest, f.loop, False, f.scope)


def lower(a: ast.Action, keep: frozenset[str] = frozenset()) -> Lowered:
    """The segments of an action with `step` inside a block. `keep` are names never saved
    (the action's binder: it is the key its in-flight state is kept under)."""
    low = _Lowering(a)
    segs: list[tuple[ast.Stmt, ...]] = [low.gen(a.body.stmts, [], frozenset())]
    for j in range(1, len(low.start)):
        k = low.start[j]
        assert k is not None, "every resume point is reached by the walk"
        if j <= len(low.steps):
            segs.append(low.cont(k, low.scope[j]))
        else:  # a loop's next item
            f = low.loops[j - 1 - len(low.steps)]
            segs.append(low.head(f, k, low.scope[j]))
    # a point needs what its segment reads and what the points it jumps to need, unless its
    # own path binds it first (a loop's item, picked anew): a least fixpoint
    reads: dict[int, frozenset[str]] = {}
    changed = True
    while changed:
        changed = False
        for j in range(1, len(segs)):
            new = frozenset((free_names(segs[j], frozenset(), reads) & low.scope[j]) - keep)
            if new != reads.get(j, frozenset()):
                reads[j], changed = new, True
    needs = [tuple(sorted(reads.get(j, ()))) for j in range(len(segs))]
    needs[0] = ()  # the start reads only the action's header
    return Lowered(tuple(segs), tuple(needs), tuple(low.spans))


def free_names(
    node: object,
    bound: frozenset[str] = frozenset(),
    jumps: dict[int, frozenset[str]] | None = None,
) -> set[str]:
    """The names `node` reads that it does not bind itself (a `let` binds for the statements
    after it, a binder for its `where` and body): what a segment needs from before it. A name
    rebound before it is read (a loop's item, picked anew) is not needed. A `Jump` reads what
    its target needs (`jumps`)."""
    jumps = {} if jumps is None else jumps
    if isinstance(node, tuple):
        out: set[str] = set()
        for x in node:
            out |= free_names(x, bound, jumps)
            if isinstance(x, ast.Let):
                bound = bound | {x.name}
        return out
    match node:
        case ast.Jump(target=t):
            return set(jumps.get(t, frozenset())) - bound
        case ast.Name(id=n):
            return set() if n in bound else {n}
        case ast.LValue(parts=parts, index=i):
            head = set() if parts[0] in bound else {parts[0]}
            return head | free_names(i, bound, jumps)
        case ast.Binder(domain=d):
            return free_names(d, bound, jumps)
        case ast.SetBuilder(binder=b, where=w):
            return free_names(b, bound, jumps) | free_names(w, bound | {b.name}, jumps)
        case _ if hasattr(node, "binders") and hasattr(node, "__dataclass_fields__"):
            bs: tuple[ast.Binder, ...] = node.binders
            inner = bound | {b.name for b in bs}
            out = free_names(bs, bound, jumps)
            for f in node.__dataclass_fields__:
                if f != "binders" and "span" not in f:
                    out |= free_names(getattr(node, f), inner, jumps)
            return out
        case _ if hasattr(node, "__dataclass_fields__"):
            out = set()
            for f in node.__dataclass_fields__:
                if "span" not in f:
                    out |= free_names(getattr(node, f), bound, jumps)
            return out
    return set()
