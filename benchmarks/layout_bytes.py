#!/usr/bin/env python3
"""Bytes per packed state and search CPU, two checkouts interleaved (issue 14.1: drop from the
stored state what never changes after `init`).

    .venv/bin/python benchmarks/layout_bytes.py BASE_CHECKOUT [HEAD_CHECKOUT] [--rounds 3]

Per case and checkout: the packed key's bytes (the store's own `describe()`, after 30,000
states), and whole `kcheck verify ... --no-symmetry` processes (median CPU s, peak RSS), the
two checkouts taking turns. Both run with this interpreter, each with its own `checker/` first
on sys.path (a base without a .venv will do: `git archive main | tar -x -C /tmp/base`); the
script checks that both report the same verdict, states and transitions. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CASES = [
    (
        "scheduler_starvation, 2 nodes, 4 pods",
        "models/scheduler_starvation.kdsl",
        {"NODES": 2, "PODS": 4, "CPU": 8, "MAX_REQUEST": 4},
    ),
    (
        "ReplicaSet, 11 pod slots (R=7, B=4)",
        "models/replicaset.kdsl",
        {"REPLICASETS": 1, "MAX_REPLICAS": 7, "CRASHES": 4, "SCALE_UPS": 0}
        | {"SCALE_DOWNS": 0, "replicas": 7},
    ),
    ("scheduler_plugins (default size)", "models/scheduler_plugins.kdsl", {}),
]

KEY = """
import inspect, sys
sys.path.insert(0, {checker!r})
from kcheck.explore import store as S
from kcheck.lang.frontend import load
from kcheck.model.compile import compile_model
m = compile_model(load({model!r}, {defines!r}).symbols, symmetry=False)
takes_initial = "initial" in inspect.signature(S.make_store).parameters
st = S.make_store(m.layout, m.initial()) if takes_initial else S.make_store(m.layout)
for s in m.initial():
    st.add(s, -1)
i = 0
while i < len(st) and len(st) < 30000:
    st.extend(m.successors(st[i]), i, None)
    i += 1
print(st.describe())
"""

VERIFY = """
import sys
sys.path.insert(0, {checker!r})
sys.argv = ["kcheck", "verify", {model!r}, *{args!r}, "--no-symmetry", "--format", "json", "-q"]
from kcheck.cli.main import main
main()
"""


def run(code: str) -> tuple[str, float, int]:
    """stdout, CPU s and peak RSS (KiB) of one child process."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with open(os.devnull, "wb") as null:
        r, w = os.pipe()
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=w, stderr=null, env=env)
        os.close(w)
        with os.fdopen(r, "rb") as reader:
            out = reader.read()
        _, status, usage = os.wait4(proc.pid, 0)
    code_ = os.waitstatus_to_exitcode(status)
    if code_ not in (0, 1):
        sys.exit(f"a child exited {code_}")
    return out.decode(), usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base", type=Path)
    ap.add_argument("head", type=Path, nargs="?", default=ROOT)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    sides = {"base": a.base.resolve(), "head": a.head.resolve()}
    print(f"load before: {os.getloadavg()[0]:.1f}")
    print(
        "| case | checkout | packed key | verdict | states | transitions | CPU s (median) "
        "| peak RSS MiB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for label, model, defines in CASES:
        args = [x for k, v in defines.items() for x in ("-D", f"{k}={v}")]
        keys, cpu, rss, seen = {}, {k: [] for k in sides}, {k: [] for k in sides}, {}
        for k, path in sides.items():
            checker, m = str(path / "checker"), str(path / model)
            keys[k] = run(KEY.format(checker=checker, model=m, defines=defines))[0].strip()
        for r in range(a.rounds):
            for k in sides if r % 2 == 0 else reversed(list(sides)):
                path = sides[k]
                code = VERIFY.format(
                    checker=str(path / "checker"), model=str(path / model), args=args
                )
                out, c, peak = run(code)
                rep = json.loads(out)
                seen[k] = (rep["verdict"], rep["stats"]["states"], rep["stats"]["transitions"])
                cpu[k].append(c)
                rss[k].append(peak / 1024)
        if seen["base"] != seen["head"]:
            print(f"WARNING: {label}: base {seen['base']} != head {seen['head']}")
        for k in sides:
            v, n, t = seen[k]
            print(
                f"| {label} | {k} | {keys[k]} | {v} | {n:,} | {t:,} | "
                f"{statistics.median(cpu[k]):.2f} | {max(rss[k]):.0f} |"
            )
    print(f"load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
