"""The Houdini step's queries one action instance at a time (spec/smt.md, "Houdini"): a set is
inductive iff every instance keeps it, so the split queries reach the same fixpoint as one query
over the whole step relation; a candidate only the last action breaks is dropped (a check that
left an action out would keep it); and the lemmas chosen, with the invariants, are inductive
under the whole relation, asked of one independent solver."""

from __future__ import annotations

from pathlib import Path

import pytest
import z3  # type: ignore[import-untyped]

from kcheck.engines.infer import infer
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.result import HOLDS
from kcheck.smt.encode import Encoder
from kcheck.smt.infer import Houdini, houdini, step_groups
from kcheck.smt.system import Unrolling
from kcheck.smt.wellformed import well_formed

MODELS = Path(__file__).resolve().parents[2] / "models"

# d <= a needs b <= a (assuming itself); `spoil`, the last action, breaks c == 0; inc_a breaks a <= b
CHAIN = """model chain
const N = 3
var a: 0..N = 0
var b: 0..N = 0
var d: 0..N = 0
var c: 0..1 = 0
kind Slot[2] { on: bool = false }
init { create Slot {} create Slot {} }
process p {
  action inc_a when a < N { a := a + 1 }
  action copy_b when b < a { b := b + 1 }
  action copy_d when d < b { d := d + 1 }
  action light for s in Slot where not s.on { s.on := true }
  action spoil when a == N and c == 0 { c := 1 }
}
invariant d_le_a: d <= a
lemma inferred_1: b <= a
lemma inferred_2: c == 0
lemma inferred_3: d <= b
lemma inferred_4: a <= b
lemma inferred_5: forall s in Slot: s.on implies c <= 1
"""


def run(text: str, split: bool) -> Houdini:
    checked = check_source(Source("m.kdsl", text))
    model = compile_model(checked.symbols)
    return houdini(model, checked.symbols, model.initial(), 120, split=split)


def inductive(text: str, assumed: set[str], goals: set[str]) -> bool:
    """`assumed` in a well-formed state, any step of the whole relation: every goal holds
    after it (one solver, the monolithic step, nothing of infer.py's queries)."""
    checked = check_source(Source("m.kdsl", text))
    model = compile_model(checked.symbols)
    enc = Encoder(model, checked.symbols, False)
    path = Unrolling(enc, "t")
    invs = {i.name: i for i in checked.symbols.invariants}
    s = z3.Solver()
    for j in (0, 1):
        s.add(well_formed(model.layout, path.state(j), enc.sets.bits))
    s.add(path.step(0))
    s.add(*[z3.Not(enc.violation(invs[n], path.state(0))) for n in assumed])
    s.add(z3.Or(*[enc.violation(invs[n], path.state(1)) for n in goals]))
    return bool(s.check() == z3.unsat)


def test_split_queries_reach_the_whole_relation_fixpoint_and_drop_what_spoil_breaks() -> None:
    split, whole = run(CHAIN, True), run(CHAIN, False)
    assert not split.unknown and not whole.unknown
    assert split.kept == whole.kept == ["inferred_1", "inferred_3", "inferred_5"]
    assert split.proved == whole.proved == ["d_le_a"]
    assert split.open == whole.open == {}
    # the cores may name other survivors (test_houdini_choice.py): each choice must prove
    # itself and d <= a, and need inferred_1 (b <= a), without which nothing does
    for found in (split, whole):
        assert "inferred_1" in found.used
        chosen = set(found.used) | found.leaned_on
        assert inductive(CHAIN, chosen, chosen | set(found.proved))
    assert not inductive(CHAIN, {"d_le_a"}, {"d_le_a"})  # the lemma is needed


def test_one_step_group_per_action_instance() -> None:
    checked = check_source(Source("m.kdsl", CHAIN))
    model = compile_model(checked.symbols)
    path = Unrolling(Encoder(model, checked.symbols, False), "g")
    # inc_a, copy_b, copy_d, light per Slot (2), spoil: every instance has its own query
    assert len(step_groups(path, True)) == len(path.instances(0)) == 6
    assert len(step_groups(path, False)) == 1


def test_an_open_invariant_keeps_its_counterexample_either_way() -> None:
    text = CHAIN.replace("lemma inferred_1: b <= a\n", "").replace(
        "action copy_b when b < a", "action copy_b when b < N"
    )
    split, whole = run(text, True), run(text, False)
    assert "d_le_a" in split.open and "d_le_a" in whole.open
    assert split.kept == whole.kept
    assert split.proved == whole.proved == []


@pytest.mark.parametrize("name", ["deployment_rollout.kdsl"])
def test_a_model_proved_before_is_proved_with_the_split_queries(name: str) -> None:
    text = (MODELS / name).read_text()
    source = Source(name, "\n".join(x for x in text.split("\n") if not x.startswith("lemma ")))
    found = infer(source, timeout_s=300, method="houdini")
    assert found.verdict == HOLDS
    assert found.lemmas and all(x.startswith("lemma inferred_") for x in found.lemmas)
