"""The adapter that lets `kcheck test` drive controller.py as models/replicaset.kdsl says:

    kcheck test models/replicaset.kdsl \
        --adapter examples/replicaset_controller/adapter.py:ReplicaSetAdapter

One method per action of the model, named <actor>_<action>, taking the action's parameters as
the names `observe()` gives the objects; `observe()` returns the store in the model's terms. The
model's ghost fields (`deleted_running_first`, `predates_scale`) have no counterpart in the
controller, so they are not observed: kcheck carries them from the model."""

from __future__ import annotations

from typing import Any

try:
    from .controller import ReplicaSetController, Store
except ImportError:  # loaded as a file: kcheck test --adapter path/to/adapter.py:Class
    from controller import ReplicaSetController, Store  # type: ignore[no-redef]


class ReplicaSetAdapter:
    count_running_only = False

    def __init__(self) -> None:
        self.store = Store()
        # one write per sync, as the model's actions create or delete one pod per step
        self.controller = ReplicaSetController(
            self.store, burst=1, count_running_only=self.count_running_only
        )

    def init(self, state: dict[str, Any]) -> None:
        """The model's initial state: its ReplicaSets, named web, web2, ..."""
        for i, fields in enumerate(state["ReplicaSet"].values()):
            self.store.create_replicaset("web" if i == 0 else f"web{i + 1}", fields["replicas"])

    # the controller: a sync of the ReplicaSet, or the failed pod's update event
    def replicaset_scale_up(self, rs: str) -> None:
        self.controller.enqueue(rs)
        self.controller.run_once()

    def replicaset_scale_down(self, rs: str) -> None:
        self.controller.enqueue(rs)
        self.controller.run_once()

    def replicaset_gc(self, p: str) -> None:
        self.controller.delete_failed(p)
        self.controller.queue.clear()  # the resync it queued is a later step of the model

    # the world: the kubelet, crashes, and a user running `kubectl scale`
    def kubelet_start(self, p: str) -> None:
        pod = self.store.pods[p]
        self.store.update_pod_phase(p, "Running", pod.resource_version)

    def pod_crash_crash(self, p: str) -> None:
        pod = self.store.pods[p]
        self.store.update_pod_phase(p, "Failed", pod.resource_version)

    def user_scales_up_kubectl_scale(self, rs: str, expect: dict[str, Any]) -> None:
        self.store.scale(rs, expect["ReplicaSet"][rs]["replicas"])

    def user_scales_down_kubectl_scale(self, rs: str, expect: dict[str, Any]) -> None:
        self.store.scale(rs, expect["ReplicaSet"][rs]["replicas"])

    def observe(self) -> dict[str, Any]:
        return {
            "ReplicaSet": {
                rs.name: {"replicas": rs.replicas} for rs in self.store.replicasets.values()
            },
            "Pod": {p.name: {"owner": p.owner, "phase": p.phase} for p in self.store.pods.values()},
        }


class CountsRunningAdapter(ReplicaSetAdapter):
    """The same controller with the planted bug switched on."""

    count_running_only = True
