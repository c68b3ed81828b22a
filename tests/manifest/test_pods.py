"""Pods as initial objects (spec/manifests.md §1): the pods `kubectl get pods -o yaml` prints
become the model's pods, each bound to the filled Node its `spec.nodeName` names, with its
labels, requests, node selector, required node affinity, tolerations and spread constraint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kcheck.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "models" / "scheduler_plugins.kdsl"
EXAMPLES = ROOT / "examples" / "manifests"
NODES, PODS, WEB = (
    EXAMPLES / f for f in ("cluster-nodes.yaml", "cluster-pods.yaml", "web-spread.yaml")
)
FAST = ("--invariant", "no_overcommit", "--invariant", "bound_pods_match_affinity",
        "--invariant", "bound_pods_tolerate_taints", "--invariant", "spread_within_max_skew")  # fmt: skip

# the same cluster written by hand: the model's own nodes (cluster-nodes.yaml's), and the
# three pods of cluster-pods.yaml
BY_HAND = """init {
  let a1 = create Node { zone: A, disk: Ssd, cpu: 4, mem: 8, taints: {} }
  create Node { zone: A, disk: Hdd, cpu: 2, mem: 4, taints: {} }
  let b1 = create Node { zone: B, disk: Hdd, cpu: 4, mem: 4, taints: {PreferNoSchedule} }
  create Node { zone: B, disk: Ssd, cpu: 2, mem: 4, taints: {NoExecute} }
  create Pod { app: Web, cpu: 1, mem: 2, zones: {A, B}, tolerations: {}, spread: true,
      node: a1, phase: Running }
  create Pod { app: Web, cpu: 1, mem: 2, zones: {A, B}, tolerations: {}, spread: true,
      node: b1, phase: Running }
  create Pod { app: Batch, cpu: 2, mem: 2, ssd_only: true, zones: {B},
      tolerations: {NoSchedule, NoExecute} }
}
"""


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output + result.stderr
    return result


def stats(result: Result) -> tuple[str, int, int]:
    doc = json.loads(result.stdout)
    return doc["verdict"], doc["stats"]["states"], doc["stats"]["transitions"]


def by_hand(tmp_path: Path) -> Path:
    text = PLUGINS.read_text(encoding="utf-8")
    start = text.index("init {")
    end = text.index("}\n", start) + 2
    path = tmp_path / "scheduler_plugins.kdsl"
    path.write_text(text[:start] + BY_HAND + text[end:], encoding="utf-8")
    return path


def pods(tmp_path: Path, edit: str = "", to: str = "") -> str:
    text = PODS.read_text(encoding="utf-8")
    if edit:
        assert edit in text
        text = text.replace(edit, to, 1)
    path = tmp_path / "pods.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_the_clusters_pods_are_the_models_initial_pods(tmp_path: Path) -> None:
    got = run("verify", str(PLUGINS), "--manifest", str(NODES), "--manifest", str(PODS),
              "--manifest", str(WEB), *FAST, "-q", "--format", "json")  # fmt: skip
    own = run("verify", str(by_hand(tmp_path)), "-D", "WEB_REPLICAS=3", *FAST, "-q",
              "--format", "json")  # fmt: skip
    assert got.exit_code == own.exit_code == 0, got.stderr
    assert stats(got) == stats(own)
    assert "4 Node objects, 3 Pod objects" in got.stderr
    plain = run("verify", str(PLUGINS), "--manifest", str(NODES), "--manifest", str(WEB), *FAST,
                "-q", "--format", "json")  # fmt: skip
    assert stats(plain) != stats(got)  # the pods make another instance


def test_a_pod_bound_where_it_does_not_fit_is_a_violation_of_the_cluster(tmp_path: Path) -> None:
    # the batch pod already bound to a2, an hdd node in zone A: against its affinity
    path = pods(tmp_path, "      nodeSelector: {disktype: ssd}",
                "      nodeName: a2\n      nodeSelector: {disktype: ssd}")  # fmt: skip
    r = run("verify", str(PLUGINS), "--manifest", str(NODES), "--manifest", path,
            "--manifest", str(WEB), *FAST, "-q", "--format", "json")  # fmt: skip
    assert r.exit_code == 1
    broken = [p["name"] for p in json.loads(r.stdout)["properties"] if p["status"] == "violated"]
    assert "bound_pods_match_affinity" in broken


@pytest.mark.parametrize(
    ("edit", "to", "bad", "message"),
    [
        ("nodeName: b1", "nodeName: c9", "c9", "`c9` names no Node of the manifests (a1, a2, b1, b2)"),
        ("phase: Pending", "phase: Succeeded", "Succeeded", "`Succeeded` names no member of `phase`'s enum"),
        ("values: [zone-b]", "values: [zone-c]", "zone-c", "`zone-c` is not in the model's map for `zones`"),
        ("nodeSelector: {disktype: ssd}", "nodeSelector: {disktype: nvme}", "nvme",
         "`nvme` is not in the model's map for `ssd_only`"),
    ],
)  # fmt: skip
def test_a_bad_pod_value_is_located(
    tmp_path: Path, edit: str, to: str, bad: str, message: str
) -> None:
    path = pods(tmp_path, edit, to)
    r = run("verify", str(PLUGINS), "--manifest", str(NODES), "--manifest", path, "-q")
    assert r.exit_code == 2
    assert "error[KC0606]" in r.stderr and message in r.stderr, r.stderr
    line, col = (int(x) for x in r.stderr.split(f"{path}:", 1)[1].split(":")[:2])
    assert Path(path).read_text().splitlines()[line - 1][col - 1 :].startswith(bad)


def test_bound_pods_without_their_nodes_are_refused() -> None:
    r = run("verify", str(PLUGINS), "--manifest", str(PODS), "-q")
    assert r.exit_code == 2
    assert "`spec.nodeName: a1` names a Node, and the manifests hold none" in r.stderr
    assert "kubectl get nodes -o yaml" in r.stderr


REPLICASET = ROOT / "models" / "replicaset.kdsl"
FRONTEND, FRONTEND_PODS = EXAMPLES / "frontend-replicaset.yaml", EXAMPLES / "frontend-pods.yaml"
RS_BY_HAND = """init {
  let rs = create ReplicaSet { replicas: 3 }
  create Pod { owner: rs, phase: Running }
  create Pod { owner: rs, phase: Pending }
}
"""


def test_a_replicasets_existing_pods_are_owned_by_it(tmp_path: Path) -> None:
    """The init's `for` loop of ReplicaSets gives way to the manifest's one; its two pods
    (kubectl get pods) are owned by it through their ownerReferences."""
    got = run("verify", str(REPLICASET), "--manifest", str(FRONTEND), "--manifest",
              str(FRONTEND_PODS), "-q", "--format", "json")  # fmt: skip
    text = REPLICASET.read_text(encoding="utf-8")
    start = text.index("init {")
    end = text.index("\n}\n", start) + 3
    hand = tmp_path / "replicaset.kdsl"
    hand.write_text(text[:start] + RS_BY_HAND + text[end:], encoding="utf-8")
    own = run("verify", str(hand), "-q", "--format", "json")
    assert got.exit_code == own.exit_code == 0, got.stderr
    assert stats(got) == stats(own)
    assert "1 ReplicaSet objects, 2 Pod objects" in got.stderr
    alone = run("verify", str(REPLICASET), "--manifest", str(FRONTEND), "-q", "--format", "json")
    assert stats(alone) != stats(got)


def test_a_pod_of_another_replicaset_is_located(tmp_path: Path) -> None:
    text = FRONTEND_PODS.read_text(encoding="utf-8").replace(
        "name: frontend, controller", "name: backend, controller", 1
    )
    path = tmp_path / "pods.yaml"
    path.write_text(text, encoding="utf-8")
    r = run("verify", str(REPLICASET), "--manifest", str(FRONTEND), "--manifest", str(path), "-q")
    assert r.exit_code == 2
    assert "error[KC0606]: `backend` names no ReplicaSet of the manifests (frontend)" in r.stderr
