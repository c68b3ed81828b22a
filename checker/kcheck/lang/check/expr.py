"""Expression checks: the type of every expression form, calls of defs and builtins,
`feasible(S, p, n)`, object slots `K[i]`, operators and set literals.
"""

from __future__ import annotations

from dataclasses import replace

from kcheck.lang import ast
from kcheck.lang.check.context import ERROR, Ctx, TError, Ty, as_value, fits
from kcheck.lang.check.temporal import TemporalChecker
from kcheck.lang.diagnostics import suggest
from kcheck.lang.symbols import (
    BUILTINS,
    FEASIBLE,
    SEEN_BY,
    SEEN_OWN_WRITES,
    UNCHANGED,
    stale_watches,
)
from kcheck.lang.types import (
    BOOL,
    EMPTY_SET,
    INT,
    NONE,
    TBool,
    TEmptySet,
    TEnum,
    TInt,
    TNone,
    TRef,
    TSet,
    comparable,
)


class ExprChecker(TemporalChecker):
    # ---- expressions ----------------------------------------------------------------------

    def expr(self, e: ast.Expr, ctx: Ctx) -> Ty:
        match e:
            case ast.IntLit():
                return INT
            case ast.BoolLit():
                return BOOL
            case ast.NoneLit():
                return NONE
            case ast.Name(id=n):
                return self.name(n, e.span, ctx)
            case ast.Field():
                return self.field(e, ctx)
            case ast.Call():
                return self.call(e, ctx)
            case ast.Index():
                return self.index(e, ctx)
            case ast.Unary(op="-", operand=x):
                self.want_int(x, ctx, "the operand of unary `-`")
                return INT
            case ast.Unary(operand=x):
                self.want_bool(x, ctx, f"the operand of `{e.op}`")
                return BOOL
            case ast.Binary():
                return self.binary(e, ctx)
            case ast.SetLit():
                return self.set_lit(e, ctx)
            case ast.SetBuilder(binder=b, where=w):
                inner = self.binders_where((b,), w, ctx)
                t = inner.locals[b.name].type
                match t:
                    case TRef(kind=k):
                        return TSet(k)
                    case TEnum(name=n):
                        return TSet(n)
                    case TInt() | TBool():
                        self.error(
                            "KC0301",
                            "sets hold enum values or objects, not "
                            + ("integers" if isinstance(t, TInt) else "bools"),
                            b.domain.span,
                        )
                return ERROR
            case ast.Quant(binders=bs, where=w, body=body):
                inner = self.binders_where(bs, w, ctx)
                self.want_bool(body, inner, f"the body of `{e.quant}`")
                return BOOL
            case ast.Count(binders=bs, where=w):
                self.binders_where(bs, w, ctx)
                return INT
            case ast.Budget(fault=f):
                faults = [a.name for a in self.sym.actors if isinstance(a, ast.Fault)]
                if f not in faults:
                    self.error(
                        "KC0201",
                        f"`budget({f})`: the model has no fault `{f}`",
                        e.fault_span,
                        help=suggest(f, faults),
                    )
                return INT
            case ast.CountAll(arg=a):
                if isinstance(a, ast.Name) and a.id not in ctx.locals and a.id in self.kind_decls:
                    return INT
                t = self.expr(a, ctx)
                if not isinstance(t, TSet | TEmptySet | TError):
                    self.error("KC0301", f"`count(...)` takes a kind or a set, not {t}", a.span)
                return INT
            case ast.Aggregate(op=op, body=body, binders=bs, where=w):
                inner = self.binders_where(bs, w, ctx)
                self.want_int(body, inner, f"the body of `{op}`")
                return INT
            case ast.IfExpr(cond=c, then=a, else_=b):
                self.want_bool(c, ctx, "the condition of `if`")
                return self.join(self.expr(a, ctx), self.expr(b, ctx), e.span)
            case ast.Temporal(op=op, body=body):
                self.temporal(op, e.span, ctx)
                return self.expr(body, ctx)
            case ast.LeadsTo(left=a, right=b):
                self.temporal("leads_to", e.span, ctx)
                self.want_bool(a, ctx, "the left side of `leads_to`")
                self.want_bool(b, ctx, "the right side of `leads_to`")
                return BOOL
        return ERROR

    def join(self, a: Ty, b: Ty, span: ast.Span) -> Ty:
        """The type of `if c then a else b`."""
        if isinstance(a, TError) or isinstance(b, TError):
            return ERROR
        if isinstance(a, TInt) and isinstance(b, TInt):
            return INT
        if a == b:
            return a
        if isinstance(a, TRef) and isinstance(b, TRef) and a.kind == b.kind:
            return TRef(a.kind, True)
        if isinstance(a, TRef) and isinstance(b, TNone):
            return TRef(a.kind, True)
        if isinstance(b, TRef) and isinstance(a, TNone):
            return TRef(b.kind, True)
        if isinstance(a, TSet) and isinstance(b, TEmptySet):
            return a
        if isinstance(b, TSet) and isinstance(a, TEmptySet):
            return b
        self.error("KC0301", f"the branches of `if` have different types: {a} and {b}", span)
        return ERROR

    def field(self, e: ast.Field, ctx: Ctx) -> Ty:
        t = self.expr(e.obj, ctx)
        if isinstance(t, TError):
            return ERROR
        if not isinstance(t, TRef):
            self.error(
                "KC0305",
                f"`.{e.name}` needs an object, but this is {t}",
                e.obj.span,
            )
            return ERROR
        return self.field_type(t.kind, e.name, e.name_span)

    def field_type(self, kind: str, name: str, span: ast.Span) -> Ty:
        info = self.sym.kinds.get(kind)
        if info is None:
            return ERROR  # the kind's declaration failed and was reported
        f = info.field(name)
        if f is not None:
            return f.type
        if any(fd.name == name for fd in info.decl.fields):
            return ERROR  # declared with a bad type, reported already
        self.error(
            "KC0203",
            f"kind `{kind}` has no field `{name}`",
            span,
            help=suggest(name, [fd.name for fd in info.fields]),
        )
        return ERROR

    def call(self, e: ast.Call, ctx: Ctx) -> Ty:
        f, args = e.func, e.args
        if f == FEASIBLE and f not in self.sym.defs:
            return self.feasible(e, ctx)
        if f == UNCHANGED and f not in self.sym.defs:
            return self.unchanged(e, ctx)
        if f == SEEN_OWN_WRITES and f not in self.sym.defs:
            return self.seen_own_writes(e, ctx)
        if f == SEEN_BY and f not in self.sym.defs:
            return self.seen_by(e, ctx)
        if f in BUILTINS and f not in self.sym.defs:
            arity = 1 if f in ("abs", "size") else 2
            if len(args) != arity:
                self.error(
                    "KC0302",
                    f"`{f}` takes {arity} argument{'s' if arity > 1 else ''}, not {len(args)}",
                    e.func_span,
                )
            for i, a in enumerate(args):
                t = self.expr(a, ctx)  # not `want_int`: one stack frame less per nested call
                if f == "size" and not isinstance(t, TSet | TEmptySet | TError):
                    self.error("KC0301", f"`size` takes a set, not {t}", a.span)
                elif f != "size" and not isinstance(t, TInt | TError):
                    self.mismatch(t, "an int", f"argument {i + 1} of `{f}`", a.span)
            return INT
        sig = self.sigs.get(f)
        if sig is None:
            for a in args:
                self.expr(a, ctx)
            if f in self.top:
                self.error("KC0206", f"`{f}` is a {self.top[f][0]}, not a function", e.func_span)
            else:
                self.error(
                    "KC0205",
                    f"unknown function `{f}`",
                    e.func_span,
                    help=suggest(f, [*self.sym.defs, *BUILTINS]),
                )
            return ERROR
        if len(args) != len(sig.params):
            n = len(sig.params)
            self.error(
                "KC0302",
                f"`{f}` takes {n} argument{'s' if n != 1 else ''}, not {len(args)}",
                e.func_span,
                notes=("`{}({})`".format(f, ", ".join(f"{p}: {t}" for p, t, _ in sig.params)),),
            )
        for a, (pname, ptype, _) in zip(args, sig.params, strict=False):
            t = self.expr(a, ctx)
            if not fits(t, ptype):
                self.error(
                    "KC0301",
                    f"argument `{pname}` of `{f}` must be {ptype}, not {t}",
                    a.span,
                )
        for a in args[len(sig.params) :]:
            self.expr(a, ctx)
        return as_value(sig.ret)

    def schedulers(self) -> dict[str, ast.Scheduler]:
        return {a.name: a for a in self.sym.actors if isinstance(a, ast.Scheduler)}

    def scheduler_kinds(self, s: ast.Scheduler) -> tuple[Ty, Ty]:
        """The pod and node types of a scheduler's filters; ERROR where its `binds` failed (and
        was reported with the scheduler)."""
        info = self.sym.kinds.get(s.pod_kind)
        fi = info.field(s.node_field) if info is not None else None
        if info is None or fi is None or not isinstance(fi.type, TRef) or not fi.type.optional:
            return (TRef(s.pod_kind) if info is not None else ERROR), ERROR
        return TRef(s.pod_kind), TRef(fi.type.kind)

    def seen_own_writes(self, e: ast.Call, ctx: Ctx) -> Ty:
        """`seen_own_writes(K)`, in an action of a controller that `watches K stale` or
        `coalesced`: its informer cache of K has observed every write the controller made to K."""
        if len(e.args) != 1 or not isinstance(e.args[0], ast.Name):
            self.error(
                "KC0302",
                "`seen_own_writes` takes one kind, as in `seen_own_writes(Pod)`",
                e.func_span,
            )
            return BOOL
        kind, span = e.args[0].id, e.args[0].span
        if kind not in self.kind_decls:
            self.error(
                "KC0204", f"unknown kind `{kind}`", span, help=suggest(kind, self.kind_decls)
            )
            return BOOL
        actor = next((a for a in self.sym.actors if a.name == ctx.actor_name), None)
        cached = isinstance(actor, ast.Controller) and any(
            w.kind == kind and (w.stale or w.coalesced) for w in actor.watches
        )
        if not cached:
            where = f"controller `{ctx.actor_name}`" if ctx.actor == "controller" else ctx.place
            self.error(
                "KC0502",
                f"`seen_own_writes({kind})` is only allowed in a controller that "
                f"`watches {kind} stale` (or `coalesced`), not in {where}",
                e.func_span,
                notes=(
                    "it compares the controller's informer cache with its own last write "
                    "(read your own writes); only a watched cache has one",
                ),
                help=f"add `watches {kind} stale` to the controller, and call it in its actions",
            )
        return BOOL

    def seen_by(self, e: ast.Call, ctx: Ctx) -> Ty:
        """`seen_by(X, e)`: e read as controller X reads it, each kind X watches stale or
        coalesced through X's cache; in an invariant, lemma or property, which otherwise read
        the real state. Its type is e's."""
        example = "as in `seen_by(replicaset, count(Pod))`"
        if len(e.args) != 2 or not isinstance(e.args[0], ast.Name):
            self.error(
                "KC0302",
                f"`seen_by` takes a controller and an expression, {example}",
                e.func_span,
            )
            for a in e.args[1:]:
                self.expr(a, ctx)
            return ERROR
        name, span = e.args[0].id, e.args[0].span
        caching = stale_watches(self.sym)
        actor = next((a for a in self.sym.actors if a.name == name), None)
        if name not in caching:
            if isinstance(actor, ast.Controller):
                self.error(
                    "KC0206",
                    f"controller `{name}` has no cache: it watches no kind `stale` or "
                    "`coalesced`, so it reads the real objects",
                    span,
                    help="read the objects directly, without `seen_by`",
                )
            elif actor is not None:
                self.error("KC0206", f"`{name}` is not a controller", span)
            else:
                known = ", ".join(f"`{n}`" for n in caching)
                self.error(
                    "KC0201",
                    f"unknown controller `{name}`",
                    span,
                    help=suggest(name, list(caching))
                    or (f"the controllers with a cache: {known}" if known else
                        "no controller watches a kind `stale` or `coalesced`"),
                )  # fmt: skip
        elif ctx.seen_by:
            self.error(
                "KC0502",
                f"`seen_by` inside `seen_by({ctx.seen_by}, ...)`",
                e.func_span,
                help="read each cache in its own `seen_by`",
            )
        elif not ctx.observes:
            self.error(
                "KC0502",
                f"`seen_by` is only allowed in an invariant, lemma or property, not in {ctx.place}",
                e.func_span,
                notes=(
                    "it reads what a controller's informer cache holds; a controller's own "
                    "actions read their caches already",
                ),
                help=f"state it in an invariant or lemma, {example}",
            )
        return self.expr(e.args[1], replace(ctx, seen_by=name))

    def unchanged(self, e: ast.Call, ctx: Ctx) -> Ty:
        """`unchanged(x)`, in an action of a controller that `watches K stale` (x: K): the
        apiserver's x is still the version in the controller's cache (no 409 Conflict)."""
        if len(e.args) != 1:
            self.error("KC0302", "`unchanged` takes one object, as in `unchanged(d)`", e.func_span)
            return BOOL
        t = self.expr(e.args[0], ctx)
        if isinstance(t, TError):
            return BOOL
        if not isinstance(t, TRef) or t.optional:
            self.error(
                "KC0302",
                f"`unchanged` takes an object, not {t}",
                e.args[0].span,
                help="test `x != none` first" if isinstance(t, TRef) else None,
            )
            return BOOL
        actor = next((a for a in self.sym.actors if a.name == ctx.actor_name), None)
        stale = isinstance(actor, ast.Controller) and any(
            w.kind == t.kind and w.stale for w in actor.watches
        )
        if not stale:
            where = f"controller `{ctx.actor_name}`" if ctx.actor == "controller" else ctx.place
            self.error(
                "KC0502",
                f"`unchanged` of a {t.kind} is only allowed in a controller that "
                f"`watches {t.kind} stale`, not in {where}",
                e.func_span,
                notes=("it compares the apiserver's object with the controller's cached copy, "
                       "as an update's resourceVersion precondition does",),
                help=f"add `watches {t.kind} stale` to the controller, and call it in its actions",
            )  # fmt: skip
        return BOOL

    def feasible(self, e: ast.Call, ctx: Ctx) -> Ty:
        """`feasible(S, p, n)`: pod p passes every filter of scheduler S on node n. S is a name,
        not a value; p and n must have the kinds S schedules and binds to."""
        schedulers = self.schedulers()
        shape = "`feasible(S, p, n)` takes a scheduler's name, then a pod and a node of the kinds it binds"
        args = e.args
        first = args[0] if args else None
        names_sched = (
            isinstance(first, ast.Name) and first.id in schedulers and first.id not in ctx.locals
        )
        if len(args) != 3:
            help = None
            if len(args) == 2 and not names_sched and len(schedulers) == 1:
                help = f"name the scheduler first: `feasible({next(iter(schedulers))}, ...)`"
            self.error(
                "KC0302",
                f"`feasible` takes 3 arguments, not {len(args)}",
                e.func_span,
                notes=(shape,),
                help=help,
            )
            for a in args[1:] if names_sched else args:
                self.expr(a, ctx)
            return BOOL
        s_arg, pod_arg, node_arg = args
        sched: ast.Scheduler | None = None
        if isinstance(s_arg, ast.Name) and names_sched:
            sched = schedulers[s_arg.id]
        elif isinstance(s_arg, ast.Name) and (s_arg.id in ctx.locals or s_arg.id in self.top):
            n = s_arg.id
            what = ctx.locals[n].what if n in ctx.locals else self.top[n][0]
            self.error(
                "KC0206",
                f"`{n}` is a {what}, not a scheduler",
                s_arg.span,
                notes=(shape,),
                help=suggest(n, schedulers)
                or (f"the scheduler is `{next(iter(schedulers))}`" if schedulers else None),
            )
        elif isinstance(s_arg, ast.Name):
            self.error(
                "KC0201",
                f"unknown scheduler `{s_arg.id}`",
                s_arg.span,
                notes=(shape,),
                help=suggest(s_arg.id, schedulers)
                or (
                    "the model's schedulers are " + ", ".join(f"`{n}`" for n in schedulers)
                    if schedulers
                    else "the model declares no scheduler"
                ),
            )
        else:
            self.expr(s_arg, ctx)
            self.error(
                "KC0206",
                "the first argument of `feasible` must name a scheduler",
                s_arg.span,
                notes=(shape,),
                help=f"write `feasible({next(iter(schedulers))}, p, n)`" if schedulers else None,
            )
        pod_t, node_t = self.expr(pod_arg, ctx), self.expr(node_arg, ctx)
        if sched is None:
            return BOOL
        want_pod, want_node = self.scheduler_kinds(sched)
        swapped = (
            not isinstance(want_pod, TError)
            and not isinstance(want_node, TError)
            and want_pod != want_node
            and fits(pod_t, want_node)
            and fits(node_t, want_pod)
        )
        for i, (t, want, role, a) in enumerate(
            ((pod_t, want_pod, "pod", pod_arg), (node_t, want_node, "node", node_arg)), start=2
        ):
            if not fits(t, want):
                self.error(
                    "KC0301",
                    f"argument {i} of `feasible({sched.name}, ...)` is the {role} and must be "
                    f"{want}, not {t}",
                    a.span,
                    notes=(
                        f"scheduler `{sched.name}` binds `{sched.pod_kind}.{sched.node_field}`",
                    ),
                    help="the pod comes before the node" if swapped and i == 2 else None,
                )
        return BOOL

    def index(self, e: ast.Index, ctx: Ctx) -> Ty:
        k = e.kind
        self.want_int(e.index, ctx, "a slot number")
        if k in ctx.locals or k not in self.kind_decls:
            if k in ctx.locals or k in self.top:
                self.error(
                    "KC0206",
                    f"`{k}[...]` picks an object of an `ordered` kind; `{k}` is not a kind",
                    e.kind_span,
                )
            else:
                self.error(
                    "KC0204",
                    f"unknown kind `{k}`",
                    e.kind_span,
                    help=suggest(k, self.kind_decls),
                )
            return ERROR
        info = self.sym.kinds.get(k)
        if info is None:
            return ERROR
        if not info.ordered:
            self.error(
                "KC0206",
                f"kind `{k}` is not ordered, so its objects have no fixed slot numbers",
                e.kind_span,
                help="mark the kind `ordered`",
            )
            return ERROR
        i = self.quiet_const(e.index)
        if i is not None and not 0 <= i < info.size:
            self.error(
                "KC0401",
                f"slot {i} does not exist: kind `{k}` has {info.size} slots (0..{info.size - 1})",
                e.index.span,
            )
        return TRef(k)

    def binary(self, e: ast.Binary, ctx: Ctx) -> Ty:
        op = e.op
        if op in ("and", "or", "implies"):
            # Long chains of one connective are common in written-out guards; walking them
            # without recursion keeps deep chains (which the parser accepts) off the stack.
            stack: list[ast.Expr] = [e]
            while stack:
                x = stack.pop()
                if isinstance(x, ast.Binary) and x.op == op:
                    stack += [x.right, x.left]
                else:
                    self.want_bool(x, ctx, f"an operand of `{op}`")
            return BOOL
        a, b = self.expr(e.left, ctx), self.expr(e.right, ctx)
        err = isinstance(a, TError) or isinstance(b, TError)
        sets = (TSet, TEmptySet)
        if op in ("+", "*", "/", "%", "<", "<=", ">", ">=") or (
            op == "-" and not (isinstance(a, sets) and isinstance(b, sets))
        ):
            result: Ty = BOOL if op in ("<", "<=", ">", ">=") else INT
            for side, t, x in (("left", a, e.left), ("right", b, e.right)):
                if not isinstance(t, TInt | TError):
                    self.mismatch(t, "an int", f"the {side} side of `{op}`", x.span)
            return result
        if op in ("-", "|", "&"):
            for side, t, x in (("left", a, e.left), ("right", b, e.right)):
                if not isinstance(t, TSet | TEmptySet | TError):
                    self.mismatch(t, "a set", f"the {side} side of `{op}`", x.span)
                    return ERROR
            if err:
                return ERROR
            if isinstance(a, TSet) and isinstance(b, TSet) and a != b:
                self.error("KC0301", f"`{op}` mixes {a} and {b}", e.span)
                return ERROR
            if isinstance(a, TEmptySet) and isinstance(b, TEmptySet):
                return EMPTY_SET
            return a if isinstance(a, TSet) else b
        if op in ("==", "!="):
            if not err:
                assert not isinstance(a, TError) and not isinstance(b, TError)
                if not comparable(a, b):
                    self.error("KC0301", f"cannot compare {a} with {b}", e.span)
            return BOOL
        if op == "in":
            self.member(a, b, e)
            return BOOL
        return ERROR

    def member(self, a: Ty, b: Ty, e: ast.Binary) -> None:
        """`a in b`: b a set, a one of its possible elements."""
        if isinstance(b, TError | TEmptySet):
            return
        if not isinstance(b, TSet):
            self.error(
                "KC0301",
                f"the right side of `in` must be a set, not {b}",
                e.right.span,
                help="for an integer range write `lo <= x and x <= hi`"
                if isinstance(b, TInt)
                else None,
            )
            return
        if isinstance(a, TError):
            return
        want = self.elem_type(b.elem)
        ok = (isinstance(a, TRef) and isinstance(want, TRef) and a.kind == want.kind) or a == want
        if not ok and not isinstance(want, TError):
            self.error("KC0301", f"a {b} cannot contain {a}", e.left.span)

    def set_lit(self, e: ast.SetLit, ctx: Ctx) -> Ty:
        if not e.elems:
            return EMPTY_SET
        elem: str | None = None
        bad: tuple[ast.Expr, Ty] | None = None
        failed = False
        for x in e.elems:
            t = self.expr(x, ctx)
            match t:
                case TError():
                    failed = True
                case TEnum(name=n) if elem in (None, n):
                    elem = n
                case TRef(kind=k) if elem in (None, k):
                    # `{p.node}`: an optional element that is `none` when the literal is
                    # evaluated is a runtime error (a set holds objects, never `none`)
                    elem = k
                case _:
                    bad = bad or (x, t)
        if failed:
            return ERROR
        if bad is not None:
            x, t = bad
            if isinstance(t, TEnum | TRef) and elem is not None and elem != str(t):
                msg = f"a set literal mixes {elem} and {t}"
            else:
                msg = f"sets hold enum values or objects, not {t}"
            notes: tuple[str, ...] = ()
            hint: str | None = None
            if isinstance(t, TNone):
                notes = ("a set holds objects, never `none`",)
                hint = "leave `none` out: the empty set is `{}`"
            elif isinstance(t, TInt):
                hint = "compare integers instead: `x == 1 or x == 2`"
            self.error("KC0301", msg, x.span, notes=notes, help=hint)
            return ERROR
        assert elem is not None
        return TSet(elem)
