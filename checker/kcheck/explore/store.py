"""The breadth-first search's visited states: every stored (canonical) state in insertion order,
so that its index is its place in the BFS queue, with its parent's index for traces.

Two implementations of one contract. `NativeStore` (store.c, built like the canonicaliser by
kcheck/model/native.py) packs each state into the bits its layout needs (a bool 1 bit, a
reference to one of 5 slots 3 bits, a field whose range is one value none) and keeps the
packed keys, 4-byte parents and an open-addressing table in C: 20 to 60 bytes per state where a
dict of tuples takes 300 to 600. `PyStore`, a dict and a list, is the reference: it runs
without a C compiler (or with KCHECK_NATIVE=0), and a differential test holds the two to the
same answers. Both take a whole successor list per call.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

from kcheck.cache import cache_dir
from kcheck.lang.types import TBool, TEnum, TInt, TRef, TSet, Type
from kcheck.model import native
from kcheck.model.ir import CompiledModel, Layout, State

SOURCE = Path(__file__).with_name("store.c")

Canon = Callable[[State], State] | None
Check = Callable[[State], bool] | None
# expand(start, stop, succ, canon, check, on_broken, step_error, max_states, flags)
# -> (next state to expand, transitions, 1 when succ failed on `next`, 2 when state next - 1
# has no successor and flags asked to stop there): see store.c
Expand = Callable[
    [
        int,
        int,
        Callable[[State], list[State]],
        Canon,
        Check,
        Callable[[State, int], Check],
        type[Exception],
        int,
        int,
    ],
    tuple[int, int, int],
]


class StateSeq(Protocol):
    """Stored states by index (a list of them will do)."""

    def __len__(self) -> int: ...

    def __getitem__(self, i: int, /) -> State: ...

    def __iter__(self) -> Iterator[State]: ...


class ParentSeq(Protocol):
    def __getitem__(self, i: int, /) -> int: ...

    def __len__(self) -> int: ...


class StateStore(Protocol):
    """What the search asks of its visited set."""

    native: bool
    size: Callable[[], int]  # len(store), without a Python call in between
    get: Callable[[int], State]  # store[i], likewise
    expand: Expand | None  # the search's inner loop, where the store has one

    def __len__(self) -> int: ...

    def __getitem__(self, i: int) -> State: ...

    def __iter__(self) -> Iterator[State]: ...

    def add(self, s: State, parent: int) -> int:
        """Store `s` (already canonical) as new: its index, or -1 when it is stored already."""
        ...

    def extend(self, states: list[State], parent: int, canon: Canon) -> list[State]:
        """Store each state not yet stored (canonicalised first when it is not stored as it
        is) with `parent`, in order; the ones that were new, as stored."""
        ...

    def index_all(self, states: list[State], parent: int, canon: Canon) -> list[int]:
        """`extend`, answering the index of every state instead: the new ones are those at
        or past the length before the call."""
        ...

    def index(self, s: State) -> int:
        """The index of `s` as it is (no canonicalising), or -1."""
        ...

    def parent(self, i: int) -> int: ...

    def parent_array(self) -> ParentSeq:
        """Every state's parent index (-1 for an initial state)."""
        ...

    def describe(self) -> str: ...


class PyStore:
    """The reference store: a dict from state to index, a list, and an array of parents."""

    native = False
    expand: Expand | None = None

    def __init__(self) -> None:
        self.seen: dict[State, int] = {}
        self.states: list[State] = []
        self.parents = array("q")
        self.size: Callable[[], int] = self.states.__len__
        self.get: Callable[[int], State] = self.states.__getitem__

    def __len__(self) -> int:
        return len(self.states)

    def __getitem__(self, i: int) -> State:
        if i < 0:
            raise IndexError("state index out of range")
        return self.states[i]

    def __iter__(self) -> Iterator[State]:
        return iter(self.states)

    def add(self, s: State, parent: int) -> int:
        if s in self.seen:
            return -1
        idx = self.seen[s] = len(self.states)
        self.states.append(s)
        self.parents.append(parent)
        return idx

    def extend(self, states: list[State], parent: int, canon: Canon) -> list[State]:
        seen, out = self.seen, []
        for t in states:
            # a successor that is itself a stored representative needs no canonicalising
            if t in seen:
                continue
            if canon is not None:
                t = canon(t)
                if t in seen:
                    continue
            seen[t] = len(self.states)
            self.states.append(t)
            self.parents.append(parent)
            out.append(t)
        return out

    def index_all(self, states: list[State], parent: int, canon: Canon) -> list[int]:
        seen, out = self.seen, []
        for t in states:
            j = seen.get(t)
            if j is None and canon is not None:
                t = canon(t)
                j = seen.get(t)
            if j is None:
                j = seen[t] = len(self.states)
                self.states.append(t)
                self.parents.append(parent)
            out.append(j)
        return out

    def index(self, s: State) -> int:
        return self.seen.get(s, -1)

    def parent(self, i: int) -> int:
        return self.parents[i]

    def parent_array(self) -> ParentSeq:
        return self.parents

    def describe(self) -> str:
        return "states in a Python dict"


class NativeStore:
    """The packed C store behind the same interface (its hot methods are the C object's own)."""

    native = True

    def __init__(self, raw: object) -> None:
        self.raw = raw
        c = cast(StateStore, raw)
        self.add = c.add
        self.extend = c.extend
        self.index_all = c.index_all
        self.index = c.index
        self.parent = c.parent
        self.size = c.__len__
        self.get = c.__getitem__
        self.expand: Expand | None = raw.expand  # type: ignore[attr-defined]
        self.expand_gen: Callable[..., tuple[int, int, int]] = raw.expand_gen  # type: ignore[attr-defined]
        self.expand_gen_par: Callable[..., tuple[int, int, int]] = raw.expand_gen_par  # type: ignore[attr-defined]
        self.expand_gen_par_tagged: Callable[
            ..., tuple[int, int, int, bytes, bytes, bytes, bytes]
        ] = raw.expand_gen_par_tagged  # type: ignore[attr-defined]
        self.expand_gen_tagged: Callable[..., tuple[int, int, int, bytes, bytes, bytes, bytes]] = (
            raw.expand_gen_tagged  # type: ignore[attr-defined]
        )

    def __len__(self) -> int:
        return len(cast(StateStore, self.raw))

    def __getitem__(self, i: int) -> State:
        return cast(StateStore, self.raw)[i]

    def __iter__(self) -> Iterator[State]:
        return iter(cast(StateStore, self.raw))

    def parent_array(self) -> ParentSeq:
        out = array("i")
        out.frombytes(self.raw.parents())  # type: ignore[attr-defined]
        return out

    def predicates(self, code: GeneratedCode, ks: Sequence[int], n: int) -> list[bytes]:
        """The generated code's state formulas `ks` (by number) on states [0, n): per state 1
        holds, 0 does not, 2 ask Python (not translated, or C cannot answer exactly)."""
        out: list[bytes] = self.raw.predicates(code.capsule, ks, n)  # type: ignore[attr-defined]
        return out

    def nbytes(self) -> int:
        n: int = self.raw.nbytes()  # type: ignore[attr-defined]
        return n

    def key_bytes(self) -> int:
        n: int = self.raw.key_bytes()  # type: ignore[attr-defined]
        return n

    def describe(self) -> str:
        widened: int = self.raw.widened()  # type: ignore[attr-defined]
        more = f"; {widened} position(s) widened to 64 bits" if widened else ""
        return f"states packed into {self.key_bytes()} bytes each, in the native store{more}"


def pack_plan(layout: Layout, initial: Sequence[State] = ()) -> list[tuple[int, int]]:
    """(lowest value, bits) for every position of a state: the range its type allows. A
    position whose range is a single value takes no bits, and so does one that no step changes
    (`layout.fixed`) and every initial state agrees on: it keeps that value. Cells without a
    declared range (an action's step counter, an int local carried across a `step`) start at 8
    bits from -1; the store widens a position that meets a larger value, so this is a guess,
    never a limit."""
    plan: list[tuple[int, int]] = [(-1, 8)] * layout.width
    for v in layout.vars:
        plan[v.index] = _range(layout, v.type)
    for b in layout.budgets:
        plan[b.index] = (0, b.budget.bit_length())
    for k in layout.kinds:
        for slot in range(k.slots):
            base = k.slot_base(slot)
            plan[base] = (0, 1)  # the presence flag
            for f in k.fields:
                plan[base + f.offset] = _with_zero(_range(layout, f.type))
    for i in layout.fixed:
        values = {s[i] for s in initial}
        if len(values) == 1:
            plan[i] = (values.pop(), 0)
    return plan


def _with_zero(r: tuple[int, int]) -> tuple[int, int]:
    """A field's range widened to hold 0: a free slot's fields are all 0 (`_ZERO_K`), which a
    range such as 1..4 does not include, and a value out of range costs a widening to 64 bits
    (the scheduler's pods' `cpu`: 4 such fields made a 5-byte state 36 bytes)."""
    lo, bits = r
    hi = lo + (1 << bits) - 1
    if lo <= 0 <= hi:
        return r
    lo, hi = min(lo, 0), max(hi, 0)
    return lo, (hi - lo).bit_length()


def _range(layout: Layout, ty: Type) -> tuple[int, int]:
    match ty:
        case TBool():
            return 0, 1
        case TEnum(name=e) if e in layout.enums:
            return 0, max(len(layout.enums[e]) - 1, 0).bit_length()
        case TRef(kind=k):
            slots = next((kl.slots for kl in layout.kinds if kl.name == k), None)
            return (-1, slots.bit_length()) if slots is not None else (-1, 8)
        case TSet(elem=e):
            if e in layout.enums:
                return 0, len(layout.enums[e])
            slots = next((kl.slots for kl in layout.kinds if kl.name == e), None)
            return (0, slots) if slots is not None else (0, 8)
        case TInt(lo=lo, hi=hi) if lo is not None and hi is not None and hi >= lo:
            return lo, (hi - lo).bit_length()
    return -1, 8


def make_store(layout: Layout, initial: Sequence[State] = ()) -> PyStore | NativeStore:
    """The native store when it can be built, else the Python one. With the initial states,
    the positions no step changes are left out of every packed state."""
    module = native.load_extension(SOURCE, "_store")
    if module is None:
        return PyStore()
    return NativeStore(module.make(pack_plan(layout, initial)))


@dataclass(frozen=True)
class GeneratedCode:
    """A model's successor function, invariants and state formulas in C, for
    NativeStore.expand_gen and NativeStore.predicates."""

    capsule: object
    fallbacks: list[Callable[[State], list[State]]]  # the statements left in Python
    tagged_fallbacks: list[Callable[[State], list[tuple[int, State]]]]  # likewise, tagged
    invariants: frozenset[int]  # the invariants translated, by number
    # the temporal properties' predicates (`_prop_i_n_j` of model.python_source) by name: their
    # numbers for NativeStore.predicates; and the numbers of those translated
    predicates: dict[str, int] = field(default_factory=dict)
    predicates_done: frozenset[int] = frozenset()


def generated_code(model: CompiledModel, symmetric: bool = False) -> GeneratedCode | None:
    """The model's generated C, built (once per machine: cached by its source's hash) and
    loaded; None without a compiler, with KCHECK_NATIVE=0, or when it does not translate.
    `symmetric`: the successor functions of a search with symmetry reduction (up to symmetry
    the same successors, fewer duplicates)."""
    return generated_code_of(
        model.python_source,
        model.layout.width,
        len(model.invariants),
        model.successors.__globals__,
        symmetric,
    )


def generated_code_of(
    source: str, width: int, invariants: int, ns: dict[str, Any], symmetric: bool = False
) -> GeneratedCode | None:
    """`generated_code` from the model's Python source, its width, its number of invariants
    and the namespace the source runs in (what a distributed search's worker has)."""
    if not native.enabled():
        return None
    key = (source, symmetric)
    if key not in _GENERATED:
        _GENERATED[key] = _build_generated(source, width, invariants, dict(ns), symmetric)
    return _GENERATED[key]


# one entry per model source compiled in this process (a test suite compiles a few hundred)
_GENERATED: dict[tuple[str, bool], GeneratedCode | None] = {}


def _build_generated(
    python_source: str, width: int, invariants: int, ns: dict[str, Any], symmetric: bool
) -> GeneratedCode | None:
    from kcheck.explore import cgen_model, cgen_module  # only for a search large enough to use it

    tr = cgen_model.translate_source(python_source, width, invariants, ns, symmetric)
    if tr is None:
        return None
    name, source = cgen_module.module_source(tr, width, invariants)
    path = cache_dir() / "generated" / f"{name}.c"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != source:
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(source, encoding="utf-8")
            os.replace(tmp, path)
    except OSError:
        return None
    module = native.load_extension(path, name)
    if module is None:
        return None
    return GeneratedCode(
        module.model,
        tr.fallbacks,
        tr.tagged_fallbacks,
        tr.invariants,
        tr.predicates,
        tr.predicates_done,
    )


def why_not_native() -> str:
    return native.unavailable(SOURCE)
