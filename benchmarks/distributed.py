"""The distributed search (spec/distributed.md) against the single-process one, on the ReplicaSet
reference model of benchmarks/spin (one ReplicaSet, symmetry off, so both see Spin's graph).

    .venv/bin/python benchmarks/distributed.py                 # N=9 slots (95,893 states)
    .venv/bin/python benchmarks/distributed.py --replicas 7 --crashes 4 --scale 1

Runs, in one process one after the other: the single-process search; the same search over 1, 2
and 4 partitions in this process (transport.Local: the algorithm's own CPU cost per state, no
Ray); and over 2 Ray workers on a local Ray instance started beforehand (not timed). For each:
CPU seconds (this process, and each Ray worker's own), wall seconds, states shipped between
workers and bytes. The machine's load average is printed first and last: on a shared machine
compare the CPU columns, not the wall clock.
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

from kcheck.distributed.search import explore_distributed  # noqa: E402
from kcheck.distributed.transport import Local, RayWorkers, Transport  # noqa: E402
from kcheck.explore.bfs import explore  # noqa: E402
from kcheck.lang.frontend import load  # noqa: E402
from kcheck.model.compile import compile_model  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicas", type=int, default=5)
    ap.add_argument("--crashes", type=int, default=4)
    ap.add_argument("--scale", type=int, default=0, help="SCALE_UPS and SCALE_DOWNS")
    ap.add_argument("--local", default="1,2,4", help="partition counts in this process")
    ap.add_argument("--ray", type=int, default=2, help="Ray workers (0: none)")
    args = ap.parse_args()
    defines = {"REPLICASETS": 1, "MAX_REPLICAS": args.replicas, "CRASHES": args.crashes,
               "SCALE_UPS": args.scale, "SCALE_DOWNS": args.scale, "replicas": args.replicas}  # fmt: skip
    print("load average", os.getloadavg(), "cpus", os.cpu_count())
    print("model replicaset", json.dumps(defines))
    model = compile_model(
        load(str(ROOT / "models/replicaset.kdsl"), defines).symbols, symmetry=False
    )

    def show(row: dict[str, Any]) -> None:
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}),
              flush=True)  # fmt: skip

    c0, w0 = time.process_time(), time.perf_counter()
    one = explore(model, properties=[], symmetry=False)
    show({"run": "single process", "states": one.stats.states,
                 "transitions": one.stats.transitions, "cpu": time.process_time() - c0,
                 "wall": time.perf_counter() - w0})  # fmt: skip

    def measured(label: str, make: Any) -> None:
        seen: list[list[dict[str, float]]] = []

        def grab(t: Transport) -> None:
            seen.append(t.counters())

        c0, w0 = time.process_time(), time.perf_counter()
        r = explore_distributed(model, make, properties=[], symmetry=False, before_close=grab)
        row: dict[str, Any] = {"run": label, "states": r.stats.states, "depth": r.stats.depth,
                               "transitions": r.stats.transitions,
                               "cpu": time.process_time() - c0,
                               "wall": time.perf_counter() - w0}  # fmt: skip
        assert (r.stats.states, r.stats.transitions) == (one.stats.states, one.stats.transitions)
        if seen:
            row["sent_states"] = sum(c["sent_states"] for c in seen[0])
            row["sent_bytes"] = sum(c["sent_bytes"] for c in seen[0])
            if "Ray" in label:  # a Local partition's clock is this process's
                row["workers_cpu"] = [round(c["cpu"], 3) for c in seen[0]]
        show(row)

    for n in [int(x) for x in args.local.split(",") if x]:
        measured(f"{n} partitions, one process", lambda r, n=n: Local(r, n))
    if args.ray:
        import ray

        ray.init(address="local", num_cpus=args.ray, include_dashboard=False, log_to_driver=False)
        try:
            # the workers' CPU is their process's since start-up: measured, then subtracted
            measured(f"{args.ray} Ray workers", lambda r: RayWorkers(r, args.ray, None))
        finally:
            ray.shutdown()
    print("load average", os.getloadavg())


if __name__ == "__main__":
    main()
