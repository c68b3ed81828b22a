"""How a model binds to Docker (spec/run.md): which kind is the Pod (a container), which is the
Node (a logical node: a label on containers) and which is the Service (a name on the run's
network), and which of their fields are read back from the world. The model's `docker { ... }`
block says exactly what is bound; without one, kinds and fields bind by their names. A TOML
side file (`--binding`) overrides either key by key. Controller-internal fields (names
with `@`) are never bound: they live in the interpreter's store."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kcheck.lang import ast
from kcheck.lang.symbols import Symbols
from kcheck.lang.types import TBool, TEnum, TInt, TRef
from kcheck.model.ir import FieldLayout, KindLayout, Layout

DEFAULT_IMAGE = "kcheck/busybox:latest"
# serves its own hostname on port 8080, so a probe can tell the pods apart
DEFAULT_COMMAND = ("sh", "-c", "hostname > /tmp/index.html && exec httpd -f -p 8080 -h /tmp")

# What each phase member means for a container, by its name: "waiting" (no container yet, or
# created and not started), "running", "terminating" (running, never read as ready), "stopped"
# (exited). Unknown names are not read back.
PHASE_CLASSES = {
    "pending": "waiting",
    "containercreating": "waiting",
    "waiting": "waiting",
    "running": "running",
    # the container runs until the pod leaves the phase, but the pod is never read as ready
    # (Kubernetes takes a terminating pod out of its services' ready endpoints at once)
    "terminating": "terminating",
    "failed": "stopped",
    "succeeded": "stopped",
    "completed": "stopped",
    "gone": "stopped",
    "evicted": "stopped",
}
RUNS = ("running", "terminating")  # the classes whose container runs

# How each bound key came to be bound, for the conformance messages (`Binding.rule`).
BY_NAME = "name"
BY_BLOCK = "block"
BY_FILE = "file"


class BindingError(Exception):
    """A binding that does not fit the model: one line, exit 2."""


@dataclass(frozen=True)
class PodBinding:
    kind: KindLayout
    phase: FieldLayout | None  # an enum field, read from the container's state
    phase_members: tuple[str, ...]
    ready: FieldLayout | None  # a bool field: the Ready condition (spec/run.md)
    node: FieldLayout | None  # a reference to the node kind, carried as a label
    cpu: FieldLayout | None  # an integer request: the container's CPU limit
    memory: FieldLayout | None  # an integer request: the container's memory limit
    labels: tuple[FieldLayout, ...]  # enum and bool fields carried as labels (app, ...)


@dataclass(frozen=True)
class NodeBinding:
    kind: KindLayout
    ready: FieldLayout | None  # false pauses every container on the node


@dataclass(frozen=True)
class ServiceBinding:
    kind: KindLayout
    selector: FieldLayout  # an enum field of the service...
    pod_field: FieldLayout  # ...matched against this pod field of the same enum


@dataclass(frozen=True)
class Binding:
    pod: PodBinding
    node: NodeBinding | None
    service: ServiceBinding | None
    image: str = DEFAULT_IMAGE
    command: tuple[str, ...] = DEFAULT_COMMAND
    cpu_per_unit: float = 0.1  # cores per unit of the pod's cpu field
    default_cpu: float = 0.1  # cores for a pod without a cpu field
    memory_per_unit_mb: int = 32  # MiB per unit of the pod's memory field
    memory_mb: int = 32  # MiB for a pod without a memory field
    # "role.key" -> BY_NAME, BY_BLOCK or BY_FILE, for every bound key
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)
    file_name: str = "the --binding file"

    def phase_class(self, member: int) -> str | None:
        names = self.pod.phase_members
        return PHASE_CLASSES.get(names[member].lower()) if 0 <= member < len(names) else None

    def rules(self, keys: Sequence[str]) -> str:
        """How the keys ("pod.ready") came to be bound and how to change that: a conformance
        violation says what the run took the model to mean."""
        groups: dict[str, list[str]] = {}
        for key in dict.fromkeys(keys):
            groups.setdefault(self.sources.get(key, BY_NAME), []).append(key)
        out: list[str] = []
        for key in groups.get(BY_FILE, []):
            role, name = key.split(".")
            out.append(f"{self._name(key)} is bound by [{role}] {name} in {self.file_name}")
        for key in groups.get(BY_BLOCK, []):
            role, name = key.split(".")
            what = f"`{role} {self._name(key)[5:]}`" if name == "kind" else f"`{name}:`"
            out.append(
                f"{self._name(key)} is bound by {what} in the model's docker block"
                " (a key left out of the block is not bound)"
            )
        if by_name := groups.get(BY_NAME):
            shown = [self._name(k) for k in by_name]
            names = ", ".join(shown[:-1]) + " and " + shown[-1] if len(shown) > 1 else shown[0]
            fields = [k.split(".") for k in by_name if not k.endswith(".kind")]
            unbind = (
                f', and in a --binding file [{fields[-1][0]}] {fields[-1][1]} = "" unbinds one key'
                if fields
                else ""
            )
            out.append(
                f"{names} {'is' if len(by_name) == 1 else 'are'} bound by name, as the model"
                f" has no docker block: a `docker {{ pod {self.pod.kind.name} {{ ... }} }}`"
                f" block binds exactly what it lists{unbind}"
            )
        return "; ".join(out)

    def _name(self, key: str) -> str:
        role, name = key.split(".")
        part: PodBinding | NodeBinding | ServiceBinding | None = {
            "pod": self.pod,
            "node": self.node,
            "service": self.service,
        }[role]
        if part is None:
            return key
        if name == "kind":
            return f"kind {part.kind.name}"
        f = getattr(part, name, None)
        return f"{part.kind.name}.{f.name if isinstance(f, FieldLayout) else name}"


def _field(kind: KindLayout, name: str | None, what: str, explicit: bool) -> FieldLayout | None:
    if name is None:
        return None
    if "@" in name:
        raise BindingError(f"{what}: `{name}` is controller-internal state and cannot be bound")
    for f in kind.fields:
        if f.name == name:
            return f
    if explicit:
        raise BindingError(f"{what}: kind {kind.name} has no field `{name}`")
    return None


def _kind(layout: Layout, name: str, what: str, explicit: bool) -> KindLayout | None:
    for k in layout.kinds:
        if k.name == name:
            return k
    if explicit:
        raise BindingError(f"{what}: the model has no kind `{name}`")
    return None


def resolve(
    layout: Layout,
    file: dict[str, Any] | None = None,
    *,
    block: dict[str, Any] | None = None,
    file_name: str = "the --binding file",
) -> Binding:
    """The binding of `layout`. With a `docker` block in the model (`block`, from
    `config_from_model`) exactly what it names is bound; without one, kinds and fields bind by
    their names (spec/run.md). The side file (`file`) overrides either key by key, and its
    empty string unbinds a field."""
    exact = block is not None
    cfg = merge_configs(block or {}, file)
    sources: dict[str, str] = {}

    def where(role: str, key: str) -> str:
        if key in (file or {}).get(role, {}):
            return BY_FILE
        return BY_BLOCK if key in (block or {}).get(role, {}) else BY_NAME

    def section(role: str) -> dict[str, Any] | None:
        sec = cfg.get(role)
        return sec if isinstance(sec, dict) else None

    def wanted(role: str, key: str, default: str | None) -> tuple[str | None, bool]:
        """The field name bound to `key` and whether it was named (a name that does not
        exist is then an error); `default` applies only without a docker block."""
        sec = section(role) or {}
        if key in sec:
            value = str(sec[key])
            return (value or None), True
        return (None if exact else default), False

    def field_of(kind: KindLayout, role: str, key: str, default: str | None) -> FieldLayout | None:
        fname, explicit = wanted(role, key, default)
        f = _field(kind, fname, f"[{role}] {key}", explicit)
        if f is not None:
            sources[f"{role}.{key}"] = where(role, key)
        return f

    pod_sec = section("pod")
    if pod_sec is None and exact:
        raise BindingError(
            "the model's docker block binds no pod kind: add `pod KIND { ... }` to it"
            " (or [pod] kind to the --binding file)"
        )
    pod_name = str((pod_sec or {}).get("kind", "Pod"))
    pod_kind = _kind(layout, pod_name, "[pod] kind", "kind" in (pod_sec or {}))
    if pod_kind is None:
        raise BindingError(
            "the model has no Pod kind to run as containers; name one in its docker block"
            " (`docker { pod KIND { ... } }`) or in --binding ([pod] kind)"
        )
    sources["pod.kind"] = where("pod", "kind")
    phase = field_of(pod_kind, "pod", "phase", "phase")
    if phase is not None and not isinstance(phase.type, TEnum):
        raise BindingError(f"[pod] phase: `{phase.name}` must be an enum field")
    ready = field_of(pod_kind, "pod", "ready", "ready")
    if ready is not None and not isinstance(ready.type, TBool):
        if wanted("pod", "ready", None)[1]:
            raise BindingError(f"[pod] ready: `{ready.name}` must be a bool field")
        ready = None  # a `ready` that is not a bool is not the Ready condition
        del sources["pod.ready"]
    cpu = field_of(pod_kind, "pod", "cpu", "cpu")
    if cpu is not None and not isinstance(cpu.type, TInt):
        if wanted("pod", "cpu", None)[1]:
            raise BindingError(f"[pod] cpu: `{cpu.name}` must be an integer field")
        cpu = None
        del sources["pod.cpu"]
    memory = field_of(pod_kind, "pod", "memory", "memory")
    if memory is None and not exact and "memory" not in (pod_sec or {}):
        memory = field_of(pod_kind, "pod", "memory", "mem")
    if memory is not None and not isinstance(memory.type, TInt):
        if wanted("pod", "memory", None)[1]:
            raise BindingError(f"[pod] memory: `{memory.name}` must be an integer field")
        memory = None
        sources.pop("pod.memory", None)
    node_ref = field_of(pod_kind, "pod", "node", "node")
    if node_ref is not None and not isinstance(node_ref.type, TRef):
        if wanted("pod", "node", None)[1]:
            raise BindingError(f"[pod] node: `{node_ref.name}` must be a reference field")
        node_ref = None
        del sources["pod.node"]
    members = (
        layout.enums[phase.type.name] if phase is not None and isinstance(phase.type, TEnum) else ()
    )

    # the node kind: the one the pod's node field refers to, unless named
    node_sec = section("node")
    ref_kind = (
        node_ref.type.kind if node_ref is not None and isinstance(node_ref.type, TRef) else None
    )
    node = None
    if node_sec is not None or not exact or ref_kind is not None:
        named = node_sec is not None and "kind" in node_sec
        node_name = str(node_sec["kind"]) if named and node_sec else (ref_kind or "Node")
        node_kind = _kind(layout, node_name, "[node] kind", named)
        if node_kind is not None:
            sources["node.kind"] = where("node", "kind")
            nready = field_of(node_kind, "node", "ready", "ready")
            if nready is not None and not isinstance(nready.type, TBool):
                if wanted("node", "ready", None)[1]:
                    raise BindingError(f"[node] ready: `{nready.name}` must be a bool field")
                nready = None
                del sources["node.ready"]
            node = NodeBinding(node_kind, nready)
    if node_ref is not None and (node is None or ref_kind != node.kind.name):
        if wanted("pod", "node", None)[1]:
            raise BindingError(
                f"[pod] node: `{node_ref.name}` refers to {ref_kind}, but the node kind is"
                f" {node.kind.name if node is not None else 'not bound'}"
            )
        node_ref = None
        del sources["pod.node"]

    service = None
    svc_sec = section("service")
    if svc_sec is not None or not exact:
        named = svc_sec is not None and "kind" in svc_sec
        sname = str(svc_sec["kind"]) if named and svc_sec else "Service"
        svc_kind = _kind(layout, sname, "[service] kind", named)
        if svc_kind is not None:
            selector = field_of(svc_kind, "service", "selector", "selector")
            if selector is not None and isinstance(selector.type, TEnum):
                pname = (svc_sec or {}).get("pod_field")
                candidates = [
                    f for f in pod_kind.fields if f.type == selector.type and "@" not in f.name
                ]
                if pname is not None:
                    candidates = [f for f in candidates if f.name == pname]
                if not candidates:
                    raise BindingError(
                        f"[service] pod_field: no field of {pod_kind.name} has the selector's"
                        f" type {selector.type.name}"
                    )
                sources["service.kind"] = where("service", "kind")
                service = ServiceBinding(svc_kind, selector, candidates[0])
            elif svc_sec is not None:
                raise BindingError("[service] selector: the service needs an enum selector field")

    labels = tuple(
        f
        for f in pod_kind.fields
        if isinstance(f.type, (TEnum, TBool)) and f not in (phase, ready) and "@" not in f.name
    )
    pod = PodBinding(pod_kind, phase, members, ready, node_ref, cpu, memory, labels)
    pod_cfg = pod_sec or {}
    extra: dict[str, Any] = {}
    if "image" in pod_cfg:
        extra["image"] = str(pod_cfg["image"])
    if "command" in pod_cfg:
        cmd = pod_cfg["command"]
        if not isinstance(cmd, list) or not all(isinstance(x, str) for x in cmd):
            raise BindingError("[pod] command: expected a list of strings")
        extra["command"] = tuple(cmd)
    for key, convert, least in (
        ("cpu_per_unit", float, 0.001),
        ("default_cpu", float, 0.001),
        ("memory_per_unit_mb", int, 1),
        ("memory_mb", int, 6),
    ):
        if key not in pod_cfg:
            continue
        try:
            value = convert(pod_cfg[key])
        except (TypeError, ValueError):
            raise BindingError(f"[pod] {key}: expected a number") from None
        if value < least:
            raise BindingError(f"[pod] {key}: must be at least {least}")
        extra[key] = value
    return Binding(pod, node, service, sources=sources, file_name=file_name, **extra)


def config_from_model(sym: Symbols) -> dict[str, Any] | None:
    """The model's own `docker { ... }` block as a config of the same shape as the binding
    file's (the checker has already vetted its roles, keys, kinds and fields); None when the
    model has no block (then fields bind by name)."""
    if not sym.docker:
        return None
    config: dict[str, Any] = {}
    for block in sym.docker[:1]:
        for sec in block.sections:
            section: dict[str, Any] = {"kind": sec.kind}
            for item in sec.items:
                v = item.value
                value: Any = v.name if isinstance(v, ast.FieldName) else v
                if isinstance(value, tuple):
                    value = list(value)
                if item.key in MILLI_KEYS:
                    section[MILLI_KEYS[item.key]] = value / 1000
                else:
                    section[item.key] = value
            config[sec.role] = section
    return config


# keys of the language's block in millicores, and the binding file's keys in cores
MILLI_KEYS = {"cpu_millis_per_unit": "cpu_per_unit", "default_cpu_millis": "default_cpu"}


def merge_configs(model: dict[str, Any], file: dict[str, Any] | None) -> dict[str, Any]:
    """The binding file overrides the model's block, key by key."""
    out = {role: dict(section) for role, section in model.items()}
    for role, section in (file or {}).items():
        if isinstance(section, dict):
            out.setdefault(role, {}).update(section)
        else:
            out[role] = section
    return out


def load_config(path: str) -> dict[str, Any]:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise BindingError(f"cannot read {path}: {err.strerror or err}") from err
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise BindingError(f"{path}: not valid TOML: {err}") from err
