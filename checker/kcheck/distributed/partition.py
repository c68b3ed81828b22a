"""One worker's share of a distributed search: the states whose hash falls in its partition.

A Partition owns the visited set, the states and the parent of each of its states, and expands
its part of each breadth-first level. It rebuilds the model from a Recipe (the generated code
and the layout, both plain data), so a worker on another machine needs kcheck installed but
neither the model's file nor its -D values. Every state is identified by its global id: its
index in the order the single-process search (explore/bfs.py) would have stored it, which
every partition works out for its own states from the level's discovery keys (`rank`). A key is
`parent id << KEY_SHIFT | position in the parent's successor list`: comparing keys compares
discovery order.

Plain Python, no Ray: the driver calls it directly (Local) or as a Ray actor (transport.py).
"""

from __future__ import annotations

import heapq
import os
import socket
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kcheck.distributed.codec import decode, encode
from kcheck.explore.store import SOURCE
from kcheck.model import native
from kcheck.model.ir import Layout, State, StepError
from kcheck.model.runtime import RUNTIME_NS
from kcheck.model.symmetry import make_canonicalizer

KEY_SHIFT = 24  # a state has fewer than 16M successors
# a StepError as plain data (an exception with its own __init__ does not pickle): code,
# message, action, args, line
ErrorData = tuple[str, str, int, tuple[int, ...], int]


@dataclass(frozen=True)
class Recipe:
    """What a worker needs to rebuild the model's successor function, canonicaliser and
    invariants: all plain, picklable data."""

    name: str
    source: str  # CompiledModel.python_source
    layout: Layout
    actions: int
    canonicalise: bool  # symmetry reduction on (and the model has symmetric kinds)
    # the partitions run on the packed store and the generated C (native_partition.py); they
    # route states by their wire hash, the Python ones by Python's hash
    native: bool = False
    initial: tuple[State, ...] = ()  # the initial states: the store leaves out what never changes


@dataclass(frozen=True)
class Expanded:
    """What expanding one level of one partition found, besides the states it sends."""

    transitions: int
    # per action and error code, the first failing step: (parent id, the error)
    bound_hits: dict[str, tuple[int, ErrorData]]
    # the least id of a state expanded here with no successor at all and no failing step, or
    # -1: in a model with time, a timelock (spec/explorer.md); the driver decides whether to look
    dead: int = -1


@dataclass(frozen=True)
class Merged:
    """What one partition kept of a level's candidates: their keys in order (the new states'
    order), and per invariant the position of its first violating state among them and, when
    the invariant could not be evaluated there, why."""

    keys: bytes  # array("q")
    violations: dict[int, tuple[int, str | None]]
    # new states that are not their own representative (look-alike objects tie, so the
    # canonical form is not unique): where the search may differ from the single-process one
    loose: int = 0


def rank_keys(keys: Sequence[bytes], start: int) -> list[array[int]]:
    """Per partition, the global ids of a level's new states in its order: each key's rank
    among every partition's keys of the level (distinct: each is one successor of one state),
    counting from `start`. Each partition's keys are ascending: a k-way merge, in C when the
    native store is built here."""
    module = native.load_extension(SOURCE, "_store")
    ids = [array("q") for _ in keys]
    if module is not None:
        _, parts = module.merge_keys(list(keys), start)
        for a, b in zip(ids, parts, strict=True):
            a.frombytes(b)
        return ids
    runs = []
    for p, raw in enumerate(keys):
        run: array[int] = array("q")
        run.frombytes(raw)
        runs.append([(k, p) for k in run])
    for r, (_, p) in enumerate(heapq.merge(*runs), start):
        ids[p].append(r)
    return ids


def owner(state: State, count: int) -> int:
    """The partition that stores `state`: the same in every process (a tuple of ints hashes
    the same everywhere, unlike str and bytes)."""
    return hash(state) % count


class Partition:
    def __init__(self, recipe: Recipe, index: int, count: int) -> None:
        self.cpu0 = time.process_time()  # a Ray worker's start-up is not the search's
        ns: dict[str, Any] = dict(RUNTIME_NS)
        exec(compile(recipe.source, f"<kcheck model {recipe.name}>", "exec"), ns)
        self.canon: Callable[[State], State] | None = (
            make_canonicalizer(recipe.layout) if recipe.canonicalise else None
        )
        self.succ: Callable[[State], list[State]] = ns[
            "_successors_sym" if self.canon is not None else "_successors"
        ]
        self.outcomes = [ns[f"_lab_{a}"] for a in range(recipe.actions)]
        self.invariants: dict[int, Callable[[State], bool]] = {}
        i = 0
        while f"_inv_{i}" in ns:
            self.invariants[i] = ns[f"_inv_{i}"]
            i += 1
        self.index = index
        self.count = count
        self.seen: dict[State, int] = {}
        self.states: list[State] = []
        self.ids = array("q")  # global id of each stored state, ascending
        self.parents = array("q")  # global id of each state's parent (-1: initial)
        self.level = 0  # where the states not yet expanded start
        self.ranked = 0  # the states of every partition given a global id: the next level's first
        self.unranked = False  # the level merged last has no global ids yet
        self.inbox: list[bytes] = []
        self.own: dict[State, int] = {}  # what the last expansion found for this partition
        self.sent_states = 0
        self.sent_bytes = 0
        # (parent id, successors) of the last two levels expanded: the driver may look back one
        # level, as it reads a level's merge after the workers went on to expand it
        self.per_parent: list[list[tuple[int, int]]] = []

    def where(self) -> tuple[int, str]:
        """This worker's process and machine, to name it if it fails."""
        return os.getpid(), socket.gethostname()

    def receive(self, batches: Sequence[bytes]) -> None:
        self.inbox = list(batches)

    def rank(self, merged: Sequence[Merged]) -> None:
        """Give the level merged last its global ids, from what every partition's merge
        answered (`merged`, in partition order): the order the single-process search stores
        the level in. Once per level: a later call does nothing."""
        if not self.unranked:
            return
        keys = [m.keys for m in merged]
        self.ids.extend(rank_keys(keys, self.ranked)[self.index])
        self.ranked += sum(len(k) for k in keys) // 8
        self.unranked = False

    def rank_from(self, *merged: Merged) -> None:
        """`rank` with every partition's merge as an argument (Ray fetches them)."""
        self.rank(merged)

    def expand_ranked(self, pending: Sequence[int], *merged: Merged) -> list[Any]:
        """`rank`, then `expand`, as one batch per partition then the rest: a Ray call's
        separate results. The call waits for every partition's merge, and no more: the driver
        need not see the level first."""
        self.rank(merged)
        batches, meta = self.expand(pending)
        return [*batches, meta]

    def expand(self, pending: Sequence[int] = ()) -> tuple[list[bytes], Expanded]:
        """Expand the states merged and ranked last, in id order: one batch of (canonical)
        successors per partition, by owner. `pending`: the invariants the next merge checks
        (a native partition checks its own new states as it stores them here)."""
        if self.unranked:
            raise RuntimeError("expand() before rank(): the level has no global ids")
        lo, hi = self.level, len(self.states)
        self.level = hi
        count, canon, succ, seen = self.count, self.canon, self.succ, self.seen
        # per owner, each successor once under its least key (the first: keys grow as we go)
        out: list[dict[State, int]] = [{} for _ in range(count)]
        hits: dict[str, tuple[int, ErrorData]] = {}
        transitions = 0
        dead = -1
        per_parent: list[tuple[int, int]] = []
        for idx in range(lo, hi):
            s = self.states[idx]
            gid = self.ids[idx]
            try:
                nexts = succ(s)
            except StepError:  # a state with a failing step is a bound hit, never a timelock
                nexts = self._around_errors(s, gid, hits)
            else:
                if not nexts and dead < 0:  # ids ascend: the first met is the least
                    dead = gid
            transitions += len(nexts)
            per_parent.append((gid, len(nexts)))
            base = gid << KEY_SHIFT
            for j, t in enumerate(nexts):
                # a stored representative of this partition's is an old state
                if t in seen:
                    continue
                if canon is not None:
                    t = canon(t)
                    if t in seen:
                        continue
                d = out[hash(t) % count]
                if t not in d:
                    d[t] = base | j
        self.per_parent = [*self.per_parent[-1:], per_parent]
        # this partition's own share stays here: no need to pickle it to itself
        self.own = out[self.index]
        self.sent_states += sum(len(d) for p, d in enumerate(out) if p != self.index)
        batches = [
            encode(list(d), list(d.values())) if p != self.index else b"" for p, d in enumerate(out)
        ]
        self.sent_bytes += sum(len(b) for b in batches)
        return batches, Expanded(transitions, hits, dead)

    def merge_from(self, pending: Sequence[int], initial: bool, *batches: bytes) -> Merged:
        """`merge` of batches passed as arguments (Ray fetches them from the other workers)."""
        return self.merge(pending, initial, batches)

    def merge(
        self, pending: Sequence[int], initial: bool = False, batches: Sequence[bytes] | None = None
    ) -> Merged:
        """Keep the candidates sent here (or `receive`d) that are new, each under its least
        key; store them in key order and check the pending invariants on them. The initial
        states' keys are their positions, and they have no parent."""
        seen = self.seen
        best: dict[State, int] = {t: k for t, k in self.own.items() if t not in seen}
        self.own = {}
        for data in self.inbox if batches is None else batches:
            states, keys = decode(data)
            for t, k in zip(states, keys, strict=True):
                if t in seen:
                    continue
                k0 = best.get(t)
                if k0 is None or k < k0:
                    best[t] = k
        self.inbox = []
        order = sorted(best, key=best.__getitem__)
        keys = array("q", [best[t] for t in order])
        base = len(self.states)
        for n, t in enumerate(order):
            seen[t] = base + n
        self.states.extend(order)
        if initial:
            self.parents.extend([-1] * len(order))
        else:
            self.parents.extend(k >> KEY_SHIFT for k in keys)
        self.unranked = True
        canon = self.canon
        loose = sum(1 for t in order if canon(t) != t) if canon is not None else 0
        return Merged(keys.tobytes(), self._violations(order, pending), loose)

    def _violations(
        self, order: list[State], pending: Sequence[int]
    ) -> dict[int, tuple[int, str | None]]:
        found: dict[int, tuple[int, str | None]] = {}
        left = [(i, self.invariants[i]) for i in pending]
        for pos, t in enumerate(order):
            if not left:
                break
            hit = False
            for i, holds in left:
                why = None
                try:
                    ok = holds(t)
                except StepError as err:  # e.g. it reads a field through `none`
                    ok, why = False, err.message
                if not ok:
                    found[i] = (pos, why)
                    hit = True
            if hit:
                left = [(i, h) for i, h in left if i not in found]
        return found

    def _around_errors(
        self, s: State, gid: int, hits: dict[str, tuple[int, ErrorData]]
    ) -> list[State]:
        """As explore/bfs.py's slow path: every outcome of every action, the first failing
        instance per action and error code recorded, the other steps kept, in the same order."""
        out: list[State] = []
        for outcomes in self.outcomes:
            for _, _, t in outcomes(s):
                if isinstance(t, StepError):
                    key = f"{t.action}/{t.code}"
                    if key not in hits:
                        hits[key] = (gid, (t.code, t.message, t.action, t.args, t.line))
                else:
                    out.append(t)
        return out

    def transitions_between(self, first: int, last: int) -> int:
        """The successors of the states with global ids from `first` to `last`, all of one of
        the last two levels expanded."""
        return sum(n for level in self.per_parent for gid, n in level if first <= gid <= last)

    def lookup(self, gid: int) -> tuple[State, int] | None:
        """The state with global id `gid` and its parent's id, if it is stored here."""
        from bisect import bisect_left

        at = bisect_left(self.ids, gid)
        if at < len(self.ids) and self.ids[at] == gid:
            return self.states[at], self.parents[at]
        return None

    def counters(self) -> dict[str, float]:
        """What this worker did, for benchmarks: CPU seconds since it was made (for a Local
        partition, the whole process's), states stored, and the states and bytes it sent."""
        return {
            "cpu": time.process_time() - self.cpu0,
            "stored": len(self.states),
            "sent_states": self.sent_states,
            "sent_bytes": self.sent_bytes,
        }
