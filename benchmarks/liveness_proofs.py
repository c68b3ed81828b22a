"""Proofs of the temporal properties of the correct models (spec/smt.md, "Measures"): for every
model in models/ marked `// expect: holds` with a property other than `always P`, the induction
engine's entry for each such property, with the measures and facts it rests on, or why it is not
proved; and the CPU seconds of the run.

    .venv/bin/python benchmarks/liveness_proofs.py [--max-k K] [--timeout S] [--cpu N]
                                                    [--infer] [--out FILE] [MODEL ...]

One model after another. With --cpu N each model runs in a child process limited to N CPU
seconds (RLIMIT_CPU: the machine is shared, so wall time is noise), its engine given a wall
deadline of --timeout (make it generous: Z3's resource limit per query and the CPU limit are
what bound the run); a child the limit kills leaves its properties "out of CPU time (N CPU s)".
With --infer, what plain induction leaves open goes to `kcheck verify --engine induction
--infer`'s path (engines/infer.with_inferred: lemmas inferred, then the temporal properties
proved on the model with them), in the same child and CPU limit; the column "lemmas" counts
the inferred lemma lines the run printed. Prints one line per
property as it goes; with --out, writes the markdown table there.
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

from kcheck.engines.dispatch import Refused
from kcheck.lang.frontend import load
from kcheck.model.compile import compile_model
from kcheck.smt.encode import Unsupported
from kcheck.smt.induction import induction

ROOT = Path(__file__).resolve().parents[1]
HOLDS = re.compile(r"^// expect: holds\s*$", re.M)


def rows(path: Path, max_k: int, timeout: float, infer: bool = False) -> list[str]:
    sym = load(str(path)).symbols
    names = [p.name for p in sym.properties if not _always(p.expr)]
    if not names:
        return []
    t0 = time.process_time()
    model = compile_model(sym, symmetry=False)
    try:
        result = induction(model, sym, max_k, None, timeout, properties=names)
        if infer:  # as `kcheck verify --engine induction --infer` does, with its time left
            from kcheck.engines.infer import with_inferred
            from kcheck.lang.diagnostics import Source

            source = Source(str(path), path.read_text())
            left = timeout - (time.process_time() - t0)
            result = with_inferred(result, source, None, max_k, left)
    except (Unsupported, Refused) as err:
        return [f"| {path.stem} | (all) | refused | {_cell(str(err))} | | | |"]
    lemmas = len([n for n in result.notes if n.startswith("lemma ")])
    cpu = time.process_time() - t0
    out = []
    for p in result.properties:
        if p.name in names and p.kind == "property":
            loops, missing = split(p.status, p.reason or "")
            out.append(f"| {path.stem} | {p.name} | {p.status} | {_cell(loops)} "
                       f"| {_cell(missing)} | {lemmas} | {cpu:.0f} |")  # fmt: skip
    return out


def limited(path: Path, args: argparse.Namespace) -> list[str]:
    """rows() for one model in a child process of at most args.cpu CPU seconds."""
    cmd = [sys.executable, __file__, "--max-k", str(args.max_k), "--timeout", str(args.timeout),
           *(["--infer"] if args.infer else []), "--child", str(path)]  # fmt: skip

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (args.cpu, args.cpu + 5))

    proc = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=cap, check=False)
    got = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    if proc.returncode == 0:
        return got
    sym = load(str(path)).symbols
    done = {line.split(" | ")[1] for line in got}
    why = f"out of CPU time ({args.cpu} CPU s for the model)" if proc.returncode < 0 else (
        f"the run failed: {proc.stderr.strip().splitlines()[-1:]}")  # fmt: skip
    return got + [f"| {path.stem} | {p.name} | inconclusive | {why} | | | {args.cpu} |"
                  for p in sym.properties if not _always(p.expr) and p.name not in done]  # fmt: skip


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
    ap.add_argument("--cpu", type=int, help="CPU seconds per model, in a child process")
    ap.add_argument("--infer", action="store_true", help="infer lemmas first, as --infer does")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("models", nargs="*")
    args = ap.parse_args(argv)
    if args.child:
        for row in rows(Path(args.child), args.max_k, args.timeout, args.infer):
            print(row, flush=True)
        return 0
    paths = [Path(m) for m in args.models] or sorted((ROOT / "models").glob("*.kdsl"))
    lines = [
        "| model | property | induction | loops ruled out by | also missing | lemmas | CPU s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for path in paths:
        if not HOLDS.search(path.read_text()):
            continue
        got = limited(path, args) if args.cpu else rows(path, args.max_k, args.timeout, args.infer)
        for row in got:
            print(row, flush=True)
            lines.append(row)
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
