"""Checks of a model's `manifest` section (spec/manifests.md): known Kubernetes kinds and fields,
units that fit the field, and targets that are consts or params of a fitting type."""

from __future__ import annotations

from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic, suggest
from kcheck.lang.manifest.fields import KINDS, Field, units_for
from kcheck.lang.symbols import Symbols
from kcheck.lang.types import TBool, TInt


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
    for sec in d.sections:
        fields = KINDS.get(sec.kind)
        if fields is None:
            out.append(
                Diagnostic(
                    "KC0601",
                    f"kcheck reads no Kubernetes kind `{sec.kind}` from manifests",
                    sec.kind_span,
                    help=suggest(sec.kind, KINDS) or "known kinds: " + ", ".join(KINDS),
                )
            )
            continue
        for it in sec.items:
            out += _item(sec.kind, it, fields, sym, seen)
    return out


def _item(
    kind: str,
    it: ast.ManifestItem,
    fields: dict[str, Field],
    sym: Symbols,
    seen: dict[str, ast.Span],
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
    path = ".".join(it.path)
    f = fields.get(path)
    if f is None:
        hint = suggest(path, fields)
        out.append(
            Diagnostic(
                "KC0602",
                f"kcheck reads no field `{path}` of a {kind}",
                it.path_span,
                help=hint or f"the fields of a {kind}: " + ", ".join(fields),
            )
        )
        return out
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
    if it.name in sym.consts:
        if f.sort == "bool":
            out.append(
                Diagnostic(
                    "KC0301",
                    f"`{path}` is a bool; const `{it.name}` is an integer",
                    it.path_span,
                    help="fill a `param NAME: bool` instead",
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
    want_bool = f.sort == "bool"
    if want_bool != isinstance(param.type, TBool) or not isinstance(param.type, TInt | TBool):
        out.append(
            Diagnostic(
                "KC0301",
                f"`{path}` is {'a bool' if want_bool else 'an integer'}; param `{it.name}` is "
                f"of type {param.type}",
                it.path_span,
            )
        )
    return out


def _unit_hint(unit: str, units: tuple[str, ...]) -> str:
    if not units:
        return "it takes no unit"
    same = [u for u in units if u.lower() == unit.lower()]
    if same:
        return f"did you mean `{same[0]}`? units are case-sensitive (m is milli, Mi mebi)"
    return "its units: " + " ".join(units)
