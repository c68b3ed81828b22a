"""Fields a manifest sets that the model does not map, where that changes what is checked
(spec/manifests.md §4, KC0610). A model that maps one field of a group (a Deployment's rollout,
an HPA's scaling, a pod's placement) describes that group, and describes Kubernetes' defaults
for the group's fields it does not map; a manifest that sets one of them to anything else
describes a system the model does not, so kcheck refuses it rather than check something else.
Fields of groups the model maps nothing of (a rollout model given a pod's tolerations) say
nothing about what it checks and are not reported."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import yaml

from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic, Source
from kcheck.lang.manifest.yaml_doc import K8sObject, get, span_of

Found = list[tuple[Source, Diagnostic]]


@dataclass(frozen=True)
class Rule:
    path: str  # dotted; `X.*` stands for each key of the mapping at X
    # Kubernetes' default, in the manifest's own spelling: a value equal to it is what a model
    # that does not map the field describes. None: any value set is a change (a list, an
    # object, a field with no default)
    default: str | None = None
    readable: bool = True  # False: kcheck reads no part of it, so no model can map it
    # a model that maps it maps the group; not so for a workload's replicas, which a model of
    # autoscaling reads as much as one of a rollout
    triggers: bool = True


_ROLLOUT = (
    Rule("spec.replicas", "1", triggers=False),
    Rule("spec.strategy.rollingUpdate.maxSurge", "25%"),
    Rule("spec.strategy.rollingUpdate.maxUnavailable", "25%"),
    Rule("spec.minReadySeconds", "0"),
    Rule("spec.paused", "false", readable=False),
)
_STS_ROLLOUT = (
    Rule("spec.replicas", "1", triggers=False),
    Rule("spec.updateStrategy.rollingUpdate.maxUnavailable", "1"),
    Rule("spec.updateStrategy.rollingUpdate.partition", "0"),
    Rule("spec.podManagementPolicy", "OrderedReady", readable=False),
    Rule("spec.minReadySeconds", "0", readable=False),
)


def _placement(prefix: str) -> tuple[Rule, ...]:
    """Where a pod may run: what the scheduler reads of a pod spec besides its requests."""
    return (
        Rule(f"{prefix}.nodeSelector.*"),
        Rule(f"{prefix}.tolerations"),
        Rule(f"{prefix}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"),
        Rule(
            f"{prefix}.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution",
            readable=False,
        ),
        Rule(f"{prefix}.affinity.podAffinity", readable=False),
        Rule(f"{prefix}.affinity.podAntiAffinity", readable=False),
        Rule(f"{prefix}.topologySpreadConstraints"),
    )


# autoscaling/v2's defaults (what `kubectl get hpa -o yaml` shows when behavior is not written)
_SCALE_UP_POLICIES = (("Pods", "4", "15"), ("Percent", "100", "15"))
_SCALE_DOWN_POLICIES = (("Percent", "100", "15"),)
_POLICIES = {
    "spec.behavior.scaleUp.policies": _SCALE_UP_POLICIES,
    "spec.behavior.scaleDown.policies": _SCALE_DOWN_POLICIES,
}
_SCALING = (
    Rule("spec.minReplicas", "1"),
    Rule("spec.maxReplicas"),
    Rule("spec.metrics"),
    Rule("spec.behavior.scaleDown.stabilizationWindowSeconds", "300"),
    Rule("spec.behavior.scaleUp.stabilizationWindowSeconds", "0"),
    Rule("spec.behavior.scaleUp.policies"),
    Rule("spec.behavior.scaleDown.policies"),
    Rule("spec.behavior.scaleUp.selectPolicy", "Max"),
    Rule("spec.behavior.scaleDown.selectPolicy", "Max"),
)
_TEMPLATE = "spec.template.spec"

GROUPS: dict[str, tuple[tuple[str, tuple[Rule, ...]], ...]] = {
    "Deployment": (("rollout", _ROLLOUT), ("placement", _placement(_TEMPLATE))),
    "StatefulSet": (("rollout", _STS_ROLLOUT), ("placement", _placement(_TEMPLATE))),
    "ReplicaSet": (("placement", _placement(_TEMPLATE)),),
    "Pod": (("placement", _placement("spec")),),
    "Node": (("placement", (Rule("spec.taints"), Rule("spec.unschedulable", "false"))),),
    "HorizontalPodAutoscaler": (("scaling", _SCALING),),
}


def _covers(mapped: str, rule: str) -> bool:
    """Does a mapped path read (part of) the rule's field? `spec.tolerations.effect` reads
    `spec.tolerations`; `spec.nodeSelector.disktype` reads that key of `spec.nodeSelector.*`."""
    return mapped == rule or mapped.startswith(rule + ".") or rule.startswith(mapped + ".")


def _nodes(node: yaml.Node | None, parts: Sequence[str]) -> yaml.Node | None:
    for p in parts:
        node = get(node, p) if node is not None else None
    return node


def _scalars(node: yaml.Node) -> tuple[str, ...] | None:
    if isinstance(node, yaml.ScalarNode):
        return (node.value,)
    return None


def _policies(node: yaml.Node) -> tuple[tuple[str, str, str], ...] | None:
    if not isinstance(node, yaml.SequenceNode):
        return None
    out: list[tuple[str, str, str]] = []
    for p in node.value:
        kind, value, period = (_nodes(p, (k,)) for k in ("type", "value", "periodSeconds"))
        if not (
            isinstance(kind, yaml.ScalarNode)
            and isinstance(value, yaml.ScalarNode)
            and isinstance(period, yaml.ScalarNode)
        ):
            return None
        out.append((kind.value, value.value, period.value))
    return tuple(sorted(out))


def _changed(rule: Rule, node: yaml.Node) -> bool:
    """Does the manifest's value differ from what the model, not mapping it, describes?"""
    if rule.path in _POLICIES:
        return _policies(node) != tuple(sorted(_POLICIES[rule.path]))
    if rule.default is not None:
        return _scalars(node) != (rule.default,)
    if isinstance(node, (yaml.SequenceNode, yaml.MappingNode)):
        return bool(node.value)  # an empty list or map says nothing
    return isinstance(node, yaml.ScalarNode) and node.value not in ("", "null", "~")


def unmapped(
    sections: Sequence[ast.ManifestSection], objects: Sequence[K8sObject], read: set[str]
) -> Found:
    """KC0610 for each field of a group the model maps part of, set by an object of a kind the
    model reads to something other than Kubernetes' default, that no item maps."""
    out: Found = []
    mapped: dict[str, list[str]] = {}
    described: dict[str, list[str]] = {}
    for sec in sections:
        mapped.setdefault(sec.kind, []).extend(".".join(it.path) for it in sec.items)
        described.setdefault(sec.kind, []).extend(".".join(fx.path) for fx in sec.fixed)
    for obj in objects:
        if obj.kind not in read:
            continue
        paths = mapped.get(obj.kind, [])
        # a field the model describes (`path: value`) is checked against that (manifest.fixed)
        covered = paths + described.get(obj.kind, [])
        for group, rules in GROUPS.get(obj.kind, ()):
            reads = [
                p
                for p in paths
                for r in rules
                if r.triggers and _covers(p, r.path.removesuffix(".*"))
            ]
            if not reads:
                continue
            for rule in rules:
                out += _check_rule(obj, rule, group, covered, reads)
    return out


def _check_rule(
    obj: K8sObject, rule: Rule, group: str, paths: list[str], reads: list[str]
) -> Found:
    base = rule.path.removesuffix(".*")
    node = _nodes(obj.node, base.split("."))
    if node is None:
        return []
    if rule.path.endswith(".*"):  # each key on its own: a selector on another label
        if not isinstance(node, yaml.MappingNode):
            return []
        found: Found = []
        for k, v in node.value:
            key = f"{base}.{k.value}"
            if not any(_covers(p, key) for p in paths):
                found += _report(obj, Rule(key), v, group, reads, k)
        return found
    if any(_covers(p, rule.path) for p in paths) or not _changed(rule, node):
        return []
    return _report(obj, rule, node, group, reads, None)


def _report(
    obj: K8sObject, rule: Rule, node: yaml.Node, group: str, reads: list[str],
    at: yaml.Node | None,
) -> Found:  # fmt: skip
    shown = f" ({node.value} here)" if isinstance(node, yaml.ScalarNode) else ""
    default = f"Kubernetes' default, {rule.default}" if rule.default is not None else "it unset"
    notes = (
        f"the model maps this {obj.kind}'s {group} ({', '.join(dict.fromkeys(reads))}) and "
        f"describes {default}",
    )
    if rule.readable:
        hint = (
            f"map it in the model's `manifest` section (`NAME = {rule.path}`), or check "
            "a manifest without it"
        )
    else:
        hint = (
            "kcheck reads no part of it, so no model can map it: check a manifest without it "
            "(the model then describes the cluster without it)"
        )
    return [
        (
            obj.source,
            Diagnostic(
                "KC0610",
                f"the model does not map `{rule.path}`{shown} of {obj.kind} `{obj.name}`",
                span_of(at or node),
                notes=notes,
                help=hint,
            ),
        )
    ]


def _text(node: yaml.Node | None, key: str) -> str:
    v = get(node, key) if node is not None else None
    return v.value if isinstance(v, yaml.ScalarNode) else ""


def _tolerates(t: yaml.Node, taint: yaml.Node) -> bool:
    """Kubernetes' ToleratesTaint: the effect (empty: any), the key (empty with Exists: any),
    and for operator Equal (the default) the value."""
    if _text(t, "effect") not in ("", _text(taint, "effect")):
        return False
    if _text(t, "key") not in ("", _text(taint, "key")):
        return False
    return _text(t, "operator") == "Exists" or _text(t, "value") == _text(taint, "value")


def _items(node: yaml.Node | None) -> list[yaml.Node]:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def taint_problems(sections: Sequence[ast.ManifestSection], objects: Sequence[K8sObject]) -> Found:
    """A model that reads pods' tolerations and nodes' taints by one attribute (their effects,
    or keys) takes a pod to tolerate a taint when the attribute matches. Kubernetes matches key,
    value and effect: where the two answers differ for a pod and a node of the manifests, the
    model would check another cluster (KC0610 at the pod's tolerations)."""
    paths = {sec.kind: {".".join(it.path) for it in sec.items} for sec in sections}
    out: Found = []
    for attr in ("effect", "key"):
        if f"spec.tolerations.{attr}" not in paths.get("Pod", ()):
            continue
        if f"spec.taints.{attr}" not in paths.get("Node", ()):
            continue
        nodes = [o for o in objects if o.kind == "Node"]
        for pod in (o for o in objects if o.kind == "Pod"):
            tols = _nodes(pod.node, ("spec", "tolerations"))
            read = {_text(t, attr) for t in _items(tols)}
            for node in nodes:
                for taint in _items(_nodes(node.node, ("spec", "taints"))):
                    by_model = _text(taint, attr) in read
                    if by_model == any(_tolerates(t, taint) for t in _items(tols)):
                        continue
                    shown = (f"{_text(taint, 'key')}={_text(taint, 'value')}:"
                             f"{_text(taint, 'effect')}")  # fmt: skip
                    verdict = "tolerate" if by_model else "not tolerate"
                    out.append((pod.source, Diagnostic(
                        "KC0610", f"Pod `{pod.name}`: the model, reading tolerations and taints "
                        f"by their {attr} only, takes it to {verdict} taint "
                        f"`{shown}` of Node `{node.name}`, and Kubernetes "
                        f"{'does not' if by_model else 'does'}",
                        span_of(tols if tols is not None else pod.node),
                        help="give the tolerations and taints one " + attr
                        + " per key (as Kubernetes matches them), or check a model that reads "
                        "taint keys and values")))  # fmt: skip
    return out
