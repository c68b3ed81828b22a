"""What a model of a pod's memory use cannot describe of a pod (spec/manifests.md §4, KC0610).
A model that maps a pod's memory limit (models/node_pressure_eviction.kdsl) describes one
container a pod: its usage grows to its limit, where its cgroup OOM-kills it and the kubelet
restarts it. A pod that differs in what decides its requests, its limit or its OOM kills would
be checked as another pod, so it is refused at the field: a second container (each has its own
limit and is killed alone), init containers (their requests count toward the pod's), pod
overhead and pod-level resources (both add to what the scheduler and the cgroup count), and a
restartPolicy other than Always (an OOM-killed container is not restarted under Never)."""

from __future__ import annotations

from collections.abc import Sequence

import yaml

from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic, Source
from kcheck.lang.manifest.yaml_doc import K8sObject, get, span_of

Found = list[tuple[Source, Diagnostic]]

# kind -> where its pod spec is
POD_SPEC = {"Pod": ("spec",), **{k: ("spec", "template", "spec") for k in
            ("Deployment", "ReplicaSet", "StatefulSet")}}  # fmt: skip
_LIMIT = ("resources", "limits", "memory")


def _at(node: yaml.Node | None, parts: Sequence[str]) -> yaml.Node | None:
    for p in parts:
        node = get(node, p) if node is not None else None
    return node


def _maps_memory_limit(sec: ast.ManifestSection) -> bool:
    return any(it.path[-3:] == _LIMIT and "containers" in it.path for it in sec.items)


def _set(node: yaml.Node | None) -> bool:
    if isinstance(node, (yaml.SequenceNode, yaml.MappingNode)):
        return bool(node.value)
    return isinstance(node, yaml.ScalarNode) and node.value not in ("", "null", "~")


def limit_problems(sections: Sequence[ast.ManifestSection], objects: Sequence[K8sObject]) -> Found:
    """KC0610 for each pod (or pod template) of a kind whose memory limit the model maps, at
    each part of it that the one-container model does not describe."""
    kinds = {s.kind for s in sections if s.kind in POD_SPEC and _maps_memory_limit(s)}
    out: Found = []
    for obj in objects:
        if obj.kind not in kinds:
            continue
        spec = _at(obj.node, POD_SPEC[obj.kind])
        where = ".".join(POD_SPEC[obj.kind])
        containers = _at(spec, ("containers",))
        if isinstance(containers, yaml.SequenceNode) and len(containers.value) > 1:
            out.append(_refuse(obj, f"{where}.containers", containers.value[1],
                               f"{len(containers.value)} containers here; the model describes "
                               "one container a pod (each container has its own limit and is "
                               "OOM-killed alone)"))  # fmt: skip
        for key, why in (
            ("initContainers", "their requests count toward the pod's, which the model reads "
             "from its container alone"),
            ("overhead", "the pod overhead adds to what the scheduler and the pod's cgroup count"),
            ("resources", "pod-level resources set the pod's requests and limits beside its "
             "containers'"),
        ):  # fmt: skip
            node = _at(spec, (key,))
            if _set(node):
                assert node is not None
                out.append(_refuse(obj, f"{where}.{key}", node, why))
        policy = _at(spec, ("restartPolicy",))
        if isinstance(policy, yaml.ScalarNode) and policy.value not in ("Always", ""):
            out.append(_refuse(obj, f"{where}.restartPolicy", policy,
                               f"{policy.value} here; the model restarts an OOM-killed "
                               "container (Always, Kubernetes' default)"))  # fmt: skip
    return out


def _refuse(obj: K8sObject, path: str, node: yaml.Node, why: str) -> tuple[Source, Diagnostic]:
    return (obj.source, Diagnostic(
        "KC0610", f"the model does not map `{path}` of {obj.kind} `{obj.name}`: {why}",
        span_of(node),
        notes=("the model maps this pod's memory limit and describes one container, no init "
               "containers, no overhead or pod-level resources, restartPolicy Always",),
        help="check a manifest without it (spec/manifests.md §6 lists what this model "
        "refuses)"))  # fmt: skip
