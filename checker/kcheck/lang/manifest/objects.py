"""Initial objects from manifests (spec/manifests.md §1): each object of a `kind K = X { ... }`
section becomes a `create K { ... }` in the model's `init`, in place of the `create K`
statements written there; values are checked against the kind's field types and the objects'
count against its slots, each problem located in the YAML file."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import fields, is_dataclass, replace

import yaml

from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic, Source
from kcheck.lang.fmt_expr import format_expr
from kcheck.lang.lists import list_size, slot_name
from kcheck.lang.manifest.fields import find_field
from kcheck.lang.manifest.read import EVERY, Bad, one, read_value, through_map, values_at
from kcheck.lang.manifest.yaml_doc import K8sObject, span_of
from kcheck.lang.symbols import Symbols
from kcheck.lang.types import TBool, TEnum, TInt, TRef, TSet

Found = list[tuple[Source, Diagnostic]]


def member(text: str, members: Sequence[str], what: str, node: yaml.Node | None) -> str:
    """The enum member a Kubernetes string names: the same name, or the one that differs only
    in case (`ssd` is `Ssd`)."""
    if text in members:
        return text
    near = [m for m in members if m.lower() == text.lower()]
    if len(near) == 1:
        return near[0]
    raise Bad(
        f"`{text}` names no member of `{what}`'s enum ({', '.join(members)})",
        node,
        'map it in the model: `... { "' + text + '": Member }`',
    )


def let_name(kind: str, index: int) -> str:
    """The init's name for the index-th filled object of `kind`, which references name."""
    return f"manifest_{kind}_{index}"


def build_objects(
    sections: Sequence[ast.ManifestSection],
    objects: Sequence[K8sObject],
    by_kind: dict[str, K8sObject],
    sym: Symbols,
    found: Found,
    list_bounds: Mapping[tuple[str, str], ast.Expr] | None = None,
) -> dict[str, list[ast.Stmt]]:
    """Per model kind, the statements that create its filled objects, referenced kinds first
    (a filled object a reference names is a `let` of the init). `list_bounds`: the bound of
    each list field as the model writes it, (kind, field) -> `N` of `list<E, N>`, for the
    hint when a manifest's list is longer."""
    list_bounds = list_bounds or {}
    filled: dict[str, tuple[ast.ManifestSection, list[K8sObject]]] = {}
    for sec in sections:
        if sec.model_kind is None or sec.model_kind not in sym.kinds:
            continue
        info = sym.kinds[sec.model_kind]
        mine = [o for o in objects if o.kind == sec.kind]
        if not mine:
            continue  # none in these manifests: the model's init stays as written
        if len(mine) > info.size:
            extra = mine[info.size]
            size = next(d.size for d in sym.program.decls if isinstance(d, ast.Kind)
                        and d.name == info.name)  # fmt: skip
            knob = size.id if isinstance(size, ast.Name) else None
            found.append((extra.source, Diagnostic(
                "KC0607", f"{len(mine)} {sec.kind}s exceed the model's bound {info.size} "
                f"(kind {info.name}[{info.size}])", extra.kind_span,
                help=f"pass -D {knob}={len(mine)} or narrow the manifests" if knob
                else "narrow the manifests, or raise the kind's bound in the model")))  # fmt: skip
            continue
        filled[info.name] = (sec, mine)
    targets = {
        kind: {t.kind for it in sec.items if isinstance(t := _type(sym, kind, it.name), TRef)}
        for kind, (sec, _) in filled.items()
    }
    referenced = {t for ts in targets.values() for t in ts}
    out: dict[str, list[ast.Stmt]] = {}
    for kind in _ordered(targets):
        sec, mine = filled[kind]
        info = sym.kinds[kind]
        stmts: list[ast.Stmt] = []
        for index, obj in enumerate(mine):
            inits: list[ast.FieldInit] = []
            for it in sec.items:
                f = find_field(sec.kind, it.path)
                target = info.field(it.name)
                slots = list_size({x.name for x in info.fields}, it.name)
                if f is None or (target is None and slots is None):
                    continue  # the model check reports it
                try:
                    if target is None:
                        assert slots is not None
                        slot = info.field(slot_name(it.name, 0))
                        assert slot is not None and isinstance(slot.type, TEnum)
                        bound = list_bounds.get((info.name, it.name))
                        enum = slot.type.name
                        expr: ast.Expr = _list(obj, it, enum, sym.enums[enum], slots, bound)
                    elif isinstance(target.type, TRef):
                        expr = _reference(obj, it, target.type, filled)
                    elif (
                        isinstance(target.type, TBool)
                        and f.sort == "string"
                        and one(obj, it.path) is None
                    ):
                        expr = ast.BoolLit(False, it.span)  # a label or selector not set
                    else:
                        value, node = read_value(obj, it, f, by_kind)
                        expr = _expr(value, target.type, sym, it, node, obj)
                except Bad as bad:
                    at = span_of(bad.node) if bad.node is not None else obj.kind_span
                    found.append((obj.source, Diagnostic(bad.code, str(bad), at, help=bad.hint)))
                    continue
                inits.append(ast.FieldInit(it.name, expr, it.name_span, it.span))
            create = ast.Create(info.name, tuple(inits), sec.model_kind_span, sec.span)
            if kind in referenced:
                name = let_name(kind, index)
                stmts.append(ast.Let(name, create, sec.model_kind_span, sec.span))
            else:
                stmts.append(ast.CreateStmt(create, sec.span))
        out[kind] = stmts
    return out


def _list(
    obj: K8sObject, it: ast.ManifestItem, enum: str, members: Sequence[str], size: int,
    bound: ast.Expr | None,
) -> ast.ListLit:  # fmt: skip
    """A `list<E, N>` field from a list of strings (`metadata.finalizers`), in order, each
    through the item's value map (or by name): the list literal the create gives. More than N
    strings, or two that name one member, the model cannot take as they are."""
    path = ".".join(it.path)
    nodes = values_at(obj.node, it.path)
    got: dict[str, yaml.Node] = {}
    for node in nodes:
        if not isinstance(node, yaml.ScalarNode):
            raise Bad(f"`{path}` is not a list of strings", node)
        name = member(through_map(it, node.value, node), members, it.name, node)
        if name in got:
            first = got[name]
            said = (
                f"`{node.value}` is twice in `{path}`"
                if first.value == node.value
                else f"`{node.value}` is {name}, as `{first.value}` is"
            )
            raise Bad(
                f"{obj.kind} `{obj.name}`: {said}; the model's list holds distinct elements",
                node,
                "write each once in the manifest",
                code="KC0608",
            )
        got[name] = node
        if len(got) > size:
            knob = bound.id if isinstance(bound, ast.Name) else None
            written = format_expr(bound) if bound is not None else size
            raise Bad(
                f"{obj.kind} `{obj.name}`: {len(nodes)} {it.path[-1]} exceed the model's "
                f"bound {size} (`{it.name}: list<{enum}, {written}>`)",
                node,
                f"pass -D {knob}={len(nodes)} or narrow the manifest"
                if knob is not None
                else "narrow the manifest, or raise the list's bound in the model",
                code="KC0607",
            )
    return ast.ListLit(tuple(ast.Name(n, it.span) for n in got), it.span)


def _type(sym: Symbols, kind: str, name: str) -> object:
    f = sym.kinds[kind].field(name)
    return f.type if f is not None else None


def _ordered(targets: dict[str, set[str]]) -> list[str]:
    """The filled kinds, each after the kinds its references name (the check refuses a
    reference to a kind that is not filled; a cycle keeps the written order)."""
    done: list[str] = []
    while len(done) < len(targets):
        ready = [k for k in targets if k not in done and targets[k] <= {*done, k}]
        done += ready or [k for k in targets if k not in done]
    return done


def _reference(
    obj: K8sObject, it: ast.ManifestItem, ty: TRef,
    filled: dict[str, tuple[ast.ManifestSection, list[K8sObject]]],
) -> ast.Expr:  # fmt: skip
    """A reference filled by name: the filled object of the referenced kind whose
    `metadata.name` the field gives (`spec.nodeName: a1` is the Node named a1)."""
    path = ".".join(it.path)
    node = one(obj, it.path)
    if node is None:
        if ty.optional:
            return ast.NoneLit(it.span)
        raise Bad(
            f"{obj.kind} `{obj.name}` sets no `{path}`, and `{it.name}` must name a {ty.kind}",
            None,
            "set it in the manifest",
        )
    if not isinstance(node, yaml.ScalarNode):
        raise Bad(f"`{path}` is not a single value", node)
    _, objs = filled.get(ty.kind, (None, []))
    names = [o.name for o in objs]
    if not names:
        raise Bad(
            f"`{path}: {node.value}` names a {ty.kind}, and the manifests hold none",
            node,
            f"pass the {ty.kind}s' manifests too (e.g. `kubectl get {ty.kind.lower()}s -o yaml`)",
        )
    if node.value not in names:
        raise Bad(f"`{node.value}` names no {ty.kind} of the manifests ({', '.join(names)})", node)
    return ast.Name(let_name(ty.kind, names.index(node.value)), it.span)


def _expr(
    value: object, ty: object, sym: Symbols, it: ast.ManifestItem, node: yaml.Node | None,
    obj: K8sObject,
) -> ast.Expr:  # fmt: skip
    sp = it.span
    if isinstance(ty, TBool) and isinstance(value, str):  # through a value map, or absent
        if value not in ("true", "false", ""):
            raise Bad(f"`{value}` is not true or false", node, "map it in the model's section")
        return ast.BoolLit(value == "true", sp)
    if isinstance(ty, TBool):
        return ast.BoolLit(bool(value), sp)
    if isinstance(ty, TInt) and isinstance(value, int):
        assert ty.lo is not None and ty.hi is not None
        if not ty.lo <= value <= ty.hi:
            raw = node.value if isinstance(node, yaml.ScalarNode) else str(value)
            shown = raw if raw == str(value) else f"{raw} ({value} here)"
            raise Bad(
                f"{obj.kind} `{obj.name}`: {shown} is outside the model's {ty} for `{it.name}`",
                node,
                "narrow the manifest or widen the field's range in the model",
            )
        return ast.IntLit(value, sp)
    if isinstance(ty, TEnum) and isinstance(value, str):
        return ast.Name(member(value, sym.enums[ty.name], it.name, node), sp)
    if isinstance(ty, TSet) and isinstance(value, tuple):
        members = sym.enums[ty.elem]
        if value == EVERY:  # no constraint written: every member
            return ast.SetLit(tuple(ast.Name(n, sp) for n in members), sp)
        names = sorted({member(v, members, it.name, node) for v in value}, key=members.index)
        return ast.SetLit(tuple(ast.Name(n, sp) for n in names), sp)
    raise Bad(f"`{'.'.join(it.path)}` cannot fill `{it.name}` of type {ty}", node)


def init_problems(program: ast.Program, kinds: Sequence[str]) -> list[Diagnostic]:
    """The `init` creates each filled kind only in statements kcheck can replace: plain
    `create K { ... }` at the top of an init block (not in a loop, a branch or a `let`)."""
    out: list[Diagnostic] = []
    for d in program.decls:
        if not isinstance(d, ast.Init):
            continue
        for st in d.body.stmts:
            if _filled_kind(st, kinds) is not None:
                continue
            for c in _creates(st):
                if c.kind in kinds:
                    out.append(Diagnostic(
                        "KC0608", f"the manifests fill kind `{c.kind}`, but this `init` "
                        "creates one where kcheck cannot replace it", c.span,
                        help=f"write the init's {c.kind}s as plain `create {c.kind} {{ ... }}` "
                        "statements, or do not fill the kind from manifests"))  # fmt: skip
    return out


def _filled_kind(st: ast.Stmt, kinds: Collection[str]) -> str | None:
    """The filled kind a top-level init statement creates, when the manifests' objects can
    stand in for it: a plain `create K { ... }`, or a `for` loop (`for i in 1..N`) whose body
    is nothing but such creates of one kind."""
    if isinstance(st, ast.CreateStmt):
        return st.create.kind if st.create.kind in kinds else None
    if isinstance(st, ast.For) and st.where is None and st.body.stmts:
        made = {x.create.kind if isinstance(x, ast.CreateStmt) else None for x in st.body.stmts}
        if len(made) == 1 and (kind := made.pop()) is not None and kind in kinds:
            return kind
    return None


def _creates(node: object) -> list[ast.Create]:
    if isinstance(node, ast.Create):
        return [node]
    if isinstance(node, tuple):
        return [c for x in node for c in _creates(x)]
    if is_dataclass(node) and not isinstance(node, type):
        return [c for f in fields(node) for c in _creates(getattr(node, f.name))]
    return []


def with_objects(creates: dict[str, list[ast.Stmt]]) -> Callable[[ast.Program], ast.Program]:
    """The rewrite: each init's `create K` statements of a filled kind give way to the filled
    objects, all of them, in the order of `creates` (referenced kinds first), put where the
    first such statement was; or they open the first init."""
    group = [st for stmts in creates.values() for st in stmts]

    def rewrite(program: ast.Program) -> ast.Program:
        placed = False
        decls: list[ast.Decl] = []
        for d in program.decls:
            if not isinstance(d, ast.Init):
                decls.append(d)
                continue
            stmts: list[ast.Stmt] = []
            for st in d.body.stmts:
                kind = _filled_kind(st, creates)
                if kind is None:
                    stmts.append(st)
                elif not placed:
                    placed = True
                    stmts += group
            decls.append(replace(d, body=replace(d.body, stmts=tuple(stmts))))
        if not placed:
            first = next((i for i, d in enumerate(decls) if isinstance(d, ast.Init)), None)
            if first is None:
                decls.append(ast.Init(ast.Block(tuple(group))))
            else:
                init = decls[first]
                assert isinstance(init, ast.Init)
                body = replace(init.body, stmts=(*group, *init.body.stmts))
                decls[first] = replace(init, body=body)
        return replace(program, decls=tuple(decls))

    return rewrite
