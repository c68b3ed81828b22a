"""Invariant inference coverage: for every model in models/ that says `// expect: holds`, which
invariants plain k-induction (`kcheck verify --engine induction --max-k 6`) proves, and which
`kcheck infer --method M` proves with the lemmas it infers, for each method M of --methods
(houdini, spacer, auto; default all three). One process per cell, each under --timeout S
(default 60) with `timeout` as a backstop; a model the Z3 engine refuses is listed as refused.

    .venv/bin/python benchmarks/infer_coverage.py [--timeout S] [--methods houdini,spacer,auto]
        [--no-plain] [MODEL ...]

Prints a Markdown table (paste it into benchmarks/RESULTS.md)."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KCHECK = str(ROOT / ".venv" / "bin" / "kcheck")


def run(args: list[str], timeout: float) -> tuple[int, str, float]:
    t0 = time.monotonic()
    try:
        p = subprocess.run([KCHECK, *args], capture_output=True, text=True,
                           timeout=timeout + 30)  # fmt: skip
        return p.returncode, p.stdout + p.stderr, time.monotonic() - t0
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
    used = re.findall(r"^lemma (\w+)", out, re.M)
    status = dict(re.findall(r"^invariant (\w+): (\w+)", out, re.M))
    invs = [n for n in status if n not in used]
    proved = sum(status[n] == "holds" for n in invs)
    bound = ", bound open" if re.search(r"^bound .*: inconclusive", out, re.M) else ""
    return f"{proved}/{len(invs)} with {len(used)} lemmas ({secs:.1f} s){bound}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--methods", default="houdini,spacer,auto")
    ap.add_argument("--no-plain", action="store_true")
    ap.add_argument("models", nargs="*")
    a = ap.parse_args()
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
