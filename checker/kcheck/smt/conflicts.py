"""`unchanged(x)` over Z3 terms (spec/faults.md "Conflicts", spec/smt.md): the resourceVersion
precondition of an update made from a cached copy. As in the compiled model, no version number
is kept: per (controller, kind) that asks, one hidden set var `X.K@changed` holds the objects
changed since X's cache copied them. Each function here is the Z3 image of one in
model/controller_codegen.py or model/expr.py, slot for slot, so the Z3 engines and the explicit
one step through the same states (tests/smt/agree.py holds them to it)."""

from __future__ import annotations

from typing import Protocol

import z3  # type: ignore[import-untyped]

from kcheck.lang import ast
from kcheck.model.controller_state import changed_var
from kcheck.model.ir import KindLayout, Layout, VarLayout
from kcheck.smt.sets import Bits
from kcheck.smt.terms import FALSE, Env, Term, _and, _or

State = tuple[Term, ...]


class ExprEncoder(Protocol):
    """What this module reads of smt/expr.py's encoder (which calls in here)."""

    layout: Layout
    var_index: dict[str, VarLayout]
    sets: Bits
    stale: dict[str, tuple[str, ...]]
    view: dict[str, str]
    step_start: State

    def _ref(
        self, o: ast.Expr, env: Env, st: State, target: bool = False
    ) -> tuple[Term, Term, KindLayout]: ...


def changed_index(enc: ExprEncoder, x: str, kname: str) -> int | None:
    """The state index of x's set of K objects changed since its cache copied them, if the
    model calls `unchanged` in x (controller_state.conflict_watches)."""
    v = enc.var_index.get(changed_var(x, kname))
    return None if v is None else v.index


def _same(enc: ExprEncoder, kname: str, slot: int, before: State, after: State) -> Term:
    """The object in `slot` (presence and model fields) is the same in both states."""
    k = enc.layout.kind(kname)
    n = sum(1 for f in k.fields if not f.hidden)
    b = k.slot_base(slot)
    return _and(*[before[j] == after[j] for j in range(b, b + n + 1) if not before[j].eq(after[j])])


def _changed(enc: ExprEncoder, kname: str, slot: int, before: State, after: State) -> Term:
    """The object in `slot` lives in `after` and differs from `before` (a new version)."""
    same = _same(enc, kname, slot, before, after)
    if z3.is_true(same):
        return FALSE
    return _and(after[enc.layout.kind(kname).slot_base(slot)] == 1, z3.Not(same))


def unchanged(enc: ExprEncoder, obj: ast.Expr, env: Env, st: State) -> tuple[Term, Term]:
    """`unchanged(obj)` in a step of controller X that began in `enc.step_start`: X caches the
    object, the apiserver still has it, no step changed it since X's copy (the set, as at the
    step's start) and this step has not either (model/expr.py unchanged). Reading `obj` fails
    as any read through X's cache does (`uncached`)."""
    slot, err, k = enc._ref(obj, env, st)
    x = enc.view[k.name]
    i = changed_index(enc, x, k.name)
    assert i is not None  # the layout has the set wherever `unchanged` is called
    start = enc.step_start
    since = enc.sets.bits(start[i], k.slots)
    cached = k.field(f"@{x}").offset
    ways = [
        _and(
            slot == s,
            st[k.slot_base(s) + cached] == 1,
            st[k.slot_base(s)] == 1,
            z3.Not(since[s]),
            _same(enc, k.name, s, start, st),
        )
        for s in range(k.slots)
    ]
    return _or(ways), err


def note_changes(enc: ExprEncoder, start: State, state: State) -> State:
    """The end of any step (of any actor): each live object it changed has a new
    resourceVersion, which no cache asked about has seen yet; a step that leaves an object as
    it was makes no new version (controller_codegen.note_changes)."""
    new = list(state)
    for x, kinds in enc.stale.items():
        for kname in kinds:
            i = changed_index(enc, x, kname)
            if i is None:
                continue
            k = enc.layout.kind(kname)
            written = [_changed(enc, kname, s, start, state) for s in range(k.slots)]
            if all(z3.is_false(w) for w in written):  # a step that writes no K keeps its term
                continue
            bits = enc.sets.bits(state[i], k.slots)
            new[i] = enc.sets.mask([_or([b, w]) for b, w in zip(bits, written, strict=True)])
    return tuple(new)


def forget(enc: ExprEncoder, x: str, kname: str, st: State) -> State:
    """x's cache of K holds every object's current version (a sync, or a relist): its set
    is empty."""
    i = changed_index(enc, x, kname)
    if i is None:
        return st
    return (
        *st[:i],
        enc.sets.mask([z3.BoolVal(False)] * enc.layout.kind(kname).slots),
        *st[i + 1 :],
    )
