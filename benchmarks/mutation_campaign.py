"""The mutation campaign over every correct model (issue 13, "Soundness first"; spec/smt.md,
"How the Z3 answers are checked"): each model that says `// expect: holds` is mutated at the
source level (tests/smt/mutation.py: flipped comparisons, dropped conjuncts and guards, swapped
statements, constants changed by one, deleted assignments), and each mutant the front end
takes is judged by the explicit engine, then by `--engine induction` (plain), by
`--engine induction --infer` where the explicit search refutes it, and by `--engine bmc` at the
depth of its shortest counterexample. Induction must never prove an invariant the explicit
search refutes, BMC must find every violation within its depth (unless Z3 said unknown), and
every Z3 trace must replay on the model.

    .venv/bin/python benchmarks/mutation_campaign.py [--per-model N] [--seed S]
        [--z3-timeout S] [--explicit-timeout S] [--max-k K] [--no-infer] [--write]
        [--json FILE] [MODEL ...]

`--per-model N` takes a seeded sample of N mutants of each model (0, the default: all of
them). Prints the table; `--write` also puts it into benchmarks/RESULTS.md between the
`mutation:begin` and `mutation:end` markers. Exit 1 when any comparison went wrong."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.smt.mutation import (  # noqa: E402 - after the path is set
    Budget,
    Comparison,
    compare,
    correct_models,
    mutants,
    sample,
)

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
BEGIN, END = "<!-- mutation:begin", "<!-- mutation:end -->"
COLUMNS = [
    "model", "mutants", "run", "accepted", "violated (explicit)", "Z3 refused",
    "invariants proved (Z3)", "wrong answers", "--infer tried", "BMC caught", "BMC unknown",
    "crashes", "seconds",
]  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="*", help="model files (default: every correct model)")
    ap.add_argument("--per-model", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--z3-timeout", type=float, default=20.0)
    ap.add_argument("--explicit-timeout", type=float, default=30.0)
    ap.add_argument("--max-k", type=int, default=3)
    ap.add_argument("--no-infer", action="store_true")
    ap.add_argument(
        "--refuted-only",
        action="store_true",
        help="run the Z3 engines only on the mutants the explicit search refutes",
    )
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--json", help="write every comparison to this file")
    a = ap.parse_args()
    paths = [Path(m) for m in a.models] or correct_models()
    budget = Budget(explicit_s=a.explicit_timeout, z3_s=a.z3_timeout, max_k=a.max_k,
                    infer=not a.no_infer, z3_on_unrefuted=not a.refuted_only)  # fmt: skip
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()  # fmt: skip
    t0 = time.monotonic()
    rows: list[list[str]] = []
    every: list[Comparison] = []
    totals: Counter[str] = Counter()
    for path in paths:
        pool = mutants(path)
        chosen = sample(pool, a.per_model, a.seed) if a.per_model else pool
        done = [compare(m, budget) for m in chosen]
        every += done
        row = _figures(done)
        row["mutants"], row["run"] = len(pool), len(chosen)
        totals.update(row)
        rows.append([path.name, *(str(row[c]) if c != "seconds" else f"{row[c]:.0f}"
                                  for c in COLUMNS[1:])])  # fmt: skip
        print(" | ".join(rows[-1]), flush=True)
        for c in done:
            for w in c.wrong:
                print(f"  WRONG {c.mutant.label}: {w}", flush=True)
            if c.crash:
                print(f"  CRASH {c.mutant.label}: {c.crash}", flush=True)
    rows.append(["**all**", *(f"**{totals[c]:.0f}**" for c in COLUMNS[1:])])
    wrong = [(c.mutant.label, w) for c in every for w in c.wrong]
    crashes = [(c.mutant.label, c.crash) for c in every if c.crash]
    text = _section(a, commit, rows, wrong, crashes, time.monotonic() - t0, every)
    print(text)
    if a.json:
        Path(a.json).write_text(json.dumps([_plain(c) for c in every], indent=1) + "\n")
    if a.write:
        _write(text)
    return 1 if wrong else 0


def _figures(done: list[Comparison]) -> Counter[str]:
    f: Counter[str] = Counter()
    for c in done:
        f["accepted"] += c.accepted
        f["violated (explicit)"] += bool(c.violated)
        f["Z3 refused"] += bool(c.refused)
        f["invariants proved (Z3)"] += len(c.proved) + len(c.proved_inferred)
        f["wrong answers"] += len(c.wrong)
        f["--infer tried"] += c.infer_tried
        f["BMC caught"] += c.bmc_caught
        f["BMC unknown"] += c.bmc_unknown
        f["crashes"] += bool(c.crash)
        f["seconds"] += c.seconds  # type: ignore[assignment]
    return f


def _section(
    a: argparse.Namespace,
    commit: str,
    rows: list[list[str]],
    wrong: list[tuple[str, str]],
    crashes: list[tuple[str, str]],
    seconds: float,
    every: list[Comparison],
) -> str:
    load = os.getloadavg()[0]
    sampled = f"a seeded sample of {a.per_model} per model (seed {a.seed})" if a.per_model \
        else "every mutant"  # fmt: skip
    violated = [c for c in every if c.violated and not c.refused]
    refuted = sum(len(c.violated) for c in violated)
    kept_open = sum(c.unproved_violated for c in violated)
    lines = [
        f"{BEGIN} (generated by benchmarks/mutation_campaign.py --write; edits here are lost) -->",
        "",
        f"Measured until {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, started at "
        f"commit {commit}, "
        f"on the shared 2-core machine (load average {load:.1f}), "
        f"{seconds / 60:.0f} minutes: {sampled}, explicit search up to "
        f"{a.explicit_timeout:.0f} s, each Z3 run up to {a.z3_timeout:.0f} s, induction "
        f"`--max-k {a.max_k}`{'' if a.no_infer else ' and --infer on the refuted mutants'}"
        f"{'; the Z3 engines only on the refuted mutants' if a.refuted_only else ''}.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
        *("| " + " | ".join(r) + " |" for r in rows),
        "",
        f"Of the {len(violated)} mutants the explicit search refutes and Z3 encodes "
        f"({refuted} invariants violated), induction left all {kept_open} of those invariants "
        f"unproved{' (plain and --infer)' if not a.no_infer else ''}: **"
        f"{len(wrong)} wrong answers**, {len(crashes)} crashes.",
    ]
    for label, w in wrong:
        lines.append(f"- WRONG {label}: {w}")
    for label, why in crashes:
        lines.append(f"- CRASH {label}: {why}")
    lines += ["", END]
    return "\n".join(lines)


def _write(text: str) -> None:
    old = RESULTS.read_text()
    if BEGIN in old:
        head, rest = old.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        RESULTS.write_text(head + text + tail)
    else:
        RESULTS.write_text(old.rstrip("\n") + "\n\n## Z3 engine: the mutation campaign\n\n"
                           + text + "\n")  # fmt: skip


def _plain(c: Comparison) -> dict[str, object]:
    d = asdict(c)
    d["mutant"] = {k: v for k, v in d["mutant"].items() if k != "text"} | {"label": c.mutant.label}
    return d


if __name__ == "__main__":
    sys.exit(main())
