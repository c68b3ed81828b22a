"""Proofs of the temporal properties of the correct models (spec/smt.md, "Measures"): for every
model in models/ marked `// expect: holds` with a property other than `always P`, the induction
engine's entry for each such property, with the measures and facts it rests on, or why it is not
proved; and the CPU seconds of the run.

    .venv/bin/python benchmarks/liveness_proofs.py [--max-k K] [--timeout S] [--out FILE]
                                                    [MODEL ...]

Runs in-process, one model after another, each induction run with its own --timeout deadline.
Prints one line per property as it goes; with --out, writes the markdown table there.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from kcheck.lang.frontend import load
from kcheck.model.compile import compile_model
from kcheck.smt.encode import Unsupported
from kcheck.smt.induction import induction

ROOT = Path(__file__).resolve().parents[1]
HOLDS = re.compile(r"^// expect: holds\s*$", re.M)


def rows(path: Path, max_k: int, timeout: float) -> list[str]:
    sym = load(str(path)).symbols
    names = [p.name for p in sym.properties if not _always(p.expr)]
    if not names:
        return []
    model = compile_model(sym, symmetry=False)
    t0 = time.process_time()
    try:
        result = induction(model, sym, max_k, None, timeout, properties=names)
    except Unsupported as err:
        return [f"| {path.stem} | (all) | refused | {_cell(str(err))} | |"]
    cpu = time.process_time() - t0
    out = []
    for p in result.properties:
        if p.name in names and p.kind == "property":
            out.append(f"| {path.stem} | {p.name} | {p.status} | {_cell(p.reason or '')} "
                       f"| {cpu:.0f} |")  # fmt: skip
    return out


def _always(e: object) -> bool:
    from kcheck.lang import ast

    while isinstance(e, ast.Quant):
        e = e.body
    return isinstance(e, ast.Temporal) and e.op == "always" and not isinstance(e.body, ast.Temporal)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-k", type=int, default=4)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--out")
    ap.add_argument("models", nargs="*")
    args = ap.parse_args(argv)
    paths = [Path(m) for m in args.models] or sorted((ROOT / "models").glob("*.kdsl"))
    lines = ["| model | property | induction | reason | CPU s |", "| --- | --- | --- | --- | --- |"]
    for path in paths:
        if not HOLDS.search(path.read_text()):
            continue
        for row in rows(path, args.max_k, args.timeout):
            print(row, flush=True)
            lines.append(row)
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
