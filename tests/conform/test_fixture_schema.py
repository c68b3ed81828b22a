"""The hand-written Kubernetes logs of tests/fixtures/conform/ (kubectl events, --watch streams,
audit logs) cannot be recorded on this machine (no kube-apiserver runs here), so each is
checked against Kubernetes' own schema: the official Python client's models
(tests/fixtures/conform/k8s_schema.json, vendored by scripts/vendor_k8s_schema.py; unknown
fields are refused, required ones must be there, types and date-times must fit), and for audit
lines the audit.k8s.io/v1 Event fields. A sample is then at least exactly kubectl's shape."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "conform"
SCHEMAS: dict[str, Any] = json.loads((FIXTURES / "k8s_schema.json").read_text(encoding="utf-8"))[
    "schemas"
]


# metav1.Time and MicroTime as the apiserver writes them: RFC 3339, seconds or microseconds,
# Z or an offset. (jsonschema checks "date-time" only with an optional package; this says it.)
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)")


def _rfc3339(value: object) -> bool:
    if not isinstance(value, str):
        return True  # the type keyword judges it
    if not RFC3339.fullmatch(value):
        raise ValueError(f"{value!r} is not an RFC 3339 time")
    datetime.fromisoformat(value[:19])  # a real date and time of day
    return True


FORMATS = jsonschema.FormatChecker(formats=())
FORMATS.checks("date-time", raises=ValueError)(_rfc3339)


def check(schema: str, doc: object) -> None:
    jsonschema.validate(doc, SCHEMAS[schema], format_checker=FORMATS)


def documents(path: Path) -> list[Any]:
    """A JSON file as kubectl writes it: one document, or a stream of them (--watch)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    dec = json.JSONDecoder()
    out: list[Any] = []
    i = 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i == len(text):
            return out
        doc, i = dec.raw_decode(text, i)
        out.append(doc)


def _files(pattern: str) -> list[str]:
    names = sorted(p.name for p in FIXTURES.glob(pattern))
    assert names, pattern
    return names


@pytest.mark.parametrize("name", _files("k8s_events*.json"))
def test_kubectl_events_are_core_v1_events(name: str) -> None:
    for doc in documents(FIXTURES / name):
        if doc.get("kind") == "List":  # `kubectl get events -o json`
            assert set(doc) <= {"apiVersion", "kind", "items", "metadata"}
            items = doc["items"]
        else:  # `--watch -o json`: the events one after another
            items = [doc]
        for event in items:
            check("CoreV1Event", event)
            assert (event["apiVersion"], event["kind"]) == ("v1", "Event")


@pytest.mark.parametrize("name", _files("watch_pods*.json"))
def test_watch_streams_are_watch_events_of_pods(name: str) -> None:
    for doc in documents(FIXTURES / name):
        check("V1WatchEvent", doc)
        assert doc["type"] in ("ADDED", "MODIFIED", "DELETED")
        check("V1Pod", doc["object"])


@pytest.mark.parametrize("name", _files("audit*.jsonl"))
def test_audit_lines_are_audit_events(name: str) -> None:
    for line in documents(FIXTURES / name):
        check("AuditV1Event", line)
        obj = line.get("responseObject")
        if obj is not None and obj.get("kind") == "Pod":
            check("V1Pod", obj)
        if obj is not None and obj.get("kind") == "Scale":
            check("V1Scale", obj)


def test_the_schema_refuses_what_kubectl_would_not_print() -> None:
    """The check is not vacuous: an unknown field, a missing required one, a wrong type and a
    malformed time are each refused."""
    good = documents(FIXTURES / "k8s_events_too_many_creates.json")[0]
    check("CoreV1Event", good)
    bad: list[dict[str, Any]] = [
        {**good, "reasn": "SuccessfulCreate"},
        {k: v for k, v in good.items() if k != "involvedObject"},
        {**good, "count": "1"},
        {**good, "lastTimestamp": "yesterday"},
    ]
    for doc in bad:
        with pytest.raises(jsonschema.ValidationError):
            check("CoreV1Event", doc)
    line = documents(FIXTURES / "audit.jsonl")[0]
    check("AuditV1Event", line)
    for doc in ({**line, "stage": "Done"}, {k: v for k, v in line.items() if k != "verb"}):
        with pytest.raises(jsonschema.ValidationError):
            check("AuditV1Event", doc)
