"""Measures in the proofs of temporal properties (smt/ranking.py, smt/liveness.py; spec/smt.md
"Measures"): the `decreases` clause parses, type-checks with located errors and round-trips
through `kcheck fmt`; an inferred or written measure proves a convergence the bounded loop
search alone cannot; a written one is checked, never trusted."""

from __future__ import annotations

from typing import Any

import pytest

from kcheck.explore.bfs import explore
from kcheck.lang import ast
from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.fmt import format_program
from kcheck.lang.frontend import check_source
from kcheck.lang.parser import parse
from kcheck.model.compile import compile_model
from kcheck.result import HOLDS, INCONCLUSIVE, VIOLATED, PropertyResult
from kcheck.smt import liveness
from kcheck.smt.induction import induction

# `a` and `b` move x and y against each other; only 2x + 3y falls on every step, and no
# count, var or term of the property is monotone, so nothing is inferred. Every simple path
# is long (more than 12 steps), so the loop search alone does not prove it either.
TRANSFER = """model transfer
var x: 0..20 = 20
var y: 0..20 = 0
def busy(): bool = (x >= 2 and y < 20) or (y > 0 and x < 20)
process p {
  action a when x >= 2 and y < 20 { x := x - 2  y := y + 1 }
  action b when y > 0 and x < 20 { y := y - 1  x := x + 1 }
}
property settles: eventually always not busy(){DECREASES}
"""

# n counts down while `noise` flips a bit forever: n is inferred as a measure, and the flips
# that keep it are a fair loop only after n reached 0, where the property holds.
COUNTDOWN = """model countdown
var n: 0..30 = 30
var bit: bool = false
process p {
  action down when n > 0 { n := n - 1 }
  action noise { bit := not bit }
}
property reaches_zero: eventually always n == 0
property bit_set_recurs: always eventually bit
"""


def _load(text: str) -> Any:
    checked = check_source(Source("m.kdsl", text), {})
    assert checked.symbols is not None, checked
    return checked.symbols


def _proved(text: str, timeout: float = 120) -> dict[str, PropertyResult]:
    sym = _load(text)
    result = induction(compile_model(sym, symmetry=False), sym, 3, None, timeout)
    return {p.name: p for p in result.properties if p.kind == "property"}


def _explicit(text: str) -> dict[str, str]:
    sym = _load(text)
    result = explore(compile_model(sym, symmetry=False), symmetry=False)
    return {p.name: p.status for p in result.properties if p.kind == "property"}


# ---- the language
def test_decreases_parses_into_the_property_and_round_trips_through_fmt() -> None:
    text = TRANSFER.replace("{DECREASES}", " decreases 2 * x + 3 * y, x")
    prog = parse(Source("m.kdsl", text))
    [prop] = [d for d in prog.decls if isinstance(d, ast.Property)]
    assert len(prop.decreases) == 2 and isinstance(prop.decreases[1], ast.Name)
    printed = format_program(prog, text)
    assert "decreases 2 * x + 3 * y, x" in printed
    again = parse(Source("m.kdsl", printed))
    assert again == prog
    assert format_program(again, printed) == printed


@pytest.mark.parametrize(
    ("clause", "code", "col", "words"),
    [
        (" decreases busy()", "KC0301", 58, "must be an int"),  # a bool measure
        (" decreases z", "KC0201", 58, "unknown name `z`"),
    ],
)
def test_a_bad_measure_is_a_located_error(clause: str, code: str, col: int, words: str) -> None:
    text = TRANSFER.replace("{DECREASES}", clause)
    with pytest.raises(KcheckError) as err:
        check_source(Source("m.kdsl", text), {})
    [d] = err.value.diagnostics
    assert (d.code, d.span.line, d.span.col) == (code, 9, col), d
    assert words in d.message


def test_decreases_on_an_always_property_is_refused_with_a_hint() -> None:
    text = "model m\nvar n: 0..2 = 0\nproperty p: always n >= 0 decreases n\n"
    with pytest.raises(KcheckError) as err:
        check_source(Source("m.kdsl", text), {})
    [d] = err.value.diagnostics
    assert (d.code, d.span.line, d.span.col) == ("KC0303", 3, 37)
    assert d.help is not None and "eventually always" in d.help


def test_decreases_after_an_invariant_is_a_syntax_error_with_a_hint() -> None:
    with pytest.raises(KcheckError) as err:
        parse(Source("m.kdsl", "model m\nvar n: 0..2 = 0\ninvariant i: n >= 0 decreases n\n"))
    [d] = err.value.diagnostics
    assert (d.span.line, d.span.col) == (3, 21)
    assert d.help is not None and "ends a `property`" in d.help


# ---- the proofs
def test_a_written_measure_proves_what_the_loop_search_cannot() -> None:
    hinted = TRANSFER.replace("{DECREASES}", " decreases 2 * x + 3 * y")
    assert _explicit(hinted) == {"settles": HOLDS}
    p = _proved(hinted)["settles"]
    assert p.status == HOLDS, p.reason
    assert p.reason is not None and "measures 2 * x + 3 * y" in p.reason
    bare = _proved(TRANSFER.replace("{DECREASES}", ""))["settles"]
    assert bare.status == INCONCLUSIVE, bare.reason


def test_a_proof_by_measures_names_them_in_its_json_proof() -> None:
    # spec/json.md: `proof.measures`, the measures the proof kept, as KDSL; the schema takes it
    import json
    from importlib import resources

    from jsonschema import Draft202012Validator

    hinted = TRANSFER.replace("{DECREASES}", " decreases 2 * x + 3 * y")
    p = _proved(hinted)["settles"]
    assert p.status == HOLDS and p.proof is not None, p.reason
    assert p.proof.measures[0] == "2 * x + 3 * y"
    doc = p.to_json()
    assert doc["proof"]["measures"][0] == "2 * x + 3 * y"
    schema = json.loads(resources.files("kcheck").joinpath("schemas", "report.schema.json")
                        .read_text("utf-8"))  # fmt: skip
    proof = schema["$defs"]["property"]["properties"]["proof"]
    assert list(Draft202012Validator(proof).iter_errors(doc["proof"])) == []


def test_a_written_measure_is_checked_not_trusted() -> None:
    # x grows on `b`: the clause is refuted by a step, and the proof is not claimed
    p = _proved(TRANSFER.replace("{DECREASES}", " decreases x"))["settles"]
    assert p.status == INCONCLUSIVE
    assert p.reason is not None and "`decreases x` can increase" in p.reason
    assert "by p.b" in p.reason


def test_a_measure_never_makes_a_violated_property_hold() -> None:
    # the bit flips forever: `always eventually bit` holds, `eventually always bit` does not;
    # a measure that every step keeps (0) cannot cut the loop that breaks it
    text = COUNTDOWN.replace(
        "property bit_set_recurs: always eventually bit",
        "property bit_stays: eventually always bit decreases 0",
    )
    assert _explicit(text)["bit_stays"] == VIOLATED
    assert _proved(text)["bit_stays"].status in (VIOLATED, INCONCLUSIVE)


def test_inferred_measures_prove_a_long_countdown(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _explicit(COUNTDOWN) == {"reaches_zero": HOLDS, "bit_set_recurs": HOLDS}
    got = _proved(COUNTDOWN)
    assert got["reaches_zero"].status == HOLDS, got["reaches_zero"].reason
    assert got["bit_set_recurs"].status == HOLDS, got["bit_set_recurs"].reason
    assert "measures n" in (got["reaches_zero"].reason or "")
    # without measures the countdown's 30 steps are simple paths longer than the bound
    monkeypatch.setattr(liveness, "candidates", lambda sym, t: [])
    assert _proved(COUNTDOWN)["reaches_zero"].status == INCONCLUSIVE


def test_the_reason_says_when_the_loops_are_ruled_out_and_only_a_fact_is_missing() -> None:
    # x = 9 is a stopping state that breaks the property, reached only from x = 3 by a chain
    # longer than k: k-induction cannot show it unreachable, but no loop exists at all
    text = """model chain
var x: 0..9 = 0
process p {
  action up when x < 2 { x := x + 1 }
  action drift when x >= 3 and x < 9 { x := x + 1 }
}
property settles: eventually always x == 2
"""
    assert _explicit(text) == {"settles": HOLDS}
    p = _proved(text)["settles"]
    assert p.status == INCONCLUSIVE
    assert p.reason is not None
    assert (
        "not proved that no reachable state where no fair action is enabled breaks it" in p.reason
    )
    assert "(the loops are ruled out: measures " in p.reason


def test_a_place_in_a_queue_is_inferred_as_a_measure(monkeypatch: pytest.MonkeyPatch) -> None:
    # models/scheduler.kdsl pops the oldest schedulable pod by a ghost `rank`: a pod waits only
    # while pods ranked before it go first, so its rank and the unbound pods before it are
    # what falls (no count of the model's does); the two lemmas (which --infer finds, below)
    # make those ranks a queue. Without the measures about the bound pod it is not proved.
    from pathlib import Path

    from kcheck.smt import ranking
    from kcheck.smt.candidates import candidates

    root = Path(__file__).resolve().parents[2]
    text = (root / "models" / "scheduler.kdsl").read_text() + (
        "lemma ranks_below_count: forall x in Pod: x.rank < count(Pod)\n"
        "lemma ranks_distinct: forall x in Pod: forall y in Pod: x != y implies x.rank != y.rank\n"
    )
    assert "forall x in Pod: x.rank < count(Pod)" in candidates(_load(text))
    p = _proved(text)["every_schedulable_pod_bound"]
    assert p.status == HOLDS, p.reason
    assert "measures p.rank, count obj in Pod where obj.rank < p.rank and " in (p.reason or "")
    monkeypatch.setattr(ranking, "_queue", lambda sym, env, obj: iter(()))
    bare = _proved(text)["every_schedulable_pod_bound"]
    assert bare.status == INCONCLUSIVE, bare.reason


def test_federation_converges_with_a_written_measure_and_two_lemmas() -> None:
    # benchmarks/liveness_proofs.md: no inferred measure cuts federation's loops (probe, then
    # schedule, then propagate, then the member's pods, each bringing one count to its end) and
    # the stopping fact needs the clusters' fixed weights; written by a user, they prove both
    # properties, and each measure is still checked (the hint alone is refuted, see the table)
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    text = (root / "models" / "federation.kdsl").read_text()
    hint = (
        "\n    decreases (count c in Cluster where c.ready != (c.up and c.reachable)),"
        " (count c in Cluster where c.share != planned(c)),"
        " (count c in Cluster where c.spec != c.share),"
        " (sum c.spec - c.running for c in Cluster where c.running < c.spec),"
        " (sum c.running - c.spec for c in Cluster where c.running > c.spec)"
    )
    for tail in (
        "c.running == c.share or not c.reachable)",
        "leads_to running_on_ready() == min(REPLICAS, capacity())\n",
    ):
        assert text.count(tail) == 1, tail
        text = text.replace(tail, tail.rstrip("\n") + hint + ("\n" if tail.endswith("\n") else ""))
    text += (
        "lemma fixed_a: a().ratio == 2 and a().max_replicas == REPLICAS\n"
        "lemma fixed_b: b().ratio == 1 and b().max_replicas == REPLICAS - 1\n"
    )
    got = _proved(text)
    for name in ("replicas_converge", "lost_replicas_move"):
        assert got[name].status == HOLDS, got[name].reason
