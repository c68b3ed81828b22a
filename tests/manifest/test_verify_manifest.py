"""`kcheck verify MODEL --manifest FILE`: the model's `manifest` section fills its consts and
params from Kubernetes objects, as -D would; bad input gets a located error, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kcheck.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
EXAMPLES = ROOT / "examples" / "manifests"
ROLLOUT = str(MODELS / "deployment_rollout.kdsl")
WEB = EXAMPLES / "web-deployment.yaml"


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output + result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"the CLI raised {result.exception!r}") from result.exception
    return result


def stats(result: Result) -> tuple[str, int, int]:
    doc = json.loads(result.stdout)
    return doc["verdict"], doc["stats"]["states"], doc["stats"]["transitions"]


def write(tmp_path: Path, text: str, name: str = "m.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_manifest_gives_what_the_same_values_by_d_give() -> None:
    """replicas 3, maxSurge 25% -> 1 (up), maxUnavailable 25% -> 0 (down)."""
    by_manifest = run("verify", ROLLOUT, "--manifest", str(WEB), "-q", "--format", "json")
    by_d = run("verify", ROLLOUT, "-D", "replicas=3", "-D", "maxSurge=1", "-D",
               "maxUnavailable=0", "-q", "--format", "json")  # fmt: skip
    default = run("verify", ROLLOUT, "-q", "--format", "json")
    assert by_manifest.exit_code == by_d.exit_code == 0
    assert stats(by_manifest) == stats(by_d)
    assert stats(by_manifest) != stats(default)  # the manifest did change the instance
    assert "from the manifests: replicas = 3" in by_manifest.stderr


def test_d_wins_over_the_manifest() -> None:
    both = run("verify", ROLLOUT, "--manifest", str(WEB), "-D", "replicas=2", "-q",
               "--format", "json")  # fmt: skip
    by_d = run("verify", ROLLOUT, "-D", "replicas=2", "-D", "maxSurge=1", "-D",
               "maxUnavailable=0", "-q", "--format", "json")  # fmt: skip
    assert stats(both) == stats(by_d)


@pytest.mark.parametrize(
    ("surge", "unavailable", "replicas", "want"),
    [
        ("25%", "25%", "2", (1, 0)),  # 0.5 up, 0.5 down
        ("50%", "50%", "3", (2, 1)),  # 1.5 up, 1.5 down
        ("0", "10%", "3", (0, 1)),  # both round to 0: maxUnavailable becomes 1 (fenceposts)
        ("1", "0", "3", (1, 0)),
    ],
)
def test_percentages_round_as_kubernetes_rounds_them(
    tmp_path: Path, surge: str, unavailable: str, replicas: str, want: tuple[int, int]
) -> None:
    text = WEB.read_text(encoding="utf-8")
    text = text.replace("replicas: 3", f"replicas: {replicas}")
    text = text.replace("maxSurge: 25%", f"maxSurge: {surge}")
    text = text.replace("maxUnavailable: 25%", f"maxUnavailable: {unavailable}")
    path = write(tmp_path, text)
    got = run("verify", ROLLOUT, "--manifest", path, "-q", "--format", "json")
    same = run("verify", ROLLOUT, "-D", f"replicas={replicas}", "-D", f"maxSurge={want[0]}",
               "-D", f"maxUnavailable={want[1]}", "-q", "--format", "json")  # fmt: skip
    assert got.exit_code == same.exit_code
    assert stats(got) == stats(same)
    assert f"maxSurge = {want[0]} " in got.stderr
    assert f"maxUnavailable = {want[1]} " in got.stderr


def test_a_value_beyond_the_models_bound_names_the_knob(tmp_path: Path) -> None:
    path = write(tmp_path, WEB.read_text(encoding="utf-8").replace("replicas: 3", "replicas: 40"))
    r = run("verify", ROLLOUT, "--manifest", path, "-q")
    assert r.exit_code == 2
    assert f"{path}:9:13: error[KC0607]: replicas: 40 exceeds the model's bound 3" in r.stderr
    assert "help: pass -D MAX_REPLICAS=40 or narrow the manifest" in r.stderr
    assert "   9 |   replicas: 40\n     |             ^~" in r.stderr


def test_the_suggested_d_makes_it_fit(tmp_path: Path) -> None:
    path = write(tmp_path, WEB.read_text(encoding="utf-8").replace("replicas: 3", "replicas: 4"))
    r = run("verify", ROLLOUT, "--manifest", path, "-D", "MAX_REPLICAS=4", "-q", "--max-states",
            "200000")  # fmt: skip
    assert r.exit_code in (0, 3)  # holds, or a limit: never a bad-input error
    assert "error" not in r.stderr


def test_a_yaml_syntax_error_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, "kind: Deployment\nspec:\n  replicas: [1\n")
    r = run("verify", ROLLOUT, "--manifest", path, "-q")
    assert r.exit_code == 2
    assert f"{path}:4:1: error[KC0604]: YAML syntax error" in r.stderr
    assert "line 3, column 13" in r.stderr


def test_a_bad_value_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, "kind: Deployment\nspec:\n  replicas: three\n")
    r = run("verify", ROLLOUT, "--manifest", path, "-q")
    assert r.exit_code == 2
    assert f"{path}:3:13: error[KC0606]: `spec.replicas: three` is not an integer" in r.stderr


def test_a_recreate_deployment_is_not_a_rolling_update(tmp_path: Path) -> None:
    path = write(tmp_path, "kind: Deployment\nspec:\n  strategy:\n    type: Recreate\n")
    r = run("verify", ROLLOUT, "--manifest", path, "-q")
    assert r.exit_code == 2
    assert "`spec.strategy.type` is Recreate; the model describes a RollingUpdate" in r.stderr


def test_two_objects_of_one_kind_are_refused(tmp_path: Path) -> None:
    doc = "kind: Deployment\nmetadata: {name: a}\n---\nkind: Deployment\nmetadata: {name: b}\n"
    r = run("verify", ROLLOUT, "--manifest", write(tmp_path, doc), "-q")
    assert r.exit_code == 2
    assert "a second Deployment (`b`): the model describes one" in r.stderr
    assert ":4:7: error[KC0608]" in r.stderr


def test_kubectl_list_output_and_unread_kinds(tmp_path: Path) -> None:
    """`kubectl get deploy,cm -o yaml` prints a List; a kind the model reads nothing of is a
    warning, not an error (a repository holds ConfigMaps beside its Deployments)."""
    doc = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- kind: Deployment\n  metadata: {name: web}\n  spec: {replicas: 3}\n"
        "- kind: ConfigMap\n  metadata: {name: cfg}\n"
    )
    r = run("verify", ROLLOUT, "--manifest", write(tmp_path, doc), "-q")
    assert r.exit_code == 0
    assert "warning[KC0609]: ConfigMap `cfg`: the model reads no ConfigMap; ignored" in r.stderr
    assert "replicas = 3" in r.stderr


def test_a_model_without_a_manifest_section_says_so(tmp_path: Path) -> None:
    r = run("verify", str(MODELS / "apiserver_occ.kdsl"), "--manifest", str(WEB))
    assert r.exit_code == 2
    assert "has no `manifest` section" in r.stderr


def test_an_unreadable_manifest_is_an_error(tmp_path: Path) -> None:
    r = run("verify", ROLLOUT, "--manifest", str(tmp_path / "missing.yaml"), "-q")
    assert r.exit_code == 2
    assert "error[KC0104]: cannot read" in r.stderr


# Each model of models/ that describes such an object reads it; the example manifest gives the
# same instance, and so the same verdict and state count, as these -D values.
EXAMPLE_INSTANCES = [
    ("deployment_rollout", "web-deployment.yaml", ["replicas=3", "maxSurge=1", "maxUnavailable=0"]),
    ("replicaset", "frontend-replicaset.yaml", ["replicas=3"]),
    (
        "hpa",
        "php-apache-hpa.yaml",
        ["min_replicas=1", "max_replicas=5", "TARGET=6", "initial_replicas=2", "WINDOW=3"],
    ),
    ("descheduler", "batch-descheduled.yaml", ["REPLICAS=5", "MIN_AVAILABLE=3"]),
]


@pytest.mark.parametrize(("model", "manifest", "defines"), EXAMPLE_INSTANCES)
def test_each_example_manifest_is_the_instance_it_says(
    model: str, manifest: str, defines: list[str]
) -> None:
    path = str(MODELS / f"{model}.kdsl")
    got = run("verify", path, "--manifest", str(EXAMPLES / manifest), "-q", "--format", "json")
    d_args = [x for d in defines for x in ("-D", d)]
    same = run("verify", path, *d_args, "-q", "--format", "json")
    assert got.exit_code == same.exit_code == 0  # each holds under its manifest's values
    assert stats(got) == stats(same)
    for d in defines:
        name, value = d.split("=")
        assert f"{name} = {value} (" in got.stderr


def test_a_pdb_gives_min_available_from_max_unavailable(tmp_path: Path) -> None:
    """minAvailable = replicas - maxUnavailable, as the disruption controller computes it."""
    text = (EXAMPLES / "batch-descheduled.yaml").read_text(encoding="utf-8")
    path = write(tmp_path, text.replace("maxUnavailable: 2 ", "maxUnavailable: 40%"))
    r = run("verify", str(MODELS / "descheduler.kdsl"), "--manifest", path, "-q")
    assert "MIN_AVAILABLE = 3 (" in r.stderr  # 40% of 5 is 2, rounded up: 2
    both = text.replace("maxUnavailable: 2 ", "minAvailable: 1\n  maxUnavailable: 2")
    r = run("verify", str(MODELS / "descheduler.kdsl"), "--manifest", write(tmp_path, both), "-q")
    assert r.exit_code == 2
    assert "sets both minAvailable and maxUnavailable; it must set one" in r.stderr


def test_a_quantity_that_does_not_parse_gets_a_hint(tmp_path: Path) -> None:
    model = tmp_path / "m.kdsl"
    model.write_text(
        "model m\nconst MEM = 1\nvar v: 0..1 = 0\nprocess p { action a { v := 1 - v } }\n"
        "manifest { Deployment { MEM = spec.template.spec.containers.resources.requests.memory"
        " in Mi } }\n"
    )
    text = WEB.read_text(encoding="utf-8").replace("memory: 256Mi", "memory: 256mi")
    r = run("verify", str(model), "--manifest", write(tmp_path, text), "-q")
    assert r.exit_code == 2
    assert "error[KC0606]: `256mi` is not a Kubernetes quantity" in r.stderr
    assert "did you mean `256Mi`?" in r.stderr
    ok = run("verify", str(model), "--manifest", str(WEB), "-q")
    assert ok.exit_code == 0 and "MEM = 256 (" in ok.stderr
    half = WEB.read_text(encoding="utf-8").replace("memory: 256Mi", "memory: 0.5Mi")
    r = run("verify", str(model), "--manifest", write(tmp_path, half, "half.yaml"), "-q")
    assert r.exit_code == 2 and "0.5Mi is 0.5 Mi, not a whole number" in r.stderr


def test_an_hpa_on_memory_is_not_read_as_a_cpu_target(tmp_path: Path) -> None:
    text = (EXAMPLES / "php-apache-hpa.yaml").read_text(encoding="utf-8")
    path = write(tmp_path, text.replace("name: cpu", "name: memory"))
    r = run("verify", str(MODELS / "hpa.kdsl"), "--manifest", path, "-q")
    assert r.exit_code == 2
    assert "error[KC0606]: the HPA's metric is memory; the model reads a cpu target" in r.stderr


def test_manifests_with_nothing_the_model_reads_say_so(tmp_path: Path) -> None:
    path = write(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n")
    r = run("verify", ROLLOUT, "--manifest", path, "-q", "--format", "json")
    assert r.exit_code == 0
    assert "from the manifests: nothing (no object of a kind the model reads)" in r.stderr
    assert stats(r) == stats(run("verify", ROLLOUT, "-q", "--format", "json"))


def test_a_key_given_twice_is_refused_as_kubectl_refuses_it(tmp_path: Path) -> None:
    path = write(tmp_path, "kind: Deployment\nspec:\n  replicas: 2\n  replicas: 3\n")
    r = run("verify", ROLLOUT, "--manifest", path, "-q")
    assert r.exit_code == 2
    assert f"{path}:4:3: error[KC0604]: duplicate key `replicas`" in r.stderr
    assert "first at line 3" in r.stderr


def test_requests_are_summed_over_containers(tmp_path: Path) -> None:
    model = tmp_path / "m.kdsl"
    model.write_text(
        "model m\nconst CPU = 1\nvar v: 0..1 = 0\nprocess p { action a { v := 1 - v } }\n"
        "manifest { Deployment { CPU = spec.template.spec.containers.resources.requests.cpu"
        " in m } }\n"
    )
    two = (
        "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n"
        "        - name: app\n          resources: {requests: {cpu: 250m}}\n"
        '        - name: sidecar\n          resources: {requests: {cpu: "0.75"}}\n'
        "        - name: no-requests\n"
    )
    r = run("verify", str(model), "--manifest", write(tmp_path, two), "-q")
    assert r.exit_code == 0
    assert "CPU = 1000 (" in r.stderr


def test_a_pdb_of_other_pods_is_not_paired_with_the_workload(tmp_path: Path) -> None:
    text = (EXAMPLES / "batch-descheduled.yaml").read_text(encoding="utf-8")
    pdb = text.split("---\n")[1].replace("matchLabels: {app: batch}", "matchLabels: {app: web}")
    path = write(tmp_path, text.split("---\n")[0] + "---\n" + pdb)
    r = run("verify", str(MODELS / "descheduler.kdsl"), "--manifest", path, "-q")
    assert r.exit_code == 2
    assert (
        "error[KC0608]: PodDisruptionBudget `batch` selects app=web, which Deployment `batch`'s "
        "pods (app=batch) do not carry"
    ) in r.stderr


def test_an_hpa_of_another_workload_is_not_paired(tmp_path: Path) -> None:
    text = (EXAMPLES / "php-apache-hpa.yaml").read_text(encoding="utf-8")
    path = write(tmp_path, text.replace("name: php-apache}", "name: other}"))
    r = run("verify", str(MODELS / "hpa.kdsl"), "--manifest", path, "-q")
    assert r.exit_code == 2
    assert "HorizontalPodAutoscaler `php-apache` scales Deployment `other`, not Deployment" in (
        r.stderr
    )
