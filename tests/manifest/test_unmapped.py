"""A manifest that sets a field the model does not map, in a part of the object the model maps
(an HPA's behavior beside its min/max, a pod's preferred affinity beside its required one), is
refused with KC0610 at the field: the model would check a different system. Kubernetes'
defaults written out are the same system, and fields of parts the model maps nothing of are not
reported. Also: a container's request defaults to its limit; node affinity the model cannot
read as written (an operator other than In) is refused."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner, Result

from kcheck.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "manifests"
HPA = str(ROOT / "models" / "hpa.kdsl")
PLUGINS = str(ROOT / "models" / "scheduler_plugins.kdsl")
PHP = EXAMPLES / "php-apache-hpa.yaml"
PHP_KUBECTL = EXAMPLES / "php-apache-hpa-kubectl.yaml"
PHP_DEFAULT = EXAMPLES / "php-apache-hpa-default-window.yaml"  # no `behavior`
NODES, PODS, SPREAD = (EXAMPLES / f for f in ("cluster-nodes.yaml", "cluster-pods.yaml",
                                                "web-spread.yaml"))  # fmt: skip


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


def plugins(*manifests: str) -> Result:
    args = [x for m in manifests for x in ("--manifest", m)]
    return run("verify", PLUGINS, *args, "-q", "--format", "json", "--max-states", "200000")


def test_kubernetes_defaults_written_out_check_the_same_system() -> None:
    """kubectl shows an HPA's defaulted behavior (two scale-up policies, a 0 s scale-up window,
    the 300 s scale-down window): the model describes exactly what an HPA with no `behavior`
    gets."""
    assert "stabilizationWindowSeconds: 300" in PHP_KUBECTL.read_text(encoding="utf-8")
    written = run("verify", HPA, "--manifest", str(PHP_KUBECTL), "-q", "--format", "json")
    unwritten = run("verify", HPA, "--manifest", str(PHP_DEFAULT), "-q", "--format", "json")
    assert written.exit_code == unwritten.exit_code == 0
    assert stats(written) == stats(unwritten)
    assert "KC0610" not in written.stderr


def test_a_behavior_the_model_does_not_map_is_refused_at_the_field(tmp_path: Path) -> None:
    """hpa.kdsl maps the scale-down window, not the scale-up one: it scales up at once, as the
    default 0 s window does, and checking a delayed scale-up with it would check another HPA."""
    text = PHP_KUBECTL.read_text(encoding="utf-8")
    assert text.count("stabilizationWindowSeconds: 0") == 1  # scaleUp's
    path = write(tmp_path, text.replace("stabilizationWindowSeconds: 0",
                                        "stabilizationWindowSeconds: 60"))  # fmt: skip
    line = next(i for i, x in enumerate(text.splitlines(), 1) if "Seconds: 0" in x)
    got = run("verify", HPA, "--manifest", path)
    assert got.exit_code == 2
    assert re.search(rf"m\.yaml:{line}:\d+: error\[KC0610\]: the model does not map "
                     r"`spec\.behavior\.scaleUp\.stabilizationWindowSeconds` \(60 here\)",
                     got.stderr)  # fmt: skip
    assert "Kubernetes' default, 0" in got.stderr
    assert "help: map it in the model's `manifest` section" in got.stderr


def test_scaling_policies_other_than_the_defaults_are_refused(tmp_path: Path) -> None:
    text = PHP_KUBECTL.read_text(encoding="utf-8").replace(
        "{type: Pods, value: 4, periodSeconds: 15}", "{type: Pods, value: 1, periodSeconds: 60}"
    )
    got = run("verify", HPA, "--manifest", write(tmp_path, text))
    assert got.exit_code == 2
    assert "does not map `spec.behavior.scaleUp.policies`" in got.stderr
    # the same policies in another order are the defaults still
    lines = (
        PHP_KUBECTL.read_text(encoding="utf-8")
        .replace("stabilizationWindowSeconds: 300", "stabilizationWindowSeconds: 45")  # 3 syncs
        .splitlines()
    )
    i = next(i for i, x in enumerate(lines) if "type: Pods" in x)
    lines[i], lines[i + 1] = lines[i + 1], lines[i]
    swapped = run("verify", HPA, "--manifest", write(tmp_path, "\n".join(lines), "s.yaml"), "-q")
    assert swapped.exit_code == 0, swapped.stderr


def test_a_part_the_model_maps_nothing_of_is_not_reported(tmp_path: Path) -> None:
    """hpa.kdsl reads its Deployment's replicas only: the Deployment's rollout strategy is no
    part of what it checks."""
    text = PHP.read_text(encoding="utf-8").replace(
        "      replicas: 2\n",
        "      replicas: 2\n      strategy:\n        rollingUpdate: {maxSurge: 50%}\n",
    )
    got = run("verify", HPA, "--manifest", write(tmp_path, text), "-q")
    assert got.exit_code == 0, got.stderr
    assert "KC0610" not in got.stderr


def test_preferred_affinity_is_refused_for_a_model_of_placement(tmp_path: Path) -> None:
    text = PODS.read_text(encoding="utf-8").replace(
        "          requiredDuringSchedulingIgnoredDuringExecution:\n",
        "          preferredDuringSchedulingIgnoredDuringExecution:\n"
        "            - weight: 1\n"
        "              preference:\n"
        "                matchExpressions:\n"
        "                  - {key: disktype, operator: In, values: [ssd]}\n"
        "          requiredDuringSchedulingIgnoredDuringExecution:\n",
    )
    got = plugins(str(NODES), write(tmp_path, text), str(SPREAD))
    assert got.exit_code == 2
    assert "does not map `spec.affinity.nodeAffinity.preferredDuringScheduling" in got.stderr
    assert "no model can map it" in got.stderr
    assert "Pod `batch-7xk2m`" in got.stderr


def test_a_node_selector_on_a_label_the_model_does_not_read_is_refused(tmp_path: Path) -> None:
    text = PODS.read_text(encoding="utf-8").replace(
        "nodeSelector: {disktype: ssd}", "nodeSelector: {disktype: ssd, gpu: a100}"
    )
    got = plugins(str(NODES), write(tmp_path, text), str(SPREAD))
    assert got.exit_code == 2
    assert "does not map `spec.nodeSelector.gpu` (a100 here)" in got.stderr
    # and one on the template of the Deployment whose spread the model reads
    spread = SPREAD.read_text(encoding="utf-8").replace(
        "      topologySpreadConstraints:", "      nodeSelector: {gpu: a100}\n"
        "      topologySpreadConstraints:"
    )  # fmt: skip
    got = plugins(str(NODES), str(PODS), write(tmp_path, spread, "s.yaml"))
    assert got.exit_code == 2
    assert "does not map `spec.template.spec.nodeSelector.gpu`" in got.stderr


def test_a_request_left_out_is_the_containers_limit(tmp_path: Path) -> None:
    """The apiserver defaults a container's request to its limit: a pod that sets only limits
    requests them, so it does not fit where the same pod requesting nothing would."""
    text = PODS.read_text(encoding="utf-8")
    limits = text.replace('requests: {cpu: "2", memory: 2Gi}', 'limits: {cpu: "2", memory: 2Gi}')
    assert limits != text
    as_limits = plugins(str(NODES), write(tmp_path, limits), str(SPREAD))
    as_requests = plugins(str(NODES), str(PODS), str(SPREAD))
    assert as_limits.exit_code == as_requests.exit_code
    assert stats(as_limits) == stats(as_requests)
    nothing = text.replace('requests: {cpu: "2", memory: 2Gi}', "{}")
    by_nothing = plugins(str(NODES), write(tmp_path, nothing, "n.yaml"), str(SPREAD))
    # without the limit the request is 0, outside the model's 1..4: the limit did count
    assert by_nothing.exit_code == 2
    assert "0 is outside the model's 1..4 for `cpu`" in by_nothing.stderr


def test_node_affinity_other_than_in_is_refused(tmp_path: Path) -> None:
    text = PODS.read_text(encoding="utf-8")
    not_in = text.replace("operator: In, values: [zone-b]", "operator: NotIn, values: [zone-a]")
    got = plugins(str(NODES), write(tmp_path, not_in), str(SPREAD))
    assert got.exit_code == 2
    assert "error[KC0606]: node affinity operator `NotIn`" in got.stderr
    two = text.replace(
        "                  - {key: topology.kubernetes.io/zone, operator: In, values: [zone-b]}\n",
        "                  - {key: topology.kubernetes.io/zone, operator: In, values: [zone-b]}\n"
        "                  - {key: disktype, operator: In, values: [ssd]}\n",
    )
    got = plugins(str(NODES), write(tmp_path, two, "t.yaml"), str(SPREAD))
    assert got.exit_code == 2
    assert "a node selector term with 2 match expressions" in got.stderr


def test_a_soft_spread_constraint_is_refused(tmp_path: Path) -> None:
    """scheduler_plugins' spread is the scheduler's filter: a ScheduleAnyway constraint (a
    score only) read as one would check a promise the cluster does not make."""
    for name, source in (("pods.yaml", PODS), ("web.yaml", SPREAD)):
        soft = write(tmp_path, source.read_text(encoding="utf-8").replace(
            "whenUnsatisfiable: DoNotSchedule", "whenUnsatisfiable: ScheduleAnyway", 1), name)  # fmt: skip
        files = [str(NODES), soft, str(SPREAD)] if source is PODS else [str(NODES), str(PODS), soft]
        got = plugins(*files)
        assert got.exit_code == 2
        assert re.search(rf"{name}:\d+:30: error\[KC0606\]: a topology spread constraint with "
                         r"`whenUnsatisfiable: ScheduleAnyway`", got.stderr)  # fmt: skip


def test_a_toleration_the_model_matches_by_effect_only_is_checked_against_kubernetes(
    tmp_path: Path,
) -> None:
    """scheduler_plugins compares taint and toleration effects. b2's taint `gpu=a100:NoExecute`
    has the effect of the batch pod's `dedicated=batch:NoExecute` toleration, which Kubernetes
    does not let tolerate it (another key): the model would bind the pod where the cluster
    will not."""
    nodes = NODES.read_text(encoding="utf-8")
    other = nodes.replace(
        "        - key: dedicated\n          value: batch\n          effect: NoExecute",
        "        - key: gpu\n          value: a100\n          effect: NoExecute",
    )
    assert other != nodes
    got = plugins(write(tmp_path, other, "nodes.yaml"), str(PODS), str(SPREAD))
    assert got.exit_code == 2
    assert ("error[KC0610]: Pod `batch-7xk2m`: the model, reading tolerations and taints by "
            "their effect only, takes it to tolerate taint `gpu=a100:NoExecute` of Node `b2`, "
            "and Kubernetes does not") in got.stderr  # fmt: skip
    # a toleration of any key (operator Exists, no key) is what the model reads: no error
    pods = PODS.read_text(encoding="utf-8").replace(
        "{key: dedicated, operator: Equal, value: batch, effect: NoExecute}",
        "{operator: Exists, effect: NoExecute}",
    )
    ok = plugins(write(tmp_path, other, "nodes.yaml"), write(tmp_path, pods, "p.yaml"),
                 str(SPREAD))  # fmt: skip
    assert ok.exit_code in (0, 1), ok.stderr
    assert "KC0610" not in ok.stderr
