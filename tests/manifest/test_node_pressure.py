"""models/node_pressure_eviction.kdsl reads a Node's allocatable and its pods' requests and limits
(spec/manifests.md §6): examples/manifests/qos-node.yaml is the model's own instance, end to end
through `kcheck verify --manifest`; a limit changed in the manifest is the model with that limit
(and web's limit of 4Gi makes the limits overcommit the node); a pod the one-container model does
not describe is refused at the field (KC0610). Also the reader: a pod's limit is 0 (no limit)
unless every container sets one, and spec.priority is read, a PriorityClass name alone refused."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kcheck.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "node_pressure_eviction.kdsl"
VARIANT = ROOT / "models" / "node_pressure_eviction_ranks_by_qos.kdsl"
EXAMPLE = ROOT / "examples" / "manifests" / "qos-node.yaml"
WEB_LIMIT = "limits: {memory: 3Gi}"  # in the example
WEB_INIT = "create Pod { mem_req: 1, mem_lim: 3, cpu_req: 250 }  // web"  # in the model


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output + result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"the CLI raised {result.exception!r}") from result.exception
    return result


def verify(model: Path, *manifests: Path | str) -> Result:
    args = [a for m in manifests for a in ("--manifest", str(m))]
    return run("verify", str(model), *args, "-q", "--format", "json")


def outcome(result: Result) -> tuple[object, ...]:
    doc = json.loads(result.stdout)
    props = tuple((p["name"], p["status"], len(p.get("trace") or ())) for p in doc["properties"])
    return (
        result.exit_code,
        doc["verdict"],
        doc["stats"]["states"],
        doc["stats"]["transitions"],
        props,
    )


def failed(result: Result) -> dict[str, int]:
    """The violated properties and their counterexamples' steps (the trace's first entry is
    the initial state)."""
    doc = json.loads(result.stdout)
    return {p["name"]: len(p["trace"]) - 1 for p in doc["properties"] if p["status"] == "violated"}


def write(tmp_path: Path, text: str, name: str = "m.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_is_the_models_instance_and_holds() -> None:
    got = verify(MODEL, EXAMPLE)
    assert got.exit_code == 0, got.stderr
    assert "from the manifests: 1 Node objects, 3 Pod objects" in got.stderr
    assert "KC06" not in got.stderr  # every object read, nothing refused
    assert outcome(got) == outcome(verify(MODEL))
    assert json.loads(got.stdout)["complete"] is True


def test_the_qos_ranking_variant_fails_on_the_example() -> None:
    got = verify(VARIANT, EXAMPLE)
    assert got.exit_code == 1
    assert failed(got) == {"worst_offender_evicted_first": 12}
    assert outcome(got) == outcome(verify(VARIANT))


def test_a_limit_beyond_what_the_node_can_give_makes_the_overcommit_reachable(
    tmp_path: Path,
) -> None:
    """web's limit 4Gi beside db's 1Gi is more than the node's 4 GiB: web alone can press the
    node. The manifest's limit is the model with that limit written in its init."""
    text = EXAMPLE.read_text(encoding="utf-8")
    assert WEB_LIMIT in text
    bigger = write(tmp_path, text.replace(WEB_LIMIT, "limits: {memory: 4Gi}"))
    got = verify(MODEL, bigger)
    assert got.exit_code == 1
    assert failed(got) == {"limits_do_not_overcommit": 9}
    source = MODEL.read_text(encoding="utf-8")
    assert WEB_INIT in source
    hand = write(tmp_path, source.replace(WEB_INIT, WEB_INIT.replace("mem_lim: 3", "mem_lim: 4")),
                 "hand.kdsl")  # fmt: skip
    assert outcome(got) == outcome(verify(hand))
    # and a limit equal to the request (web still Burstable through its cpu) keeps it holding
    tight = write(tmp_path, text.replace(WEB_LIMIT, "limits: {memory: 1Gi}"), "tight.yaml")
    assert verify(MODEL, tight).exit_code == 0


def test_a_limit_outside_the_models_range_names_the_bound(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    huge = write(tmp_path, text.replace(WEB_LIMIT, "limits: {memory: 16Gi}"))
    got = run("verify", str(MODEL), "--manifest", str(huge))
    assert got.exit_code == 2
    line = text[: text.index(WEB_LIMIT)].count("\n") + 1
    assert f"m.yaml:{line}:" in got.stderr
    assert "error[KC0606]: Pod `web`: 16Gi (16 here) is outside the model's 0..8 for `mem_lim`" in (
        got.stderr
    )


def test_a_limit_not_whole_in_gib_is_refused_with_a_hint(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    half = write(tmp_path, text.replace(WEB_LIMIT, "limits: {memory: 1536Mi}"))
    got = run("verify", str(MODEL), "--manifest", str(half))
    assert got.exit_code == 2
    assert "error[KC0606]: 1536Mi is 1.5 Gi, not a whole number" in got.stderr


PODS_FROM_KUBECTL = """\
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Node
    metadata: {name: worker-1}
    status:
      allocatable: {cpu: "2", memory: 4Gi}
  - apiVersion: v1
    kind: Pod
    metadata: {name: db}
    spec:
      nodeName: worker-1
      priority: 0
      containers:
        - name: db
          resources:
            limits: {cpu: 500m, memory: 1Gi}
    status: {phase: Running}
  - apiVersion: v1
    kind: Pod
    metadata: {name: web}
    spec:
      nodeName: worker-1
      priorityClassName: high
      priority: 1000
      containers:
        - name: web
          resources:
            requests: {cpu: 250m, memory: 1Gi}
            limits: {memory: 3Gi}
    status: {phase: Running}
"""


def test_bound_running_pods_and_their_priority_are_read(tmp_path: Path) -> None:
    """Pods as `kubectl get pods -o yaml` prints them: bound, Running, priority resolved by
    admission. db sets only limits, so its requests are its limits: Guaranteed. The same
    cluster written in the model's init gives the same states."""
    got = verify(MODEL, write(tmp_path, PODS_FROM_KUBECTL))
    assert "KC06" not in got.stderr
    source = MODEL.read_text(encoding="utf-8")
    init = source[source.index("init {") : source.index("\n}\n", source.index("init {")) + 3]
    hand_init = (
        "init {\n  let n = create Node { mem: 4, cpu: 2000 }\n"
        "  create Pod { mem_req: 1, mem_lim: 1, cpu_req: 500, cpu_lim: 500, node: n, "
        "phase: Running }\n"
        "  create Pod { mem_req: 1, mem_lim: 3, cpu_req: 250, priority: 1000, node: n, "
        "phase: Running }\n}\n"
    )
    hand = write(tmp_path, source.replace(init, hand_init), "hand.kdsl")
    assert outcome(got) == outcome(verify(hand))
    assert outcome(got) != outcome(verify(MODEL))


def test_a_priority_class_without_the_resolved_priority_is_refused(tmp_path: Path) -> None:
    text = PODS_FROM_KUBECTL.replace("      priority: 1000\n", "")
    got = run("verify", str(MODEL), "--manifest", str(write(tmp_path, text)))
    assert got.exit_code == 2
    line = text[: text.index("priorityClassName")].count("\n") + 1
    assert f"m.yaml:{line}:26: error[KC0606]: Pod `web` names priorityClassName `high` but " in (
        got.stderr
    )
    assert "kcheck reads no PriorityClass" in got.stderr
    assert "with spec.priority" in got.stderr


# (text in the example's web pod, its replacement, the path refused)
REFUSED = [
    ("    - name: web\n      image: nginx:1.27\n",
     "    - name: web\n      image: nginx:1.27\n      resources: {limits: {memory: 1Gi}}\n"
     "    - name: sidecar\n      image: envoy:v1.31\n", "spec.containers"),
    ("  containers:\n    - name: web\n",
     "  initContainers:\n    - name: migrate\n      image: busybox:1.36\n"
     "  containers:\n    - name: web\n", "spec.initContainers"),
    ("  containers:\n    - name: web\n",
     "  overhead: {memory: 120Mi}\n  containers:\n    - name: web\n", "spec.overhead"),
    ("  containers:\n    - name: web\n",
     "  resources: {limits: {memory: 2Gi}}\n  containers:\n    - name: web\n", "spec.resources"),
    ("  containers:\n    - name: web\n",
     "  restartPolicy: Never\n  containers:\n    - name: web\n", "spec.restartPolicy"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "path"), REFUSED, ids=[r[2] for r in REFUSED])
def test_what_the_one_container_model_does_not_describe_is_refused_at_the_field(
    old: str, new: str, path: str, tmp_path: Path
) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert old in text
    changed = text.replace(old, new, 1)
    got = run("verify", str(MODEL), "--manifest", str(write(tmp_path, changed)))
    assert got.exit_code == 2
    assert f"error[KC0610]: the model does not map `{path}` of Pod `web`" in got.stderr
    # located in the web pod's document (between its name and the next pod's), with a caret
    first = changed[: changed.index("name: web")].count("\n") + 1
    last = changed[: changed.index("name: batch")].count("\n") + 1
    located = [int(n) for n in re.findall(r"m\.yaml:(\d+):\d+: error\[KC0610\]", got.stderr)]
    assert located and all(first < n < last for n in located), (located, first, last)
    assert "^" in got.stderr


def test_restart_policy_always_written_out_is_the_default(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    always = text.replace("  containers:\n    - name: web\n",
                          "  restartPolicy: Always\n  containers:\n    - name: web\n", 1)  # fmt: skip
    got = verify(MODEL, write(tmp_path, always))
    assert "KC0610" not in got.stderr
    assert outcome(got) == outcome(verify(MODEL))


LIMIT_MODEL = """\
model m
const LIM = 7
kind K[1] { x: 0..1 = 0 }
process p { action a for k in K where k.x == 0 { k.x := 1 } }
invariant ok: LIM >= 0
manifest {
  Pod {
    LIM = spec.containers.resources.limits.cpu in m
  }
}
"""


@pytest.mark.parametrize(
    ("containers", "expected"),
    [
        ("[{name: a, resources: {limits: {cpu: 500m}}}, {name: b, resources: {limits: {cpu: 1}}}]",
         "LIM = 1500"),
        ("[{name: a, resources: {limits: {cpu: 500m}}}, {name: b}]", "LIM = 0"),
        ("[{name: a, resources: {limits: {cpu: 500m}}}, {name: b, resources: {limits: {cpu: 0}}}]",
         "LIM = 0"),
        ("[{name: a, resources: {requests: {cpu: 500m}}}]", "LIM = 0 (Pod default)"),
    ],
)  # fmt: skip
def test_a_pods_limit_is_none_unless_every_container_sets_one(
    containers: str, expected: str, tmp_path: Path
) -> None:
    """GetPodQOS and the pod's cgroup: a container without a limit (or a zero one) leaves the
    pod without one, read as 0; every container's limit is the sum."""
    model = write(tmp_path, LIMIT_MODEL, "m.kdsl")
    pod = write(tmp_path, f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\n"
                f"spec:\n  containers: {containers}\n")  # fmt: skip
    got = run("verify", str(model), "--manifest", str(pod), "-q")
    assert got.exit_code == 0, got.stderr
    assert f"from the manifests: {expected}" in got.stderr


def test_a_ranking_that_evicts_the_smallest_offender_first_is_caught(tmp_path: Path) -> None:
    """The eviction properties are not facts of the model's shape: the same model ranking by
    the least usage above requests evicts db, within its requests, while web exceeds its own."""
    source = MODEL.read_text(encoding="utf-8")
    start, end = source.index("def ranks_before"), source.index("def first_victim")
    mutant = source[:start] + "def ranks_before(q: Pod, p: Pod): bool = above(q) < above(p)\n\n"
    got = verify(write(tmp_path, mutant + source[end:], "mutant.kdsl"))
    assert got.exit_code == 1
    assert {"guaranteed_not_evicted_first", "within_requests_not_evicted_first"} <= set(failed(got))
