"""Every model of models/ that describes a Kubernetes object kcheck reads has a `manifest`
section, its bug variants included (they read what their base model reads), and each takes the
base model's example manifests (spec/manifests.md §6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kcheck.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EX = ROOT / "examples" / "manifests"
EXAMPLES = {
    "replicaset": ["frontend-replicaset.yaml", "frontend-pods.yaml"],
    "scheduler_plugins": ["cluster-nodes.yaml", "cluster-pods.yaml", "web-spread.yaml"],
    "deployment_rollout": ["web-deployment.yaml"],
    "descheduler": ["batch-descheduled.yaml"],
    "hpa": ["php-apache-hpa.yaml"],
    "service_endpoints": ["web-service.yaml"],
    "node_pressure_eviction": ["qos-node.yaml"],
    "statefulset_rollout": ["statefulset-db-rollout.yaml"],
}
VARIANTS = [
    ("replicaset", "replicaset_counts_running"),
    ("replicaset", "replicaset_deletes_running_first"),
    ("replicaset", "replicaset_expectations"),
    ("replicaset", "replicaset_stale_cache"),
    ("replicaset", "smt_replicaset_lemmas"),
    ("scheduler_plugins", "scheduler_plugins_ignores_noexecute"),
    ("scheduler_plugins", "scheduler_plugins_spread_counts_running"),
    ("deployment_rollout", "deployment_rollout_ignores_unavailable"),
    ("deployment_rollout", "deployment_rollout_surge_counts_ready"),
    ("descheduler", "descheduler_most_allocated"),
    ("descheduler", "descheduler_without_node_fit"),
    ("hpa", "hpa_counts_spec_replicas"),
    ("hpa", "hpa_no_stabilization"),
    ("node_pressure_eviction", "node_pressure_eviction_ranks_by_qos"),
    ("statefulset_rollout", "statefulset_rollout_counts_updated_only"),
]


@pytest.mark.parametrize(("base", "variant"), VARIANTS)
def test_a_variant_reads_its_base_models_manifests(base: str, variant: str) -> None:
    args = [a for f in EXAMPLES[base] for a in ("--manifest", str(EX / f))]
    r = CliRunner().invoke(
        main, ["verify", str(ROOT / "models" / f"{variant}.kdsl"), *args, "--max-states", "500",
               "-q"],
    )  # fmt: skip
    assert r.exit_code in (0, 1, 3), r.stderr  # loaded: a verdict, or the state bound hit
    assert "from the manifests: " in r.stderr
    assert "KC0609" not in r.stderr  # every example object is read


SCHEDULERS = ["scheduler", "scheduler_assume_cache", "scheduler_stale_snapshot",
              "scheduler_starvation"]  # fmt: skip


@pytest.mark.parametrize("name", SCHEDULERS)
def test_the_schedulers_nodes_come_from_kubectl_get_nodes(name: str, tmp_path: Path) -> None:
    """two-nodes.yaml's allocatable cpu (4 and 3000m) is the same instance as the init's `for`
    loop written out with those two nodes."""
    model = ROOT / "models" / f"{name}.kdsl"
    text = model.read_text(encoding="utf-8")
    loop = "init {\n  for i in 1..NODES {\n    create Node { cpu: CPU }\n  }\n}\n"
    assert loop in text
    hand = tmp_path / f"{name}.kdsl"
    hand.write_text(
        text.replace(loop, "init {\n  create Node { cpu: 4 }\n  create Node { cpu: 3 }\n}\n"),
        encoding="utf-8",
    )
    got = CliRunner().invoke(main, ["verify", str(model), "--manifest", str(EX / "two-nodes.yaml"),
                                    "--format", "json", "-q"])  # fmt: skip
    own = CliRunner().invoke(main, ["verify", str(hand), "--format", "json", "-q"])
    assert got.exit_code == own.exit_code, got.stderr
    assert "from the manifests: 2 Node objects" in got.stderr
    counts = [
        (d["verdict"], d["stats"]["states"], d["stats"]["transitions"])
        for d in (json.loads(got.stdout), json.loads(own.stdout))
    ]
    assert counts[0] == counts[1]


def test_more_nodes_than_the_scheduler_has_slots_names_the_bound() -> None:
    r = CliRunner().invoke(main, ["verify", str(ROOT / "models" / "scheduler.kdsl"),
                                  "--manifest", str(EX / "cluster-nodes.yaml"), "-q"])  # fmt: skip
    assert r.exit_code == 2
    assert "4 Nodes exceed the model's bound 2 (kind Node[2])" in r.stderr
    assert "pass -D NODES=4" in r.stderr
