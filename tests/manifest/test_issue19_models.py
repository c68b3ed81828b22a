"""The issue-19 models that gained a `manifest` section (spec/manifests.md §6): the ReplicaSet
scale-down models read the pods their ReplicaSet has (`PODS` from its `spec.replicas`), the
autoscaler models take the manifests' Deployment as their initial one (its replicas). Each
example is the model's default instance (same verdict, state and transition counts, same
counterexample lengths); a manifest that says something else is the instance the same `-D`
(or the same object written in the model's `init`) gives, so the mapping takes effect."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kcheck.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EX = ROOT / "examples" / "manifests"
MODELS = ROOT / "models"

SCALE_DOWN = ["replicaset_scale_down_status_first", "replicaset_scale_down_status_last"]
RS = EX / "frontend-replicaset-scale-down.yaml"
AUTOSCALER = ["autoscaler_put_from_cache", "autoscaler_put_if_unchanged"]
DEPLOY = EX / "autoscaled-web-deployment.yaml"
DEPLOY_REPLICAS = "  replicas: 1\n  revisionHistoryLimit"  # the spec's, not the status'


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output + result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"the CLI raised {result.exception!r}") from result.exception
    return result


def outcome(result: Result) -> tuple[object, ...]:
    doc = json.loads(result.stdout)
    stats = doc["stats"]
    props = tuple((p["name"], p["status"], len(p.get("trace") or ())) for p in doc["properties"])
    return result.exit_code, doc["verdict"], stats["states"], stats["transitions"], props


def verify(model: str | Path, *args: str) -> Result:
    path = model if isinstance(model, Path) else MODELS / f"{model}.kdsl"
    return run("verify", str(path), *args, "-q", "--format", "json")


def changed(example: Path, old: str, new: str, tmp_path: Path) -> Path:
    text = example.read_text(encoding="utf-8")
    assert text.count(old) == 1
    out = tmp_path / example.name
    out.write_text(text.replace(old, new), encoding="utf-8")
    return out


@pytest.mark.parametrize("model", SCALE_DOWN)
def test_the_replicaset_example_is_the_default_and_its_replicas_are_pods(
    model: str, tmp_path: Path
) -> None:
    got = verify(model, "--manifest", str(RS))
    assert f"from the manifests: PODS = 3 ({RS}:17)" in got.stderr
    assert "KC06" not in got.stderr  # every object read, nothing refused
    assert outcome(got) == outcome(verify(model))
    for pods in ("2", "4"):
        other = verify(model, "--manifest", str(changed(RS, "  replicas: 3\n  selector",
                                                        f"  replicas: {pods}\n  selector",
                                                        tmp_path)))  # fmt: skip
        assert outcome(other) == outcome(verify(model, "-D", f"PODS={pods}"))
        assert outcome(other) != outcome(verify(model))  # the manifest's value was used


def test_two_pods_scaled_to_one_need_one_delete_and_the_status_first_bug_is_gone(
    tmp_path: Path,
) -> None:
    # One DELETE leaves nothing to lose in a crash: the bug needs three pods or more.
    two = changed(RS, "  replicas: 3\n  selector", "  replicas: 2\n  selector", tmp_path)
    assert verify(SCALE_DOWN[0], "--manifest", str(RS)).exit_code == 1
    assert verify(SCALE_DOWN[0], "--manifest", str(two)).exit_code == 0


def test_a_replicaset_of_no_replicas_is_the_same_error_as_the_define(tmp_path: Path) -> None:
    zero = changed(RS, "  replicas: 3\n  selector", "  replicas: 0\n  selector", tmp_path)
    got = run("verify", str(MODELS / f"{SCALE_DOWN[0]}.kdsl"), "--manifest", str(zero))
    by_define = run("verify", str(MODELS / f"{SCALE_DOWN[0]}.kdsl"), "-D", "PODS=0")
    assert got.exit_code == by_define.exit_code == 2
    assert "error[KC0401]: 1 is outside the range 0..0 of field `ReplicaSet.replicas`" in got.stderr
    assert f"from the manifests: PODS = 0 ({zero}:17)" in got.stderr


@pytest.mark.parametrize("model", AUTOSCALER)
def test_the_autoscaled_deployment_is_the_initial_one(model: str, tmp_path: Path) -> None:
    got = verify(model, "--manifest", str(DEPLOY))
    assert "from the manifests: 1 Deployment objects" in got.stderr
    assert "KC06" not in got.stderr
    assert outcome(got) == outcome(verify(model))
    # two replicas in the manifest are the model with `create Deployment { replicas: 2 }`
    two = changed(DEPLOY, DEPLOY_REPLICAS, "  replicas: 2\n  revisionHistoryLimit", tmp_path)
    source = (MODELS / f"{model}.kdsl").read_text(encoding="utf-8")
    mark = "  create Deployment {}\n"
    assert source.count(mark) == 1
    hand = tmp_path / f"{model}.kdsl"
    hand.write_text(source.replace(mark, "  create Deployment { replicas: 2 }\n"), "utf-8")
    other = verify(model, "--manifest", str(two))
    assert outcome(other) == outcome(verify(hand))
    assert outcome(other) != outcome(verify(model))


@pytest.mark.parametrize("model", AUTOSCALER)
def test_more_replicas_than_the_autoscaler_allows_are_refused_located(
    model: str, tmp_path: Path
) -> None:
    three = changed(DEPLOY, DEPLOY_REPLICAS, "  replicas: 3\n  revisionHistoryLimit", tmp_path)
    got = run("verify", str(MODELS / f"{model}.kdsl"), "--manifest", str(three))
    assert got.exit_code == 2
    assert f"{three}:15:13: error[KC0606]: Deployment `web`: 3 is outside the model's 1..2" in (
        got.stderr
    )
    # the bound is the model's const: widened by -D, the manifest is read
    wider = verify(model, "--manifest", str(three), "-D", "MAX_REPLICAS=3")
    assert wider.exit_code in (0, 1)
