"""Invariant inference (spec/smt.md, "Invariant inference"): the lemmas it prints prove what
plain k-induction cannot, every one of them proved; it never proves a mutant that explicit
search finds violated; and the size-independent lemmas it infers hold at a larger size."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from kcheck.cli.main import main
from kcheck.engines.dispatch import EngineOptions, check
from kcheck.engines.infer import infer
from kcheck.explore.bfs import Limits
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.result import HOLDS, VIOLATED
from kcheck.smt.candidates import candidates

MODELS = Path(__file__).resolve().parents[2] / "models"


def stripped(name: str) -> Source:
    """A model without its hand-written lemmas."""
    text = (MODELS / name).read_text()
    return Source(name, "\n".join(x for x in text.split("\n") if not x.startswith("lemma ")))


def verdict(source: Source, engine: str, invariants: bool = True, **defines: int) -> str:
    checked = check_source(source, defines or None)
    names = [i.name for i in checked.symbols.invariants] if invariants else None
    limits = Limits(max_states=200_000, timeout=60)
    result = check(compile_model(checked.symbols), checked.symbols, names, None,
                   EngineOptions(engine, limits=limits))  # fmt: skip
    statuses = [p.status for p in result.properties if p.kind != "property"]
    if VIOLATED in statuses:
        return VIOLATED
    return HOLDS if all(s == HOLDS for s in statuses) else "open"


def test_replicaset_proved_without_its_hand_written_lemmas() -> None:
    source = stripped("smt_replicaset_lemmas.kdsl")
    assert not re.search(r"^lemma ", source.text, re.M)
    assert verdict(source, "induction") != HOLDS  # plain induction needs lemmas
    found = infer(source, timeout_s=120)
    assert found.verdict == HOLDS
    assert found.lemmas and all(x.startswith("lemma inferred_") for x in found.lemmas)
    # every lemma printed is itself proved by the induction engine, not just assumed
    lemmas = {x.split(":")[0].split()[1] for x in found.lemmas}
    proved = {p.name for p in found.result.properties if p.status == HOLDS}
    assert lemmas <= proved
    # and the printed lines, pasted into the model, make plain induction prove it
    pasted = Source("pasted.kdsl", source.text + "\n" + "\n".join(found.lemmas) + "\n")
    assert verdict(pasted, "induction") == HOLDS


def test_inferred_lemmas_hold_in_every_reachable_state_each_on_its_own() -> None:
    # an independent check by explicit search, lemma by lemma. Only at the size they were mined
    # at: a lemma with a constant is a fact of that size (`(sum o.replicas for o in ReplicaSet)
    # + budget(user) <= 3` is one, false with two ReplicaSets), as spec/smt.md says.
    source = stripped("smt_replicaset_lemmas.kdsl")
    found = infer(source, timeout_s=120)
    assert found.lemmas
    for lemma in found.lemmas:
        pasted = Source("pasted.kdsl", source.text + "\n" + lemma + "\n")
        assert verdict(pasted, "explicit") == HOLDS, lemma


MUTANTS = [
    # (model, text, mutated text): a guard or an invariant with a comparison flipped
    ("smt_replicaset_lemmas.kdsl", "live(rs) < rs.replicas", "live(rs) <= rs.replicas"),
    ("smt_replicaset_lemmas.kdsl", "count(Pod) <= MAX_PODS", "count(Pod) < MAX_PODS"),
    ("replicaset.kdsl", "live(rs) < rs.replicas", "live(rs) <= rs.replicas"),
    ("kubelet.kdsl", "used(n) <= n.cpu", "used(n) < n.cpu"),
    ("scheduler.kdsl", "used(n) <= n.cpu", "used(n) < n.cpu"),
]


@pytest.mark.parametrize(("name", "old", "new"), MUTANTS)
def test_infer_never_proves_a_mutant_explicit_search_refutes(name: str, old: str, new: str) -> None:
    source = stripped(name)
    assert old in source.text
    mutant = Source(name, source.text.replace(old, new, 1))
    assert verdict(mutant, "explicit") == VIOLATED
    assert infer(mutant, timeout_s=60).verdict != HOLDS


def test_infer_command_prints_the_lemmas_and_exits_0(tmp_path: Path) -> None:
    model = tmp_path / "rs.kdsl"
    model.write_text(stripped("smt_replicaset_lemmas.kdsl").text)
    out = tmp_path / "lemmas.kdsl"
    result = CliRunner().invoke(main, ["infer", str(model), "-o", str(out)])
    assert result.exit_code == 0, result.output
    written = out.read_text()
    assert re.search(r"^lemma inferred_1: ", written, re.M)
    assert "invariant pods_fit: holds" in result.output


# y grows by the triangle numbers, so y <= 6 holds but is not inductive, and no candidate of
# the grammar (bounds, `x <= y`) closes it: a counterexample to induction is left (x = 2, y = 6)
TRIANGLE = """model triangle
var x: 0..3 = 0
var y: 0..9 = 0
var z: 0..15 = 0
process p {
  action grow when x < 3 { x := x + 1  y := y + x }
  action tick { z := (z + 1) % 16 }
}
invariant small: y <= 6
"""


def test_infer_command_shows_the_counterexample_to_induction_left(tmp_path: Path) -> None:
    model = tmp_path / "triangle.kdsl"
    model.write_text(TRIANGLE)
    picture = tmp_path / "cti.dot"
    page = tmp_path / "cti.html"
    result = CliRunner().invoke(
        main,
        # Houdini alone: its counterexample to induction is what is drawn
        ["infer", str(model), "--method", "houdini", "--graph", str(picture),
         "--report", str(page)],
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    assert "counterexample to induction for small" in result.output
    assert "a state where all hold" in result.output
    drawn = tmp_path / "cti.small.dot"  # one picture per counterexample: small's and the bound's
    assert "small is violated" in drawn.read_text()
    html = page.read_text()
    assert "Counterexample to induction: small" in html
    assert "<svg" in html


def test_infer_command_refuses_what_the_z3_engine_cannot_encode(tmp_path: Path) -> None:
    model = tmp_path / "range_var.kdsl"  # a range bound divided by a var: not encoded
    model.write_text(
        "model range_var\nvar n: 0..3 = 0\n"
        "process c { action start when exists i in 0..(6 / (n + 1)): i == 2 { n := 0 } }\n"
        "invariant t: true\n"
    )
    result = CliRunner().invoke(main, ["infer", str(model)])
    assert result.exit_code == 2, result.output
    assert "not encoded by the Z3 engine" in result.output


def test_verify_infer_proves_what_plain_induction_leaves_open(tmp_path: Path) -> None:
    model = tmp_path / "rs.kdsl"
    model.write_text(stripped("smt_replicaset_lemmas.kdsl").text)
    args = ["verify", str(model), "--engine", "induction", "--invariant", "pods_fit", "-q"]
    plain = CliRunner().invoke(main, args)
    assert plain.exit_code == 3, plain.output
    helped = CliRunner().invoke(main, [*args, "--infer"])
    assert helped.exit_code == 0, helped.output
    assert "note: lemma inferred_1: " in helped.output
    wrong = CliRunner().invoke(main, ["verify", str(model), "--infer"])
    assert wrong.exit_code == 2


@pytest.mark.parametrize(("name", "old", "new"), MUTANTS[:2])
def test_a_cut_short_state_search_never_makes_a_mutant_proved(
    name: str, old: str, new: str
) -> None:
    # filtered on the initial states only, many false candidates reach Houdini and the final
    # proof: its base case must still refute them rather than prove the mutant
    mutant = Source(name, stripped(name).text.replace(old, new, 1))
    found = infer(mutant, timeout_s=60, max_states=1)
    assert found.verdict != HOLDS
    assert any("first 1 reachable states" in n for n in found.notes)


def test_verify_infer_refuses_manifests_rather_than_prove_another_instance() -> None:
    # inference re-reads the model text with -D only: with --manifest its proof would be of the
    # model's defaults, not of the manifests' values, and must not stand for them
    model = str(MODELS / "deployment_rollout.kdsl")
    manifest = str(MODELS.parent / "examples" / "manifests" / "web-deployment.yaml")
    args = ["verify", model, "--engine", "induction", "--infer", "--manifest", manifest, "-q"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "--infer does not take --manifest" in result.output


# x and y rise together; `tick` keeps the simple paths long. Plain induction proves neither the
# bound (y = 3 with x = 1 is not ruled out) nor `settles` (a loop of ticks in x = 2, y = 1 is
# fair). The bound needs `y <= x`, the one lemma inference picks; `settles` needs `x <= y` too,
# a survivor of the fixpoint that only the second temporal run assumes.
FEED = """model feed
var x: 0..3 = 0
var y: 0..3 = 0
var clock: 0..15 = 0
process p {
  action inc when x < 2 { x := x + 1  y := y + 1 }
  action tick { clock := (clock + 1) % 16 }
}
property settles: eventually always y == 2
"""


def test_verify_infer_feeds_the_inferred_lemmas_into_the_temporal_proofs(tmp_path: Path) -> None:
    model = tmp_path / "feed.kdsl"
    model.write_text(FEED)
    explicit = CliRunner().invoke(main, ["verify", str(model), "-q"])
    assert explicit.exit_code == 0, explicit.output
    args = ["verify", str(model), "--engine", "induction", "--max-k", "3", "--format", "json"]
    plain = CliRunner().invoke(main, args)
    assert plain.exit_code == 3, plain.output
    helped = CliRunner().invoke(main, [*args, "--infer", "--timeout", "300"])
    assert helped.exit_code == 0, helped.output
    import json

    doc = json.loads(helped.output)
    [settles] = [p for p in doc["properties"] if p["name"] == "settles"]
    assert settles["status"] == "holds"
    assumed = settles["proof"]["lemmas"]
    lines = [n.removeprefix("lemma ") for n in doc["notes"] if n.startswith("lemma ")]
    named = {x.split(": ", 1)[0]: x.split(": ", 1)[1] for x in lines}
    # every lemma the proof assumed is printed, so pasting the lines reproduces it
    assert set(assumed) <= set(named), (assumed, named)
    assert "x <= y" in [named[n] for n in assumed]


MEMBERS = """model members
enum App { Web, Cart }
kind Pod[3] { app: App  ready: bool = false }
kind Service[2] { app: App  endpoints: set<Pod> }
def live(a: App): int = count p in Pod where p.app == a
init {
  create Service { app: Web }
  create Service { app: Cart }
}
controller deployment {
  action create_pod for a in App when live(a) < 1 { create Pod { app: a } }
}
controller endpoints {
  action add for s in Service, p in Pod where p.app == s.app and p.ready and p not in s.endpoints {
    s.endpoints := s.endpoints | {p}
  }
}
process kubelet {
  action ready for p in Pod where not p.ready { p.ready := true }
}
invariant one_endpoint: forall s in Service: size(s.endpoints) <= 1
"""


def test_a_member_agrees_with_its_holder_and_a_def_is_bounded_per_enum_member() -> None:
    """The candidate families that prove ingress and service_endpoints (benchmarks/
    proofs_inference.md): a set's members share a field with the object holding the set, and
    a def of one enum parameter is bounded for every member."""
    texts = candidates(check_source(Source("members.kdsl", MEMBERS)).symbols)
    assert "forall x in Service: forall y in x.endpoints: y.app == x.app" in texts
    assert "forall v in App: live(v) <= 1" in texts
    source = Source("members.kdsl", MEMBERS)
    assert verdict(source, "induction") != HOLDS  # two pods of different apps in one Service
    found = infer(source, timeout_s=60)
    assert found.verdict == HOLDS
    # (the line's number depends on which other lemmas the proof picks)
    member = ": forall x in Service: forall y in x.endpoints: y.app == x.app"
    assert any(x.startswith("lemma inferred_") and x.endswith(member) for x in found.lemmas)
    # the same model with the selector dropped: the member's app is no longer the Service's,
    # one_endpoint is violated, and nothing is proved
    wrong = Source("wrong.kdsl", MEMBERS.replace("where p.app == s.app and", "where"))
    assert verdict(wrong, "explicit") == VIOLATED
    assert infer(wrong, timeout_s=60).verdict != HOLDS


def test_a_restated_invariant_the_front_end_refuses_is_left_out_not_a_crash() -> None:
    # pvc_finalizers: Houdini leans on protected_while_kept, whose lowered form (a list read as
    # a value) does not check when written back as a lemma; the run used to end in an
    # internal error (exit 70)
    result = CliRunner().invoke(
        main, ["infer", str(MODELS / "pvc_finalizers.kdsl"), "--method", "houdini"]
    )
    assert result.exit_code in (0, 3), result.output
    assert "internal error" not in result.output
    assert "invariant protected_while_kept: holds" in result.output
