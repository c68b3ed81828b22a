"""Parsed AST -> parsed AST without actor-local state (spec/language.md §3, "Local state").

`var pending: 0..3 = 0` inside `controller rs { ... }` is the controller's own memory. It is
lowered here, before symbols are built, into what every later pass already knows, so the
checker, the compiler, the Z3 encoder, the reference interpreter and `kcheck run` meet no new
construct and cannot disagree about it:

    var rs.pending: 0..3 = 0            a global var; the `.` keeps the name out of the user's
    pending := pending + 1              in rs's actions: rs.pending := rs.pending + 1
    invariant i: rs.pending <= 2        in invariants and properties: the var
    restart rs                          restart rs  rs.pending := 0  (reset to its initial value)

So a local is part of the state (traces show `rs.pending = 1`, symmetry renames the objects
it names like any var's), survives every `step`, is never cached (a stale controller reads its
own memory, not an informer's copy) and is lost by `restart`, which sets it back to its
declared initial value. Only its actor reads and writes it; invariants, lemmas and properties
may read it as `rs.pending` (a specification may say what the controller believes). Anything
else is reported here, located, with a hint.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace
from typing import Any

from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic

ActorWithLocals = ast.Controller | ast.Process


def local_var(actor: str, name: str) -> str:
    """The name of the global var an actor's local becomes (also how traces show it)."""
    return f"{actor}.{name}"


def lower_actor_locals(program: ast.Program) -> tuple[ast.Program, list[Diagnostic]]:
    """`program` with every actor's `var`s made global vars (the same object if there are
    none), and the errors of their use."""
    owners = {
        d.name: d for d in program.decls if isinstance(d, ast.Controller | ast.Process) and d.locals
    }
    if not owners:
        return program, []
    # the first of two locals with one name (the second is an error) is the one lowered
    locals_of = {name: {v.name: v for v in reversed(d.locals)} for name, d in owners.items()}
    lowering = _Lowering(locals_of)
    lowering.declarations(program)
    decls: list[ast.Decl] = []
    for d in program.decls:
        if isinstance(d, ast.Controller | ast.Process) and d.name in owners:
            own = locals_of[d.name]
            lowering.shadowing(d, own)
            decls += [replace(v, name=local_var(d.name, v.name)) for v in own.values()]
            actions = lowering.rewrite(d.actions, d.name, own)
            decls.append(replace(d, actions=actions, locals=()))
        elif isinstance(d, ast.Invariant | ast.Property):
            decls.append(lowering.rewrite(d, None, {}))
        else:
            decls.append(lowering.rewrite(d, "", {}))
    return replace(program, decls=tuple(decls)), lowering.diags


def explain_unknown(diags: list[Diagnostic], program: ast.Program) -> list[Diagnostic]:
    """An unknown name that is some actor's local: say whose, and where it can be read."""
    owners: dict[str, list[str]] = {}
    for d in program.decls:
        if isinstance(d, ast.Controller | ast.Process):
            for v in d.locals:
                owners.setdefault(v.name, []).append(d.name)
    out = []
    for diag in diags:
        words = diag.message.split("`")
        name = words[1] if len(words) == 3 and words[0] in _UNKNOWN else ""
        if diag.code == "KC0201" and name in owners:
            actor = owners[name][0]
            diag = replace(
                diag,
                notes=(*diag.notes, f"`{name}` is the local state of `{actor}`: only its "
                       "own actions read and write it"),
                help=f"read it as `{local_var(actor, name)}` in an invariant or property; "
                "another actor must learn it through an object",
            )  # fmt: skip
        out.append(diag)
    return out


_UNKNOWN = ("unknown name ", "unknown variable ")


class _Lowering:
    def __init__(self, locals_of: dict[str, dict[str, ast.Var]]) -> None:
        self.locals_of = locals_of
        self.diags: list[Diagnostic] = []

    def declarations(self, program: ast.Program) -> None:
        """Two locals of one actor, or a local and a declaration, cannot share a name: in the
        actor's actions the name would mean one of them silently."""
        taken: dict[str, str] = {}
        for d in program.decls:
            match d:
                case ast.Const() | ast.Param() | ast.Var() | ast.Kind() | ast.Def():
                    taken[d.name] = type(d).__name__.lower()
                case ast.Enum():
                    taken[d.name] = "enum"
                    taken.update((m.name, "enum member") for m in d.members)
        for actor in self.locals_of:
            first: dict[str, ast.Var] = {}
            for d in program.decls:
                if isinstance(d, ast.Controller | ast.Process) and d.name == actor:
                    for v in d.locals:
                        if v.name in first:
                            self.error(
                                "KC0202",
                                f"`{v.name}` is declared twice in `{actor}`",
                                v.name_span,
                                notes=(f"first declared at line {first[v.name].span.line}",),
                                help="rename one of them",
                            )
                        first.setdefault(v.name, v)
                        if v.name in taken:
                            self.error(
                                "KC0207",
                                f"local state `{v.name}` of `{actor}` takes the name of a "
                                f"{taken[v.name]}",
                                v.name_span,
                                notes=(f"in `{actor}`'s actions `{v.name}` would mean the "
                                       "local and hide the declaration",),
                                help="rename the local",
                            )  # fmt: skip

    def shadowing(self, actor: ActorWithLocals, own: dict[str, ast.Var]) -> None:
        """A binder or `let` in the actor's actions named like one of its locals."""
        for a in actor.actions:
            for n in ast.walk_nodes(a):
                name, span = None, None
                if isinstance(n, ast.Binder):
                    name, span = n.name, n.span
                elif isinstance(n, ast.Let):
                    name, span = n.name, n.name_span
                if name in own and span is not None:
                    self.error(
                        "KC0207",
                        f"`{name}` shadows the local state `{name}` of `{actor.name}`",
                        span,
                        notes=(f"declared at line {own[name].span.line}",),
                        help="rename this one",
                    )

    def error(self, code: str, msg: str, span: ast.Span, **kw: Any) -> None:
        self.diags.append(Diagnostic(code, msg, span, **kw))

    def rewrite(self, node: Any, actor: str | None, own: dict[str, ast.Var]) -> Any:
        """`node` with the locals resolved: `actor` is the actor whose actions these are
        (its locals `own` are read bare), None in an invariant or property (any actor's
        locals read as `X.v`), "" anywhere else (no local may be read)."""
        if isinstance(node, tuple):
            return tuple(self.rewrite(x, actor, own) for x in node)
        if not is_dataclass(node) or isinstance(node, type):
            return node
        match node:
            case ast.Name(id=n) if n in own:
                return ast.Name(local_var(str(actor), n), node.span)
            case ast.Field(obj=ast.Name(id=x), name=f) if f in self.locals_of.get(x, {}):
                if actor is not None and actor != x:
                    self.foreign(x, f, node.span, "read")
                return ast.Name(local_var(x, f), node.span)
            case ast.LValue(parts=parts) if parts and parts[0] in own:
                return replace(node, parts=(local_var(str(actor), parts[0]), *parts[1:]),
                               index=self.rewrite(node.index, actor, own))  # fmt: skip
            case ast.LValue(parts=(x, f)) if node.index is None and f in self.locals_of.get(x, {}):
                if actor != x:
                    self.foreign(x, f, node.span, "written")
                return replace(node, parts=(local_var(x, f),))
            case ast.Block(stmts=stmts):
                out: list[ast.Stmt] = []
                for st in stmts:
                    out.append(self.rewrite(st, actor, own))
                    if isinstance(st, ast.Restart) and st.controller in self.locals_of:
                        out += self.reset(st)
                return replace(node, stmts=tuple(out))
        changes = {
            f.name: self.rewrite(getattr(node, f.name), actor, own)
            for f in fields(node)
            if "span" not in f.name
        }
        return replace(node, **changes)

    def reset(self, st: ast.Restart) -> list[ast.Stmt]:
        """`restart X` loses X's memory: each local goes back to its initial value."""
        return [
            ast.Assign(
                ast.LValue((local_var(st.controller, v.name),), (st.span,), st.span),
                v.init,
                st.span,
            )
            for v in self.locals_of[st.controller].values()
        ]

    def foreign(self, actor: str, name: str, span: ast.Span, how: str) -> None:
        self.error(
            "KC0502",
            f"`{actor}.{name}` is the local state of `{actor}`: it cannot be {how} here",
            span,
            notes=(f"only `{actor}`'s own actions read and write it; invariants and properties "
                   "may read it",),
            help="share the value through an object's field or a global `var`",
        )  # fmt: skip
