"""Every model of models/ that describes a Kubernetes object kcheck reads has a `manifest`
section, its bug variants included (they read what their base model reads), and each takes the
base model's example manifests (spec/manifests.md §6)."""

from __future__ import annotations

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
