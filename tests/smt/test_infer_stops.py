"""--infer directed at the stopping fact of a temporal property (spec/smt.md, "Lemmas for the
stopping fact"): a model whose liveness proof needs lemmas that exclude its bad stopping states
is proved with --infer (inconclusive without), every lemma printed holds in the explicit search
and pasting them reproduces the proof; its mutant whose bad stopping state is reachable is
never proved."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from kcheck.cli.main import main
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.smt.targets import STOP_FACT, anchored

# run_node_faults without its manifest: a pod bound to a node that failed would wait forever,
# but a node fails only while it runs a pod, and the scheduler spreads the two pods over the two
# nodes; the general grammar has no candidate that says the first half
NODES = """model nodes
enum Phase { Pending, Running }
kind Node[2] { ready: bool = true  reachable: bool = true }
kind Pod[2] { node: Node? = none  phase: Phase = Pending }
def hosts_running(n: Node): bool = exists p in Pod: p.node == n and p.phase == Running
init { create Node {} create Node {} }
controller workload {
  action submit when count(Pod) < 2 { create Pod {} }
}
scheduler default binds Pod.node {
  filter usable(p, n) = n.ready and n.reachable
  score spread(p, n) = 0 - (count q in Pod where q.node == n) weight 1
}
process kubelet {
  action start for p in Pod where p.phase == Pending and p.node != none and p.node.ready {
    p.phase := Running
  }
}
process network {
  action heal for n in Node where not n.reachable { n.reachable := true }
}
fault node_failure budget 1 {
  action fail for n in Node where n.ready and hosts_running(n) { n.ready := false }
}
fault partition budget 1 {
  action cut for n in Node where n.reachable and hosts_running(n) { n.reachable := false }
}
property pods_run: eventually always (count p in Pod where p.phase == Running) == 2
"""

# a node may fail before it runs anything: a pod bound to it waits forever; the invariant, which
# would exclude that stopping state, is false here too (no lemma may lean on it unproved)
MUTANT = NODES.replace("where n.ready and hosts_running(n)", "where n.ready") + (
    "invariant waits_on_ready: forall p in Pod: p.node != none and p.phase == Pending "
    "implies p.node.ready\n"
)


def _run(path: Path, *extra: str) -> tuple[int, dict[str, object]]:
    args = ["verify", str(path), "--format", "json", *extra]
    out = CliRunner().invoke(main, args)
    return out.exit_code, json.loads(out.output)


def _status(doc: dict[str, object], name: str) -> dict[str, object]:
    props = doc["properties"]
    assert isinstance(props, list)
    [p] = [p for p in props if p["name"] == name]
    return dict(p)


def test_the_anchored_shape_is_generated() -> None:
    texts = anchored(check_source(Source("nodes.kdsl", NODES)).symbols)
    want = ("forall x in Node: not x.ready implies "
            "(count y in Pod where y.node == x and y.phase == Running) >= 1")  # fmt: skip
    assert want in texts
    # a ghost counter with what is left to count, over an enum set field's members too
    job = Path(__file__).resolve().parents[2] / "models" / "job_tracking_finalizers.kdsl"
    texts = anchored(check_source(Source("job.kdsl", job.read_text())).symbols)
    assert "(count o in Pod where o.phase == Running) + really_failed <= 2" in texts
    assert "(count o in Pod where JobTracking in o.finalizers) + failed >= 2" in texts


def test_infer_proves_the_stopping_fact_with_lemmas_it_prints(tmp_path: Path) -> None:
    model = tmp_path / "nodes.kdsl"
    model.write_text(NODES)
    code, doc = _run(model)
    assert code == 0 and _status(doc, "pods_run")["status"] == "holds"
    induction = ("--engine", "induction", "--max-k", "4")
    code, doc = _run(model, *induction)
    plain = _status(doc, "pods_run")
    assert plain["status"] == "inconclusive" and STOP_FACT in str(plain["reason"]), plain
    code, doc = _run(model, *induction, "--infer", "--timeout", "300")
    assert code == 0, doc
    proved = _status(doc, "pods_run")
    assert proved["status"] == "holds", proved
    notes = doc["notes"]
    assert isinstance(notes, list)
    lines = [n for n in notes if n.startswith("lemma ")]
    assert any("not x.ready implies" in x for x in lines), lines
    proof = proved["proof"]
    assert isinstance(proof, dict)
    named = {x.split(": ", 1)[0].removeprefix("lemma ") for x in lines}
    assert {n for n in proof["lemmas"] if n.startswith("inferred_")} <= named
    # every printed lemma holds in the explicit search, and pasting them reproduces the proof
    pasted = tmp_path / "pasted.kdsl"
    pasted.write_text(NODES + "".join(x + "\n" for x in lines))
    code, doc = _run(pasted)
    assert code == 0, doc
    code, doc = _run(pasted, *induction)
    assert code == 0 and _status(doc, "pods_run")["status"] == "holds", doc


def test_infer_never_proves_the_mutant_whose_stopping_state_is_reachable(
    tmp_path: Path,
) -> None:
    model = tmp_path / "mutant.kdsl"
    model.write_text(MUTANT)
    _, doc = _run(model)
    assert _status(doc, "pods_run")["status"] == "violated", doc
    assert _status(doc, "waits_on_ready")["status"] == "violated", doc
    # at k <= 3 the lasso search of plain induction does not reach the violation, so --infer
    # has to decide
    induction = ("--engine", "induction", "--max-k", "3")
    _, doc = _run(model, *induction)
    assert _status(doc, "pods_run")["status"] == "inconclusive", doc
    _, doc = _run(model, *induction, "--infer", "--timeout", "300")
    assert _status(doc, "pods_run")["status"] != "holds", doc
