"""Speed-up of the distributed search at 1 and 2 workers (issue 14 part 2: target >= 1.7x at 2
workers on the 3.28M-state ReplicaSet), for a quiet machine: wall and CPU seconds of each.
Results: benchmarks/distributed_speedup.md.

    .venv/bin/python benchmarks/distributed_speedup.py                  # 3,226,357 states
    .venv/bin/python benchmarks/distributed_speedup.py --replicas 5     # 95,893 states
    .venv/bin/python benchmarks/distributed_speedup.py --timeline       # where the wall time goes

The model is the ReplicaSet of benchmarks/distributed.py (one ReplicaSet, symmetry off, the
invariants only) at `--replicas 8 --crashes 4 --scale 0` by default: 3,226,357 states, the
size class of the issue's 3.28M-state model (models/replicaset.kdsl has grown since; at
`--replicas 7 --scale 1` it now has more than 23 million states). Runs, in this process one
after the other, each timed alone:

- `explore`, the single-process search `kcheck verify` runs (the packed store, the generated C
  past 20,000 states);
- the distributed search on a local Ray instance with 1 worker, then with 2 (each Ray instance
  is started before the clock and stopped after it; the worker processes start inside the
  clock, as with `--workers N`, about a second or two: small beside a 3.28M-state search).

For each: wall seconds, the driver's CPU seconds, each worker's own CPU seconds (counted by the
worker since it was made), and the speed-up against `explore` in wall time (the figure the
target is about, meaningful only on an otherwise idle machine with a core per worker) and in
CPU (explore's CPU over the critical path: the slowest worker plus the driver). Every run must
report the single-process search's states and transitions (asserted). The load average is
printed first and last: above the number of cores, the wall figures mean little.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "checker"))

from kcheck.distributed import transport  # noqa: E402
from kcheck.distributed.search import explore_distributed  # noqa: E402
from kcheck.distributed.transport import RayWorkers, Transport  # noqa: E402
from kcheck.explore.bfs import explore  # noqa: E402
from kcheck.lang.frontend import load  # noqa: E402
from kcheck.model.compile import compile_model  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicas", type=int, default=8)
    ap.add_argument("--crashes", type=int, default=4)
    ap.add_argument("--scale", type=int, default=0, help="SCALE_UPS and SCALE_DOWNS")
    ap.add_argument("--workers", default="1,2", help="worker counts to run")
    ap.add_argument("--rounds", type=int, default=1, help="rounds, each timing every run anew")
    ap.add_argument(
        "--timeline",
        action="store_true",
        help="time each worker's calls too: where the wall time goes (start-up, idle, spread)",
    )
    args = ap.parse_args()
    import ray

    if args.timeline:
        transport.partition_class = lambda recipe: _timed_partition()

    defines = {"REPLICASETS": 1, "MAX_REPLICAS": args.replicas, "CRASHES": args.crashes,
               "SCALE_UPS": args.scale, "SCALE_DOWNS": args.scale, "replicas": args.replicas}  # fmt: skip
    print("load average", os.getloadavg(), "cpus", os.cpu_count(), flush=True)
    print("model replicaset", json.dumps(defines), "symmetry off, invariants only", flush=True)
    model = compile_model(
        load(str(ROOT / "models/replicaset.kdsl"), defines).symbols, symmetry=False
    )
    invariants = [i.name for i in model.invariants]

    workers = [int(x) for x in args.workers.split(",") if x]
    speedups: dict[int, list[float]] = {n: [] for n in workers}
    for rnd in range(1, args.rounds + 1):
        if args.rounds > 1:
            print(f"round {rnd}", flush=True)
        ratios = one_round(model, invariants, workers, ray)
        for n, r in ratios.items():
            speedups[n].append(r)
    if args.rounds > 1:
        for n, rs in speedups.items():
            rs.sort()
            print(f"{n} worker(s): median wall speed-up {rs[len(rs) // 2]:.2f}x over "
                  f"{len(rs)} rounds ({rs[0]:.2f}x to {rs[-1]:.2f}x)", flush=True)  # fmt: skip
    print("load average", os.getloadavg())


def one_round(model: Any, invariants: list[str], workers: list[int], ray: Any) -> dict[int, float]:
    """The single-process search, then the distributed one at each worker count, one after the
    other: each count's wall speed-up against this round's single process."""
    c0, w0 = time.process_time(), time.perf_counter()
    one = explore(model, invariants=invariants, properties=[], symmetry=False)
    base_cpu, base_wall = time.process_time() - c0, time.perf_counter() - w0
    counts = (one.stats.states, one.stats.transitions)
    print(f"single process: {counts[0]:,} states, {counts[1]:,} transitions, {one.verdict}; "
          f"wall {base_wall:.2f} s, CPU {base_cpu:.2f} s", flush=True)  # fmt: skip

    costs: dict[int, tuple[float, int, float]] = {}  # workers' CPU, states sent, driver CPU
    speedup: dict[int, float] = {}
    for n in workers:
        seen: list[list[dict[str, float]]] = []

        lines: list[list[tuple[str, float, float]]] = []

        def grab(
            t: Transport,
            seen: list[list[dict[str, float]]] = seen,
            lines: list[list[tuple[str, float, float]]] = lines,
        ) -> None:
            seen.append(t.counters())
            actors = getattr(t, "actors", [])
            if actors and hasattr(actors[0], "timeline"):
                lines.extend(ray.get([a.timeline.remote() for a in actors]))

        ray.init(address="local", num_cpus=n, include_dashboard=False, log_to_driver=False)
        try:
            c0, w0 = time.process_time(), time.perf_counter()
            r = explore_distributed(
                model,
                lambda recipe, n=n: RayWorkers(recipe, n, None),
                invariants=invariants,
                properties=[],
                symmetry=False,
                before_close=grab,
            )
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        finally:
            ray.shutdown()
        got = (r.stats.states, r.stats.transitions)
        assert got == counts and r.verdict == one.verdict, (got, counts, r.verdict)
        each: list[Any] = [round(c["cpu"], 2) for c in seen[0]] if seen else []
        path = cpu + (max(each) if each else 0.0)
        sent = sum(c["sent_states"] for c in seen[0]) if seen else 0
        sent_bytes = sum(c["sent_bytes"] for c in seen[0]) if seen else 0
        print(f"{n} worker(s): wall {wall:.2f} s (speed-up {base_wall / wall:.2f}x), driver CPU "
              f"{cpu:.2f} s, workers' CPU {each} s, CPU speed-up {base_cpu / path:.2f}x; "
              f"states sent {sent:,} ({sent_bytes / max(sent, 1):.1f} bytes each)",
              flush=True)  # fmt: skip
        if lines:
            _print_timeline(lines, w0, w0 + wall)
        costs[n] = (sum(each), sent, cpu)
        speedup[n] = base_wall / wall
    if 1 in costs and 2 in costs:
        # the cost model's constants (distributed_speedup.md): a = a worker's CPU per state
        # alone, c = the extra CPU per state sent, m = the driver's CPU per state
        a = costs[1][0] / counts[0] * 1e6
        c = (costs[2][0] - costs[1][0]) / max(costs[2][1], 1) * 1e6
        m = costs[2][2] / counts[0] * 1e6
        print(f"constants: a = {a:.2f} us/state, c = {c:.2f} us/state sent, m = {m:.2f} us/state"
              f" (one process: {base_cpu / counts[0] * 1e6:.2f} us/state)", flush=True)  # fmt: skip
    return speedup


def _timed_partition() -> type:
    """The native partition, logging each merge and expansion's start and end (the clock is
    the machine's monotonic one, the same in every process)."""
    from kcheck.distributed.native_partition import NativePartition

    class Timed(NativePartition):
        log: list[tuple[str, float, float]]

        def expand_ranked(self, *args: Any) -> list[Any]:
            t = time.perf_counter()
            out = super().expand_ranked(*args)
            self.log.append(("expand", t, time.perf_counter()))
            return out

        def merge_from(self, *args: Any) -> Any:
            t = time.perf_counter()
            out = super().merge_from(*args)
            self.log.append(("merge", t, time.perf_counter()))
            return out

        def timeline(self) -> list[tuple[str, float, float]]:
            return getattr(self, "log", [])

        def __init__(self, *args: Any) -> None:
            self.log = []
            super().__init__(*args)

    return Timed


def _print_timeline(lines: list[list[tuple[str, float, float]]], t0: float, t1: float) -> None:
    """Where the wall time went: until the first call, each worker busy, the workers idle
    before each kind of call (from the last worker's end of the call before to the first's
    start), and the spread of the calls' ends (a level's barrier waits for the slower)."""
    calls = min(len(w) for w in lines)
    first = min(w[0][1] for w in lines)
    idle: dict[str, float] = {}
    for j in range(1, calls):
        gap = min(w[j][1] for w in lines) - max(w[j - 1][2] for w in lines)
        idle[lines[0][j][0]] = idle.get(lines[0][j][0], 0.0) + gap
    spread = sum(max(w[j][2] for w in lines) - min(w[j][2] for w in lines) for j in range(calls))
    busy = [round(sum(e - s for _, s, e in w), 2) for w in lines]
    print(f"  timeline: to the first call {first - t0:.2f} s; busy {busy} s; idle before each"
          f" expansion {idle.get('expand', 0):.2f} s, before each merge {idle.get('merge', 0):.2f}"
          f" s; end spread {spread:.2f} s; after the last call"
          f" {t1 - max(w[calls - 1][2] for w in lines):.2f} s", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
