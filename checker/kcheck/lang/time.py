"""Parsed AST -> parsed AST without time (spec/language.md §3, "Time: clocks, `tick`, `within`,
`skew`").

Discrete time is lowered here, after actor locals (lang/actor_locals.py) and before names
resolve, into constructs every engine already runs, so the explicit search, the generated C,
the Z3 engines, `kcheck run` and the reference interpreter all agree on it by construction:

    var age: clock = 0              var age: 0..CAP = 0       CAP = (largest constant that any
                                                              comparison of `age` names) + 1
    after(age, LEASE)               age >= LEASE
    action a when c within N {..}   + var A.a.waited: 0..N, reset when `a` fires
    (generated)                     process time { action tick when <no deadline due> {
                                      A.a.waited := ...; age := min(age + 1, CAP); ... } }
    process A skew B { ... }        + fault A_clock budget B { action misses_tick (a tick that
                                      A's clocks do not see), action gains_tick (A's clocks
                                      alone advance) }

A clock is an integer "digital" clock that stops at CAP: it may only be compared with a
constant or reset to 0, so every comparison gives the same answer as on the unbounded clock
(the region argument for integer clocks) and the state space stays finite. Every other use is
reported here, located, with a hint.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any

from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic

CLOCK = "clock"
# the generated actor and action whose steps are the passing of time (kcheck/trace.py counts them)
TIME_ACTOR = "time"
TICK = "tick"
MISSES_TICK = "misses_tick"  # a skewed actor's clocks stand still while time passes
GAINS_TICK = "gains_tick"  # a skewed actor's clocks advance while time does not
CMP_OPS = ("==", "!=", "<", "<=", ">", ">=")
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_CONST_FUNCS = ("min", "max", "abs", "ceil")
_WHY = "a clock only counts up to one past the largest constant it is compared with"


def skew_fault(actor: str) -> str:
    """The name of the generated fault that spends `actor`'s skew budget."""
    return f"{actor}_clock"


def waited_var(actor: str, action: str) -> str:
    """The generated var counting the ticks an action with `within` has been enabled."""
    return f"{actor}.{action}.waited"


Clock = tuple[str, str]  # ("var", name) or ("field", field name)


@dataclass
class _Time:
    program: ast.Program
    diags: list[Diagnostic]
    clock_vars: dict[str, ast.Var]
    clock_fields: dict[str, list[tuple[ast.Kind, ast.FieldDecl]]]
    consts: set[str]
    params: dict[str, ast.Param]
    has_after_def: bool
    bounds: dict[Clock, list[ast.Expr]]

    def error(self, code: str, msg: str, span: ast.Span, **kw: Any) -> None:
        self.diags.append(Diagnostic(code, msg, span, **kw))


def _clock_is_builtin(program: ast.Program) -> bool:
    """`clock` is the built-in type unless the model names a kind or an enum so."""
    return not any(isinstance(d, ast.Kind | ast.Enum) and d.name == CLOCK for d in program.decls)


def uses_time(program: ast.Program) -> bool:
    """Does the model declare a clock, a `within` or a `skew`? (Else nothing is lowered.)"""
    builtin = _clock_is_builtin(program)
    for n in ast.walk_nodes(program.decls):
        if builtin and isinstance(n, ast.NamedType) and n.name == CLOCK:
            return True
        if isinstance(n, ast.Action) and n.within is not None:
            return True
        if isinstance(n, ast.Controller | ast.Process) and n.skew is not None:
            return True
    return False


def lower_time(program: ast.Program) -> tuple[ast.Program, list[Diagnostic]]:
    """`program` with its clocks made bounded ints and time passing by generated actions (the
    same object when the model has no time), and the errors of their use."""
    if not uses_time(program):
        return program, _tick_names_free(program)
    builtin = _clock_is_builtin(program)
    t = _Time(
        program,
        [],
        {
            d.name: d
            for d in program.decls
            if builtin and isinstance(d, ast.Var) and _is_clock(d.type)
        },
        {},
        {d.name for d in program.decls if isinstance(d, ast.Const)},
        {d.name: d for d in program.decls if isinstance(d, ast.Param)},
        any(isinstance(d, ast.Def) and d.name == "after" for d in program.decls),
        {},
    )
    _collect_fields(t)
    _names_free(t)
    decls = [_rewrite(t, d) for d in program.decls]
    decls = [_typed(t, d) for d in decls]
    deadlines = _deadlines(t, decls)
    counted = {(dl.actor, dl.action.name) for dl in deadlines if _counted(dl)}
    decls = [_with_waited_reset(d, counted) for d in decls]
    decls += _generated(t, decls, deadlines)
    labels = tuple(f"{dl.actor}.{dl.action.name}" for dl in deadlines)
    lowered = replace(program, decls=tuple(_lowered(d) for d in decls), deadlines=labels)
    return lowered, t.diags


def _lowered(d: Any) -> Any:
    """`skew` and `within` cleared once their meaning is in the generated actions: no later pass
    reads them (and the Z3 engine refuses what it does not read)."""
    if isinstance(d, ast.Controller | ast.Process):
        acts = tuple(replace(a, within=None) for a in d.actions)
        return replace(d, skew=None, actions=acts)
    if isinstance(d, ast.Scheduler | ast.Fault):
        return replace(d, actions=tuple(replace(a, within=None) for a in d.actions))
    return d


def _is_clock(ty: ast.TypeExpr) -> bool:
    return isinstance(ty, ast.NamedType) and ty.name == CLOCK


def _collect_fields(t: _Time) -> None:
    other: dict[str, ast.Kind] = {}
    for d in t.program.decls if _clock_is_builtin(t.program) else ():
        if isinstance(d, ast.Kind):
            for f in d.fields:
                if _is_clock(f.type):
                    t.clock_fields.setdefault(f.name, []).append((d, f))
                else:
                    other.setdefault(f.name, d)
    for name, uses in t.clock_fields.items():
        if name in other:
            kind, f = uses[0]
            t.error(
                "KC0301",
                f"field `{name}` is a clock in kind `{kind.name}` and not in kind "
                f"`{other[name].name}`",
                f.name_span,
                notes=("a clock field's name must be a clock in every kind that has it",),
                help="rename one of the two fields",
            )
        for _, f in uses:
            if f.key:
                t.error("KC0301", f"clock `{name}` cannot be a key field", f.name_span,
                        help="a name never changes; a clock does")  # fmt: skip
            if f.default is not None and not _is_zero(f.default):
                t.error("KC0301", f"clock `{name}` starts at 0", _span(f.default),
                        help="drop the default, or write `= 0`")  # fmt: skip
    for v in t.clock_vars.values():
        if not _is_zero(v.init):
            t.error("KC0301", f"clock `{v.name}` starts at 0", _span(v.init),
                    help=f"write `var {v.name.rsplit('.', 1)[-1]}: clock = 0`")  # fmt: skip


def _names_free(t: _Time) -> None:
    """The generated actors' names must not be taken: `time`, and `A_clock` per skewed actor."""
    wanted = {TIME_ACTOR: "the built-in `tick`"}
    for d in t.program.decls:
        if isinstance(d, ast.Controller | ast.Process) and d.skew is not None:
            wanted[skew_fault(d.name)] = f"the skew budget of `{d.name}`"
    for d in t.program.decls:
        name = getattr(d, "name", None)
        if isinstance(name, str) and name in wanted and not isinstance(d, ast.Var):
            t.error(
                "KC0207",
                f"`{name}` is the name of {wanted[name]} in a model with time",
                getattr(d, "name_span", d.span),
                help="rename this declaration",
            )


def _tick_names_free(program: ast.Program) -> list[Diagnostic]:
    """In a model without time, no action may be named as a tick is (`time.tick`, or
    `misses_tick` of an `A_clock`): traces count the steps so named as time passing
    (kcheck/trace.py), so such an action would show a time column in an untimed model."""
    out: list[Diagnostic] = []
    for d in program.decls:
        if not isinstance(d, ast.Controller | ast.Process | ast.Scheduler | ast.Fault):
            continue
        for a in d.actions:
            if (d.name, a.name) == (TIME_ACTOR, TICK) or (
                d.name.endswith("_clock") and a.name == MISSES_TICK
            ):
                out.append(Diagnostic(
                    "KC0207", f"`{d.name}.{a.name}` is the name of a generated tick",
                    getattr(a, "name_span", a.span),
                    notes=("traces count the steps of an action so named as time passing "
                           "(spec/language.md, Time)",),
                    help="rename the action (or the declaration)"))  # fmt: skip
    return out


def _is_zero(e: ast.Expr) -> bool:
    return isinstance(e, ast.IntLit) and e.value == 0


def _span(e: Any) -> ast.Span:
    span = getattr(e, "span", None)
    return span if isinstance(span, ast.Span) else ast.NOWHERE


def _clock_of(t: _Time, e: Any) -> Clock | None:
    if isinstance(e, ast.Name) and e.id in t.clock_vars:
        return ("var", e.id)
    if isinstance(e, ast.Field) and e.name in t.clock_fields:
        return ("field", e.name)
    return None


def _clock_target(t: _Time, lv: ast.LValue) -> Clock | None:
    if len(lv.parts) == 1 and lv.index is None and lv.parts[0] in t.clock_vars:
        return ("var", lv.parts[0])
    if (len(lv.parts) > 1 or lv.index is not None) and lv.parts[-1] in t.clock_fields:
        return ("field", lv.parts[-1])
    return None


def _show(c: Clock) -> str:
    return c[1].rsplit(".", 1)[-1] if c[0] == "var" else c[1]


def _bound(t: _Time, e: ast.Expr) -> ast.Expr | None:
    """What a constant compared with a clock adds to its cap: the constant itself, or for a
    param its type's upper end; None if `e` is not such a constant."""
    match e:
        case ast.Name(id=n) if n in t.params:
            ty = t.params[n].type
            return ty.hi if isinstance(ty, ast.RangeType) else None
    return e if _constant(t, e) else None


def _constant(t: _Time, e: ast.Expr) -> bool:
    match e:
        case ast.IntLit():
            return True
        case ast.Name(id=n):
            return n in t.consts
        case ast.Unary(op="-", operand=x):
            return _constant(t, x)
        case ast.Binary(op="+" | "-" | "*" | "/" | "%", left=a, right=b):
            return _constant(t, a) and _constant(t, b)
        case ast.Call(func=f, args=args) if f in _CONST_FUNCS:
            return all(_constant(t, a) for a in args)
    return False


def _misuse(t: _Time, c: Clock, span: ast.Span) -> None:
    t.error(
        "KC0301",
        f"clock `{_show(c)}` can only be compared with a constant or reset to 0",
        span,
        notes=(_WHY + ", so any other use would see that cap",),
        help=f"compare it (`{_show(c)} >= N`, `after({_show(c)}, N)`) or reset it "
        f"(`{_show(c)} := 0`)",
    )


def _compare(t: _Time, c: Clock, other: ast.Expr, node: ast.Expr) -> None:
    b = _bound(t, other)
    if b is None:
        t.error(
            "KC0402",
            f"clock `{_show(c)}` is compared with something that is not a constant",
            _span(other),
            notes=(_WHY + ": its cap must be known before the search",),
            help="compare it with a number, a `const`, or a `param` alone",
        )
        return
    t.bounds.setdefault(c, []).append(b)


def _rewrite(t: _Time, node: Any) -> Any:
    """`node` with `after(c, N)` spelt `c >= N`, each clock's comparisons recorded, and every
    other use of a clock reported."""
    if isinstance(node, tuple):
        return tuple(_rewrite(t, x) for x in node)
    if not is_dataclass(node) or isinstance(node, type):
        return node
    match node:
        case ast.Call(func="after", args=args) if not t.has_after_def:
            if len(args) != 2:
                t.error("KC0302", f"`after` takes a clock and a constant, not {len(args)} "
                        "arguments", node.span, help="write `after(c, N)`: c >= N")  # fmt: skip
                return ast.BoolLit(True, node.span)  # reported: no second error
            c = _clock_of(t, args[0])
            if c is None:
                t.error("KC0301", "the first argument of `after` must be a clock",
                        _span(args[0]), help="declare it `clock`, or compare it with `>=`")  # fmt: skip
            else:
                _compare(t, c, args[1], node)
            return ast.Binary(">=", _rewrite(t, args[0]) if c is None else args[0], args[1],
                              node.func_span, node.span)  # fmt: skip
        case ast.Binary(op=op, left=a, right=b) if op in CMP_OPS:
            ca, cb = _clock_of(t, a), _clock_of(t, b)
            if ca is not None and cb is not None:
                t.error("KC0301", "two clocks cannot be compared with each other", node.span,
                        notes=(_WHY + ", not with another clock",),
                        help="compare each with a constant")  # fmt: skip
                return node
            if ca is not None:
                _compare(t, ca, b, node)
                return node
            if cb is not None:
                _compare(t, cb, a, node)
                return node
        case ast.Name() | ast.Field() if _clock_of(t, node) is not None:
            c = _clock_of(t, node)
            assert c is not None
            _misuse(t, c, node.span)
            return node
        case ast.Assign(target=lv, value=v) if _clock_target(t, lv) is not None:
            c = _clock_target(t, lv)
            assert c is not None
            if not _is_zero(v):
                t.error("KC0301", f"clock `{_show(c)}` can only be reset to 0", _span(v),
                        notes=(_WHY + ": setting it to another value is not supported",),
                        help=f"write `{_show(c)} := 0`")  # fmt: skip
            if lv.index is not None:
                return replace(node, target=replace(lv, index=_rewrite(t, lv.index)))
            return node
        case ast.AssignAny(target=lv) if _clock_target(t, lv) is not None:
            c = _clock_target(t, lv)
            assert c is not None
            _misuse(t, c, node.span)
            return node
        case ast.FieldInit(name=n, value=v) if n in t.clock_fields and not _is_zero(v):
            t.error("KC0301", f"clock `{n}` starts at 0", _span(v),
                    help=f"leave `{n}` out of the `create`, or give it 0")  # fmt: skip
            return node
    changes = {f.name: _rewrite(t, getattr(node, f.name)) for f in fields(node)
               if "span" not in f.name}  # fmt: skip
    return replace(node, **changes)


def _cap(t: _Time, c: Clock, span: ast.Span) -> ast.Expr:
    """One past the largest constant compared with the clock (and at least 1)."""
    top: ast.Expr = ast.IntLit(0, span)
    distinct: list[ast.Expr] = []  # (spans are not compared): a `max` nested once per constant,
    for b in t.bounds.get(c, []):  # not once per comparison, which could overflow the stack
        if b not in distinct:
            distinct.append(b)
    for b in distinct:
        top = ast.Call("max", (top, b), span, span)
    return ast.Binary("+", top, ast.IntLit(1, span), span, span)


def _range(t: _Time, c: Clock, span: ast.Span) -> ast.RangeType:
    return ast.RangeType(ast.IntLit(0, span), _cap(t, c, span), span)


def _typed(t: _Time, d: Any) -> Any:
    """Clocks' declared type `clock` made `0..CAP`."""
    if isinstance(d, ast.Var) and d.name in t.clock_vars:
        return replace(d, type=_range(t, ("var", d.name), d.type.span))
    if isinstance(d, ast.Kind) and any(_is_clock(f.type) for f in d.fields):
        fs = tuple(
            replace(f, type=_range(t, ("field", f.name), f.type.span)) if _is_clock(f.type) else f
            for f in d.fields
        )
        return replace(d, fields=fs)
    return d


@dataclass(frozen=True)
class _Deadline:
    actor: str
    action: ast.Action
    limit: ast.Expr


def _deadlines(t: _Time, decls: list[Any]) -> list[_Deadline]:
    out: list[_Deadline] = []
    for d in decls:
        for a in getattr(d, "actions", ()):
            if a.within is None:
                continue
            where = f"`within` on `{a.name}`"
            if not isinstance(d, ast.Controller | ast.Process):
                sort = "fault" if isinstance(d, ast.Fault) else "scheduler"
                t.error("KC0502", f"{where}: a {sort}'s action has no deadline", a.within.span,
                        help="put `within` on a controller's or a process's action")  # fmt: skip
            elif (
                isinstance(d, ast.Controller)
                and d.watches
                and any(w.stale or w.coalesced for w in d.watches)
            ):
                t.error("KC0502", f"{where}: a controller that reads a cache has no deadline yet",
                        a.within.span, notes=("its guard reads its cache, which `tick` cannot",),
                        help="give the deadline to a process, or drop `stale`/`coalesced`")  # fmt: skip
            elif a.handler:
                t.error("KC0502", f"{where}: a notification handler has no deadline",
                        a.within.span, help="put `within` on an action with `when`")  # fmt: skip
            elif a.binders and not _is_zero(a.within):
                t.error(
                    "KC0502",
                    f"{where}: an action with `for` can only be urgent, `within 0`",
                    a.within.span,
                    notes=("a longer deadline would need a counter per instance",),
                    help="give the objects a clock field `c`, reset it when the deadline "
                    "starts, and write `when ... and after(x.c, N) within 0`",
                )
            elif not a.binders and not _constant(t, a.within):
                t.error("KC0402", f"{where}: the deadline must be a constant", a.within.span,
                        help="write a number or a `const`")  # fmt: skip
            else:
                out.append(_Deadline(d.name, a, a.within))
    return out


def _counted(dl: _Deadline) -> bool:
    """Does the deadline need a counter? `within 0` (urgent) blocks time while enabled."""
    return not dl.action.binders and not _is_zero(dl.limit)


def _with_waited_reset(d: Any, counted: set[tuple[str, str]]) -> Any:
    """An action with `within N` (N counted in a var) resets its counter when it fires."""
    if not isinstance(d, ast.Controller | ast.Process):
        return d
    acts = []
    for a in d.actions:
        if a.within is not None and (d.name, a.name) in counted:
            sp = a.within.span
            reset = _assign(waited_var(d.name, a.name), ast.IntLit(0, sp), sp)
            a = replace(a, body=replace(a.body, stmts=(reset, *a.body.stmts)))
        acts.append(a)
    return replace(d, actions=tuple(acts))


def _assign(name: str, value: ast.Expr, span: ast.Span) -> ast.Assign:
    return ast.Assign(ast.LValue((name,), (span,), span), value, span)


def _enabled(dl: _Deadline) -> ast.Expr:
    a, sp = dl.action, dl.limit.span
    when = a.when if a.when is not None else ast.BoolLit(True, sp)
    if not a.binders:
        return when
    return ast.Quant("exists", a.binders, a.where, when, sp)


def _inc(e: ast.Expr, cap: ast.Expr, span: ast.Span) -> ast.Expr:
    """`min(e + 1, cap)`: one tick on, stopping at the cap."""
    return ast.Call("min", (ast.Binary("+", e, ast.IntLit(1, span), span, span), cap), span, span)


def _advance(t: _Time, skip: str | None, span: ast.Span) -> list[ast.Stmt]:
    """Every clock one tick on, stopping at its cap (the clocks of actor `skip` stay)."""
    out: list[ast.Stmt] = [
        _assign(name, _inc(ast.Name(name, span), _cap(t, ("var", name), span), span), span)
        for name in t.clock_vars
        if skip is None or not name.startswith(skip + ".")
    ]
    by_kind: dict[str, list[str]] = {}
    for fname, uses in t.clock_fields.items():
        for kind, _ in uses:
            by_kind.setdefault(kind.name, []).append(fname)
    for kname, names in by_kind.items():
        obj = _fresh(t.program, kname[:1].lower())
        stmts: list[ast.Stmt] = []
        for f in names:
            val = _inc(ast.Field(ast.Name(obj, span), f, span, span), _cap(t, ("field", f), span), span)  # fmt: skip
            stmts.append(ast.Assign(ast.LValue((obj, f), (span, span), span), val, span))
        dom = ast.ExprDomain(ast.Name(kname, span), span)
        out.append(ast.For((ast.Binder(obj, dom, span, span),), None, ast.Block(tuple(stmts), span), span))  # fmt: skip
    return out


def _fresh(program: ast.Program, base: str) -> str:
    """A name no declaration, binder or let of the model uses (a binder of the generated tick)."""
    taken = ast.names_in(program) | {str(getattr(d, "name", "")) for d in program.decls}
    taken |= {n.name for n in ast.walk_nodes(program) if isinstance(n, ast.Binder | ast.Let)}
    name, i = base, 0
    while name in taken:
        i += 1
        name = f"{base}{i}"
    return name


def _generated(t: _Time, decls: list[Any], deadlines: list[_Deadline]) -> list[ast.Decl]:
    span = _time_span(t)
    out: list[ast.Decl] = []
    counted = [dl for dl in deadlines if _counted(dl)]
    for dl in counted:
        sp = dl.limit.span
        name = waited_var(dl.actor, dl.action.name)
        out.append(ast.Var(name, ast.RangeType(ast.IntLit(0, sp), dl.limit, sp), ast.IntLit(0, sp), sp, sp))  # fmt: skip
    # time may pass only while no deadline is due: an enabled action with `within N` that has
    # waited N ticks blocks the tick until it fires or is disabled
    due: list[ast.Expr] = []
    for dl in deadlines:
        sp = dl.limit.span
        if not _counted(dl):
            due.append(_enabled(dl))
        else:
            w = ast.Name(waited_var(dl.actor, dl.action.name), sp)
            due.append(ast.Binary("and", _enabled(dl), ast.Binary(">=", w, dl.limit, sp, sp), sp, sp))  # fmt: skip
    guard: ast.Expr | None = None
    for e in due:
        term = ast.Unary("not", e, span)
        guard = term if guard is None else ast.Binary("and", guard, term, span, span)
    # the waits are counted on the state before the tick, then the clocks move
    waits: list[ast.Stmt] = []
    for dl in counted:
        sp = dl.limit.span
        name = waited_var(dl.actor, dl.action.name)
        one_more = _inc(ast.Name(name, sp), dl.limit, sp)
        waits.append(ast.If(_enabled(dl), ast.Block((_assign(name, one_more, sp),), sp),
                            ast.Block((_assign(name, ast.IntLit(0, sp), sp),), sp), sp))  # fmt: skip

    def tick(name: str, skip: str | None, at: ast.Span) -> ast.Action:
        body = ast.Block(tuple(waits + _advance(t, skip, span)), span)
        return ast.Action(name, None, (), None, guard, body, at, at)

    out.append(ast.Process(TIME_ACTOR, (tick(TICK, None, span),), span, span))
    for d in decls:
        if isinstance(d, ast.Controller | ast.Process) and d.skew is not None:
            own = [n for n in t.clock_vars if n.startswith(d.name + ".")]
            if not own:
                t.error("KC0502", f"`{d.name}` has `skew` but no clocks of its own",
                        d.skew.span, notes=("skew moves the actor's own `var ...: clock`s",),
                        help=f"declare one in `{d.name}`: `var since: clock = 0`")  # fmt: skip
                continue
            sp = d.skew.span
            gains = ast.Block(
                tuple(_assign(n, _inc(ast.Name(n, sp), _cap(t, ("var", n), sp), sp), sp) for n in own),
                sp,
            )  # fmt: skip
            acts = (tick(MISSES_TICK, d.name, sp), ast.Action(GAINS_TICK, None, (), None, None, gains, sp, sp))  # fmt: skip
            out.append(ast.Fault(skew_fault(d.name), d.skew, acts, sp, sp))
    return out


def _time_span(t: _Time) -> ast.Span:
    """Where `tick` is said to be declared: the first clock, else the first deadline or skew."""
    for n in ast.walk_nodes(t.program.decls):
        if isinstance(n, ast.NamedType) and n.name == CLOCK:
            return n.span
    for n in ast.walk_nodes(t.program.decls):
        if isinstance(n, ast.Action) and n.within is not None:
            return n.within.span
        if isinstance(n, ast.Controller | ast.Process) and n.skew is not None:
            return n.skew.span
    return t.program.name_span


def deadlines_due(program: ast.Program) -> list[tuple[str, ast.Expr]]:
    """In a lowered program, each action with `within` as (ACTOR.action, the condition under
    which its deadline is due), read back from the generated tick's guard `not D1 and not D2
    ...` (after every later pass, so it is the condition the tick runs). Used to name the
    deadline that stops time in a timelock (explore/bfs.py)."""
    labels = program.deadlines
    guard = next(
        (
            a.when
            for d in program.decls
            if isinstance(d, ast.Process) and d.name == TIME_ACTOR
            for a in d.actions
            if a.name == TICK
        ),
        None,
    )
    terms: list[ast.Expr] = []
    for _ in labels[1:]:
        if not (isinstance(guard, ast.Binary) and guard.op == "and"):
            return []
        terms.insert(0, guard.right)
        guard = guard.left
    if not labels or guard is None:
        return []
    terms.insert(0, guard)
    out: list[tuple[str, ast.Expr]] = []
    for label, e in zip(labels, terms, strict=True):
        if not (isinstance(e, ast.Unary) and e.op == "not"):
            return []
        out.append((label, e.operand))
    return out
