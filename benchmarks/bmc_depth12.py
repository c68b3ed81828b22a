"""`kcheck verify MODEL --engine bmc --depth 12` on every model, in CPU seconds (issue 13.4).

    .venv/bin/python benchmarks/bmc_depth12.py [--cpu 120] [--depth 12] [--jobs 1]
        [--checker DIR] [--out FILE.json] [MODEL ...]
    .venv/bin/python benchmarks/bmc_depth12.py --render FILE.json [--base OLD.json]

Each model is one `kcheck verify MODEL --engine bmc --depth N --format json` process, as a user
runs it (invariants, the bound and the temporal properties), under a CPU limit of `--cpu`
seconds (RLIMIT_CPU: the kernel stops it there) and a wall-clock `--timeout` far above it, so
that the load of the shared machine slows a run down but cannot turn its answer into a
timeout. The CPU seconds are the child's user + system time (wait4). `--checker DIR` runs the
`checker/` directory of another checkout (`git archive COMMIT | tar -x -C DIR`) with this
checkout's packages: the figures before a change.

Recorded per model (one JSON object per line in --out): the exit code, the verdict, the depth
every invariant reached (N, or where Z3 gave up), per kind of entry how many were violated,
inconclusive and not checked, the CPU seconds, the load average (1 min) before and after, and
why a run gave no answer (refused, killed at the CPU limit, Z3 unknown). A run stopped by the
limit prints no report, so the child logs each state the engine unrolls on stderr (a wrapper
around the encoder's `fresh_state`; it changes nothing else): the last `sN` is the depth the
invariants reached, `tN` the temporal lasso search's. It logs too when a search asks the
depths left at once (smt/bmc.py and smt/lasso.py `_none_deeper`, wrapped), whose states after
s_k are not a depth reached.

`--render` prints the Markdown table; with `--base`, the base run's CPU seconds and depth
beside each model. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# the child: the ordinary CLI, with the encoder's fresh_state logging the state it makes
BOOT = """
import sys
from kcheck.smt import expr
_fresh = expr.ExprEncoder.fresh_state
def fresh_state(self, prefix, *args, **kwargs):
    print("#unrolled", prefix, file=sys.stderr, flush=True)
    return _fresh(self, prefix, *args, **kwargs)
expr.ExprEncoder.fresh_state = fresh_state
from kcheck.smt import bmc, lasso
def at_once(module, tag):
    real = getattr(module, "_none_deeper", None)  # None: a checker from before it (--checker)
    if real is None:
        return
    def asked(*args, **kwargs):
        print("#at-once", tag, file=sys.stderr, flush=True)
        try:
            return real(*args, **kwargs)
        finally:
            print("#at-once-done", tag, file=sys.stderr, flush=True)
    module._none_deeper = asked
at_once(bmc, "s")
at_once(lasso, "t")
from kcheck.cli.main import main
sys.exit(main())
"""


def _limit(cpu: int) -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))


def run(model: Path, depth: int, cpu: int, checker: Path | None) -> dict[str, Any]:
    env = dict(os.environ)
    if checker is not None:
        env["PYTHONPATH"] = str(checker)
    cmd = [sys.executable, "-c", BOOT, "verify", str(model), "--engine", "bmc",
           "--depth", str(depth), "--timeout", str(cpu * 50), "--format", "json", "-q"]  # fmt: skip
    load0 = os.getloadavg()[0]
    t0 = time.monotonic()
    with tempfile.TemporaryFile("w+") as fo, tempfile.TemporaryFile("w+") as fe:
        p = subprocess.Popen(cmd, stdout=fo, stderr=fe, text=True, cwd=ROOT, env=env,
                             preexec_fn=lambda: _limit(cpu))  # fmt: skip
        _, status, usage = os.wait4(p.pid, 0)  # the child's own CPU time, whatever runs beside
        code = os.waitstatus_to_exitcode(status)
        p.returncode = code  # reaped here: Popen must not wait for it again
        fo.seek(0)
        fe.seek(0)
        out, err = fo.read(), fe.read()
    wall = time.monotonic() - t0
    cell: dict[str, Any] = {
        "model": model.stem, "exit": code, "wall": round(wall, 1),
        "cpu": round(usage.ru_utime + usage.ru_stime, 1),
        "load": [round(load0, 1), round(os.getloadavg()[0], 1)],
    }  # fmt: skip
    reached_at = {"s": -1, "t": -1}  # per search, the deepest state it unrolled
    asking: str | None = None  # the search asking the depths left at once, when killed
    for ln in err.splitlines():
        if ln.startswith("#at-once-done"):
            asking = None
        elif ln.startswith("#at-once "):
            asking = ln.split()[1]
        elif (hit := re.fullmatch(r"#unrolled (s|t)(\d+)", ln)) and asking is None:
            # the query at once builds the states after s_k too: they are not a depth reached
            reached_at[hit.group(1)] = max(reached_at[hit.group(1)], int(hit.group(2)) - 1)
    s_depth, t_depth = reached_at["s"], reached_at["t"]
    try:
        report = json.loads(out)
    except json.JSONDecodeError:
        last = [ln for ln in err.splitlines() if not ln.startswith("#")]
        at_once = f", asking depths {{}} to {depth} at once" if asking else ""
        if code in (-signal.SIGXCPU, -signal.SIGKILL):
            why = f"killed at the CPU limit ({cpu} s)"
            if t_depth >= 0:
                lassos = max(t_depth, 0)
                why += f"; invariants done, lassos at depth {lassos}"
                why += at_once.format(lassos + 1) if asking == "t" else ""
            elif s_depth >= 0:
                why += f"; invariants at depth {s_depth}" + at_once.format(s_depth + 1)
        else:
            why = (last or [f"exit {code}"])[-1][:160]
        # the lasso search starts once the invariants' search has reached the depth
        reached = depth if t_depth >= 0 else s_depth if s_depth >= 0 else None
        cell.update(verdict="no answer", depth=reached, why=why)
        return cell
    cell["verdict"] = report["verdict"]
    reached = depth
    counts: dict[str, dict[str, int]] = {}
    whys: list[str] = []
    for e in report["properties"]:
        kind = "bound" if e["kind"] == "bound" else e["kind"]
        c = counts.setdefault(kind, {})
        c[e["status"]] = c.get(e["status"], 0) + 1
        reason = e.get("reason") or ""
        gave_up = re.search(r"unknown \((.*)\) at depth (\d+)", reason)
        if gave_up and e["kind"] == "invariant":
            reached = min(reached, int(gave_up.group(2)))
        if gave_up or e["status"] == "not checked":
            whys.append(f"{e['name']}: {reason[:100]}")
    cell.update(depth=reached, counts=counts, why="; ".join(sorted(set(whys))))
    return cell


def _counts(cell: dict[str, Any], kind: str) -> str:
    c = cell.get("counts", {}).get(kind, {})
    if not c:
        return ""
    order = ["violated", "inconclusive", "not checked", "holds"]
    return ", ".join(f"{c[s]} {s}" for s in order if s in c)


def render(cells: list[dict[str, Any]], base: dict[str, dict[str, Any]], cpu: int) -> str:
    head = "| model | verdict | invariants, bound | temporal | depth | CPU s |"
    sep = "|---|---|---|---|---|---|"
    if base:
        head += " before: depth | before: CPU s |"
        sep += "---|---|"
    lines = [head, sep]
    for c in sorted(cells, key=lambda c: c["model"]):
        inv = "; ".join(
            x for x in (_counts(c, "invariant"), "bound " + _counts(c, "bound")
                        if _counts(c, "bound") else "") if x
        )  # fmt: skip
        verdict = c["verdict"] if c["verdict"] != "no answer" else f"no answer: {c['why']}"
        if c["verdict"] != "no answer" and c.get("why"):
            verdict += f" ({c['why']})"
        depth = "-" if c.get("depth") is None else str(c["depth"])
        row = f"| {c['model']} | {verdict} | {inv} | {_counts(c, 'property')} | {depth} | {c['cpu']} |"
        if base:
            b = base.get(c["model"])
            if b is None:
                row += " - | - |"
            else:
                bd = "-" if b.get("depth") is None else str(b["depth"])
                bv = "" if b["verdict"] != "no answer" else " (killed)"
                row += f" {bd}{bv} | {b['cpu']} |"
        lines.append(row)
    answered = sum(1 for c in cells if c["verdict"] != "no answer")
    lines.append("")
    lines.append(f"{answered} of {len(cells)} models answered within {cpu} CPU seconds.")
    return "\n".join(lines)


def _grid_cell(c: dict[str, Any], cpu: int) -> dict[str, Any]:
    """A cell of benchmarks/infer_coverage.py's grid (benchmarks/proofs_cells.json)."""
    inv = c.get("counts", {}).get("invariant", {})
    if c["verdict"] == "no answer":
        status, detail = "timeout", c["why"]
    elif inv.get("violated"):
        status, detail = "violated", f"{inv['violated']} of {sum(inv.values())} invariants"
    elif c.get("depth") == 12:
        status, detail = "bounded", f"no violation to depth 12; temporal: {_counts(c, 'property')}"
    else:
        status, detail = "open", c.get("why") or f"depth {c.get('depth')}"
    return {"status": status, "detail": detail, "cpu": c["cpu"], "wall": c["wall"],
            "load": c["load"][1], "timeout": float(cpu), "at": "bmc_depth12.py"}  # fmt: skip


def _load(path: Path) -> list[dict[str, Any]]:
    cells: dict[str, dict[str, Any]] = {}
    for ln in path.read_text().splitlines():
        if ln.strip():
            c = json.loads(ln)
            cells[c["model"]] = c  # a later line for a model replaces an earlier one
    return list(cells.values())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="*", type=Path)
    ap.add_argument("--cpu", type=int, default=120)
    ap.add_argument("--depth", type=int, default=12)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--checker", type=Path, help="the checker/ directory of another checkout")
    ap.add_argument("--out", type=Path, help="append one JSON line per model here")
    ap.add_argument("--render", type=Path, help="print the table of a --out file")
    ap.add_argument("--base", type=Path, help="with --render: the --out file of the base")
    ap.add_argument("--cells", type=Path, help="with --render: set the bmc cells of this grid")
    a = ap.parse_args()
    if a.render and a.cells:
        grid = json.loads(a.cells.read_text())
        for c in _load(a.render):
            grid.setdefault(f"{c['model']}.kdsl", {})["bmc"] = _grid_cell(c, a.cpu)
        a.cells.write_text(json.dumps(grid, indent=1, sort_keys=True))
        return 0
    if a.render:
        base = {c["model"]: c for c in _load(a.base)} if a.base else {}
        print(render(_load(a.render), base, a.cpu))
        return 0
    models = a.models or sorted((ROOT / "models").glob("*.kdsl"))
    checker = a.checker.resolve() if a.checker else None

    def one(m: Path) -> dict[str, Any]:
        cell = run(m, a.depth, a.cpu, checker)
        line = json.dumps(cell)
        print(line, flush=True)
        if a.out:
            with a.out.open("a") as f:
                f.write(line + "\n")
        return cell

    with ThreadPoolExecutor(max_workers=a.jobs) as pool:
        cells = list(pool.map(one, models))
    print(render(cells, {}, a.cpu))
    return 0


if __name__ == "__main__":
    sys.exit(main())
