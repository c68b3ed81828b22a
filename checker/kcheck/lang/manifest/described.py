"""The fields a model may describe without mapping them (`spec.revisionHistoryLimit: 0` in its
`manifest` section, spec/manifests.md §4): each with its shape and the value Kubernetes gives it
when a manifest leaves it out, and the model check of such declarations (a path kcheck does not
know, a value of the wrong shape, a name that is no const). kcheck owns the defaults so that a
model cannot get one wrong: `spec.revisionHistoryLimit: 0` refuses a Deployment without it,
because Kubernetes keeps 10."""

from __future__ import annotations

from dataclasses import dataclass

from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic, suggest
from kcheck.lang.manifest.fields import KINDS
from kcheck.lang.symbols import Symbols
from kcheck.lang.types import TInt


@dataclass(frozen=True)
class Known:
    # "int", "bool", "string", "percent" (an integer or "N%"), "list" (its elements `*`),
    # "map" (keyed by names: its values `*`), "object" (a path other paths go through)
    sort: str
    default: int | bool | str | None = None  # Kubernetes' value when absent; None: unset


_I, _B, _S, _P = "int", "bool", "string", "percent"
MAX_STARS = 6  # entries `*` are paired with a map's entries in every order: 720 at most


def _k(sort: str, default: int | bool | str | None = None) -> Known:
    return Known(sort, default)


_BACKEND = {
    "service.name": _k(_S),
    "service.port.number": _k(_I),
    "service.port.name": _k(_S),
    "resource.kind": _k(_S),
    "resource.name": _k(_S),
    "resource.apiGroup": _k(_S),
}
_INGRESS_PATH = "spec.rules.*.http.paths.*"

# What kcheck knows besides the readable fields (fields.KINDS, also describable): the fields
# the models of models/ describe, and their neighbours a model of the same object would.
DESCRIBED: dict[str, dict[str, Known]] = {
    "Deployment": {
        "spec.strategy.type": _k(_S, "RollingUpdate"),
        "spec.paused": _k(_B, False),
        "spec.progressDeadlineSeconds": _k(_I, 600),
    },
    "ReplicaSet": {"spec.minReadySeconds": _k(_I, 0)},
    "StatefulSet": {
        "spec.updateStrategy.type": _k(_S, "RollingUpdate"),
        "spec.podManagementPolicy": _k(_S, "OrderedReady"),
        "spec.minReadySeconds": _k(_I, 0),
        "spec.revisionHistoryLimit": _k(_I, 10),
    },
    "CronJob": {
        "spec.schedule": _k(_S),
        "spec.timeZone": _k(_S),
        "spec.concurrencyPolicy": _k(_S, "Allow"),
        "spec.suspend": _k(_B, False),
        "spec.startingDeadlineSeconds": _k(_I),
    },
    "Job": {
        "spec.completionMode": _k(_S, "NonIndexed"),
        "spec.suspend": _k(_B, False),
        "spec.activeDeadlineSeconds": _k(_I),
        "spec.ttlSecondsAfterFinished": _k(_I),
    },
    # KubeFed's ClusterPreferences: minReplicas an int64 (0 when absent), maxReplicas a
    # pointer (absent: no cap), weight absent unless given
    "ReplicaSchedulingPreference": {
        "spec.targetKind": _k(_S),
        "spec.rebalance": _k(_B, False),
        "spec.intersectWithClusterSelector": _k(_B, False),
        "spec.clusters": _k("map"),
        "spec.clusters.*.weight": _k(_I),
        "spec.clusters.*.minReplicas": _k(_I, 0),
        "spec.clusters.*.maxReplicas": _k(_I),
    },
    "Ingress": {
        "spec.ingressClassName": _k(_S),
        **{f"spec.defaultBackend.{k}": v for k, v in _BACKEND.items()},
        "spec.rules": _k("list"),
        "spec.rules.*.host": _k(_S),
        "spec.rules.*.http.paths": _k("list"),
        f"{_INGRESS_PATH}.path": _k(_S),
        f"{_INGRESS_PATH}.pathType": _k(_S),
        **{f"{_INGRESS_PATH}.backend.{k}": v for k, v in _BACKEND.items()},
        "spec.tls": _k("list"),
        "spec.tls.*.hosts": _k("list"),
        "spec.tls.*.hosts.*": _k(_S),
        "spec.tls.*.secretName": _k(_S),
    },
    "Service": {
        "spec.selector": _k("map"),
        "spec.type": _k(_S, "ClusterIP"),
        "spec.sessionAffinity": _k(_S, "None"),
        "spec.internalTrafficPolicy": _k(_S, "Cluster"),
        "spec.publishNotReadyAddresses": _k(_B, False),
    },
    "Node": {"spec.unschedulable": _k(_B, False)},
    "Pod": {
        "spec.restartPolicy": _k(_S, "Always"),
        "spec.terminationGracePeriodSeconds": _k(_I, 30),
        "spec.schedulerName": _k(_S, "default-scheduler"),
    },
    "PodDisruptionBudget": {"spec.unhealthyPodEvictionPolicy": _k(_S, "IfHealthyBudget")},
}

_FROM_READ = {"int": _I, "seconds": _I, "percent_int": _I, "bool": _B, "string": _S, "percent": _P}


def table(kind: str) -> dict[str, Known]:
    """Every describable path of a kind: the readable fields of a fitting sort, and DESCRIBED."""
    out: dict[str, Known] = {}
    for path, f in KINDS.get(kind, {}).items():
        sort = _FROM_READ.get(f.sort)
        if sort is not None and not isinstance(f.default, tuple):
            out[path] = Known(sort, f.default)
    out.update(DESCRIBED.get(kind, {}))
    return out


def _fits(known: str, path: tuple[str, ...]) -> bool:
    parts = known.split(".")
    return len(parts) == len(path) and all(k in ("*", p) for k, p in zip(parts, path, strict=True))


def lookup(kind: str, path: tuple[str, ...]) -> Known | None:
    """The field at `path` (`*` for a list element or a map's value); a path that others go
    through is an object, unset when absent. None: kcheck knows no such field."""
    fields = table(kind)
    exact = [k for p, k in fields.items() if _fits(p, path)]
    if exact:
        return exact[0]
    n = len(path)
    if any(len(p.split(".")) > n and _fits(".".join(p.split(".")[:n]), path) for p in fields):
        return Known("object")
    return None


# ---- the model check


def fixed_errors(
    sec: ast.ManifestSection, sym: Symbols, mapped: set[str]
) -> list[Diagnostic]:  # fmt: skip
    out: list[Diagnostic] = []
    seen: dict[str, ast.Span] = {}
    for fx in sec.fixed:
        path = ".".join(fx.path)
        if path in seen:
            out.append(Diagnostic(
                "KC0202", f"`{path}` is described twice", fx.path_span,
                notes=(f"first at line {seen[path].line}",)))  # fmt: skip
        seen.setdefault(path, fx.path_span)
        if path in mapped:
            out.append(Diagnostic(
                "KC0202", f"`{path}` is both mapped and described", fx.path_span,
                help="a mapped field takes the manifest's value: drop the description"))  # fmt: skip
        out += _check(sec.kind, fx.path, fx.path_span, fx.value, sym)
    return out


def _unknown(kind: str, path: tuple[str, ...], span: ast.Span) -> Diagnostic:
    shown = ".".join(path)
    known = list(table(kind))
    return Diagnostic(
        "KC0602", f"kcheck knows no field `{shown}` of {a_kind(kind)} to describe", span,
        help=suggest(shown, known) or f"the fields of {a_kind(kind)} it knows: " + ", ".join(known),
    )  # fmt: skip


_WANT = {
    "int": "an integer (`3`, `REPLICAS - 1`, `>= REPLICAS`)",
    "percent": 'an integer or a percentage (`1`, `"25%"`)',
    "bool": "`true` or `false`",
    "string": 'a string (`"Allow"`) or an object\'s name (`Service { ... }`)',
    "list": "a list (`[...]`)",
    "map": "a map of names (`{ *: ..., *: ... }`)",
    "object": "an object (`{ field: ... }`)",
}


def _check(
    kind: str, path: tuple[str, ...], span: ast.Span, p: ast.Pattern, sym: Symbols
) -> list[Diagnostic]:
    known = lookup(kind, path)
    if known is None:
        return [_unknown(kind, path, span)]
    shown = ".".join(path)

    def wrong(what: str) -> list[Diagnostic]:
        return [Diagnostic(
            "KC0301", f"`{shown}` of {a_kind(kind)} is {_WANT[known.sort].split(' (')[0]}; {what}",
            p.span, help=f"describe it as {_WANT[known.sort]}")]  # fmt: skip

    match p:
        case ast.PatAny(alts=alts):
            return [d for a in alts for d in _check(kind, path, span, a, sym)]
        case ast.PatNone():
            if known.default is not None:
                return [Diagnostic(
                    "KC0301", f"`{shown}` of {a_kind(kind)} is never unset: Kubernetes defaults it to "
                    f"{_shown(known.default)}", p.span,
                    help=f"write the value the model describes (`{shown}: "
                    f"{_shown(known.default)}` is the default)")]  # fmt: skip
            return []
        case ast.PatBool():
            return [] if known.sort == "bool" else wrong("not a bool")
        case ast.PatString():
            return [] if known.sort in ("string", "percent") else wrong("not a string")
        case ast.PatInt(expr=e) | ast.PatCmp(expr=e):
            if known.sort not in ("int", "percent"):
                return wrong("not an integer")
            return _names(e, sym)
        case ast.PatList(items=items):
            if known.sort != "list":
                return wrong("not a list")
            return [d for x in items for d in _check(kind, (*path, "*"), span, x, sym)]
        case ast.PatObject(entries=es):
            stars = [x.star for x in es]
            if known.sort == "map" and len(es) > MAX_STARS and all(stars):
                return wrong(f"{len(es)} entries `*`: kcheck pairs at most {MAX_STARS}")
            if known.sort == "map" and all(stars):
                return [d for x in es for d in _check(kind, (*path, "*"), x.key_span, x.value, sym)]
            if known.sort == "map" and not any(stars):
                # named keys of a map (a selector's `app`): each a field of its own
                return [
                    d for x in es for d in _check(kind, (*path, *x.key), x.key_span, x.value, sym)
                ]
            if known.sort != "object" or any(stars):
                what = "entries `*` and named ones mixed" if any(stars) and not all(stars) else (
                    "not an object" if not any(stars) else "not a map of names")  # fmt: skip
                return wrong(what)
            return [d for x in es for d in _check(kind, (*path, *x.key), x.key_span, x.value, sym)]
        case ast.PatRef(kind=ref, entries=es):
            if known.sort != "string":
                return wrong("not a name")
            if ref not in KINDS:
                return [Diagnostic(
                    "KC0601", f"kcheck reads no Kubernetes kind `{ref}` from manifests",
                    p.span, help=suggest(ref, KINDS) or "known kinds: " + ", ".join(KINDS))]  # fmt: skip
            return [d for x in es for d in _check(ref, x.key, x.key_span, x.value, sym)]
    raise TypeError(p)


def _names(e: ast.Expr, sym: Symbols) -> list[Diagnostic]:
    """An integer of a description names consts and int params only."""
    match e:
        case ast.Name(id=n):
            param = sym.params.get(n)
            if n in sym.consts or (param is not None and isinstance(param.type, TInt)):
                return []
            return [Diagnostic(
                "KC0201", f"`{n}` is not an integer const or param of the model", e.span,
                help=suggest(n, [*sym.consts, *sym.params]))]  # fmt: skip
        case ast.Binary(left=a, right=b):
            return _names(a, sym) + _names(b, sym)
    return []


def _shown(v: int | bool | str) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return f'"{v}"' if isinstance(v, str) else str(v)


def a_kind(kind: str) -> str:
    return f"an {kind}" if kind[0] in "AEIOU" else f"a {kind}"
