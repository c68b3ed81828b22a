"""The Kubernetes fields a model's `manifest` section may read, kind by kind, with how each is
read: an integer, a quantity, an integer or percentage of the replicas, a duration, a bool; and
the default Kubernetes applies when the field is absent (spec/manifests.md has the table)."""

from __future__ import annotations

from dataclasses import dataclass

# A path through a list (`containers`) reads every element: quantities are summed over them
# (a pod's request is its containers' sum), anything else must have one value.


@dataclass(frozen=True)
class Field:
    # "int", "bool", "quantity", "percent" (int or "N%"), "seconds", "percent_int", "string"
    # (an enum member, an object's name for a reference, or a bool through a value map),
    # "strings" (a set of enum members, or a bounded list of them in order, one per list
    # element), "present" (a bool: the field is set, e.g. a pod has a topology spread
    # constraint, or a deletionTimestamp)
    sort: str
    default: int | str | bool | tuple[str, ...] | None = (
        None  # Kubernetes' default; None: the field is required
    )
    # for a percentage: surge rounds up, unavailable rounds down; for seconds in a unit, a
    # window rounds up (it covers every period it touches), a Lease's duration down (§2)
    round_up: bool = True
    base: str = "spec.replicas"  # for a percentage: the replicas it is a share of
    doc: str = ""
    # for "strings": absent means no constraint, so the set is every member of its enum (a
    # pod without required node affinity may run in any zone)
    absent_any: bool = False
    # an "int" that is the number of elements of the list at the path (a pod's containers)
    count: bool = False


_CONTAINER = ("requests", "limits")


def _resources(prefix: str) -> dict[str, Field]:
    out: dict[str, Field] = {}
    for which in _CONTAINER:
        for res in ("cpu", "memory"):
            # an absent request counts 0, as the scheduler counts it; an absent limit is 0,
            # which Kubernetes reads as no limit (GetPodQOS skips zero limits, and the cgroup
            # of a container without one is unlimited)
            out[f"{prefix}.containers.resources.{which}.{res}"] = Field(
                "quantity", 0, doc="summed over containers"
            )
    return out


# the values of every match expression of every required node-selector term (the models
# read one label's values, e.g. the zones a pod may run in)
_AFFINITY = (
    "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
    ".matchExpressions.values"
)


def _pod_spec(prefix: str) -> dict[str, Field]:
    return {
        **_resources(prefix),
        f"{prefix}.nodeSelector.*": Field("string"),
        f"{prefix}.tolerations.effect": Field("strings", ()),
        f"{prefix}.tolerations.key": Field("strings", ()),
        f"{prefix}.{_AFFINITY}": Field("strings", (), absent_any=True),
        f"{prefix}.topologySpreadConstraints": Field("present", False),
    }


_TEMPLATE = {
    **_pod_spec("spec.template.spec"),
    # how many containers each pod has (the apiserver requires at least one)
    "spec.template.spec.containers": Field("int", count=True),
}
# the finalizers, in order (a `list<E, N>` field, through a map of the strings); a deletion
# requested: the apiserver has set deletionTimestamp and waits for them
_DELETION = {
    "metadata.finalizers": Field("strings", ()),
    "metadata.deletionTimestamp": Field("present", False),
}
_WORKLOAD_BASE = "workload"  # a PDB's percentage is of its workload's replicas

KINDS: dict[str, dict[str, Field]] = {
    "Deployment": {
        "spec.replicas": Field("int", 1),
        "spec.strategy.rollingUpdate.maxSurge": Field("percent", "25%", round_up=True),
        "spec.strategy.rollingUpdate.maxUnavailable": Field("percent", "25%", round_up=False),
        "spec.minReadySeconds": Field("seconds", 0),
        "spec.revisionHistoryLimit": Field("int", 10),
        "spec.template.metadata.labels.*": Field("string"),
        # one constraint: its maxSkew (the models spread over one topology key)
        "spec.template.spec.topologySpreadConstraints.maxSkew": Field("int"),
        **_TEMPLATE,
    },
    "ReplicaSet": {"spec.replicas": Field("int", 1), **_TEMPLATE},
    "StatefulSet": {
        "spec.replicas": Field("int", 1),
        # the StatefulSet controller rounds its maxUnavailable up (and takes at least 1)
        "spec.updateStrategy.rollingUpdate.maxUnavailable": Field("percent", 1, round_up=True),
        "spec.updateStrategy.rollingUpdate.partition": Field("int", 0),
        # RollingUpdate or OnDelete (the apiserver then refuses a rollingUpdate)
        "spec.updateStrategy.type": Field("string", "RollingUpdate"),
        **_TEMPLATE,
    },
    "Pod": {
        **_pod_spec("spec"),
        "spec.containers": Field("int", count=True),
        "metadata.labels.*": Field("string"),
        # a reference: the name of an object the manifests fill (absent: none)
        "spec.nodeName": Field("string"),
        "metadata.ownerReferences.name": Field("string"),
        "status.phase": Field("string", "Pending"),
        # what admission resolves spec.priorityClassName to (read.py refuses a class without it)
        "spec.priority": Field("int", 0),
        "spec.topologySpreadConstraints.maxSkew": Field("int"),
        **_DELETION,
    },
    # core/v1: a claim's finalizers (kubernetes.io/pvc-protection, a snapshot source's)
    "PersistentVolumeClaim": {**_DELETION},
    "Service": {"spec.selector.*": Field("string")},
    # coordination.k8s.io/v1: a leader election's lock. The candidates wait leaseDurationSeconds
    # from the last renew they saw before taking it over (client-go's isLeaseValid reads it from
    # the Lease); it has no default. Rounded down to a model's ticks: a shorter lease lets another
    # candidate take over sooner, so the model has every takeover the cluster has. The renew
    # deadline and retry period are the client's configuration, not the Lease's.
    "Lease": {"spec.leaseDurationSeconds": Field("seconds", round_up=False)},
    # nothing read: a model describes the Ingress it has (its rules, manifest/described.py)
    "Ingress": {},
    # batch/v1: a Job's pods at once and in all, and the failures it retries; a CronJob's
    # history limits (the Jobs it keeps)
    "Job": {
        "spec.parallelism": Field("int", 1),
        "spec.completions": Field("int"),  # unset: any one success completes the Job
        "spec.backoffLimit": Field("int", 6),
    },
    "CronJob": {
        "spec.successfulJobsHistoryLimit": Field("int", 3),
        "spec.failedJobsHistoryLimit": Field("int", 1),
    },
    # KubeFed's scheduling.kubefed.io/v1alpha1 preference: how many replicas to spread over
    # the member clusters
    "ReplicaSchedulingPreference": {"spec.totalReplicas": Field("int")},
    "Node": {
        "metadata.labels.*": Field("string"),
        "spec.taints.effect": Field("strings", ()),
        "spec.taints.key": Field("strings", ()),
        **{
            f"status.{which}.{res}": Field("quantity")
            for which in ("capacity", "allocatable")
            for res in ("cpu", "memory", "pods")
        },
        "spec.unschedulable": Field("bool", False),
    },
    "PodDisruptionBudget": {
        # the disruption controller rounds both up (GetScaledValueFromIntOrPercent(..., true));
        # a PDB sets exactly one, and either is read from it: minAvailable = replicas -
        # maxUnavailable (fill._pdb)
        "spec.minAvailable": Field("percent", round_up=True, base=_WORKLOAD_BASE),
        "spec.maxUnavailable": Field("percent", round_up=True, base=_WORKLOAD_BASE),
    },
    "HorizontalPodAutoscaler": {
        "spec.minReplicas": Field("int", 1),
        "spec.maxReplicas": Field("int"),
        "spec.metrics.resource.target.averageUtilization": Field("percent_int"),
        "spec.behavior.scaleDown.stabilizationWindowSeconds": Field("seconds", 300),
        "spec.behavior.scaleUp.stabilizationWindowSeconds": Field("seconds", 0),
        # scaling policies (one per direction): what one period may change, and how policies
        # combine; Kubernetes' defaults are two up (4 pods, 100%: Max) and one down (100%)
        **{
            f"spec.behavior.{way}.{key}": field
            for way in ("scaleUp", "scaleDown")
            for key, field in (
                ("policies.type", Field("string")),
                ("policies.value", Field("int")),
                ("policies.periodSeconds", Field("seconds")),
                ("selectPolicy", Field("string", "Max")),
            )
        },
    },
}

WORKLOADS = ("Deployment", "StatefulSet", "ReplicaSet")


def find_field(kind: str, path: tuple[str, ...]) -> Field | None:
    """The field at `path` of a `kind`; `metadata.labels.*` stands for any one label key."""
    fields = KINDS.get(kind, {})
    exact = fields.get(".".join(path))
    if exact is not None:
        return exact
    return fields.get(".".join(path[:-1]) + ".*") if len(path) > 1 else None


# What a model reading a Deployment's rolling-update fields assumes of the object.
REQUIRES: dict[str, tuple[str, str, str]] = {
    # kind: (path, expected value, default)
    "Deployment": ("spec.strategy.type", "RollingUpdate", "RollingUpdate"),
    "StatefulSet": ("spec.updateStrategy.type", "RollingUpdate", "RollingUpdate"),
}

# Units a model may read a value in (`in m`, `in Gi`, `in min`), by sort.
# syncs: the HPA's default 15 s period; ticks3s: the leader-election models' tick (client-go's
# default 15 s lease is their 5 ticks)
SECONDS = {"s": 1, "min": 60, "h": 3600, "syncs": 15, "ticks3s": 3}
PERCENT = {"percent": 1, "tenths": 10}  # a utilization of 50 (%) is 5 tenths


def units_for(f: Field) -> tuple[str, ...]:
    from kcheck.lang.manifest.quantity import UNITS

    if f.sort == "quantity":
        return tuple(UNITS)
    if f.sort == "seconds":
        return tuple(SECONDS)
    if f.sort == "percent_int":
        return tuple(PERCENT)
    return ()
