"""Exhaustive breadth-first search of a compiled model's reachable states.

Breadth-first order makes the first violating state found for an invariant one at the least
depth, so its trace is a shortest counterexample. The visited set (store.py: packed states in C,
or a dict of tuples without a compiler) keeps each (canonical) state at an index that doubles as
its place in the BFS queue, with its parent's index; a trace is rebuilt by walking parents back
and replaying the actions from the initial state through the same compiled code (a replay that
cannot find a step is an internal error).
"""

from __future__ import annotations

import gc
import time
from array import array
from collections.abc import Callable, MutableSequence, Sequence
from dataclasses import dataclass, replace
from typing import cast

from kcheck.explore.budget import Budget, Stopped
from kcheck.explore.liveness import Graph
from kcheck.explore.property_verdicts import BoundHit, bound_names, guarded_property_result
from kcheck.explore.store import (
    GeneratedCode,
    PyStore,
    StateStore,
    generated_code,
    make_store,
    why_not_native,
)
from kcheck.explore.timelock import ALLOWED_NOTE, timelock_result
from kcheck.explore.tracer import Tracer
from kcheck.model.bounds import explain_bound
from kcheck.model.ir import CompiledModel, InvariantInfo, PropertyInfo, State, StepError
from kcheck.result import (
    HOLDS,
    INCONCLUSIVE,
    VIOLATED,
    CheckResult,
    PropertyResult,
    Stats,
)


@dataclass(frozen=True)
class Limits:
    max_states: int | None = None
    max_depth: int | None = None
    timeout: float | None = None  # seconds, from the search's start when there is no budget
    # the command's own deadline, memory ceiling and stop requests, shared by all its searches
    budget: Budget | None = None
    # called when max_states is reached: (the index where each level starts, the end of the
    # level being expanded, the next state to expand, states stored) -> a larger max_states to
    # go on to, or None to stop (--engine auto: go on when the rest is predicted to be small)
    more_states: Callable[[Sequence[int], int, int, int], int | None] | None = None
    # `--allow-timelocks`: in a model with time, a reachable state with no step at all is not
    # reported (spec/explorer.md, "Timelocks"); without time there is nothing to allow
    allow_timelocks: bool = False
    # threads expanding states at once (`--threads`): the same states, indices and traces as
    # one (store_par.c); used where the model runs as generated C and no graph is kept
    threads: int = 1


ProgressFn = Callable[[Stats], None]
PROGRESS_EVERY = 0.5  # seconds between progress callbacks
# states stored before the search builds (or loads from the cache) the model's generated C:
# a first build costs about a second, which a small search would not win back
GEN_AFTER = 20_000
# states per call of the several-thread search (a power of two, polled at its multiples)
PAR_SLICE = 4096
MAX_THREADS = 256  # store_par.c's PAR_MAX_THREADS


def explore(
    model: CompiledModel,
    *,
    invariants: Sequence[str] | None = None,
    properties: Sequence[str] | None = None,
    symmetry: bool = True,
    limits: Limits = Limits(),
    progress: ProgressFn | None = None,
    packed: bool = True,
) -> CheckResult:
    """Search every reachable state; report each selected invariant and temporal property, and
    every bound hit. None selects all of a sort; with temporal properties selected, the search
    also stores the state graph for the liveness check (spec/liveness.md). `packed` False keeps
    the states in the reference Python store even where the native one can be built."""
    t0 = time.monotonic()
    if not 1 <= limits.threads <= MAX_THREADS:
        raise ValueError(f"threads must be 1 to {MAX_THREADS}")
    selected = (
        [model.invariant(n) for n in invariants]
        if invariants is not None
        else list(model.invariants)
    )
    props = [p for p in model.properties if properties is None or p.name in properties]
    canon = model.canonicalize if symmetry else None
    succ = model.symmetric_successors if canon is not None else model.successors
    stats = Stats()
    # Millions of stored tuples hold only ints: the cyclic collector can never free any of them,
    # yet it would walk them all, again and again, as the search allocates.
    collecting = gc.isenabled()
    gc.disable()
    # A quantified property talks about particular objects, whose slots the symmetry reduction
    # renames: it gets a graph of its own, searched without symmetry.
    apart = [p for p in props if p.quantified] if canon is not None else []
    together = [p for p in props if p not in apart]
    try:
        result = _search(
            model, selected, together, canon, succ, stats, limits, progress, symmetry, t0, packed
        )
        if apart:
            t1 = time.monotonic()
            plain = _search(
                model,
                [],
                apart,
                None,
                model.successors,
                Stats(),
                replace(limits, allow_timelocks=True),  # the first search looked for them
                progress,
                False,
                t1,
                packed,
            )
            by_name = {p.name: p for p in plain.properties}
            result.properties.extend(by_name[p.name] for p in apart)
            # a bound that search met and the first one did not (it stopped once every
            # invariant was violated) is still a bound of the model: report it, since the
            # properties' verdicts rest on it
            known = {p.name for p in result.properties}
            result.properties.extend(
                p for p in plain.properties if p.kind == "bound" and p.name not in known
            )
            result.notes.append(
                f"properties under `forall` were checked on a search without symmetry reduction"
                f" ({plain.stats.states:,} states, {plain.stats.seconds:.2f} s)"
            )
            result.stats.seconds = time.monotonic() - t0
        return result
    finally:
        if collecting:
            gc.enable()


def _initial(model: CompiledModel) -> list[State]:
    """The initial states, to lay the packed store out by (none when `init` fails: the search
    reports that itself)."""
    try:
        return model.initial()
    except StepError:
        return []


def _search(
    model: CompiledModel,
    selected: list[InvariantInfo],
    props: list[PropertyInfo],
    canon: Callable[[State], State] | None,
    succ: Callable[[State], list[State]],
    stats: Stats,
    limits: Limits,
    progress: ProgressFn | None,
    symmetry: bool,
    t0: float,
    packed: bool,
) -> CheckResult:
    store: StateStore = make_store(model.layout, _initial(model)) if packed else PyStore()
    size = store.size
    violated: dict[str, int] = {}  # invariant -> index of its first violating state
    pending = [(inv.name, inv.holds) for inv in selected]
    bound_hits: dict[str, BoundHit] = {}  # one per (action, error code)
    unevaluable: dict[str, str] = {}  # invariant -> why it could not be evaluated
    limit: str | None = None
    # In a model with time, a state with no successor at all stops time (a timelock): the
    # first one met, the least deep by BFS order. A state where some step fails is a bound hit,
    # reported as such, never a timelock.
    watch = model.timed and not limits.allow_timelocks
    dead: int | None = None

    def all_hold(pend: list[tuple[str, Callable[[State], bool]]]) -> Callable[[State], bool]:
        """One call that is true when every pending invariant holds (the common case)."""
        checks = {f"h{i}": h for i, (_, h) in enumerate(pend)}
        if len(checks) == 1:
            return checks["h0"]
        ns: dict[str, object] = dict(checks)
        exec("def conj(s):\n    return " + " and ".join(f"{n}(s)" for n in checks), ns)
        conj: Callable[[State], bool] = ns["conj"]  # type: ignore[assignment]
        return conj

    check: Callable[[State], bool] | None = all_hold(pending) if pending else None

    def record_broken(s: State, idx: int) -> None:
        """The slow path, for a state where some invariant fails: find which ones."""
        nonlocal pending, check
        for name, holds in pending:
            try:
                ok = holds(s)
            except StepError as err:  # e.g. the invariant reads a field through `none`
                ok = False
                unevaluable[name] = err.message
            if not ok:
                violated[name] = idx
        pending = [(n, h) for n, h in pending if n not in violated]
        check = all_hold(pending) if pending else None

    def checked(new: list[State], idx: int) -> None:
        """Check the states just stored from `idx` on (the search's hot path: most hold)."""
        for t in new:
            if check is None:
                return
            try:
                ok = check(t)
            except StepError:
                ok = False
            if not ok:
                record_broken(t, idx)
            idx += 1

    def on_broken(t: State, idx: int) -> Callable[[State], bool] | None:
        record_broken(t, idx)
        return check

    gen: GeneratedCode | None = None
    # the generated C runs without symmetry, or with the native canonicaliser (its C entry)
    canon_c = getattr(canon, "capsule", None)
    gen_tried = canon is not None and canon_c is None
    canon_capsule = canon_c() if canon_c is not None else None
    inv_number = {inv.name: k for k, inv in enumerate(model.invariants)}

    def gen_ids() -> list[int] | None:
        """The pending invariants' numbers for the generated C, when it has all of them."""
        assert gen is not None
        ids = [inv_number.get(n, -1) for n, _ in pending]
        return ids if all(k in gen.invariants for k in ids) else None

    def on_broken_gen(t: State, idx: int) -> tuple[Callable[[State], bool] | None, object]:
        record_broken(t, idx)
        return check, gen_ids()

    extend = store.extend
    index_all = store.index_all
    get = store.get
    expand = store.expand
    # the graph, stored only when a temporal property needs it
    record = bool(props)
    tagged = model.tagged_symmetric_successors if canon is not None else model.tagged_successors
    # compact: 4 bytes per edge's target, 2 per its action, 8 per node's enabled actions
    edge_start = array("q", [0])
    edge_to = array("i")
    edge_act = array("H" if len(model.actions) < 2**16 else "i")
    enabled: MutableSequence[int] = array("Q") if len(model.actions) <= 64 else []
    level_end = 0
    deadline = t0 + limits.timeout if limits.timeout else None
    next_report = t0 + PROGRESS_EVERY
    max_states = limits.max_states
    budget = limits.budget
    if budget is not None and budget.deadline is not None:
        deadline = budget.deadline
    i = 0
    depth = 0
    complete = True
    if budget is not None:
        budget.armed = True
    try:
        try:
            inits = model.initial()
        except StepError as err:
            inits = []
            bound_hits[f"init/{err.code}"] = BoundHit(-1, err)
        for s in inits:
            c = canon(s) if canon else s
            idx = store.add(c, -1)
            if idx >= 0:
                checked([c], idx)
        level_end = size()
        level_starts = [0]
        while i < size():
            if i == level_end:
                depth += 1
                level_starts.append(i)
                level_end = size()
                if limits.max_depth is not None and depth >= limits.max_depth:
                    limit, complete = f"max-depth {limits.max_depth}", False
                    break
            if not pending and selected and not record and not (watch and dead is None):
                # Every invariant has its shortest counterexample; like TLC, stop here.
                complete = False
                break
            if i & 1023 == 0:
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    limit, complete = f"timeout {limits.timeout:g}s", False
                    break
                why = budget.poll(now) if budget is not None else None
                if why is not None:
                    limit, complete = why, False
                    break
                if progress is not None and now >= next_report:
                    stats.states, stats.depth, stats.queue = size(), depth, size() - i
                    stats.seconds = now - t0
                    progress(stats)
                    next_report = now + PROGRESS_EVERY
            if expand is not None and not record:
                # the hot path, in C: states i.. up to the next poll or level, as below
                if gen is None and size() >= GEN_AFTER and not gen_tried:
                    gen_tried = True  # the model's C, once the search is large enough to pay
                    gen = generated_code(model, canon is not None)
                # several threads take a larger slice at a time: each slice starts them once
                par = gen is not None and limits.threads > 1
                stop = min(level_end, (i | (PAR_SLICE - 1 if par else 1023)) + 1)
                limit_n = max_states if max_states is not None else -1
                # stop when the check is clear (1), at a state with no successor (2)
                looking = watch and dead is None
                flags = (2 if looking else 0) | (1 if selected and not looking else 0)
                if gen is not None:
                    args = (gen.capsule, i, stop, gen.fallbacks, succ, check, gen_ids(),
                            on_broken_gen, StepError, limit_n, flags, canon_capsule)  # fmt: skip
                    if par:
                        i, n, failed = store.expand_gen_par(*args, limits.threads)  # type: ignore[attr-defined]
                    else:
                        i, n, failed = store.expand_gen(*args)  # type: ignore[attr-defined]
                else:
                    i, n, failed = expand(
                        i, stop, succ, canon, check, on_broken, StepError, limit_n, flags
                    )
                stats.transitions += n
                if failed == 2:  # state i - 1 has no successor
                    dead = i - 1
                elif failed:  # a step of state i failed: the slow path below, for this state
                    s = get(i)
                    nexts = _successors_around_errors(model, s, i, bound_hits)
                    stats.transitions += len(nexts)
                    new = extend(nexts, i, canon)
                    if new and check is not None:
                        checked(new, size() - len(new))
                    i += 1
                if max_states is not None and size() >= max_states and i < size():
                    more = _more(limits, level_starts, level_end, i, size())
                    if more is None:
                        limit, complete = f"max-states {max_states}", False
                        break
                    max_states = more
                continue
            if record and expand is not None and len(model.actions) <= 64:
                # the graph-keeping search in C, as the Python form below
                if gen is None and size() >= GEN_AFTER and not gen_tried:
                    gen_tried = True
                    gen = generated_code(model, canon is not None)
                if gen is not None:
                    par = limits.threads > 1
                    stop = min(level_end, (i | (PAR_SLICE - 1 if par else 1023)) + 1)
                    limit_n = max_states if max_states is not None else -1
                    first = i
                    targs = (gen.capsule, i, stop, gen.tagged_fallbacks, tagged, check, gen_ids(),
                             on_broken_gen, StepError, limit_n, len(edge_to), canon_capsule)  # fmt: skip
                    if par:
                        out = store.expand_gen_par_tagged(*targs, limits.threads)  # type: ignore[attr-defined]
                    else:
                        out = store.expand_gen_tagged(*targs)  # type: ignore[attr-defined]
                    i, n, failed, to, act, en, ends = out
                    stats.transitions += n
                    edge_to.frombytes(to)
                    edge_act.frombytes(act)
                    cast("array[int]", enabled).frombytes(en)
                    edge_start.frombytes(ends)
                    if watch and dead is None:  # a state expanded here without an edge
                        dead = next(
                            (j for j in range(first, i) if edge_start[j + 1] == edge_start[j]),
                            None,
                        )
                    if max_states is not None and size() >= max_states and i < size():
                        more = _more(limits, level_starts, level_end, i, size())
                        if more is None:
                            limit, complete = f"max-states {max_states}", False
                            break
                        max_states = more
                    if not failed:  # else state i takes the slow path below
                        continue
            s = get(i)
            if record:
                # the same as below, also keeping every edge and the actions enabled here
                try:
                    pairs = tagged(s)
                    if not pairs and watch and dead is None:
                        dead = i
                except StepError:
                    pairs = _tagged_around_errors(model, s, i, bound_hits)
                stats.transitions += len(pairs)
                before = size()
                targets = index_all([t for _, t in pairs], i, canon)
                mask = 0
                for aid, _ in pairs:
                    mask |= 1 << aid
                    edge_act.append(aid)
                edge_to.extend(targets)
                enabled.append(mask)
                edge_start.append(len(edge_to))
                if check is not None and size() > before:
                    checked([get(j) for j in range(before, size())], before)
            else:
                try:
                    nexts = succ(s)
                    if not nexts and watch and dead is None:
                        dead = i
                except StepError:
                    nexts = _successors_around_errors(model, s, i, bound_hits)
                stats.transitions += len(nexts)
                new = extend(nexts, i, canon)
                if new and check is not None:
                    checked(new, size() - len(new))
            i += 1
            if max_states is not None and size() >= max_states and i < size():
                more = _more(limits, level_starts, level_end, i, size())
                if more is None:
                    limit, complete = f"max-states {max_states}", False
                    break
                max_states = more

    except Stopped as stop:
        limit, complete = stop.reason, False
    except MemoryError:
        limit, complete = "out of memory", False
    finally:
        if budget is not None:
            budget.armed = False
    # (the store keeps a state and its parent together: an interrupted step leaves no half)
    i = min(i, size())
    stats.states = size()
    stats.depth = depth
    stats.queue = size() - i
    stats.seconds = time.monotonic() - t0

    explored_all = complete and i >= size()
    results: list[PropertyResult] = []
    parent = store.parent_array()
    tracer = Tracer(model, store, parent, canon, budget)
    for inv in selected:
        if inv.name in violated:
            trace, last = tracer.path_and_state(violated[inv.name])
            why = None
            if inv.name in unevaluable and last is not None:
                # on the trace's own last state, so the objects it names are the trace's
                failure = inv.error(last)
                why = failure.message if failure is not None else unevaluable[inv.name]
            results.append(
                PropertyResult(
                    inv.name,
                    "invariant",
                    VIOLATED,
                    inv.span.line,
                    trace,
                    f"cannot be evaluated in the last state: {why}" if why else None,
                )
            )
        elif explored_all and not bound_hits:
            results.append(PropertyResult(inv.name, "invariant", HOLDS, inv.span.line))
        else:
            why = (
                f"the search stopped at {limit} before covering every state"
                if limit
                else f"a step left the model's bounds ({bound_names(model, bound_hits)}), so the"
                f" states past it were not explored; no violation in the {size():,} states"
                " explored"
            )
            if limit and bound_hits:
                why += f"; a step left the model's bounds ({bound_names(model, bound_hits)})"
            results.append(
                PropertyResult(inv.name, "invariant", INCONCLUSIVE, inv.span.line, None, why)
            )
    for _, hit in sorted(bound_hits.items()):
        step_error = hit.error
        where = (
            f" in {model.actions[step_error.action].label}"
            if step_error.action >= 0
            else " in init"
        )
        results.append(
            PropertyResult(
                f"bound: {step_error.code}{where}",
                "bound",
                VIOLATED,
                step_error.line,
                tracer.error_path(hit.index, step_error),
                explain_bound(model, step_error),
            )
        )
    notes = (list(model.symmetry_notes) if symmetry else []) + _store_notes(store, packed)
    notes += _thread_notes(
        limits.threads, record and len(model.actions) > 64, gen_tried and gen is None, store.native
    )
    if dead is not None:
        trace, last = tracer.path_and_state(dead)
        results.append(timelock_result(model, trace, last))
    elif model.timed and limits.allow_timelocks:
        notes.append(ALLOWED_NOTE)
    graph = Graph(store, parent, edge_start, edge_to, edge_act, enabled) if record else None
    for prop in props:
        results.append(
            guarded_property_result(
                model, prop, graph, explored_all, bound_hits, limit, tracer, budget, gen
            )
        )
    stats.seconds = time.monotonic() - t0  # the liveness analysis included
    return CheckResult(
        model=model.name,
        engine="explicit",
        stats=stats,
        properties=results,
        complete=explored_all,
        limit=limit,
        notes=notes,
    )


def _store_notes(store: StateStore, packed: bool) -> list[str]:
    """A note when the packed native store was wanted and could not be used."""
    if store.native or not packed:
        return []
    return [
        f"the search kept its states in Python, not in the packed native store"
        f" ({why_not_native()}): the same results, more slowly and in more memory"
    ]


def _thread_notes(threads: int, record: bool, no_c: bool, native_store: bool) -> list[str]:
    """A note when more threads were asked for than the search could use (a search that
    ended before it built its C, GEN_AFTER states, needed none). `record`: it kept a graph
    that the C search cannot keep."""
    if threads <= 1 or not (record or no_c or not native_store):
        return []
    if record:
        why = "it kept the state graph of a model with more than 64 actions"
    elif not native_store:
        why = f"its states were kept in Python ({why_not_native()})"
    else:
        why = "the model's successor function does not translate to C"
    return [f"the search ran on one thread, not {threads}: {why}"]


def _more(limits: Limits, starts: list[int], level_end: int, i: int, n: int) -> int | None:
    """A larger state limit to go on to, when the caller's hook asks for one."""
    more = limits.more_states(starts, level_end, i, n) if limits.more_states else None
    return more if more is not None and more > n else None


def _tagged_around_errors(
    model: CompiledModel, s: State, index: int, hits: dict[str, BoundHit]
) -> list[tuple[int, State]]:
    """`_successors_around_errors` with the action of every successor."""
    out: list[tuple[int, State]] = []
    for outcomes in model.action_outcomes:
        for aid, _, t in outcomes(s):
            if isinstance(t, StepError):
                key = f"{t.action}/{t.code}"
                if key not in hits:
                    hits[key] = BoundHit(index, t)
            else:
                out.append((aid, t))
    return out


def _successors_around_errors(
    model: CompiledModel, s: State, index: int, hits: dict[str, BoundHit]
) -> list[State]:
    """The slow path, for a state where some step fails: every outcome of every action, each
    failing instance recorded (the first per action and error code), every other step kept."""
    out: list[State] = []
    for outcomes in model.action_outcomes:
        for _, _, t in outcomes(s):
            if isinstance(t, StepError):
                key = f"{t.action}/{t.code}"
                if key not in hits:
                    hits[key] = BoundHit(index, t)
            else:
                out.append(t)
    return out
