"""How the Houdini step chooses the lemmas it prints (spec/smt.md, "Houdini", step 4): per-instance
unsat cores closed over what they name, then a drop pass that asks only the instances whose core
names the member dropped. What it chooses must prove itself and the invariants under the whole
step relation (asked of an independent solver), leave out the survivors no proof needs, need
each member, and fall back to every survivor (still a proof) when Z3 gives no answer."""

from __future__ import annotations

from typing import Any

import pytest

import kcheck.smt.infer as smt_infer
from kcheck.engines.infer import infer
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.result import HOLDS
from kcheck.smt.choose import Chooser
from kcheck.smt.infer import Houdini, houdini

from .test_houdini_split import CHAIN, inductive

# CHAIN with spare survivors: true, inductive alone, and of no use to d <= a or to each other
SPARE = (
    CHAIN
    + """lemma inferred_6: forall s in Slot: not s.on or s.on
lemma inferred_7: c <= 1
lemma inferred_8: count(Slot) <= 2
lemma inferred_9: d <= N
"""
)

# a Job: `complete` takes done to done + 1 and deletes its pod; "no step fails" needs
# count(Pod) + done <= 2, which no single bound says (the T + v <= c family does)
JOB = """model job
const PARALLELISM = 2
const COMPLETIONS = 2
var done: 0..COMPLETIONS = 0
kind Pod[PARALLELISM] { running: bool = false }
process job {
  action create_pod when count(Pod) < PARALLELISM and done + count(Pod) < COMPLETIONS { create Pod {} }
  action start for p in Pod where not p.running { p.running := true }
  action complete for p in Pod where p.running { done := done + 1 delete p }
}
invariant done_in_range: done <= COMPLETIONS
"""


def run(text: str) -> Houdini:
    checked = check_source(Source("m.kdsl", text))
    model = compile_model(checked.symbols)
    return houdini(model, checked.symbols, model.initial(), 120)


def test_the_choice_proves_itself_leaves_the_spare_out_and_needs_each_member() -> None:
    found = run(SPARE)
    assert not found.unknown and not found.choice
    assert {"inferred_6", "inferred_7", "inferred_8", "inferred_9"} <= set(found.kept)
    assert found.proved == ["d_le_a"]
    chosen = set(found.used) | found.leaned_on
    assert chosen and not chosen & {"inferred_6", "inferred_7", "inferred_8", "inferred_9"}
    assert inductive(SPARE, chosen, chosen | set(found.proved))
    for c in chosen:  # none spare: without it, the rest do not prove themselves and d <= a
        rest = chosen - {c}
        assert not inductive(SPARE, rest, rest | set(found.proved))


def test_the_drop_pass_asks_only_the_instances_whose_core_names_the_member() -> None:
    real_core, real_drop = smt_infer.check_core, Chooser._drop
    asked: list[int] = []  # in the drop pass
    members: list[int] = []  # chosen when it began
    dropping = [False]

    def counted(facts: Any, tracked: Any, deadline: Any) -> Any:
        if dropping[0]:
            asked.append(len(tracked))
        return real_core(facts, tracked, deadline)

    def drop(self: Chooser, chosen: list[str], *rest: Any) -> None:
        members.append(len(chosen))
        dropping[0] = True
        real_drop(self, chosen, *rest)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(smt_infer, "check_core", counted)
        mp.setattr(Chooser, "_drop", drop)
        found = run(SPARE)
    chosen = set(found.used) | found.leaned_on
    assert inductive(SPARE, chosen, chosen | set(found.proved))
    # 6 instances (inc_a, copy_b, copy_d, light of 2 slots, spoil): asking each of them per
    # member would be 6 a member; the cores name few
    assert members and asked and len(asked) < 6 * members[0] / 2


def test_no_answer_while_choosing_prints_every_survivor() -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(smt_infer, "check_core", lambda *a: ("unknown", None))
        found = run(SPARE)
    assert found.choice.startswith("choosing the lemmas got no answer from Z3")
    assert found.used == found.kept and found.leaned_on == set(found.proved)
    chosen = set(found.used) | found.leaned_on
    assert inductive(SPARE, chosen, chosen)


def test_no_answer_in_the_drop_pass_keeps_what_is_left() -> None:
    real_drop = Chooser._drop

    def drop(self: Chooser, *args: Any) -> None:  # Z3 answers nothing from here on
        with pytest.MonkeyPatch.context() as inner:
            inner.setattr(smt_infer, "check_core", lambda *a: ("unknown", None))
            real_drop(self, *args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Chooser, "_drop", drop)
        found = run(SPARE)
    assert found.choice.startswith("dropping the lemmas not needed got no answer")
    chosen = set(found.used) | found.leaned_on
    assert inductive(SPARE, chosen, chosen | set(found.proved))


def test_the_job_bound_is_proved_with_a_count_plus_var_lemma() -> None:
    found = infer(Source("job.kdsl", JOB), timeout_s=120, method="houdini")
    assert found.verdict == HOLDS
    assert any(x.endswith("+ done <= 2") for x in found.lemmas), found.lemmas
    assert any(p.kind == "bound" for p in found.result.properties) is False


def test_a_fallback_is_proved_end_to_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(smt_infer, "check_core", lambda *a: ("unknown", None))
    found = infer(Source("job.kdsl", JOB), timeout_s=120, method="houdini")
    assert found.verdict == HOLDS
    # every survivor, and the invariant restated as a lemma (the fallback leans on them all)
    assert len(found.lemmas) == found.kept + 1
    assert any(n.startswith("choosing the lemmas") for n in found.notes)
