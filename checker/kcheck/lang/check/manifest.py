"""Checks of a model's `manifest` section (spec/manifests.md): known Kubernetes kinds and fields,
units that fit the field, targets that are consts, params or (in `kind K = X { ... }`) fields of
a fitting type, and value maps whose members exist."""

from __future__ import annotations

from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic, suggest
from kcheck.lang.lists import list_size, slot_name
from kcheck.lang.manifest.described import a_kind, fixed_errors
from kcheck.lang.manifest.fields import KINDS, Field, find_field, units_for
from kcheck.lang.symbols import Symbols
from kcheck.lang.types import TBool, TEnum, TInt, TRef, TSet, Type

_INTEGER_SORTS = ("int", "quantity", "percent", "seconds", "percent_int")


def manifest_errors(d: ast.Manifest, sym: Symbols) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    seen: dict[str, ast.Span] = {}
    if sym.manifests and d is not sym.manifests[0]:
        first = sym.manifests[0].span
        out.append(
            Diagnostic(
                "KC0202",
                "a second `manifest` section",
                d.span,
                notes=(f"the first is at line {first.line}",),
                help="merge them into one",
            )
        )
    filled_kinds: dict[str, ast.Span] = {}
    for sec in d.sections:
        if sec.kind not in KINDS:
            out.append(
                Diagnostic(
                    "KC0601",
                    f"kcheck reads no Kubernetes kind `{sec.kind}` from manifests",
                    sec.kind_span,
                    help=suggest(sec.kind, KINDS) or "known kinds: " + ", ".join(KINDS),
                )
            )
            continue
        out += fixed_errors(sec, sym, {".".join(it.path) for it in sec.items})
        if sec.model_kind is None:
            for it in sec.items:
                out += _item(sec.kind, it, sym, seen)
            continue
        info = sym.kinds.get(sec.model_kind)
        if info is None:
            out.append(
                Diagnostic(
                    "KC0204",
                    f"the model has no kind `{sec.model_kind}`",
                    sec.model_kind_span,
                    help=suggest(sec.model_kind, sym.kinds),
                )
            )
            continue
        if sec.model_kind in filled_kinds:
            out.append(
                Diagnostic(
                    "KC0202",
                    f"kind `{sec.model_kind}` is filled twice from the manifests",
                    sec.model_kind_span,
                    notes=(f"first at line {filled_kinds[sec.model_kind].line}",),
                )
            )
        filled_kinds.setdefault(sec.model_kind, sec.model_kind_span)
        mapped: set[str] = set()
        for it in sec.items:
            f = _field(sec.kind, it, out)
            if it.name in mapped:
                out.append(Diagnostic("KC0202", f"field `{it.name}` is filled twice", it.name_span))
            mapped.add(it.name)
            target = info.field(it.name)
            parts = [
                x.name for x in info.fields if x.name.startswith((f"{it.name}[", f"{it.name}."))
            ]
            size = list_size({x.name for x in info.fields}, it.name)
            if target is None and size is not None:  # a list, lowered to a length and slots
                if f is not None:
                    slot = info.field(slot_name(it.name, 0))
                    assert slot is not None
                    out += _fits_list(f, it, slot.type, f"`{info.name}.{it.name}`", sym)
            elif target is None and parts:  # an array of records, lowered to its parts
                out.append(
                    Diagnostic(
                        "KC0203",
                        f"field `{it.name}` of kind `{info.name}` is an array of records, "
                        "which a manifest section cannot fill yet",
                        it.name_span,
                        help="leave it out of the section and set it in the model's `init`",
                    )
                )
            elif target is None:
                # the user's names: a list or an array by its own name, not by the parts
                # that lowering made of it (`finalizers`, not `finalizers[1]`)
                names = sorted(
                    {x.name.split("[")[0].split(".")[0] for x in info.fields if "@" not in x.name}
                )
                out.append(
                    Diagnostic(
                        "KC0203",
                        f"kind `{info.name}` has no field `{it.name}`",
                        it.name_span,
                        help=suggest(it.name, names),
                    )
                )
            elif f is not None:
                out += _fits(f, it, target.type, f"field `{info.name}.{it.name}`", sym)
        # as `create`: a reference with no default must be set, by name (spec.nodeName)
        refs = [
            x.name
            for x in info.fields
            if isinstance(x.type, TRef)
            and not x.type.optional
            and x.default is None
            and x.name not in mapped
        ]
        if refs:
            out.append(
                Diagnostic(
                    "KC0503",
                    f"kind `{info.name}` has references with no default, which this section "
                    f"does not fill: {', '.join(refs)}",
                    sec.model_kind_span,
                    help="fill each by the name of an object the manifests fill "
                    "(`node = spec.nodeName`), or give it a default",
                )
            )
    filled = {s.model_kind for s in d.sections if s.model_kind is not None}
    for sec in d.sections:
        info = sym.kinds.get(sec.model_kind or "")
        for it in sec.items if info is not None else ():
            target = info.field(it.name) if info is not None else None
            if (
                target is not None
                and isinstance(target.type, TRef)
                and target.type.kind not in filled
            ):
                out.append(
                    Diagnostic(
                        "KC0503",
                        f"`{it.name}` names a {target.type.kind} by its name, and the "
                        f"manifests fill no {target.type.kind}",
                        it.span,
                        help=f"add `kind {target.type.kind} = ... {{ ... }}` to the section",
                    )
                )
    return out


def _field(kind: str, it: ast.ManifestItem, out: list[Diagnostic]) -> Field | None:
    path = ".".join(it.path)
    f = find_field(kind, it.path)
    if f is None:
        fields = KINDS[kind]
        out.append(
            Diagnostic(
                "KC0602",
                f"kcheck reads no field `{path}` of {a_kind(kind)}",
                it.path_span,
                help=suggest(path, fields)
                or (
                    f"the fields of a {kind}: " + ", ".join(fields)
                    if fields
                    else f"kcheck reads no field of {kind} objects: describe what the model has "
                    "(`path: value`, spec/manifests.md §4)"
                ),
            )
        )
        return None
    units = units_for(f)
    if it.unit is not None and it.unit not in units:
        out.append(
            Diagnostic(
                "KC0603",
                f"`{path}` cannot be read `in {it.unit}`",
                it.unit_span,
                help=_unit_hint(it.unit, units),
            )
        )
    if it.values is not None and f.sort not in ("string", "strings"):
        out.append(
            Diagnostic(
                "KC0301",
                f"`{path}` is not a string: a value map does not apply",
                it.path_span,
            )
        )
    return f


def _fits_list(
    f: Field, it: ast.ManifestItem, slot: Type, what: str, sym: Symbols
) -> list[Diagnostic]:
    """A `list<E, N>` field is filled from a list of strings, each a member of the enum E
    (through the item's value map, or by name): `finalizers = metadata.finalizers { ... }`."""
    path = ".".join(it.path)
    if f.sort != "strings" or not isinstance(slot, TEnum):
        elem = slot.kind if isinstance(slot, TRef) else str(slot)
        return [
            Diagnostic(
                "KC0301",
                f"`{path}` cannot fill {what}, a list of {elem}"
                + ("" if isinstance(slot, TEnum) else " objects"),
                it.path_span,
                help="a list of an enum is filled from a list of strings "
                '(`finalizers = metadata.finalizers { "...": Member }`)'
                if isinstance(slot, TEnum)
                else "a list of objects cannot be filled from manifests yet: set it in `init`",
            )
        ]
    return _members(slot.name, it, sym)


def _members(enum: str, it: ast.ManifestItem, sym: Symbols) -> list[Diagnostic]:
    """The members a value map names must be the enum's."""
    out: list[Diagnostic] = []
    members = sym.enums.get(enum, ())
    for _, member in it.values or ():
        if member not in members:
            out.append(
                Diagnostic(
                    "KC0201",
                    f"{enum} has no member `{member}`",
                    it.span,
                    help=suggest(member, members),
                )
            )
    return out


def _fits(f: Field, it: ast.ManifestItem, ty: Type, what: str, sym: Symbols) -> list[Diagnostic]:
    """Can a value of this sort fill `what`, of type `ty`? Value maps name members of it."""
    path = ".".join(it.path)
    enum: str | None = None
    if f.sort in ("bool", "present"):
        ok = isinstance(ty, TBool)
    elif f.sort == "string" and isinstance(ty, TBool):
        # a label or selector read as a bool: through a map of its values to true and false
        ok = it.values is not None
        if ok and it.values is not None:
            return [
                Diagnostic("KC0301", f"`{target}` is not true or false", it.span)
                for _, target in it.values
                if target not in ("true", "false")
            ]
    elif f.sort == "string" and isinstance(ty, TRef):
        return []  # the name of an object the manifests fill (checked with the manifests)
    elif f.sort == "string":
        ok = isinstance(ty, TEnum)
        enum = ty.name if isinstance(ty, TEnum) else None
    elif f.sort == "strings":
        ok = isinstance(ty, TSet) and ty.elem in sym.enums
        enum = ty.elem if isinstance(ty, TSet) else None
    else:
        ok = isinstance(ty, TInt)
    if not ok:
        sort = {
            "bool": "a bool",
            "present": "a bool (whether it is set)",
            "string": "a string",
            "strings": "a list of strings",
        }
        want = {
            "string": "an enum, a reference (by name) or, through a value map, a bool",
            "strings": "a set or a list of an enum",
            "bool": "a bool",
            "present": "a bool",
        }
        return [
            Diagnostic(
                "KC0301",
                f"`{path}` is {sort.get(f.sort, 'an integer')}; {what} is of type {ty}",
                it.path_span,
                help=f"it can fill {want.get(f.sort, 'an integer')}",
            )
        ]
    return _members(enum, it, sym) if enum is not None else []


def _item(
    kind: str, it: ast.ManifestItem, sym: Symbols, seen: dict[str, ast.Span]
) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    if it.name in seen:
        out.append(
            Diagnostic(
                "KC0202",
                f"`{it.name}` is filled twice from the manifests",
                it.name_span,
                notes=(f"first at line {seen[it.name].line}",),
            )
        )
    seen.setdefault(it.name, it.name_span)
    f = _field(kind, it, out)
    if f is None:
        return out
    path = ".".join(it.path)
    if it.name in sym.consts:
        if f.sort not in _INTEGER_SORTS:
            out.append(
                Diagnostic(
                    "KC0301",
                    f"`{path}` is not an integer; const `{it.name}` is",
                    it.path_span,
                    help="fill a `param` of a fitting type instead",
                )
            )
        return out
    param = sym.params.get(it.name)
    if param is None:
        is_param = any(isinstance(x, ast.Param) and x.name == it.name for x in sym.program.decls)
        if not is_param:
            out.append(
                Diagnostic(
                    "KC0201",
                    f"`{it.name}` is not a const or param of the model",
                    it.name_span,
                    help=suggest(it.name, [*sym.consts, *sym.params]),
                )
            )
        return out
    if f.sort == "strings":
        out.append(
            Diagnostic(
                "KC0301",
                f"`{path}` is a list; param `{it.name}` holds one value",
                it.path_span,
            )
        )
        return out
    return out + _fits(f, it, param.type, f"param `{it.name}`", sym)


def _unit_hint(unit: str, units: tuple[str, ...]) -> str:
    if not units:
        return "it takes no unit"
    same = [u for u in units if u.lower() == unit.lower()]
    if same:
        return f"did you mean `{same[0]}`? units are case-sensitive (m is milli, Mi mebi)"
    return "its units: " + " ".join(units)
