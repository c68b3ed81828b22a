"""Parsed AST -> parsed AST without per-object actor locals (spec/language.md §3, "Local state
per object").

`var expected: set<Pod>[ReplicaSet] = {}` in `controller replicaset` is the controller's own
memory, one set per ReplicaSet, as client-go's expectations are keyed by the ReplicaSet. It is
lowered here, before records and actor locals, into a field of the key kind that only this
actor can name (the `.` keeps it out of the user's names):

    var expected: set<Pod>[ReplicaSet]  kind ReplicaSet { ... replicaset.expected: set<Pod> }
    expected[rs]                        rs.`replicaset.expected`   (in replicaset's actions)
    replicaset.expected[rs]             the same, in invariants and properties
    expected[rs] := e                   rs.`replicaset.expected` := e
    restart replicaset                  ... for k in ReplicaSet { k.`replicaset.expected` := {} }

So the memory of one object moves with that object under symmetry, goes when it is deleted (as
client-go drops a deleted ReplicaSet's expectations) and is lost by `restart`. It is never read
through a cache, so an actor may not key a local by a kind it watches through one (KC0502).
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace
from typing import Any

from kcheck.lang import ast
from kcheck.lang.actor_locals import local_var
from kcheck.lang.diagnostics import Diagnostic


def lower_keyed_locals(program: ast.Program) -> tuple[ast.Program, list[Diagnostic]]:
    """`program` with every keyed local a field of its key kind (the same object if none)."""
    keyed: dict[str, dict[str, ast.Var]] = {}
    for d in program.decls:
        if isinstance(d, ast.Controller | ast.Process):
            own = {v.name: v for v in d.locals if isinstance(v.type, ast.KeyedSetType)}
            if own:
                keyed[d.name] = own
    if not keyed:
        return program, []
    low = _Lowering(program, keyed)
    decls: list[ast.Decl] = []
    for d in program.decls:
        if isinstance(d, ast.Kind):
            extra = low.fields_of.get(d.name, [])
            decls.append(replace(d, fields=(*d.fields, *extra)))
        elif isinstance(d, ast.Controller | ast.Process) and d.name in keyed:
            rest = tuple(v for v in d.locals if v.name not in keyed[d.name])
            actions = low.rewrite(d.actions, d.name)
            decls.append(replace(d, locals=rest, actions=actions))
        elif isinstance(d, ast.Invariant | ast.Property):
            decls.append(low.rewrite(d, None))
        else:
            decls.append(low.rewrite(d, ""))
    return replace(program, decls=tuple(decls)), low.diags


class _Lowering:
    def __init__(self, program: ast.Program, keyed: dict[str, dict[str, ast.Var]]) -> None:
        self.keyed = keyed
        self.diags: list[Diagnostic] = []
        kinds = {d.name for d in program.decls if isinstance(d, ast.Kind)}
        cached = {
            (d.name, w.kind)
            for d in program.decls
            if isinstance(d, ast.Controller)
            for w in d.watches
            if w.stale or w.coalesced
        }
        self.fields_of: dict[str, list[ast.FieldDecl]] = {}
        for actor, own in keyed.items():
            for v in own.values():
                t = v.type
                assert isinstance(t, ast.KeyedSetType)
                if t.key not in kinds:
                    self.error("KC0204", f"unknown kind `{t.key}`", t.span,
                               help="a local is kept per object of a kind")  # fmt: skip
                    continue
                if (actor, t.key) in cached:
                    self.error(
                        "KC0502",
                        f"`{actor}` reads `{t.key}` through a cache, so it cannot keep a local "
                        f"per `{t.key}`",
                        t.span,
                        notes=("a local is the actor's own memory and is never cached",),
                        help=f"keep it on the `{t.key}` object as a field, or in a local set",
                    )
                    continue
                name = local_var(actor, v.name)
                f = ast.FieldDecl(name, ast.SetType(t.elem, t.span), v.init, v.name_span, v.span)
                self.fields_of.setdefault(t.key, []).append(f)

    def error(self, code: str, msg: str, span: ast.Span, **kw: Any) -> None:
        self.diags.append(Diagnostic(code, msg, span, **kw))

    def rewrite(self, node: Any, actor: str | None) -> Any:
        """`actor`: whose actions these are; None in an invariant or property (any actor's
        keyed locals read as `X.v[k]`); "" elsewhere (none may be read)."""
        if isinstance(node, tuple):
            return tuple(self.rewrite(x, actor) for x in node)
        if not is_dataclass(node) or isinstance(node, type):
            return node
        own = self.keyed.get(actor or "", {})
        match node:
            case ast.Index(kind=n, index=i) if n in own:
                return ast.Field(self.rewrite(i, actor), local_var(str(actor), n),
                                 node.kind_span, node.span)  # fmt: skip
            case ast.Elem(obj=ast.Name(id=x), name=n, index=i) if n in self.keyed.get(x, {}):
                if actor is not None and actor != x:
                    self.error("KC0502", f"`{x}.{n}` is the local state of `{x}`", node.span,
                               help="share the value through an object's field")  # fmt: skip
                return ast.Field(self.rewrite(i, actor), local_var(x, n), node.name_span,
                                 node.span)  # fmt: skip
            case ast.LValue(parts=(n,), index=i) if n in own and i is not None:
                path = _path(self.rewrite(i, actor))
                if path is None:
                    self.error("KC0502", f"`{n}[...]` is written through a name or a field path",
                               node.span, help="bind the object first: `let k = ...`")  # fmt: skip
                    return node
                return replace(node, parts=(*path[0], local_var(str(actor), n)),
                               part_spans=(node.span,) * (len(path[0]) + 1), index=path[1])  # fmt: skip
            case ast.Block(stmts=stmts):
                out: list[ast.Stmt] = []
                for st in stmts:
                    out.append(self.rewrite(st, actor))
                    if isinstance(st, ast.Restart) and st.controller in self.keyed:
                        out += self.reset(st)
                return replace(node, stmts=tuple(out))
        changes = {
            f.name: self.rewrite(getattr(node, f.name), actor)
            for f in fields(node)
            if "span" not in f.name
        }
        return replace(node, **changes)

    def reset(self, st: ast.Restart) -> list[ast.Stmt]:
        """`restart X` loses X's memory of every object: each set goes back to its initial
        value."""
        out: list[ast.Stmt] = []
        for v in self.keyed[st.controller].values():
            assert isinstance(v.type, ast.KeyedSetType)
            k = "_kcheck_restart_key"
            target = ast.LValue((k, local_var(st.controller, v.name)), (st.span, st.span), st.span)
            binder = ast.Binder(k, ast.ExprDomain(ast.Name(v.type.key, st.span)), st.span, st.span)
            body = ast.Block((ast.Assign(target, v.init, st.span),), st.span)
            out.append(ast.For((binder,), None, body, st.span))
        return out


def _path(e: ast.Expr) -> tuple[tuple[str, ...], ast.Expr | None] | None:
    match e:
        case ast.Name(id=n):
            return (n,), None
        case ast.Index(kind=k, index=i):
            return (k,), i
        case ast.Field(obj=o, name=f):
            inner = _path(o)
            return None if inner is None else ((*inner[0], f), inner[1])
    return None
