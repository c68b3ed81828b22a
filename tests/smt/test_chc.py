"""Invariant inference by IC3/PDR (spec/smt.md, "Invariant inference"): Spacer's invariant
proves what k-induction cannot, and is checked independently before anything is reported (a
wrong one, injected, is rejected); its clauses read back as KDSL lemma lines that plain
k-induction then proves; a violation it claims is reported only with a trace BMC found and the
explicit engine replays."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import z3  # type: ignore[import-untyped]
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, note, settings

from kcheck.cli.main import main
from kcheck.engines.dispatch import EngineOptions, Refused, check
from kcheck.engines.infer import infer
from kcheck.explore.bfs import Limits, explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import CheckedModel, check_source
from kcheck.model.compile import compile_model
from kcheck.result import HOLDS, VIOLATED, CheckResult
from kcheck.smt.chc import Chc, independent_check, slot, spacer
from kcheck.smt.encode import Encoder
from kcheck.smt.render import render
from kcheck.smt.solver import Deadline
from kcheck.smt.system import Unrolling
from kcheck.smt.terms import Term
from tests.explore.modelgen import models
from tests.explore.test_reference_agreement import assert_replays

# y stays equal to x: `y <= 10` holds, but no k <= 6 makes it k-inductive on its own
COUNTERS = """model counters

var x: 0..20 = 0
var y: 0..20 = 0

process ticker {
  action tick when x < 10 {
    x := x + 1
    y := y + 1
  }
}

invariant y_bounded: y <= LIMIT
"""

# x is twice y: beyond the Houdini grammar (no coefficients), so --method auto needs Spacer
DOUBLE = """model double

var x: 0..30 = 0
var y: 0..30 = 0

process ticker {
  action tick when y < 6 {
    x := x + 2
    y := y + 1
  }
}

invariant x_bounded: x <= 12
"""

PODS = """model pods

const CRASHES = 1

enum Phase { Pending, Running, Failed }

kind Pod[3] {
  phase: Phase = Pending
  ready: bool = false
  cpu: 0..4 = 0
}

init {
  create Pod { cpu: 1 }
  create Pod { cpu: 2 }
}

process kubelet {
  action start for p in Pod where p.phase == Pending {
    p.phase := Running
    p.ready := true
  }
}

fault crash budget CRASHES {
  action crash for p in Pod where p.phase == Running {
    p.phase := Failed
    p.ready := false
  }
}

invariant few_failed: (count p in Pod where p.phase == Failed) <= 1
"""


def counters(limit: int) -> Source:
    return Source("counters.kdsl", COUNTERS.replace("LIMIT", str(limit)))


def run(source: Source, engine: str) -> CheckResult:
    checked = check_source(source, None)
    names = [i.name for i in checked.symbols.invariants]
    options = EngineOptions(engine, limits=Limits(max_states=100_000, timeout=60))
    return check(compile_model(checked.symbols), checked.symbols, names, [], options)


def problem(source: Source) -> tuple[CheckedModel, Encoder, Any, Any]:
    """The encoder, init and Bad (every invariant, and a failing step) of a model."""
    checked = check_source(source, None)
    model = compile_model(checked.symbols)
    enc = Encoder(model, checked.symbols)
    inits = model.initial()

    def init(st: tuple[Term, ...]) -> Term:
        return z3.Or(*[z3.And(*[v == x for v, x in zip(st, s, strict=True)]) for s in inits])

    def bad(u: Unrolling, i: int) -> Term:
        parts = [enc.violation(v, u.state(i)) for v in checked.symbols.invariants]
        return z3.Or(*parts, u.fail(i))

    return checked, enc, init, bad


def test_spacer_proves_what_k_induction_cannot_and_the_proof_checks_independently() -> None:
    source = counters(10)
    assert run(source, "induction").verdict != HOLDS
    _, enc, init, bad = problem(source)
    found = spacer(enc, init, bad, 60)
    assert found.status == "proved", found.reason
    assert found.used and set(map(str, found.used)) <= set(map(str, found.clauses))
    # the clauses the proof rests on, checked again here by fresh solvers
    assert independent_check(enc, init, bad, found.used, Deadline(60)) is None


def test_spacer_lemma_lines_make_plain_induction_prove_it() -> None:
    source = counters(10)
    found = infer(source, timeout_s=60, method="spacer")
    assert found.verdict == HOLDS
    assert found.lemmas and all(x.startswith("lemma inferred_") for x in found.lemmas)
    pasted = Source("pasted.kdsl", source.text + "\n".join(found.lemmas) + "\n")
    assert run(pasted, "induction").verdict == HOLDS
    # and each line holds in every reachable state, by explicit search
    assert run(pasted, "explicit").verdict == HOLDS


def test_a_wrong_spacer_invariant_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    source = counters(10)
    _, enc, init, bad = problem(source)
    x, y = slot(0), slot(1)
    # too weak (not inductive), too strong (not initial), and one that lets Bad in
    assert independent_check(enc, init, bad, [y <= 10], Deadline(30)) == "a step does not keep it"
    assert "initial" in (independent_check(enc, init, bad, [x >= 1], Deadline(30)) or "")
    assert "violation" in (independent_check(enc, init, bad, [y <= 20], Deadline(30)) or "")
    # injected: Spacer answers "safe" with the invariant `y <= 10` alone
    monkeypatch.setattr(z3.Fixedpoint, "get_cover_delta",
                        lambda self, level, pred: z3.Var(1, z3.IntSort()) <= 10)  # fmt: skip
    found = spacer(enc, init, bad, 60)
    assert found.status == "rejected"
    assert infer(source, timeout_s=60, method="spacer").verdict != HOLDS


def test_a_violation_spacer_finds_is_reported_with_a_replayed_trace() -> None:
    source = counters(5)
    _, enc, init, bad = problem(source)
    assert spacer(enc, init, bad, 60).status == "violated"
    found = infer(source, timeout_s=60, method="spacer")
    assert found.verdict == VIOLATED
    (entry,) = [p for p in found.result.properties if p.status == VIOLATED]
    assert entry.trace is not None
    explicit = run(source, "explicit")
    (theirs,) = [p for p in explicit.properties if p.name == entry.name]
    assert theirs.status == VIOLATED and theirs.trace is not None
    # a shortest counterexample: as long as the explicit engine's (BMC replays every trace)
    assert len(entry.trace.steps) == len(theirs.trace.steps) == 7


def test_per_object_clauses_read_back_as_forall() -> None:
    checked = check_source(Source("pods.kdsl", PODS), None)
    layout = compile_model(checked.symbols).layout
    pod = layout.kind("Pod")
    pres = [slot(pod.slot_base(i)) for i in range(pod.slots)]
    phase = [slot(pod.slot_base(i) + pod.field("phase").offset) for i in range(pod.slots)]
    ready = slot(pod.slot_base(0) + pod.field("ready").offset)
    spent = slot(layout.budgets[0].index)
    cases = [
        (z3.Or(z3.Not(pres[0] >= 1), phase[0] <= 1), "forall x in Pod: x.phase != Failed"),
        (z3.Not(z3.Sum(pres) >= 3), "count(Pod) < 3"),
        (z3.Or(z3.Not(spent <= 0), z3.Not(phase[1] >= 2)),
         "forall x in Pod: (budget(crash) == 0) or (x.phase != Failed)"),
        (z3.Or(z3.Not(phase[0] >= 2), z3.Not(ready >= 1)),
         "forall x in Pod: (x.phase != Failed) or (not x.ready)"),
        (z3.Or(z3.Not(phase[0] >= 2), z3.Not(phase[2] >= 2)),
         "forall x in Pod: forall y in Pod: (x != y) implies "
         "((x.phase != Failed) or (y.phase != Failed))"),
    ]  # fmt: skip
    for clause, text in cases:
        assert render(clause, layout) == text
    # a partial sum of slots has no name that survives symmetry
    assert render(pres[0] + pres[1] <= 1, layout) is None
    # Spacer writes "iff" as == between two Booleans (models/cronjob_names.kdsl crashed here)
    same = (phase[0] >= 2) == (ready >= 1)
    assert render(same, layout) == (
        "forall x in Pod: ((x.phase == Failed) and (x.ready)) or "
        "((not (x.phase == Failed)) and (not (x.ready)))"
    )
    assert render(z3.Not(same), layout) == (
        "forall x in Pod: ((x.phase == Failed) and (not (x.ready))) or "
        "((not (x.phase == Failed)) and (x.ready))"
    )


def test_spacer_on_objects_prints_a_forall_lemma_that_proves_it() -> None:
    found = infer(Source("pods.kdsl", PODS), timeout_s=60, method="spacer")
    assert found.verdict == HOLDS
    assert "lemma inferred_1: forall x in Pod: " in "\n".join(found.lemmas)
    pasted = Source("pasted.kdsl", PODS + "\n".join(found.lemmas) + "\n")
    assert run(pasted, "explicit").verdict == HOLDS


def test_auto_tries_spacer_on_what_houdini_leaves_open(tmp_path: Path) -> None:
    model = tmp_path / "double.kdsl"
    model.write_text(DOUBLE)
    houdini = CliRunner().invoke(main, ["infer", str(model), "--method", "houdini"])
    assert houdini.exit_code == 3, houdini.output
    auto = CliRunner().invoke(main, ["infer", str(model), "-o", str(tmp_path / "l.kdsl")])
    assert auto.exit_code == 0, auto.output
    assert "invariant x_bounded: holds" in auto.output
    assert "houdini+spacer" in (tmp_path / "l.kdsl").read_text()
    verify = ["verify", str(model), "--engine", "induction", "-q"]
    assert CliRunner().invoke(main, verify).exit_code == 3
    assert CliRunner().invoke(main, [*verify, "--infer"]).exit_code == 0


MUTANTS = [
    # (model text, text, mutated text): a guard, an invariant or a budget changed
    (DOUBLE, "when y < 6", "when y <= 6"),
    (DOUBLE, "x <= 12", "x < 12"),
    (PODS, "<= 1\n", "< 1\n"),
    (PODS, "const CRASHES = 1", "const CRASHES = 2"),
]


@pytest.mark.parametrize(("text", "old", "new"), MUTANTS)
def test_spacer_never_proves_a_mutant_explicit_search_refutes(
    text: str, old: str, new: str
) -> None:
    assert old in text
    mutant = Source("mutant.kdsl", text.replace(old, new, 1))
    assert run(mutant, "explicit").verdict == VIOLATED
    found = infer(mutant, timeout_s=60, method="spacer")
    assert found.verdict == VIOLATED  # and its trace was replayed (BMC's)


def test_a_reading_that_says_more_than_the_invariant_is_not_printed() -> None:
    # "slot 2 of Pod is free" reads as "no Pod exists" (a clause about one slot, read as one
    # about every object): false where the invariant holds, so the line is dropped, while
    # a faithful reading of another clause is kept
    from kcheck.engines.spacer import _lemmas

    source = Source("pods.kdsl", PODS)
    layout = compile_model(check_source(source, None).symbols).layout
    pod = layout.kind("Pod")
    free2 = z3.Not(slot(pod.slot_base(2)) >= 1)
    phase = [slot(pod.slot_base(i) + pod.field("phase").offset) for i in range(pod.slots)]
    spent = slot(layout.budgets[0].index)
    faithful = [z3.Or(z3.Not(spent <= 0), z3.Not(p >= 2)) for p in phase]
    assert render(free2, layout) == "forall x in Pod: false"
    found = Chc("proved", [free2, *faithful], [free2, *faithful])
    lines = _lemmas(source, None, layout, found, 1, ["few_failed"], True, 60)
    assert lines == [
        "lemma inferred_1: forall x in Pod: (budget(crash) == 0) or (x.phase != Failed)"
    ]


def test_without_lines_the_proof_rests_on_the_checked_invariant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # no clause reads back as KDSL: each goal is proved by Spacer's invariant itself, which
    # passed the independent check, and says so
    import kcheck.engines.spacer as route

    monkeypatch.setattr(route, "render", lambda clause, layout: None)
    found = infer(counters(10), timeout_s=60, method="spacer")
    assert found.lemmas == []
    assert found.verdict == HOLDS
    (entry,) = [p for p in found.result.properties if p.kind == "invariant"]
    assert (entry.reason or "").startswith("proved by IC3/PDR (Z3 Spacer)")
    assert entry.proof is not None and entry.proof.bounds == "proved"
    # and when the check rejects the invariant, nothing is proved
    monkeypatch.setattr(route, "spacer", lambda *a: Chc("rejected", reason="injected"))
    assert infer(counters(10), timeout_s=60, method="spacer").verdict != HOLDS


def test_infer_command_prints_the_replayed_counterexample(tmp_path: Path) -> None:
    model = tmp_path / "counters.kdsl"
    model.write_text(counters(5).text)
    result = CliRunner().invoke(main, ["infer", str(model), "--method", "spacer"])
    assert result.exit_code == 1, result.output
    assert "invariant y_bounded: violated" in result.output
    assert re.search(r"^ +6  ticker\.tick\(\)", result.output, re.M)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models())
def test_spacer_agrees_with_the_explicit_engine(text: str) -> None:
    # on random small models: whatever the Spacer route proves, explicit search finds holding
    # (and no step leaving the bounds); whatever it refutes, explicit search refutes
    note(text)
    source = Source("generated.kdsl", text)
    checked = check_source(source, None)
    model = compile_model(checked.symbols)
    try:
        found = infer(source, timeout_s=20, method="spacer")
    except Refused:
        assume(False)
        return
    explicit = explore(model, symmetry=False, properties=[])
    assert explicit.limit is None
    verdicts = {p.name: p.status for p in explicit.properties}
    bounds = explore(model, symmetry=False, invariants=[], properties=[]).properties
    explicit_bound = any(b.kind == "bound" for b in bounds)
    for p in found.result.properties:
        note(f"{p.name}: spacer route {p.status} {p.reason}")
        if p.kind == "bound":
            assert p.status != VIOLATED or explicit_bound
        elif p.status == HOLDS and p.name in verdicts:
            assert verdicts[p.name] == HOLDS and not explicit_bound
        elif p.status == VIOLATED and p.name in verdicts:
            assert verdicts[p.name] == VIOLATED
            assert p.trace is not None
            assert_replays(model, p.trace)
    if found.verdict == HOLDS:
        assert not explicit_bound
