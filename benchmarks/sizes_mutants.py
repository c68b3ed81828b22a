"""Mutants of models/replicaset.kdsl (tests/smt/mutation.py) checked for any number of pods
(`--size MAX_PODS=1..`, smt/unbounded.py) and by the explicit engine at MAX_PODS 3 and 5: a
proof for any number of pods of an invariant the explicit search refutes is a soundness bug.

    PYTHONPATH=. .venv/bin/python benchmarks/sizes_mutants.py [COUNT] [SEED]
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.result import HOLDS, VIOLATED
from kcheck.smt.refuse import Unsupported
from kcheck.smt.sizes import SizeRange, check_sized
from tests.smt.mutation import mutants, sample

INVARIANTS = ["never_too_many_live", "deletes_pending_first"]


def main(count: int, seed: int) -> int:
    pool = mutants(Path("models/replicaset.kdsl"))
    stats: Counter[str] = Counter()
    for m in sample(pool, count, seed):
        sym = check_source(Source("m.kdsl", m.text), {}).symbols
        names = [i for i in INVARIANTS if any(x.name == i for x in sym.invariants)]
        try:
            sized = check_sized(sym, [SizeRange("MAX_PODS", 1, None)], "induction", names, [], 0,
                                3, 60.0)  # fmt: skip
        except Unsupported:
            stats["refused"] += 1
            continue
        refuted: dict[str, list[int]] = {}
        for n in (3, 5):
            fixed = check_source(Source("m.kdsl", m.text), {"MAX_PODS": n}).symbols
            for p in explore(compile_model(fixed), properties=[]).properties:
                if p.status == VIOLATED:
                    refuted.setdefault(p.name, []).append(n)
        stats["explicit refuted"] += len([n for n in names if n in refuted])
        for p in sized.properties:
            if p.status == HOLDS and p.name in refuted:
                print(f"UNSOUND: {m.label}: {p.name} proved, refuted at {refuted[p.name]}")
                stats["UNSOUND"] += 1
            stats[p.status] += 1
    print(dict(stats))
    return 1 if stats["UNSOUND"] else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 12,
                  int(sys.argv[2]) if len(sys.argv) > 2 else 7))  # fmt: skip
