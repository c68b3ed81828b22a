"""Reading one value from a Kubernetes object, as Kubernetes reads it: integers, quantities,
integer-or-percentages with Kubernetes' rounding, PDB budgets, seconds, bools, strings through a
model's value map. Problems raise `Bad` with the YAML node to point at."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from fractions import Fraction

import yaml

from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic, Source
from kcheck.lang.manifest.fields import KINDS, PERCENT, REQUIRES, SECONDS, WORKLOADS, Field
from kcheck.lang.manifest.quantity import UNITS, QuantityError, parse_quantity
from kcheck.lang.manifest.yaml_doc import K8sObject, get, span_of


class Bad(Exception):
    """A value kcheck cannot take: KC0606 (it does not parse, or is unset) unless `code` says
    otherwise (KC0607 past the model's bound, KC0608 an object the model cannot take)."""

    def __init__(
        self, message: str, node: yaml.Node | None, hint: str | None = None, code: str = "KC0606"
    ) -> None:
        super().__init__(message)
        self.node, self.hint, self.code = node, hint, code


def label(node: yaml.Node | None) -> str | None:
    return getattr(node, "kcheck_key", None)


def values_at(node: yaml.Node | None, path: Sequence[str]) -> list[yaml.Node]:
    """The values at `path`, through every element of a list on the way."""
    if node is None:
        return []
    if isinstance(node, yaml.SequenceNode):
        return [leaf for item in node.value for leaf in values_at(item, path)]
    if not path:
        return [node]
    return values_at(get(node, path[0]), path[1:])


def one(obj: K8sObject, path: str | tuple[str, ...]) -> yaml.Node | None:
    """The one value at `path` (a dotted string, or the parts when a key has dots)."""
    parts = path.split(".") if isinstance(path, str) else path
    path = ".".join(parts)
    leaves = values_at(obj.node, parts)
    if len(leaves) > 1:
        raise Bad(f"`{path}` has {len(leaves)} values; the model reads one", leaves[1])
    if leaves:
        leaves[0].kcheck_key = path.rsplit(".", 1)[-1]  # type: ignore[attr-defined]
    return leaves[0] if leaves else None


Value = int | str | tuple[str, ...]  # an integer, an enum member's text, a set's members' texts
EVERY: tuple[str, ...] = ("*",)  # a set field's "no constraint": every member of its enum


def through_map(it: ast.ManifestItem, text: str, node: yaml.Node | None) -> str:
    """A Kubernetes string through the item's value map (when it has one)."""
    if it.values is None:
        return text
    table = dict(it.values)
    if text not in table:
        shown = ", ".join(f'"{k}"' for k in table)
        raise Bad(
            f"`{text}` is not in the model's map for `{it.name}` ({shown})",
            node,
            "add it to the map in the model's `manifest` section",
        )
    return table[text]


def read_value(
    obj: K8sObject,
    it: ast.ManifestItem,
    f: Field,
    by_kind: dict[str, K8sObject],
    mapped: frozenset[str] = frozenset(),
) -> tuple[Value, yaml.Node | None]:
    """`mapped`: the paths the model's section maps of this kind; a model that maps the
    strategy type itself describes each strategy it maps (statefulset_rollout's OnDelete)."""
    path = ".".join(it.path)
    if obj.kind == "PodDisruptionBudget":
        return _pdb(obj, path, by_kind)
    req = REQUIRES.get(obj.kind)
    if req is not None and f.sort == "percent" and req[0] not in mapped:
        node = one(obj, req[0])
        got = node.value if isinstance(node, yaml.ScalarNode) else req[2]
        if got != req[1]:
            raise Bad(f"`{req[0]}` is {got}; the model describes a {req[1]}", node)
    if f.sort == "quantity":
        leaves = _requests(obj, it.path)
        if not leaves:
            if f.default is None:
                raise Bad(
                    f"{obj.kind} `{obj.name}` sets no `{path}`, and the model needs it",
                    None,
                    "set it in the manifest",
                )
            assert isinstance(f.default, int)
            return f.default, None
        total = Fraction(0)
        for leaf in leaves:
            total += _quantity(leaf)
        leaves[0].kcheck_key = it.path[-1]  # type: ignore[attr-defined]
        return _in_unit(total, it, path, leaves[0]), leaves[0]
    if f.count:
        items = values_at(obj.node, list(it.path))
        if not items:
            raise Bad(f"{obj.kind} `{obj.name}` has no `{path}`", None, "set it in the manifest")
        items[0].kcheck_key = it.path[-1]  # type: ignore[attr-defined]
        if it.path[-1] == "containers":
            # a native sidecar (an init container that restarts Always) runs beside the
            # containers and its readiness counts for the pod's: it is one of them
            inits = values_at(obj.node, [*it.path[:-1], "initContainers"])
            items += [c for c in inits if getattr(get(c, "restartPolicy"), "value", "") == "Always"]
        return len(items), items[0]
    if "topologySpreadConstraints" in it.path:
        _check_spread(obj, it.path[: it.path.index("topologySpreadConstraints") + 1])
    if f.sort == "present":
        leaves = values_at(obj.node, list(it.path))
        return int(bool(leaves)), leaves[0] if leaves else None
    if f.sort == "strings":
        if it.path[-2:] == ("matchExpressions", "values"):
            _check_affinity(obj, it.path[:-2])
        leaves = values_at(obj.node, list(it.path))
        if not leaves and f.absent_any:
            return EVERY, None
        for leaf in leaves:
            if not isinstance(leaf, yaml.ScalarNode):
                raise Bad(f"`{path}` is not a list of strings", leaf)
        if leaves:
            leaves[0].kcheck_key = it.path[-1]  # type: ignore[attr-defined]
        return tuple(through_map(it, leaf.value, leaf) for leaf in leaves), leaves[
            0
        ] if leaves else None
    node = one(obj, it.path)
    if f.sort == "string":
        if node is None and isinstance(f.default, str):
            return through_map(it, f.default, None) if it.values else f.default, None
        if node is None:
            raise Bad(f"{obj.kind} `{obj.name}` sets no `{path}`", None, "set it in the manifest")
        if not isinstance(node, yaml.ScalarNode):
            raise Bad(f"`{path}` is not a single value", node)
        return through_map(it, node.value, node), node
    if node is None and path == "spec.priority":
        cls = one(obj, "spec.priorityClassName")
        if isinstance(cls, yaml.ScalarNode) and cls.value:
            # admission sets spec.priority from the PriorityClass, which kcheck does not read
            raise Bad(
                f"Pod `{obj.name}` names priorityClassName `{cls.value}` but sets no "
                "`spec.priority`; kcheck reads no PriorityClass",
                cls,
                "give the pod as `kubectl get pod -o yaml` prints it (with spec.priority), "
                "or set spec.priority",
            )
    if node is None:
        if f.default is None:
            raise Bad(
                f"{obj.kind} `{obj.name}` sets no `{path}`, and Kubernetes has no default",
                None,
                "set it in the manifest",
            )
        assert not isinstance(f.default, tuple)
        raw: str | int | bool = f.default
    else:
        if not isinstance(node, yaml.ScalarNode):
            raise Bad(f"`{path}` is not a single value", node)
        raw = node.value
    if f.sort == "bool":
        if isinstance(raw, bool):
            return int(raw), node
        if raw in ("true", "false"):
            return int(raw == "true"), node
        raise Bad(f"`{path}: {raw}` is not true or false", node)
    if f.sort == "percent":
        return _percent(obj, f, str(raw), path, node, by_kind), node
    n = _int(str(raw), path, node)
    if f.sort == "seconds":
        per = SECONDS[it.unit] if it.unit is not None else 1
        if it.path[-1] == "stabilizationWindowSeconds":
            if not 0 <= n <= 3600:  # the apiserver's validation of HPA behavior
                raise Bad(f"`{path}: {n}` is not between 0 and 3600, as the apiserver requires",
                          node)  # fmt: skip
            if it.unit == "syncs":
                # the HPA stabilizes over the recommendations newer than now - window, one a
                # sync, and this sync's own: 0 s is this sync alone (1), 300 s is 20
                return max(1, math.ceil(Fraction(n, per))), node
        if not f.round_up:  # a Lease's duration: a takeover no later than the cluster's
            return math.floor(Fraction(n, per)), node
        return math.ceil(Fraction(n, per)), node  # a window covers every period it touches
    if f.sort == "percent_int" and it.path[-1] == "averageUtilization":
        # the models read a CPU target; a memory one would be read as if it were
        metric = one(obj, "spec.metrics.resource.name")
        if isinstance(metric, yaml.ScalarNode) and metric.value != "cpu":
            raise Bad(f"the HPA's metric is {metric.value}; the model reads a cpu target", metric)
    if f.sort == "percent_int" and it.unit is not None:
        per = PERCENT[it.unit]
        if n % per:
            raise Bad(
                f"`{path}: {n}` is not a whole number of {it.unit}",
                node,
                "round the manifest, or read it in a finer unit",
            )
        return n // per, node
    return n, node


def _requests(obj: K8sObject, path: tuple[str, ...]) -> list[yaml.Node]:
    """A quantity's values, one a container. A container that sets a limit and no request
    requests its limit: the apiserver defaults the request to the limit. A pod has a limit
    only when every container sets one (not 0): otherwise none (read as 0), as GetPodQOS and
    the pod's cgroup take it."""
    if "containers" not in path or path[-3:-1] not in (
        ("resources", "requests"),
        ("resources", "limits"),
    ):
        return values_at(obj.node, list(path))
    at = path.index("containers") + 1
    out: list[yaml.Node] = []
    for container in values_at(obj.node, list(path[:at])):
        got = values_at(container, list(path[at:]))
        if path[-2] == "limits":
            if not got or all(_quantity(g) == 0 for g in got):
                return []
        elif not got:
            got = values_at(container, [*path[at:-2], "limits", path[-1]])
        out += got
    return out


def _check_affinity(obj: K8sObject, terms_path: tuple[str, ...]) -> None:
    """A model reads required node affinity as the label values a pod may run on: terms are
    ORed, so each must be one `In` expression on the same label (anything else would be read as
    a different constraint than the scheduler applies)."""
    keys: set[str] = set()
    for term in values_at(obj.node, list(terms_path)):
        exprs = values_at(term, ["matchExpressions"])
        if len(exprs) != 1 or get(term, "matchFields") is not None:
            raise Bad(
                f"a node selector term with {len(exprs)} match expressions; the model reads "
                "one expression a term (the values a pod may run on)",
                term,
                "write one `In` expression per term, or check a manifest without it",
            )
        op, key = get(exprs[0], "operator"), get(exprs[0], "key")
        if not isinstance(op, yaml.ScalarNode) or op.value != "In":
            shown = op.value if isinstance(op, yaml.ScalarNode) else "missing"
            raise Bad(
                f"node affinity operator `{shown}`; the model reads `In` values only",
                op or exprs[0],
                "write the constraint with `In`, or check a manifest without it",
            )
        if isinstance(key, yaml.ScalarNode):
            keys.add(key.value)
    if len(keys) > 1:
        raise Bad(
            f"node affinity on {len(keys)} labels ({', '.join(sorted(keys))}); the model reads "
            "one label's values",
            None,
        )


def _check_spread(obj: K8sObject, path: tuple[str, ...]) -> None:
    """The models read a spread constraint as a hard one (the scheduler's filter); a soft one
    (`ScheduleAnyway`, only a score) would be checked as a promise the cluster does not make."""
    for c in values_at(obj.node, list(path)):
        when = get(c, "whenUnsatisfiable")
        if isinstance(when, yaml.ScalarNode) and when.value != "DoNotSchedule":
            raise Bad(
                f"a topology spread constraint with `whenUnsatisfiable: {when.value}`; the "
                "model reads a hard constraint (DoNotSchedule)",
                when,
                "check a manifest whose constraint is DoNotSchedule, or without it",
            )


def _pdb(obj: K8sObject, path: str, by_kind: dict[str, K8sObject]) -> tuple[int, yaml.Node | None]:
    """A PDB sets minAvailable or maxUnavailable; either gives the other, as the disruption
    controller computes desiredHealthy = expected - maxUnavailable (both rounded up)."""
    fields = KINDS["PodDisruptionBudget"]
    set_nodes = {p: one(obj, p) for p in fields}
    given = [(p, n) for p, n in set_nodes.items() if n is not None]
    if len(given) != 1:
        raise Bad(
            f"PodDisruptionBudget `{obj.name}` sets "
            + (
                "neither minAvailable nor maxUnavailable"
                if not given
                else "both minAvailable and maxUnavailable"
            )
            + "; it must set one",
            given[1][1] if given else None,
        )
    ((gpath, gnode),) = given
    if not isinstance(gnode, yaml.ScalarNode):
        raise Bad(f"`{gpath}` is not a single value", gnode)
    value = _percent(obj, fields[gpath], gnode.value, gpath, gnode, by_kind)
    if gpath == path:
        return value, gnode
    replicas = _workload_replicas(_workload(by_kind, gnode))
    return max(0, replicas - value), gnode


def _workload_replicas(obj: K8sObject) -> int:
    node = one(obj, "spec.replicas")
    return _int(node.value, "spec.replicas", node) if isinstance(node, yaml.ScalarNode) else 1


def _int(raw: str, path: str, node: yaml.Node | None) -> int:
    if not re.fullmatch(r"[+-]?[0-9]{1,18}", raw):
        raise Bad(f"`{path}: {raw}` is not an integer", node)
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
        raise Bad(f"`{path}: {raw}` is negative", node)
    if obj.kind == "Deployment" and path.endswith("maxUnavailable"):
        surge_node = one(obj, "spec.strategy.rollingUpdate.maxSurge")
        surge_raw = surge_node.value if isinstance(surge_node, yaml.ScalarNode) else "25%"
        if raw.rstrip("%") in ("0", "") and surge_raw.rstrip("%") == "0":
            # the apiserver's validation: both may not be 0
            raise Bad("maxUnavailable may not be 0 when maxSurge is 0 (the apiserver rejects "
                      "this Deployment)", node)  # fmt: skip
        surge_f = KINDS["Deployment"]["spec.strategy.rollingUpdate.maxSurge"]
        if value == 0 and _percent(obj, surge_f, surge_raw, "maxSurge", surge_node, by_kind) == 0:
            value = 1  # ResolveFenceposts: both rounded to 0, so maxUnavailable is 1
    return value


def _workload(by_kind: dict[str, K8sObject], node: yaml.Node | None) -> K8sObject:
    for kind in WORKLOADS:
        if kind in by_kind:
            return by_kind[kind]
    raise Bad(
        "a percentage is of the replicas of the workload it selects, and no "
        "Deployment, StatefulSet or ReplicaSet was given",
        node,
        "pass the workload's manifest too",
    )


def _quantity(node: yaml.Node) -> Fraction:
    if not isinstance(node, yaml.ScalarNode):
        raise Bad("a quantity must be a single value", node)
    try:
        return parse_quantity(node.value)
    except QuantityError as err:
        raise Bad(str(err), node, err.hint) from None


def _in_unit(total: Fraction, it: ast.ManifestItem, path: str, node: yaml.Node) -> int:
    unit = UNITS[it.unit] if it.unit is not None else Fraction(1)
    value = total / unit
    # Kubernetes keeps cpu in millicores and memory in bytes, rounding up to them
    finest = Fraction(1, 1000) if path.endswith("cpu") else Fraction(1)
    if value.denominator != 1:
        if unit <= finest:
            return math.ceil(value)
        shown = f"{float(value):g}"
        raise Bad(
            f"{node.value} is {shown} {it.unit or 'units'}, not a whole number",
            node,
            "read it in a finer unit (`in m` for cpu, `in Mi` for memory) or round the manifest",
        )
    return int(value)


def pairing_problems(by_kind: dict[str, K8sObject]) -> list[tuple[Source, Diagnostic]]:
    """The objects a model reads together must belong together: a PodDisruptionBudget that
    selects other pods than the workload's, or an HPA that scales another workload, would make
    the model check a pairing the cluster does not have."""
    out: list[tuple[Source, Diagnostic]] = []
    workload = next((by_kind[k] for k in WORKLOADS if k in by_kind), None)
    pdb = by_kind.get("PodDisruptionBudget")
    if pdb is not None and workload is not None:
        want = _labels(one(pdb, "spec.selector"), "matchLabels")
        have = _labels(one(workload, "spec.template.metadata"), "labels")
        if want is not None and have is not None and not want.items() <= have.items():
            at = one(pdb, "spec.selector") or pdb.node
            out.append((pdb.source, Diagnostic(
                "KC0608", f"PodDisruptionBudget `{pdb.name}` selects {_show(want)}, which "
                f"{workload.kind} `{workload.name}`'s pods ({_show(have)}) do not carry",
                span_of(at), help="pass the PDB of this workload")))  # fmt: skip
    hpa = by_kind.get("HorizontalPodAutoscaler")
    if hpa is not None and workload is not None:
        ref = one(hpa, "spec.scaleTargetRef.name")
        kind = one(hpa, "spec.scaleTargetRef.kind")
        target = (
            getattr(kind, "value", workload.kind), getattr(ref, "value", workload.name)
        )  # fmt: skip
        if target != (workload.kind, workload.name):
            out.append((hpa.source, Diagnostic(
                "KC0608", f"HorizontalPodAutoscaler `{hpa.name}` scales {target[0]} "
                f"`{target[1]}`, not {workload.kind} `{workload.name}`",
                span_of(ref or hpa.node), help="pass the HPA of this workload")))  # fmt: skip
    return out


def _labels(node: yaml.Node | None, key: str) -> dict[str, str] | None:
    m = get(node, key) if node is not None else None
    if not isinstance(m, yaml.MappingNode):
        return None
    return {
        k.value: v.value
        for k, v in m.value
        if isinstance(k, yaml.ScalarNode) and isinstance(v, yaml.ScalarNode)
    }


def _show(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
