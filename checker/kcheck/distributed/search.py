"""The driver of a distributed breadth-first search (spec/distributed.md): level-synchronous,
so counterexamples stay shortest, and the very same search as explore/bfs.py's.

Each level, every partition expands its states and sends each successor (canonical, with
symmetry) to the partition that owns it, with its discovery key (partition.py); each owner
keeps the new ones under their least key. Every partition then ranks its keys among all the
partitions' keys of the level: the level's order, which is the order the single-process search
stores states in, and its states' global ids. The driver sends a level's calls together (the
workers need not wait for it) and reads each merged level from the keys. So the first
violation of an invariant is the same state, its trace the same trace, and the counts the same
counts; where the single-process search stops inside a level (every invariant violated,
--max-states), the driver works out the same stopping point from the keys. In a model with
time it looks for timelocks as that search does: each worker reports the least id among its
states of the level that have no successor (and no failing step), and the driver keeps the
least of all, the first in breadth-first order. Temporal properties are not checked
distributed: they go to the single-process engine on this machine, which stores the graph
(spec/distributed.md says so).

A worker that dies stops the search inconclusive, naming it: its part of the visited set is
gone, and a verdict without it could be "holds" wrongly. A violation found before keeps its
trace, which is fetched as soon as it is found.
"""

from __future__ import annotations

import time
from array import array
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from kcheck.distributed.codec import encode
from kcheck.distributed.partition import KEY_SHIFT, ErrorData, Expanded, Merged, Recipe, owner
from kcheck.distributed.transport import Transport, WorkerFailed
from kcheck.explore.bfs import Limits, ProgressFn, explore
from kcheck.explore.budget import Stopped
from kcheck.explore.store import generated_code, make_store
from kcheck.explore.timelock import ALLOWED_NOTE, timelock_result
from kcheck.explore.tracer import Tracer
from kcheck.model.bounds import explain_bound
from kcheck.model.ir import CompiledModel, State, StepError
from kcheck.result import HOLDS, INCONCLUSIVE, VIOLATED, CheckResult, PropertyResult, Stats
from kcheck.trace import Trace

MakeTransport = Callable[[Recipe], Transport]


def recipe_of(model: CompiledModel, symmetry: bool, initial: Sequence[State] = ()) -> Recipe:
    """What the workers need. They run the packed store and the generated C when this machine
    can (the same test as the single-process search's), else the Python partitions."""
    canon = symmetry and model.canonicalize is not None
    native = (
        generated_code(model, canon) is not None
        and (not canon or getattr(model.canonicalize, "capsule", None) is not None)
        and make_store(model.layout).native
    )
    return Recipe(
        model.name, model.python_source, model.layout, len(model.actions), canon, native,
        tuple(initial),
    )  # fmt: skip


@dataclass
class _Found:
    gid: int
    trace: Trace | None = None  # fetched as soon as found
    last: State | None = None
    why: str | None = None  # the invariant could not be evaluated there


@dataclass
class _Run:
    """The driver's running account of the search."""

    model: CompiledModel
    transport: Transport
    canon: Callable[[State], State] | None
    budget_limits: Limits
    symmetry: bool
    recipe: Recipe
    inits: list[State]
    stats: Stats = field(default_factory=Stats)
    loose: int = 0  # stored states that are not their own representative
    violated: dict[int, _Found] = field(default_factory=dict)
    hits: dict[str, tuple[_Found, StepError]] = field(default_factory=dict)
    watch: bool = False  # looking for a timelock (a model with time, not --allow-timelocks)
    dead: _Found | None = None  # the first timelock met

    @property
    def looking(self) -> bool:
        return self.watch and self.dead is None

    def path(self, gid: int) -> tuple[list[State], array[int]]:
        states: list[State] = []
        while gid >= 0:
            state, gid = self.transport.lookup(gid)
            states.append(state)
        states.reverse()
        return states, array("q", range(-1, len(states) - 1))

    def tracer(self, gid: int) -> tuple[Tracer, int]:
        states, parent = self.path(gid) if gid >= 0 else ([], array("q"))
        tracer = Tracer(self.model, states, parent, self.canon, self.budget_limits.budget)
        return tracer, len(states) - 1


def explore_distributed(
    model: CompiledModel,
    make: MakeTransport,
    *,
    invariants: Sequence[str] | None = None,
    properties: Sequence[str] | None = None,
    symmetry: bool = True,
    limits: Limits | None = None,
    progress: ProgressFn | None = None,
    before_close: Callable[[Transport], None] | None = None,
) -> CheckResult:
    """explore() over the partitions `make` starts: the same answer, counts and traces.
    `before_close` sees the workers once the search is done (benchmarks read their counters)."""
    t0 = time.monotonic()
    limits = limits or Limits()
    names = [i.name for i in model.invariants]
    selected = [names.index(n) for n in invariants] if invariants is not None else []
    if invariants is None:
        selected = list(range(len(names)))
    props = [p.name for p in model.properties if properties is None or p.name in properties]
    canon = model.canonicalize if symmetry else None
    try:
        inits, init_error = model.initial(), None
    except StepError as err:
        inits, init_error = [], err
    recipe = recipe_of(model, symmetry, inits)
    started = time.monotonic()
    transport = make(recipe)
    started = time.monotonic() - started
    if limits.timeout:
        transport.deadline = t0 + limits.timeout
    if limits.budget is not None and limits.budget.deadline is not None:
        transport.deadline = limits.budget.deadline
    run = _Run(model, transport, canon, limits, symmetry, recipe, inits)
    if init_error is not None:
        run.hits[f"init/{init_error.code}"] = (_Found(-1), init_error)
    run.watch = model.timed and not limits.allow_timelocks
    limit: str | None = None
    complete = False
    workers = transport.names()
    budget = limits.budget
    if budget is not None:
        # The budget is not armed: a signal must not raise inside Ray's C code (it surfaces as
        # a SystemError there); the transport polls it while it waits on the workers instead.
        budget.armed = False
        transport.poll = lambda: budget.poll(time.monotonic())
    try:
        complete, limit = _search(run, selected, limits, progress, t0)
    except WorkerFailed as err:
        limit = str(err)
    except Stopped as stop:
        limit = stop.reason
    except MemoryError:
        limit = "out of memory"
    finally:
        try:
            if before_close is not None and limit is None:
                before_close(transport)
        finally:
            transport.close()
    run.stats.seconds = time.monotonic() - t0
    result = _result(run, selected, complete, limit)
    result.notes.append(
        f"distributed search over {len(workers)} worker{'s' if len(workers) != 1 else ''}"
        f" ({'the packed store and generated C' if recipe.native else 'Python'} on each);"
        f" starting them took {started:.1f} s, counted in the search's time"
    )
    if started > 1.0 and started > run.stats.seconds / 2:
        # most of the time went in starting the workers: say what is faster on one machine
        result.notes.append(
            "starting the workers took most of this search's time: on one machine, --threads"
            " N searches with every core and starts at once"
        )
    if run.loose:
        result.notes.append(
            f"{run.loose:,} of the states stored are not their own representative (look-alike"
            " objects tie in this model's canonical form): the distributed search may store"
            " more representatives than the single-process one, and find another counterexample"
            " of the same length; the verdicts are the same (spec/distributed.md)"
        )
    if props:
        _add_properties(result, model, props, symmetry, limits, progress)
    result.stats.seconds = time.monotonic() - t0
    return result


def _search(
    run: _Run, selected: list[int], limits: Limits, progress: ProgressFn | None, t0: float
) -> tuple[bool, str | None]:
    """The levels, until the last is empty or a limit stops it: (every state explored, the
    limit that stopped it)."""
    transport, stats = run.transport, run.stats
    n = transport.count
    pending = list(selected)
    # the initial states, deduplicated in order: their keys are their positions
    firsts: dict[State, None] = {}
    for s in run.inits:
        firsts.setdefault(run.canon(s) if run.canon else s, None)
    out: list[list[State]] = [[] for _ in range(n)]
    keys: list[list[int]] = [[] for _ in range(n)]
    route, batch = owner, encode
    if run.recipe.native:  # as the native workers route and read states
        from kcheck.distributed.native_partition import Wire

        wire = Wire(run.recipe)
        route, batch = wire.owner, wire.encode
    for pos, s in enumerate(firsts):
        p = route(s, n)
        out[p].append(s)
        keys[p].append(pos)
    transport.seed([batch(out[p], keys[p]) for p in range(n)])
    # a level is expanded as soon as it is merged, while the driver reads it, unless the driver
    # may stop before expanding it: at --max-states (the next level is not known yet, and could
    # be large) or --max-depth. Otherwise a search that stops expands one level for nothing.
    fuse = limits.max_states is None
    merged, metas = transport.merge(pending, True, fuse)
    run.loose += sum(m.loose for m in merged)
    level = _Level.of(merged, 0)
    _rank_if_traced(transport, level, pending, metas is not None)
    _record_violations(run, level, pending, None)
    total = level.size
    level_start, depth = 0, 0
    budget = limits.budget
    deadline = t0 + limits.timeout if limits.timeout else None
    if budget is not None and budget.deadline is not None:
        deadline = budget.deadline
    while total > level_start:  # the level [level_start, total) is to be expanded
        if depth >= 1 and limits.max_depth is not None and depth >= limits.max_depth:
            return _stop(stats, total, level_start, depth, f"max-depth {limits.max_depth}")
        if selected and not pending and not run.looking:
            # every invariant has its shortest counterexample (and a timelock is met, if one
            # is looked for): stop, as the search on one process does
            return _stop(stats, total, level_start, depth, None)
        stats.states, stats.depth, stats.queue = total, depth, total - level_start
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            reason = f"timeout {limits.timeout:g}s" if limits.timeout else None
            reason = reason or (budget.timeout_label() if budget else "timeout")
            return _stop(stats, total, level_start, depth, reason)
        why = budget.poll(now) if budget is not None else None
        if why is not None:
            return _stop(stats, total, level_start, depth, why)
        if progress is not None:
            stats.seconds = now - t0
            progress(stats)
        if metas is None:
            metas = transport.expand(pending)
        # the level merged next is at depth + 1: expanded at once unless --max-depth stops there
        ahead = fuse and (limits.max_depth is None or depth + 1 < limits.max_depth)
        merged, next_metas = transport.merge(pending, False, ahead)
        run.loose += sum(m.loose for m in merged)
        level = _Level.of(merged, total)
        _rank_if_traced(transport, level, pending, next_metas is not None)
        # where the single-process search would stop inside this level, if it does
        stop_ms = _max_states_stop(limits.max_states, level, level_start, total)
        found = _first_violations(level, pending)
        dead = min((m.dead for m in metas if m.dead >= 0), default=None) if run.looking else None
        stop_pd = _clear_stop(run, level, selected, pending, found, dead, total)
        stop = min((g for g in (stop_ms, stop_pd) if g is not None), default=None)
        _record_hits(run, metas, stop)
        _record_violations(run, level, pending, stop, found)
        if dead is not None and (stop is None or dead <= stop):
            tracer, last = run.tracer(dead)
            trace, state = tracer.path_and_state(last)
            run.dead = _Found(dead, trace, state)
        if stop is not None:
            stats.states = total + level.count_upto(stop)
            stats.transitions += transport.transitions_between(level_start, stop)
            stats.queue = stats.states - (stop + 1)
            stats.depth = depth
            if stop == stop_ms:
                return False, f"max-states {limits.max_states}"
            if stop + 1 == total:  # it was the level's last state: the next level begins
                stats.depth = depth + 1
                if limits.max_depth is not None and depth + 1 >= limits.max_depth:
                    return False, f"max-depth {limits.max_depth}"
            return False, None
        stats.transitions += sum(m.transitions for m in metas)
        metas = next_metas
        level_start, total = total, total + level.size
        if level.size:
            depth += 1
    stats.states, stats.depth, stats.queue = total, depth, 0
    return True, None


def _clear_stop(
    run: _Run,
    level: _Level,
    selected: list[int],
    pending: list[int],
    found: dict[int, _Violation],
    dead: int | None,
    total: int,
) -> int | None:
    """The parent after which the single-process search stops because every invariant has its
    counterexample, if in this level. Looking for a timelock, it goes on until it meets one:
    then it stops after the later of the last violation's parent and the timelock."""
    if not selected or len(found) < len(pending) or (run.looking and dead is None):
        return None
    marks = [v.key >> KEY_SHIFT for v in found.values()]
    stop = max([*marks, *([dead] if dead is not None else [])], default=None)
    if stop is not None and stop + 1 == total and not level.size:
        return None  # the level's last state, and no new one: the search is complete
    return stop


def _rank_if_traced(transport: Transport, level: _Level, pending: list[int], ranked: bool) -> None:
    """Have the workers give the level its global ids now if a counterexample is to be fetched
    from it before they expand it (which ranks it too)."""
    if not ranked and any(inv in pending for m in level.merged for inv in m.violations):
        transport.rank()


def _stop(
    stats: Stats, total: int, level_start: int, depth: int, limit: str | None
) -> tuple[bool, str | None]:
    stats.states, stats.depth, stats.queue = total, depth, total - level_start
    return False, limit


@dataclass
class _Level:
    """One merged level: each partition's new states' keys, ascending. A state's global id is
    the level's first id plus its key's rank among all of them; the workers work out their
    own, so the driver ranks only what it must (a violation, a stopping point)."""

    start: int  # the global id of its first state
    keys: list[array[int]]  # per partition
    merged: list[Merged]

    @staticmethod
    def of(merged: Sequence[Merged], start: int) -> _Level:
        keys = []
        for m in merged:
            run: array[int] = array("q")
            run.frombytes(m.keys)
            keys.append(run)
        return _Level(start, keys, list(merged))

    @property
    def size(self) -> int:
        return sum(len(k) for k in self.keys)

    def below(self, key: int) -> int:
        """The level's keys less than `key`."""
        return sum(bisect_left(k, key) for k in self.keys)

    def gid(self, p: int, pos: int) -> int:
        return self.start + self.below(self.keys[p][pos])

    def count_upto(self, parent: int) -> int:
        """New states discovered by parents up to `parent` (inclusive)."""
        return self.below((parent + 1) << KEY_SHIFT)

    def nth_key(self, i: int) -> int:
        """The level's i-th least key (from 0), by bisection over the keys' values."""
        lo = min(k[0] for k in self.keys if k)
        hi = max(k[-1] for k in self.keys if k)
        while lo < hi:  # the least v with more than i keys <= v
            mid = (lo + hi) // 2
            if self.below(mid + 1) > i:
                hi = mid
            else:
                lo = mid + 1
        return lo


def _max_states_stop(max_states: int | None, level: _Level, first: int, total: int) -> int | None:
    """The parent after which the single-process search stops at --max-states, if in this
    level: the first whose expansion brings the stored states to the limit, while some are
    left to expand."""
    if max_states is None:
        return None
    if total >= max_states:
        if first + 1 < total or level.size:
            return first
        return None
    need = max_states - total
    if need > level.size:
        return None
    return level.nth_key(need - 1) >> KEY_SHIFT


@dataclass(frozen=True)
class _Violation:
    gid: int
    key: int  # its discovery key: its parent's id and its place among the parent's successors
    why: str | None  # the invariant could not be evaluated there


def _first_violations(level: _Level, pending: list[int]) -> dict[int, _Violation]:
    """Per pending invariant violated in this level, its first violating state (least id)."""
    found: dict[int, _Violation] = {}
    for p, m in enumerate(level.merged):
        for inv, (pos, why) in m.violations.items():
            if inv not in pending:
                continue
            gid = level.gid(p, pos)
            if inv not in found or gid < found[inv].gid:
                found[inv] = _Violation(gid, level.keys[p][pos], why)
    return found


def _record_violations(
    run: _Run,
    level: _Level,
    pending: list[int],
    stop: int | None,
    found: dict[int, _Violation] | None = None,
) -> None:
    """Keep each invariant's first violation in this level (found by a parent up to `stop`),
    its trace fetched at once; take it off `pending`."""
    if found is None:
        found = _first_violations(level, pending)
    for inv, v in sorted(found.items()):
        if stop is not None and v.key >> KEY_SHIFT > stop:
            continue
        tracer, last = run.tracer(v.gid)
        trace, state = tracer.path_and_state(last)
        run.violated[inv] = _Found(v.gid, trace, state, v.why)
        pending.remove(inv)


def _record_hits(run: _Run, metas: Sequence[Expanded], stop: int | None) -> None:
    """The first failing step per action and error code (least parent id), its trace at once."""
    best: dict[str, tuple[int, ErrorData]] = {}
    for meta in metas:
        for key, (gid, data) in meta.bound_hits.items():
            if key in run.hits or (stop is not None and gid > stop):
                continue
            if key not in best or gid < best[key][0]:
                best[key] = (gid, data)
    for key, (gid, data) in sorted(best.items()):
        err = StepError(*data)
        tracer, last = run.tracer(gid)
        run.hits[key] = (_Found(gid, tracer.error_path(last, err)), err)


def _result(run: _Run, selected: list[int], complete: bool, limit: str | None) -> CheckResult:
    model = run.model
    results: list[PropertyResult] = []
    hits = run.hits
    for i in selected:
        inv = model.invariants[i]
        found = run.violated.get(i)
        if found is not None:
            why = None
            if found.why is not None and found.last is not None:
                failure = inv.error(found.last)
                why = failure.message if failure is not None else found.why
            reason = f"cannot be evaluated in the last state: {why}" if why else None
            results.append(
                PropertyResult(inv.name, "invariant", VIOLATED, inv.span.line, found.trace, reason)
            )
        elif complete and not hits:
            results.append(PropertyResult(inv.name, "invariant", HOLDS, inv.span.line))
        else:
            bounds = _bound_names(model, [hits[k][1] for k in sorted(hits)])
            why = (
                f"the search stopped at {limit} before covering every state"
                if limit
                else f"a step left the model's bounds ({bounds}), so the states past it were"
                f" not explored; no violation in the {run.stats.states:,} states explored"
            )
            if limit and hits:
                why += f"; a step left the model's bounds ({bounds})"
            results.append(
                PropertyResult(inv.name, "invariant", INCONCLUSIVE, inv.span.line, None, why)
            )
    for key in sorted(hits):
        found, err = hits[key]
        where = f" in {model.actions[err.action].label}" if err.action >= 0 else " in init"
        results.append(
            PropertyResult(
                f"bound: {err.code}{where}",
                "bound",
                VIOLATED,
                err.line,
                found.trace,
                explain_bound(model, err),
            )
        )
    notes = list(model.symmetry_notes) if run.symmetry else []
    if run.dead is not None and run.dead.trace is not None:
        results.append(timelock_result(model, run.dead.trace, run.dead.last))
    elif model.timed and run.budget_limits.allow_timelocks:
        notes.append(ALLOWED_NOTE)
    return CheckResult(
        model=model.name,
        engine="explicit",
        stats=run.stats,
        properties=results,
        complete=complete,
        limit=limit,
        notes=notes,
    )


def _bound_names(model: CompiledModel, errors: list[StepError]) -> str:
    names = [
        f"{e.code} in {model.actions[e.action].label if e.action >= 0 else 'init'}" for e in errors
    ]
    shown = ", ".join(names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _add_properties(
    result: CheckResult,
    model: CompiledModel,
    props: list[str],
    symmetry: bool,
    limits: Limits,
    progress: ProgressFn | None,
) -> None:
    """The temporal properties, by the single-process search on this machine (it stores the
    state graph), as spec/distributed.md says."""
    plain = explore(
        model, invariants=[], properties=props, symmetry=symmetry,
        limits=replace(limits, allow_timelocks=True),  # the distributed search looked for them
        progress=progress,
    )  # fmt: skip
    result.properties.extend(p for p in plain.properties if p.kind == "property")
    known = {p.name for p in result.properties}
    result.properties.extend(
        p for p in plain.properties if p.kind == "bound" and p.name not in known
    )
    result.notes.append(
        f"temporal properties were checked by the single-process search on this machine"
        f" ({plain.stats.states:,} states, {plain.stats.seconds:.2f} s): the distributed search"
        " checks invariants only"
    )
