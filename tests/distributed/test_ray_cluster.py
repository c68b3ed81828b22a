"""The distributed search on a real Ray cluster on this machine: a head and two worker nodes,
on the loopback interface, started once for the module and stopped after it. A worker killed
in the middle of a search ends it inconclusive, naming the worker, never `holds`; `kcheck verify
--ray ADDRESS` joins the cluster and answers as the single-process search does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kcheck.distributed.search import explore_distributed
from kcheck.distributed.transport import RayWorkers
from kcheck.explore.bfs import Limits, explore
from kcheck.lang.frontend import load
from kcheck.model.compile import compile_model
from kcheck.result import INCONCLUSIVE, Stats

# Ray replaces a loopback address by the machine's outward one unless told this is a one-machine
# cluster; read when Ray is imported, and passed on to the kcheck processes below
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
ray = pytest.importorskip("ray")
cluster_utils = pytest.importorskip("ray.cluster_utils")

ROOT = Path(__file__).resolve().parents[2]
KCHECK = str(Path(sys.executable).with_name("kcheck"))
LOOPBACK = {"node_ip_address": "127.0.0.1", "include_dashboard": False}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    # a SIGTERM (a `timeout` around pytest) still stops the cluster's processes
    old = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # the head takes no work: the two worker nodes (a CPU each) hold the partitions
    c = cluster_utils.Cluster(initialize_head=True, head_node_args={**LOOPBACK, "num_cpus": 0})
    try:
        for _ in range(2):
            c.add_node(**LOOPBACK, num_cpus=1)
        ray.init(address=c.address, log_to_driver=False)
        yield c
    finally:
        ray.shutdown()
        c.shutdown()
        signal.signal(signal.SIGTERM, old)


def test_a_search_on_the_cluster_is_the_single_process_search(cluster: Any) -> None:
    model = compile_model(load(str(ROOT / "models/scheduler_stale_snapshot.kdsl")).symbols)
    one = explore(model, properties=[])
    many = explore_distributed(
        model, lambda r: RayWorkers(r, 2, cluster.address), properties=[], limits=Limits()
    )
    assert (many.stats.states, many.stats.transitions, many.stats.depth) == (
        one.stats.states,
        one.stats.transitions,
        one.stats.depth,
    )
    assert [(p.name, p.status, p.trace) for p in many.properties] == [
        (p.name, p.status, p.trace) for p in one.properties
    ]


def test_a_killed_worker_makes_the_search_inconclusive_and_is_named(cluster: Any) -> None:
    model = compile_model(load(str(ROOT / "models/replicaset.kdsl")).symbols, symmetry=False)
    started: list[RayWorkers] = []

    def make(recipe: Any) -> RayWorkers:
        started.append(RayWorkers(recipe, 2, cluster.address))
        return started[0]

    killed: list[int] = []

    def at_level(stats: Stats) -> None:
        # mid-search: once a few levels are done, the second worker's process dies
        if stats.depth == 4 and not killed:
            pid = started[0].where[1][0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    result = explore_distributed(
        model, make, properties=[], limits=Limits(timeout=120), progress=at_level
    )
    assert killed, "the search ended before the worker was killed"
    assert result.verdict == INCONCLUSIVE
    assert not result.complete
    assert result.limit is not None and f"worker 1 (pid {killed[0]} " in result.limit
    assert "failed" in result.limit
    assert all(p.status == INCONCLUSIVE for p in result.properties)
    assert all(result.limit in (p.reason or "") for p in result.properties)


def _alone_and_joined(cluster: Any, model: str, code: int) -> tuple[Any, Any]:
    """`kcheck verify MODEL` as JSON, on one process and joining the cluster: both exit `code`."""
    import json

    args = [KCHECK, "verify", str(ROOT / model), "--engine", "explicit", "-q", "--format", "json"]
    joined = subprocess.run(
        [*args, "--ray", cluster.address], capture_output=True, text=True, timeout=300
    )
    alone = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert joined.returncode == alone.returncode == code, joined.stderr
    return json.loads(alone.stdout), json.loads(joined.stdout)


def test_kcheck_verify_joins_a_cluster(cluster: Any) -> None:
    a, b = _alone_and_joined(cluster, "models/replicaset.kdsl", 0)
    assert b["stats"]["states"] == a["stats"]["states"] == 808
    assert b["stats"]["transitions"] == a["stats"]["transitions"]
    assert [p["status"] for p in b["properties"]] == [p["status"] for p in a["properties"]]
    assert any("distributed search over 2 workers" in n for n in b["notes"])


def test_kcheck_verify_on_a_cluster_reports_the_timelock(cluster: Any) -> None:
    a, b = _alone_and_joined(cluster, "tests/fixtures/timelock.kdsl", 1)
    assert [(p["name"], p["status"], p.get("trace")) for p in b["properties"]] == [
        (p["name"], p["status"], p.get("trace")) for p in a["properties"]
    ]
    assert any(p["name"] == "time_passes" for p in b["properties"])
    assert not any("timelock" in n for n in b["notes"])  # no "does not look for timelocks"


def test_kcheck_verify_workers_starts_and_stops_its_own_ray() -> None:
    path = str(ROOT / "models/replicaset_counts_running.kdsl")
    args = [KCHECK, "verify", path, "--engine", "explicit", "-q", "--format", "json"]
    spread = subprocess.run([*args, "--workers", "2"], capture_output=True, text=True, timeout=300)
    alone = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert spread.returncode == alone.returncode == 1, spread.stderr
    import json

    a, b = json.loads(alone.stdout), json.loads(spread.stdout)
    assert b["stats"] == {**a["stats"], "seconds": b["stats"]["seconds"]}
    assert [(p["name"], p["status"], p.get("trace")) for p in b["properties"]] == [
        (p["name"], p["status"], p.get("trace")) for p in a["properties"]
    ]


def test_simulate_on_the_cluster_walks_the_same_walks(cluster: Any) -> None:
    from kcheck.distributed.walks import ray_spread
    from kcheck.explore.simulate import SimOptions, simulate

    checked = load(str(ROOT / "models/scheduler_stale_snapshot.kdsl"))
    model = compile_model(checked.symbols, coverage=True)  # guards and branches counted there
    here = simulate(model, options=SimOptions(traces=40, depth=15, seed=7))
    spread = ray_spread(checked.symbols, True, cluster.address, None)
    there = simulate(model, options=SimOptions(traces=40, depth=15, seed=7, spread=spread))
    assert here.coverage is not None and here.coverage.branches
    assert there.coverage == here.coverage
    assert (there.stats.states, there.stats.transitions) == (
        here.stats.states,
        here.stats.transitions,
    )
    assert [(p.name, p.status, p.trace) for p in there.properties] == [
        (p.name, p.status, p.trace) for p in here.properties
    ]


def test_the_timeout_stops_a_search_on_the_cluster_inconclusive(cluster: Any) -> None:
    # tens of millions of states: far more than 10 seconds on any machine, even with the
    # native workers (3.2 million states at MAX_REPLICAS=8 CRASHES=4 take them about 9 s); the
    # deadline's signal arrives while the driver waits on the workers, and must not surface
    # inside Ray's C code
    path = str(ROOT / "models/replicaset.kdsl")
    size = ["-D", "REPLICASETS=1", "-D", "MAX_REPLICAS=9", "-D", "CRASHES=7", "-D",
            "SCALE_UPS=0", "-D", "SCALE_DOWNS=0", "-D", "replicas=9"]  # fmt: skip
    done = subprocess.run(
        [KCHECK, "verify", path, *size, "--no-symmetry", "--engine", "explicit", "-q",
         "--invariant", "pods_fit", "--ray", cluster.address, "--timeout", "10"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert "stopped at timeout 10s" in done.stdout
