"""Reading recorded runs into observations, with a located error for every malformed entry.

- `kcheck-run`: `kcheck run --log-json` (spec/run.md): one event per line, grouped by step; a
  step's events are exactly what `kcheck.run.events.step_events` renders for it, and the step
  numbers say how many steps left no event.
- `k8s-events`: `kubectl get events -o json` (a List) or `kubectl get events --watch -o json`
  (a stream of objects), ordered by time; an event with `count: N` happened N times.
- `audit`: Kubernetes audit log, JSON lines; only `ResponseComplete` entries of requests that
  succeeded change anything.
- `watch`: `kubectl get KIND --watch -o json` (objects; `--output-watch-events`: typed events).
The last three reach the model through a mapping (mapping.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_REPEAT = 100  # an aggregated event (count: N) is expanded up to this many times


class LogError(Exception):
    """A malformed log entry: where, what, and what to do."""

    def __init__(self, path: str, line: int, col: int, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.path, self.line, self.col, self.message, self.hint = path, line, col, message, hint

    def render(self, text: str | None = None) -> str:
        out = [f"{self.path}:{self.line}:{self.col}: error: {self.message}"]
        lines = (text or "").splitlines()
        if 0 < self.line <= len(lines):
            src = lines[self.line - 1]
            shown = src if len(src) <= 160 else src[:157] + "..."
            out += [f"  {shown}", "  " + " " * min(self.col - 1, len(shown)) + "^"]
        if self.hint:
            out.append(f"help: {self.hint}")
        return "\n".join(out)


@dataclass(frozen=True)
class RunStep:
    """One step of a `kcheck run` log: its number and its events (type, reason, from, object,
    message), sorted; no events for the run's end (Converged, Stopped), numbered by the steps
    the run took in all."""

    line: int
    step: int
    events: tuple[tuple[str, str, str, str, str], ...]


@dataclass(frozen=True)
class Entry:
    """One Kubernetes event or audit entry, as the mapping sees it."""

    line: int
    fields: dict[str, Any]
    summary: str
    raw: dict[str, Any] | None = None  # the whole entry, for a rule's `state` paths


_RUN_KEYS: dict[str, type | tuple[type, ...]] = {"time": (int, float), "step": int, "type": str, "reason": str, "from": str,
             "object": str, "message": str}  # fmt: skip
_OWN = {"RunStarted", "Converged", "Violation", "Stopped"}  # the run's own events, not steps


def read_kcheck_run(path: str, text: str) -> list[RunStep]:
    steps: list[RunStep] = []
    current: list[tuple[str, str, str, str, str]] = []
    start, number, last = 0, -1, 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        obj = _json_line(path, lineno, raw, "one event per line, as kcheck run --log-json writes")
        for key, ty in _RUN_KEYS.items():
            if key not in obj:
                raise LogError(path, lineno, 1, f"the event has no {key!r}",
                               "each line needs time, step, type, reason, from, object, message"
                               " (kcheck/schemas/run-event.schema.json)")  # fmt: skip
            if not isinstance(obj[key], ty) or isinstance(obj[key], bool):
                raise LogError(path, lineno, _col(raw, key), f"{key!r} is {obj[key]!r}",
                               "see kcheck/schemas/run-event.schema.json")  # fmt: skip
        if obj["step"] < last:
            raise LogError(path, lineno, _col(raw, "step"),
                           f"step {obj['step']} comes after step {last}",
                           "a run's steps only go forward; was the log reordered?")  # fmt: skip
        last = obj["step"]
        if obj["from"] == "kcheck" and obj["reason"] in _OWN:
            if obj["reason"] in ("Converged", "Stopped"):
                # the run's end says how many steps it took: the last ones may have been silent
                if current:
                    steps.append(RunStep(start, number, tuple(sorted(current))))
                current, number = [], -1
                steps.append(RunStep(lineno, obj["step"], ()))
            continue
        event = (obj["type"], obj["reason"], obj["from"], obj["object"], obj["message"])
        if obj["step"] != number:
            if current:
                steps.append(RunStep(start, number, tuple(sorted(current))))
            current, start, number = [], lineno, obj["step"]
        current.append(event)
    if current:
        steps.append(RunStep(start, number, tuple(sorted(current))))
    return steps


def read_k8s_events(path: str, text: str) -> list[Entry]:
    docs = _json_stream(path, text)
    items: list[tuple[int, Any]] = []
    for line, doc in docs:
        if isinstance(doc, dict) and isinstance(doc.get("items"), list):
            for item in doc["items"]:  # a List: its items, each at the line of its name
                name = (item.get("metadata") or {}).get("name") if isinstance(item, dict) else None
                at = text.find(json.dumps(name)) if isinstance(name, str) else -1
                items.append((text.count("\n", 0, at) + 1 if at >= 0 else line, item))
        else:
            items.append((line, doc))
    out: list[tuple[str, int, Entry]] = []
    for line, ev in items:
        if not isinstance(ev, dict) or "reason" not in ev:
            audit = isinstance(ev, dict) and "verb" in ev and "objectRef" in ev
            raise LogError(path, line, 1, "not a Kubernetes Event (no 'reason')",
                           "this looks like an audit log: --format audit" if audit
                           else "give the output of kubectl get events -o json")  # fmt: skip
        involved = ev.get("involvedObject") or ev.get("regarding") or {}
        fields = {
            "reason": ev.get("reason"),
            "kind": involved.get("kind"),
            "name": involved.get("name"),
            "component": (ev.get("source") or {}).get("component") or ev.get("reportingController"),
            "message": ev.get("message") or ev.get("note") or "",
            "type": ev.get("type"),
        }
        when = str(ev.get("lastTimestamp") or ev.get("eventTime") or ev.get("firstTimestamp") or "")
        raw_count = ev.get("count")
        count = raw_count if isinstance(raw_count, int) else 1
        summary = f"{fields['reason']} {fields['kind']}/{fields['name']}: {fields['message']}"
        for _ in range(max(1, min(count, MAX_REPEAT))):
            out.append((when, len(out), Entry(line, fields, summary, ev)))
    out.sort(key=lambda x: (x[0], x[1]))  # by time; file order among equal times
    return [e for _, _, e in out]


def read_audit(path: str, text: str) -> list[Entry]:
    out: list[Entry] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        obj = _json_line(path, lineno, raw, "an audit log has one JSON event per line")
        ref = obj.get("objectRef")
        if "verb" not in obj or not isinstance(ref, dict):
            raise LogError(path, lineno, 1, "not an audit event (no 'verb' and 'objectRef')",
                           "give the apiserver's --audit-log-path file (JSON lines)")  # fmt: skip
        if obj.get("stage", "ResponseComplete") != "ResponseComplete":
            continue
        code = (obj.get("responseStatus") or {}).get("code", 200)
        if isinstance(code, int) and code >= 400:
            continue  # a refused request changed nothing
        fields = {
            "verb": obj["verb"],
            "resource": ref.get("resource"),
            "subresource": ref.get("subresource"),
            "name": ref.get("name"),
            "user": (obj.get("user") or {}).get("username"),
        }
        sub = f"/{fields['subresource']}" if fields["subresource"] else ""
        out.append(
            Entry(
                lineno, fields, f"{obj['verb']} {ref.get('resource')}{sub} {ref.get('name')}", obj
            )
        )
    return out


def read_watch(path: str, text: str) -> list[Entry]:
    """`kubectl get KIND --watch -o json`: a stream of objects, each the object as it is now
    (the first sighting of a name is an ADDED, the later ones MODIFIED; deletions are not
    shown); with `--output-watch-events`, each `{"type": ADDED|MODIFIED|DELETED, "object"}`."""
    out: list[Entry] = []
    seen: set[tuple[str, str]] = set()
    for line, doc in _json_stream(path, text, "give the output of kubectl get --watch -o json"):
        if isinstance(doc, dict) and "object" in doc and "type" in doc:
            kind_of, obj = str(doc["type"]), doc["object"]
        else:
            kind_of, obj = "", doc
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        if not isinstance(obj, dict) or "kind" not in obj or not isinstance(meta, dict):
            raise LogError(path, line, 1, "not a Kubernetes object (no 'kind' and 'metadata')",
                           "give the output of kubectl get KIND --watch -o json")  # fmt: skip
        key = (str(obj["kind"]), str(meta.get("name")))
        kind_of = kind_of or ("MODIFIED" if key in seen else "ADDED")
        seen.add(key)
        fields = {"kind": key[0], "type": kind_of, "name": key[1]}
        out.append(Entry(line, fields, f"{kind_of} {key[0]}/{key[1]}", obj))
    return out


def _json_line(path: str, lineno: int, raw: str, hint: str) -> dict[str, Any]:
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as err:
        raise LogError(path, lineno, err.colno, f"not JSON: {err.msg}", hint) from None
    if not isinstance(obj, dict):
        raise LogError(path, lineno, 1, f"a JSON {type(obj).__name__}, not an object", hint)
    return obj


def _json_stream(
    path: str, text: str, hint: str = "give the output of kubectl get events -o json"
) -> list[tuple[int, Any]]:
    """Concatenated JSON documents (what `--watch -o json` prints), with their start lines."""
    decoder = json.JSONDecoder()
    out: list[tuple[int, Any]] = []
    i = 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        line = text.count("\n", 0, i) + 1
        try:
            doc, i = decoder.raw_decode(text, i)
        except json.JSONDecodeError as err:
            raise LogError(path, err.lineno, err.colno, f"not JSON: {err.msg}", hint) from None
        out.append((line, doc))


def _col(raw: str, key: str) -> int:
    at = raw.find(f'"{key}"')
    return at + 1 if at >= 0 else 1


def read(path: str, fmt: str) -> tuple[str, list[RunStep] | list[Entry]]:
    """The file's text and its observations; raises OSError, UnicodeDecodeError, LogError."""
    text = Path(path).read_text(encoding="utf-8")
    if not text.strip():
        raise LogError(path, 1, 1, "the log is empty", "was the run recorded to another file?")
    if fmt == "kcheck-run":
        return text, read_kcheck_run(path, text)
    if fmt == "k8s-events":
        return text, read_k8s_events(path, text)
    if fmt == "watch":
        return text, read_watch(path, text)
    return text, read_audit(path, text)
