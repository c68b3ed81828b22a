"""Invariant inference coverage: for every model in models/ that says `// expect: holds`, which
invariants plain k-induction (`kcheck verify --engine induction --max-k 6`) proves, and which
`kcheck infer --method M` proves with the lemmas it infers, for each method M of --methods
(houdini, spacer, auto; default all three). One process per cell, each under --timeout S
(default 60) with `timeout` as a backstop; a model the Z3 engine refuses is listed as refused.

    .venv/bin/python benchmarks/infer_coverage.py [--timeout S] [--methods houdini,spacer,auto]
        [--no-plain] [MODEL ...]

Prints a Markdown table (paste it into benchmarks/RESULTS.md).

    .venv/bin/python benchmarks/infer_coverage.py --grid CELLS.json [--timeout S]
        [--engines induction,houdini,spacer,auto,bmc] [MODEL ...]
    .venv/bin/python benchmarks/infer_coverage.py --grid CELLS.json --render benchmarks/proofs.md

The grid: every model in models/ (or those named) × engine, each cell one process under
--timeout S (or, with --cpu N, N CPU seconds, its wall timeout 20 times that), recorded in CELLS.json as it finishes (a re-run replaces the cells it measures, so
columns can be measured at different times), with its wall and CPU seconds and the load
average; --render writes the Markdown table. Engines: `induction` (`kcheck verify --engine
induction --max-k 6`), `houdini`, `spacer`, `auto` (`kcheck infer --method M`), `bmc`
(`kcheck verify --engine bmc --depth 12`, the invariants only). A model whose `// expect:` line
says violated gets induction and bmc only (the inference routes are about proofs)."""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KCHECK = str(ROOT / ".venv" / "bin" / "kcheck")


# with --cpu N, each cell's process may use N CPU seconds (RLIMIT_CPU: the kernel stops it
# there), and its own --timeout is this many times N of wall time: on a shared machine the load
# slows a cell down but does not change its answer
CPU_LIMIT: int | None = None
WALL_PER_CPU = 20


def run(args: list[str], timeout: float) -> tuple[int, str, float]:
    t0 = time.monotonic()

    def limit() -> None:
        if CPU_LIMIT is not None:
            resource.setrlimit(resource.RLIMIT_CPU, (CPU_LIMIT, CPU_LIMIT + 5))

    try:
        p = subprocess.run([KCHECK, *args], capture_output=True, text=True,
                           timeout=timeout + 30, preexec_fn=limit)  # fmt: skip
        rc = -1 if p.returncode < 0 else p.returncode  # killed at the CPU limit
        return rc, p.stdout + p.stderr, time.monotonic() - t0
    except subprocess.TimeoutExpired:
        return -1, "", time.monotonic() - t0


def plain(model: str, timeout: float) -> str:
    rc, out, secs = run(["verify", model, "--engine", "induction", "--max-k", "6",
                         "--timeout", str(timeout), "--format", "json", "-q"], timeout)  # fmt: skip
    if rc == 2:
        return "refused"
    if rc == -1:
        return f"timeout ({secs:.0f} s)"
    try:
        props = json.loads(out[out.index("{") :])["properties"]
    except (ValueError, KeyError):
        return f"no answer (exit {rc})"
    invs = [p for p in props if p["kind"] == "invariant"]
    bound = all(p["status"] == "holds" for p in props if p["kind"] == "bound")
    proved = sum(p["status"] == "holds" for p in invs)
    return f"{proved}/{len(invs)} ({secs:.1f} s)" + ("" if bound else ", bound open")


def inferred(model: str, timeout: float, method: str) -> str:
    rc, out, secs = run(["infer", model, "--timeout", str(timeout), "--method", method], timeout)
    if rc == 2:
        return "refused"
    if rc == -1:
        return f"timeout ({secs:.0f} s)"
    used = re.findall(r"^(?:// not proved: )?lemma (\w+)", out, re.M)
    status = dict(re.findall(r"^invariant (\w+): (\w+)", out, re.M))
    invs = [n for n in status if n not in used]
    proved = sum(status[n] == "holds" for n in invs)
    bound = ", bound open" if re.search(r"^bound .*: inconclusive", out, re.M) else ""
    return f"{proved}/{len(invs)} with {len(used)} lemmas ({secs:.1f} s){bound}"


def timed(args: list[str], timeout: float) -> tuple[int, str, float, float]:
    """Exit code (-1: killed by the backstop), stdout+stderr, wall and CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    rc, out, secs = run(args, timeout)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return rc, out, secs, cpu


def invariant_names(model: str) -> list[str]:
    from kcheck.lang.diagnostics import Source
    from kcheck.lang.frontend import check_source

    path = ROOT / model if not Path(model).is_absolute() else Path(model)
    checked = check_source(Source(str(path), path.read_text()))
    return [i.name for i in checked.symbols.invariants]


def cell(model: str, engine: str, timeout: float) -> dict[str, object]:
    """One grid cell: status (proved, violated, open, refused, timeout), detail, seconds."""
    t = str(timeout)
    if engine in ("induction", "bmc"):
        args = ["verify", model, "--engine", engine, "--timeout", t, "--format", "json", "-q"]
        args += ["--max-k", "6"] if engine == "induction" else ["--depth", "12"]
        for name in invariant_names(model):
            args += ["--invariant", name]
    else:
        args = ["infer", model, "--timeout", t, "--method", engine]
    rc, out, secs, cpu = timed(args, timeout)
    got: dict[str, object] = {"wall": round(secs, 1), "cpu": round(cpu, 1),
                              "load": round(os.getloadavg()[0], 1)}  # fmt: skip
    if rc == -1:
        # the backstop kills at timeout + 30 s of wall time: a kill before it is RLIMIT_CPU's
        # (the CPU seconds read back from getrusage fall a little short of the limit)
        if CPU_LIMIT is not None and secs < timeout + 30:
            return got | {"status": "timeout", "detail": f"out of CPU time ({CPU_LIMIT} CPU s)"}
        return got | {"status": "timeout", "detail": f"killed after {secs:.0f} s"}
    if rc == 2:
        lines = [x for x in out.strip().splitlines() if x.strip()]
        return got | {"status": "refused", "detail": lines[-1][:200] if lines else "exit 2"}
    if rc not in (0, 1, 3):  # kcheck's internal error (exit 70): no verdict to read
        lines = [x for x in out.strip().splitlines() if x.strip()]
        return got | {
            "status": "error",
            "detail": f"exit {rc}: " + (lines[0][:160] if lines else ""),
        }
    if engine in ("induction", "bmc"):
        try:
            props = json.loads(out[out.index("{") :])["properties"]
        except (ValueError, KeyError):
            return got | {"status": "open", "detail": f"no report (exit {rc})"}
        status = {p["name"]: p["status"] for p in props if p["kind"] == "invariant"}
        bound = all(p["status"] == "holds" for p in props if p["kind"] == "bound")
    else:
        used = set(re.findall(r"^(?:// not proved: )?lemma (\w+)", out, re.M))
        status = {n: s for n, s in re.findall(r"^invariant (\w+): (\w+)", out, re.M)
                  if n not in used}  # fmt: skip
        bound = not re.search(r"^bound .*: inconclusive", out, re.M)
        got["lemmas"] = len(used)
    bad = sorted(n for n, s in status.items() if s == "violated")
    proved = sum(s == "holds" for s in status.values())
    if bad:
        return got | {"status": "violated", "detail": ", ".join(bad)}
    if engine == "bmc":
        within = rc == 0 or "depth 12" in out
        detail = "no violation to depth 12" if within else f"cut short (exit {rc})"
        return got | {"status": "bounded" if within else "open", "detail": detail}
    if not status:  # temporal properties only: the Z3 engines prove the bound, if anything
        return got | {
            "status": "no invariant",
            "detail": "bound " + ("proved" if bound else "open"),
        }
    if proved == len(status) and bound:
        return got | {"status": "proved", "detail": f"{proved}/{len(status)}"}
    why = "" if bound else ", bound open"
    return got | {"status": "open", "detail": f"{proved}/{len(status)}{why}"}


ENGINES = ["induction", "houdini", "spacer", "auto", "bmc"]


def expected(model: str) -> str:
    m = re.search(r"^// expect: (\w+)", (ROOT / model).read_text(), re.M)
    return m.group(1) if m else "?"


def grid(cells_path: Path, models: list[str], engines: list[str], timeout: float) -> None:
    cells = json.loads(cells_path.read_text()) if cells_path.exists() else {}
    for m in models:
        for e in engines:
            if expected(m) != "holds" and e not in ("induction", "bmc"):
                continue
            before = cells.get(Path(m).name, {}).get("houdini", {})
            if e == "auto" and before.get("status") == "proved" and before.get("at"):
                c = dict(before) | {"detail": f"{before['detail']}, Houdini's proof"}
            else:  # auto runs Houdini first and stops there when it proves everything
                c = cell(m, e, timeout)
            c["timeout"] = timeout
            if CPU_LIMIT is not None:
                c["cpu_limit"] = CPU_LIMIT
            c["at"] = time.strftime("%H:%M", time.gmtime())
            cells.setdefault(Path(m).name, {})[e] = c
            cells_path.write_text(json.dumps(cells, indent=1, sort_keys=True))
            print(Path(m).name, e, c, file=sys.stderr, flush=True)


def render(cells_path: Path) -> str:
    cells: dict[str, dict[str, dict[str, object]]] = json.loads(cells_path.read_text())
    head = "| model | expect | " + " | ".join(ENGINES) + " |"
    lines = [head, "|---" * (len(ENGINES) + 2) + "|"]
    loads = [float(str(c["load"])) for row in cells.values() for c in row.values()]
    for name in sorted(cells):
        row = cells[name]
        shown = []
        for e in ENGINES:
            c = row.get(e)
            if c is None and e == "auto" and row.get("houdini", {}).get("status") == "proved":
                shown.append("proved (Houdini's proof: auto runs it first)")
                continue
            if c is None:
                shown.append("-")
                continue
            status, detail = str(c["status"]), str(c["detail"])
            if detail.startswith("0/0"):  # measured before "no invariant" was its own status
                status, detail = (
                    "no invariant",
                    "bound " + ("open" if "open" in detail else "proved"),
                )
            lem = f", {c['lemmas']} lemmas" if "lemmas" in c else ""
            shown.append(f"{status} ({detail}{lem}; {c['wall']} s, {c['cpu']} CPU s)")
        lines.append(f"| {name} | {expected('models/' + name)} | " + " | ".join(shown) + " |")

    def proved(row: dict[str, dict[str, object]], e: str) -> bool:
        if e == "auto" and e not in row:
            e = "houdini"
        return row.get(e, {}).get("status") == "proved"

    total = {e: sum(proved(row, e) for row in cells.values()) for e in ENGINES}
    lines.append("| **models proved** | | " + " | ".join(f"**{total[e]}**" for e in ENGINES) + " |")
    if loads:
        lines.append(f"\nLoad average (1 min) when the cells finished: {min(loads)}-{max(loads)}.")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--methods", default="houdini,spacer,auto")
    ap.add_argument("--no-plain", action="store_true")
    ap.add_argument("--grid", type=Path, help="measure the model x engine grid into this JSON")
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--render", type=Path, help="with --grid: write its Markdown table here")
    ap.add_argument("--cpu", type=int, help="CPU seconds per cell (then --timeout is ignored)")
    ap.add_argument("models", nargs="*")
    a = ap.parse_args()
    if a.cpu is not None:
        global CPU_LIMIT
        CPU_LIMIT = a.cpu
        a.timeout = float(a.cpu * WALL_PER_CPU)
    if a.grid is not None:
        if a.render is not None:
            a.render.write_text(render(a.grid) + "\n")
            return
        every = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "models").glob("*.kdsl"))
        grid(a.grid, a.models or every, a.engines.split(","), a.timeout)
        return
    models = a.models or sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "models").glob("*.kdsl")
        if "// expect: holds" in p.read_text()
    )  # fmt: skip
    methods = a.methods.split(",")
    head = ([] if a.no_plain else ["plain induction: invariants proved"]) + [
        f"kcheck infer --method {m}: proved, lemmas used" for m in methods
    ]
    print("| model | " + " | ".join(head) + " |")
    print("|---" * (len(head) + 1) + "|")
    for m in models:
        cells = ([] if a.no_plain else [plain(m, a.timeout)]) + [
            inferred(m, a.timeout, x) for x in methods
        ]
        print(f"| {Path(m).name} | " + " | ".join(cells) + " |", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
