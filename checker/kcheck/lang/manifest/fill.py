"""The values a set of manifests gives a model's consts and params, through the model's
`manifest` section: `-D` style overrides, every value checked against the model's range, every
problem located in the YAML file (spec/manifests.md)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import yaml

from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic, Source
from kcheck.lang.manifest.fields import KINDS, PERCENT, REQUIRES, SECONDS, WORKLOADS, Field
from kcheck.lang.manifest.quantity import UNITS, QuantityError, parse_quantity
from kcheck.lang.manifest.yaml_doc import K8sObject, ManifestError, get, load_objects, span_of

__all__ = ["ManifestError", "fill", "fill_from_files"]
from kcheck.lang.symbols import build_symbols
from kcheck.lang.types import TBool, TInt

Found = list[tuple[Source, Diagnostic]]


@dataclass(frozen=True)
class Filled:
    overrides: dict[str, int | str]  # what the manifests give, with -D on top
    warnings: tuple[tuple[Source, Diagnostic], ...]
    origin: dict[str, str]  # name -> "file:line" of the value, for the report's notes


class _Bad(Exception):
    def __init__(self, message: str, node: yaml.Node | None, hint: str | None = None) -> None:
        super().__init__(message)
        self.node, self.hint = node, hint


def fill(
    source: Source, program: ast.Program, paths: Sequence[str], defines: Mapping[str, int | str]
) -> Filled:
    """Raises ManifestError with every problem found. -D wins over a manifest's value."""
    if not any(isinstance(d, ast.Manifest) for d in program.decls):
        raise ManifestError(
            [
                (
                    source,
                    Diagnostic(
                        "KC0601",
                        f"model {program.name} has no `manifest` section: it reads "
                        "nothing from manifests",
                        program.name_span,
                        help="add `manifest { Deployment { replicas = spec.replicas } }` (spec/manifests.md)",
                    ),
                )
            ]
        )
    found: Found = []
    warnings: Found = []
    objects = [o for p in paths for o in load_objects(p, found, warnings)]
    sections = [s for d in program.decls if isinstance(d, ast.Manifest) for s in d.sections]
    read = {s.kind for s in sections}
    by_kind: dict[str, K8sObject] = {}
    for o in objects:
        if o.kind not in read:
            warnings.append(
                (
                    o.source,
                    Diagnostic(
                        "KC0609",
                        f"{o.kind} `{o.name}`: the model reads no {o.kind}; ignored",
                        o.kind_span,
                        severity="warning",
                        help="the model's `manifest` section says which kinds it reads",
                    ),
                )
            )
        elif o.kind in by_kind:
            first = by_kind[o.kind]
            found.append(
                (
                    o.source,
                    Diagnostic(
                        "KC0608",
                        f"a second {o.kind} (`{o.name}`): the model describes one",
                        o.kind_span,
                        notes=(f"the first is `{first.name}` in {first.source.path}",),
                        help="pass the manifests of one workload at a time",
                    ),
                )
            )
        else:
            by_kind[o.kind] = o
    values: dict[str, tuple[int, K8sObject, yaml.Node | None]] = {}
    for sec in sections:
        obj = by_kind.get(sec.kind)
        if obj is None:
            continue  # no such object in these manifests: the model's own values stay
        for it in sec.items:
            f = KINDS.get(sec.kind, {}).get(".".join(it.path))
            if f is None:
                continue  # the model check reports it
            try:
                value, node = _value(obj, it, f, by_kind)
            except _Bad as bad:
                at = span_of(bad.node) if bad.node is not None else obj.kind_span
                found.append((obj.source, Diagnostic("KC0606", str(bad), at, help=bad.hint)))
                continue
            values[it.name] = (value, obj, node)
    if found:
        raise ManifestError(found)
    overrides: dict[str, int | str] = {
        n: (bool(v) if _is_bool_param(program, n) else v) for n, (v, _, _) in values.items()
    }
    overrides.update(defines)
    _check_ranges(program, values, overrides, defines, found)
    if found:
        raise ManifestError(found)
    origin = {
        n: f"{o.source.path}:{span_of(node).line}" if node is not None else f"{o.kind} default"
        for n, (_, o, node) in values.items()
        if n not in defines
    }
    return Filled(overrides, tuple(warnings), origin)


def _is_bool_param(program: ast.Program, name: str) -> bool:
    return any(
        isinstance(d, ast.Param) and d.name == name and isinstance(d.type, ast.BoolType)
        for d in program.decls
    )


def _check_ranges(
    program: ast.Program,
    values: dict[str, tuple[int, K8sObject, yaml.Node | None]],
    overrides: dict[str, int | str],
    defines: Mapping[str, int | str],
    found: Found,
) -> None:
    """A param's value must lie in its declared range, evaluated with the filled consts."""
    params = {d.name: d for d in program.decls if isinstance(d, ast.Param)}
    consts_only = {n: v for n, v in overrides.items() if n not in params}
    sym, _ = build_symbols(program, consts_only)
    for name, (value, obj, node) in values.items():
        if name in defines or name not in params:
            continue
        info = sym.params.get(name)
        ty = info.type if info is not None else None
        if not isinstance(ty, TInt) or isinstance(ty, TBool):
            continue
        assert ty.lo is not None and ty.hi is not None
        if ty.lo <= value <= ty.hi:
            continue
        decl_ty = params[name].type
        bound = getattr(decl_ty, "hi" if value > ty.hi else "lo", None)
        knob = bound.id if isinstance(bound, ast.Name) else None
        what = "exceeds the model's bound" if value > ty.hi else "is below the model's bound"
        limit = ty.hi if value > ty.hi else ty.lo
        hint = (
            f"pass -D {knob}={value} or narrow the manifest"
            if knob is not None and value > ty.hi
            else f"the model's param `{name}` is {ty}; narrow the manifest or widen the model"
        )
        key = node if node is not None else None
        at = span_of(key) if key is not None else obj.kind_span
        label = _label(node) or name
        raw = node.value if isinstance(node, yaml.ScalarNode) else str(value)
        shown = raw if raw == str(value) else f"{raw} ({value} here)"
        found.append(
            (
                obj.source,
                Diagnostic(
                    "KC0607",
                    f"{label}: {shown} {what} {limit}",
                    at,
                    notes=(f"it fills param `{name}: {ty}` of model {program.name}",),
                    help=hint,
                ),
            )
        )


def _label(node: yaml.Node | None) -> str | None:
    return getattr(node, "kcheck_key", None)


def _leaves(node: yaml.Node | None, path: Sequence[str]) -> list[yaml.Node]:
    """The values at `path`, through every element of a list on the way."""
    if node is None:
        return []
    if isinstance(node, yaml.SequenceNode):
        return [leaf for item in node.value for leaf in _leaves(item, path)]
    if not path:
        return [node]
    return _leaves(get(node, path[0]), path[1:])


def _one(obj: K8sObject, path: str) -> yaml.Node | None:
    leaves = _leaves(obj.node, path.split("."))
    if len(leaves) > 1:
        raise _Bad(f"`{path}` has {len(leaves)} values; the model reads one", leaves[1])
    if leaves:
        leaves[0].kcheck_key = path.rsplit(".", 1)[-1]  # type: ignore[attr-defined]
    return leaves[0] if leaves else None


def _value(
    obj: K8sObject, it: ast.ManifestItem, f: Field, by_kind: dict[str, K8sObject]
) -> tuple[int, yaml.Node | None]:
    path = ".".join(it.path)
    if obj.kind == "PodDisruptionBudget":
        return _pdb(obj, path, by_kind)
    req = REQUIRES.get(obj.kind)
    if req is not None and f.sort == "percent":
        node = _one(obj, req[0])
        got = node.value if isinstance(node, yaml.ScalarNode) else req[2]
        if got != req[1]:
            raise _Bad(f"`{req[0]}` is {got}; the model describes a {req[1]}", node)
    if f.sort == "quantity":
        leaves = _leaves(obj.node, list(it.path))
        if not leaves:
            if f.default is None:
                raise _Bad(
                    f"{obj.kind} `{obj.name}` sets no `{path}`, and the model needs it",
                    None,
                    "set it in the manifest",
                )
            return int(f.default), None
        total = Fraction(0)
        for leaf in leaves:
            total += _quantity(leaf)
        leaves[0].kcheck_key = it.path[-1]  # type: ignore[attr-defined]
        return _in_unit(total, it, path, leaves[0]), leaves[0]
    node = _one(obj, path)
    if node is None:
        if f.default is None:
            raise _Bad(
                f"{obj.kind} `{obj.name}` sets no `{path}`, and Kubernetes has no default",
                None,
                "set it in the manifest",
            )
        raw: str | int | bool = f.default
    else:
        if not isinstance(node, yaml.ScalarNode):
            raise _Bad(f"`{path}` is not a single value", node)
        raw = node.value
    if f.sort == "bool":
        if isinstance(raw, bool):
            return int(raw), node
        if raw in ("true", "false"):
            return int(raw == "true"), node
        raise _Bad(f"`{path}: {raw}` is not true or false", node)
    if f.sort == "percent":
        return _percent(obj, f, str(raw), path, node, by_kind), node
    n = _int(str(raw), path, node)
    if f.sort == "seconds":
        per = SECONDS[it.unit] if it.unit is not None else 1
        return math.ceil(Fraction(n, per)), node  # a window covers every period it touches
    if f.sort == "percent_int" and it.path[-1] == "averageUtilization":
        # the models read a CPU target; a memory one would be read as if it were
        metric = _one(obj, "spec.metrics.resource.name")
        if isinstance(metric, yaml.ScalarNode) and metric.value != "cpu":
            raise _Bad(f"the HPA's metric is {metric.value}; the model reads a cpu target", metric)
    if f.sort == "percent_int" and it.unit is not None:
        per = PERCENT[it.unit]
        if n % per:
            raise _Bad(
                f"`{path}: {n}` is not a whole number of {it.unit}",
                node,
                "round the manifest, or read it in a finer unit",
            )
        return n // per, node
    return n, node


def _pdb(obj: K8sObject, path: str, by_kind: dict[str, K8sObject]) -> tuple[int, yaml.Node | None]:
    """A PDB sets minAvailable or maxUnavailable; either gives the other, as the disruption
    controller computes desiredHealthy = expected - maxUnavailable (both rounded up)."""
    fields = KINDS["PodDisruptionBudget"]
    set_nodes = {p: _one(obj, p) for p in fields}
    given = [(p, n) for p, n in set_nodes.items() if n is not None]
    if len(given) != 1:
        raise _Bad(
            f"PodDisruptionBudget `{obj.name}` sets "
            + ("neither minAvailable nor maxUnavailable" if not given else "both")
            + "; it must set one",
            given[1][1] if given else None,
        )
    ((gpath, gnode),) = given
    if not isinstance(gnode, yaml.ScalarNode):
        raise _Bad(f"`{gpath}` is not a single value", gnode)
    value = _percent(obj, fields[gpath], gnode.value, gpath, gnode, by_kind)
    if gpath == path:
        return value, gnode
    replicas = _workload_replicas(_workload(by_kind, gnode))
    return max(0, replicas - value), gnode


def _workload_replicas(obj: K8sObject) -> int:
    node = _one(obj, "spec.replicas")
    return _int(node.value, "spec.replicas", node) if isinstance(node, yaml.ScalarNode) else 1


def _int(raw: str, path: str, node: yaml.Node | None) -> int:
    if not re.fullmatch(r"[+-]?[0-9]{1,18}", raw):
        raise _Bad(f"`{path}: {raw}` is not an integer", node)
    return int(raw)


def _percent(
    obj: K8sObject,
    f: Field,
    raw: str,
    path: str,
    node: yaml.Node | None,
    by_kind: dict[str, K8sObject],
) -> int:
    if not raw.endswith("%"):
        value = _int(raw, path, node)
    else:
        pct = _int(raw[:-1], path, node)
        base_obj = obj if f.base != "workload" else _workload(by_kind, node)
        replicas = _workload_replicas(base_obj)
        scaled = Fraction(pct * replicas, 100)
        value = math.ceil(scaled) if f.round_up else math.floor(scaled)
    if value < 0:
        raise _Bad(f"`{path}: {raw}` is negative", node)
    if obj.kind == "Deployment" and path.endswith("maxUnavailable"):
        # ResolveFenceposts: when both round to 0, maxUnavailable becomes 1
        surge_f = KINDS["Deployment"]["spec.strategy.rollingUpdate.maxSurge"]
        surge_node = _one(obj, "spec.strategy.rollingUpdate.maxSurge")
        surge_raw = surge_node.value if isinstance(surge_node, yaml.ScalarNode) else "25%"
        if (
            value == 0
            and surge_raw != raw
            and _percent(obj, surge_f, surge_raw, "maxSurge", surge_node, by_kind) == 0
        ):
            value = 1
    return value


def _workload(by_kind: dict[str, K8sObject], node: yaml.Node | None) -> K8sObject:
    for kind in WORKLOADS:
        if kind in by_kind:
            return by_kind[kind]
    raise _Bad(
        "a percentage is of the replicas of the workload it selects, and no "
        "Deployment, StatefulSet or ReplicaSet was given",
        node,
        "pass the workload's manifest too",
    )


def _quantity(node: yaml.Node) -> Fraction:
    if not isinstance(node, yaml.ScalarNode):
        raise _Bad("a quantity must be a single value", node)
    try:
        return parse_quantity(node.value)
    except QuantityError as err:
        raise _Bad(str(err), node, err.hint) from None


def _in_unit(total: Fraction, it: ast.ManifestItem, path: str, node: yaml.Node) -> int:
    unit = UNITS[it.unit] if it.unit is not None else Fraction(1)
    value = total / unit
    # Kubernetes keeps cpu in millicores and memory in bytes, rounding up to them
    finest = Fraction(1, 1000) if path.endswith("cpu") else Fraction(1)
    if value.denominator != 1:
        if unit <= finest:
            return math.ceil(value)
        shown = f"{float(value):g}"
        raise _Bad(
            f"{node.value} is {shown} {it.unit or 'units'}, not a whole number",
            node,
            "read it in a finer unit (`in m` for cpu, `in Mi` for memory) or round the manifest",
        )
    return int(value)


def fill_from_files(
    model_path: str, manifests: Sequence[str], defines: Mapping[str, int | str]
) -> tuple[dict[str, int | str], str]:
    """The overrides for `kcheck verify MODEL --manifest ...`, and the warnings as text. The
    model is checked first (with -D only), so its own errors are reported as such."""
    from kcheck.lang.frontend import load

    checked = load(model_path, defines)
    filled = fill(checked.source, checked.program, manifests, defines)
    shown = render_found(list(filled.warnings))
    taken = ", ".join(f"{n} = {filled.overrides[n]} ({at})" for n, at in filled.origin.items())
    return filled.overrides, "\n\n".join(x for x in (shown, f"from the manifests: {taken}") if x)


def render_found(found: Found) -> str:
    from kcheck.lang.diagnostics import render

    return "\n\n".join(render(d, src) for src, d in found)
