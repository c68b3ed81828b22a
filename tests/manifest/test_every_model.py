"""The models that gained a `manifest` section last (spec/manifests.md §6): the drain, Job,
CronJob, crash-safe Deployment, federation, run_node_faults, ingress and service_endpoints-variant
models. Each example manifest is the model's default instance (same verdict, state and
transition counts, same counterexample lengths); a manifest that says something else is the
instance the same `-D` gives, so the mapping takes effect. And every model of models/ either has
a section or is listed in spec/manifests.md with the reason it has none."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kcheck.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EX = ROOT / "examples" / "manifests"
MODELS = ROOT / "models"

# model, its examples (the first is the one changed), (text in it, its replacement)..., the -D
# that says the same
CASES = [
    ("drain_eviction_api", ["drain-web.yaml"], ("minAvailable: 2", "minAvailable: 1"),
     "MIN_AVAILABLE=1"),
    ("drain_evicts_from_snapshot", ["drain-web.yaml"], ("replicas: 3", "replicas: 4"), "PODS=4"),
    ("job_failures_coalesced", ["batch-job.yaml"], ("parallelism: 2", "parallelism: 3"),
     "PODS=3"),
    ("job_tracking_finalizers", ["batch-job.yaml"], ("parallelism: 2", "parallelism: 1"),
     "PODS=1"),
    ("federation", ["federated-web-rsp.yaml"], ("totalReplicas: 4", "totalReplicas: 3", "maxReplicas: 3", "maxReplicas: 2"),
     "REPLICAS=3"),
    ("federation_no_rebalance", ["federated-web-rsp.yaml"],
     ("totalReplicas: 4", "totalReplicas: 3", "maxReplicas: 3", "maxReplicas: 2"), "REPLICAS=3"),
    ("federation_failover_ignores_max", ["federated-web-rsp.yaml"],
     ("totalReplicas: 4", "totalReplicas: 3", "maxReplicas: 3", "maxReplicas: 2"), "REPLICAS=3"),
    ("run_node_faults", ["gitops-web-deployment.yaml", "two-nodes.yaml"],
     ("replicas: 2", "replicas: 1"), "PODS=1"),
]  # fmt: skip

# models whose section makes the manifests' object the initial one and reads no field of it:
# the example is the default instance, and a second object is refused at the model's bound
OBJECTS = [
    ("cronjob_names", "nightly-cronjob.yaml", "CronJob", "cronjob"),
    ("cronjob_generated_names", "nightly-cronjob.yaml", "CronJob", "cronjob"),
    ("deployment_crash_safe", "web-deployment-crash.yaml", "Deployment", "deployment"),
    ("deployment_crash_between_writes", "web-deployment-crash.yaml", "Deployment", "deployment"),
]

SERVICE_VARIANTS = [
    "service_endpoints_ipvs",
    "service_endpoints_ipvs_from_notifications",
    "service_endpoints_ipvs_removes_first",
    "service_endpoints_keeps_unready",
    "service_endpoints_proxy_waits_for_gone",
]


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


def manifests(*files: Path) -> list[str]:
    return [a for f in files for a in ("--manifest", str(f))]


@pytest.mark.parametrize(("model", "examples", "change", "define"), CASES)
def test_the_example_is_the_default_and_a_change_is_the_same_define(
    model: str, examples: list[str], change: tuple[str, ...], define: str, tmp_path: Path
) -> None:
    files = [EX / f for f in examples]
    by_manifest = verify(model, *manifests(*files))
    assert "from the manifests: " in by_manifest.stderr
    assert "KC06" not in by_manifest.stderr  # every object is read, nothing refused
    assert outcome(by_manifest) == outcome(verify(model))
    text = files[0].read_text(encoding="utf-8")
    assert change[0] in text
    changed = tmp_path / examples[0]
    for i in range(0, len(change), 2):  # (text, replacement) pairs
        assert change[i] in text
        text = text.replace(change[i], change[i + 1])
    changed.write_text(text, encoding="utf-8")
    other = verify(model, *manifests(changed, *files[1:]))
    assert outcome(other) == outcome(verify(model, "-D", define))
    assert outcome(other) != outcome(verify(model))  # the manifest's value was used


@pytest.mark.parametrize(("model", "example", "kind", "_"), OBJECTS)
def test_the_object_is_the_initial_one_and_a_second_is_beyond_the_bound(
    model: str, example: str, kind: str, _: str, tmp_path: Path
) -> None:
    by_manifest = verify(model, "--manifest", str(EX / example))
    assert f"from the manifests: 1 {kind} objects" in by_manifest.stderr
    assert "KC06" not in by_manifest.stderr
    assert outcome(by_manifest) == outcome(verify(model))
    text = (EX / example).read_text(encoding="utf-8")
    two = tmp_path / "two.yaml"
    second = re.sub(r"(?m)^  name: \S+$", "  name: second", text, count=1)
    two.write_text(text + "\n---\n" + second, encoding="utf-8")
    got = run("verify", str(MODELS / f"{model}.kdsl"), "--manifest", str(two))
    assert got.exit_code == 2
    assert f"error[KC0607]: 2 {kind}s exceed the model's bound 1" in got.stderr


@pytest.mark.parametrize("model", SERVICE_VARIANTS)
def test_the_service_variants_take_their_service_from_the_manifest(model: str) -> None:
    got = verify(model, "--manifest", str(EX / "web-service.yaml"))
    assert "from the manifests: 1 Service objects" in got.stderr
    assert outcome(got) == outcome(verify(model))


@pytest.mark.parametrize(
    "model", ["service_endpoints_keeps_unready", "service_endpoints_proxy_waits_for_gone"]
)
def test_a_service_selecting_db_is_the_model_with_that_selector(model: str, tmp_path: Path) -> None:
    svc = tmp_path / "db.yaml"
    text = (EX / "web-service.yaml").read_text(encoding="utf-8")
    svc.write_text(text.replace("app: web", "app: db"), encoding="utf-8")
    source = (MODELS / f"{model}.kdsl").read_text(encoding="utf-8")
    mark = "create Service { selector: Web }"
    assert mark in source
    hand = tmp_path / f"{model}.kdsl"
    hand.write_text(source.replace(mark, "create Service { selector: Db }"), encoding="utf-8")
    got = verify(model, "--manifest", str(svc))
    assert outcome(got) == outcome(verify(hand))
    assert outcome(got) != outcome(verify(model))


def _listed_without_section() -> list[str]:
    """The names (globs) in spec/manifests.md's list of models with no section."""
    text = (ROOT / "spec" / "manifests.md").read_text(encoding="utf-8")
    part = text.split("**Models with no section.**", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^- `([a-z_*]+)`", part, re.M)


def test_every_model_has_a_section_or_a_reason() -> None:
    listed = _listed_without_section()
    assert listed
    without = [
        p.stem
        for p in sorted(MODELS.glob("*.kdsl"))
        if not re.search(r"(?m)^manifest\b", p.read_text(encoding="utf-8"))
    ]
    unexplained = [m for m in without if not any(re.fullmatch(g.replace("*", ".*"), m)
                                                 for g in listed)]  # fmt: skip
    assert unexplained == []
    # and the list names no model that has one
    for g in listed:
        assert any(re.fullmatch(g.replace("*", ".*"), m) for m in without), g


INGRESS = ["ingress", "ingress_ignores_endpoints", "ingress_selects_pods"]
SHOP = EX / "shop-services.yaml"


@pytest.mark.parametrize("model", INGRESS)
def test_the_ingress_models_take_their_services_from_the_manifest(
    model: str, tmp_path: Path
) -> None:
    got = verify(model, "--manifest", str(SHOP))
    assert "from the manifests: 2 Service objects" in got.stderr
    assert "KC06" not in got.stderr
    assert outcome(got) == outcome(verify(model))
    # the same Services in the other order are the same instance
    text = SHOP.read_text(encoding="utf-8")
    head, web, cart = text.split("  - apiVersion: v1\n")
    cart, tail = cart.split("metadata:\n  resourceVersion")
    swapped = tmp_path / "swapped.yaml"
    swapped.write_text(
        head + "  - apiVersion: v1\n" + cart + "  - apiVersion: v1\n" + web
        + "metadata:\n  resourceVersion" + tail, encoding="utf-8",
    )  # fmt: skip
    assert outcome(verify(model, "--manifest", str(swapped))) == outcome(got)


def test_a_shop_without_the_cart_service_is_the_model_without_it(tmp_path: Path) -> None:
    only_web = tmp_path / "web.yaml"
    only_web.write_text(SHOP.read_text(encoding="utf-8").split("  - apiVersion: v1\n    kind: "
                        "Service\n    metadata:\n      name: cart")[0], encoding="utf-8")  # fmt: skip
    source = (MODELS / "ingress.kdsl").read_text(encoding="utf-8")
    cart = "  create Service { app: Cart }\n"
    assert cart in source
    hand = tmp_path / "ingress.kdsl"
    hand.write_text(source.replace(cart, ""), encoding="utf-8")
    got = verify("ingress", "--manifest", str(only_web))
    assert "from the manifests: 1 Service objects" in got.stderr
    assert outcome(got) == outcome(verify(hand))
    assert outcome(got) != outcome(verify("ingress"))
