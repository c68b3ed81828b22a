"""Controller caches fed by real etcd watches (spec/run.md, "The store: etcd"). Each cache of the
model (`watches K stale` or `coalesced`) has its own watch of K's keys; when a step moves the
cache (a stale cache's sync, a coalesced handler's delivery, a restart's relist) the cached
objects of the state the run goes on from are decoded from what that watch delivered, not
copied from the model's successor, and the model then judges them: they must be exactly what
the model's step puts in the cache. The watch also says how far behind a stale cache was when
it synced and how many real watch events a coalesced notification carried."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from kcheck.lang.types import TBool, TEnum, TInt, TRef, TSet, Type
from kcheck.model.ir import ActionInfo, CompiledModel, KindLayout, Layout, State
from kcheck.run.driver import Divergence
from kcheck.run.etcd_watch import Rows, WatchFeed


def encode_value(layout: Layout, ty: Type, shown: Any) -> int:
    """The state cell of a value as the store holds it (the inverse of Layout.show_value)."""
    match ty:
        case TBool():
            if isinstance(shown, bool):
                return int(shown)
        case TEnum(name=e):
            if isinstance(shown, str) and shown in layout.enums[e]:
                return layout.enums[e].index(shown)
        case TRef():
            if shown is None:
                return -1
            if isinstance(shown, str) and shown.rpartition("#")[2].isdigit():
                return int(shown.rpartition("#")[2])
        case TSet(elem=e):
            if isinstance(shown, list):
                members = layout.enums.get(e)
                bits = 0
                for m in shown:
                    i = members.index(m) if members and m in members else None
                    if i is None and isinstance(m, str) and m.rpartition("#")[2].isdigit():
                        i = int(m.rpartition("#")[2])
                    if i is None:
                        break
                    bits |= 1 << i
                else:
                    return bits
        case TInt():
            if isinstance(shown, int) and not isinstance(shown, bool):
                return shown
    raise ValueError(f"{shown!r} is no value of type {ty}")


@dataclass
class FeedStats:
    syncs: int = 0  # stale caches refreshed from their watch
    behind: int = 0  # the most watch events a stale cache had not applied when it synced
    notifications: int = 0  # coalesced handlers' deliveries, each one key's latest state
    events: int = 0  # the real watch events those deliveries carried
    coalesced: int = 0  # deliveries that carried more than one event
    objects: int = 0  # cached objects decoded from a watch


class CacheFeeds:
    """Every controller cache of a run and the watch that feeds it."""

    def __init__(
        self,
        model: CompiledModel,
        initial: State,
        url: str,
        prefix: str,
        rows: Rows,
        revision: int,
        lost: Callable[[str], str],
    ) -> None:
        self.model = model
        self.stats = FeedStats()
        self.feeds: dict[str, WatchFeed] = {}  # "X@K" -> its watch
        # per cache and key, the revision up to which the cache has applied the watch: a
        # synced cache starts with the initial objects applied; a coalesced handler still
        # hears each initial object once (spec/faults.md section 3), so it starts at 0
        self.applied: dict[tuple[str, str], int] = {}
        kinds = {k.name for k in model.layout.kinds}
        for name, value in model.layout.decode(initial).items():
            actor, _, kind = name.partition("@")
            if actor and kind in kinds and isinstance(value, dict):
                under = f"{prefix}{kind}/"
                mine = {k: r for k, r in rows.items() if k.startswith(under)}
                self.feeds[name] = WatchFeed(url, under, revision + 1, mine, lost)
                fields = model.layout.kind(kind).fields
                coalesced = any(f.name == f"+add@{actor}" for f in fields)
                for key in mine:
                    self.applied[(name, key)] = 0 if coalesced else revision

    def close(self) -> None:
        for feed in self.feeds.values():
            feed.close()

    def checkpoint(self) -> tuple[FeedStats, dict[tuple[str, str], int]]:
        """What `feed` counts, to be put back when its step is retried after a conflict."""
        return replace(self.stats), dict(self.applied)

    def restore(self, saved: tuple[FeedStats, dict[tuple[str, str], int]]) -> None:
        self.stats, self.applied = replace(saved[0]), dict(saved[1])

    def feed(
        self, before: State, after: State, rows: Rows, revision: int, action: ActionInfo
    ) -> State:
        """The state after `step` with every cache the step moves decoded from its watch as
        delivered at `revision` (what a read at that revision saw: `rows`); a Divergence
        when that is not what the model's step puts in the cache."""
        if not self.feeds:
            return after
        layout, step = self.model.layout, action.label
        old, new = layout.decode(before), layout.decode(after)
        cells = list(after)
        for name, feed in self.feeds.items():
            b, a = old.get(name, {}), new.get(name, {})
            moved = sorted(e for e in set(b) | set(a) if b.get(e) != a.get(e))
            actor, _, kname = name.partition("@")
            kind = layout.kind(kname)
            sync = action.actor == actor and action.name == f"sync@{kname}"
            # a handler's delivery (a restart's relist is a fault's step, no notification)
            heard = action.actor == actor and not sync and action.actor_kind != "fault"
            if heard:  # an initial add of an object already cached moves nothing but its flag
                for slot in self._initial_adds(kind, actor, before, after):
                    if f"{name}#{slot}" not in moved:
                        key = f"{feed.prefix}{kname}#{slot}"
                        self._count_notification(name, feed, key, revision)
                        self.applied[(name, key)] = revision
            if not moved:
                continue
            seen = {k: r for k, r in rows.items() if k.startswith(feed.prefix)}
            delivered = feed.caught_up(seen, revision)
            if sync:
                self._count_sync(name, feed, revision)
            for entry in moved:
                oid = entry.partition("@")[2]  # replicaset@Pod#0 caches Pod#0
                key = feed.prefix + oid
                got = delivered.get(key)
                self._write(cells, kind, actor, int(oid.rpartition("#")[2]), got, step)
                if heard:
                    self._count_notification(name, feed, key, revision)
                self.applied[(name, key)] = revision
                fed = layout.decode(tuple(cells)).get(name, {}).get(entry)
                if fed != a.get(entry):
                    shown = "without it" if a.get(entry) is None else _json(a[entry])
                    raise Divergence(
                        f"{actor}'s cache of {oid} after step {step} is {shown} in the model, "
                        f"but its etcd watch delivered {got or 'its deletion'} (revision "
                        f"{revision}): no step of the model explains it"
                    )
            self.stats.objects += len(moved)
        return tuple(cells)

    def _write(
        self, cells: list[int], kind: KindLayout, actor: str, slot: int, got: str | None, step: str
    ) -> None:
        """Set the cached copy of `kind`'s object in `slot` to what the watch delivered."""
        sb = kind.slot_base(slot)
        cells[sb + kind.field(f"@{actor}").offset] = int(got is not None)
        if got is None:
            return  # a deleted object's cached fields stay as they were, unread
        try:
            shown = json.loads(got)
            for f in kind.fields:
                if not f.hidden:
                    cells[sb + kind.field(f"{f.name}@{actor}").offset] = encode_value(
                        self.model.layout, f.type, shown[f.name]
                    )
        except (ValueError, KeyError, TypeError) as err:
            raise Divergence(
                f"{actor}'s etcd watch delivered {kind.name}#{slot} as {got}, which is no "
                f"{kind.name} of the model ({err}); at step {step}"
            ) from None

    @staticmethod
    def _initial_adds(kind: KindLayout, actor: str, before: State, after: State) -> list[int]:
        """The slots whose initial add (a synced coalesced watch's) the step delivered."""
        try:
            flag = kind.field(f"+add@{actor}").offset
        except KeyError:
            return []
        return [
            slot
            for slot in range(kind.slots)
            if before[kind.slot_base(slot) + flag] and not after[kind.slot_base(slot) + flag]
        ]

    def _count_sync(self, name: str, feed: WatchFeed, revision: int) -> None:
        behind = sum(
            feed.events_between(key, self.applied.get((name, key), 0), revision)
            for key in feed.watched_keys()
        )
        self.stats.syncs += 1
        self.stats.behind = max(self.stats.behind, behind)
        for key in feed.watched_keys():
            self.applied[(name, key)] = revision

    def _count_notification(self, name: str, feed: WatchFeed, key: str, revision: int) -> None:
        events = feed.events_between(key, self.applied.get((name, key), 0), revision)
        self.stats.notifications += 1
        self.stats.events += events
        self.stats.coalesced += events > 1


def _json(fields: dict[str, Any]) -> str:
    return json.dumps({f: v for f, v in fields.items() if "@" not in f}, sort_keys=True)
