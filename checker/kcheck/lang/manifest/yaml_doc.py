"""Kubernetes objects read from YAML files with the position of every value: multi-document
files, `kind: List` (what `kubectl get ... -o yaml` prints) and `*List` kinds."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from kcheck.lang.ast import Span
from kcheck.lang.diagnostics import Diagnostic, Source


@dataclass(frozen=True)
class K8sObject:
    kind: str
    name: str
    node: yaml.MappingNode
    source: Source
    kind_span: Span


class ManifestError(Exception):
    """Bad manifests: every diagnostic found, each with the file it is about."""

    def __init__(self, found: list[tuple[Source, Diagnostic]]) -> None:
        # one problem met by two items (a PDB read twice) is reported once, in file order
        unique = {(src.path, d.span, d.message): (src, d) for src, d in found}
        self.found = sorted(
            unique.values(), key=lambda x: (x[0].path, x[1].span.line, x[1].span.col)
        )
        super().__init__("; ".join(d.message for _, d in self.found))

    def render(self) -> str:
        from kcheck.lang.diagnostics import render

        body = "\n\n".join(render(d, src) for src, d in self.found)
        n = sum(1 for _, d in self.found if d.severity == "error")
        return body + f"\n\n{n} error{'s' if n != 1 else ''} in the manifests"


def span_of(node: yaml.Node) -> Span:
    s, e = node.start_mark, node.end_mark
    if e.line > s.line:  # a block value: underline its first line only
        return Span(s.line + 1, s.column + 1, s.line + 1, s.column + 2)
    return Span(s.line + 1, s.column + 1, e.line + 1, e.column + 1)


def get(node: yaml.Node, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            assert isinstance(v, yaml.Node)
            return v
    return None


def load_objects(
    path: str, found: list[tuple[Source, Diagnostic]], warnings: list[tuple[Source, Diagnostic]]
) -> list[K8sObject]:
    """The objects of one file; problems are appended to `found` (the file may still give some)."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as err:
        source = Source(path, "")
        found.append((source, Diagnostic("KC0104", f"cannot read {path}: {err}", Span(0, 0, 0, 0))))
        return []
    source = Source(path, text)
    try:
        docs = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        at = (
            Span(mark.line + 1, mark.column + 1, mark.line + 1, mark.column + 2)
            if mark
            else (Span(0, 0, 0, 0))
        )
        msg = f"YAML syntax error: {err.problem or err.context}"
        ctx = err.context_mark if err.problem_mark is not None else None
        notes = (
            (f"{err.context} at line {ctx.line + 1}, column {ctx.column + 1}",)
            if (ctx is not None and err.context)
            else ()
        )
        found.append((source, Diagnostic("KC0604", msg, at, notes=notes)))
        return []
    except yaml.YAMLError as err:
        found.append((source, Diagnostic("KC0604", f"YAML error: {err}", Span(0, 0, 0, 0))))
        return []
    out: list[K8sObject] = []
    for doc in docs:
        if doc is None:
            continue
        _duplicates(doc, source, found, set())
        _collect(doc, source, out, found)
    return out


def _duplicates(
    node: yaml.Node, source: Source, found: list[tuple[Source, Diagnostic]], seen: set[int]
) -> None:
    """A key given twice in one mapping: PyYAML keeps both, kubectl refuses the file."""
    if id(node) in seen:  # an alias to a node already walked
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: dict[str, yaml.Node] = {}
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode):
                if k.value in keys:
                    line = keys[k.value].start_mark.line + 1
                    found.append((source, Diagnostic(
                        "KC0604", f"duplicate key `{k.value}`", span_of(k),
                        notes=(f"first at line {line}",),
                        help="kubectl refuses a mapping with a key given twice")))  # fmt: skip
                keys.setdefault(k.value, k)
            _duplicates(v, source, found, seen)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _duplicates(item, source, found, seen)


def _collect(
    node: yaml.Node, source: Source, out: list[K8sObject], found: list[tuple[Source, Diagnostic]]
) -> None:
    kind = get(node, "kind")
    if not isinstance(node, yaml.MappingNode) or not isinstance(kind, yaml.ScalarNode):
        found.append(
            (source, Diagnostic("KC0605", "not a Kubernetes object (no `kind:`)", span_of(node)))
        )
        return
    if kind.value == "List" or kind.value.endswith("List"):
        items = get(node, "items")
        if isinstance(items, yaml.SequenceNode):
            for item in items.value:
                _collect(item, source, out, found)
        elif items is not None:
            found.append((source, Diagnostic("KC0605", "`items:` is not a list", span_of(items))))
        return
    meta = get(node, "metadata")
    name = get(meta, "name") if meta is not None else None
    label = name.value if isinstance(name, yaml.ScalarNode) else "(unnamed)"
    out.append(K8sObject(kind.value, label, node, source, span_of(kind)))
