"""A small ReplicaSet controller, written the way one would write it for a real cluster: an
in-memory object store with generated names and resource versions (standing in for the
apiserver), and a controller whose `sync` reconciles one ReplicaSet at a time from a work
queue. It knows nothing of kcheck; adapter.py connects it to models/replicaset.kdsl.

`count_running_only=True` plants a bug: the controller counts only Running pods as active,
so pods that are still starting are forgotten and replaced (kcheck test finds it)."""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field


class Conflict(Exception):
    """A write with a stale resource version."""


@dataclass
class ReplicaSet:
    name: str
    replicas: int
    resource_version: int = 0


@dataclass
class Pod:
    name: str
    owner: str
    phase: str = "Pending"  # Pending, Running, Failed: as the kubelet reports it
    created: int = 0  # creation order, for "newest first"
    resource_version: int = 0


@dataclass
class Store:
    """The objects, by name, with optimistic concurrency on every update."""

    replicasets: dict[str, ReplicaSet] = field(default_factory=dict)
    pods: dict[str, Pod] = field(default_factory=dict)
    _version: itertools.count = field(default_factory=lambda: itertools.count(1))
    _suffix: itertools.count = field(default_factory=lambda: itertools.count(1))

    def create_replicaset(self, name: str, replicas: int) -> ReplicaSet:
        rs = ReplicaSet(name, replicas, next(self._version))
        self.replicasets[name] = rs
        return rs

    def create_pod(self, generate_name: str, owner: str) -> Pod:
        version = next(self._version)
        pod = Pod(f"{generate_name}{next(self._suffix):05x}", owner, "Pending", version, version)
        self.pods[pod.name] = pod
        return pod

    def update_pod_phase(self, name: str, phase: str, resource_version: int) -> None:
        pod = self.pods[name]
        if pod.resource_version != resource_version:
            raise Conflict(name)
        pod.phase = phase
        pod.resource_version = next(self._version)

    def scale(self, name: str, replicas: int) -> None:
        rs = self.replicasets[name]
        rs.replicas = replicas
        rs.resource_version = next(self._version)

    def delete_pod(self, name: str) -> None:
        del self.pods[name]

    def list_pods(self, owner: str) -> list[Pod]:
        return [p for p in self.pods.values() if p.owner == owner]


class ReplicaSetController:
    """Keeps each ReplicaSet's active pods at its replicas. `burst` limits the creations or
    deletions of one sync (Kubernetes' burstReplicas); a failed pod is not active and is
    removed by `delete_failed`, the handler of the pod's update event."""

    def __init__(self, store: Store, burst: int = 500, count_running_only: bool = False) -> None:
        self.store = store
        self.burst = burst
        self.count_running_only = count_running_only
        self.queue: deque[str] = deque()

    def enqueue(self, name: str) -> None:
        if name not in self.queue:
            self.queue.append(name)

    def run_once(self) -> None:
        """Process the work queue until it is empty (the reconcile loop)."""
        while self.queue:
            self.sync(self.queue.popleft())

    def _active(self, pods: list[Pod]) -> list[Pod]:
        if self.count_running_only:  # the planted bug
            return [p for p in pods if p.phase == "Running"]
        return [p for p in pods if p.phase != "Failed"]

    def sync(self, name: str) -> None:
        rs = self.store.replicasets.get(name)
        if rs is None:
            return
        active = self._active(self.store.list_pods(name))
        diff = rs.replicas - len(active)
        if diff > 0:
            for _ in range(min(diff, self.burst)):
                self.store.create_pod(f"{name}-", name)
        elif diff < 0:
            # pods that are not serving yet go first, newest first among equals
            doomed = sorted(active, key=lambda p: (p.phase == "Running", -p.created))
            for pod in doomed[: min(-diff, self.burst)]:
                self.store.delete_pod(pod.name)

    def delete_failed(self, pod_name: str) -> None:
        pod = self.store.pods.get(pod_name)
        if pod is not None and pod.phase == "Failed":
            self.store.delete_pod(pod_name)
            self.enqueue(pod.owner)
