"""The cluster picture of a state, in Kubernetes terms, as JSON the page draws: nodes as boxes
holding their pods (each pod's phase class picks its colour), a resource bar per node when pods
request an integer resource and the node has a matching capacity field, the faults' budgets
left, controllers' caches with their stale entries marked, the service kind as boxes listing their
endpoints (the pods each selects, ready or not as `kcheck run` reads readiness), and a plain
table for every other kind. Which kind is the pod and which the node, and which fields are phase, cpu and node,
and which the service with its selector, follows the `docker {}` binding of `kcheck run`
(kcheck/run/binding.py, spec/run.md): the model's block when it has one, names otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kcheck.lang.frontend import CheckedModel
from kcheck.lang.types import TInt
from kcheck.model.ir import KindLayout, Layout
from kcheck.run.binding import PHASE_CLASSES, BindingError, config_from_model, resolve

# node fields read as the capacity a pod's cpu request is drawn against, best first
CAPACITY_NAMES = ("capacity", "cpu_capacity", "allocatable", "cpu")


@dataclass(frozen=True)
class Picture:
    """How one model's states are drawn: fixed per model, applied to each named state."""

    layout: Layout
    pod_kind: str | None
    node_kind: str | None
    phase: str | None
    node_ref: str | None
    cpu: str | None
    capacity: str | None
    node_ready: str | None
    note: str | None  # why the picture is only tables, when it is
    # the service kind, its enum selector and the pod field it is matched against
    service_kind: str | None = None
    selector: str | None = None
    pod_field: str | None = None
    pod_ready: str | None = None  # the pod's Ready condition (a bool field)

    def render(self, state: dict[str, Any]) -> dict[str, Any]:
        """The picture of `state`, a decoded state under display names."""
        placed = {self.pod_kind, self.node_kind, self.service_kind} - {None}
        out: dict[str, Any] = {
            "pod_kind": self.pod_kind,
            "node_kind": self.node_kind,
            "service_kind": self.service_kind,
            "services": [],
            "placed": self.node_ref is not None,  # pods name their node: drawn inside it
            "nodes": [],
            "unplaced": [],
            "vars": {},
            "budgets": [],
            "tables": [],
            "note": self.note,
        }
        totals = {b.fault: b.budget for b in self.layout.budgets}
        kinds = {k.name for k in self.layout.kinds}
        for key, value in state.items():
            if key.startswith("budget.") and key[7:] in totals:
                out["budgets"].append({"fault": key[7:], "left": value, "budget": totals[key[7:]]})
            elif key in kinds:
                if key not in placed:
                    out["tables"].append(_table(key, value, None, state))
            elif isinstance(value, dict):  # a controller's cache or an action in flight
                cached = key.split("@", 1)[1] if "@" in key else None
                out["tables"].append(_table(key, value, cached, state))
            else:
                out["vars"][key] = value
        if self.pod_kind is None:
            return out
        pods = state.get(self.pod_kind, {})
        nodes = state.get(self.node_kind, {}) if self.node_kind else {}
        by_node: dict[str, list[dict[str, Any]]] = {n: [] for n in nodes}
        for name, fields in pods.items():
            pod = {
                "name": name,
                "phase": fields.get(self.phase) if self.phase else None,
                "class": _phase_class(fields.get(self.phase) if self.phase else None),
                "cpu": fields.get(self.cpu) if self.cpu else None,
                "fields": fields,
            }
            where = fields.get(self.node_ref) if self.node_ref else None
            if isinstance(where, str) and where in by_node:
                by_node[where].append(pod)
            else:
                out["unplaced"].append(pod)
        for name, fields in nodes.items():
            box: dict[str, Any] = {
                "name": name,
                "fields": fields,
                "ready": fields.get(self.node_ready) if self.node_ready else None,
                "pods": by_node[name],
                "capacity": fields.get(self.capacity) if self.capacity else None,
                "used": None,
            }
            if self.cpu is not None and self.capacity is not None:
                box["used"] = sum(p["cpu"] or 0 for p in by_node[name])
                box["overcommitted"] = box["used"] > (box["capacity"] or 0)
            out["nodes"].append(box)
        if self.service_kind is not None:
            out["services"] = self._services(state, pods)
        return out

    def _services(
        self, state: dict[str, Any], pods: dict[str, dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Each service with its endpoints: the pods whose `pod_field` equals its selector, each
        ready when `kcheck run` reads it so (docker_driver `_serving`: its phase's class is
        running, not terminating, and its Ready condition holds, when it has one)."""
        assert self.service_kind is not None and self.selector and self.pod_field
        out = []
        for name, fields in state.get(self.service_kind, {}).items():
            selects = fields.get(self.selector)
            endpoints = []
            for pod, pfields in pods.items():
                if pfields.get(self.pod_field) != selects:
                    continue
                phase = pfields.get(self.phase) if self.phase else None
                running = self.phase is None or _phase_class(phase) == "running"
                ready = running and (self.pod_ready is None or pfields.get(self.pod_ready) is True)
                node = pfields.get(self.node_ref) if self.node_ref else None
                endpoints.append({"pod": pod, "ready": ready, "phase": phase, "node": node})
            out.append(
                {
                    "name": name,
                    "selector": self.selector,
                    "selects": selects,
                    "pod_field": self.pod_field,
                    "fields": fields,
                    "endpoints": endpoints,
                }
            )
        return out


def _phase_class(phase: Any) -> str:
    if not isinstance(phase, str):
        return "unknown"
    return PHASE_CLASSES.get(phase.lower(), "other")


def _table(name: str, objects: Any, cached: str | None, state: dict[str, Any]) -> dict[str, Any]:
    """A kind, a cache (`X@Kind`: each entry compared with the object it copies) or an action
    in flight, as rows of fields."""
    columns: list[str] = []
    for fields in objects.values():
        columns.extend(f for f in fields if f not in columns)
    real = state.get(cached, {}) if cached else {}
    rows = []
    for obj, fields in objects.items():
        row: dict[str, Any] = {"name": obj, "cells": [fields.get(c) for c in columns]}
        if cached is not None:
            target = obj.split("@", 1)[1]
            if target not in real:
                row["stale"] = "gone"
            else:
                differ = [c for c in columns if real[target].get(c) != fields.get(c)]
                if differ:
                    row["stale"] = ", ".join(differ)
        rows.append(row)
    if cached is not None:  # objects the cache has not seen yet are stale too
        prefix = name.split("@", 1)[0]
        seen = {obj.split("@", 1)[1] for obj in objects}
        for obj in real:
            if obj not in seen:
                rows.append({"name": f"{prefix}@{obj}", "cells": [None] * len(columns),
                             "stale": "not seen yet"})  # fmt: skip
    return {"kind": name, "cache_of": cached, "columns": columns, "rows": rows}


def draw(checked: CheckedModel, layout: Layout) -> Picture:
    """How to draw this model's states, from its binding (or its names)."""
    try:
        binding = resolve(layout, None, block=config_from_model(checked.symbols))
    except BindingError as err:
        note = f"every kind is drawn as a table (no pod kind binds as `kcheck run` would bind it: {err})"
        return Picture(layout, None, None, None, None, None, None, None, note)
    pod = binding.pod
    node = binding.node
    capacity = _capacity(node.kind) if node is not None else None
    svc = binding.service
    return Picture(
        layout,
        pod.kind.name,
        node.kind.name if node is not None else None,
        pod.phase.name if pod.phase else None,
        pod.node.name if pod.node else None,
        pod.cpu.name if pod.cpu else None,
        capacity,
        node.ready.name if node is not None and node.ready else None,
        None,
        svc.kind.name if svc is not None else None,
        svc.selector.name if svc is not None else None,
        svc.pod_field.name if svc is not None else None,
        pod.ready.name if pod.ready else None,
    )


def _capacity(kind: KindLayout) -> str | None:
    ints = {f.name for f in kind.fields if isinstance(f.type, TInt) and not f.hidden}
    return next((n for n in CAPACITY_NAMES if n in ints), None)
