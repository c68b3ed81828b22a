"""Conformance: an observed change is explained by the model's process steps, or it is a
divergence. No engine needed: observations are built by hand."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from pathlib import Path

from kcheck.lang.frontend import load
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel, State
from kcheck.run.conformance import explain

MODELS = Path(__file__).resolve().parents[2] / "models"


def model(pods: int) -> CompiledModel:
    defines: dict[str, int | str] = {"MAX_REPLICAS": pods, "replicas": pods}
    return compile_model(load(str(MODELS / "replicaset.kdsl"), defines).symbols, symmetry=False)


def with_pods(m: CompiledModel, phases: list[str]) -> State:
    """The initial state with one pod of ReplicaSet#0 per phase given."""
    s = list(m.initial()[0])
    pod = m.layout.kind("Pod")
    members = m.layout.enums["Phase"]
    for slot, phase in enumerate(phases):
        base = pod.slot_base(slot)
        s[base] = 1
        s[base + pod.field("owner").offset] = 0
        s[base + pod.field("phase").offset] = members.index(phase)
    return tuple(s)


def phases(m: CompiledModel) -> Callable[[State], tuple[Hashable, ...]]:
    """A view that shows each pod's phase, as a driver would read it back."""
    pod = m.layout.kind("Pod")
    offsets = [pod.slot_base(i) + pod.field("phase").offset for i in range(pod.slots)]
    return lambda s: tuple(s[i] for i in offsets)


def process_actions(m: CompiledModel) -> list[int]:
    return [a.id for a in m.actions if a.actor_kind == "process"]


def test_pods_started_by_the_engine_are_explained_by_kubelet_steps() -> None:
    m = model(3)
    before = with_pods(m, ["Pending", "Pending", "Running"])
    seen = with_pods(m, ["Running", "Running", "Running"])
    path = explain(m, before, phases(m)(seen), phases(m), process_actions(m))
    assert path is not None
    assert [m.actions[aid].label for aid, _, _ in path] == ["kubelet.start", "kubelet.start"]
    assert path[-1][2] == seen


def test_fifty_pods_starting_at_once_are_explained_without_trying_every_order() -> None:
    m = model(50)
    before = with_pods(m, ["Pending"] * 50)
    seen = with_pods(m, ["Running"] * 50)
    path = explain(m, before, phases(m)(seen), phases(m), process_actions(m))
    assert path is not None and len(path) == 50


def test_a_crash_nobody_injected_is_not_explained() -> None:
    m = model(2)
    before = with_pods(m, ["Running", "Running"])
    seen = with_pods(m, ["Running", "Failed"])  # only the pod_crash fault could do this
    assert explain(m, before, phases(m)(seen), phases(m), process_actions(m)) is None


def test_no_change_needs_no_step() -> None:
    m = model(2)
    s = with_pods(m, ["Pending", "Running"])
    assert explain(m, s, phases(m)(s), phases(m), process_actions(m)) == []
