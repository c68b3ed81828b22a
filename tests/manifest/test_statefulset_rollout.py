"""models/statefulset_rollout.kdsl reads its StatefulSet's replicas, partition and maxUnavailable
(spec/manifests.md §6): the example manifest is the model's default instance, a changed
partition or maxUnavailable is the same instance as the `-D` that says it (and another one than
the default), a percentage is rounded up as the StatefulSet controller rounds it, OnDelete is the
model's OnDelete strategy, and what the model does not describe (Parallel) is refused where the
manifest says it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kcheck.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "manifests" / "statefulset-db-rollout.yaml"
MODEL = "statefulset_rollout"
VARIANT = "statefulset_rollout_counts_updated_only"


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output + result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"the CLI raised {result.exception!r}") from result.exception
    return result


def verify(model: str, *args: str) -> Result:
    return run("verify", str(ROOT / "models" / f"{model}.kdsl"), *args, "-q", "--format", "json")


def outcome(result: Result) -> tuple[object, ...]:
    """Exit code, verdict, state and transition counts, each property's status and trace length."""
    doc = json.loads(result.stdout)
    stats = doc["stats"]
    props = tuple((p["name"], p["status"], len(p.get("trace") or ())) for p in doc["properties"])
    return result.exit_code, doc["verdict"], stats["states"], stats["transitions"], props


def changed(tmp_path: Path, old: str, new: str) -> str:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path = tmp_path / "sts.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return str(path)


def test_the_example_is_the_models_default_instance() -> None:
    by_manifest = verify(MODEL, "--manifest", str(EXAMPLE))
    assert by_manifest.exit_code == 0, by_manifest.stderr
    took = by_manifest.stderr
    assert "replicas = 3 (" in took and "partition = 1 (" in took
    assert "maxUnavailable = 2 (" in took  # 50% of 3 replicas, rounded up
    assert "KC06" not in took  # every object read, nothing refused
    assert outcome(by_manifest) == outcome(verify(MODEL))


# (a change to the example, the -D that says the same, whether it is another instance than the
# default's: with partition 1 only two pods are updated, so maxUnavailable 3 is 2 again)
CHANGES = [
    ("partition: 1", "partition: 0", "partition=0", True),
    ("partition: 1", "partition: 3", "partition=3", True),
    ("maxUnavailable: 50%", "maxUnavailable: 1", "maxUnavailable=1", True),
    ("maxUnavailable: 50%", "maxUnavailable: 33%", "maxUnavailable=1", True),  # 0.99: 1
    ("maxUnavailable: 50%", "maxUnavailable: 34%", "maxUnavailable=2", False),  # 1.02: 2
    ("maxUnavailable: 50%", "maxUnavailable: 100%", "maxUnavailable=3", False),
    ("OrderedReady\n  replicas: 3", "OrderedReady\n  replicas: 2", "replicas=2", True),
]


@pytest.mark.parametrize(("old", "new", "define", "differs"), CHANGES)
def test_a_changed_field_is_the_same_define(
    old: str, new: str, define: str, differs: bool, tmp_path: Path
) -> None:
    by_manifest = verify(MODEL, "--manifest", changed(tmp_path, old, new))
    by_define = verify(MODEL, "-D", define)
    assert outcome(by_manifest) == outcome(by_define)
    assert (outcome(by_manifest) != outcome(verify(MODEL))) == differs


def test_a_partition_of_zero_with_max_unavailable_3_takes_every_pod_at_once(tmp_path: Path) -> None:
    """Without the canary every ordinal is updated, and maxUnavailable 3 (100%) is then its own
    instance: more states than maxUnavailable 2 (all three pods may be deleted in one sync)."""
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace("partition: 1", "partition: 0").replace("50%", "100%")
    path = tmp_path / "all.yaml"
    path.write_text(text, encoding="utf-8")
    all_at_once = verify(MODEL, "--manifest", str(path))
    assert outcome(all_at_once) == outcome(
        verify(MODEL, "-D", "partition=0", "-D", "maxUnavailable=3")
    )
    two = outcome(verify(MODEL, "-D", "partition=0", "-D", "maxUnavailable=2"))
    assert outcome(all_at_once)[2] != two[2]


def test_the_partition_decides_the_variants_verdict(tmp_path: Path) -> None:
    """The bug variant deletes pods from the partition up: with the example's partition it is
    caught, and a manifest whose partition covers every ordinal (a paused rollout) gives it
    nothing to delete, so it holds."""
    caught = verify(VARIANT, "--manifest", str(EXAMPLE))
    assert caught.exit_code == 1
    props = {p["name"]: p for p in json.loads(caught.stdout)["properties"]}
    assert props["rollout_within_max_unavailable"]["status"] == "violated"
    paused = verify(VARIANT, "--manifest", changed(tmp_path, "partition: 1", "partition: 3"))
    assert paused.exit_code == 0, paused.stdout
    assert json.loads(paused.stdout)["verdict"] == "holds"


def on_delete(tmp_path: Path) -> tuple[Path, int]:
    """The example with `updateStrategy: {type: OnDelete}` (an OnDelete StatefulSet has no
    rollingUpdate: the apiserver refuses one), and the line of its `type`."""
    text = EXAMPLE.read_text(encoding="utf-8")
    start = text.index("  updateStrategy:")
    end = text.index("status:")
    path = tmp_path / "ondelete.yaml"
    path.write_text(text[:start] + "  updateStrategy:\n    type: OnDelete\n" + text[end:],
                    encoding="utf-8")  # fmt: skip
    return path, text[:start].count("\n") + 2


def test_on_delete_is_read_as_the_models_on_delete_strategy(tmp_path: Path) -> None:
    path, _ = on_delete(tmp_path)
    by_manifest = verify(MODEL, "--manifest", str(path))
    assert "strategy = OnDelete (" in by_manifest.stderr
    assert "partition = 0 (StatefulSet default)" in by_manifest.stderr
    by_define = verify(MODEL, "-D", "strategy=OnDelete", "-D", "partition=0",
                       "-D", "maxUnavailable=1")  # fmt: skip
    assert by_manifest.exit_code == 0
    assert outcome(by_manifest) == outcome(by_define)
    assert outcome(by_manifest) != outcome(verify(MODEL, "-D", "partition=0",
                                                  "-D", "maxUnavailable=1"))  # fmt: skip


ROLLING_ONLY = """
model rolling_only
param replicas: 1..3 = 3
param maxUnavailable: 1..3 = 1
var x: bool = false
invariant ok: replicas >= maxUnavailable or not x
manifest {
  StatefulSet {
    replicas = spec.replicas
    maxUnavailable = spec.updateStrategy.rollingUpdate.maxUnavailable
  }
}
"""


def test_a_model_that_does_not_map_the_strategy_refuses_on_delete(tmp_path: Path) -> None:
    """Only a model that maps `spec.updateStrategy.type` describes OnDelete: one that maps the
    rolling update's fields alone describes a rolling update, and is refused at the type."""
    path, line = on_delete(tmp_path)
    model = tmp_path / "rolling_only.kdsl"
    model.write_text(ROLLING_ONLY, encoding="utf-8")
    r = run("verify", str(model), "--manifest", str(path), "-q")
    assert r.exit_code == 2
    assert f"ondelete.yaml:{line}:11: error[KC0606]: `spec.updateStrategy.type` is OnDelete" in (
        r.stderr
    )
    assert "^~~~~~~~" in r.stderr


def test_parallel_pod_management_is_refused_where_it_is_set(tmp_path: Path) -> None:
    old = "podManagementPolicy: OrderedReady"
    r = verify(MODEL, "--manifest", changed(tmp_path, old, "podManagementPolicy: Parallel"))
    assert r.exit_code == 2
    assert "error[KC0610]: the model does not map `spec.podManagementPolicy` (Parallel here)" in (
        r.stderr
    )


def test_a_zero_max_unavailable_is_out_of_the_models_range(tmp_path: Path) -> None:
    r = verify(MODEL, "--manifest", changed(tmp_path, "maxUnavailable: 50%", "maxUnavailable: 0"))
    assert r.exit_code == 2
    assert "error[KC0607]: maxUnavailable: 0 is below the model's bound 1" in r.stderr
