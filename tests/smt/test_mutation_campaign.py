"""The mutation campaign's fast tier (issue 13, "Soundness first"; the generator and the
comparison are tests/smt/mutation.py, the full campaign benchmarks/mutation_campaign.py): a
seeded sample of source-level mutants of correct models whose invariants induction proves,
each judged by the explicit engine; every mutant it refutes goes through `--engine induction`
and `--engine bmc` (and, for the first of each model, `--engine induction --infer`), which
must never prove what it refutes, must find its violations within their depth, and must
replay every trace they report."""

from __future__ import annotations

from collections import Counter

from tests.smt.mutation import MODELS, Budget, Comparison, compare, mutants, sample

# models whose invariants plain induction or --infer proves in a second or two (so a wrong
# proof of a mutant is possible, and cheap to look for), with how many mutants of each
PLAN = {
    "hpa_field_ownership": 20,
    "run_node_faults": 20,
    "smt_scheduler_params": 20,
    "smt_replicaset_lemmas": 20,
    "scheduler_assume_cache": 16,
    "node_lifecycle": 16,
    "scheduler": 8,
}
SEED = 13
BUDGET = Budget(max_states=50_000, explicit_s=10, z3_s=20, max_k=3, infer=False,
                z3_on_unrefuted=False)  # fmt: skip


def _campaign() -> list[Comparison]:
    done: list[Comparison] = []
    for name, n in PLAN.items():
        inferred = False
        for m in sample(mutants(MODELS / f"{name}.kdsl"), n, SEED):
            c = compare(m, BUDGET)
            if c.violated and not c.refused and not inferred:
                # --infer is the slow route: once per model, on its first refuted mutant
                c = compare(m, Budget(**{**BUDGET.__dict__, "infer": True}))
                inferred = True
            done.append(c)
    return done


def test_no_mutant_explicit_search_refutes_is_proved_or_missed_by_z3() -> None:
    done = _campaign()
    figures: Counter[str] = Counter()
    for c in done:
        figures["accepted"] += c.accepted
        if c.violated and not c.refused:
            figures["refuted and compared"] += 1
            figures["invariants refuted"] += len(c.violated)
            figures["refuted invariants left unproved"] += c.unproved_violated
        figures["invariants proved"] += len(c.proved) + len(c.proved_inferred)
        figures["--infer"] += c.infer_tried
        figures["bmc caught"] += c.bmc_caught
    print(dict(figures))  # shown with -s: what the campaign compared
    wrong = [f"{c.mutant.label}: {w}" for c in done for w in c.wrong]
    crashes = [f"{c.mutant.label}: {c.crash}" for c in done if c.crash]
    assert not wrong, "\n".join(wrong)
    assert not crashes, "\n".join(crashes)
    # not vacuous: the mutants reach the engines, the explicit search refutes a good number,
    # induction proves what it can (so a wrong proof was possible), BMC finds the violations
    assert figures["accepted"] >= 60, figures
    assert figures["refuted and compared"] >= 12, figures
    assert figures["refuted invariants left unproved"] == figures["invariants refuted"], figures
    assert figures["invariants proved"] >= 10, figures
    assert figures["--infer"] >= 4, figures
    assert figures["bmc caught"] >= 10, figures


def test_the_mutants_are_each_one_edit_of_the_model_and_of_every_kind() -> None:
    path = MODELS / "smt_replicaset_lemmas.kdsl"
    original = path.read_text().split("\n")
    found = mutants(path)
    assert {m.op for m in found} == {"cmp", "conjunct", "guard", "const", "delete"}
    assert {m.part for m in found} == {"system", "lemma", "invariant"}
    assert len({m.text for m in found}) == len(found)
    for m in found:
        changed = [i for i, (a, b) in enumerate(zip(original, m.text.split("\n"), strict=False))
                   if a != b]  # fmt: skip
        assert changed and changed[0] + 1 == m.line, m.label
    # the flip of `live(rs) < rs.replicas` in scale_up, as a real off-by-one would write it
    flipped = [m for m in found if m.op == "cmp" and "when live(rs) <= rs.replicas" in m.text]
    assert len(flipped) == 1
