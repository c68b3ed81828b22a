"""Symmetry reduction: the objects of an unordered kind are interchangeable, so the explorer may
keep one representative per class of states that differ only by a permutation of slots.

Soundness rests on one rule: the representative is always a permutation of the state it stands
for (slots of each symmetric kind reordered, every reference and set bit renumbered with them).
Then exploring representatives reaches a permutation of every reachable state, and since
invariants cannot tell permuted states apart, verdicts are unchanged. A choice of representative
that is not fully canonical only costs extra states; it never merges states that are not
permutations of each other.

The transition relation must itself be symmetric. The one construct that can break that is a
`for` loop whose outcome depends on the order it visits objects; `order_dependent_kinds`
(model/symmetry_order.py) finds such loops conservatively and their kinds are left out of
symmetry reduction. This module reads no syntax: a distributed search's worker imports it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from kcheck.lang.types import TBool, TEnum, TInt, TRef, TSet
from kcheck.model.ir import KindLayout, Layout, State

# ---- canonical representatives


def ref_sites(
    layout: Layout, kind: str
) -> tuple[list[int], list[int], list[tuple[KindLayout, int, bool]]]:
    """Where references to `kind` live: var indexes holding a ref, var indexes holding a set,
    and (referring kind, field offset, is_set) for fields."""
    var_refs = [v.index for v in layout.vars if isinstance(v.type, TRef) and v.type.kind == kind]
    var_sets = [v.index for v in layout.vars if isinstance(v.type, TSet) and v.type.elem == kind]
    fields: list[tuple[KindLayout, int, bool]] = []
    for j in layout.kinds:
        for f in j.fields:
            if isinstance(f.type, TRef) and f.type.kind == kind:
                fields.append((j, f.offset, False))
            elif isinstance(f.type, TSet) and f.type.elem == kind:
                fields.append((j, f.offset, True))
    return var_refs, var_sets, fields


def _sort_only(layout: Layout) -> Callable[[State], State]:
    """The common case, no symmetric kind is referenced: sort each kind's blocks, generated as
    straight-line code so the explorer pays one `sorted` per kind per state."""
    sorted_kinds = [k for k in layout.kinds if k.symmetric and k.slots >= 2]
    lines = ["def canon(s):", *_sort_tail(layout, sorted_kinds)]
    ns: dict[str, Any] = {"_chain": itertools.chain.from_iterable}
    exec("\n".join(lines), ns)
    fn: Callable[[State], State] = ns["canon"]
    return fn


def _sort_tail(layout: Layout, kinds: list[KindLayout]) -> list[str]:
    """Lines that sort each of `kinds`' blocks (descending) and return the rebuilt state."""
    lines: list[str] = []
    pieces: list[str] = []
    pos = 0
    for k in kinds:
        blocks = ", ".join(
            f"s[{k.slot_base(i)}:{k.slot_base(i) + k.stride}]" for i in range(k.slots)
        )
        lines.append(f"    b_{k.name} = sorted(({blocks},), reverse=True)")
        if k.base > pos:
            pieces.append(f"s[{pos}:{k.base}]")
        pieces.append(f"tuple(_chain(b_{k.name}))")
        pos = k.base + k.slots * k.stride
    if pos < layout.width:
        pieces.append(f"s[{pos}:]")
    lines.append("    return " + (" + ".join(pieces) if pieces else "s"))
    return lines


def _kind_order(layout: Layout) -> list[KindLayout]:
    """Symmetric kinds, referenced ones before the kinds that refer to them (so a referrer is
    sorted with its references already renumbered)."""
    sym = [k for k in layout.kinds if k.symmetric and k.slots >= 2]
    referrers: dict[str, set[str]] = {k.name: set() for k in sym}
    for k in sym:
        _, _, fields = ref_sites(layout, k.name)
        referrers[k.name] = {j.name for j, _, _ in fields if j.name != k.name}
    done: list[KindLayout] = []
    remaining = list(sym)
    while remaining:
        # pick a kind none of whose referenced kinds is still waiting
        for k in remaining:
            waits = [
                o for o in remaining if o is not k and k.name in referrers[o.name]
            ]  # o is referenced by k
            if not waits:
                done.append(k)
                remaining.remove(k)
                break
        else:  # a cycle: any order is sound
            done.append(remaining.pop(0))
    return done


def make_canonicalizer(layout: Layout, native: bool = True) -> Callable[[State], State]:
    """The representative function for `layout`: native code when it can be built (see
    kcheck/model/native.py), else generated Python; both give identical results."""
    if native:
        from kcheck.model.native import native_canonicalizer

        plan = native_plan(layout)
        fn = native_canonicalizer(plan) if plan is not None else None
        if fn is not None:
            return fn
    return python_canonicalizer(layout)


def python_canonicalizer(layout: Layout) -> Callable[[State], State]:
    sym = [k for k in layout.kinds if k.symmetric and k.slots >= 2]
    sites = {k.name: ref_sites(layout, k.name) for k in sym}
    if not any(any(site) for site in sites.values()):
        return _sort_only(layout)
    return _generated_permuter(layout, sites)


def native_plan(layout: Layout) -> list[int] | None:
    """The flat plan that canon.c follows, the same steps as `python_canonicalizer`; None when
    the layout needs a signature the native code does not have (sets of symmetric objects)."""
    order = _kind_order(layout)
    names = [k.name for k in order]
    sites = {k.name: ref_sites(layout, k.name) for k in order}
    steps: list[list[int]] = []
    for step, k in enumerate(order):
        pending = set(names[step:])
        var_refs, var_sets, fields = sites[k.name]
        if not (var_refs or var_sets or fields):
            continue
        counted = _counting_signature(layout, k, pending, var_refs, var_sets, fields)
        if counted is None:
            return None
        csites, cvars, _ = counted
        keyoffs = [0, *_kept_offsets(k, pending)]
        field_shapes = max((shape0 + _count(parts) for *_, parts, shape0 in csites), default=0)
        body = [1, k.base, k.slots, k.stride, len(keyoffs), *keyoffs]
        body += [field_shapes + len(cvars), len(csites)]
        for j, off, _, parts, shape0 in csites:
            flag = next(f.presence for f in j.fields if f.offset == off)
            body += [j.base, j.slots, j.stride, off, flag, shape0, len(parts)]
            for o, lo, size in parts:
                body += [o, lo, size]
        body.append(len(cvars))
        for i, vi in enumerate(cvars):
            body += [vi, field_shapes + i]
        steps.append(body)
    for k in layout.kinds:
        if k.name in names and not any(sites[k.name]):
            steps.append([0, k.base, k.slots, k.stride])
    plan = [layout.width, len(steps)]
    for body in steps:
        plan += body
    return plan


def _generated_permuter(
    layout: Layout,
    sites: dict[str, tuple[list[int], list[int], list[tuple[KindLayout, int, bool]]]],
) -> Callable[[State], State]:
    """Kinds that others refer to are permuted explicitly: each slot's key is its own block plus
    the sorted blocks of the objects that refer to it, so `node 0 with two pods` and `node 1
    with two pods` meet. The slots are reordered by key, then every reference and set bit is
    renumbered. Kinds nobody refers to are simply sorted at the end. Straight-line generated
    code over the tuple, which is copied only when a permutation is needed: this runs once per
    new successor."""
    order = _kind_order(layout)
    names = [k.name for k in order]
    lines = ["def canon(s):"]
    tables: list[tuple[int, ...]] = []

    kept = _kept_offsets

    def key_expr(k: KindLayout, slot: int, pending: set[str]) -> str:
        b = k.slot_base(slot)
        offs = [0, *kept(k, pending)]
        if offs == list(range(k.stride)):
            return f"s[{b}:{b + k.stride}]"
        return "(" + "".join(f"s[{b + o}], " for o in offs) + ")"

    for step, k in enumerate(order):
        pending = set(names[step:])
        var_refs, var_sets, fields = sites[k.name]
        n = k.slots
        if not (var_refs or var_sets or fields):
            continue  # sorted at the end
        lines.append(f"    # {k.name}: referenced, so permuted with its references")
        # When the objects' own blocks are already strictly descending, the incoming references
        # cannot change the order (they only break ties): skip straight past.
        own = " > ".join(key_expr(k, j, pending) for j in range(n))
        lines.append(f"    if not ({own}):")
        body_start = len(lines)
        counted = _counting_signature(layout, k, pending, var_refs, var_sets, fields)
        if counted is not None:
            # Exact multiset of referrers as one int: a count per referrer shape, each shape at
            # its own bit offset. Equal multisets give equal ints, so no reduction is lost.
            lines.extend(_emit_counting(counted, n, tables))
            keys = ", ".join(f"({key_expr(k, j, pending)}, inc[{j}], {j})" for j in range(n))
        else:
            lines.extend(_emit_listing(k, pending, var_refs, var_sets, fields, kept))
            keys = ", ".join(
                f"({key_expr(k, j, pending)}, sorted(inc[{j}]), {j})" for j in range(n)
            )
        lines.append(f"    perm = [t[2] for t in sorted(({keys},), reverse=True)]")
        lines.append(f"    if perm != {list(range(n))!r}:")
        lines.append("        st = list(s)")
        lines.append(f"        new = [0] * {n}")
        lines.append("        for i, old in enumerate(perm): new[old] = i")
        lines.append(
            f"        st[{k.base}:{k.base + n * k.stride}] = [x for old in perm "
            f"for x in s[{k.base} + old * {k.stride}:{k.base} + (old + 1) * {k.stride}]]"
        )
        for vi in var_refs:
            lines.append(f"        if st[{vi}] >= 0: st[{vi}] = new[st[{vi}]]")
        for vi in var_sets:
            lines.append(f"        st[{vi}] = _remap_bits(st[{vi}], new)")
        for j_kind, off, is_set in fields:
            flag = next(f.presence for f in j_kind.fields if f.offset == off)
            for slot in range(j_kind.slots):
                jb = j_kind.slot_base(slot)
                if is_set:
                    lines.append(
                        f"        if st[{jb + flag}]: "
                        f"st[{jb + off}] = _remap_bits(st[{jb + off}], new)"
                    )
                else:
                    lines.append(
                        f"        if st[{jb + flag}] and st[{jb + off}] >= 0: "
                        f"st[{jb + off}] = new[st[{jb + off}]]"
                    )
        lines.append("        s = tuple(st)")
        lines[body_start:] = ["    " + line for line in lines[body_start:]]
    # kinds nobody refers to: sort their blocks (their own references are final by now)
    unreferenced = [
        k for k in layout.kinds if k.name in names and not any(sites.get(k.name, ([], [], [])))
    ]
    lines.extend(_sort_tail(layout, unreferenced))
    ns: dict[str, Any] = {"_remap_bits": _remap_bits, "_chain": itertools.chain.from_iterable}
    ns.update({f"_W{i}": t for i, t in enumerate(tables)})
    exec("\n".join(lines), ns)
    fn: Callable[[State], State] = ns["canon"]
    return fn


def _kept_offsets(j: KindLayout, pending: set[str]) -> list[int]:
    """Field offsets of `j` that do not point into kinds still to be permuted."""
    return [
        f.offset
        for f in j.fields
        if not (
            (isinstance(f.type, TRef) and f.type.kind in pending)
            or (isinstance(f.type, TSet) and f.type.elem in pending)
        )
    ]


def _domain(layout: Layout, ty: Any) -> tuple[int, int] | None:
    """(lowest value, number of values) of a stored field, or None when too large."""
    if isinstance(ty, TRef):
        return -1, layout.kind(ty.kind).slots + 1
    if isinstance(ty, TInt) and ty.lo is not None and ty.hi is not None:
        size = ty.hi - ty.lo + 1
        return (ty.lo, size) if size <= 256 else None
    if isinstance(ty, TEnum):
        return 0, len(layout.enums[ty.name])
    if isinstance(ty, TBool):
        return 0, 2
    return None


_Counting = tuple[
    list[tuple[KindLayout, int, bool, list[tuple[int, int, int]], int]], list[int], int
]
MAX_SIGNATURE_BITS = 1024


def _counting_signature(
    layout: Layout,
    k: KindLayout,
    pending: set[str],
    var_refs: list[int],
    var_sets: list[int],
    fields: list[tuple[KindLayout, int, bool]],
) -> _Counting | None:
    """Plan an integer multiset signature: per site, the kept fields' (offset, lo, size) and the
    site's first shape number; None when a site is a set or the shapes are too many."""
    if var_sets or any(is_set for _, _, is_set in fields):
        return None
    sites = []
    shape = 0
    most = max([1, *(j.slots for j, _, _ in fields)])
    for j, off, is_set in fields:
        parts = []
        count = 1
        for o in _kept_offsets(j, pending):
            f = next(x for x in j.fields if x.offset == o)
            dom = _domain(layout, f.type)
            if dom is None:
                return None
            parts.append((o, dom[0], dom[1]))
            count *= dom[1]
        sites.append((j, off, is_set, parts, shape))
        shape += count
    bits = most.bit_length()
    if bits * (shape + len(var_refs)) > MAX_SIGNATURE_BITS:
        return None
    return sites, var_refs, bits


def _emit_counting(plan: _Counting, n: int, tables: list[tuple[int, ...]]) -> list[str]:
    sites, var_refs, bits = plan
    out = [f"    inc = [0] * {n}"]
    for j, off, _, parts, shape0 in sites:
        ref_field = next(f for f in j.fields if f.offset == off)
        optional = isinstance(ref_field.type, TRef) and ref_field.type.optional
        tables.append(tuple(1 << (bits * (shape0 + t)) for t in range(_count(parts))))
        table = f"_W{len(tables) - 1}"
        for slot in range(j.slots):
            jb = j.slot_base(slot)
            index = "0"
            for o, lo, size in parts:
                value = f"s[{jb + o}]" if lo == 0 else f"(s[{jb + o}] - {lo})"
                index = value if index == "0" else f"({index}) * {size} + {value}"
            flag = jb + ref_field.presence
            test = f"s[{flag}] and s[{jb + off}] >= 0" if optional else f"s[{flag}]"
            out.append(f"    if {test}: inc[s[{jb + off}]] += {table}[{index}]")
    base_shape = max((shape0 + _count(parts) for _, _, _, parts, shape0 in sites), default=0)
    for i, vi in enumerate(var_refs):
        weight = 1 << (bits * (base_shape + i))
        out.append(f"    if s[{vi}] >= 0: inc[s[{vi}]] += {weight}")
    return out


def _count(parts: list[tuple[int, int, int]]) -> int:
    c = 1
    for _, _, size in parts:
        c *= size
    return c


def _emit_listing(
    k: KindLayout,
    pending: set[str],
    var_refs: list[int],
    var_sets: list[int],
    fields: list[tuple[KindLayout, int, bool]],
    kept: Callable[[KindLayout, set[str]], list[int]],
) -> list[str]:
    """The general signature: a list of referrer tuples per slot, sorted when compared."""
    n = k.slots
    out = ["    inc = (" + "[], " * n + ")"]
    for vi in var_refs:
        out.append(f"    if s[{vi}] >= 0: inc[s[{vi}]].append((-1, {vi}))")
    for vi in var_sets:
        out.append(f"    for j in range({n}):")
        out.append(f"        if s[{vi}] >> j & 1: inc[j].append((-2, {vi}))")
    for site, (j_kind, off, is_set) in enumerate(fields):
        ref_field = next(f for f in j_kind.fields if f.offset == off)
        optional = isinstance(ref_field.type, TRef) and ref_field.type.optional
        for slot in range(j_kind.slots):
            jb = j_kind.slot_base(slot)
            flag = jb + ref_field.presence
            tag = "(" + "".join(f"s[{jb + o}], " for o in kept(j_kind, pending)) + ")"
            tag = f"({site}, {tag})"
            if is_set:
                out.append(f"    if s[{flag}]:")
                out.append(f"        for j in range({n}):")
                out.append(f"            if s[{jb + off}] >> j & 1: inc[j].append({tag})")
            elif optional:
                out.append(f"    if s[{flag}] and s[{jb + off}] >= 0:")
                out.append(f"        inc[s[{jb + off}]].append({tag})")
            else:
                out.append(f"    if s[{flag}]: inc[s[{jb + off}]].append({tag})")
    return out


def _remap_bits(mask: int, new_of_old: list[int]) -> int:
    out = 0
    for old, new in enumerate(new_of_old):
        if mask >> old & 1:
            out |= 1 << new
    return out


# ---- renamings, for replaying traces


Renaming = dict[str, list[int]]  # kind -> new slot of each old slot


def apply_renaming(layout: Layout, s: State, ren: Renaming) -> State:
    """The state with each renamed kind's objects moved to their new slots and every reference
    to them (fields, vars, set bits) renumbered."""
    st = list(s)
    for k in layout.kinds:
        new = ren.get(k.name)
        if new is None:
            continue
        for old_slot, new_slot in enumerate(new):
            st[k.slot_base(new_slot) : k.slot_base(new_slot) + k.stride] = s[
                k.slot_base(old_slot) : k.slot_base(old_slot) + k.stride
            ]

    def renumber(v: int, ty: Any) -> int:
        if isinstance(ty, TRef) and ty.kind in ren and v >= 0:
            return ren[ty.kind][v]
        if isinstance(ty, TSet) and ty.elem in ren:
            return _remap_bits(v, ren[ty.elem])
        return v

    for var in layout.vars:
        st[var.index] = renumber(st[var.index], var.type)
    for k in layout.kinds:
        for slot in range(k.slots):
            b = k.slot_base(slot)
            for f in k.fields:
                if st[b + f.presence]:
                    st[b + f.offset] = renumber(st[b + f.offset], f.type)
    return tuple(st)


def find_renaming(layout: Layout, a: State, b: State, limit: int = 200_000) -> Renaming | None:
    """A renaming of the symmetric kinds' objects that turns a into b, or None: an exact test
    that two states are the same up to names, by backtracking over slots whose own plain
    fields agree (at most `limit` complete candidates are tried)."""
    sym = [k for k in layout.kinds if k.symmetric and k.slots >= 2]
    plain = {
        k.name: [f.offset for f in k.fields if not isinstance(f.type, TRef | TSet)] for k in sym
    }

    def key(s: State, k: KindLayout, slot: int) -> tuple[int, ...]:
        base = k.slot_base(slot)
        return (s[base], *(s[base + o] for o in plain[k.name]))

    choices: list[tuple[KindLayout, list[list[int]]]] = []
    for k in sym:
        options = []
        for i in range(k.slots):
            ka = key(a, k, i)
            options.append([j for j in range(k.slots) if key(b, k, j) == ka])
            if not options[-1]:
                return None
        choices.append((k, options))
    tried = 0

    def assign(
        kind_index: int, slot: int, used: set[int], current: list[int], ren: Renaming
    ) -> Renaming | None:
        nonlocal tried
        if kind_index == len(choices):
            tried += 1
            if tried > limit:
                raise _GiveUp
            return dict(ren) if apply_renaming(layout, a, ren) == b else None
        k, options = choices[kind_index]
        if slot == k.slots:
            ren[k.name] = list(current)
            found = assign(kind_index + 1, 0, set(), [], ren)
            del ren[k.name]
            return found
        for j in options[slot]:
            if j in used:
                continue
            used.add(j)
            current.append(j)
            found = assign(kind_index, slot + 1, used, current, ren)
            current.pop()
            used.discard(j)
            if found is not None:
                return found
        return None

    try:
        return assign(0, 0, set(), [], {})
    except _GiveUp:
        return None


class _GiveUp(Exception):
    pass
