"""BMC to depth 12 on every model, before and after a change, in the same run (issue 13.4).

    .venv/bin/python benchmarks/bmc_scale.py BASE_CHECKER [--timeout S] [--depth N] [MODEL ...]

BASE_CHECKER is the `checker/` directory of another checkout (`git archive COMMIT | tar -x -C
DIR` makes one); it runs with this checkout's Python and packages. For each model the two take
turns (base, then head): one `kcheck verify MODEL --engine bmc --depth N --timeout S --format
json` process each, timed in CPU seconds of the child (user + system: the machine is shared, so
wall time is noise). The table gives, for each: the depth reached (N, or the depth where Z3 gave
up), the CPU seconds, and the verdict; and it checks that the two agree on every invariant both
decided (status and counterexample length). Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Run:
    exit: int
    cpu: float
    depth: int | None = None  # None: refused or failed
    verdict: str = ""
    decided: dict[str, tuple[str, int]] = field(default_factory=dict)  # name -> (status, len)
    note: str = ""


def run(checker: Path, model: Path, depth: int, timeout: float) -> Run:
    env = dict(os.environ, PYTHONPATH=str(checker))
    cmd = ["timeout", str(int(timeout) + 60), sys.executable, "-c",
           "import sys; from kcheck.cli.main import main; sys.exit(main())",
           "verify", str(model), "--engine", "bmc", "--depth", str(depth),
           "--timeout", str(timeout), "--format", "json"]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, cwd=ROOT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out = Run(p.returncode, cpu)
    try:
        report = json.loads(p.stdout)
    except json.JSONDecodeError:
        last = (p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1]
        out.note = "" if "before Z3 decided anything" in last else f"refused: {last[:80]}"
        return out
    out.verdict = report["verdict"]
    out.depth = depth
    for e in report["properties"]:
        if e["kind"] not in ("invariant", "bound"):
            continue
        gave_up = re.search(r"unknown .* at depth (\d+)", e.get("reason") or "")
        if gave_up:
            out.depth = min(out.depth, int(gave_up.group(1)))
        if e["status"] == "violated":
            out.decided[e["name"]] = ("violated", len(e.get("trace") or []))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("base", type=Path, help="the checker/ directory of the base checkout")
    ap.add_argument("models", nargs="*", type=Path)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--depth", type=int, default=12)
    a = ap.parse_args()
    models = a.models or sorted((ROOT / "models").glob("*.kdsl"))
    print("| model | base: depth | base CPU s | head: depth | head CPU s | verdict (head) |")
    print("|---|---|---|---|---|---|")
    disagree = 0
    for m in models:
        base = run(a.base.resolve(), m, a.depth, a.timeout)
        head = run(ROOT / "checker", m, a.depth, a.timeout)
        same = {n for n in base.decided.keys() & head.decided.keys()}
        bad = [n for n in same if base.decided[n] != head.decided[n]]
        # a violation one found within the depth both reached must be found by the other
        if base.depth == head.depth == a.depth and base.decided.keys() != head.decided.keys():
            bad += sorted(base.decided.keys() ^ head.decided.keys())
        disagree += len(bad)

        def cell(r: Run) -> str:
            if r.depth is None:  # no depth answered within --timeout, or not run at all
                return r.note or "none in time"
            return str(r.depth)

        verdict = head.verdict + (f" DISAGREE on {', '.join(bad)}" if bad else "")
        print(f"| {m.stem} | {cell(base)} | {base.cpu:.1f} | {cell(head)} | {head.cpu:.1f} | "
              f"{verdict} |", flush=True)  # fmt: skip
    return 1 if disagree else 0


if __name__ == "__main__":
    sys.exit(main())
