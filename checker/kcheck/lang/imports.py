"""Parsed model -> parsed model without `import`s (spec/language.md §13, "Modules").

`import k8s.taints` reads checker/kcheck/stdlib/k8s/taints.kdsl; `import "./lib/fit.kdsl"`
reads a file relative to the importing one. A module's declarations are copied into the model
in place of the `import`, each renamed `taints.NAME`, before any name resolves, so the checker,
the compiler, the Z3 encoder, the reference interpreter and `kcheck run` meet no new construct:

    module k8s.taints                     the module's header (not `model`)
    requires kind Pod { tolerations: set<Effect> }   what the model must declare; the import
    requires enum Effect { NoSchedule }              binds it by name or `with Pod = Workload`
    def tolerates(p: Pod, n: Node): bool  becomes `def taints.tolerates(...)`, called as
                                          `taints.tolerates(p, n)` from the model

Every node read from a module carries the module's path in its span, so a diagnostic inside
a module points at the module's file:line:col; traces and reports show the namespaced names.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, TypeAlias

from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic, KcheckError, Source, suggest
from kcheck.lang.parser import parse, read_source

# Declarations a module may hold, by what they become in the model.
_VALUES = (ast.Const, ast.Param, ast.Var)  # read as `m.NAME`
_NAMED = (
    ast.Const, ast.Param, ast.Var, ast.Def, ast.Controller, ast.Process, ast.Fault,
    ast.Invariant, ast.Property, ast.Assume,
)  # fmt: skip
_NOT_IN_MODULE = {
    ast.Kind: ("a kind", "declare the kind in the model and state what the module needs of it "
               "with `requires kind K { ... }`"),
    ast.Enum: ("an enum", "declare the enum in the model and `requires enum E { ... }` here"),
    ast.Init: ("`init`", "the model creates the initial objects"),
    ast.Scheduler: ("a scheduler", "a model has at most one scheduler: declare it there"),
    ast.Docker: ("a `docker` block", "bind the model to Docker in the model"),
    ast.Manifest: ("a `manifest` section", "read manifests in the model"),
}  # fmt: skip


def stdlib_root() -> Path:
    """The folder of the standard modules shipped in the package (beside this one, as the
    grammar is: importlib.resources would import tempfile and shutil at every start-up)."""
    return Path(__file__).resolve().parent.parent / "stdlib"


def module_file(imp: ast.Import, importer: str) -> Path:
    """Where `imp` reads its module: a standard module by its dotted name, a quoted path
    relative to the importing file's folder."""
    if imp.file:
        return (Path(importer).parent / imp.path).resolve()
    return stdlib_root().joinpath(*imp.path.split(".")).with_suffix(".kdsl")


def alias_of(imp: ast.Import) -> str:
    """The name the model calls the module by: `as NAME`, or the last part of its name."""
    if imp.alias is not None:
        return imp.alias
    last = imp.path.rsplit("/", 1)[-1].removesuffix(".kdsl") if imp.file else imp.path
    return last.rsplit(".", 1)[-1]


def expand_imports(program: ast.Program, path: str) -> tuple[ast.Program, list[Diagnostic]]:
    """`program` (read from `path`) with every `import` replaced by its module's declarations,
    namespaced (the same object if it imports nothing), and the errors found doing so."""
    exp = _Expander()
    try:
        out, instances = exp.expand(program, path, (str(Path(path).resolve()),), top=True)
        if not exp.diags:
            out = exp.share(out, instances)
    except RecursionError:  # the tree walks recurse; the parser allows about 400 levels
        msg = "expression nested too deeply to expand the model's imports"
        return program, [Diagnostic("KC0505", msg, program.name_span,
                                    help="split a deep expression into `def` helpers")]  # fmt: skip
    return out, exp.diags


def imported_texts(path: str, text: str) -> list[tuple[str, str]]:
    """(file, text) of every module the model `text` (read from `path`) imports, transitively,
    in a stable order: what its verdicts depend on beside its own text (`kcheck ci`'s cache key).
    A module that cannot be read or parsed adds what could be read; checking reports it."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()

    def visit(at: str, body: str) -> None:
        try:
            program = parse(Source(at, body))
        except KcheckError:
            return
        for d in program.decls:
            if isinstance(d, ast.Import):
                file = str(module_file(d, at))
                if file in seen:
                    continue
                seen.add(file)
                try:
                    module = read_source(file).text
                except KcheckError:
                    module = ""
                out.append((file, module))
                visit(file, module)

    visit(path, text)
    return out


def shadows_the_model(d: Diagnostic) -> bool:
    """Is `d` a module's local (a binder, a `let`, a parameter) named like a declaration of the
    importing model (KC0207)? Harmless: a module is closed (it never reads the model's names,
    `hermetic` below), so inside it the name can only mean its own local. A module's own
    declarations are namespaced (`fit.f`), so a local can shadow them only in a message that
    says so (`of an enclosing scope` is a local shadowing a local: still reported)."""
    return d.code == "KC0207" and bool(d.span.file) and "of an enclosing scope" not in d.message


def with_file(node: Any, file: str) -> Any:
    """`node` with `file` in every span (the spans of a module's nodes name the module)."""
    return _map(node, lambda n: n, file)


def _map(node: Any, f: Callable[[Any], Any], file: str | None = None) -> Any:
    """Rebuild the tree bottom-up, applying `f` to each dataclass node (and `file` to spans)."""
    if isinstance(node, tuple):
        return tuple(_map(x, f, file) for x in node)
    if isinstance(node, ast.Span):
        return replace(node, file=file) if file is not None else node
    if not is_dataclass(node) or isinstance(node, type):
        return node
    changes = {x.name: _map(getattr(node, x.name), f, file) for x in fields(node)}
    return f(replace(node, **changes))


@dataclass(frozen=True)
class _Instance:
    """One copy of a module in the expanded model: its declarations are `prefix.NAME` for NAME
    in `names`. Two instances of one file with the same `binds` are the same copy."""

    file: str
    binds: tuple[tuple[str, str], ...]  # each required kind or enum, and the model's name for it
    prefix: str
    names: frozenset[str]
    stateful: bool  # declares a var or an actor: a second copy would double them
    span: ast.Span  # the import that made it


@dataclass(frozen=True)
class _Module:
    alias: str
    decls: tuple[ast.Decl, ...]
    values: frozenset[str]  # consts, params and vars, read as `alias.NAME`
    funcs: frozenset[str]  # defs, called as `alias.NAME(...)`
    names: frozenset[str]  # every declaration's name
    instances: tuple[_Instance, ...]  # this copy and those of the modules it imports


class _Expander:
    def __init__(self) -> None:
        self.diags: list[Diagnostic] = []
        self.cache: dict[str, ast.Program] = {}

    def error(self, code: str, msg: str, span: ast.Span, **kw: Any) -> None:
        self.diags.append(Diagnostic(code, msg, span, **kw))

    def expand(
        self, program: ast.Program, path: str, stack: tuple[str, ...], top: bool = False
    ) -> tuple[ast.Program, list[_Instance]]:
        """`program` with its imports expanded, and the module copies that made."""
        imports = [d for d in program.decls if isinstance(d, ast.Import)]
        if top:
            for d in program.decls:
                if isinstance(d, ast.Requires):
                    self.error("KC0503", "`requires` belongs in a module, not in a model",
                               d.span, help="a model declares its kinds and enums with `kind` "
                               "and `enum`")  # fmt: skip
            if program.module:
                self.error("KC0503", f"`{program.name}` is a module: it is checked through a "
                           "model that imports it", program.name_span,
                           help=f"write a model that says `import {program.name}` and check "
                           "that")  # fmt: skip
        if not imports:
            return program, []
        own = {getattr(d, "name", None) for d in program.decls} - {None}
        modules: dict[str, _Module] = {}
        decls: list[ast.Decl] = []
        for d in program.decls:
            if not isinstance(d, ast.Import):
                decls.append(d)
                continue
            alias = alias_of(d)
            where = d.alias_span if d.alias is not None else d.path_span
            if alias in modules or alias in own:
                what = "another import" if alias in modules else "a declaration of the model"
                self.error("KC0704", f"the import's name `{alias}` is taken by {what}", where,
                           help=f"name it otherwise: `import {_show(d)} as {alias}2`")  # fmt: skip
                continue
            module = self.load(d, alias, path, stack, program)
            if module is not None:
                modules[alias] = module
                decls += module.decls
        instances = [i for m in modules.values() for i in m.instances]
        if not modules:
            return replace(program, decls=tuple(decls)), instances
        before = len(self.diags)
        for d in program.decls:  # `forall fit in Node: fit.cpu` would read the module's names
            for n in ast.walk_nodes(d):
                for name in _binds(n):
                    if name in modules:
                        at = (
                            n.name_span
                            if isinstance(n, ast.Let | ast.DefParam)
                            else (n.span if isinstance(n, ast.Binder) else ast.NOWHERE)
                        )
                        self.error("KC0704", f"`{name}` is the name of an import: a local "
                                   "cannot take it", at,
                                   help="rename the local, or import the module `as` "
                                   "another name")  # fmt: skip
        if len(self.diags) > before:  # qualifying now would only add confusing errors
            return replace(program, decls=tuple(decls)), instances
        return replace(program, decls=tuple(_qualify(x, modules, self) for x in decls)), instances

    def share(self, program: ast.Program, instances: list[_Instance]) -> ast.Program:
        """One copy of each module instantiated alike more than once (directly and through
        another module, or under two names): the later copies' declarations are dropped and
        their names made the first's. A module with state or actors instantiated with other
        bindings cannot be shared: KC0705."""
        first: dict[tuple[str, tuple[tuple[str, str], ...]], _Instance] = {}
        by_file: dict[str, _Instance] = {}
        renames: dict[str, str] = {}
        dropped: set[str] = set()
        # the shallowest copy is kept, so a direct import keeps its own names
        for inst in sorted(instances, key=lambda i: i.prefix.count(".")):
            other = by_file.setdefault(inst.file, inst)
            if other.binds != inst.binds and inst.stateful:
                self.conflict(other, inst)
                continue
            kept = first.setdefault((inst.file, inst.binds), inst)
            if kept is inst or inst.prefix in dropped:
                continue
            dropped.add(inst.prefix)
            # a function one copy left out (it reads what that importer lacks) keeps its own
            renames |= {f"{inst.prefix}.{n}": f"{kept.prefix}.{n}" for n in inst.names & kept.names}
        if not renames:
            return program
        decls = [d for d in program.decls if getattr(d, "name", None) not in renames]
        return replace(program, decls=tuple(_rename(d, renames) for d in decls))

    def conflict(self, one: _Instance, other: _Instance) -> None:
        def show(i: _Instance) -> str:
            return ", ".join(f"{r} = {t}" for r, t in i.binds) or "no bindings"

        name = Path(one.file).stem
        self.error("KC0705", f"module `{name}` is imported twice with different bindings, and "
                   "it has state or actors that one copy cannot share", other.span,
                   notes=(f"here as `{other.prefix}` with {show(other)}",
                          f"{_place(one.span)} as `{one.prefix}` with {show(one)}"),
                   help="bind both imports alike, so that they share one copy; for two "
                   "independent copies, import a copy of the module's file")  # fmt: skip

    def load(
        self,
        imp: ast.Import,
        alias: str,
        importer: str,
        stack: tuple[str, ...],
        program: ast.Program,
    ) -> _Module | None:
        file = module_file(imp, importer)
        key = str(file)
        if key in stack:
            chain = " -> ".join(Path(s).name for s in (*stack[stack.index(key) :], key))
            self.error("KC0702", f"import cycle: {chain}", imp.path_span,
                       help="move what both modules need into a third module that both "
                       "import")  # fmt: skip
            return None
        if not file.is_file():
            self.missing(imp, file)
            return None
        try:
            parsed = self.cache.get(key) or parse(read_source(key))
        except KcheckError as err:
            self.diags += [replace(x, span=replace(x.span, file=key)) for x in err.diagnostics]
            self.error("KC0701", f"module `{_show(imp)}` has errors", imp.path_span,
                       notes=(f"read from {key}",))  # fmt: skip
            return None
        self.cache[key] = parsed
        if not parsed.module:
            self.error("KC0701", f"`{_show(imp)}` is a model, not a module", imp.path_span,
                       notes=(f"read from {key}",),
                       help="a module starts with `module NAME` (spec/language.md §13)")  # fmt: skip
            return None
        tagged: ast.Program = with_file(parsed, key)
        inner, nested = self.expand(tagged, key, (*stack, key))
        self.array_sizes(inner)
        bound = self.bind(imp, inner, program)
        if bound is None:
            return None
        renames, unmet = bound
        required = sorted(d.name for d in inner.decls if isinstance(d, ast.Requires))
        body: list[ast.Decl] = []
        for d in inner.decls:
            if isinstance(d, ast.Requires | ast.Import):
                continue
            if type(d) in _NOT_IN_MODULE:
                what, hint = _NOT_IN_MODULE[type(d)]
                self.error("KC0503", f"a module cannot declare {what}", d.span, help=hint)
                continue
            body.append(d)
        self.hermetic(imp, inner, body, {d.name for d in body if isinstance(d, _NAMED)}, program)
        if unmet:
            kept = self.unneeded(imp, alias, inner, body, unmet, program)
            if kept is None:
                return None
            body = kept
        names = {d.name for d in body if isinstance(d, _NAMED)}
        binds = tuple((r, renames[r]) for r in required)
        stateful = any(isinstance(d, ast.Var | ast.Controller | ast.Process | ast.Fault)
                       for d in body)  # fmt: skip
        renames |= {n: f"{alias}.{n}" for n in names}
        decls = tuple(_rename(d, renames) for d in body)
        # the copies this module's imports made, named and bound as the importer sees them
        inner_copies = tuple(
            replace(i, prefix=f"{alias}.{i.prefix}", binds=_through(i.binds, renames))
            for i in nested
        )
        own = _Instance(key, binds, alias, frozenset(names), stateful, imp.path_span)
        return _Module(
            alias,
            decls,
            frozenset(d.name for d in body if isinstance(d, _VALUES)),
            frozenset(d.name for d in body if isinstance(d, ast.Def)),
            frozenset(names),
            (own, *inner_copies),
        )

    def hermetic(
        self,
        imp: ast.Import,
        module: ast.Program,
        body: list[ast.Decl],
        names: set[str],
        program: ast.Program,
    ) -> None:
        """A module reads only its own declarations and what it `requires`: a name it leaves
        free would silently mean whatever the importing model declares by that name."""
        allowed = set(names)
        for r in module.decls:
            if isinstance(r, ast.Requires):
                allowed |= {r.name, *(m.name for m in r.members)}
        model: set[str] = set()
        for d in program.decls:
            if isinstance(d, (*_NAMED, ast.Kind)):
                model.add(d.name)
            elif isinstance(d, ast.Enum):
                model |= {d.name, *(m.name for m in d.members)}
        for d in body:
            bound = {b for n in ast.walk_nodes(d) for b in _binds(n)}
            for n in ast.walk_nodes(d):
                if not isinstance(n, ast.Name | ast.Call):
                    continue
                ref = n.id if isinstance(n, ast.Name) else n.func
                if ref in model and ref not in allowed and ref not in bound:
                    self.error("KC0703", f"module `{_show(imp)}` reads `{ref}`, which it neither "
                               "declares nor requires", n.span,
                               notes=(f"the importing model declares `{ref}`: a module sees only "
                                      "its own names and its `requires`",),
                               help="add it to the module's `requires` (a kind's field or an "
                               "enum's member), or pass it as a parameter")  # fmt: skip

    def missing(self, imp: ast.Import, file: Path) -> None:
        hint = None
        if not imp.file:
            root = stdlib_root()
            known = sorted(
                ".".join(p.relative_to(root).with_suffix("").parts) for p in root.rglob("*.kdsl")
            )
            hint = suggest(imp.path, known) or "the standard modules: " + ", ".join(known)
        else:
            hint = "a module's path is relative to the folder of the file that imports it"
        self.error("KC0701", f"no module `{_show(imp)}`", imp.path_span,
                   notes=(f"looked for {file}",), help=hint)  # fmt: skip

    def array_sizes(self, module: ast.Program) -> None:
        """A required array field is `Container[_]`: its size is the model's to choose."""
        for d in module.decls:
            if isinstance(d, ast.Requires):
                for f in d.fields:
                    if isinstance(f.type, ast.ArrayType) and f.type.size != ast.Name("_"):
                        self.error("KC0503", "a module requires an array field of any size: "
                                   f"write `{f.name}: {f.type.elem}[_]`", f.type.span,
                                   help="the importing model chooses the size")  # fmt: skip

    def unneeded(
        self,
        imp: ast.Import,
        alias: str,
        module: ast.Program,
        body: list[ast.Decl],
        unmet: list[_Unmet],
        program: ast.Program,
    ) -> list[ast.Decl] | None:
        """`body` without the functions that read a requirement the model does not meet, when
        the model uses none of them; None (and the unmet requirements' errors) when it does, or
        when the module's actors, invariants, vars or consts read one. Which declaration reads
        which requirement is told by what it mentions (`_mentions`), and by the module's
        declarations it mentions, transitively."""
        shapes = {
            r.name: {f.name: f.type for f in r.fields}
            for r in module.decls
            if isinstance(r, ast.Requires) and r.what != "enum"
        }
        mentions = [_mentions(d, shapes) for d in body]
        names = {getattr(d, "name", None): i for i, d in enumerate(body)}
        needs = [{j for j, u in enumerate(unmet) if _reads(m, u.names)} for m in mentions]
        changed = True
        while changed:
            changed = False
            for i, m in enumerate(mentions):
                for n in m & names.keys():
                    more = needs[names[n]] - needs[i]
                    if more:
                        needs[i] |= more
                        changed = True
        used = _uses(program, alias)
        failing: dict[int, list[str]] = {}
        for i, d in enumerate(body):
            if isinstance(d, ast.Def) and d.name not in used:
                continue
            why = (
                f"`{alias}.{d.name}`, used at line {used[d.name].line}, reads it"
                if isinstance(d, ast.Def)
                else f"the module's {_what(d)} reads it"
            )
            for j in needs[i]:
                failing.setdefault(j, []).append(why)
        for j, whys in sorted(failing.items()):
            u = unmet[j].diagnostic
            self.diags.append(replace(u, notes=(*u.notes, whys[0])))
        if failing:
            return None
        return [d for i, d in enumerate(body) if not needs[i]]

    def bind(
        self, imp: ast.Import, module: ast.Program, program: ast.Program
    ) -> tuple[dict[str, str], list[_Unmet]] | None:
        """The model's kind, record or enum for each of the module's `requires`, checked, and
        the requirements the model does not meet (`unneeded` decides whether they matter);
        None (and errors) if a binding names nothing."""
        required = {d.name: d for d in module.decls if isinstance(d, ast.Requires)}
        renames: dict[str, str] = {}
        ok = True
        for b in imp.binds:
            if b.name not in required:
                self.error("KC0704", f"module `{_show(imp)}` requires no `{b.name}`",
                           b.name_span, help=suggest(b.name, required) or "it requires: "
                           + (", ".join(sorted(required)) or "nothing"))  # fmt: skip
                ok = False
            renames[b.name] = b.target
        for name in required:
            renames.setdefault(name, name)
        # in a module that imports another, its own `requires` are the kinds and enums it has
        kinds: dict[str, ast.Kind | ast.Requires] = {
            d.name: d
            for d in program.decls
            if isinstance(d, ast.Kind) or (isinstance(d, ast.Requires) and d.what == "kind")
        }
        enums: dict[str, ast.Enum | ast.Requires] = {
            d.name: d
            for d in program.decls
            if isinstance(d, ast.Enum) or (isinstance(d, ast.Requires) and d.what == "enum")
        }
        records: dict[str, ast.Record | ast.Requires] = {
            d.name: d
            for d in program.decls
            if isinstance(d, ast.Record) or (isinstance(d, ast.Requires) and d.what == "record")
        }
        if not ok:
            return None
        unmet: list[_Unmet] = []
        for req in required.values():
            unmet += self.check_required(imp, req, renames, kinds, records, enums)
        return renames, unmet

    def check_required(
        self,
        imp: ast.Import,
        req: ast.Requires,
        renames: dict[str, str],
        kinds: dict[str, ast.Kind | ast.Requires],
        records: dict[str, ast.Record | ast.Requires],
        enums: dict[str, ast.Enum | ast.Requires],
    ) -> list[_Unmet]:
        """What of `req` the model does not declare: each with its error, and the names whose
        mention in a module's declaration means that the declaration reads it."""
        target = renames[req.name]
        at = f"required at {Path(req.span.file).name}:{req.span.line}"
        tables: dict[str, dict[str, Any]] = {"kind": kinds, "record": records, "enum": enums}
        table = tables[req.what]
        out: list[_Unmet] = []

        def unmet(names: set[Mention], msg: str, **kw: Any) -> None:
            out.append(_Unmet(frozenset(names), Diagnostic("KC0703", msg, imp.span, **kw)))

        if target not in table:
            near = difflib.get_close_matches(target, sorted(table), n=1)
            passing = bool(imp.span.file)  # the import is in a module: it passes the need on
            hint = (
                f"bind it: `import {_show(imp)} with {req.name} = {near[0]}`"
                if near
                else f"require it here too: `requires {req.what} {target} {{ ... }}`"
                if passing
                else f"declare `{req.what} {target}` or bind another: `with {req.name} = ...`"
            )
            who = (
                "the importing module neither requires" if passing else "the model does not declare"
            )
            mentioned: set[Mention] = {req.name, *(m.name for m in req.members)}
            mentioned |= {(req.name, f.name) for f in req.fields}
            unmet(mentioned, f"module `{_show(imp)}` requires {req.what} `{target}`, which "
                  f"{who}", notes=(at,), help=hint)  # fmt: skip
            return out
        if req.what == "enum":
            have = {m.name for m in enums[target].members}
            for m in req.members:
                if m.name not in have:
                    unmet({m.name}, f"enum `{target}` has no member `{m.name}`, which module "
                          f"`{_show(imp)}` requires", notes=(at,),
                          help=f"add `{m.name}` to `enum {target}`")  # fmt: skip
            return out
        have_fields = {f.name: f for f in table[target].fields}
        for f in req.fields:
            want = _type_text(f.type, renames)
            if f.name not in have_fields:
                unmet({(req.name, f.name)}, f"{req.what} `{target}` has no field `{f.name}: {want}`, which "
                      f"module `{_show(imp)}` requires", notes=(at,),
                      help=f"add `{f.name}: {want}` to `{req.what} {target}`" + _any_size(want))  # fmt: skip
            elif not _fits(have_fields[f.name].type, f.type, renames):
                got = _type_text(have_fields[f.name].type, {})
                unmet({(req.name, f.name)}, f"field `{target}.{f.name}` is `{got}`, but module "
                      f"`{_show(imp)}` requires `{want}`",
                      notes=(at, f"`{target}.{f.name}` declared at line "
                             f"{have_fields[f.name].span.line}"),
                      help=f"declare it `{f.name}: {want}`" + _any_size(want))  # fmt: skip
        return out


@dataclass(frozen=True)
class _Unmet:
    """A requirement the model does not meet: its error, reported if a declaration the model
    uses reads it, and the names whose mention means a declaration does."""

    names: frozenset[Mention]
    diagnostic: Diagnostic


# What a module's declaration mentions: a name (of a kind, record, enum, member or declaration),
# or a field read from an object of a required kind or record, ("Pod", "ready"); ("*", "ready")
# when the object's kind is not known here, which reads the field of every kind that has it.
Mention: TypeAlias = str | tuple[str, str]


def _mentions(decl: ast.Decl, shapes: dict[str, dict[str, ast.TypeExpr]]) -> set[Mention]:
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
            return _field_kinds(kinds_of(e.obj), e.name, shapes)
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
                at = _field_kinds(at, part, shapes)
    return out


def _field_kinds(
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


def _any_size(want: str) -> str:
    return f" (`_`: of any size, e.g. `{want[:-3]}[2]`)" if want.endswith("[_]") else ""


def _reads(mentions: set[Mention], names: frozenset[Mention]) -> bool:
    return bool(mentions & names) or any(
        isinstance(n, tuple) and ("*", n[1]) in mentions for n in names
    )


def _uses(program: ast.Program, alias: str) -> dict[str, ast.Span]:
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


def _what(d: ast.Decl) -> str:
    kind = type(d).__name__.lower()
    name = getattr(d, "name", None)
    return f"{kind} `{name}`" if name else kind


def _through(
    binds: tuple[tuple[str, str], ...], renames: dict[str, str]
) -> tuple[tuple[str, str], ...]:
    """A nested module's bindings, named as the importer of the module that imports it sees them."""
    return tuple((r, renames.get(t, t)) for r, t in binds)


def _place(span: ast.Span) -> str:
    return f"at {Path(span.file).name}:{span.line}" if span.file else f"at line {span.line}"


def _binds(n: Any) -> tuple[str, ...]:
    if isinstance(n, ast.Binder | ast.DefParam):
        return (n.name,)
    if isinstance(n, ast.Let):
        return (n.name,)
    return ()


def _show(imp: ast.Import) -> str:
    return f'"{imp.path}"' if imp.file else imp.path


def _fits(have: ast.TypeExpr, want: ast.TypeExpr, renames: dict[str, str]) -> bool:
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


def _type_text(t: ast.TypeExpr, renames: dict[str, str]) -> str:
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


# Fields of nodes that name a declaration (the module's own or a required kind or enum), and the
# binders and locals, which are renamed with them so that a binding and its uses stay one name.
_NAME_FIELDS: dict[type, tuple[str, ...]] = {
    ast.Name: ("id",), ast.Call: ("func",), ast.Budget: ("fault",),
    ast.Restart: ("controller",), ast.Create: ("kind",), ast.Index: ("kind",),
    ast.NamedType: ("name",), ast.OptionalType: ("name",), ast.SetType: ("elem",),
    ast.ArrayType: ("elem",),
    ast.Watch: ("kind",), ast.Binder: ("name",), ast.Let: ("name",), ast.DefParam: ("name",),
    **{t: ("name",) for t in _NAMED},
}  # fmt: skip


def _rename(node: Any, renames: dict[str, str]) -> Any:
    def one(n: Any) -> Any:
        changes: dict[str, Any] = {
            f: renames[getattr(n, f)]
            for f in _NAME_FIELDS.get(type(n), ())
            if getattr(n, f) in renames
        }
        if isinstance(n, ast.LValue) and n.parts and n.parts[0] in renames:
            changes["parts"] = (renames[n.parts[0]], *n.parts[1:])
        return replace(n, **changes) if changes else n

    return _map(node, one)


def _qualify(node: Any, modules: dict[str, _Module], exp: _Expander) -> Any:
    """The importer's references to its modules made namespaced names: `m.X` (a const, param or
    var) becomes the name `m.X`; an unknown `m.f(...)` or `m.X` is reported here."""

    def one(n: Any) -> Any:
        match n:
            case ast.Field(obj=ast.Name(id=a), name=x) if a in modules:
                if x in modules[a].values:
                    return ast.Name(f"{a}.{x}", n.span)
                exp.error("KC0201", f"module `{a}` has no const, param or var `{x}`", n.span,
                          help=suggest(x, modules[a].values) or _offer(modules[a]))  # fmt: skip
            case ast.Call(func=f) if "." in f and f.split(".", 1)[0] in modules:
                a, x = f.split(".", 1)
                if x not in modules[a].funcs:
                    exp.error("KC0205", f"module `{a}` has no function `{x}`", n.func_span,
                              help=suggest(x, modules[a].funcs) or _offer(modules[a]))  # fmt: skip
            case ast.LValue(parts=(a, x, *rest)) if a in modules and n.index is None:
                return replace(n, parts=(f"{a}.{x}", *rest))
        return n

    return _map(node, one)


def _offer(m: _Module) -> str:
    names = sorted(m.funcs | m.values)
    return f"module `{m.alias}` offers: " + (", ".join(names) if names else "no names")
