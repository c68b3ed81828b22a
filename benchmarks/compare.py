#!/usr/bin/env python3
"""Compare two checkouts of kcheck on the same runs, interleaved, as CPU-time ratios.

    .venv/bin/python benchmarks/compare.py BASE_CHECKOUT [HEAD_CHECKOUT] [--rounds 5]

Each checkout needs its own .venv (``./scripts/demo.sh`` makes one).  Every run is a whole
``kcheck verify ... --format json -q`` process (start-up, parsing, compiling and search); the
two checkouts take turns, run by run, so a noisy neighbour slows both alike, and the table gives
the median CPU seconds (user + system of the child) of each and their ratio.  It also checks that
both report the same verdict, distinct states and transitions: a restructuring that changes those
is not a restructuring.  Standard library only.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Case:
    label: str
    args: tuple[str, ...]


CASES = [
    Case("parse+compile, replicaset (default size)", ("models/replicaset.kdsl",)),
    Case(
        "explicit, replicaset M, symmetry",
        (
            "models/replicaset.kdsl",
            "-D",
            "REPLICASETS=3",
            "-D",
            "MAX_REPLICAS=4",
            "-D",
            "CRASHES=3",
            "-D",
            "SCALE_UPS=2",
            "-D",
            "SCALE_DOWNS=0",
        ),
    ),
    Case(
        "explicit, scheduler M, symmetry",
        (
            "models/scheduler_starvation.kdsl",
            "-D",
            "NODES=2",
            "-D",
            "PODS=6",
            "-D",
            "CPU=8",
            "-D",
            "MAX_REQUEST=4",
            "--invariant",
            "no_overcommit",
            "--invariant",
            "running_pods_are_bound",
        ),
    ),
    Case(
        "explicit, replicaset N=11, no symmetry (Spin's size)",
        (
            "models/replicaset.kdsl",
            "-D",
            "REPLICASETS=1",
            "-D",
            "MAX_REPLICAS=7",
            "-D",
            "CRASHES=4",
            "-D",
            "SCALE_UPS=0",
            "-D",
            "SCALE_DOWNS=0",
            "-D",
            "replicas=7",
            "--no-symmetry",
        ),
    ),
    Case(
        "explicit + liveness, scheduler_stale_snapshot", ("models/scheduler_stale_snapshot.kdsl",)
    ),
    Case("bmc depth 8, replicaset", ("models/replicaset.kdsl", "--engine", "bmc", "--depth", "8")),
    Case("induction, replicaset", ("models/replicaset.kdsl", "--engine", "induction")),
]


@dataclass
class Sample:
    cpu_s: float
    verdict: str
    states: int
    transitions: int


def run(checkout: Path, case: Case) -> Sample:
    kcheck = checkout / ".venv" / "bin" / "kcheck"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        [str(kcheck), "verify", *case.args, "--format", "json", "-q"],
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=900,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        sys.exit(
            f"{checkout}: {case.label}: exit {proc.returncode}, no JSON:\n{proc.stderr[-2000:]}"
        )
    stats = report.get("stats", {})
    return Sample(
        cpu, report.get("verdict", "?"), stats.get("states", 0), stats.get("transitions", 0)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base", type=Path)
    parser.add_argument("head", type=Path, nargs="?", default=ROOT)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", help="run only the cases whose label contains this")
    opts = parser.parse_args()
    cases = [c for c in CASES if not opts.only or opts.only in c.label]
    print(f"base {opts.base.resolve()}  vs  head {opts.head.resolve()}, {opts.rounds} rounds\n")
    print("| run | verdict | states | transitions | base CPU s | head CPU s | head / base |")
    print("|---|---|---|---|---|---|---|")
    for case in cases:
        base: list[Sample] = []
        head: list[Sample] = []
        for _ in range(opts.rounds):
            base.append(run(opts.base, case))
            head.append(run(opts.head, case))
        b, h = base[0], head[0]
        if (b.verdict, b.states, b.transitions) != (h.verdict, h.states, h.transitions):
            sys.exit(f"{case.label}: base says {b}, head says {h}: the runs differ")
        bm = statistics.median(s.cpu_s for s in base)
        hm = statistics.median(s.cpu_s for s in head)
        print(
            f"| {case.label} | {b.verdict} | {b.states:,} | {b.transitions:,} | {bm:.2f} | "
            f"{hm:.2f} | {hm / bm:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
