"""What every state the compiled model can build looks like: values within their declared types,
free slots all zeros, spent budgets within the budget, and references naming live objects (or
`none` where allowed). Induction does not take this on trust: induction.py proves it like a
lemma before assuming it, so a model whose semantics break it only loses the assumption."""

from __future__ import annotations

from collections.abc import Callable

import z3  # type: ignore[import-untyped]

from kcheck.lang.types import TBool, TEnum, TInt, TRef, TSet, Type
from kcheck.model.ir import Layout
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
            present = st[base] == 1
            free = z3.And(*[st[base + f.offset] == 0 for f in k.fields] or [True])
            fields = [_value_ok(layout, f.type, st[base + f.offset], st, bits) for f in k.fields]
            parts.append(z3.Or(z3.And(present, *fields), z3.And(st[base] == 0, free)))
    return _and(*parts)
