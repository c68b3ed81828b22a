"""The mapping from Kubernetes log entries to the model's actions (`--mapping FILE`, TOML):

    [[event]]                      # kubectl get events: reason, and optionally kind, component, type
    reason = "SuccessfulCreate"
    kind = "ReplicaSet"
    actions = ["replicaset.scale_up"]

    [[audit]]                      # audit log: verb, and optionally resource, subresource, user
    verb = "delete"
    resource = "pods"
    actions = ["replicaset.scale_down", "replicaset.gc"]

    [[event]]
    reason = "Pulled"
    ignore = true                  # says nothing about the model's state

    [[audit]]                      # an observed state change, matched to a model object
    verb = "patch"
    resource = "replicasets"
    subresource = "scale"
    actions = ["user_scales_up", "user_scales_down"]
    object = "ReplicaSet"          # the entry's object (its name) is one ReplicaSet of the model
    state = { replicas = "responseObject.spec.replicas" }   # its field after the step

    [[watch]]                      # kubectl get pods --watch -o json: kind, and optionally type
    kind = "Pod"                   # (ADDED, MODIFIED, DELETED)
    type = "MODIFIED"
    actions = ["kubelet.start"]
    object = "Pod"
    state = { phase = "status.phase" }   # paths in the object itself

The first rule whose keys all equal the entry's wins. `actions` lists action labels
(`actor.action`) or actors (every action of the actor); the entry is then explained by one step
of one of them. Entries no rule matches are skipped and counted in the report.

`object` names a kind of the model: the step that explains the entry must create, delete or
change an object of that kind, and the entry's object name (objectRef.name, involvedObject.name)
stands for that model object for the whole log: a later entry naming it must be a step on the
same object, and another name cannot be it. `state` (with `object`) maps fields of that model
object to paths in the entry (dotted, e.g. `responseObject.spec.replicas` of an audit entry at
level RequestResponse): after the step the field must hold that value (a number, a bool, or an
enum member's name)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from kcheck.conform.log import Entry, LogError
from kcheck.lang.diagnostics import suggest
from kcheck.model.ir import CompiledModel

_SELECTORS = {"event": ("reason", "kind", "component", "type"),
              "audit": ("verb", "resource", "subresource", "user"),
              "watch": ("kind", "type")}  # fmt: skip


@dataclass(frozen=True)
class Rule:
    table: str
    match: tuple[tuple[str, str], ...]
    actions: frozenset[int]  # empty with ignore
    ignore: bool
    kind: str | None = None  # `object`: the model kind the entry's object is one of
    state: tuple[tuple[str, str], ...] = ()  # (field, path in the entry)


def load_mapping(path: str, model: CompiledModel) -> list[Rule]:
    """Raises LogError located in the mapping file (OSError when it cannot be read)."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        line, col = _position(str(err))
        raise LogError(path, line, col, f"not TOML: {err}", "see spec/testing.md") from None
    labels = {a.label: a.id for a in model.actions}
    actors: dict[str, set[int]] = {}
    for a in model.actions:
        actors.setdefault(a.actor, set()).add(a.id)
    rules: list[Rule] = []
    for table in doc:
        if table not in _SELECTORS:
            raise LogError(path, _find(text, f"[[{table}]]"), 1, f"unknown table [[{table}]]",
                           "the mapping has [[event]], [[audit]] and [[watch]] tables")  # fmt: skip
    for table, selectors in _SELECTORS.items():
        for i, raw in enumerate(doc.get(table, [])):
            where = _nth(text, f"[[{table}]]", i)
            for key, value in raw.items():
                if key not in (*selectors, "actions", "ignore", "object", "state"):
                    raise LogError(path, where, 1, f"[[{table}]] has no key {key!r}",
                                   f"keys: {', '.join(selectors)}, actions, ignore, object, "
                                   "state")  # fmt: skip
                if key in selectors and not isinstance(value, str):
                    raise LogError(path, where, 1, f"{key} must be a string")
            if selectors[0] not in raw:
                raise LogError(path, where, 1, f"[[{table}]] needs {selectors[0]!r}")
            ignore = raw.get("ignore") is True
            names = raw.get("actions", [])
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise LogError(path, where, 1, "actions must be a list of action labels")
            if not names and not ignore:
                raise LogError(path, where, 1, f"[[{table}]] needs actions or ignore = true")
            ids: set[int] = set()
            for name in names:
                if name in labels:
                    ids.add(labels[name])
                elif name in actors:
                    ids |= actors[name]
                else:
                    near = suggest(name, [*labels, *actors])
                    raise LogError(path, _find(text, f'"{name}"', where), 1,
                                   f"the model has no action or actor {name!r}",
                                   f"did you mean {near!r}?" if near else
                                   f"actions: {', '.join(labels)}")  # fmt: skip
            kind, state = _object(path, text, where, table, raw, model)
            match = tuple((k, raw[k]) for k in selectors if k in raw)
            rules.append(Rule(table, match, frozenset(ids), ignore, kind, state))
    return rules


def _object(
    path: str, text: str, where: int, table: str, raw: dict[str, object], model: CompiledModel
) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """A rule's `object` (a model kind) and `state` (its fields and the entry paths of their
    values), checked against the model."""
    kind, state = raw.get("object"), raw.get("state", {})
    if kind is None:
        if state:
            raise LogError(path, where, 1, f"[[{table}]] has state but no object",
                           'say which kind\'s object changes: object = "ReplicaSet"')  # fmt: skip
        return None, ()
    kinds = {k.name: k for k in model.layout.kinds}
    if not isinstance(kind, str) or kind not in kinds:
        near = suggest(str(kind), list(kinds))
        raise LogError(path, _find(text, "object", where), 1,
                       f"the model has no kind {kind!r}",
                       f"did you mean {near!r}?" if near else f"kinds: {', '.join(kinds)}")  # fmt: skip
    if not isinstance(state, dict) or not all(isinstance(v, str) for v in state.values()):
        raise LogError(path, _find(text, "state", where), 1,
                       "state must map fields to paths in the entry",
                       'state = { replicas = "responseObject.spec.replicas" }')  # fmt: skip
    fields = [f.name for f in kinds[kind].fields if not f.hidden and f.name != "@"]
    for name in state:
        if name not in fields:
            near = suggest(name, fields)
            raise LogError(path, _find(text, "state", where), 1,
                           f"kind {kind} has no field {name!r}",
                           f"did you mean {near!r}?" if near else f"fields: {', '.join(fields)}")  # fmt: skip
    return kind, tuple((k, str(v)) for k, v in state.items())


def lookup(entry: Entry, dotted: str) -> object:
    """The value at a dotted path of the entry (None where it has none)."""
    at: object = entry.raw or {}
    for part in dotted.split("."):
        if not isinstance(at, dict):
            return None
        at = at.get(part)
    return at


def apply(rules: list[Rule], table: str, entry: Entry) -> Rule | None:
    for rule in rules:
        if rule.table == table and all(entry.fields.get(k) == v for k, v in rule.match):
            return rule
    return None


def _find(text: str, needle: str, after: int = 1) -> int:
    for i, line in enumerate(text.splitlines(), start=1):
        if i >= after and needle in line:
            return i
    return after


def _nth(text: str, needle: str, n: int) -> int:
    seen = -1
    for i, line in enumerate(text.splitlines(), start=1):
        if line.strip().startswith(needle):
            seen += 1
            if seen == n:
                return i
    return 1


def _position(message: str) -> tuple[int, int]:
    import re

    m = re.search(r"line (\d+), column (\d+)", message)
    return (int(m.group(1)), int(m.group(2))) if m else (1, 1)
