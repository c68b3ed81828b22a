"""What every state the compiled model can build looks like: values within their declared types,
free slots all zeros, spent budgets within the budget, and references naming live objects (or
`none` where allowed). Induction does not take this on trust: induction.py proves it like a
lemma before assuming it, so a model whose semantics break it only loses the assumption."""

from __future__ import annotations

from collections.abc import Callable

import z3  # type: ignore[import-untyped]

from kcheck.lang.types import TBool, TEnum, TInt, TRef, TSet, Type
from kcheck.model.ir import FieldLayout, Layout
from kcheck.smt.terms import Term, _and


def _live(layout: Layout, kind: str, v: Term, st: tuple[Term, ...]) -> Term:
    k = layout.kind(kind)
    return z3.Or(*[z3.And(v == i, st[k.slot_base(i)] == 1) for i in range(k.slots)] or [False])


def _value_ok(
    layout: Layout, ty: Type, v: Term, st: tuple[Term, ...], bits: Callable[[Term, int], list[Term]]
) -> Term:
    match ty:
        case TBool():
            return z3.And(v >= 0, v <= 1)
        case TInt(lo=lo, hi=hi) if lo is not None and hi is not None:
            return z3.And(v >= lo, v <= hi)
        case TEnum(name=e):
            return z3.And(v >= 0, v < len(layout.enums[e]))
        case TRef(kind=kind, optional=opt):
            live = _live(layout, kind, v, st)
            return z3.Or(v == -1, live) if opt else live
        case TSet(elem=e) if e in layout.enums:
            return z3.And(v >= 0, v < (1 << len(layout.enums[e])))
        case TSet(elem=e):
            k = layout.kind(e)
            # a set of objects holds live ones only (delete takes the object out of every set)
            members = bits(v, k.slots)
            alive = [z3.Implies(b, st[k.slot_base(i)] == 1) for i, b in enumerate(members)]
            return z3.And(v >= 0, v < (1 << k.slots), *alive)
    return z3.BoolVal(True)


def well_formed(
    layout: Layout, st: tuple[Term, ...], bits: Callable[[Term, int], list[Term]]
) -> Term:
    """`bits` gives a set's members (Encoder.sets.bits)."""
    parts: list[Term] = []
    for var in layout.vars:
        parts.append(_value_ok(layout, var.type, st[var.index], st, bits))
    for b in layout.budgets:
        parts.append(z3.And(st[b.index] >= 0, st[b.index] <= b.budget))
    for k in layout.kinds:
        for i in range(k.slots):
            base = k.slot_base(i)
            # the object's own fields under its presence flag (offset 0); a controller's cache
            # copy under its own flag: it outlives the object until the watch delivers the
            # delete, and may name objects deleted since, so its values are only in range
            groups: dict[int, list[FieldLayout]] = {0: []}  # a kind with no field has a flag
            for f in k.fields:
                if f.offset != f.presence:
                    groups.setdefault(f.presence, []).append(f)
            # a coalesced watch's "own write not delivered" flag (a self-guarded bool): set
            # only for an object the apiserver or that cache still holds
            for f in k.fields:
                if f.offset == f.presence and f.name.startswith("+own@"):
                    on = st[base + f.offset]
                    cached = st[base + k.field("@" + f.name.partition("@")[2]).offset]
                    held = z3.Or(st[base] == 1, cached == 1)
                    parts.append(z3.Or(on == 0, z3.And(on == 1, held)))
            for flag, fs in sorted(groups.items()):
                own = flag == 0
                present = st[base + flag] == 1
                free = z3.And(*[st[base + f.offset] == 0 for f in fs] or [True])
                ok = [
                    _value_ok(layout, f.type, st[base + f.offset], st, bits)
                    if own
                    else _in_range(layout, f.type, st[base + f.offset])
                    for f in fs
                ]
                parts.append(z3.Or(z3.And(present, *ok), z3.And(st[base + flag] == 0, free)))
    return _and(*parts)


def _in_range(layout: Layout, ty: Type, v: Term) -> Term:
    """A cached copy's value: within its type, a reference any slot of its kind or `none`."""
    match ty:
        case TRef(kind=kind):
            return z3.And(v >= -1, v < layout.kind(kind).slots)
        case TSet(elem=e) if e not in layout.enums:
            return z3.And(v >= 0, v < (1 << layout.kind(e).slots))
    return _value_ok(layout, ty, v, (), lambda t, n: [])
