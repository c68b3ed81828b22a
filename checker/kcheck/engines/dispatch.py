"""The one engine-dispatch function: `check` runs the engine named in EngineOptions (explicit,
bmc, induction, simulate or auto) on a compiled model and returns its CheckResult with every property the
run was asked about accounted for (CheckResult.account_for): an engine that leaves one out can
never make the run hold. `state_space` asks the same engines, with the same options, for the
whole reachable state graph instead (`kcheck graph`). Neither prints nor exits; what a command
must report as an error they raise (Refused, EngineFailure, Stopped)."""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kcheck.distributed.transport import NoRay, WorkerFailed  # no Ray import: that is lazy
from kcheck.engines.auto import Z3_TIMEOUT, auto
from kcheck.explore.bfs import Limits, ProgressFn, explore
from kcheck.explore.budget import Stopped
from kcheck.explore.simulate import SimOptions, simulate
from kcheck.explore.statespace import StateSpace, TooManyStates, reachable
from kcheck.explore.timelock import ALLOWED_NOTE
from kcheck.explore.tracer import ReplayError
from kcheck.lang.symbols import Symbols
from kcheck.model.ir import CompiledModel
from kcheck.result import CheckResult

__all__ = ["EngineFailure", "EngineOptions", "Refused", "StateSpace", "Stopped", "check",
           "state_space"]  # fmt: skip

ENGINES = ("auto", "explicit", "bmc", "induction", "simulate")


@dataclass(frozen=True)
class EngineOptions:
    """Which engine runs, and within what."""

    engine: str  # one of ENGINES
    # explicit and auto: the search's limits; bmc and induction use only their time (the
    # budget's deadline, else `timeout`, else Z3_TIMEOUT)
    limits: Limits = field(default_factory=Limits)
    symmetry: bool = True  # explicit search: one representative per slot permutation
    depth: int = 10  # bmc, and auto's BMC phase: the steps to unroll
    max_k: int = 6  # induction, and auto's induction phase: the largest k
    symbolic_params: bool = False  # bmc and induction: every param symbolic over its range
    # bmc and induction: `--size NAME=LO..HI`, each a const that sizes a kind made symbolic
    # over LO..HI (smt/sizes.py); implies symbolic params
    sizes: tuple[str, ...] = ()
    # simulate: how many random walks, from which seed, over how many processes (its depth is
    # `depth`); the walks' answer never depends on `workers`
    traces: int = 1000
    seed: int = 0
    workers: int = 1
    # explicit and auto: with workers > 1 or a Ray cluster's address, the distributed search
    # (spec/distributed.md) over that many Ray workers (with an address and workers 1: one per
    # CPU of the cluster)
    ray_address: str | None = None
    # how entries the engine did not check name it ("--engine bmc does not check ..."); by
    # default `--engine ENGINE`
    named_as: str | None = None


class Refused(Exception):
    """The engine cannot take this model or these options (bad input: exit 2)."""


class EngineFailure(Exception):
    """An engine's answer failed its own check (a counterexample that does not replay): a bug
    in kcheck, never a verdict (exit 70)."""


def check(
    model: CompiledModel,
    symbols: Symbols,
    invariants: Sequence[str] | None,
    properties: Sequence[str] | None,
    options: EngineOptions,
    progress: ProgressFn | None = None,
) -> CheckResult:
    """Check the selected invariants and temporal properties of `model` (None: every one of
    that sort) with the engine `options` names. Raises Refused when the engine cannot check
    them, EngineFailure on a counterexample that does not replay, and Stopped when the budget
    ran out before a Z3 engine decided anything."""
    engine = options.engine
    if (options.workers > 1 or options.ray_address) and engine not in _SPREADS:
        raise Refused(
            f"--engine {engine} runs on one process; --workers and --ray are for the explicit"
            " search (--engine explicit)"
        )
    if options.limits.threads > 1 and engine not in ("explicit", "auto"):
        raise Refused(
            f"--engine {engine} runs on one thread; --threads is for the explicit search"
            " (--engine explicit or auto)"
        )
    if options.limits.threads > 1 and (options.workers > 1 or options.ray_address):
        raise Refused(
            "--threads is for the search in this process, --workers and --ray for a search"
            " over Ray worker processes (one thread each): choose one"
        )
    if options.symbolic_params and engine not in ("bmc", "induction"):
        raise Refused("--symbolic-params needs --engine bmc or --engine induction")
    if options.sizes and engine not in ("bmc", "induction"):
        raise Refused("--size needs --engine bmc or --engine induction")
    limits = options.limits
    try:
        if engine in ("explicit", "auto") and (options.workers > 1 or options.ray_address):
            result = _distributed(model, invariants, properties, options, progress)
        elif engine in ("bmc", "induction"):
            result = _z3(model, symbols, invariants, properties, options)
        elif engine == "auto":
            result = auto(model, symbols, invariants=invariants, properties=properties,
                          symmetry=options.symmetry, limits=limits, depth=options.depth,
                          max_k=options.max_k, progress=progress)  # fmt: skip
        elif engine == "simulate":
            sim = SimOptions(traces=options.traces, depth=options.depth, seed=options.seed,
                             workers=options.workers, timeout=limits.timeout,
                             allow_timelocks=limits.allow_timelocks,
                             spread=_ray_walks(symbols, options))  # fmt: skip
            result = simulate(model, invariants=invariants, properties=properties, options=sim)
        elif engine == "explicit":
            result = explore(
                model,
                invariants=invariants,
                properties=properties,
                symmetry=options.symmetry,
                limits=limits,
                progress=progress,
            )
        else:
            raise Refused(f"no engine `{engine}`; the engines are {', '.join(ENGINES)}")
    except ReplayError as err:
        raise EngineFailure(str(err)) from None
    except (NoRay, WorkerFailed) as err:  # Ray missing or unreachable, or a worker lost
        raise Refused(str(err)) from None
    note = _timelocks_unchecked(model, result, options)
    if note is not None:
        result.notes.append(note)
    return result.account_for(
        model.asked(invariants, properties), options.named_as or f"--engine {engine}"
    )


def _timelocks_unchecked(
    model: CompiledModel, result: CheckResult, options: EngineOptions
) -> str | None:
    """In a model with time, what says that the answer did not look for timelocks (the
    explicit search, simulate, and bmc and induction with concrete params do, spec/explorer.md
    "Timelocks"), so that no verdict claims more than was checked."""
    if not model.timed or options.limits.allow_timelocks:
        return None
    if any(p.kind == "timelock" for p in result.properties):
        return None
    if options.engine in ("bmc", "induction"):
        if not options.symbolic_params and not options.sizes:
            return None  # they looked: a `time_passes` entry or a note says what they found
        return (
            f"--engine {options.engine} with --symbolic-params or --size does not look for"
            " timelocks (states where time stops); with concrete params it does"
        )
    if result.engine == "auto":  # Z3 decided what the explicit search left open
        return (
            f"timelocks were looked for only in the {result.stats.states:,} states the explicit"
            " search covered"
        )
    return None


_SPREADS = ("explicit", "auto", "simulate")  # the engines that take --workers


def _distributed(
    model: CompiledModel,
    invariants: Sequence[str] | None,
    properties: Sequence[str] | None,
    options: EngineOptions,
    progress: ProgressFn | None,
) -> CheckResult:
    """The explicit search over Ray workers; auto's state budget and Z3 phases do not apply."""
    # imported here: Ray is an optional extra, and most runs never need it
    from kcheck.distributed.search import explore_distributed
    from kcheck.distributed.transport import NoRay, RayWorkers, WorkerFailed

    if options.limits.more_states is not None:
        raise Refused("the distributed search takes no state budget hook")
    count = options.workers if options.workers > 1 or not options.ray_address else None
    try:
        result = explore_distributed(
            model,
            lambda recipe: RayWorkers(recipe, count, options.ray_address),
            invariants=invariants,
            properties=properties,
            symmetry=options.symmetry,
            limits=options.limits,
            progress=progress,
        )
    except NoRay as err:
        raise Refused(str(err)) from None
    except WorkerFailed as err:  # before the search began: nothing was checked
        raise Refused(f"the Ray workers did not start: {err}") from None
    if options.engine == "auto":
        result.notes.append(
            "--engine auto with --workers or --ray is the explicit search, without a state"
            " budget: Z3 does not take over"
        )
    return result


def _ray_walks(symbols: Symbols, options: EngineOptions) -> Any:
    """kcheck simulate --ray: the walks on a Ray cluster (None: on this machine)."""
    if not options.ray_address:
        return None
    from kcheck.distributed.walks import ray_spread

    count = options.workers if options.workers > 1 else None
    return ray_spread(symbols, options.symmetry, options.ray_address, count)


def state_space(
    model: CompiledModel, options: EngineOptions, *, stop_after: str | None = None,
    radius: int = 0,
) -> StateSpace:  # fmt: skip
    """Every reachable state of `model` and the transitions between them, recorded by the
    explicit engine (the only one that enumerates states), up to `options.limits.max_states`
    states (with symmetry, canonical representatives); with `stop_after`, only up to `radius`
    levels past the first violation of that invariant. Raises Refused for another engine,
    without a state limit, or past it."""
    if options.engine != "explicit":
        raise Refused(f"--engine {options.engine} cannot record the state graph; explicit can")
    if options.limits.max_states is None:
        raise Refused("recording the state graph needs a limit on the states")
    try:
        return reachable(
            model, options.limits.max_states, options.symmetry, stop_after=stop_after,
            radius=radius,
        )  # fmt: skip
    except TooManyStates as err:
        raise Refused(err.message) from None


def _z3(
    model: CompiledModel,
    symbols: Symbols,
    invariants: Sequence[str] | None,
    properties: Sequence[str] | None,
    options: EngineOptions,
) -> CheckResult:
    """Bounded model checking (to `depth` steps) or k-induction (up to `max_k`) of the
    invariants with Z3 (spec/smt.md), for every value of the params with `symbolic_params`."""
    # imported here: most runs never reach Z3, and loading it costs a tenth of a second and
    # 30 MB at start-up
    from kcheck.smt.bmc import ReplayError as BmcReplayError
    from kcheck.smt.bmc import bmc
    from kcheck.smt.induction import induction
    from kcheck.smt.lasso import LassoError
    from kcheck.smt.params import symbolic_bmc
    from kcheck.smt.refuse import Unsupported
    from kcheck.smt.sizes import SizeError
    from kcheck.smt.solver import AnswersDiffer

    if properties and options.symbolic_params:
        raise Refused("--symbolic-params checks invariants only; drop --property")
    if properties and options.sizes:
        raise Refused("--size checks invariants only; drop --property")
    budget = options.limits.budget
    if budget is not None:
        timeout = budget.remaining(Z3_TIMEOUT)
    else:
        timeout = options.limits.timeout or Z3_TIMEOUT
    try:
        # Z3 runs in C, where no signal handler runs; a signal stops it once it is back
        if budget is not None:
            budget.armed = True
        if options.sizes:
            return _sized(symbols, invariants, properties, options, timeout)
        # timelocks: with concrete params only (the note of _timelocks_unchecked says so)
        look = model.timed and not options.limits.allow_timelocks
        if options.engine == "induction":
            result = induction(model, symbols, options.max_k, invariants, timeout,
                               options.symbolic_params, properties, timelocks=look)  # fmt: skip
        elif options.symbolic_params:
            result = symbolic_bmc(model, symbols, options.depth, invariants, timeout, properties)
        else:
            result = bmc(model, symbols, options.depth, invariants, timeout, properties,
                         timelocks=look)  # fmt: skip
        if model.timed and options.limits.allow_timelocks:
            result.notes.append(ALLOWED_NOTE)  # as the explicit search says
        return result
    except (Unsupported, SizeError) as err:
        raise Refused(str(err)) from None
    except (BmcReplayError, LassoError, AnswersDiffer) as err:
        raise EngineFailure(str(err)) from None
    except ctypes.ArgumentError:
        # the budget's Stopped raised while ctypes converted an argument of a z3 call comes
        # out as this (verify --infer on scheduler_plugins at --timeout 60: exit 70)
        if budget is not None and budget.reason is not None:
            raise Stopped(budget.reason) from None
        raise
    finally:
        if budget is not None:
            budget.armed = False


def _sized(
    symbols: Symbols,
    invariants: Sequence[str] | None,
    properties: Sequence[str] | None,
    options: EngineOptions,
    timeout: float,
) -> CheckResult:
    """`--size`: BMC or induction at every size of the ranges at once (smt/sizes.py)."""
    from kcheck.smt.sizes import check_sized, parse_size

    sizes = [parse_size(text) for text in options.sizes]
    return check_sized(symbols, sizes, options.engine, invariants, properties, options.depth,
                       options.max_k, timeout)  # fmt: skip
