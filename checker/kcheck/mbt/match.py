"""Matching what an implementation shows against the model's states. The model names objects
by slot, the implementation by names of its own: a `Names` table remembers which name stands in
which slot, and `match` finds the ways (usually one) a model state can be the observation given
the names already known: objects that were there keep their slot, new names take the slots of
new objects with equal fields. Only what `observe()` lists is compared: a kind or a field it
leaves out (a ghost field, a budget) is the model's own and carried along."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kcheck.lang.types import TRef, TSet
from kcheck.model.ir import Layout

MAX_MATCHINGS = 16  # distinct namings of one state kept; look-alike new objects are symmetric


@dataclass(frozen=True)
class Names:
    """Per kind, per slot: the implementation's name of the object in it (kept after the
    object is deleted, so a reference to it still shows the name), or "" when never named."""

    slots: tuple[tuple[str, ...], ...]

    @staticmethod
    def empty(layout: Layout) -> Names:
        return Names(tuple(("",) * k.slots for k in layout.kinds))

    def name(self, layout: Layout, slot_name: str, qualified: bool = False) -> str:
        """`Pod#3` -> the implementation's name of that object (the slot name if unknown);
        `qualified`: as a trace shows it, `Pod#web-1a2b3`."""
        kind, _, slot = slot_name.rpartition("#")
        for i, k in enumerate(layout.kinds):
            if k.name == kind and slot.isdigit() and int(slot) < k.slots:
                name = self.slots[i][int(slot)]
                if not name:
                    return slot_name
                return f"{kind}#{name}" if qualified else name
        return slot_name


def rename(layout: Layout, names: Names, value: Any, qualified: bool = False) -> Any:
    """A decoded state (or argument) with every `Kind#slot` under the implementation's name
    (`qualified`: `Kind#name`, the form kcheck's traces and reports read)."""
    if isinstance(value, str):
        head, sep, tail = value.rpartition("@")
        if sep and "#" in tail:  # a cache's key, `X@Pod#1`
            return f"{head}@{names.name(layout, tail, qualified)}"
        return names.name(layout, value, qualified) if "#" in value else value
    if isinstance(value, list):
        return [rename(layout, names, v, qualified) for v in value]
    if isinstance(value, dict):
        return {
            rename(layout, names, k, qualified): rename(layout, names, v, qualified)
            for k, v in value.items()
        }
    return value


def qualify(layout: Layout, seen: Mapping[str, Any]) -> dict[str, Any]:
    """An observation with its objects named as traces name them (`Pod#web-1a2b3`)."""
    kinds = {k.name: k for k in layout.kinds}
    out: dict[str, Any] = {}
    for key, value in seen.items():
        if key not in kinds:
            out[key] = value
            continue
        types = {f.name: f.type for f in kinds[key].fields}
        out[key] = {
            f"{key}#{n}": {f: _qualify_value(types[f], v, kinds) for f, v in fields.items()}
            for n, fields in value.items()
        }
    return out


def _qualify_value(ty: Any, v: Any, kinds: Mapping[str, Any]) -> Any:
    if isinstance(ty, TRef) and isinstance(v, str):
        return f"{ty.kind}#{v}"
    if isinstance(ty, TSet) and ty.elem in kinds and not isinstance(v, str):
        return [f"{ty.elem}#{x}" if "#" not in str(x) else x for x in v]
    return v


def match(
    layout: Layout, names: Names, live_before: Mapping[str, frozenset[int]],
    decoded: Mapping[str, Any], seen: Mapping[str, Any],
) -> Iterator[Names]:  # fmt: skip
    """The namings under which model state `decoded` (slot names) shows as `seen`.
    `live_before`: per kind, the slots live in the state before the step."""
    kinds = {k.name: (i, k) for i, k in enumerate(layout.kinds)}
    for key, value in seen.items():
        if key not in kinds and _norm(value) != _norm(rename(layout, names, decoded.get(key))):
            return  # a var that differs
    # per observed kind: names that continue (slot known), names that are new, free slots
    fixed: dict[str, dict[str, int]] = {}
    todo: list[tuple[str, str]] = []  # (kind, new name)
    free: dict[str, list[int]] = {}
    for kname, objs in seen.items():
        if kname not in kinds:
            continue
        i, _ = kinds[kname]
        live = {int(s.rpartition("#")[2]) for s in decoded.get(kname, {})}
        by_name = {
            n: slot for slot, n in enumerate(names.slots[i]) if n and slot in live_before[kname]
        }
        cont = {n: s for n, s in by_name.items() if n in objs}
        if any(s not in live for s in cont.values()):
            return  # an object the implementation still has, the model deleted
        if any(n not in objs and s in live for n, s in by_name.items()):
            return  # an object the implementation deleted, the model kept
        fixed[kname] = cont
        new = sorted(n for n in objs if n not in cont)
        free[kname] = sorted(live - set(cont.values()))
        if len(new) != len(free[kname]):
            return  # a different number of objects
        todo.extend((kname, n) for n in new)
    found = 0
    for assignment in _assign(todo, free, {}):
        table = [list(row) for row in names.slots]
        for (kname, n), slot in assignment.items():
            table[kinds[kname][0]][slot] = n
        for kname, cont in fixed.items():
            for n, slot in cont.items():
                table[kinds[kname][0]][slot] = n
        named = Names(tuple(tuple(row) for row in table))
        if _fields_agree(layout, named, decoded, seen, kinds):
            yield named
            found += 1
            if found >= MAX_MATCHINGS:
                return


def _assign(
    todo: list[tuple[str, str]], free: dict[str, list[int]], done: dict[tuple[str, str], int]
) -> Iterator[dict[tuple[str, str], int]]:
    if len(done) == len(todo):
        yield dict(done)
        return
    kname, n = todo[len(done)]
    taken = {s for (k, _), s in done.items() if k == kname}
    for slot in free[kname]:
        if slot not in taken:
            done[(kname, n)] = slot
            yield from _assign(todo, free, done)
            del done[(kname, n)]


def _fields_agree(
    layout: Layout, names: Names, decoded: Mapping[str, Any], seen: Mapping[str, Any],
    kinds: Mapping[str, tuple[int, Any]],
) -> bool:  # fmt: skip
    for kname, objs in seen.items():
        if kname not in kinds:
            continue
        i, kind = kinds[kname]
        live = {int(s.rpartition("#")[2]) for s in decoded.get(kname, {})}
        by_name = {n: slot for slot, n in enumerate(names.slots[i]) if n and slot in live}
        types = {f.name: f.type for f in kind.fields}
        for n, fields in objs.items():
            if n not in by_name:
                return False
            model_fields = decoded[kname][f"{kname}#{by_name[n]}"]
            for fname, v in fields.items():
                want = model_fields.get(fname)
                if isinstance(types[fname], (TRef, TSet)):
                    want = rename(layout, names, want)
                if _norm(v) != _norm(want):
                    return False
    return True


def _norm(v: Any) -> Any:
    if isinstance(v, (list, set, frozenset, tuple)):
        return sorted(str(x) for x in v)
    return v


def live_slots(layout: Layout, decoded: Mapping[str, Any]) -> dict[str, frozenset[int]]:
    return {
        k.name: frozenset(int(s.rpartition("#")[2]) for s in decoded.get(k.name, {}))
        for k in layout.kinds
    }
