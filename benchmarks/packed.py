#!/usr/bin/env python3
"""The explicit engine's visited-state store against Spin, per state (issue 14, part 1).

    .venv/bin/python benchmarks/packed.py                # every row, a Markdown table
    .venv/bin/python benchmarks/packed.py --only scheduler
    .venv/bin/python benchmarks/packed.py --before e3eb4ac   # also the code at that commit

For each reference model, one process each, one after another: kcheck with the reference
Python store (a dict of state tuples: the engine before issue 14), kcheck with the packed
native store and the model's Python successor function (the default until a search has
20,000 states), the same with the model's generated C (explore/cgen.py: the default past
that; built before the clock starts, as a cached build would be), and, for the ReplicaSet and
the scheduler, Spin's `pan` on the Promela translation
from benchmarks/spin/gen_replicaset.py (the same state graph; run.sh explains the
translation). With --before REV, first the code at REV too (`git archive` into a temporary
folder, run with this venv). Every kcheck row runs without symmetry; the safety rows check only
the invariants, as pan does, and the liveness row its temporal property too (the search then
keeps the state graph). Figures:

- CPU s: user + system CPU seconds of the whole process (GNU time), start-up included;
- search CPU s: kcheck's CPU seconds inside the search (time.process_time); for pan its whole
  process's CPU seconds (its start-up is milliseconds; its own `elapsed time` is wall time, which
  other jobs on a shared machine inflate);
- per-state ratio: search CPU seconds per stored state, divided by pan's in the same run;
- B/state: (peak RSS - RSS when the search starts) / states for kcheck, peak RSS / states for
  pan (its whole process).

Needs GNU time (/usr/bin/time); Spin and gcc for the Spin rows (skipped without them).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"


@dataclass(frozen=True)
class Case:
    label: str
    model: str
    defines: dict[str, int]
    invariants: tuple[str, ...]
    spin: tuple[str, ...] = ()  # the Promela generator in benchmarks/spin/ and its arguments
    liveness: bool = False  # check the temporal properties too


CASES = [
    Case(
        "ReplicaSet, 11 pod slots (R=7, B=4)",
        "models/replicaset.kdsl",
        {
            "REPLICASETS": 1,
            "MAX_REPLICAS": 7,
            "CRASHES": 4,
            "SCALE_UPS": 0,
            "SCALE_DOWNS": 0,
            "replicas": 7,
        },
        ("never_too_many_live", "pods_fit"),
        ("gen_replicaset.py", "--slots", "11", "--replicas", "7", "--budget", "4"),
    ),
    Case(
        "scheduler_starvation, 2 nodes, 4 pods",
        "models/scheduler_starvation.kdsl",
        {"NODES": 2, "PODS": 4, "CPU": 8, "MAX_REQUEST": 4},
        ("no_overcommit", "running_pods_are_bound"),
        ("gen_scheduler.py", "--nodes", "2", "--pods", "4", "--cpu", "8", "--max-request", "4"),
    ),
    Case(
        "ReplicaSet, 11 pod slots, with `converges` (liveness graph)",
        "models/replicaset.kdsl",
        {
            "REPLICASETS": 1,
            "MAX_REPLICAS": 7,
            "CRASHES": 4,
            "SCALE_UPS": 0,
            "SCALE_DOWNS": 0,
            "replicas": 7,
        },
        ("never_too_many_live", "pods_fit"),
        liveness=True,
    ),
]


def child(mode: str, model: str, defines: dict[str, int], invariants: list[str]) -> None:
    """One search, in this process; prints its figures as JSON. mode: packed, generated,
    default (what `kcheck verify` does: the packed store, the generated C past
    bfs.GEN_AFTER states), reference, or old (whatever kcheck PYTHONPATH names: the code
    before this benchmark existed)."""
    from kcheck.explore.bfs import explore
    from kcheck.lang.frontend import load
    from kcheck.model.compile import compile_model

    compiled = compile_model(load(str(ROOT / model), defines).symbols, symmetry=False)
    store = None
    code = None
    if mode == "default":
        from kcheck.explore.store import generated_code

        code = generated_code(compiled)  # the cached build `kcheck verify` would load
    if mode in ("packed", "generated"):
        from kcheck.explore import bfs
        from kcheck.explore.store import generated_code, make_store

        store = make_store(compiled.layout)
        if mode == "generated":
            bfs.GEN_AFTER = 0
            # built (or loaded from the cache) before the clock starts: a first build is one
            # gcc run of about a second, once per model and size, not search time
            code = generated_code(compiled)
        else:
            bfs.GEN_AFTER = 2**62  # the packed store with the Python successor function
    kwargs = {} if mode == "old" else {"packed": mode != "reference"}
    props = None if "liveness" in invariants else []
    invs = [n for n in invariants if n != "liveness"]
    rss0 = _rss_now()
    c0 = time.process_time()
    result = explore(compiled, invariants=invs, properties=props, symmetry=False, **kwargs)
    cpu = time.process_time() - c0
    out = {
        "verdict": result.verdict,
        "states": result.stats.states,
        "transitions": result.stats.transitions,
        "depth": result.stats.depth,
        "search_cpu": cpu,
        "rss_before": rss0,
        "store": (store.describe() if store is not None and store.native else "Python dict")
        + (f"; generated C, {len(code.fallbacks)} statement(s) left in Python" if code else ""),
        "verdicts": {p.name: p.status for p in result.properties},
        "notes": result.notes,
    }
    print(json.dumps(out))


def _rss_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[str, float, int]:
    """stdout, user+sys CPU seconds and peak RSS bytes of one process, from GNU time."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        done = subprocess.run(
            ["/usr/bin/time", "-o", tf.name, "-f", "%U %S %M", *cmd],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode not in (0, 1) or not done.stdout.strip():
            raise SystemExit(f"{cmd[0]} failed: {done.stderr[-2000:]}")
        user, system, rss_kb = tf.read().split()[-3:]
    return done.stdout, float(user) + float(system), int(rss_kb) * 1024


def kcheck_row(case: Case, mode: str, old: Path | None = None) -> dict[str, object]:
    names = case.invariants + (("liveness",) if case.liveness else ())
    cmd = [str(PYTHON), __file__, "--child", mode, case.model, json.dumps(case.defines)]
    cmd.append(",".join(names))
    env = dict(os.environ)
    if old is not None:
        env["PYTHONPATH"] = str(old / "checker")
    out, cpu, rss = timed(cmd, ROOT, env)
    d: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    d.update(cpu=cpu, rss=rss)
    d["bytes_per_state"] = (rss - int(d["rss_before"])) / max(1, int(d["states"]))  # type: ignore[call-overload]
    return d


def spin_row(case: Case, states_hint: int) -> dict[str, object] | None:
    if not case.spin or not shutil.which("spin") or not shutil.which("gcc"):
        return None
    script, *gen_args = case.spin
    with tempfile.TemporaryDirectory() as tmp:
        pml = Path(tmp) / "model.pml"
        subprocess.run(
            [sys.executable, str(ROOT / "benchmarks/spin" / script), *gen_args, "-o", str(pml)],
            check=True,
        )
        subprocess.run(["spin", "-a", pml.name], cwd=tmp, check=True, capture_output=True)
        subprocess.run(["gcc", "-O2", "-DSAFETY", "-w", "-o", "pan", "pan.c"], cwd=tmp, check=True)
        w = max(10, states_hint.bit_length())
        # pan searches depth-first, and its stack of -m levels is memory it touches: the
        # smallest power of ten that holds the deepest path (a search cut short by it would
        # count too few states)
        depth = 100_000
        while True:
            out, cpu, rss = timed(["./pan", f"-m{depth}", f"-w{w}"], Path(tmp))
            if "max search depth too small" not in out:
                break
            depth *= 10
    stored = int(re.search(r"(\d+) states, stored", out).group(1))  # type: ignore[union-attr]
    errors = int(re.search(r"errors: (\d+)", out).group(1))  # type: ignore[union-attr]
    return {
        "verdict": "holds" if errors == 0 else "violated",
        "states": stored,
        "search_cpu": cpu,
        "cpu": cpu,
        "rss": rss,
        "bytes_per_state": rss / stored,
        "store": f"pan -DSAFETY -m{depth} -w{w}",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="", help="a substring of the rows' labels")
    ap.add_argument("--before", metavar="REV", help="also run the code at this git revision")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        mode, model, defines, invs = args.child
        child(mode, model, json.loads(defines), invs.split(","))
        return
    with tempfile.TemporaryDirectory() as tmp:
        old = None
        if args.before:
            old = Path(tmp)
            archive = subprocess.run(
                ["git", "archive", args.before, "checker", "grammar"],
                cwd=ROOT,
                capture_output=True,
                check=True,
            )
            subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        table(args.only, args.before, old)


def table(only: str, before: str | None, old: Path | None) -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    load = os.getloadavg()
    print(
        f"Load average before: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs"
    )
    print()
    print("| model | checker | store | verdict | states | search CPU s | per-state vs pan |"
          " process CPU s | peak RSS MiB | B/state |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for case in CASES:
        if only not in case.label:
            continue
        rows = []
        if old is not None:
            rows.append((f"kcheck at {before}", kcheck_row(case, "old", old)))
        rows.append(("kcheck, reference store", kcheck_row(case, "reference")))
        rows.append(("kcheck, packed store, Python successors", kcheck_row(case, "packed")))
        rows.append(("kcheck, packed store, generated C", kcheck_row(case, "generated")))
        kinds = {(d["states"], d["verdict"], d["transitions"]) for _, d in rows}
        if len(kinds) != 1:
            print(f"WARNING: the kcheck rows disagree: {kinds}")
        pan = None if case.liveness else spin_row(case, int(rows[0][1]["states"]))  # type: ignore[call-overload]
        if pan is not None:
            rows.append(("Spin 6.5 pan", pan))
        per_pan = (
            float(pan["search_cpu"]) / int(pan["states"])  # type: ignore[call-overload, arg-type]
            if pan
            else None
        )
        for name, d in rows:
            per = float(d["search_cpu"]) / max(1, int(d["states"]))  # type: ignore[call-overload, arg-type]
            ratio = f"{per / per_pan:.2f}x" if per_pan else "-"
            print(
                f"| {case.label} | {name} | {d['store']} | {d['verdict']} | {d['states']:,} |"
                f" {float(d['search_cpu']):.2f} | {ratio} | {float(d['cpu']):.2f} |"  # type: ignore[arg-type]
                f" {int(d['rss']) / 2**20:.0f} | {float(d['bytes_per_state']):.0f} |"  # type: ignore[call-overload, arg-type]
            )
    load = os.getloadavg()
    print()
    print(f"Load average after: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")


if __name__ == "__main__":
    main()
