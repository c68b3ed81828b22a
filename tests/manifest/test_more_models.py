"""The models that gained a `manifest` section this round (spec/manifests.md §6): the GitOps
HPA models read their Deployment's replicas, the kubelet models their node's allocatable cpu,
run_service its Service, the node_lifecycle models their StatefulSet's replicas and the
cluster's Nodes. Each example manifest says what the model's defaults say, so the verdict
and the state count are the defaults'; a manifest that says something else changes the instance
as the same `-D` does (the mapping takes effect, it is not ignored)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kcheck.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EX = ROOT / "examples" / "manifests"

# model, its example, (a change to the example's text, the -D that says the same)
CASES = [
    ("hpa_field_ownership", "gitops-web-deployment.yaml", ("replicas: 2", "replicas: 3"),
     "manifest_replicas=3"),
    ("hpa_vs_apply", "gitops-web-deployment.yaml", ("replicas: 2", "replicas: 1"),
     "manifest_replicas=1"),
    ("hpa_apply_resets_replicas", "gitops-web-deployment.yaml", ("replicas: 2", "replicas: 3"),
     "manifest_replicas=3"),
    ("kubelet", "small-node.yaml", ("cpu: 2000m", "cpu: 1000m"), "CPU=1"),
    ("kubelet_no_fit_check", "small-node.yaml", ("cpu: 2000m", "cpu: 1000m"), "CPU=1"),
    ("node_lifecycle", "web-statefulset.yaml", ("replicas: 2", "replicas: 1"), "REPLICAS=1"),
    ("node_lifecycle_replaces_terminating", "web-statefulset.yaml",
     ("replicas: 2", "replicas: 1"), "REPLICAS=1"),
]  # fmt: skip
# manifests read beside the one changed
WITH = {"node_lifecycle": ["two-nodes.yaml"],
        "node_lifecycle_replaces_terminating": ["two-nodes.yaml"]}  # fmt: skip


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output + result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"the CLI raised {result.exception!r}") from result.exception
    return result


def outcome(result: Result) -> tuple[object, ...]:
    """The exit code, verdict, state and transition counts, and each property's status and
    counterexample length (a violation is found on the same states at another depth)."""
    doc = json.loads(result.stdout)
    stats = doc["stats"]
    props = tuple((p["name"], p["status"], len(p.get("trace") or ())) for p in doc["properties"])
    return result.exit_code, doc["verdict"], stats["states"], stats["transitions"], props


def verify(model: str, *args: str) -> Result:
    return run("verify", str(ROOT / "models" / f"{model}.kdsl"), *args, "-q", "--format", "json")


@pytest.mark.parametrize(("model", "example", "change", "define"), CASES)
def test_the_example_manifest_is_the_models_default_instance(
    model: str, example: str, change: tuple[str, str], define: str, tmp_path: Path
) -> None:
    more = [a for f in WITH.get(model, []) for a in ("--manifest", str(EX / f))]
    by_manifest = verify(model, "--manifest", str(EX / example), *more)
    assert "from the manifests: " in by_manifest.stderr
    assert "KC06" not in by_manifest.stderr  # no warning: every object is read
    assert outcome(by_manifest) == outcome(verify(model))
    text = (EX / example).read_text(encoding="utf-8")
    assert change[0] in text
    changed = tmp_path / example
    changed.write_text(text.replace(change[0], change[1]), encoding="utf-8")
    other = verify(model, "--manifest", str(changed), *more)
    assert outcome(other) == outcome(verify(model, "-D", define))
    assert outcome(other) != outcome(verify(model))  # the manifest's value was used


def test_run_service_takes_its_service_from_the_manifest(tmp_path: Path) -> None:
    svc = EX / "web-service.yaml"
    by_manifest = verify("run_service", "--manifest", str(svc))
    assert "1 Service objects" in by_manifest.stderr
    assert outcome(by_manifest) == outcome(verify("run_service"))
    # a selector the model's map lacks is a located error, not a silent default
    bad = tmp_path / "svc.yaml"
    bad.write_text(svc.read_text(encoding="utf-8").replace("app: web", "app: cache"), "utf-8")
    got = run("verify", str(ROOT / "models" / "run_service.kdsl"), "--manifest", str(bad))
    assert got.exit_code == 2
    assert "svc.yaml:7:10: error[KC0606]: `cache` is not in the model's map" in got.stderr


def test_a_second_node_for_the_one_node_kubelet_model_is_refused() -> None:
    got = run("verify", str(ROOT / "models" / "kubelet.kdsl"), "--manifest",
              str(EX / "two-nodes.yaml"))  # fmt: skip
    assert got.exit_code == 2
    assert "a second Node (`node-2`): the model describes one" in got.stderr


def test_more_nodes_than_the_model_has_slots_for_names_the_const(tmp_path: Path) -> None:
    nodes = tmp_path / "nodes.yaml"
    nodes.write_text("---\n".join(f"kind: Node\nmetadata: {{name: n{i}}}\n" for i in range(3)),
                     encoding="utf-8")  # fmt: skip
    got = run("verify", str(ROOT / "models" / "node_lifecycle.kdsl"), "--manifest", str(nodes))
    assert got.exit_code == 2
    assert "error[KC0607]: 3 Nodes exceed the model's bound 2" in got.stderr
    assert "pass -D NODES=3" in got.stderr
