"""`unchanged(x)`, the resourceVersion precondition of an update from a cached copy (issue 19
point 3, spec/faults.md "Conflicts"): the lost update and its fix are one line apart; a change
that is undone before the cache syncs still conflicts (the version moved, the fields did not);
generated models agree between the explicit engine and the reference interpreter (states and
causes), keep their verdicts under symmetry and replay their traces, and the Z3 encoding takes
exactly the compiled steps and gives BMC the explicit verdicts and shortest lengths; k-induction
proves the fix; misuse is a located error."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.frontend import check_source, load
from kcheck.model.compile import compile_model
from kcheck.result import HOLDS, VIOLATED
from kcheck.smt.bmc import bmc
from kcheck.smt.induction import induction
from tests.engine_agreement import assert_engines_agree
from tests.explore.test_reference_agreement import assert_replays
from tests.smt.agree import assert_same_steps
from tests.smt.test_bmc import _agree

ROOT = Path(__file__).resolve().parents[2]


def _verdicts(name: str) -> dict[str, str]:
    model = compile_model(load(str(ROOT / "models" / f"{name}.kdsl")).symbols)
    return {p.name: p.status for p in explore(model).properties}


def test_the_lost_update_and_its_precondition_are_one_line_apart() -> None:
    assert _verdicts("autoscaler_put_from_cache")["no_lost_update"] == VIOLATED
    assert _verdicts("autoscaler_put_if_unchanged") == {
        "no_lost_update": HOLDS,
        "scales": HOLDS,
    }
    bug = (ROOT / "models" / "autoscaler_put_from_cache.kdsl").read_text()
    fix = (ROOT / "models" / "autoscaler_put_if_unchanged.kdsl").read_text()
    code = [
        line.strip() for line in fix.splitlines() if "unchanged(d)" in line and "//" not in line
    ]
    assert code == ["if unchanged(d) {"]
    assert "unchanged(" not in bug.split("model ")[1]


ABA = """model aba
kind D[1] { v: 0..1 = 0 }
var conflicted: bool = false
var phase: 0..2 = 0
init { create D {} }
controller c watches D stale {
  action put for d in D when phase == 2 {
    if unchanged(d) { d.v := d.v } else { conflicted := true }
  }
}
process other {
  action flip for d in D when phase == 0 { d.v := 1  phase := 1 }
  action back for d in D when phase == 1 { d.v := 0  phase := 2 }
}
invariant no_conflict: not conflicted
"""


def test_a_change_undone_before_the_sync_still_conflicts() -> None:
    """ABA: the fields are as cached again, but the version moved twice: 409 Conflict."""
    model = compile_model(check_source(Source("aba.kdsl", ABA)).symbols, symmetry=False)
    result = {p.name: p for p in explore(model, symmetry=False).properties}
    p = result["no_conflict"]
    assert p.status == VIOLATED and p.trace is not None
    labels = [s.action for s in p.trace.steps[1:]]
    assert labels == ["other.flip", "other.back", "c.put"]  # no sync in between
    assert_replays(model, p.trace)
    # without the other process's writes, no conflict is ever seen
    quiet = ABA.replace("d.v := 1  phase := 1", "phase := 1").replace("d.v := 0  phase", "phase")
    quiet_model = compile_model(check_source(Source("q.kdsl", quiet)).symbols)
    assert {p.name: p.status for p in explore(quiet_model).properties} == {"no_conflict": HOLDS}


def test_bmc_finds_the_aba_conflict_without_a_sync() -> None:
    checked = check_source(Source("aba.kdsl", ABA))
    model = compile_model(checked.symbols)
    p = {p.name: p for p in bmc(model, checked.symbols, 4, None, 60).properties}["no_conflict"]
    assert p.status == VIOLATED and p.trace is not None
    assert [s.action for s in p.trace.steps[1:]] == ["other.flip", "other.back", "c.put"]
    assert_replays(model, p.trace)
    assert assert_same_steps(compile_model(checked.symbols, symmetry=False), checked.symbols) > 1


def test_the_z3_engines_find_the_lost_update_and_prove_its_fix() -> None:
    """BMC gives both models the explicit verdicts and shortest lengths (3 steps for the lost
    update); k-induction proves the fix, with no lemma, and does not prove the bug."""
    for name in ("autoscaler_put_from_cache", "autoscaler_put_if_unchanged"):
        text = (ROOT / "models" / f"{name}.kdsl").read_text()
        _agree(text, 5)
        checked = check_source(Source(f"{name}.kdsl", text))
        assert assert_same_steps(compile_model(checked.symbols, symmetry=False), checked.symbols)
        proved = induction(compile_model(checked.symbols), checked.symbols, 4)
        status = {p.name: p.status for p in proved.properties}["no_lost_update"]
        assert status == (HOLDS if name.endswith("unchanged") else VIOLATED)


@pytest.mark.parametrize(
    ("body", "fragment", "col"),
    [
        ("process p { action a for d in D { if unchanged(d) { x := 1 } } }", "only allowed", 38),
        ("controller p { action a for d in D { if unchanged(d) { x := 1 } } }", "watches D", 41),
        ("controller p watches D stale { action a { if unchanged(x) { } } }", "object", 56),
    ],
)
def test_misuse_is_located(body: str, fragment: str, col: int) -> None:
    text = f"model m\nvar x: 0..1 = 0\nkind D[1] {{ v: 0..1 = 0 }}\n{body}\n"
    with pytest.raises(KcheckError) as info:
        check_source(Source("m.kdsl", text))
    errs = [(d.message, d.span.line, d.span.col) for d in info.value.diagnostics]
    assert any(fragment in m and (line, c) == (4, col) for m, line, c in errs), errs


TEMPLATE = """model occ
kind D[{slots}] {{ v: 0..2 = 0  w: 0..1 = 0 }}
var lost: bool = false
init {{ create D {{}} }}
controller c watches D stale {{
  action put for d in D when d.v < 2 {{
    {put}
  }}
}}
process other {{
  action bump for d in D where d.w == 0 {{ d.w := 1 }}
  action undo for d in D where d.w == 1 {{ d.w := 0 }}
  {more}
}}
fault crash budget {budget} {{ action go {{ restart c }} }}
invariant inv: {inv}
"""

PUTS = [
    "if unchanged(d) { d.v := d.v + 1  d.w := d.w }",
    "if unchanged(d) { d.v := d.v + 1 } else { lost := true }",
    "d.v := d.v + 1  if not unchanged(d) { lost := true }",  # after its own write: changed
    "step  if unchanged(d) { d.w := d.w  d.v := 2 }",
]
MORE = [
    "",
    "action add when count(D) < 2 { create D {} }",
    "action remove for d in D where d.v == 2 { delete d }",
]
INVS = ["not lost", "forall d in D: d.v <= 1", "(count d in D where d.w == 1) <= 1"]


@st.composite
def occ_models(draw: st.DrawFn) -> str:
    return TEMPLATE.format(
        slots=draw(st.integers(1, 2)),
        put=draw(st.sampled_from(PUTS)),
        more=draw(st.sampled_from(MORE)),
        budget=draw(st.integers(0, 1)),
        inv=draw(st.sampled_from(INVS)),
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(occ_models())
def test_generated_conflict_models_agree(text: str) -> None:
    note(text)
    assert_engines_agree(
        text, filename="occ.kdsl", complete=True, replay_symmetric=True, z3_steps=300, bmc_depth=4
    )
