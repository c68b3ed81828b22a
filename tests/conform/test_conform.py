"""`kcheck conform` on recorded logs: kcheck run's own (recorded with --driver sim and with
--driver docker on a real engine), `kubectl get events -o json` and audit logs through a
mapping; each conforming log conforms, each anomaly is reported at its entry, bad input is
located, and a bound hit is inconclusive."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kcheck.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
REPLICASET = str(ROOT / "models" / "replicaset.kdsl")
FIXTURES = ROOT / "tests" / "fixtures" / "conform"
MAPPING = str(FIXTURES / "replicaset_mapping.toml")


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, ["conform", *args])
    assert "Traceback" not in result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"the CLI raised {result.exception!r}") from result.exception
    return result


def verdict(*args: str) -> dict[str, object]:
    r = run(*args, "--output-format", "json")
    out: dict[str, object] = json.loads(r.output)
    out["exit"] = r.exit_code
    return out


@pytest.mark.parametrize("log", ["replicaset_sim.jsonl", "replicaset_docker.jsonl"])
def test_recorded_runs_conform(log: str) -> None:
    out = verdict(REPLICASET, str(FIXTURES / log))
    assert (out["exit"], out["verdict"]) == (0, "conforms")
    assert out["matched"] == out["entries"] == 23  # 22 steps and the run's end


def test_a_pod_created_beyond_replicas_is_reported_at_its_line() -> None:
    log = str(FIXTURES / "replicaset_docker_extra_pod.jsonl")
    out = verdict(REPLICASET, log)
    assert (out["exit"], out["verdict"]) == (1, "does not conform")
    assert out["failed_at"] == {
        "line": 6,
        "entry": "step 5: Created Pod#2 (replicaset): created {owner=ReplicaSet#0,"
        " phase=Pending, predates_scale=false}",
    }
    assert out["matched"] == 4 and out["possible_before"] == 1
    before = out["states_before"]
    assert isinstance(before, list)
    assert before[0]["Pod"] == {
        "Pod#0": {"owner": "ReplicaSet#0", "phase": "Running", "predates_scale": False},
        "Pod#1": {"owner": "ReplicaSet#0", "phase": "Running", "predates_scale": False},
    }
    text = run(REPLICASET, log).output
    assert "no behaviour of the model explains line 6" in text
    assert "matched: 4 of 24 entries (lines 2-5)" in text


def test_a_log_cut_before_the_runs_end_does_not_conform(tmp_path: Path) -> None:
    """The last event says the run took 22 steps: a log that shows 21 is missing one."""
    lines = (FIXTURES / "replicaset_sim.jsonl").read_text(encoding="utf-8").splitlines()
    log = tmp_path / "cut.jsonl"
    log.write_text("\n".join([*lines[:-2], lines[-1]]) + "\n", encoding="utf-8")
    out = verdict(REPLICASET, str(log))
    assert (out["exit"], out["failed_at"]) == (
        1,
        {"line": 25, "entry": "the end of the run, after step 22"},
    )
    # without the end marker (a run that was killed) the steps shown are a behaviour
    log.write_text("\n".join(lines[:-2]) + "\n", encoding="utf-8")
    assert verdict(REPLICASET, str(log))["verdict"] == "conforms"


@pytest.mark.parametrize("model", ["replicaset_stale_cache", "scheduler", "deployment_crash_safe"])
def test_sim_run_logs_conform_with_their_silent_steps(model: str, tmp_path: Path) -> None:
    path = str(ROOT / "models" / f"{model}.kdsl")
    log = str(tmp_path / "run.jsonl")
    r = CliRunner().invoke(main, ["run", path, "--seed", "2", "--log-json", log, "-q"])
    assert r.exit_code == 0, r.output
    assert verdict(path, log)["verdict"] == "conforms"


def test_a_step_the_log_skips_must_be_silent(tmp_path: Path) -> None:
    """replicaset.kdsl has no silent action: a step number skipped cannot be filled."""
    lines = (FIXTURES / "replicaset_sim.jsonl").read_text(encoding="utf-8").splitlines()
    edited = [json.loads(x) for x in lines]
    for e in edited[2:]:
        e["step"] += 1
    log = tmp_path / "skip.jsonl"
    log.write_text("\n".join(json.dumps(e) for e in edited) + "\n", encoding="utf-8")
    out = verdict(REPLICASET, str(log))
    assert (out["exit"], out["failed_at"]) == (1, {"line": 3, "entry": out["failed_at"]["entry"]})  # type: ignore[index]
    out = verdict(REPLICASET, str(log), "--max-gap", "0")
    assert (out["exit"], out["verdict"]) == (3, "inconclusive")
    assert "--max-gap is 0" in str(out["reason"])


def test_kubernetes_events_through_the_mapping() -> None:
    good = verdict(REPLICASET, str(FIXTURES / "k8s_events.json"), "--format", "k8s-events",
                   "--mapping", MAPPING)  # fmt: skip
    assert (good["exit"], good["matched"]) == (0, 5)
    assert good["skipped"] == {
        "ignored: Killing": 1,
        "no mapping: Pulled": 1,
        "no mapping: Scheduled": 2,
    }
    # the --watch form; a scale-up nobody logged explains a third pod, not a fourth
    bad = verdict(REPLICASET, str(FIXTURES / "k8s_events_too_many_creates.json"),
                  "--format", "k8s-events", "--mapping", MAPPING)  # fmt: skip
    assert (bad["exit"], bad["matched"]) == (1, 3)
    assert bad["failed_at"] == {
        "line": 73,
        "entry": "SuccessfulCreate ReplicaSet/web: Created pod: web-z2c6w",
    }
    tight = verdict(REPLICASET, str(FIXTURES / "k8s_events_too_many_creates.json"),
                    "--format", "k8s-events", "--mapping", MAPPING, "--max-states", "1")  # fmt: skip
    assert (tight["exit"], tight["verdict"]) == (3, "inconclusive")


def test_audit_logs_through_the_mapping() -> None:
    good = verdict(REPLICASET, str(FIXTURES / "audit.jsonl"), "--format", "audit",
                   "--mapping", MAPPING)  # fmt: skip
    # a request still in flight and a refused one change nothing
    assert (good["exit"], good["matched"], good["skipped"]) == (0, 6, {"no mapping: watch pods": 1})
    bad = verdict(REPLICASET, str(FIXTURES / "audit_delete_without_cause.jsonl"),
                  "--format", "audit", "--mapping", MAPPING)  # fmt: skip
    assert (bad["exit"], bad["failed_at"]) == (1, {"line": 4, "entry": "delete pods web-7xk2p"})


STATE = str(FIXTURES / "replicaset_state_mapping.toml")


def test_observed_state_changes_on_matched_objects_conform() -> None:
    out = verdict(REPLICASET, str(FIXTURES / "audit_state.jsonl"), "--format", "audit",
                  "--mapping", STATE)  # fmt: skip
    assert (out["exit"], out["verdict"], out["matched"]) == (0, "conforms", 6)


@pytest.mark.parametrize(
    ("log", "line", "entry"),
    [
        # web-7xk2p's status patched to Running twice: the second is no step on web-7xk2p
        ("audit_state_same_pod_twice.jsonl", 4, "patch pods/status web-7xk2p"),
        # a scale whose response keeps 2 replicas: no scale of the model leaves it at 2
        ("audit_state_scale_to_same.jsonl", 5, "patch replicasets/scale web"),
    ],
)
def test_an_entry_on_another_object_or_with_another_state_does_not_conform(
    log: str, line: int, entry: str
) -> None:
    out = verdict(REPLICASET, str(FIXTURES / log), "--format", "audit", "--mapping", STATE)
    assert (out["exit"], out["failed_at"]) == (1, {"line": line, "entry": entry})
    # mapped to actions alone, a step on the other pod (or any scale) explains it
    blind = verdict(REPLICASET, str(FIXTURES / log), "--format", "audit", "--mapping", MAPPING)
    assert (blind["exit"], blind["verdict"]) == (0, "conforms")


def test_a_state_path_the_entry_lacks_is_located(tmp_path: Path) -> None:
    # the level-Metadata log has no responseObject: the mapping cannot read the state
    r = run(REPLICASET, str(FIXTURES / "audit.jsonl"), "--format", "audit", "--mapping", STATE)
    assert r.exit_code == 2
    assert "audit.jsonl:2:1: error: the entry has no responseObject.status.phase" in r.output
    assert "level RequestResponse" in r.output


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ('[[audit]]\nverb = "create"\nactions = ["kubelet"]\nobject = "Pdo"\n',
         "4:1: error: the model has no kind 'Pdo'"),
        ('[[audit]]\nverb = "create"\nactions = ["kubelet"]\nstate = { phase = "x" }\n',
         "1:1: error: [[audit]] has state but no object"),
        ('[[audit]]\nverb = "create"\nactions = ["kubelet"]\nobject = "Pod"\n'
         'state = { phaze = "x" }\n', "5:1: error: kind Pod has no field 'phaze'"),
        ('[[audit]]\nverb = "create"\nactions = ["kubelet"]\nobject = "Pod"\n'
         'state = { phase = 1 }\n', "5:1: error: state must map fields to paths"),
    ],
)  # fmt: skip
def test_a_bad_object_or_state_mapping_is_located(
    mapping: str, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "m.toml"
    path.write_text(mapping, encoding="utf-8")
    r = run(REPLICASET, str(FIXTURES / "audit_state.jsonl"), "--format", "audit",
            "--mapping", str(path))  # fmt: skip
    assert r.exit_code == 2
    assert message in r.output, r.output


WATCH = str(FIXTURES / "watch_mapping.toml")


def test_a_watch_of_pods_is_checked_object_by_object() -> None:
    good = verdict(REPLICASET, str(FIXTURES / "watch_pods.json"), "--format", "watch",
                   "--mapping", WATCH)  # fmt: skip
    # the pod IP update changes nothing the model has: explained without a step
    assert (good["exit"], good["verdict"], good["matched"]) == (0, "conforms", 6)
    bad = verdict(REPLICASET, str(FIXTURES / "watch_pods_phase_goes_back.json"), "--format",
                  "watch", "--mapping", WATCH)  # fmt: skip
    assert (bad["exit"], bad["failed_at"]) == (1, {"line": 178, "entry": "MODIFIED Pod/web-q9m4d"})


def test_a_watch_without_event_types_reads_first_sightings_as_added(tmp_path: Path) -> None:
    # `kubectl get pods --watch -o json` without --output-watch-events: bare objects
    docs = json.loads("[" + (FIXTURES / "watch_pods.json").read_text().replace("}\n{", "},{") + "]")
    plain = tmp_path / "plain.json"
    plain.write_text("\n".join(json.dumps(d["object"], indent=4) for d in docs[:-1]) + "\n")
    out = verdict(REPLICASET, str(plain), "--format", "watch", "--mapping", WATCH)
    assert (out["exit"], out["verdict"], out["matched"]) == (0, "conforms", 5)
    (tmp_path / "not.json").write_text('{"type": "ADDED"}\n')
    r = run(REPLICASET, str(tmp_path / "not.json"), "--format", "watch", "--mapping", WATCH)
    assert r.exit_code == 2 and "not.json:1:1: error: not a Kubernetes object" in r.output


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"time": 0.1, "step": 1, "type": "Normal"', "3:42: error: not JSON"),
        ('{"time": 0.1, "step": 1}', "3:1: error: the event has no 'type'"),
        ('{"time": 0.1, "step": "x", "type": "Normal", "reason": "A", "from": "a",'
         ' "object": "-", "message": ""}', "3:15: error: 'step' is 'x'"),
        ('{"time": 0.1, "step": 0, "type": "Normal", "reason": "A", "from": "a",'
         ' "object": "-", "message": ""}', "3:15: error: step 0 comes after step 1"),
        ("[1, 2]", "3:1: error: a JSON list, not an object"),
    ],
)  # fmt: skip
def test_a_malformed_line_is_located(line: str, message: str, tmp_path: Path) -> None:
    head = (FIXTURES / "replicaset_sim.jsonl").read_text(encoding="utf-8").splitlines()[:2]
    log = tmp_path / "bad.jsonl"
    log.write_text("\n".join([*head, line]) + "\n", encoding="utf-8")
    r = run(REPLICASET, str(log))
    assert r.exit_code == 2
    assert f"{log}:{message}" in r.output
    assert "^" in r.output and "help:" in r.output


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ('[[event]]\nreason = "X"\nactions = ["replicaset.scale_upp"]\n',
         "3:1: error: the model has no action or actor 'replicaset.scale_upp'"),
        ('[[event]]\nreason = "X"\nverb = "get"\nactions = ["kubelet"]\n',
         "1:1: error: [[event]] has no key 'verb'"),
        ('[[event]]\nreason = "X"\n', "1:1: error: [[event]] needs actions or ignore = true"),
        ('[[events]]\nreason = "X"\n', "1:1: error: unknown table [[events]]"),
        ('[[event]\nreason = "X"\n', "error: not TOML"),
    ],
)  # fmt: skip
def test_a_bad_mapping_is_located(mapping: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text(mapping, encoding="utf-8")
    r = run(REPLICASET, str(FIXTURES / "k8s_events.json"), "--format", "k8s-events",
            "--mapping", str(path))  # fmt: skip
    assert r.exit_code == 2
    assert message in r.output


def test_usage_errors(tmp_path: Path) -> None:
    events = str(FIXTURES / "k8s_events.json")
    assert "needs --mapping" in run(REPLICASET, events, "--format", "k8s-events").output
    r = run(REPLICASET, str(FIXTURES / "replicaset_sim.jsonl"), "--mapping", MAPPING)
    assert r.exit_code == 2 and "a kcheck run log needs none" in r.output
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    r = run(REPLICASET, str(tmp_path / "empty.jsonl"))
    assert r.exit_code == 2 and "empty.jsonl:1:1: error: the log is empty" in r.output
    r = run(REPLICASET, str(tmp_path / "missing.jsonl"))
    assert r.exit_code == 2 and "cannot read" in r.output
    r = run(REPLICASET, str(FIXTURES / "audit.jsonl"), "--format", "k8s-events", "--mapping",
            MAPPING)  # fmt: skip
    assert r.exit_code == 2 and "this looks like an audit log: --format audit" in r.output
