#!/usr/bin/env python3
"""The search on 2 threads against 1 (issue 14 part 2: target >= 1.7x at 2 workers on the
3.28M-state model), with Spin's own multi-core search on the same model as the peer, in one run.
Results: benchmarks/threads.md.

    .venv/bin/python benchmarks/threads.py                 # 3,226,357 states, 5 rounds
    .venv/bin/python benchmarks/threads.py --replicas 6 --rounds 2     # 328,373 states

The model is the ReplicaSet of benchmarks/distributed_speedup.py (one ReplicaSet, symmetry off,
the invariants only; 3,226,357 states at the defaults) and its Promela translation by
benchmarks/spin/gen_replicaset.py (the same state graph: the script checks that the counts
agree; pan stores one more, its `init` before the processes start). Each round runs, one process after another so that each has the machine:

- kcheck's search on 1 thread, then on 2 (`--threads`), each in a fresh process: the wall and
  CPU seconds of `explore` alone (loading and compiling the model are outside the clock); both
  must report the same states and transitions;
- Spin's `pan -DSAFETY` on 1 core, then built with `-DNCORE=2` on 2 (Spin's multi-core
  search): wall seconds of the whole process, from GNU time.

The figures are medians over the rounds, and each speed-up is the median of the per-round
ratios (1 over 2 of the same round): the machine is shared and noisy, and a ratio within one
round is what means something. The load average is printed first and last.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"


def child(defines: dict[str, int], threads: int) -> None:
    """One kcheck search in this process: print its figures as JSON."""
    sys.path.insert(0, str(ROOT / "checker"))
    from kcheck.explore.bfs import Limits, explore
    from kcheck.lang.frontend import load
    from kcheck.model.compile import compile_model

    model = compile_model(
        load(str(ROOT / "models/replicaset.kdsl"), defines).symbols, symmetry=False
    )
    invariants = [i.name for i in model.invariants]
    c0, w0 = time.process_time(), time.perf_counter()
    r = explore(
        model, invariants=invariants, properties=[], symmetry=False, limits=Limits(threads=threads)
    )
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    print(json.dumps({"states": r.stats.states, "transitions": r.stats.transitions,
                      "verdict": r.verdict, "wall": wall, "cpu": cpu, "notes": r.notes}))  # fmt: skip


def kcheck_run(defines: dict[str, int], threads: int) -> dict[str, object]:
    out = subprocess.run(
        [str(PYTHON), __file__, "--child", json.dumps(defines), str(threads)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    row: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return row


def spin_build(tmp: Path, replicas: int, crashes: int) -> None:
    pml = tmp / "model.pml"
    slots = str(replicas + crashes)
    gen = ROOT / "benchmarks/spin/gen_replicaset.py"
    subprocess.run([sys.executable, str(gen), "--slots", slots, "--replicas", str(replicas),
                    "--budget", str(crashes), "-o", str(pml)], check=True)  # fmt: skip
    # pan's multi-core build takes no `hidden` variable; the translation's one scratch byte is
    # 0 between steps, so as a plain variable it adds no state (the counts are compared)
    text = pml.read_text(encoding="utf-8")
    assert "hidden byte i;" in text
    for name, flags, src in (
        ("pan1", [], text),
        ("pan2", ["-DNCORE=2", "-DMEMLIM=16000"], text.replace("hidden byte i;", "byte i;")),
    ):
        d = tmp / f"{name}.d"
        d.mkdir()
        (d / "model.pml").write_text(src, encoding="utf-8")
        subprocess.run(["spin", "-a", "model.pml"], cwd=d, check=True, capture_output=True)
        cmd = ["gcc", "-O2", "-DSAFETY", *flags, "-w", "-o", str(tmp / name), "pan.c"]
        subprocess.run(cmd, cwd=d, check=True)


def spin_run(tmp: Path, name: str, w: int) -> dict[str, object]:
    done = subprocess.run(
        ["/usr/bin/time", "-f", "TIME %e %U %S", f"./{name}", "-m1000000", f"-w{w}"],
        cwd=tmp, capture_output=True, text=True, check=False,
    )  # fmt: skip
    text = done.stdout + done.stderr
    wall, user, sys_ = (float(x) for x in re.findall(r"TIME (\S+) (\S+) (\S+)", text)[-1])
    # the multi-core pan prints one line per core and the total last
    stored = [int(x) for x in re.findall(r"(\d+) states, stored", text)]
    if not stored:
        raise SystemExit(f"{name} printed no state count:\n{text[-2000:]}")
    return {"wall": wall, "cpu": user + sys_, "states": max(stored)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicas", type=int, default=8)
    ap.add_argument("--crashes", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("-o", "--output", type=Path, help="write the table here (Markdown)")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(json.loads(args.child[0]), int(args.child[1]))
        return
    missing = [t for t in ("spin", "gcc") if not shutil.which(t)]
    if missing or not Path("/usr/bin/time").exists():
        raise SystemExit(f"needs spin, gcc and GNU time; missing: {missing or ['/usr/bin/time']}")
    r, c = args.replicas, args.crashes
    defines = {"REPLICASETS": 1, "MAX_REPLICAS": r, "CRASHES": c, "SCALE_UPS": 0,
               "SCALE_DOWNS": 0, "replicas": r}  # fmt: skip
    load0 = os.getloadavg()
    print("load average", load0, "cpus", os.cpu_count(), flush=True)
    rows: list[dict[str, dict[str, object]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        spin_build(Path(tmp), r, c)
        for k in range(args.rounds):
            row = {"k1": kcheck_run(defines, 1), "k2": kcheck_run(defines, 2)}
            w = max(10, int(row["k1"]["states"]).bit_length())  # type: ignore[call-overload]
            row["s1"] = spin_run(Path(tmp), "pan1", w)
            row["s2"] = spin_run(Path(tmp), "pan2", w)
            k1, k2, s1, s2 = row["k1"], row["k2"], row["s1"], row["s2"]
            assert (k1["states"], k1["transitions"]) == (k2["states"], k2["transitions"]), row
            # pan stores one state more: its `init` before the processes run
            assert int(k1["states"]) + 1 == s1["states"] == s2["states"], row  # type: ignore[call-overload]
            rows.append(row)
            print(f"round {k + 1}: kcheck 1 thread {k1['wall']:.2f} s, 2 threads "
                  f"{k2['wall']:.2f} s; pan 1 core {s1['wall']:.2f} s, 2 cores "
                  f"{s2['wall']:.2f} s", flush=True)  # fmt: skip
    load1 = os.getloadavg()
    print("load average", load1, flush=True)
    text = table(rows, defines, load0, load1)
    print(text)
    if args.output:
        args.output.write_text(text, encoding="utf-8")


def table(rows: list[dict[str, dict[str, object]]], defines: dict[str, int],
          load0: tuple[float, ...], load1: tuple[float, ...]) -> str:  # fmt: skip
    def med(key: str, what: str) -> float:
        return statistics.median(float(r[key][what]) for r in rows)  # type: ignore[arg-type]

    def speedup(one: str, two: str) -> float:
        return statistics.median(float(r[one]["wall"]) / float(r[two]["wall"]) for r in rows)  # type: ignore[arg-type]

    states = rows[0]["k1"]["states"]
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by benchmarks/threads.py, {len(rows)} rounds; "
        f"load average {load0[0]:.2f} before, {load1[0]:.2f} after; {os.cpu_count()} CPUs.",
        "",
        f"ReplicaSet {json.dumps(defines)}, symmetry off, invariants only: {states:,} states "
        "(kcheck and Spin agree on the count in every run).",
        "",
        "| search | 1 thread / core: wall s | 2: wall s | 2: CPU s | speed-up (median of rounds) |",
        "| --- | --- | --- | --- | --- |",
        f"| kcheck `--threads` | {med('k1', 'wall'):.2f} | {med('k2', 'wall'):.2f} | "
        f"{med('k2', 'cpu'):.2f} | **{speedup('k1', 'k2'):.2f}x** |",
        f"| Spin `pan -DSAFETY`, `-DNCORE=2` | {med('s1', 'wall'):.2f} | {med('s2', 'wall'):.2f} | "
        f"(not counted) | {speedup('s1', 's2'):.2f}x |",
        "",
        f"kcheck on 1 thread against pan on 1 core, per state (wall, median of rounds): "
        f"{statistics.median(float(r['k1']['wall']) / float(r['s1']['wall']) for r in rows):.2f}x; "  # type: ignore[arg-type]
        f"on 2 against 2: "
        f"{statistics.median(float(r['k2']['wall']) / float(r['s2']['wall']) for r in rows):.2f}x.",  # type: ignore[arg-type]
        "",
        "kcheck's wall is the search alone (the model loaded and compiled before the clock; about "
        "0.3 s more for the whole process, benchmarks/startup.md); pan's is its whole process "
        "(its start-up is a few milliseconds). The 2-core pan's CPU is not shown: GNU time does "
        "not count the process it forks for its second core (its output shows both at work).",
        "",
        "Per round (wall s): "
        + "; ".join(
            f"{float(r['k1']['wall']):.2f} / {float(r['k2']['wall']):.2f} kcheck, "  # type: ignore[arg-type]
            f"{float(r['s1']['wall']):.2f} / {float(r['s2']['wall']):.2f} pan"  # type: ignore[arg-type]
            for r in rows
        )
        + ".",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
