"""What a model describes of fields it does not map (`spec.concurrencyPolicy: "Allow"` in its
`manifest` section), held against the manifests: a field set otherwise, or left out where
Kubernetes' default differs, describes another system, and kcheck refuses it (KC0610 at the
field, spec/manifests.md §4) rather than check something else."""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import yaml

from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic, Source
from kcheck.lang.manifest.described import MAX_STARS, Known, lookup
from kcheck.lang.manifest.show import int_text, text
from kcheck.lang.manifest.yaml_doc import K8sObject, get, span_of

Found = list[tuple[Source, Diagnostic]]
_UNSET = "unset"


@dataclass(frozen=True)
class Miss:
    where: str  # `spec.rules[0].http.paths[0].backend.service.name`
    got: str
    want: str


@dataclass(frozen=True)
class _Ctx:
    env: Mapping[str, int]  # the model's consts and int params, as filled
    objects: Sequence[K8sObject]  # for `Service { ... }`: the names it may give


def _value(e: ast.Expr, env: Mapping[str, int]) -> int:
    if isinstance(e, ast.IntLit):
        return e.value
    if isinstance(e, ast.Name):
        return env[e.id]
    assert isinstance(e, ast.Binary)
    left, right = _value(e.left, env), _value(e.right, env)
    return left + right if e.op == "+" else left - right


def _unset(node: yaml.Node | None) -> bool:
    if node is None:
        return True
    return isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")


def _scalar(node: yaml.Node | None, known: Known | None) -> str | None:
    """The value as text, the default when absent; None: unset, or not a scalar."""
    if _unset(node):
        d = known.default if known is not None else None
        if isinstance(d, bool):
            return "true" if d else "false"
        return None if d is None else str(d)
    if isinstance(node, yaml.ScalarNode):
        if node.tag.endswith(":bool"):
            return "true" if node.value.lower() in ("true", "yes", "on", "y") else "false"
        return str(node.value)
    return None


def _got(node: yaml.Node | None, known: Known | None) -> str:
    if _unset(node):
        s = _scalar(node, known)
        return _UNSET if s is None else f"unset: {s}"
    if isinstance(node, yaml.SequenceNode):
        return f"a list of {len(node.value)}"
    if isinstance(node, yaml.MappingNode):
        return f"a map of {len(node.value)}"
    assert isinstance(node, yaml.ScalarNode)
    return str(node.value)


_CMP: dict[str, Callable[[int, int], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<=": operator.le, ">=": operator.ge,
    "<": operator.lt, ">": operator.gt,
}  # fmt: skip


def _want(p: ast.Pattern, env: Mapping[str, int]) -> str:
    """What the model describes, its consts replaced by their values (`3`, not `REPLICAS - 1`)."""
    match p:
        case ast.PatNone():
            return "it unset"
        case ast.PatBool(value=v):
            return "true" if v else "false"
        case ast.PatString(value=v):
            return v
        case ast.PatInt(expr=e):
            return str(_value(e, env))
        case ast.PatCmp(op=op, expr=e):
            return f"{op} {_value(e, env)}" + (
                f" ({int_text(e)})" if not isinstance(e, ast.IntLit) else ""
            )
        case ast.PatAny(alts=alts):
            return " or ".join(_want(a, env) for a in alts)
        case ast.PatRef(kind=kind):
            return f"the name of a {kind} matching {text(p).removeprefix(kind + ' ')}"
    return text(p)


def match(
    kind: str, path: tuple[str, ...], shown: str, p: ast.Pattern, node: yaml.Node | None, ctx: _Ctx
) -> Miss | None:
    """None when the manifest's value (absent: Kubernetes' default) is one the model
    describes; else the first place it is not. `path` has `*` for list elements and map
    values, `shown` their indices (`spec.rules[0]`)."""
    known = lookup(kind, path)
    miss = Miss(shown, _got(node, known), _want(p, ctx.env))
    match p:
        case ast.PatAny(alts=alts):
            return (
                None if any(match(kind, path, shown, a, node, ctx) is None for a in alts) else miss
            )
        case ast.PatNone():
            return None if _scalar(node, known) is None and not _filled(node) else miss
        case ast.PatBool(value=v):
            return None if _scalar(node, known) == ("true" if v else "false") else miss
        case ast.PatString(value=v):
            return None if _scalar(node, known) == v else miss
        case ast.PatInt(expr=e) | ast.PatCmp(expr=e):
            got = _scalar(node, known)
            if got is None or not got.lstrip("-").isdigit():
                return miss
            op = p.op if isinstance(p, ast.PatCmp) else "=="
            return None if _CMP[op](int(got), _value(e, ctx.env)) else miss
        case ast.PatList(items=items):
            elems = _elements(node)
            if elems is None or len(elems) != len(items):
                return miss
            for i, (x, n) in enumerate(zip(items, elems, strict=True)):
                sub = match(kind, (*path, "*"), f"{shown}[{i}]", x, n, ctx)
                if sub is not None:
                    return sub
            return None
        case ast.PatObject(entries=es) if es and all(x.star for x in es):
            return _stars(kind, path, shown, es, node, ctx, miss)
        case ast.PatObject(entries=es):
            if not _unset(node) and not isinstance(node, yaml.MappingNode):
                return miss
            return _entries(kind, path, shown, es, node, ctx)
        case ast.PatRef(kind=ref, entries=es):
            name = _scalar(node, known)
            for o in ctx.objects:
                if (
                    o.kind == ref
                    and o.name == name
                    and _entries(ref, (), "", es, o.node, ctx) is None
                ):
                    return None
            return miss
    raise TypeError(p)


def _filled(node: yaml.Node | None) -> bool:
    """A list or map with something in it (an empty one says nothing: it reads as unset)."""
    return isinstance(node, yaml.SequenceNode | yaml.MappingNode) and bool(node.value)


def _elements(node: yaml.Node | None) -> list[yaml.Node] | None:
    if _unset(node):
        return []
    return list(node.value) if isinstance(node, yaml.SequenceNode) else None


def _entries(
    kind: str, path: tuple[str, ...], shown: str, es: tuple[ast.PatEntry, ...],
    node: yaml.Node | None, ctx: _Ctx,
) -> Miss | None:  # fmt: skip
    for x in es:
        sub: yaml.Node | None = node
        for k in x.key:
            sub = get(sub, k) if sub is not None else None
        where = ".".join(filter(None, (shown, *x.key)))
        miss = match(kind, (*path, *x.key), where, x.value, sub, ctx)
        if miss is not None:
            return miss
    return None


def _stars(
    kind: str, path: tuple[str, ...], shown: str, es: tuple[ast.PatEntry, ...],
    node: yaml.Node | None, ctx: _Ctx, miss: Miss,
) -> Miss | None:  # fmt: skip
    """A map keyed by names the model does not care about: as many entries as the model
    describes, paired with them in some order."""
    if _unset(node):
        values: list[tuple[str, yaml.Node]] = []
    elif isinstance(node, yaml.MappingNode):
        values = [(str(k.value), v) for k, v in node.value]
    else:
        return miss
    if len(values) != len(es) or len(es) > MAX_STARS:
        return miss
    first: Miss | None = None
    for order in itertools.permutations(values):
        for x, (k, v) in zip(es, order, strict=True):
            sub = match(kind, (*path, "*"), f"{shown}.{k}", x.value, v, ctx)
            if sub is not None:
                first = first or sub
                break
        else:
            return None
    return first


def fixed_problems(
    sections: Sequence[ast.ManifestSection], objects: Sequence[K8sObject],
    env: Mapping[str, int], model: str, model_path: str,
) -> Found:  # fmt: skip
    """KC0610 for each field a section describes that an object of its kind says otherwise."""
    out: Found = []
    ctx = _Ctx(env, objects)
    for sec in sections:
        for obj in (o for o in objects if o.kind == sec.kind):
            for fx in sec.fixed:
                node: yaml.Node | None = obj.node
                for k in fx.path:
                    node = get(node, k) if node is not None else None
                shown = ".".join(fx.path)
                miss = match(sec.kind, fx.path, shown, fx.value, node, ctx)
                if miss is not None:
                    out.append((obj.source, _diag(obj, fx, node, miss, model, model_path)))
    return out


def _diag(
    obj: K8sObject, fx: ast.ManifestFixed, node: yaml.Node | None, miss: Miss, model: str,
    model_path: str,
) -> Diagnostic:  # fmt: skip
    path = ".".join(fx.path)
    if miss.where == path:  # the field itself: what it is and what the model describes
        shown = miss.got if miss.got.startswith(_UNSET) else f"{miss.got} here"
        what = f" ({shown}); the model describes {miss.want}"
    else:  # a part of it
        what = f": `{miss.where}` is {miss.got}; the model describes {miss.want}"
    at = span_of(node) if node is not None else obj.kind_span
    return Diagnostic(
        "KC0610", f"the model does not map `{path}` of {obj.kind} `{obj.name}`{what}", at,
        notes=(f"model {model} describes `{path}: {text(fx.value)}` "
               f"({model_path}:{fx.span.line})",),
        help="check a manifest that says what the model describes: the model does not read "
        "the field, so it would check another system",
    )  # fmt: skip
