#!/usr/bin/env python3
"""Start-up of `kcheck verify` on a small model: CPU seconds of the whole process, two
checkouts interleaved run by run (so a noisy neighbour slows both alike), mean and median.

    .venv/bin/python benchmarks/startup.py BASE_CHECKOUT [HEAD_CHECKOUT] [--rounds 20]

Both checkouts run with this interpreter (this .venv's dependencies), each with its own
`checker/` first on sys.path; byte-code is written and warmed by one untimed run each, as in any
installed package (PYTHONDONTWRITEBYTECODE is cleared for the children). A base without a
.venv of its own will do, e.g. `git archive main | tar -x -C /tmp/base`. Standard library only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = "models/replicaset.kdsl"
RUN = (
    "import sys; sys.path.insert(0, {checker!r}); sys.argv = ['kcheck', 'verify', {model!r}, '-q'];"
    "from kcheck.cli.main import main; main()"
)


def cpu_of(checkout: Path) -> float:
    """User + system CPU seconds of one `kcheck verify MODEL -q` process."""
    code = RUN.format(checker=str(checkout / "checker"), model=str(checkout / MODEL))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        sys.exit(f"{checkout}: kcheck verify exited {proc.returncode}\n{err}")
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base", type=Path)
    ap.add_argument("head", type=Path, nargs="?", default=ROOT)
    ap.add_argument("--rounds", type=int, default=20)
    a = ap.parse_args()
    sides = {"base": a.base.resolve(), "head": a.head.resolve()}
    for path in sides.values():
        cpu_of(path)  # write and warm the byte-code
    times: dict[str, list[float]] = {k: [] for k in sides}
    for r in range(a.rounds):
        order = list(sides) if r % 2 == 0 else list(reversed(sides))
        for k in order:
            times[k].append(cpu_of(sides[k]))
    load = os.getloadavg()
    print(f"kcheck verify {MODEL} -q, {a.rounds} interleaved rounds, load {load[0]:.1f}")
    for k, path in sides.items():
        t = times[k]
        print(
            f"  {k}: {path}: mean {statistics.mean(t):.3f} CPU s, median "
            f"{statistics.median(t):.3f}, min {min(t):.3f}"
        )
    ratio = statistics.mean(times["head"]) / statistics.mean(times["base"])
    print(f"  head / base (means): {ratio:.2f}")


if __name__ == "__main__":
    main()
