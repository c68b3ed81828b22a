"""Random simulation (`kcheck simulate`, `--engine simulate`; spec/simulate.md): random walks
from the initial states, each step chosen uniformly among every enabled action instance (the
model's own outcomes, failing ones included), every invariant checked on every state, every
temporal property on the states a walk visited. A walk is a list of choices (indices into the
outcomes of each state), so it can be replayed, shrunk (explore/shrink.py) and rebuilt as a
trace through the same compiled code.

Reproducible by seed: trace i is driven by its own generator seeded from (seed, i), so which
process ran it does not matter and `workers` never changes the answer. A simulation can find a
violation but never proves anything: every entry it did not find violated is inconclusive.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kcheck.explore.coverage import Tally, outcomes_with_paths, rows
from kcheck.explore.liveness import Graph, check_property
from kcheck.explore.replay import TraceMismatch, check_counterexample
from kcheck.explore.shrink import Outcome, run_choices, shrink, shrink_walk, taken
from kcheck.explore.timelock import ALLOWED_NOTE, TIMELOCK, timelock_result
from kcheck.explore.tracer import Tracer
from kcheck.model.bounds import explain_bound
from kcheck.model.ir import CompiledModel, PropertyInfo, State, StepError
from kcheck.result import (
    INCONCLUSIVE,
    NOT_CHECKED,
    VIOLATED,
    ActionCoverage,
    CheckResult,
    Coverage,
    PropertyResult,
    Stats,
)
from kcheck.trace import Step, Trace, name_objects


@dataclass(frozen=True)
class SimOptions:
    traces: int = 1000
    depth: int = 50
    seed: int = 0
    workers: int = 1
    shrink: bool = True
    timeout: float | None = None  # seconds for the walks; the walks done by then count
    allow_timelocks: bool = False  # --allow-timelocks: a walk where time stops just ends
    # runs the walks elsewhere (kcheck simulate --ray: kcheck/distributed/walks.py): the job
    # and the number of traces -> the parts, in any ranges
    spread: Callable[[_Job, int], list[_Chunk]] | None = None


@dataclass
class _Found:
    """The shortest violating walk of one invariant or bound (ties: the lowest trace index)."""

    kind: str  # "invariant", "bound" or "timelock"
    choices: tuple[int, ...]
    index: int  # the trace that found it


@dataclass
class _Chunk:
    """What the walks of a range of trace indices found and covered."""

    fired: list[int]
    passed: list[int]  # enabled but another instance was taken
    deepest: list[int]
    steps: int = 0
    walks: int = 0
    found: dict[str, _Found] = field(default_factory=dict)
    lassos: dict[str, tuple[int, tuple[int, ...]]] = field(default_factory=dict)
    states: set[State] = field(default_factory=set)
    deadlocks: int = 0
    tally: Tally | None = None  # guards and branches, when the model has its coverage form


def trace_seed(seed: int, index: int) -> str:
    """Trace `index`'s own seed: the same in every process (a str seeds Random by SHA-512)."""
    return f"kcheck-simulate:{seed}:{index}"


def outcomes(model: CompiledModel, s: State) -> list[Outcome]:
    """Every enabled instance of every action in `s`, failing ones included, in model order:
    the list a walk's choice indexes."""
    return [o for outs in model.action_outcomes for o in outs(s)]


def simulate(
    model: CompiledModel,
    *,
    invariants: Sequence[str] | None = None,
    properties: Sequence[str] | None = None,
    options: SimOptions = SimOptions(),
) -> CheckResult:
    """Run `options.traces` random walks of up to `options.depth` steps and report what they
    found: a violation with its (shrunk) trace, else inconclusive."""
    t0 = time.monotonic()
    inv_names = [i.name for i in model.invariants] if invariants is None else list(invariants)
    props = [p for p in model.properties if properties is None or p.name in properties]
    deadline = t0 + options.timeout if options.timeout else None
    chunks = _ranges(options.traces, max(1, options.workers))
    job = _Job(
        model,
        inv_names,
        [p.name for p in props],
        options.depth,
        options.seed,
        deadline,
        model.timed and not options.allow_timelocks,
    )
    if options.spread is not None:
        parts = options.spread(job, options.traces)
    elif options.workers > 1 and len(chunks) > 1:
        import multiprocessing  # here: `kcheck verify` imports this module, not to simulate

        ctx = multiprocessing.get_context("fork")  # the compiled model's code is not picklable
        with ctx.Pool(len(chunks), initializer=_set_job, initargs=(job,)) as pool:
            parts = pool.map(_run_chunk, chunks)
    else:
        parts = [job.run(lo, hi) for lo, hi in chunks]
    total = _merge(len(model.actions), parts)
    stats = Stats(
        states=len(total.states), transitions=total.steps, depth=max(total.deepest, default=0),
        seconds=0.0,
    )  # fmt: skip
    results = _invariant_results(model, inv_names, total, options)
    results += _bound_results(model, total, options)
    results += _timelock_results(model, total, options)
    results += _property_results(model, props, total, options)
    stats.seconds = time.monotonic() - t0
    walked = f"{total.walks:,} random traces of up to {options.depth} steps (seed {options.seed})"
    notes = [f"simulation: {walked}; a simulation never proves a property"]
    if model.timed and options.allow_timelocks:
        notes.append(ALLOWED_NOTE)
    if total.walks < options.traces:
        notes.append(f"the time ran out after {total.walks:,} of {options.traces:,} traces")
    coverage = Coverage(
        traces=total.walks,
        depth=options.depth,
        seed=options.seed,
        actions=tuple(
            ActionCoverage(a.label, total.fired[a.id], total.passed[a.id], total.deepest[a.id])
            for a in model.actions
        ),
        branches=rows(model, total.tally) if total.tally is not None else (),
    )
    return CheckResult(
        model=model.name,
        engine="simulate",
        stats=stats,
        properties=results,
        complete=False,
        limit=f"simulation {total.walks} traces depth {options.depth}",
        notes=notes,
        coverage=coverage,
    )


def _ranges(traces: int, workers: int) -> list[tuple[int, int]]:
    size = -(-traces // workers) if traces else 0
    return [(lo, min(traces, lo + size)) for lo in range(0, traces, size)] if size else []


@dataclass(frozen=True)
class _Job:
    model: CompiledModel
    invariants: list[str]
    properties: list[str]
    depth: int
    seed: int
    deadline: float | None
    timelocks: bool = True  # a walk that ends where time stops is reported (spec/simulate.md)

    def run(self, lo: int, hi: int) -> _Chunk:
        n = len(self.model.actions)
        chunk = _Chunk([0] * n, [0] * n, [0] * n)
        checks = [(name, self.model.invariant(name).holds) for name in self.invariants]
        props = [p for p in self.model.properties if p.name in self.properties]
        code = self.model.coverage
        if code is not None:
            code.take_counts()  # this range's guard counts only
            chunk.tally = Tally.empty(code)
        for index in range(lo, hi):
            if self.deadline is not None and time.monotonic() >= self.deadline:
                break
            self._walk(index, checks, props, chunk)
        if code is not None and chunk.tally is not None:
            chunk.tally.guards = code.take_counts()
        return chunk

    def _walk(
        self,
        index: int,
        checks: list[tuple[str, Callable[[State], bool]]],
        props: list[PropertyInfo],
        chunk: _Chunk,
    ) -> None:
        import random  # here, like multiprocessing: start-up time

        model = self.model
        rng = random.Random(trace_seed(self.seed, index))
        chunk.walks += 1
        try:
            inits = model.initial()
        except StepError as err:
            _keep(chunk.found, f"bound: {err.code} in init", _Found("bound", (0,), index))
            return
        if not inits:
            return
        choice = rng.randrange(len(inits))
        choices = [choice]
        s = inits[choice]
        for depth in range(self.depth + 1):
            chunk.states.add(s)
            if _broken(s, checks, choices, index, chunk):
                return
            if depth == self.depth:
                break
            if chunk.tally is not None and model.coverage is not None:
                outs, paths = outcomes_with_paths(model.coverage, s)
            else:
                outs, paths = outcomes(model, s), []
            if not outs:
                chunk.deadlocks += 1
                if self.timelocks:  # a timed model: time stops here (explore/bfs.py)
                    _keep(chunk.found, TIMELOCK, _Found("timelock", tuple(choices), index))
                    return
                break
            choice = rng.randrange(len(outs))
            choices.append(choice)
            if chunk.tally is not None:
                chunk.tally.took(paths[choice], depth + 1)
            aid, _, t = outs[choice]
            enabled = {o[0] for o in outs}
            for a in enabled:
                if a != aid:
                    chunk.passed[a] += 1
            chunk.fired[aid] += 1
            chunk.deepest[aid] = max(chunk.deepest[aid], depth + 1)
            chunk.steps += 1
            if isinstance(t, StepError):
                key = f"bound: {t.code} in {model.actions[t.action].label}"
                _keep(chunk.found, key, _Found("bound", tuple(choices), index))
                return
            s = t
        if props:
            _lassos(model, props, tuple(choices), index, chunk)


def _broken(
    s: State,
    checks: list[tuple[str, Callable[[State], bool]]],
    choices: list[int],
    index: int,
    chunk: _Chunk,
) -> bool:
    broken = False
    for name, holds in checks:
        try:
            ok = holds(s)
        except StepError:  # e.g. it reads a field through `none`: a violation, as in explicit
            ok = False
        if not ok:
            _keep(chunk.found, name, _Found("invariant", tuple(choices), index))
            broken = True
    return broken


def _keep(found: dict[str, _Found], key: str, new: _Found) -> None:
    old = found.get(key)
    if old is None or (len(new.choices), new.index) < (len(old.choices), old.index):
        found[key] = new


def walk_graph(model: CompiledModel, choices: tuple[int, ...]) -> Graph:
    """The walk `choices` as a graph: one node per distinct state, one edge per step, and the
    actions truly enabled in each state, so the liveness check never takes a state the walk
    merely left by no step for one a behaviour may stop in: the graph is a subgraph of the
    model's, and a fair lasso in it is a fair behaviour of the model."""
    inits = model.initial()
    s = inits[choices[0] % len(inits)]
    index: dict[State, int] = {s: 0}
    states: list[State] = [s]
    parent = array("q", [-1])
    edges: dict[int, list[tuple[int, int]]] = {}
    prev = 0
    for aid, _, t in run_choices(model, choices):
        if isinstance(t, StepError):
            break
        j = index.get(t)
        if j is None:
            j = index[t] = len(states)
            states.append(t)
            parent.append(prev)
        if (j, aid) not in edges.setdefault(prev, []):
            edges[prev].append((j, aid))
        prev = j
    enabled = [sum({1 << o[0] for o in outcomes(model, u)}) for u in states]
    edge_start, edge_to, edge_act = array("q", [0]), array("q"), array("q")
    for u in range(len(states)):
        for v, a in edges.get(u, []):
            edge_to.append(v)
            edge_act.append(a)
        edge_start.append(len(edge_to))
    return Graph(states, parent, edge_start, edge_to, edge_act, enabled)


def _lassos(
    model: CompiledModel,
    props: list[PropertyInfo],
    choices: tuple[int, ...],
    index: int,
    chunk: _Chunk,
) -> None:
    """Each property checked on the graph of this walk (walk_graph)."""
    graph = walk_graph(model, choices)
    for prop in props:
        if prop.name in chunk.lassos and chunk.lassos[prop.name][0] <= index:
            continue
        if _lasso_of(model, graph, prop) is not None:
            chunk.lassos[prop.name] = (index, choices)


def _lasso_of(model: CompiledModel, graph: Graph, prop: PropertyInfo) -> Any:
    for _, preds in prop.instances:
        one = PropertyInfo(prop.name, prop.span, prop.shape, preds)
        try:
            lasso = check_property(model, graph, one)
        except StepError:
            return None  # a formula that cannot be evaluated: left to the explicit engine
        if lasso is not None:
            return lasso
    return None


_JOB: list[_Job] = []  # the forked workers' job, set once per process by the pool


def _set_job(job: _Job) -> None:
    _JOB[:] = [job]


def _run_chunk(bounds: tuple[int, int]) -> _Chunk:
    return _JOB[0].run(*bounds)


def _merge(n: int, parts: list[_Chunk]) -> _Chunk:
    total = _Chunk([0] * n, [0] * n, [0] * n)
    for part in parts:
        total.walks += part.walks
        total.steps += part.steps
        total.deadlocks += part.deadlocks
        total.states |= part.states
        for a in range(n):
            total.fired[a] += part.fired[a]
            total.passed[a] += part.passed[a]
            total.deepest[a] = max(total.deepest[a], part.deepest[a])
        for key, found in part.found.items():
            _keep(total.found, key, found)
        for key, (index, choices) in part.lassos.items():
            if key not in total.lassos or index < total.lassos[key][0]:
                total.lassos[key] = (index, choices)
        if part.tally is not None:
            if total.tally is None:
                total.tally = Tally([0] * len(part.tally.taken), [0] * len(part.tally.taken),
                                    [0] * len(part.tally.guards))  # fmt: skip
            total.tally.add(part.tally)
    return total


def _said(total: _Chunk, options: SimOptions) -> str:
    return (
        f"simulation: no violation in {total.walks:,} random traces of depth {options.depth} "
        f"(seed {options.seed}); a simulation never proves an invariant"
    )


def _invariant_results(
    model: CompiledModel, names: list[str], total: _Chunk, options: SimOptions
) -> list[PropertyResult]:
    out = []
    for name in names:
        inv = model.invariant(name)
        found = total.found.get(name)
        if found is None:
            out.append(
                PropertyResult(
                    name,
                    "invariant",
                    INCONCLUSIVE,
                    inv.span.line,
                    None,
                    _said(total, options),
                    engine="simulate",
                )
            )
            continue
        choices, note = _shrunk(model, name, found, options)
        trace = choices_trace(model, choices)
        out.append(
            PropertyResult(
                name, "invariant", VIOLATED, inv.span.line, trace, note, engine="simulate"
            )
        )
    return out


def _shrunk(
    model: CompiledModel, key: str, found: _Found, options: SimOptions
) -> tuple[tuple[int, ...], str]:
    before = len(found.choices) - 1
    where = f"found by random trace {found.index} (seed {options.seed})"
    if not options.shrink:
        return found.choices, f"{where}, {before} steps"
    choices = shrink(model, key, found.kind, found.choices, seed=options.seed)
    after = len(choices) - 1
    ratio = f"{after / before:.2f}" if before else "1.00"
    return choices, f"{where}; shrunk from {before} to {after} steps (ratio {ratio})"


def _bound_results(
    model: CompiledModel, total: _Chunk, options: SimOptions
) -> list[PropertyResult]:
    out = []
    for key, found in sorted(total.found.items()):
        if found.kind != "bound":
            continue
        try:
            model.initial()
        except StepError as failed:  # `init` itself fails: nothing to walk or shrink
            step = Step("init", {}, None, failed.message, failed.line)
            out.append(PropertyResult(key, "bound", VIOLATED, failed.line, Trace((step,)),
                                      explain_bound(model, failed), engine="simulate"))  # fmt: skip
            continue
        choices, note = _shrunk(model, key, found, options)
        steps = run_choices(model, choices)
        err = steps[-1][2] if steps else None
        if not isinstance(err, StepError):
            raise AssertionError(f"a simulated walk does not fail as {key}; this is a kcheck bug")
        trace = choices_trace(model, choices)
        out.append(
            PropertyResult(
                key,
                "bound",
                VIOLATED,
                err.line,
                trace,
                f"{explain_bound(model, err)}; {note}",
                engine="simulate",
            )
        )
    return out


def _timelock_results(
    model: CompiledModel, total: _Chunk, options: SimOptions
) -> list[PropertyResult]:
    """The shortest walk found that ends where time stops, shrunk, as the explicit engine
    reports a timelock."""
    found = total.found.get(TIMELOCK)
    if found is None:
        return []
    choices, note = _shrunk(model, TIMELOCK, found, options)
    steps = run_choices(model, choices)
    inits = model.initial()
    last = steps[-1][2] if steps else inits[choices[0] % len(inits)]
    if isinstance(last, StepError) or outcomes(model, last):
        raise AssertionError("a simulated timelock does not replay; this is a kcheck bug")
    out = timelock_result(model, choices_trace(model, choices), last)
    return [replace(out, reason=f"{out.reason}; {note}", engine="simulate")]


def _property_results(
    model: CompiledModel, props: list[PropertyInfo], total: _Chunk, options: SimOptions
) -> list[PropertyResult]:
    out = []
    for prop in props:
        line = prop.span.line
        if not prop.instances:
            why = "this property's `forall` cannot be checked (spec/liveness.md)"
            out.append(PropertyResult(prop.name, "property", NOT_CHECKED, line, reason=why))
            continue
        hit = total.lassos.get(prop.name)
        if hit is None:
            why = (
                f"simulation: no violating fair lasso in {total.walks:,} random traces of depth "
                f"{options.depth} (seed {options.seed}); a simulation never proves a property"
            )
            out.append(PropertyResult(prop.name, "property", INCONCLUSIVE, line, reason=why,
                                      engine="simulate"))  # fmt: skip
            continue
        index, choices = hit
        why = f"a fair lasso found by random trace {index} (seed {options.seed})"
        if options.shrink:
            before = len(choices) - 1
            choices = shrink_lasso(model, prop, choices, options.seed)
            after = len(choices) - 1
            ratio = f"{after / before:.2f}" if before else "1.00"
            why += f"; shrunk from {before} to {after} steps (ratio {ratio})"
        graph = walk_graph(model, choices)
        lasso = _lasso_of(model, graph, prop)
        if lasso is None:
            raise AssertionError("a simulated lasso does not replay; this is a kcheck bug")
        trace = Tracer(model, graph.states, graph.parent, None).lasso(lasso)
        found = PropertyResult(prop.name, "property", VIOLATED, line, trace, why,
                               engine="simulate")  # fmt: skip
        try:  # the lasso is a behaviour of the model whose loop closes: replayed
            check_counterexample(model, found)
        except TraceMismatch as err:
            raise AssertionError(
                f"a simulated lasso does not replay ({err}); a kcheck bug"
            ) from err
        out.append(found)
    return out


def shrink_lasso(
    model: CompiledModel, prop: PropertyInfo, choices: tuple[int, ...], seed: int
) -> tuple[int, ...]:
    """A walk no longer than `choices` whose graph still has a fair lasso violating `prop`
    (spec/simulate.md "Shrinking"): its shortest prefix that has one, then the shrinkers of
    explore/shrink.py keeping walks that have one, then the shortest prefix again."""

    def lasso(ch: Sequence[int]) -> tuple[int, ...] | None:
        if not ch:
            return None
        walk = taken(model, ch)
        return walk if _lasso_of(model, walk_graph(model, walk), prop) is not None else None

    def prefix(walk: tuple[int, ...]) -> tuple[int, ...]:
        for n in range(1, len(walk)):
            if lasso(walk[:n]) is not None:
                return walk[:n]
        return walk

    start = lasso(choices)
    if start is None:
        raise AssertionError(f"a simulated walk has no lasso violating {prop.name}; a kcheck bug")
    return prefix(shrink_walk(model, lasso, prefix(start), seed=seed, what=prop.name))


def choices_trace(model: CompiledModel, choices: tuple[int, ...]) -> Trace:
    """The walk `choices` as a trace, each step the action, arguments and state the model
    computes; a failing last step shown as the explicit engine shows a bound error."""
    decode = model.layout.decode
    inits = model.initial()
    s = inits[choices[0] % len(inits)]
    out = [Step(None, {}, decode(s))]
    for aid, args, t in run_choices(model, choices):
        info = model.actions[aid]
        if isinstance(t, StepError):
            shown = model.describe_args(t.action, t.args)
            out.append(Step(info.label, shown, None, t.message, t.line))
            break
        out.append(Step(info.label, model.describe_args(aid, args), decode(t),
                        line=info.span.line))  # fmt: skip
    return name_objects(Trace(tuple(out)), [k.name for k in model.layout.kinds])
