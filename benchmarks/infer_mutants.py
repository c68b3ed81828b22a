"""Mutants of a model that inference proves (tests/smt/mutation.py's operators) checked by the
explicit engine and by `kcheck infer --method houdini`: an invariant the explicit search refutes
must never be proved with inferred lemmas (neither `holds` nor "proved ... for the states within
bounds"). Only the mutants the explicit search refutes are given to inference.

    PYTHONPATH=. .venv/bin/python benchmarks/infer_mutants.py MODEL [COUNT] [SEED] [TIMEOUT]
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

from kcheck.engines.infer import infer
from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.result import VIOLATED
from tests.smt.mutation import mutants, sample


def main(path: Path, count: int, seed: int, timeout: float) -> int:
    stats: Counter[str] = Counter()
    for m in sample(mutants(path), count, seed):
        try:
            sym = check_source(Source("m.kdsl", m.text), {}).symbols
        except KcheckError:
            stats["front end refused"] += 1
            continue
        explicit = explore(compile_model(sym), properties=[])
        refuted = {p.name for p in explicit.properties if p.status == VIOLATED}
        if not refuted & {i.name for i in sym.invariants}:
            stats["not refuted by explicit search"] += 1
            continue
        stats["refuted by explicit search"] += 1
        t0 = time.process_time()
        found = infer(Source("m.kdsl", m.text), None, 6, timeout, method="houdini")
        cpu = time.process_time() - t0
        for p in found.result.properties:
            if p.name not in refuted or p.kind != "invariant":
                continue
            proved = (p.reason or "").startswith("proved")
            stats[f"refuted invariant: {p.status}"] += 1
            if proved:
                stats["UNSOUND"] += 1
            print(f"{m.label}: {p.name}: explicit violated, infer {p.status}"
                  f"{' UNSOUND' if proved else ''} ({cpu:.0f} CPU s)", flush=True)  # fmt: skip
    print(dict(stats))
    return 1 if stats["UNSOUND"] else 0


if __name__ == "__main__":
    a = sys.argv[1:]
    sys.exit(main(Path(a[0]), int(a[1]) if len(a) > 1 else 12, int(a[2]) if len(a) > 2 else 7,
                  float(a[3]) if len(a) > 3 else 300.0))  # fmt: skip
