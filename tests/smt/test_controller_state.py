"""The Z3 engines on what controllers remember (spec/faults.md, spec/smt.md "What is encoded"):
stale caches and their sync, coalesced watches with their `on` handlers (synced and
`unsynced`), actions split by `step`, and `restart`. Each is checked three ways against the
explicit engine: the encoded steps are the compiled ones on every reachable state
(tests/smt/agree.py), BMC finds exactly the violations and bound errors of the explicit
search with the same shortest lengths, and induction never proves what the explicit search
refutes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.result import HOLDS, VIOLATED
from kcheck.smt.induction import induction
from tests.explore.modelgen import models
from tests.explore.test_reference_agreement import assert_replays
from tests.smt.agree import assert_same_steps
from tests.smt.test_bmc import _agree

MODELS = Path(__file__).resolve().parents[2] / "models"

# one construct each, with an invariant the construct decides
STALE = """model stale
kind Pod[3] { up: bool = false }
controller rs watches Pod stale {
  action scale when count(Pod) < 2 { create Pod {} }
  action start for p in Pod where not p.up { p.up := true }
  action gc for p in Pod where p.up { delete p }
}
invariant few: count(Pod) <= 2
"""

COALESCED = """model coalesced
enum Phase { Running, Failed }
kind Pod[2] { phase: Phase = Running }
var failed: 0..2 = 0
var really: 0..2 = 0
init { create Pod {} }
controller job watches Pod coalesced{unsynced} {
  action observe on p in Pod {
    if (exists q in Pod: q == p) and p.phase == Failed { failed := failed + 1 }
  }
}
process kubelet {
  action fail for p in Pod where p.phase == Running { p.phase := Failed  really := really + 1 }
  action gc for p in Pod where p.phase == Failed { delete p }
}
invariant counted: failed <= really
invariant exact: failed == really
"""

STEP = """model step
kind D[1] { gen: 1..2 = 1  seen: 0..2 = 0 }
kind R[2] { owner: D  rev: 1..2 = 1 }
var busy: 0..1 = 0
init { create D {} }
controller dep {
  action roll for d in D when d.seen != d.gen {
    let g = d.gen
    d.seen := g
    step
    let r = create R { owner: d, rev: g }
    step
    for o in R where o.owner == d and o != r { delete o }
  }
  action tick when busy == 0 {
    busy := 1
    step
    busy := 0
  }
}
fault user budget 1 { action bump for d in D where d.gen < 2 { d.gen := 2 } }
fault crash budget CRASHES { action crash { restart dep } }
invariant one_per_gen: forall d in D: (count r in R where r.owner == d and r.rev == d.seen) <= 1
invariant some: forall d in D: d.seen == 0 or (exists r in R: r.owner == d)
"""


def _explicit_agrees(text: str, depth: int, max_k: int) -> None:
    """BMC agrees with the explicit search (tests/smt/test_bmc._agree), every encoded step is
    a compiled one, and what induction proves holds."""
    _agree(text, depth)
    checked = check_source(Source("m.kdsl", text))
    plain = compile_model(checked.symbols, symmetry=False)
    assert assert_same_steps(plain, checked.symbols, 300) > 1
    model = compile_model(checked.symbols)
    explicit = {p.name: p.status for p in explore(model, properties=[]).properties}
    for p in induction(model, checked.symbols, max_k, None, 60).properties:
        if p.trace is not None:
            assert_replays(model, p.trace)
        if p.kind == "invariant" and p.status == HOLDS:
            assert explicit[p.name] != VIOLATED, p.name


def test_a_stale_cache_is_encoded_and_agrees() -> None:
    _explicit_agrees(STALE, 5, 4)
    checked = check_source(Source("m.kdsl", STALE))
    [p] = [p for p in explore(compile_model(checked.symbols)).properties if p.name == "few"]
    assert p.status == VIOLATED  # the cache lags: the controller creates one pod too many


@pytest.mark.parametrize("unsynced", ["", " unsynced"])
def test_a_coalesced_watch_and_its_handler_are_encoded_and_agree(unsynced: str) -> None:
    _explicit_agrees(COALESCED.replace("{unsynced}", unsynced), 6, 4)


@pytest.mark.parametrize("crashes", [1, 2])
def test_step_and_restart_are_encoded_and_agree(crashes: int) -> None:
    _explicit_agrees(STEP.replace("CRASHES", str(crashes)), 7, 4)


@pytest.mark.parametrize(
    "name",
    [
        "replicaset_stale_cache",
        "replicaset_expectations",
        "deployment_crash_between_writes",
        "deployment_crash_safe",
        "job_failures_coalesced",
        "job_tracking_finalizers",
    ],
)
def test_the_fault_models_step_as_the_explicit_engine_steps(name: str) -> None:
    """The six models the Z3 engines used to refuse: the same steps on their first reachable
    states, and the same invariant verdicts from BMC."""
    text = (MODELS / f"{name}.kdsl").read_text()
    checked = check_source(Source(f"{name}.kdsl", text))
    assert assert_same_steps(compile_model(checked.symbols, symmetry=False), checked.symbols, 120)
    _agree(text, 3)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models(controller_state=True))
def test_generated_models_with_controller_state_step_alike(text: str) -> None:
    """Random models with stale and coalesced watches, `step` and `restart`: every encoded
    step is the compiled one, and BMC agrees with the explicit search."""
    note(text)
    checked = check_source(Source("generated.kdsl", text))
    assert_same_steps(compile_model(checked.symbols, symmetry=False), checked.symbols, 60)
    _agree(text, 2)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models(controller_state=True, failing=True))
def test_generated_failing_models_with_controller_state_step_alike(text: str) -> None:
    """As above, with reads through `none`, uncached objects and dangling references."""
    note(text)
    checked = check_source(Source("generated.kdsl", text))
    assert_same_steps(compile_model(checked.symbols, symmetry=False), checked.symbols, 60)


# a stale controller deletes an object its cache shows done: the cache's copy outlives the
# object until the watch delivers the delete, so a free slot is not all zeros there
STALE_DELETE = """model stale_delete
kind Item[2] { done: bool = false }
controller gc watches Item stale {
  action collect for i in Item where i.done { delete i }
}
process p {
  action make when count(Item) < 2 { create Item {} }
  action finish for i in Item where not i.done { i.done := true }
}
invariant few: count(Item) <= 2
"""


def test_well_formedness_holds_where_a_cache_copy_outlives_its_object() -> None:
    # well-formedness is proved (so assumed) with the copies under their own presence flag;
    # before, "free slots all zeros" was not inductive and the step case assumed nothing
    checked = check_source(Source("stale_delete.kdsl", STALE_DELETE))
    model = compile_model(checked.symbols, symmetry=False)
    result = induction(model, checked.symbols, 1, None, 120)
    assert not [n for n in result.notes if "well-formedness" in n], result.notes
    _explicit_agrees(STALE_DELETE, 6, 2)
