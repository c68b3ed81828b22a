"""Checks of the `docker` block, the binding for `kcheck run --driver docker` (spec/run.md):
known roles and keys, and kinds and fields that exist and have the right sort.
"""

from __future__ import annotations

from kcheck.lang import ast
from kcheck.lang.check.base import CheckerBase
from kcheck.lang.check.context import head_span
from kcheck.lang.diagnostics import suggest
from kcheck.lang.types import TBool, TEnum, TInt, TRef

# The keys of each role of a `docker` block, and what each takes (spec/run.md).
BIND_KEYS: dict[str, dict[str, str]] = {
    "pod": {
        "phase": "enum field",
        "ready": "bool field",
        "node": "reference field",
        "cpu": "int field",
        "memory": "int field",
        "image": "string",
        "command": "strings",
        "cpu_millis_per_unit": "int",
        "default_cpu_millis": "int",
        "memory_per_unit_mb": "int",
        "memory_mb": "int",
    },
    "node": {"ready": "bool field"},
    "service": {"selector": "enum field", "pod_field": "field"},
}

BIND_LEAST = {"memory_mb": 6}  # Docker refuses a container with less than 6 MiB


class DockerChecker(CheckerBase):
    def docker(self, d: ast.Docker) -> None:
        """The binding for `kcheck run --driver docker` (spec/run.md): known roles and keys, kinds
        and fields that exist and have the right sort."""
        if self.sym.docker and self.sym.docker[0] is not d:
            self.error(
                "KC0202",
                "a second `docker` block",
                head_span(d.span, len("docker")),
                notes=(f"the first is at line {self.sym.docker[0].span.line}",),
                help="merge them into one",
            )
        seen: dict[str, ast.BindSection] = {}
        pod_kind = "Pod"
        for sec in d.sections:
            if sec.role == "pod":
                pod_kind = sec.kind
        for sec in d.sections:
            keys = BIND_KEYS.get(sec.role)
            if keys is None:
                self.error(
                    "KC0201",
                    f"no binding role `{sec.role}`",
                    sec.role_span,
                    notes=("the roles are `pod`, `node` and `service`",),
                    help=suggest(sec.role, list(BIND_KEYS)),
                )
                continue
            if sec.role in seen:
                self.error("KC0202", f"role `{sec.role}` is bound twice", sec.role_span)
            seen[sec.role] = sec
            kind = self.sym.kinds.get(sec.kind)
            if kind is None:
                self.error(
                    "KC0204",
                    f"no kind named `{sec.kind}`",
                    sec.kind_span,
                    help=suggest(sec.kind, list(self.kind_decls)),
                )
                continue
            named: set[str] = set()
            for item in sec.items:
                self.bind_item(sec, item, keys, named, pod_kind)

    def bind_item(
        self,
        sec: ast.BindSection,
        item: ast.BindItem,
        keys: dict[str, str],
        named: set[str],
        pod_kind: str,
    ) -> None:
        want = keys.get(item.key)
        if want is None:
            self.error(
                "KC0203",
                f"`{sec.role}` has no binding key `{item.key}`",
                item.key_span,
                notes=("its keys are " + ", ".join(f"`{k}`" for k in keys),),
                help=suggest(item.key, list(keys)),
            )
            return
        if item.key in named:
            self.error("KC0202", f"`{item.key}` is bound twice", item.key_span)
        named.add(item.key)
        v = item.value
        sorts = {"string": str, "strings": tuple, "int": int}
        if want in sorts:
            least = BIND_LEAST.get(item.key, 1)
            ok = isinstance(v, sorts[want]) and not isinstance(v, bool)
            if not ok or (want == "int" and isinstance(v, int) and v < least):
                what = {"string": "a string", "strings": "a list of strings", "int": "a number"}
                self.error(
                    "KC0301",
                    f"`{item.key}` takes {what[want]}"
                    + (f", at least {least}" if want == "int" else ""),
                    item.span,
                )
            return
        # a field of the section's kind (the pod kind for `pod_field`), of the wanted sort
        owner = pod_kind if item.key == "pod_field" else sec.kind
        if not isinstance(v, ast.FieldName):
            self.error("KC0301", f"`{item.key}` names a field of `{owner}`", item.span)
            return
        kind = self.sym.kinds.get(owner)
        fi = kind.field(v.name) if kind is not None else None
        if kind is None:
            return
        if fi is None:
            self.error(
                "KC0203",
                f"`{owner}` has no field `{v.name}`",
                v.span,
                help=suggest(v.name, [f.name for f in kind.fields]),
            )
            return
        sort_ok = {
            "enum field": isinstance(fi.type, TEnum),
            "bool field": isinstance(fi.type, TBool),
            "int field": isinstance(fi.type, TInt),
            "reference field": isinstance(fi.type, TRef),
            "field": True,
        }[want]
        if not sort_ok:
            self.error(
                "KC0301", f"`{item.key}` needs an {want}, and `{v.name}` is {fi.type}", v.span
            )
