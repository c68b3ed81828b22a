"""The leader-election models read their Lease, the pod-readiness models their Deployment
(spec/manifests.md §6). Each example manifest says what the model's defaults say, so the verdict
and the state count are the defaults'; a manifest that says something else changes the instance
as the same `-D` does; what the model does not describe is refused at the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.manifest.test_more_models import EX, ROOT, outcome, run, verify

LEASE = EX / "controller-manager-lease.yaml"
WEB = EX / "web-with-sidecar.yaml"

# model, its example, (a change to the example's text, the -D that says the same)
CASES = [
    # 20 s is 6 ticks of 3 s and 6 is 6: a margin of 2 over the skew, and one leader
    ("leader_election_clock_skew", LEASE, ("leaseDurationSeconds: 15", "leaseDurationSeconds: 20"),
     ["LEASE=6"]),
    ("leader_election_renew_margin", LEASE,
     ("leaseDurationSeconds: 15", "leaseDurationSeconds: 18"), ["LEASE=6"]),
    ("pod_readiness", WEB, ("replicas: 2", "replicas: 1"), ["PODS=1"]),
    ("pod_readiness_keeps_ready_after_crash", WEB, ("replicas: 2", "replicas: 1"), ["PODS=1"]),
]  # fmt: skip


@pytest.mark.parametrize(("model", "example", "change", "defines"), CASES)
def test_the_example_manifest_is_the_models_default_instance(
    model: str, example: Path, change: tuple[str, str], defines: list[str], tmp_path: Path
) -> None:
    by_manifest = verify(model, "--manifest", str(example))
    assert "from the manifests: " in by_manifest.stderr
    assert "KC06" not in by_manifest.stderr  # no warning: every object is read
    assert outcome(by_manifest) == outcome(verify(model))
    text = example.read_text(encoding="utf-8")
    assert change[0] in text
    changed = tmp_path / example.name
    changed.write_text(text.replace(change[0], change[1]), encoding="utf-8")
    other = verify(model, "--manifest", str(changed))
    assert outcome(other) == outcome(verify(model, *(a for d in defines for a in ("-D", d))))
    assert outcome(other) != outcome(verify(model))  # the manifest's value was used


def test_the_clock_skew_bug_is_found_from_the_default_lease_and_gone_with_a_longer_one(
    tmp_path: Path,
) -> None:
    got = verify("leader_election_clock_skew", "--manifest", str(LEASE))
    assert got.exit_code == 1
    assert "LEASE = 5 (" in got.stderr and "controller-manager-lease.yaml:" in got.stderr
    longer = tmp_path / "lease.yaml"
    text = LEASE.read_text(encoding="utf-8")
    longer.write_text(text.replace("Seconds: 15", "Seconds: 20"), encoding="utf-8")
    assert verify("leader_election_clock_skew", "--manifest", str(longer)).exit_code == 0


@pytest.mark.parametrize(("seconds", "ticks"), [(15, 5), (16, 5), (17, 5), (18, 6), (3, 1)])
def test_a_lease_duration_rounds_down_to_ticks(seconds: int, ticks: int, tmp_path: Path) -> None:
    # down: a shorter lease lets the other candidate take over sooner, never later
    lease = tmp_path / "lease.yaml"
    text = LEASE.read_text(encoding="utf-8")
    lease.write_text(text.replace("Seconds: 15", f"Seconds: {seconds}"), encoding="utf-8")
    got = verify("leader_election_renew_margin", "--manifest", str(lease))
    assert f"LEASE = {ticks} (" in got.stderr


def test_a_lease_without_a_duration_is_a_located_error(tmp_path: Path) -> None:
    lease = tmp_path / "lease.yaml"
    text = LEASE.read_text(encoding="utf-8")
    lease.write_text(text.replace("  leaseDurationSeconds: 15\n", ""), encoding="utf-8")
    got = run("verify", str(ROOT / "models" / "leader_election_clock_skew.kdsl"),
              "--manifest", str(lease))  # fmt: skip
    assert got.exit_code == 2
    assert "sets no `spec.leaseDurationSeconds`" in got.stderr
    assert "lease.yaml:" in got.stderr and "KC0606" in got.stderr


def test_a_lease_too_short_for_the_renew_margin_is_refused_by_its_assumption(
    tmp_path: Path,
) -> None:
    # 12 s is 4 ticks: LEASE - RENEW_DEADLINE = 1 is not more than the skew
    lease = tmp_path / "lease.yaml"
    text = LEASE.read_text(encoding="utf-8")
    lease.write_text(text.replace("Seconds: 15", "Seconds: 12"), encoding="utf-8")
    got = run("verify", str(ROOT / "models" / "leader_election_renew_margin.kdsl"),
              "--manifest", str(lease))  # fmt: skip
    assert got.exit_code == 2
    assert "margin" in got.stderr


SIDECAR = """      initContainers:
        - name: wait-for-db
          image: busybox:1.36
        - name: proxy
          image: envoyproxy/envoy:v1.31
          restartPolicy: Always
"""


def test_the_containers_counted_are_the_model_array_with_native_sidecars(tmp_path: Path) -> None:
    text = WEB.read_text(encoding="utf-8")
    one_container = tmp_path / "one.yaml"
    cut = text.index("        - name: log-shipper")
    one_container.write_text(text[:cut] + "      restartPolicy: Always\n", encoding="utf-8")
    got = verify("pod_readiness", "--manifest", str(one_container))
    assert "CONTAINERS = 1 (" in got.stderr
    assert outcome(got) == outcome(verify("pod_readiness", "-D", "CONTAINERS=1"))
    # an init container that restarts Always runs beside the others: three; one that runs to
    # completion first is not counted
    sidecar = tmp_path / "sidecar.yaml"
    sidecar.write_text(text.replace("      containers:\n", SIDECAR + "      containers:\n"),
                       encoding="utf-8")  # fmt: skip
    got = verify("pod_readiness_keeps_ready_after_crash", "--manifest", str(sidecar), "-D",
                 "PODS=1")  # fmt: skip
    assert "CONTAINERS = 3 (" in got.stderr
    want = verify("pod_readiness_keeps_ready_after_crash", "-D", "PODS=1", "-D", "CONTAINERS=3")
    assert outcome(got) == outcome(want)


def test_a_template_without_containers_is_a_located_error(tmp_path: Path) -> None:
    text = WEB.read_text(encoding="utf-8")
    bad = tmp_path / "web.yaml"
    bad.write_text(text[: text.index("      containers:")] + "      containers: []\n", "utf-8")
    got = run("verify", str(ROOT / "models" / "pod_readiness.kdsl"), "--manifest", str(bad))
    assert got.exit_code == 2
    assert (
        "web.yaml:5:7: error[KC0606]: Deployment `web` has no `spec.template.spec.containers`"
        in got.stderr
    )


def test_a_lease_duration_that_is_not_seconds_is_refused_at_its_value(tmp_path: Path) -> None:
    lease = tmp_path / "lease.yaml"
    text = LEASE.read_text(encoding="utf-8")
    lease.write_text(text.replace("Seconds: 15", "Seconds: 15s"), encoding="utf-8")
    got = run("verify", str(ROOT / "models" / "leader_election_renew_margin.kdsl"),
              "--manifest", str(lease))  # fmt: skip
    assert got.exit_code == 2
    line = 1 + text.splitlines().index("  leaseDurationSeconds: 15")
    assert (
        f"lease.yaml:{line}:25: error[KC0606]: `spec.leaseDurationSeconds: 15s` is not an "
        "integer" in got.stderr
    )


def test_a_second_lease_is_refused(tmp_path: Path) -> None:
    # `kubectl get leases -A` lists every lock: the model is about one election
    leases = tmp_path / "leases.yaml"
    text = LEASE.read_text(encoding="utf-8")
    leases.write_text(text + "---\n" + text.replace("kube-controller-manager", "kube-scheduler"),
                      encoding="utf-8")  # fmt: skip
    got = run("verify", str(ROOT / "models" / "leader_election_clock_skew.kdsl"),
              "--manifest", str(leases))  # fmt: skip
    assert got.exit_code == 2
    assert "error[KC0608]: a second Lease (`kube-scheduler`): the model describes one" in got.stderr
