"""The values a set of manifests gives a model, through its `manifest` section: `-D` style
overrides for consts and params, and initial objects for `kind K = X { ... }` sections, every
value checked against the model's range, every problem located in the YAML file
(spec/manifests.md)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import yaml

from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic, Source
from kcheck.lang.manifest.fields import find_field
from kcheck.lang.manifest.fixed import fixed_problems
from kcheck.lang.manifest.limits import limit_problems
from kcheck.lang.manifest.objects import build_objects, init_problems, member, with_objects
from kcheck.lang.manifest.read import Bad, Value, label, pairing_problems, read_value
from kcheck.lang.manifest.unmapped import taint_problems, unmapped
from kcheck.lang.manifest.yaml_doc import K8sObject, ManifestError, load_objects, span_of
from kcheck.lang.symbols import Symbols, build_symbols
from kcheck.lang.types import TEnum, TInt

__all__ = ["Filled", "ManifestError", "fill", "fill_from_files"]

Found = list[tuple[Source, Diagnostic]]
Rewrite = Callable[[ast.Program], ast.Program]


@dataclass(frozen=True)
class Filled:
    overrides: dict[str, int | str]  # what the manifests give, with -D on top
    warnings: tuple[tuple[Source, Diagnostic], ...]
    origin: dict[str, str]  # name -> "file:line" of the value, for what kcheck prints
    objects: dict[str, int] = field(default_factory=dict)  # model kind -> objects filled
    rewrite: Rewrite | None = None  # puts the filled objects into the model's init


def _no_section(source: Source, program: ast.Program) -> ManifestError:
    return ManifestError([(source, Diagnostic(
        "KC0601", f"model {program.name} has no `manifest` section: it reads nothing from "
        "manifests", program.name_span,
        help="add `manifest { Deployment { replicas = spec.replicas } }` (spec/manifests.md)",
    ))])  # fmt: skip


def fill(
    source: Source, program: ast.Program, paths: Sequence[str], defines: Mapping[str, int | str]
) -> Filled:
    """Raises ManifestError with every problem found. -D wins over a manifest's value."""
    sections = [s for d in program.decls if isinstance(d, ast.Manifest) for s in d.sections]
    if not any(isinstance(d, ast.Manifest) for d in program.decls):
        raise _no_section(source, program)
    found: Found = []
    warnings: Found = []
    objects = [o for p in paths for o in load_objects(p, found, warnings)]
    scalar_kinds = {s.kind for s in sections if s.model_kind is None}
    read = {s.kind for s in sections}  # a section that fills nothing still reads its kind
    by_kind: dict[str, K8sObject] = {}
    for o in objects:
        if o.kind not in read:
            warnings.append((o.source, Diagnostic(
                "KC0609", f"{o.kind} `{o.name}`: the model reads no {o.kind}; ignored",
                o.kind_span, severity="warning",
                help="the model's `manifest` section says which kinds it reads")))  # fmt: skip
        elif o.kind in by_kind and o.kind in scalar_kinds:
            first = by_kind[o.kind]
            found.append((o.source, Diagnostic(
                "KC0608", f"a second {o.kind} (`{o.name}`): the model describes one",
                o.kind_span, notes=(f"the first is `{first.name}` in {first.source.path}",),
                help="pass the manifests of one workload at a time")))  # fmt: skip
        else:
            by_kind.setdefault(o.kind, o)
    found += pairing_problems(by_kind)
    found += unmapped(sections, objects, read)
    found += taint_problems(sections, objects)
    found += limit_problems(sections, objects)
    values: dict[str, tuple[Value, K8sObject, yaml.Node | None, ast.ManifestItem]] = {}
    for sec in sections:
        obj = by_kind.get(sec.kind)
        if obj is None or sec.model_kind is not None:
            continue  # no such object in these manifests: the model's own values stay
        mapped = frozenset(".".join(i.path) for i in sec.items)
        for it in sec.items:
            f = find_field(sec.kind, it.path)
            if f is None:
                continue  # the model check reports it
            try:
                value, node = read_value(obj, it, f, by_kind, mapped)
            except Bad as bad:
                at = span_of(bad.node) if bad.node is not None else obj.kind_span
                found.append((obj.source, Diagnostic(bad.code, str(bad), at, help=bad.hint)))
                continue
            values[it.name] = (value, obj, node, it)
    found += fixed_problems(
        sections, objects, _ints(program, values, defines), program.name, source.path
    )
    if found:
        raise ManifestError(found)
    overrides: dict[str, int | str] = {}
    for n, (v, _, _, _) in values.items():
        assert not isinstance(v, tuple)  # the check refuses a list for a const or param
        overrides[n] = bool(v) if _is_bool_param(program, n) else v
    overrides.update(defines)
    sym = _check_ranges(source, program, values, overrides, defines, found)
    if found or sym is None:
        raise ManifestError(found)
    for n, (v, obj, node, it) in values.items():
        info = sym.params.get(n)
        if isinstance(v, str) and info is not None and isinstance(info.type, TEnum):
            try:
                overrides[n] = member(v, sym.enums[info.type.name], it.name, node)
            except Bad as bad:
                at = span_of(bad.node) if bad.node is not None else obj.kind_span
                found.append((obj.source, Diagnostic(bad.code, str(bad), at, help=bad.hint)))
    bounds = {
        (d.name, f.name): f.type.size
        for d in program.decls
        if isinstance(d, ast.Kind)
        for f in d.fields
        if isinstance(f.type, ast.ListType)
    }
    creates = build_objects(sections, objects, by_kind, sym, found, bounds)
    rewrite: Rewrite | None = None
    if creates:
        rewrite = with_objects(creates)
        found += [(source, d) for d in init_problems(program, list(creates))]
    if found:
        raise ManifestError(found)
    origin = {
        n: f"{o.source.path}:{span_of(node).line}" if node is not None else f"{o.kind} default"
        for n, (_, o, node, _) in values.items()
        if n not in defines
    }
    counts = {k: len(v) for k, v in creates.items()}
    return Filled(overrides, tuple(warnings), origin, counts, rewrite)


def _ints(
    program: ast.Program,
    values: Mapping[str, tuple[Value, K8sObject, yaml.Node | None, ast.ManifestItem]],
    defines: Mapping[str, int | str],
) -> dict[str, int]:
    """The model's consts and int params as the manifests (then -D) fill them: what its
    descriptions of unmapped fields are evaluated with (`maxReplicas: REPLICAS - 1`)."""
    given: dict[str, int | str] = {
        n: v for n, (v, *_) in values.items() if isinstance(v, int) and not isinstance(v, bool)
    }
    given.update(defines)
    sym, _ = build_symbols(program, given)
    ints = dict(sym.consts)
    ints.update({n: p.value for n, p in sym.params.items() if isinstance(p.type, TInt)})
    return ints


def _is_bool_param(program: ast.Program, name: str) -> bool:
    return any(
        isinstance(d, ast.Param) and d.name == name and isinstance(d.type, ast.BoolType)
        for d in program.decls
    )


def _symbols(
    source: Source, program: ast.Program, overrides: Mapping[str, int | str]
) -> tuple[Symbols, list[Diagnostic]]:
    """The symbols of the program as the checker builds them: imports expanded and clocks,
    actor locals and records lowered first (a `clock` is no type before time.py lowers it)."""
    from kcheck.lang.frontend import lower_program
    from kcheck.lang.imports import expand_imports

    lowered = lower_program(expand_imports(program, source.path)[0], overrides)[0]
    return build_symbols(lowered, overrides)


def _check_ranges(
    source: Source,
    program: ast.Program,
    values: dict[str, tuple[Value, K8sObject, yaml.Node | None, ast.ManifestItem]],
    overrides: dict[str, int | str],
    defines: Mapping[str, int | str],
    found: Found,
) -> Symbols | None:
    """A param's value must lie in its declared range, evaluated with the filled consts. The
    symbols built with every override, for the rest of the filling (None if they fail)."""
    params = {d.name: d for d in program.decls if isinstance(d, ast.Param)}
    consts_only = {n: v for n, v in overrides.items() if n not in params}
    sym, _ = _symbols(source, program, consts_only)
    for name, (value, obj, node, _) in values.items():
        if name in defines or name not in params or not isinstance(value, int):
            continue
        info = sym.params.get(name)
        ty = info.type if info is not None else None
        if not isinstance(ty, TInt) or ty.lo is None or ty.hi is None:
            continue
        if ty.lo <= value <= ty.hi:
            continue
        decl_ty = params[name].type
        bound = getattr(decl_ty, "hi" if value > ty.hi else "lo", None)
        knob = bound.id if isinstance(bound, ast.Name) else None
        found.append((obj.source, range_error(
            label(node) or name, node, value, ty, knob, obj,
            f"it fills param `{name}: {ty}` of model {program.name}")))  # fmt: skip
    if found:
        return None
    full, diags = _symbols(source, program, overrides)
    errors = [d for d in diags if d.severity == "error"]
    # the manifests' values break the model (none was out of its param's range): say how
    taken = ", ".join(
        f"{n} = {overrides[n]} ({o.source.path}:{span_of(node).line})"
        for n, (_, o, node, _) in values.items()
        if node is not None and n not in defines
    )
    note = (f"with the manifests' values: {taken}",) if taken else ()
    found += [(source, replace(d, notes=d.notes + note)) for d in errors]
    return None if errors else full


def range_error(
    what: str, node: yaml.Node | None, value: int, ty: TInt, knob: str | None, obj: K8sObject,
    note: str,
) -> Diagnostic:  # fmt: skip
    """`replicas: 40 exceeds the model's bound 8; pass -D MAX_REPLICAS=40 ...`"""
    assert ty.lo is not None and ty.hi is not None
    high = value > ty.hi
    hint = (
        f"pass -D {knob}={value} or narrow the manifest"
        if knob is not None and high
        else f"the model's range is {ty}; narrow the manifest or widen the model"
    )
    raw = node.value if isinstance(node, yaml.ScalarNode) else str(value)
    shown = raw if raw == str(value) else f"{raw} ({value} here)"
    verb = "exceeds the model's bound" if high else "is below the model's bound"
    at = span_of(node) if node is not None else obj.kind_span
    return Diagnostic(
        "KC0607", f"{what}: {shown} {verb} {ty.hi if high else ty.lo}", at, notes=(note,),
        help=hint,
    )  # fmt: skip


def fill_from_files(
    model_path: str, manifests: Sequence[str], defines: Mapping[str, int | str]
) -> tuple[dict[str, int | str], Rewrite | None, str]:
    """The overrides and the init rewrite for `kcheck verify MODEL --manifest ...`, and what to
    print (warnings, what was taken). The model is checked first (with -D only), so its own
    errors are reported as such."""
    from kcheck.lang.frontend import load

    checked = load(model_path, defines)
    filled = fill(checked.source, checked.program, manifests, defines)
    shown = render_found(list(filled.warnings))
    taken = [f"{n} = {filled.overrides[n]} ({at})" for n, at in filled.origin.items()]
    taken += [f"{n} {k} objects" for k, n in filled.objects.items()]
    took = ", ".join(taken) or "nothing (no object of a kind the model reads)"
    text = "\n\n".join(x for x in (shown, f"from the manifests: {took}") if x)
    return filled.overrides, filled.rewrite, text


def render_found(found: Found) -> str:
    from kcheck.lang.diagnostics import render

    return "\n\n".join(render(d, src) for src, d in found)
