"""Proofs for any number of objects (`--size NAME=LO..`, smt/unbounded.py: kinds as uninterpreted
sorts), held to the explicit engine at sizes 1, 2 and 3: a proof must hold there (only a
`no-free-slot` bound may be reached at a fixed size), a violation is replayed at the size it
names, and what the explicit engine refutes at some size is never proved."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st

from kcheck.cli.main import main
from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.lang.imports import stdlib_root
from kcheck.model.compile import compile_model
from kcheck.result import HOLDS, VIOLATED, CheckResult
from kcheck.smt.refuse import Unsupported
from kcheck.smt.sizes import SizeError, SizeRange, check_sized

MODELS = Path(__file__).resolve().parents[2] / "models"
STATS: Counter[str] = Counter()

HEAD = """model u
const N = 2
enum Phase { Pending, Running, Done }
kind Node[1] {
  ready: bool = true
}
kind Pod[N] {
  phase: Phase = Pending
  node: Node? = none
  v: 0..2 = 0
}
init {
  create Node {}
}
"""

ACTIONS = [
    "action mk { create Pod {} }",
    "action mk1 { create Pod { v: 1 } }",
    "action bind for x in Pod, n in Node where x.node == none and n.ready { x.node := n }",
    "action bind_any for x in Pod, n in Node where x.node == none { x.node := n }",
    "action run for x in Pod where x.phase == Pending and x.node != none { x.phase := Running }",
    "action run_any for x in Pod where x.phase == Pending { x.phase := Running }",
    "action fin for x in Pod where x.phase == Running { x.phase := Done }",
    "action gc for x in Pod where x.phase == Done { delete x }",
    "action bump for x in Pod where x.v < 2 { x.v := x.v + 1 }",
    "action over for x in Pod where x.phase == Running { x.v := x.v + 1 }",
    "action unbind for x in Pod where x.phase != Running { x.node := none }",
    "action recover for n in Node where not n.ready { n.ready := true }",
]
FAULTS = [
    "action down for n in Node where n.ready { n.ready := false }",
    "action down for n in Node where n.ready { n.ready := false  for x in Pod where x.node == n "
    "{ x.phase := Done } }",
]
INVARIANTS = [
    "forall x in Pod: x.phase == Running implies x.node != none",
    "forall x in Pod: x.phase != Done",
    "forall x in Pod: x.v <= 1 or x.phase != Pending",
    "forall x in Pod: x.node != none implies x.node.ready",
    "not (exists x in Pod: x.phase == Running and x.v == 2)",
    "forall x in Pod, y in Pod: x != y implies not (x.phase == Running and y.phase == Running)",
    "forall n in Node: n.ready or (forall x in Pod: x.phase != Pending)",
]


def unbounded_model(actions: list[str], fault: str | None, invs: list[str]) -> str:
    lines = [HEAD, "process p {", *(f"  {a}" for a in actions), "}"]
    if fault is not None:
        lines += ["fault f budget 1 {", f"  {fault}", "}"]
    lines += [f"invariant i{i}: {e}" for i, e in enumerate(invs)]
    return "\n".join(lines) + "\n"


@st.composite
def unbounded_models(draw: st.DrawFn) -> str:
    actions = draw(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=4, unique=True))
    fault = draw(st.none() | st.sampled_from(FAULTS))
    invs = draw(st.lists(st.sampled_from(INVARIANTS), min_size=1, max_size=2, unique=True))
    return unbounded_model(actions, fault, invs)


def _any_number(text: str) -> CheckResult:
    checked = check_source(Source("u.kdsl", text), {})
    return check_sized(checked.symbols, [SizeRange("N", 1, None)], "induction", None, [], 0, 4,
                       120.0)  # fmt: skip


def _explicit(text: str, n: int) -> CheckResult:
    checked = check_source(Source("u.kdsl", text), {"N": n})
    return explore(compile_model(checked.symbols), properties=[])


PROVED = unbounded_model(ACTIONS[:1] + ACTIONS[2:3] + ACTIONS[4:5] + ACTIONS[6:8], FAULTS[1],
                         INVARIANTS[:1])  # fmt: skip
REFUTED = unbounded_model(ACTIONS[:1] + ACTIONS[5:7], None, INVARIANTS[:2])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(unbounded_models())
@example(PROVED)
@example(REFUTED)
def test_proofs_for_any_number_of_objects_hold_explicitly_at_sizes_1_to_3(text: str) -> None:
    note(text)
    result = _any_number(text)
    explicit = {n: _explicit(text, n) for n in (1, 2, 3)}
    for entry in result.properties:
        STATS[entry.status] += 1
        if entry.kind != "invariant":
            continue
        at = {n: next(p for p in r.properties if p.name == entry.name) for n, r in explicit.items()}
        if entry.status == HOLDS:
            assert all(p.status != VIOLATED for p in at.values()), (entry, at)
            for r in explicit.values():  # a fixed size may run out of slots, nothing else
                bounds = [p for p in r.properties if p.kind == "bound"]
                assert all("no-free-slot" in p.name for p in bounds), bounds
        if entry.status == VIOLATED:
            m = re.search(r"fails for N=(\d+)", entry.reason or "")
            assert m is not None, entry.reason
            n = int(m.group(1))
            if n in at:
                assert at[n].status == VIOLATED, (entry, at[n])


def test_the_fixed_examples_are_one_proof_and_one_refutation() -> None:
    proved = _any_number(PROVED)
    assert [p.status for p in proved.properties] == [HOLDS]
    assert "for any number of objects of Pod" in (proved.properties[0].reason or "")
    refuted = _any_number(REFUTED)
    assert VIOLATED in [p.status for p in refuted.properties]


def _first_line_of(module: str, text: str) -> str:
    """`FILE:LINE` of the first line of a standard module that holds `text`."""
    path = stdlib_root() / module
    lines = path.read_text(encoding="utf-8").splitlines()
    return f"{path}:{next(i for i, s in enumerate(lines, 1) if text in s)}"


@pytest.mark.parametrize(
    ("model", "size", "says"),
    [
        ("replicaset.kdsl", "MAX_PODS=1..", "`count` (not first-order over an unbounded number of"
         " objects), for any number of objects at line 117"),
        ("scheduler.kdsl", "PODS=1..", "`sum` (not first-order over an unbounded "
         "number of objects), for any number of objects at line 34"),
        # its set is in the module it imports: the message names that file and its line
        ("service_endpoints.kdsl", "NODES=1..", "a set (not encoded with uninterpreted sorts "
         "yet), for any number of objects at " + _first_line_of("k8s/readiness.kdsl", "set<Pod>")),
    ],
)  # fmt: skip
def test_the_issue_models_are_refused_for_any_number_naming_the_construct(
    model: str, size: str, says: str
) -> None:
    out = CliRunner().invoke(
        main, ["verify", str(MODELS / model), "--engine", "induction", "--size", size]
    )
    assert out.exit_code == 2, out.output
    assert says in out.output


def test_any_number_needs_induction_and_every_size_unbounded() -> None:
    checked = check_source(Source("u.kdsl", PROVED), {})
    with pytest.raises(SizeError, match="needs --engine induction"):
        check_sized(checked.symbols, [SizeRange("N", 1, None)], "bmc", None, [], 3, 4, 60.0)
    text = PROVED.replace("kind Node[1]", "const M = 1\nkind Node[M]")
    checked = check_source(Source("u.kdsl", text), {})
    with pytest.raises(SizeError, match="every size an upper bound"):
        check_sized(checked.symbols, [SizeRange("N", 1, None), SizeRange("M", 1, 2)],
                    "induction", None, [], 3, 4, 60.0)  # fmt: skip


def test_an_expression_naming_an_unbounded_size_is_refused() -> None:
    text = PROVED.replace("action mk {", "action mk when N > 0 {")
    checked = check_source(Source("u.kdsl", text), {})
    with pytest.raises(Unsupported, match="`N`, an unbounded size, in an expression"):
        _any_number(text)
    assert checked.symbols is not None


def test_the_replicaset_is_proved_for_any_number_of_pods_and_its_known_bad_variant_refuted() -> (
    None
):
    """Counts compared with a bounded term (`live(rs) <= rs.replicas`) and `min` of a bounded
    def are first-order; `pods_fit` names the size and is left out."""
    args = ["--engine", "induction", "--size", "MAX_PODS=1..", "--invariant",
            "never_too_many_live"]  # fmt: skip
    good = CliRunner().invoke(
        main, ["verify", str(MODELS / "replicaset.kdsl"), *args, "--invariant",
               "deletes_pending_first"],
    )  # fmt: skip
    assert good.exit_code == 0, good.output
    assert good.output.count("proved (k = 1) for any number of objects of Pod") == 2
    bad = CliRunner().invoke(
        main, ["verify", str(MODELS / "replicaset_counts_running.kdsl"), *args]
    )
    assert bad.exit_code == 1, bad.output
    assert "found for any number of objects, replayed at that size" in bad.output
