"""A partition of the distributed search on the packed native store and the model's generated C
(explore/store_dist.c): the same contract as partition.Partition, which stays the reference and
serves where the native code cannot be built.

Its states are packed in the store, with their parents' global ids, each level's in the order
they were met; `stored_at` lists them in ascending global id. It expands a level in one C call that
runs the generated successor function, canonicalises, stores at once the new states it owns and
hands back one batch for each other partition; it merges in one C call that takes what the
others sent into the level, each state under its least key, sorts the level by key and checks
the pending invariants in that order. States travel in
the wire layout (`Wire`: the plan every worker's store starts from, the same in every process,
while each store may widen its own) and are routed by their wire hash.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import Any

from kcheck.distributed.partition import ErrorData, Expanded, Merged, Partition, Recipe
from kcheck.explore import store as stores
from kcheck.explore.store import SOURCE, GeneratedCode, generated_code_of
from kcheck.model import native
from kcheck.model.ir import State, StepError


class NativeUnavailable(RuntimeError):
    """This machine cannot build the native search the driver chose (no C compiler, or
    KCHECK_NATIVE=0 here): every worker must route states alike, so it cannot fall back."""


def native_reason(recipe: Recipe) -> str | None:
    """Why this process cannot run `recipe`'s partitions natively, or None when it can."""
    if not native.enabled():
        return "native code is turned off here (KCHECK_NATIVE=0)"
    if native.load_extension(SOURCE, "_store") is None:
        return f"the native store cannot be built here ({native.unavailable(SOURCE)})"
    return None


class Wire:
    """The wire layout of a native search's states (store_dist.c): an empty store packed by
    the plan every worker's store starts from. The driver routes and encodes the initial
    states with it; every worker routes with its own copy."""

    def __init__(self, recipe: Recipe) -> None:
        module = native.load_extension(SOURCE, "_store")
        if module is None:
            raise NativeUnavailable(
                f"the native store cannot be built: {native.unavailable(SOURCE)}"
            )
        self.module: Any = module
        self.plan = stores.pack_plan(recipe.layout, recipe.initial)
        self.raw: Any = module.make(self.plan)

    def owner(self, state: State, count: int) -> int:
        h: int = self.raw.wire_hash(state)
        return h % count

    def encode(self, states: list[State], keys: list[int]) -> bytes:
        if not states:
            return b""
        out: bytes = self.raw.encode_batch(states, keys)
        return out

    def decode(self, batch: bytes) -> tuple[list[State], list[int]]:
        states, keys = self.raw.decode_batch(batch)
        return states, keys


class NativePartition(Partition):
    def __init__(self, recipe: Recipe, index: int, count: int) -> None:
        super().__init__(recipe, index, count)
        why = native_reason(recipe)
        gen: GeneratedCode | None = None
        if why is None:
            ns = self.succ.__globals__
            gen = generated_code_of(
                recipe.source, recipe.layout.width, len(self.invariants), ns, self.canon is not None
            )
            if gen is None:
                why = "the model's generated C cannot be built here"
        capsule = getattr(self.canon, "capsule", None)
        if why is None and self.canon is not None and capsule is None:
            why = "the native canonicaliser cannot be built here"
        if why is not None or gen is None:
            raise NativeUnavailable(f"partition {index}: {why}")
        self.gen = gen
        self.canon_capsule = capsule() if capsule is not None else None
        # the store and the wire layout from one plan: until the store widens, a state's wire
        # key is its key here (store_dist.c checks that they agree)
        wire = Wire(recipe)
        self.wire = wire.raw
        self.raw: Any = wire.module.make(wire.plan)
        self.invs = [self.invariants[i] for i in range(len(self.invariants))]
        # per place (ascending global id, as self.ids), the state's index in the store
        self.stored_at = array("q")
        # the last two levels expanded: where each starts (a place) and per state its successors
        self.expanded: list[tuple[int, array[int]]] = []

    def expand(self, pending: Sequence[int] = ()) -> tuple[list[bytes], Expanded]:
        if self.unranked:
            raise RuntimeError("expand() before rank(): the level has no global ids")
        lo, hi = self.level, len(self.stored_at)
        self.level = hi
        hits: dict[str, tuple[int, ErrorData]] = {}
        gids = self.ids

        def slow(s: State, place: int) -> list[State]:
            return self._around_errors(s, gids[place], hits)

        batches, counts, dead, transitions = self.raw.route(
            self.gen.capsule, lo, hi, gids, self.stored_at, list(pending), self.gen.fallbacks,
            self.succ, slow, StepError, self.canon_capsule, self.count, self.index, self.wire,
        )  # fmt: skip
        per_state = array("i")
        per_state.frombytes(counts)
        self.expanded = [*self.expanded[-1:], (lo, per_state)]
        sent = [b for p, b in enumerate(batches) if p != self.index]
        self.sent_states += sum(_rows(b) for b in sent)
        self.sent_bytes += sum(len(b) for b in sent)
        return batches, Expanded(transitions, hits, gids[dead] if dead >= 0 else -1)

    def merge(
        self, pending: Sequence[int], initial: bool = False, batches: Sequence[bytes] | None = None
    ) -> Merged:
        got = list(self.inbox if batches is None else batches)
        self.inbox = []
        keys, where, found, loose = self.raw.merge(
            self.gen.capsule, got, self.canon_capsule, list(pending), self.invs, StepError,
            initial, self.wire,
        )  # fmt: skip
        self.stored_at.frombytes(where)
        self.unranked = True
        return Merged(keys, found, loose)

    def transitions_between(self, first: int, last: int) -> int:
        total = 0
        for lo, counts in self.expanded:
            hi = lo + len(counts)
            a = bisect_left(self.ids, first, lo, hi) - lo
            b = bisect_right(self.ids, last, lo, hi) - lo
            total += sum(counts[a:b])
        return total

    def lookup(self, gid: int) -> tuple[State, int] | None:
        at = bisect_left(self.ids, gid)
        if at < len(self.ids) and self.ids[at] == gid:
            idx = self.stored_at[at]
            state: State = self.raw[idx]
            parent: int = self.raw.parent(idx)
            return state, parent
        return None

    def counters(self) -> dict[str, float]:
        out = super().counters()
        out["stored"] = len(self.raw)
        return out


def _rows(batch: bytes) -> int:
    """The states in a batch: its header's narrow and wide counts."""
    if not batch:
        return 0
    head = array("q")
    head.frombytes(batch[:16])
    return head[0] + head[1]
