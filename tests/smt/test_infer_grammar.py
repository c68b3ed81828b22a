"""The candidate grammar of invariant inference (spec/smt.md, "Houdini"): its families reach the
lemmas the models' proofs need, the bound filter keeps what evaluating every candidate keeps, and
the two models with hand-written lemmas are proved without them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kcheck.engines.infer import MAX_STATES, _filter, _name, _states, _with_lemmas, infer
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.result import HOLDS
from kcheck.smt.candidates import candidates

from .test_infer import stripped, verdict

MODELS = Path(__file__).resolve().parents[2] / "models"

# a count that moves with a var: plain induction cannot prove that `grow` never overflows the
# Cells (a state with four Cells and n = 0, reached after any number of ticks, is not ruled
# out); the grammar's `count(Cell) - n <= 2` does
COUNTS = """model counts
kind Cell[4] {}
var n: 0..2 = 0
var clock: 0..15 = 0
init { create Cell {} create Cell {} }
process p {
  action grow when n < 2 { create Cell {} n := n + 1 }
  action tick { clock := (clock + 1) % 16 }
}
invariant room: count(Cell) <= 4
"""

# two objects of one kind never share a key: the pairwise family proves `unique`'s step
KEYS = """model keys
kind Item[3] { key: 0..2 }
var next: 0..3 = 0
process p {
  action add when next < 3 { create Item { key: next } next := next + 1 }
}
invariant unique: forall a in Item: forall b in Item: a != b implies a.key != b.key
"""


def test_a_count_against_a_var_proves_what_plain_induction_cannot() -> None:
    source = Source("counts.kdsl", COUNTS)
    assert verdict(source, "induction") != HOLDS
    found = infer(source, timeout_s=120, method="houdini")
    assert found.verdict == HOLDS, (found.lemmas, found.open)
    assert any(re.search(r"count\(Cell\) - n <= 2$", x) for x in found.lemmas), found.lemmas


def test_federation_is_proved_with_inferred_lemmas_only() -> None:
    # its step reads Cluster[1]: a lower bound on the Clusters is what closes the proof
    source = Source("federation.kdsl", (MODELS / "federation.kdsl").read_text())
    found = infer(source, timeout_s=180, method="houdini")
    assert found.verdict == HOLDS, (found.lemmas, found.open)
    assert all(x.startswith("lemma inferred_") for x in found.lemmas)


def test_pairwise_candidates_name_two_objects_of_one_kind() -> None:
    texts = candidates(check_source(Source("keys.kdsl", KEYS)).symbols)
    pair = "forall x in Item: forall y in Item: x != y implies x.key != y.key"
    assert pair in texts
    assert "(count o in Item where o.key == 1) <= 1" in texts  # a small int field's atoms


def test_the_bound_filter_keeps_what_evaluating_every_candidate_keeps() -> None:
    # the filter tries each bound family from its tightest constant and stops at the first that
    # holds; the plain way evaluates all of them and keeps the tightest per family
    for name in ("smt_replicaset_lemmas.kdsl", "federation.kdsl"):
        source = stripped(name)
        texts = candidates(check_source(source).symbols)
        checked, texts = _with_lemmas(source, None, texts)
        model = compile_model(checked.symbols)
        states, whole = _states(model, MAX_STATES, float("inf"))
        assert whole
        fast = _filter(texts, model, states)
        held = [t for i, t in enumerate(texts)
                if all(model.invariant(_name(i)).holds(s) for s in states)]  # fmt: skip
        best: dict[tuple[str, str], int] = {}
        for t in held:
            m = re.match(r"^(.*) (<=|>=) (-?\d+)$", t)
            if m:
                c, key = int(m[3]), (m[1], m[2])
                best[key] = min(best.get(key, c), c) if m[2] == "<=" else max(best.get(key, c), c)
        slow = [t for t in held if not (m := re.match(r"^(.*) (<=|>=) (-?\d+)$", t))
                or best[(m[1], m[2])] == int(m[3])]  # fmt: skip
        assert fast == slow


def test_what_infer_finds_does_not_depend_on_the_time_given() -> None:
    # the state search stops at a number of states and Houdini's queries at Z3's resource
    # limit, not at a share of --timeout: with time to spare, the same model gets the same
    # states and candidates whatever the time given, and a proof from either. Which lemmas
    # are printed is not fixed: Z3's unsat cores differ from run to run (seen: 1 or 2 lemmas
    # at --timeout 150, 200, 300 ... on one machine), so greedy minimisation may keep a
    # redundant one
    source = stripped("smt_replicaset_lemmas.kdsl")
    short = infer(source, timeout_s=150, method="houdini", max_states=50)
    long = infer(source, timeout_s=900, method="houdini", max_states=50)
    assert (short.states, short.held) == (long.states, long.held)
    assert short.verdict == long.verdict == HOLDS, (short.lemmas, long.lemmas)
    assert 50 <= short.states < 96  # the whole state space is 96 states
    assert any("(a limit of states)" in n for n in short.notes), short.notes


@pytest.mark.parametrize("name", ["smt_replicaset_lemmas.kdsl", "scheduler_assume_cache.kdsl"])
def test_models_with_hand_written_lemmas_are_proved_without_them(name: str) -> None:
    # their `lemma` lines stay in models/ as documentation: the proof does not need them
    text = (MODELS / name).read_text()
    assert re.search(r"^lemma ", text, re.M)
    source = stripped(name)
    assert not re.search(r"^lemma ", source.text, re.M)
    found = infer(source, timeout_s=180, method="houdini")
    assert found.verdict == HOLDS, (found.lemmas, found.open)
    invariants = {i.name for i in check_source(source).symbols.invariants}
    proved = {p.name for p in found.result.properties if p.status == HOLDS}
    assert invariants <= proved
    assert all(x.startswith("lemma inferred_") for x in found.lemmas)


# a pending write that grows a counter without spending budget: `n + budget(f) <= 2` is true
# in every reachable state but not inductive (from n = 1 with one edit pending and one left,
# the write makes it 3, after any number of ticks); the potential `n + budget(f) + (if
# pending then 1 else 0) <= 2` is
POTENTIAL = """model potential
var n: 0..9 = 0
var pending: bool = false
var clock: 0..15 = 0
controller writer {
  action write when pending { n := n + 1  pending := false }
}
process p {
  action tick { clock := (clock + 1) % 16 }
}
fault f budget 2 {
  action edit when not pending { pending := true }
}
invariant few: n <= 2
"""


def test_a_potential_with_an_indicator_proves_what_the_budgets_alone_cannot() -> None:
    source = Source("potential.kdsl", POTENTIAL)
    assert verdict(source, "induction") != HOLDS
    found = infer(source, timeout_s=120, method="houdini")
    assert found.verdict == HOLDS, (found.lemmas, found.open)
    assert any("(if pending then 1 else 0) <= 2" in x for x in found.lemmas), found.lemmas


def test_potentials_are_built_only_for_vars_their_type_does_not_bound_as_tightly() -> None:
    from kcheck.smt.candidates import potentials

    sym = check_source(Source("potential.kdsl", POTENTIAL)).symbols
    pots = list(potentials(sym, {"n + budget(f)": 2}))
    assert "n + budget(f) + (if pending then 1 else 0) <= 2" in pots
    assert "n + budget(f) + (if (n <= 2) then 1 else 0) <= 2" in pots  # the invariant's atom
    # an atom never sits beside its own negation (their indicators sum to 1)
    assert not [p for p in pots if "(if pending then" in p and "(if not pending then" in p]
    assert list(potentials(sym, {"n + budget(f)": 9})) == []  # n's type already says <= 9


def test_ring_candidates_relate_the_slots_around_an_index_var() -> None:
    # hpa's ring of recommendations, indexed by `next`: which slot still holds what the last
    # measurement asked for depends on how many dips are left (benchmarks/proofs_inference.md).
    # models/hpa.kdsl now keeps its window as aged entries; the ring is the test fixture.
    from kcheck.smt.candidates import rings

    ring = MODELS.parent / "tests" / "fixtures" / "hpa_ring.kdsl"
    texts = set(rings(check_source(Source("hpa_ring.kdsl", ring.read_text())).symbols))
    assert ("budget(metric_dip) + (if dipped then 1 else 0) >= 2 implies "
            "Recommendation[(next + 2) % 3].replicas >= last_measured") in texts  # fmt: skip
    assert ("dipped implies (exists r in Recommendation: r != Recommendation[next] and "
            "r.replicas >= last_measured)") in texts  # fmt: skip
    assert not [t for t in texts if "Recommendation[(next + 3)" in t]  # only the other slots
    keys = check_source(Source("keys.kdsl", KEYS)).symbols
    assert list(rings(keys)) == []  # no ordered kind indexed by a var


def test_an_invariant_another_proof_leans_on_is_restated_as_a_lemma() -> None:
    # deployment_rollout: total_within_surge's step needs surge_respected assumed; the final
    # k-induction assumes lemmas, not invariants (except all jointly), so inference restates
    # surge_respected as a lemma line
    source = Source("deployment_rollout.kdsl", (MODELS / "deployment_rollout.kdsl").read_text())
    found = infer(source, timeout_s=600, method="houdini")
    status = {p.name: p.status for p in found.result.properties}
    assert status["total_within_surge"] == HOLDS, found.result.properties
    assert any(x.endswith(": spec_total() <= replicas + maxSurge") for x in found.lemmas)
    # and `availability`, with a guarded comparison of two of the model's defs: until the
    # crash, the ReplicaSets claim no more available pods than there are
    assert found.verdict == HOLDS, (found.lemmas, found.open)
    assert any(x.endswith(": budget(pod_crash) >= 1 implies min_available() <= available()")
               for x in found.lemmas), found.lemmas  # fmt: skip


# a sliding-window maximum kept as aged entries (models/hpa.kdsl's shape, small): each sync
# records what it measured, drops what the new value reaches and what leaves the window by
# the next sync, and `held` is the window's highest. A dip (one, budgeted) makes one sync
# measure nothing; the last true measurement is still in the window. Plain induction sees
# entries older than the window (`remembered` fails); the window family says how young an
# entry at least `last` is while the dip is pending or left
AGED = """model aged_window
const WINDOW = 2
const DIPS = 1
kind Entry[3] {
  v: 1..3
  age: clock
}
var level: 1..3 = 1
var dipped: bool = false
var last: 0..3 = 0
var held: 0..3 = 0
var n: 0..15 = 0
process env {
  action change { level := any 1..3 }
  action wander { n := (n + 1) % 16 }
}
controller sampler {
  var since: clock = 0
  action sync when after(since, 1) within 0 {
    let rec = if dipped then 0 else level
    if not dipped {
      last := rec
    }
    held := max(rec, max e.v for e in Entry where e.age < WINDOW)
    for e in Entry where e.v <= rec or after(e.age, WINDOW - 1) {
      delete e
    }
    if rec > 0 {
      create Entry { v: rec }
    }
    since := 0
    dipped := false
  }
}
fault dip budget DIPS {
  action miss when not dipped {
    dipped := true
  }
}
invariant remembered: held >= last
"""


def test_a_window_of_aged_entries_is_proved_by_the_window_family() -> None:
    source = Source("aged.kdsl", AGED)
    assert verdict(source, "explicit") == HOLDS
    assert verdict(source, "induction") != HOLDS
    found = infer(source, timeout_s=300, method="houdini")
    assert found.verdict == HOLDS, (found.lemmas, found.open)
    window = "(max o.v for o in Entry where o.age <= "
    assert any(window in x and "budget(dip)" in x for x in found.lemmas), found.lemmas


def test_window_candidates_read_the_clocks_and_never_a_budget_past_the_faults() -> None:
    from kcheck.smt.candidates import Guard, clocks, pending_faults, weakest_windows, windows

    sym = check_source(Source("aged.kdsl", AGED)).symbols
    assert clocks(sym) == (["sampler.since"], {"Entry": ["age"]})
    assert clocks(check_source(Source("keys.kdsl", KEYS)).symbols) == ([], {})
    chains = windows(sym, {"dip": 1})
    texts = {w.text for c in chains for w in c}
    assert ("budget(dip) + (if dipped then 1 else 0) >= 1 and sampler.since < 1 implies "
            "(max o.v for o in Entry where o.age <= 0) >= last") in texts  # fmt: skip
    assert not [t for t in texts if re.search(r">= [2-9] (and|implies)", t)]  # DIPS is 1
    assert not [t for t in texts if "o.age <= 3" in t]  # age stops at 2: its cap less one
    for chain in chains:  # one body and one guard per chain, from the tightest age up
        assert [w.age for w in chain] == sorted(w.age for w in chain)
        assert len({(w.body, w.guard) for w in chain}) == 1
    assert pending_faults(sym, {"dip": 1}) == [
        "budget(dip) + (if dipped then 1 else 0) <= 1",
        "budget(dip) + (if not dipped then 1 else 0) <= 1",
    ]
    # a window is dropped when one with a weaker guard holds at the same or a tighter age
    body = chains[0][0].body
    plain, guarded = Guard(), Guard("dip", "dipped", 1)
    assert guarded.implies(plain) and not plain.implies(guarded)
    assert Guard("dip", None, 1).implies(guarded) and not guarded.implies(Guard("dip", None, 1))
    assert Guard("dip", None, 1, "sampler.since", 1).implies(Guard("dip", None, 1))
    from kcheck.smt.candidates import Window

    loose = Window("a", body, plain, 1)
    tight = Window("b", body, guarded, 0)
    same = Window("c", body, guarded, 1)
    assert weakest_windows([loose, tight, same]) == [loose, tight]
    # the simplest guards first, and a bounded number of candidates in all
    from kcheck.smt.candidates import MAX_CHAINED, _at_most

    assert not chains[0][0].guard.text
    assert _at_most([[1, 2], [3], [4, 5]], 3) == [[1, 2], [3]]
    assert sum(len(c) for c in chains) <= MAX_CHAINED


def test_guarded_def_comparisons_only_for_pairs_that_fail_plainly() -> None:
    from kcheck.smt.candidates import guarded_comparisons

    sym = check_source(Source("deployment_rollout.kdsl",
                              (MODELS / "deployment_rollout.kdsl").read_text())).symbols  # fmt: skip
    chains = guarded_comparisons(sym, {"user": 1, "pod_crash": 1}, {"available() <= ready_pods()"})
    texts = [t for c in chains for t in c]
    assert "budget(pod_crash) >= 1 implies min_available() <= available()" in texts
    assert not [t for t in texts if t.endswith(" implies available() <= ready_pods()")]
    assert not [t for t in texts if ">= 2 implies" in t]  # each budget is 1


def test_hpa_is_proved_with_inferred_lemmas_only() -> None:
    # its scale-down window as aged recommendations (benchmarks/hpa_window.md): the window
    # family says how young an entry at least last_measured is while dips are left
    source = Source("hpa.kdsl", (MODELS / "hpa.kdsl").read_text())
    assert not re.search(r"^lemma ", source.text, re.M)
    found = infer(source, timeout_s=600, method="houdini")
    assert found.verdict == HOLDS, (found.lemmas, found.open)
    proved = {p.name for p in found.result.properties if p.status == HOLDS}
    assert {"never_beyond_bounds", "no_overshoot", "dips_cost_no_pods"} <= proved
    assert any("(max o.replicas for o in Recommendation where o.age <= " in x
               for x in found.lemmas), found.lemmas  # fmt: skip
