"""`kcheck simulate --ray ADDRESS` (spec/simulate.md): the random walks of explore/simulate.py
spread over a Ray cluster. Each task rebuilds the model from its checked symbols (plain data)
and runs a range of trace indices; a walk is seeded by its index alone, so the answer is the
same on any number of workers, and a task Ray retries after a worker died gives the same part.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kcheck.distributed.transport import NoRay, WorkerFailed, check_reachable
from kcheck.explore.simulate import _Chunk, _Job
from kcheck.lang.symbols import Symbols
from kcheck.model.compile import compile_model

TASK_RETRIES = 2  # a lost worker's range is walked again elsewhere: the same walks


def _run_range(
    symbols: Symbols,
    symmetry: bool,
    job: tuple[Any, ...],
    left: float | None,
    lo: int,
    hi: int,
    coverage: bool = False,
) -> _Chunk:
    model = compile_model(symbols, symmetry=symmetry, coverage=coverage)
    invariants, properties, depth, seed = job
    deadline = time.monotonic() + left if left is not None else None
    return _Job(model, invariants, properties, depth, seed, deadline).run(lo, hi)


def ray_spread(
    symbols: Symbols, symmetry: bool, address: str, count: int | None
) -> Callable[[_Job, int], list[_Chunk]]:
    """A SimOptions.spread that walks on the Ray cluster at `address`, in `count` ranges (one
    per CPU of the cluster when None)."""

    def spread(job: _Job, traces: int) -> list[_Chunk]:
        try:
            import ray as ray_module
        except ImportError:
            raise NoRay("--ray needs Ray: pip install 'kcheck[distributed]'") from None
        ray: Any = ray_module
        started = False
        if not ray.is_initialized():
            check_reachable(address)
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False,
                         configure_logging=False)  # fmt: skip
            except (ConnectionError, RuntimeError, ValueError) as err:
                raise NoRay(f"cannot reach the Ray cluster at {address}: {err}") from None
            started = True
        try:
            n = count or max(1, int(ray.cluster_resources().get("CPU", 1)))
            size = -(-traces // n)
            ranges = [(lo, min(traces, lo + size)) for lo in range(0, traces, size)]
            left = job.deadline - time.monotonic() if job.deadline is not None else None
            task = ray.remote(num_cpus=1, max_retries=TASK_RETRIES)(_run_range)
            spec = (job.invariants, job.properties, job.depth, job.seed)
            cover = job.model.coverage is not None  # guards and branches counted there too
            refs = [task.remote(symbols, symmetry, spec, left, lo, hi, cover) for lo, hi in ranges]
            try:
                parts: list[_Chunk] = ray.get(refs)
            except ray.exceptions.RayError as err:
                lines = str(err).strip().splitlines()
                raise WorkerFailed("a simulation worker", lines[0] if lines else "") from None
            return parts
        finally:
            if started:
                ray.shutdown()

    return spread
