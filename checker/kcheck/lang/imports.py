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

What the model must declare for the module's `requires` is checked in requirements.py. Every
node read from a module carries the module's path in its span, so a diagnostic inside
a module points at the module's file:line:col; traces and reports show the namespaced names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic, KcheckError, Source, suggest
from kcheck.lang.parser import parse, read_source
from kcheck.lang.requirements import Unmet, array_sizes, check_required, show, unneeded

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
                           help=f"name it otherwise: `import {show(d)} as {alias}2`")  # fmt: skip
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
            self.error("KC0701", f"module `{show(imp)}` has errors", imp.path_span,
                       notes=(f"read from {key}",))  # fmt: skip
            return None
        self.cache[key] = parsed
        if not parsed.module:
            self.error("KC0701", f"`{show(imp)}` is a model, not a module", imp.path_span,
                       notes=(f"read from {key}",),
                       help="a module starts with `module NAME` (spec/language.md §13)")  # fmt: skip
            return None
        tagged: ast.Program = with_file(parsed, key)
        inner, nested = self.expand(tagged, key, (*stack, key))
        self.diags += array_sizes(inner)
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
            kept, errors = unneeded(alias, inner, body, unmet, program)
            self.diags += errors
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
                    self.error("KC0703", f"module `{show(imp)}` reads `{ref}`, which it neither "
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
        self.error("KC0701", f"no module `{show(imp)}`", imp.path_span,
                   notes=(f"looked for {file}",), help=hint)  # fmt: skip

    def bind(
        self, imp: ast.Import, module: ast.Program, program: ast.Program
    ) -> tuple[dict[str, str], list[Unmet]] | None:
        """The model's kind, record or enum for each of the module's `requires`, checked, and
        the requirements the model does not meet (`unneeded` decides whether they matter);
        None (and errors) if a binding names nothing."""
        required = {d.name: d for d in module.decls if isinstance(d, ast.Requires)}
        renames: dict[str, str] = {}
        ok = True
        for b in imp.binds:
            if b.name not in required:
                self.error("KC0704", f"module `{show(imp)}` requires no `{b.name}`",
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
        unmet: list[Unmet] = []
        for req in required.values():
            unmet += check_required(imp, req, renames, kinds, records, enums)
        return renames, unmet


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
