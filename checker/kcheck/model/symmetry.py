"""Symmetry reduction: the objects of an unordered kind are interchangeable, so the explorer may
keep one representative per class of states that differ only by a permutation of slots.

Soundness rests on one rule: the representative is always a permutation of the state it stands
for (slots of each symmetric kind reordered, every reference and set bit renumbered with them).
Then exploring representatives reaches a permutation of every reachable state, and since
invariants cannot tell permuted states apart, verdicts are unchanged. A choice of representative
that is not fully canonical only costs extra states; it never merges states that are not
permutations of each other.

The transition relation must itself be symmetric. The one construct that can break that is a
`for` loop whose outcome depends on the order it visits objects; `order_dependent_kinds` finds
such loops conservatively and their kinds are left out of symmetry reduction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from kcheck.lang import ast
from kcheck.lang.symbols import Symbols
from kcheck.lang.types import TRef, TSet
from kcheck.model.ir import KindLayout, Layout, State

# ---- which kinds must stay ordered


def _stmts(block: tuple[ast.Stmt, ...]) -> Iterator[ast.Stmt]:
    for s in block:
        yield s
        match s:
            case ast.Choose(body=b) | ast.For(body=b):
                yield from _stmts(b.stmts)
            case ast.If(then=t, else_=e):
                yield from _stmts(t.stmts)
                while isinstance(e, ast.If):
                    yield e
                    yield from _stmts(e.then.stmts)
                    e = e.else_
                if isinstance(e, ast.Block):
                    yield from _stmts(e.stmts)


def _exprs(node: Any) -> Iterator[Any]:
    """Every expression node below `node` (statements and expressions alike)."""
    if isinstance(node, tuple):
        for item in node:
            yield from _exprs(item)
        return
    if not hasattr(node, "__dataclass_fields__"):
        return
    yield node
    for name in node.__dataclass_fields__:
        if name.endswith("span") or name == "part_spans":
            continue
        yield from _exprs(getattr(node, name))


def _loop_is_order_safe(loop: ast.For) -> bool:
    """Safe when every iteration writes only fields of its own object and reads those fields
    of no other object: then the iterations commute."""
    own = {b.name for b in loop.binders}
    written: set[str] = set()
    for s in _stmts(loop.body.stmts):
        match s:
            case ast.Assign(target=t):
                if len(t.parts) != 2 or t.parts[0] not in own:
                    return False
                written.add(t.parts[1])
            case ast.Let() | ast.If():
                pass
            case _:
                return False
    for node in _exprs(loop.body):
        if isinstance(node, ast.Field) and node.name in written:
            if not (isinstance(node.obj, ast.Name) and node.obj.id in own):
                return False
    return True


def _loop_kinds(loop: ast.For, sym: Symbols) -> list[str]:
    kinds = []
    for b in loop.binders:
        d = b.domain
        if isinstance(d, ast.ExprDomain) and isinstance(d.expr, ast.Name):
            if d.expr.id in sym.kinds:
                kinds.append(d.expr.id)
                continue
        if isinstance(d, ast.ExprDomain):
            # a set of objects iterates in slot order too: be conservative
            kinds.extend(sym.kinds)
    return kinds


def order_dependent_kinds(sym: Symbols) -> tuple[dict[str, int], list[str]]:
    """Kinds that an order-dependent `for` loop iterates, with the loop's line."""
    out: dict[str, int] = {}
    for actor in sym.actors:
        for action in actor.actions:
            for s in _stmts(action.body.stmts):
                if isinstance(s, ast.For) and not _loop_is_order_safe(s):
                    for k in _loop_kinds(s, sym):
                        out.setdefault(k, s.span.line)
    notes = [
        f"symmetry off for {k}: the `for` loop at line {line} may depend on the order it "
        f"visits {k} objects"
        for k, line in sorted(out.items())
        if not sym.kinds[k].ordered
    ]
    return out, notes


# ---- canonical representatives


def _ref_sites(layout: Layout, kind: str) -> tuple[list[int], list[int], list[tuple[KindLayout, int, bool]]]:
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
    lines = ["def canon(s):"]
    pieces: list[str] = []
    pos = 0
    for k in layout.kinds:
        if not k.symmetric or k.slots < 2:
            continue
        blocks = ", ".join(
            f"s[{k.slot_base(i)}:{k.slot_base(i) + k.stride}]" for i in range(k.slots)
        )
        lines.append(f"    b_{k.name} = sorted(({blocks},), reverse=True)")
        if k.base > pos:
            pieces.append(f"s[{pos}:{k.base}]")
        pieces.extend(f"b_{k.name}[{i}]" for i in range(k.slots))
        pos = k.base + k.slots * k.stride
    if pos < layout.width:
        pieces.append(f"s[{pos}:]")
    lines.append("    return " + (" + ".join(pieces) if pieces else "s"))
    ns: dict[str, Any] = {}
    exec("\n".join(lines), ns)  # noqa: S102
    fn: Callable[[State], State] = ns["canon"]
    return fn


def _kind_order(layout: Layout) -> list[KindLayout]:
    """Symmetric kinds, referenced ones before the kinds that refer to them (so a referrer is
    sorted with its references already renumbered)."""
    sym = [k for k in layout.kinds if k.symmetric and k.slots >= 2]
    referrers: dict[str, set[str]] = {k.name: set() for k in sym}
    for k in sym:
        _, _, fields = _ref_sites(layout, k.name)
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


def make_canonicalizer(layout: Layout) -> Callable[[State], State]:
    sym = [k for k in layout.kinds if k.symmetric and k.slots >= 2]
    sites = {k.name: _ref_sites(layout, k.name) for k in sym}
    referenced = any(any(site) for site in sites.values())
    if not referenced:
        return _sort_only(layout)
    order = _kind_order(layout)
    # Masks per kind: offsets of fields holding refs/sets of symmetric kinds not yet processed.
    sym_names = [k.name for k in order]
    masked_offsets: dict[tuple[str, str], list[int]] = {}
    for k in layout.kinds:
        for step, current in enumerate(sym_names):
            pending = set(sym_names[step:])
            offs = [
                f.offset
                for f in k.fields
                if (isinstance(f.type, TRef) and f.type.kind in pending)
                or (isinstance(f.type, TSet) and f.type.elem in pending)
            ]
            masked_offsets[(k.name, current)] = offs

    def block_key(st: list[int], k: KindLayout, slot: int, current: str) -> tuple[int, ...]:
        b = k.base + slot * k.stride
        blk = st[b : b + k.stride]
        for off in masked_offsets[(k.name, current)]:
            blk[off] = 0
        return tuple(blk)

    def canon(s: State) -> State:
        st = list(s)
        for k in order:
            var_refs, var_sets, fields = sites[k.name]
            n = k.slots
            incoming: list[list[tuple[Any, ...]]] = [[] for _ in range(n)]
            for vi in var_refs:
                if st[vi] >= 0:
                    incoming[st[vi]].append(("var", vi))
            for vi in var_sets:
                for j in range(n):
                    if st[vi] >> j & 1:
                        incoming[j].append(("set", vi))
            for j_kind, off, is_set in fields:
                for slot in range(j_kind.slots):
                    jb = j_kind.base + slot * j_kind.stride
                    if not st[jb]:
                        continue
                    v = st[jb + off]
                    tag = (j_kind.name, off, block_key(st, j_kind, slot, k.name))
                    if is_set:
                        for j in range(n):
                            if v >> j & 1:
                                incoming[j].append(tag)
                    elif v >= 0:
                        incoming[v].append(tag)
            keys = [
                (block_key(st, k, j, k.name), sorted(incoming[j])) for j in range(n)
            ]
            perm = sorted(range(n), key=keys.__getitem__, reverse=True)
            if perm == list(range(n)):
                continue
            new_of_old = [0] * n
            for new, old in enumerate(perm):
                new_of_old[old] = new
            blocks = [st[k.base + old * k.stride : k.base + (old + 1) * k.stride] for old in perm]
            for new, blk in enumerate(blocks):
                st[k.base + new * k.stride : k.base + (new + 1) * k.stride] = blk
            for vi in var_refs:
                if st[vi] >= 0:
                    st[vi] = new_of_old[st[vi]]
            for vi in var_sets:
                st[vi] = _remap_bits(st[vi], new_of_old)
            for j_kind, off, is_set in fields:
                for slot in range(j_kind.slots):
                    jb = j_kind.base + slot * j_kind.stride
                    if not st[jb]:
                        continue
                    if is_set:
                        st[jb + off] = _remap_bits(st[jb + off], new_of_old)
                    elif st[jb + off] >= 0:
                        st[jb + off] = new_of_old[st[jb + off]]
        # kinds that are symmetric but were not in `order` (fewer than 2 slots) need nothing
        return tuple(st)

    return canon


def _remap_bits(mask: int, new_of_old: list[int]) -> int:
    out = 0
    for old, new in enumerate(new_of_old):
        if mask >> old & 1:
            out |= 1 << new
    return out
