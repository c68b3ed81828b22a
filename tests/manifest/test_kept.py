"""Fields a model hard-codes without mapping them (a CronJob's concurrency policy, the crash
models' one replica and no kept history, the federation models' clusters and rebalance): a
manifest that says otherwise is refused with KC0610 at the field (or at the kind when absent
means another default), never checked as the model's own instance."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from kcheck.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EX = ROOT / "examples" / "manifests"

# model, example, (text, replacement), the field refused, the YAML line:col it is refused at
CASES = [
    ("cronjob_names", "nightly-cronjob.yaml", ("  schedule:", "  concurrencyPolicy: Forbid\n  schedule:"),
     "spec.concurrencyPolicy", "10:22"),
    ("cronjob_generated_names", "nightly-cronjob.yaml", ("  schedule:", "  suspend: true\n  schedule:"),
     "spec.suspend", "10:12"),
    ("cronjob_names", "nightly-cronjob.yaml",
     ("  schedule:", "  startingDeadlineSeconds: 60\n  schedule:"), "spec.startingDeadlineSeconds", "10:28"),
    ("deployment_crash_safe", "web-deployment-crash.yaml", ("replicas: 1", "replicas: 2"),
     "spec.replicas", "10:13"),
    ("deployment_crash_between_writes", "web-deployment-crash.yaml",
     ("  revisionHistoryLimit: 0\n", ""), "spec.revisionHistoryLimit", "6:7"),
    ("deployment_crash_safe", "web-deployment-crash.yaml",
     ("  revisionHistoryLimit: 0\n", "  revisionHistoryLimit: 0\n  strategy:\n    type: Recreate\n"),
     "spec.strategy.type", "13:11"),
    ("federation", "federated-web-rsp.yaml", ("weight: 1", "weight: 2"), "spec.clusters", "15:5"),
    ("federation_no_rebalance", "federated-web-rsp.yaml", ("maxReplicas: 3", "maxReplicas: 2"),
     "spec.clusters", "15:5"),
    ("federation_failover_ignores_max", "federated-web-rsp.yaml",
     ("      maxReplicas: 4\n", "      maxReplicas: 4\n      minReplicas: 1\n"), "spec.clusters", "15:5"),
    ("federation", "federated-web-rsp.yaml", ("rebalance: true", "rebalance: false"),
     "spec.rebalance", "13:14"),
]  # fmt: skip


@pytest.mark.parametrize(("model", "example", "change", "field", "at"), CASES)
def test_a_hard_coded_field_set_otherwise_is_refused(
    model: str, example: str, change: tuple[str, str], field: str, at: str, tmp_path: Path
) -> None:
    text = (EX / example).read_text(encoding="utf-8")
    assert change[0] in text
    changed = tmp_path / example
    changed.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    got = CliRunner().invoke(
        main, ["verify", str(ROOT / "models" / f"{model}.kdsl"), "--manifest", str(changed), "-q"]
    )
    assert got.exit_code == 2, got.output
    assert "Traceback" not in got.output
    assert f"{example}:{at}: error[KC0610]: the model does not map `{field}`" in got.stderr
    assert "help:" in got.stderr
    assert got.stderr.count("error[KC0610]") == 1


INGRESS = ["ingress", "ingress_ignores_endpoints", "ingress_selects_pods"]
SHOP = [str(EX / "shop-services.yaml"), str(EX / "shop-ingress.yaml")]


def outcome(model: str, *manifests: str) -> tuple[int, object]:
    args = [a for m in manifests for a in ("--manifest", m)]
    got = CliRunner().invoke(main, ["verify", str(ROOT / "models" / f"{model}.kdsl"), *args,
                                    "-q", "--format", "json"])  # fmt: skip
    assert "Traceback" not in got.output
    if got.exit_code == 2:
        return got.exit_code, got.stderr
    doc = json.loads(got.stdout)
    props = [(p["name"], p["status"], len(p.get("trace") or ())) for p in doc["properties"]]
    return got.exit_code, (
        doc["verdict"],
        doc["stats"]["states"],
        doc["stats"]["transitions"],
        props,
    )


@pytest.mark.parametrize("model", INGRESS)
def test_the_models_ingress_is_accepted_and_the_default(model: str) -> None:
    assert outcome(model, *SHOP) == outcome(model)


@pytest.mark.parametrize(
    "change",
    [
        ("name: web", "name: cart"),  # the rule routes to the other Service
        ("host: shop.example.com", "host: admin.example.com"),
        ("          - path: /\n", "          - path: /cart\n"),
        ("          - path: /\n", "          - path: /cart\n            pathType: Prefix\n"
         "            backend:\n              service:\n                name: cart\n"
         "          - path: /\n"),  # a second rule from the start
        ("  rules:\n", "  defaultBackend:\n    service:\n      name: web\n  rules:\n"),
    ],
)  # fmt: skip
def test_an_ingress_with_other_rules_is_refused(change: tuple[str, str], tmp_path: Path) -> None:
    text = (EX / "shop-ingress.yaml").read_text(encoding="utf-8")
    assert change[0] in text
    other = tmp_path / "shop-ingress.yaml"
    other.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    for model in INGRESS:
        code, err = outcome(model, SHOP[0], str(other))
        assert code == 2
        assert isinstance(err, str)
        # a defaultBackend is refused at itself (the models describe none), the rest at the rules
        assert re.search(r"shop-ingress\.yaml:1[014]:5: error\[KC0610\]: the model does not map "
                         r"`spec\.(rules|defaultBackend)` of Ingress `shop`", err), err  # fmt: skip
