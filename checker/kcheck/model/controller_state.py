"""What controllers remember beyond the model's own state (spec/faults.md): the informer caches
of `watches K stale`, and the position and locals of actions split into several atomic steps by
`step`. This module finds both in a checked model; layout.py lays them out as hidden fields
and vars (names with `@`) and controller_codegen.py generates the code that reads and writes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from kcheck.lang import ast
from kcheck.lang.steps import Lowered, lower, nested_step
from kcheck.lang.symbols import SEEN_OWN_WRITES, UNCHANGED, Symbols
from kcheck.model.ir import Layout


@dataclass(frozen=True)
class Split:
    """An action whose body `step` cuts into segments, each one atomic step."""

    actor: str
    action: ast.Action
    segments: tuple[tuple[ast.Stmt, ...], ...]
    kind: str | None  # the kind its one binder ranges over (where its state is kept), or None
    carried: tuple[str, ...]  # the top-level `let`s read after a `step` that follows them
    # with a `step` inside a block: segments end in `Jump`s and resume from any point
    lowered: Lowered | None = None

    @property
    def group(self) -> str:
        """The prefix of its hidden state's names, and how traces show it."""
        return f"{self.actor}:{self.action.name}"

    def live_after(self, segment: int) -> tuple[str, ...]:
        """The carried locals that must survive the `step` after `segment`: defined in it or
        before, read after it."""
        defined = {
            s.name for seg in self.segments[: segment + 1] for s in seg if isinstance(s, ast.Let)
        }
        used = set().union(*(ast.names_in(seg) for seg in self.segments[segment + 1 :]))
        return tuple(n for n in self.carried if n in defined and n in used)


def splits(sym: Symbols) -> dict[tuple[str, str], Split]:
    """Every action split by `step`, by (actor, action) name."""
    out: dict[tuple[str, str], Split] = {}
    for actor in sym.actors:
        if not isinstance(actor, ast.Controller | ast.Process):
            continue
        for a in actor.actions:
            if not any(isinstance(s, ast.Step) for s in ast.walk_stmts(a.body.stmts)):
                continue
            kind = None
            if a.binders:
                d = a.binders[0].domain
                assert isinstance(d, ast.ExprDomain) and isinstance(d.expr, ast.Name)
                kind = d.expr.id
            if nested_step(a):
                low = lower(a, frozenset(b.name for b in a.binders))
                sp = Split(actor.name, a, low.segments, kind, low.carried, low)
                out[(actor.name, a.name)] = sp
                continue
            segments: list[list[ast.Stmt]] = [[]]
            for s in a.body.stmts:
                if isinstance(s, ast.Step):
                    segments.append([])
                else:
                    segments[-1].append(s)
            segs = tuple(tuple(seg) for seg in segments)
            carried = tuple(
                s.name
                for j, seg in enumerate(segs)
                for s in seg
                if isinstance(s, ast.Let) and s.name in ast.names_in(segs[j + 1 :])
            )
            out[(actor.name, a.name)] = Split(actor.name, a, segs, kind, carried)
    return out


def coalesced_watches(sym: Symbols) -> set[tuple[str, str]]:
    """(controller, kind) for every `watches K coalesced`: its cache moves one object at a
    time, through the controller's handler, instead of by a sync step."""
    return {
        (actor.name, w.kind)
        for actor in sym.actors
        if isinstance(actor, ast.Controller)
        for w in actor.watches
        if w.coalesced
    }


def unsynced_watches(sym: Symbols) -> set[tuple[str, str]]:
    """(controller, kind) for every `watches K coalesced unsynced`: its cache starts empty."""
    return {
        (actor.name, w.kind)
        for actor in sym.actors
        if isinstance(actor, ast.Controller)
        for w in actor.watches
        if w.coalesced and w.unsynced
    }


def watchers(stale: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Per kind, the controllers that keep a stale cache of it."""
    out: dict[str, list[str]] = {}
    for controller, kinds in stale.items():
        for k in kinds:
            out.setdefault(k, []).append(controller)
    return {k: tuple(v) for k, v in out.items()}


def own_write_watches(sym: Symbols) -> tuple[tuple[str, str], ...]:
    """(controller, kind) for every `seen_own_writes(K)` in a controller's actions: each gets
    a hidden flag, "a write of mine to K is not in my cache yet" (var `X.K@writes`, spec/faults.md
    "Read your own writes"; on a coalesced watch, whose objects arrive one by one, one flag per
    object instead, `own_write_field`). Models that never ask keep the states they had."""
    out: dict[tuple[str, str], None] = {}
    for actor in sym.actors:
        if not isinstance(actor, ast.Controller):
            continue
        for node in ast.walk_nodes(actor.actions):
            if (
                isinstance(node, ast.Call)
                and node.func == SEEN_OWN_WRITES
                and node.func not in sym.defs
                and len(node.args) == 1
                and isinstance(node.args[0], ast.Name)
            ):
                out[(actor.name, node.args[0].id)] = None
    return tuple(out)


def own_write_field(controller: str) -> str:
    """The hidden per-object flag of `seen_own_writes(K)` on a coalesced watch: "a write of
    mine to this object is not delivered to my cache yet" (spec/faults.md)."""
    return f"+own@{controller}"


def conflict_watches(sym: Symbols) -> tuple[tuple[str, str], ...]:
    """(controller, kind) for every kind a controller that calls `unchanged(x)` watches stale:
    each gets a hidden set, "the objects written since my cache's copy" (var `X.K@changed`,
    spec/faults.md "Conflicts"). Models that never ask keep the states they had."""
    out: list[tuple[str, str]] = []
    for actor in sym.actors:
        if not isinstance(actor, ast.Controller):
            continue
        asks = any(
            isinstance(n, ast.Call) and n.func == UNCHANGED and n.func not in sym.defs
            for n in ast.walk_nodes(actor.actions)
        )
        if asks:
            out += [(actor.name, w.kind) for w in actor.watches if w.stale]
    return tuple(dict.fromkeys(out))


def changed_var(controller: str, kind: str) -> str:
    """The hidden var of `conflict_watches`' set."""
    return f"{controller}.{kind}@changed"


def own_writes_var(controller: str, kind: str) -> str:
    """The hidden var of `own_write_watches`' flag."""
    return f"{controller}.{kind}@writes"


def real_cells(layout: Layout, kind: str) -> list[int]:
    """The state indexes of every slot's presence flag and model fields of `kind` (what the
    apiserver stores, not what caches and split actions keep beside it)."""
    k = layout.kind(kind)
    n = sum(1 for f in k.fields if not f.hidden)
    return [k.slot_base(slot) + o for slot in range(k.slots) for o in range(n + 1)]
