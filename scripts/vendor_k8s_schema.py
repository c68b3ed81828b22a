"""Writes tests/fixtures/conform/k8s_schema.json: JSON Schemas of the Kubernetes objects that the
hand-written `kubectl get events` / `--watch` fixtures of `kcheck conform` hold, as the official
Kubernetes Python client defines them (its pydantic models, with unknown fields forbidden).
The client (`pip install kubernetes`, about 126 MB with its dependencies) is too heavy to be a
test dependency, so its schemas are vendored; descriptions are dropped to keep the file small.
tests/conform/test_fixture_schema.py validates the fixtures against them with jsonschema.
Run: python scripts/vendor_k8s_schema.py (with `kubernetes` importable)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import kubernetes  # type: ignore[import-not-found]
from kubernetes.client import models  # type: ignore[import-not-found]

ROOTS = [
    "CoreV1Event", "CoreV1EventList", "EventsV1Event", "V1Pod", "V1WatchEvent", "V1Status",
    "V1UserInfo", "V1Scale",
]  # fmt: skip
OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "conform" / "k8s_schema.json"


def _strip(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip(v) for k, v in node.items() if k not in ("description", "title")}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def _audit_event() -> dict[str, Any]:
    """audit.k8s.io/v1 Event (the apiserver's own API, not in the client): its fields as the
    API reference lists them (kubernetes.io/docs/reference/config-api/apiserver-audit.v1/,
    k8s.io/apiserver/pkg/apis/audit/v1/types.go); UserInfo and Status are the client's."""
    string = {"type": "string"}
    time = {"type": "string", "format": "date-time"}
    obj_ref = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            k: string
            for k in ("resource", "namespace", "name", "uid", "apiGroup", "apiVersion",
                      "resourceVersion", "subresource")
        },
    }  # fmt: skip
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["level", "auditID", "stage", "requestURI", "verb", "user"],
        "properties": {
            "apiVersion": {"const": "audit.k8s.io/v1"},
            "kind": {"const": "Event"},
            "level": {"enum": ["None", "Metadata", "Request", "RequestResponse"]},
            "auditID": string,
            "stage": {"enum": ["RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"]},
            "requestURI": string,
            "verb": string,
            "user": {"$ref": "#/$defs/V1UserInfo"},
            "impersonatedUser": {"$ref": "#/$defs/V1UserInfo"},
            "sourceIPs": {"type": "array", "items": string},
            "userAgent": string,
            "objectRef": obj_ref,
            "responseStatus": {"$ref": "#/$defs/V1Status"},
            "requestObject": {"type": "object"},
            "responseObject": {"type": "object"},
            "requestReceivedTimestamp": time,
            "stageTimestamp": time,
            "annotations": {"type": "object", "additionalProperties": string},
        },
    }


def main() -> None:
    out: dict[str, Any] = {
        "source": f"kubernetes Python client {kubernetes.__version__}: "
        "kubernetes.client.models.<name>.model_json_schema(by_alias=True)",
        "schemas": {
            name: _strip(getattr(models, name).model_json_schema(by_alias=True)) for name in ROOTS
        },
    }
    audit = _audit_event()
    defs: dict[str, Any] = {}
    for name in ("V1UserInfo", "V1Status"):  # one $defs, so every "#/$defs/..." resolves
        schema = dict(out["schemas"][name])
        defs.update(schema.pop("$defs", {}))
        defs[name] = schema
    audit["$defs"] = defs
    out["schemas"]["AuditV1Event"] = audit
    OUT.write_text(json.dumps(out, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{OUT}: {OUT.stat().st_size} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
