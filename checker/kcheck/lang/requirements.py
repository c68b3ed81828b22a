"""What a module `requires` of the model that imports it, checked (spec/language.md §13):
kinds, records and enums with their fields and members, and which of them the declarations the
model uses read. imports.py binds and expands; this module says what is missing and whether it
matters."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, TypeAlias

from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic


def show(imp: ast.Import) -> str:
    """An import's module as written: `k8s.taints` or `"lib.kdsl"`."""
    return f'"{imp.path}"' if imp.file else imp.path


def array_sizes(module: ast.Program) -> list[Diagnostic]:
    """A required array field is `Container[_]`: its size is the model's to choose."""
    out: list[Diagnostic] = []
    for d in module.decls:
        if isinstance(d, ast.Requires):
            for f in d.fields:
                if isinstance(f.type, ast.ArrayType) and f.type.size != ast.Name("_"):
                    out.append(Diagnostic("KC0503", "a module requires an array field of any "
                               f"size: write `{f.name}: {f.type.elem}[_]`", f.type.span,
                               help="the importing model chooses the size"))  # fmt: skip
    return out


def check_required(
    imp: ast.Import,
    req: ast.Requires,
    renames: dict[str, str],
    kinds: dict[str, ast.Kind | ast.Requires],
    records: dict[str, ast.Record | ast.Requires],
    enums: dict[str, ast.Enum | ast.Requires],
) -> list[Unmet]:
    """What of `req` the model does not declare: each with its error, and the names whose
    mention in a module's declaration means that the declaration reads it."""
    target = renames[req.name]
    at = f"required at {Path(req.span.file).name}:{req.span.line}"
    tables: dict[str, dict[str, Any]] = {"kind": kinds, "record": records, "enum": enums}
    table = tables[req.what]
    out: list[Unmet] = []

    def unmet(names: set[Mention], msg: str, **kw: Any) -> None:
        out.append(Unmet(frozenset(names), Diagnostic("KC0703", msg, imp.span, **kw)))

    if target not in table:
        near = difflib.get_close_matches(target, sorted(table), n=1)
        passing = bool(imp.span.file)  # the import is in a module: it passes the need on
        hint = (
            f"bind it: `import {show(imp)} with {req.name} = {near[0]}`"
            if near
            else f"require it here too: `requires {req.what} {target} {{ ... }}`"
            if passing
            else f"declare `{req.what} {target}` or bind another: `with {req.name} = ...`"
        )
        who = "the importing module neither requires" if passing else "the model does not declare"
        mentioned: set[Mention] = {req.name, *(m.name for m in req.members)}
        mentioned |= {(req.name, f.name) for f in req.fields}
        unmet(mentioned, f"module `{show(imp)}` requires {req.what} `{target}`, which "
              f"{who}", notes=(at,), help=hint)  # fmt: skip
        return out
    if req.what == "enum":
        have = {m.name for m in enums[target].members}
        for m in req.members:
            if m.name not in have:
                unmet({m.name}, f"enum `{target}` has no member `{m.name}`, which module "
                      f"`{show(imp)}` requires", notes=(at,),
                      help=f"add `{m.name}` to `enum {target}`")  # fmt: skip
        return out
    have_fields = {f.name: f for f in table[target].fields}
    for f in req.fields:
        want = type_text(f.type, renames)
        if f.name not in have_fields:
            unmet({(req.name, f.name)}, f"{req.what} `{target}` has no field `{f.name}: {want}`, which "
                  f"module `{show(imp)}` requires", notes=(at,),
                  help=f"add `{f.name}: {want}` to `{req.what} {target}`" + any_size(want))  # fmt: skip
        elif not fits(have_fields[f.name].type, f.type, renames):
            got = type_text(have_fields[f.name].type, {})
            unmet({(req.name, f.name)}, f"field `{target}.{f.name}` is `{got}`, but module "
                  f"`{show(imp)}` requires `{want}`",
                  notes=(at, f"`{target}.{f.name}` declared at line "
                         f"{have_fields[f.name].span.line}"),
                  help=f"declare it `{f.name}: {want}`" + any_size(want))  # fmt: skip
    return out


def unneeded(
    alias: str,
    module: ast.Program,
    body: list[ast.Decl],
    unmet: list[Unmet],
    program: ast.Program,
) -> tuple[list[ast.Decl] | None, list[Diagnostic]]:
    """`body` without the functions that read a requirement the model (`program`) does not
    meet, when the model calls none of them; None and the unmet requirements' errors when it
    does, or when the module's actors, invariants, vars or consts read one. Which declaration
    reads which requirement is told by what it mentions (`mentions_of`), and by the module's
    declarations it mentions, transitively."""
    shapes = {
        r.name: {f.name: f.type for f in r.fields}
        for r in module.decls
        if isinstance(r, ast.Requires) and r.what != "enum"
    }
    mentions = [mentions_of(d, shapes) for d in body]
    names = {getattr(d, "name", None): i for i, d in enumerate(body)}
    needs = [{j for j, u in enumerate(unmet) if reads(m, u.names)} for m in mentions]
    changed = True
    while changed:
        changed = False
        for i, m in enumerate(mentions):
            for n in m & names.keys():
                more = needs[names[n]] - needs[i]
                if more:
                    needs[i] |= more
                    changed = True
    used = uses(program, alias)
    failing: dict[int, list[str]] = {}
    for i, d in enumerate(body):
        if isinstance(d, ast.Def) and d.name not in used:
            continue
        why = (
            f"`{alias}.{d.name}`, used at line {used[d.name].line}, reads it"
            if isinstance(d, ast.Def)
            else f"the module's {what_of(d)} reads it"
        )
        for j in needs[i]:
            failing.setdefault(j, []).append(why)
    errors = [
        replace(unmet[j].diagnostic, notes=(*unmet[j].diagnostic.notes, whys[0]))
        for j, whys in sorted(failing.items())
    ]
    if errors:
        return None, errors
    return [d for i, d in enumerate(body) if not needs[i]], []


@dataclass(frozen=True)
class Unmet:
    """A requirement the model does not meet: its error, reported if a declaration the model
    uses reads it, and the names whose mention means a declaration does."""

    names: frozenset[Mention]
    diagnostic: Diagnostic


# What a module's declaration mentions: a name (of a kind, record, enum, member or declaration),
# or a field read from an object of a required kind or record, ("Pod", "ready"); ("*", "ready")
# when the object's kind is not known here, which reads the field of every kind that has it.
Mention: TypeAlias = str | tuple[str, str]


def mentions_of(decl: ast.Decl, shapes: dict[str, dict[str, ast.TypeExpr]]) -> set[Mention]:
    """Every name `decl` mentions, and every field it reads with the kind it reads it from
    where parameters' types and binders' domains tell (`c in p.containers` binds a record of
    `Pod.containers`' type). A name bound twice has both kinds; one bound by `let` has none
    known: its fields are read from every kind (a safe over-approximation)."""
    nodes = list(ast.walk_nodes(decl))
    out: set[Mention] = set()
    for n in nodes:
        for f in fields(n):  # type: ignore[arg-type]
            v = getattr(n, f.name)
            if "span" not in f.name and isinstance(v, str):
                out.add(v)
            elif "span" not in f.name and isinstance(v, tuple):
                out |= {x for x in v if isinstance(x, str)}
    env: dict[str, set[str] | None] = {}

    def bind(name: str, kinds: set[str] | None) -> None:
        had = env.get(name, set())
        env[name] = None if had is None or kinds is None else had | kinds

    def kinds_of(e: Any) -> set[str] | None:
        if isinstance(e, ast.Name):
            return env.get(e.id) if e.id in env else ({e.id} if e.id in shapes else None)
        if isinstance(e, ast.Field):
            return field_kinds(kinds_of(e.obj), e.name, shapes)
        return None

    for _ in range(3):  # a binder's domain may read a binder bound after it in the walk
        env.clear()
        for n in nodes:
            if isinstance(n, ast.DefParam) and isinstance(n.type, ast.NamedType | ast.OptionalType):
                bind(n.name, {n.type.name})
            elif isinstance(n, ast.Binder):
                d = n.domain
                bind(n.name, kinds_of(d.expr) if isinstance(d, ast.ExprDomain) else set())
            elif isinstance(n, ast.Let):
                bind(n.name, None)
    for n in nodes:
        if isinstance(n, ast.Field):
            got = kinds_of(n.obj)
            out |= {(k, n.name) for k in got} if got is not None else {("*", n.name)}
        elif isinstance(n, ast.LValue) and len(n.parts) > 1:
            at: set[str] | None = env.get(n.parts[0]) if n.parts[0] in env else None
            for part in n.parts[1:]:
                out |= {(k, part) for k in at} if at is not None else {("*", part)}
                at = field_kinds(at, part, shapes)
    return out


def field_kinds(
    kinds: set[str] | None, name: str, shapes: dict[str, dict[str, ast.TypeExpr]]
) -> set[str] | None:
    """The kinds or records that field `name` of an object of `kinds` holds or refers to."""
    if kinds is None:
        return None
    out: set[str] = set()
    for k in kinds:
        t = shapes.get(k, {}).get(name)
        match t:
            case ast.NamedType(name=r) | ast.OptionalType(name=r) | ast.ArrayType(elem=r):
                out.add(r)
            case ast.SetType(elem=r):
                out.add(r)
            case None:
                return None
    return out


def any_size(want: str) -> str:
    return f" (`_`: of any size, e.g. `{want[:-3]}[2]`)" if want.endswith("[_]") else ""


def reads(mentions: set[Mention], names: frozenset[Mention]) -> bool:
    return bool(mentions & names) or any(
        isinstance(n, tuple) and ("*", n[1]) in mentions for n in names
    )


def uses(program: ast.Program, alias: str) -> dict[str, ast.Span]:
    """The declarations of the module imported as `alias` that `program` reads, each with the
    first place it does."""
    out: dict[str, ast.Span] = {}
    for d in program.decls:
        if isinstance(d, ast.Import):
            continue
        for n in ast.walk_nodes(d):
            match n:
                case ast.Call(func=f) if f.startswith(alias + "."):
                    out.setdefault(f[len(alias) + 1 :], n.span)
                case ast.Field(obj=ast.Name(id=a), name=x) if a == alias:
                    out.setdefault(x, n.span)
                case ast.LValue(parts=(a, x, *_)) if a == alias:
                    out.setdefault(x, n.span)
    return out


def what_of(d: ast.Decl) -> str:
    kind = type(d).__name__.lower()
    name = getattr(d, "name", None)
    return f"{kind} `{name}`" if name else kind


def fits(have: ast.TypeExpr, want: ast.TypeExpr, renames: dict[str, str]) -> bool:
    """Does a model's field of type `have` serve where a module requires `want`? `int` (or a
    range) in a module takes any integer field."""
    match want:
        case ast.IntType() | ast.RangeType():
            return isinstance(have, ast.IntType | ast.RangeType)
        case ast.BoolType():
            return isinstance(have, ast.BoolType)
        case ast.NamedType(name=n):
            return isinstance(have, ast.NamedType) and have.name == renames.get(n, n)
        case ast.OptionalType(name=n):
            return isinstance(have, ast.OptionalType) and have.name == renames.get(n, n)
        case ast.SetType(elem=n):
            return isinstance(have, ast.SetType) and have.elem == renames.get(n, n)
        case ast.ArrayType(elem=n):  # `Container[_]`: of any size
            return isinstance(have, ast.ArrayType) and have.elem == renames.get(n, n)
    return False


def type_text(t: ast.TypeExpr, renames: dict[str, str]) -> str:
    match t:
        case ast.BoolType():
            return "bool"
        case ast.IntType() | ast.RangeType():
            return "int"
        case ast.NamedType(name=n):
            return renames.get(n, n)
        case ast.OptionalType(name=n):
            return renames.get(n, n) + "?"
        case ast.SetType(elem=n):
            return f"set<{renames.get(n, n)}>"
        case ast.ArrayType(elem=n):
            return f"{renames.get(n, n)}[_]"
    return "?"
