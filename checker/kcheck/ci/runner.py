"""Running one `kcheck ci` job: its result from the cache when the cache can be believed,
else from the engine the job's settings name, through the one engine-dispatch function
(kcheck.engines.dispatch.check)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kcheck.ci.load import load_job
from kcheck.ci.plan import Job, LoadFailure
from kcheck.ci.verdict_cache import BadEntry, believe
from kcheck.result import CheckResult, Coverage, Stats


@dataclass(frozen=True)
class Run:
    job: Job
    result: CheckResult
    names: tuple[str, ...]  # every invariant and temporal property the model declares
    cached: bool
    # the configuration's `simulate` walks: what they covered (spec/simulate.md)
    coverage: Coverage | None = None


def run_job(
    job: Job,
    cache: Mapping[str, Any],
    code: str,
    note: Callable[[str], None],
    progress: Callable[[Stats], None] | None = None,
) -> Run | LoadFailure:
    """Check one job, or take its result from the cache when kcheck's code, the model, its
    parameters and the settings are unchanged and the entry survives `believe`; an entry
    that does not is ignored (with a note) and the model checked again. `progress` is called
    with the search's figures while it runs."""
    from kcheck.engines.dispatch import EngineOptions, check
    from kcheck.explore.bfs import Limits

    loaded = load_job(job)
    if isinstance(loaded, LoadFailure):
        return loaded
    key = job.cache_key(code)
    if key in cache:
        try:
            result = believe(cache[key], key, loaded)
            return Run(job, result, loaded.names, True, _coverage(job, loaded))
        except BadEntry as err:
            note(f"the cached result of {job.label} is ignored: {err}; checking it again")
    s = job.settings
    model = loaded.model()
    options = EngineOptions(
        s.engine,  # "explicit": the only engine the configuration accepts (config.ENGINES)
        Limits(s.max_states, s.max_depth, s.timeout, threads=s.threads),
        symmetry=s.symmetry,
        named_as="the explicit engine",
    )
    result = check(model, loaded.symbols, loaded.invariants, loaded.properties, options, progress)
    return Run(job, result, loaded.names, False, _coverage(job, loaded))


def _coverage(job: Job, loaded: Any) -> Coverage | None:
    """The coverage of the job's `simulate` walks (not cached: they are quick, and the same
    seed gives the same walks), guards and branches included: on the model compiled with its
    coverage form, which the search itself never runs."""
    gate = job.settings.simulate
    if gate is None:
        return None
    from kcheck.explore.simulate import SimOptions, simulate
    from kcheck.model.compile import compile_model

    model = compile_model(loaded.symbols, symmetry=loaded.symmetry, coverage=True)

    options = SimOptions(traces=gate.traces, depth=gate.depth, seed=gate.seed, shrink=False)
    return simulate(model, invariants=[], properties=[], options=options).coverage
