"""How a model binds to Docker (spec/run.md): which kind is the Pod (a container), which is the
Node (a logical node: a label on containers) and which is the Service (a name on the run's
network), and which of their fields are read back from the world. Defaults go by kind and field
names; the model's `docker { ... }` block names anything else, and a TOML side file
(`--binding`) overrides it key by key. Controller-internal fields (names
with `@`) are never bound: they live in the interpreter's store."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
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
# created and not started), "running", "stopped" (exited). Unknown names are not read back.
PHASE_CLASSES = {
    "pending": "waiting",
    "containercreating": "waiting",
    "waiting": "waiting",
    "running": "running",
    "terminating": "running",
    "failed": "stopped",
    "succeeded": "stopped",
    "completed": "stopped",
    "gone": "stopped",
    "evicted": "stopped",
}


class BindingError(Exception):
    """A binding that does not fit the model: one line, exit 2."""


@dataclass(frozen=True)
class PodBinding:
    kind: KindLayout
    phase: FieldLayout | None  # an enum field, read from the container's state
    phase_members: tuple[str, ...]
    ready: FieldLayout | None  # a bool field, read as "the container is running"
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

    def phase_class(self, member: int) -> str | None:
        names = self.pod.phase_members
        return PHASE_CLASSES.get(names[member].lower()) if 0 <= member < len(names) else None


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


def resolve(layout: Layout, config: dict[str, Any] | None = None) -> Binding:
    """The binding of `layout`: the defaults, overridden by `config` (the parsed side file)."""
    cfg = config or {}
    pod_cfg: dict[str, Any] = cfg.get("pod", {})
    node_cfg: dict[str, Any] = cfg.get("node", {})
    svc_cfg: dict[str, Any] = cfg.get("service", {})

    def opt(section: dict[str, Any], key: str, default: str) -> tuple[str, bool]:
        return str(section.get(key, default)), key in section

    name, explicit = opt(pod_cfg, "kind", "Pod")
    pod_kind = _kind(layout, name, "[pod] kind", explicit)
    if pod_kind is None:
        raise BindingError(
            "the model has no Pod kind to run as containers; name one in --binding ([pod] kind)"
        )
    fields: dict[str, FieldLayout | None] = {}
    for key in ("phase", "ready", "node", "cpu"):
        fname, exp = opt(pod_cfg, key, key)
        fields[key] = _field(pod_kind, fname, f"[pod] {key}", exp)
    phase, ready, node_ref, cpu = fields["phase"], fields["ready"], fields["node"], fields["cpu"]
    memory = None
    if "memory" in pod_cfg:
        memory = _field(pod_kind, str(pod_cfg["memory"]), "[pod] memory", True)
    else:
        memory = _field(pod_kind, "memory", "", False) or _field(pod_kind, "mem", "", False)
    if memory is not None and not isinstance(memory.type, TInt):
        memory = None
    if phase is not None and not isinstance(phase.type, TEnum):
        raise BindingError(f"[pod] phase: `{phase.name}` must be an enum field")
    if ready is not None and not isinstance(ready.type, TBool):
        ready = None  # a `ready` that is not a bool is not the Ready condition
    if cpu is not None and not isinstance(cpu.type, TInt):
        cpu = None
    members = (
        layout.enums[phase.type.name] if phase is not None and isinstance(phase.type, TEnum) else ()
    )

    node_name, node_exp = opt(node_cfg, "kind", "Node")
    if node_ref is not None and isinstance(node_ref.type, TRef) and "kind" not in node_cfg:
        node_name = node_ref.type.kind
    node_kind = _kind(layout, node_name, "[node] kind", node_exp)
    node = None
    if node_kind is not None:
        rname, rexp = opt(node_cfg, "ready", "ready")
        nready = _field(node_kind, rname, "[node] ready", rexp)
        node = NodeBinding(
            node_kind, nready if nready is None or isinstance(nready.type, TBool) else None
        )
    if node_ref is not None and not (
        isinstance(node_ref.type, TRef)
        and node is not None
        and node_ref.type.kind == node.kind.name
    ):
        node_ref = None

    service = None
    sname, sexp = opt(svc_cfg, "kind", "Service")
    svc_kind = _kind(layout, sname, "[service] kind", sexp)
    if svc_kind is not None:
        selname, selexp = opt(svc_cfg, "selector", "selector")
        selector = _field(svc_kind, selname, "[service] selector", selexp)
        if selector is not None and isinstance(selector.type, TEnum):
            pname = svc_cfg.get("pod_field")
            candidates = [
                f for f in pod_kind.fields if f.type == selector.type and "@" not in f.name
            ]
            if pname is not None:
                candidates = [f for f in candidates if f.name == pname]
            if not candidates:
                raise BindingError(
                    f"[service] pod_field: no field of {pod_kind.name} has the selector's type {selector.type.name}"
                )
            service = ServiceBinding(svc_kind, selector, candidates[0])
        elif sexp:
            raise BindingError("[service] selector: the service needs an enum selector field")

    labels = tuple(
        f
        for f in pod_kind.fields
        if isinstance(f.type, (TEnum, TBool)) and f not in (phase, ready) and "@" not in f.name
    )
    pod = PodBinding(pod_kind, phase, members, ready, node_ref, cpu, memory, labels)
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
    return Binding(pod, node, service, **extra)


def config_from_model(sym: Symbols) -> dict[str, Any]:
    """The model's own `docker { ... }` block as a config of the same shape as the binding
    file's (the checker has already vetted its roles, keys, kinds and fields)."""
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
