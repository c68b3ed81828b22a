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
            loops, missing = split(p.status, p.reason or "")
            out.append(f"| {path.stem} | {p.name} | {p.status} | {_cell(loops)} "
                       f"| {_cell(missing)} | {cpu:.0f} |")  # fmt: skip
    return out


PROVED = re.compile(r"^proved \((.*?): no fair loop of fault-free steps breaks it")
RULED = "(the loops are ruled out: "
NOT_RULED = "(nor are the loops ruled out: "


def split(status: str, reason: str) -> tuple[str, str]:
    """(what rules the loops out, or why not; what else the proof lacks) from a reason."""
    proved = PROVED.search(reason)
    if proved is not None:
        lacks = "—" if status == "holds" else "not proved that no step leaves the bounds"
        return proved.group(1), lacks
    reason = reason.removeprefix("not proved: ")
    facts = reason.split(" (", 1)[0].split("; ", 1)[0] if reason.startswith("not proved") else ""
    for head in (RULED, NOT_RULED):
        if head in reason:
            inner = _parenthesised(reason, reason.index(head) + len(head))
            return (inner if head == RULED else f"no: {_short(inner)}"), facts
    return f"no: {_short(reason)}" if not facts else "not tried", facts or "—"


def _parenthesised(text: str, start: int) -> str:
    """The text from `start` to the parenthesis that closes the one opened just before it."""
    depth = 1
    for i in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return text[start:i]
    return text[start:]


def _short(why: str) -> str:
    """A loop search's reason, without the states it shows."""
    if "unknown" in why.split(";", 1)[0]:
        return "Z3 gave up (time)"
    loop = re.search(r"a fair loop of (\d+) steps? among the states where the invariants hold", why)
    if loop is not None:
        return f"a fair loop of {loop.group(1)} steps among the states the invariants allow"
    return why.split(";", 1)[0]


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
    lines = [
        "| model | property | induction | loops ruled out by | also missing | CPU s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
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
