"""The Docker binding: exactly the model's docker block, defaults by kind and field names only
without one, the side file, controller-internal (`@`) state never bound, and the rules named
in conformance messages. No engine needed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from kcheck.lang.frontend import load
from kcheck.lang.types import TEnum, TInt
from kcheck.model.compile import compile_model
from kcheck.model.ir import FieldLayout, Layout
from kcheck.run.binding import Binding, BindingError, load_config, resolve

MODELS = Path(__file__).resolve().parents[2] / "models"


def layout(name: str) -> Layout:
    return compile_model(load(str(MODELS / f"{name}.kdsl")).symbols, symmetry=False).layout


def test_replicaset_binds_pods_by_phase_and_keeps_replicasets_in_the_store() -> None:
    b = resolve(layout("replicaset"))
    assert b.pod.kind.name == "Pod"
    assert b.pod.phase is not None and b.pod.phase.name == "phase"
    assert b.pod.phase_members == ("Pending", "Running", "Failed")
    assert [b.phase_class(i) for i in range(3)] == ["waiting", "running", "stopped"]
    assert b.pod.ready is None and b.pod.node is None
    assert b.node is None and b.service is None


def test_scheduler_binds_nodes_and_cpu_requests() -> None:
    b = resolve(layout("scheduler"))
    assert b.pod.node is not None and b.pod.node.name == "node"
    assert b.node is not None and b.node.ready is not None
    assert b.pod.cpu is not None and b.pod.cpu.name == "cpu"


def test_a_service_selector_matches_the_pod_field_of_its_enum() -> None:
    b = resolve(layout("run_service"))
    assert b.service is not None
    assert b.service.selector.name == "selector"
    assert b.service.pod_field.name == "app"
    assert b.pod.ready is not None
    assert [f.name for f in b.pod.labels] == ["app"]


def test_cpu_and_memory_requests_become_limits_by_field_name() -> None:
    base = layout("scheduler")
    pod = base.kind("Pod")
    mem = FieldLayout("mem", TInt(1, 4), pod.stride)
    grown = replace(pod, fields=(*pod.fields, mem), stride=pod.stride + 1)
    b = resolve(replace(base, kinds=tuple(grown if k.name == "Pod" else k for k in base.kinds)))
    assert b.pod.cpu is not None and b.pod.cpu.name == "cpu"
    assert b.pod.memory == mem
    assert resolve(base).pod.memory is None  # then every container gets memory_mb


def test_controller_internal_fields_are_never_bound() -> None:
    base = layout("run_service")
    pod = base.kind("Pod")
    cache = FieldLayout("cache@deployment.phase", TEnum("Phase"), pod.stride)
    grown = replace(pod, fields=(*pod.fields, cache), stride=pod.stride + 1)
    lay = replace(base, kinds=tuple(grown if k.name == "Pod" else k for k in base.kinds))
    b = resolve(lay)
    assert cache not in b.pod.labels
    assert b.pod.phase is not None and "@" not in b.pod.phase.name
    with pytest.raises(BindingError, match="controller-internal"):
        resolve(lay, {"pod": {"phase": "cache@deployment.phase"}})


def test_the_side_file_names_other_kinds_and_fields(tmp_path: Path) -> None:
    f = tmp_path / "binding.toml"
    f.write_text('[pod]\nimage = "my/image:1"\nmemory_mb = 64\ncommand = ["sleep", "1000"]\n')
    b = resolve(layout("replicaset"), load_config(str(f)))
    assert (b.image, b.memory_mb, b.command) == ("my/image:1", 64, ("sleep", "1000"))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"pod": {"kind": "Pods"}}, "the model has no kind `Pods`"),
        ({"pod": {"phase": "state"}}, "kind Pod has no field `state`"),
        ({"pod": {"phase": "owner"}}, "must be an enum field"),
        ({"pod": {"command": "sleep"}}, "a list of strings"),
        ({"pod": {"memory_mb": 1}}, "memory_mb: must be at least 6"),
        ({"pod": {"cpu_per_unit": "lots"}}, "cpu_per_unit: expected a number"),
        ({"pod": {"memory": "size"}}, "kind Pod has no field `size`"),
    ],
)
def test_a_binding_that_does_not_fit_is_one_clear_error(
    config: dict[str, dict[str, object]], message: str
) -> None:
    with pytest.raises(BindingError, match=message):
        resolve(layout("replicaset"), config)


def test_a_broken_binding_file_is_an_error(tmp_path: Path) -> None:
    f = tmp_path / "b.toml"
    f.write_text("[pod\n")
    with pytest.raises(BindingError, match="not valid TOML"):
        load_config(str(f))
    with pytest.raises(BindingError, match="cannot read"):
        load_config(str(tmp_path / "missing.toml"))


def test_cli_refuses_a_bad_binding_before_touching_the_engine(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kcheck.cli.main import main

    f = tmp_path / "binding.toml"
    f.write_text('[pod]\nkind = "Pods"\n')
    model = str(MODELS / "replicaset.kdsl")
    result = CliRunner().invoke(main, ["run", model, "--driver", "docker", "--binding", str(f)])
    assert result.exit_code == 2
    assert result.stderr == "kcheck: error: [pod] kind: the model has no kind `Pods`\n"


BOUND_IN_THE_MODEL = """
model bound
enum Phase { Waiting, Up, Down }
enum Tier { Front, Back }
kind Machine[2] { healthy: bool = true }
kind Worker[2] { state: Phase = Waiting  tier: Tier = Front  host: Machine? = none  ram: 1..2 = 1 }
kind Frontend[1] { wants: Tier = Front }
docker {
  pod Worker {
    phase: state,
    node: host,
    memory: ram,
    image: "kcheck/busybox:latest",
    command: ["sh", "-c", "exec sleep 3600"],
    cpu_millis_per_unit: 250,
    default_cpu_millis: 200,
    memory_per_unit_mb: 16,
  }
  node Machine { ready: healthy }
  service Frontend { selector: wants, pod_field: tier }
}
invariant ok: true
"""


def test_the_models_docker_block_binds_it_and_the_side_file_overrides_it(tmp_path: Path) -> None:
    from kcheck.lang.diagnostics import Source
    from kcheck.lang.frontend import check_source
    from kcheck.run.binding import config_from_model

    checked = check_source(Source("bound.kdsl", BOUND_IN_THE_MODEL))
    layout = compile_model(checked.symbols, symmetry=False).layout
    model = config_from_model(checked.symbols)
    b = resolve(layout, block=model)
    assert b.pod.kind.name == "Worker"
    assert b.pod.phase is not None and b.pod.phase.name == "state"
    assert b.pod.node is not None and b.pod.node.name == "host"
    assert b.pod.memory is not None and b.pod.memory.name == "ram"
    assert b.node is not None and b.node.kind.name == "Machine"
    assert b.node.ready is not None and b.node.ready.name == "healthy"
    assert b.service is not None and b.service.selector.name == "wants"
    assert b.command == ("sh", "-c", "exec sleep 3600")
    assert (b.cpu_per_unit, b.default_cpu, b.memory_per_unit_mb) == (0.25, 0.2, 16)
    side = tmp_path / "b.toml"
    side.write_text('[pod]\nimage = "other:1"\nmemory_per_unit_mb = 8\n')
    b2 = resolve(layout, load_config(str(side)), block=model)
    assert (b2.image, b2.memory_per_unit_mb, b2.command) == ("other:1", 8, b.command)


KUBERNETES_POD = """
model k8s
enum Phase { Pending, Running, Terminating }
kind Node[1] { ready: bool = true }
kind Pod[2] { phase: Phase = Pending  ready: bool = false  cpu: 1..2 = 1  node: Node? = none }
kind Service[1] { selector: Phase = Running }
BLOCK
invariant ok: true
"""


def bound(block: str, file: dict[str, object] | None = None) -> Binding:
    from kcheck.lang.diagnostics import Source
    from kcheck.lang.frontend import check_source
    from kcheck.run.binding import config_from_model

    checked = check_source(Source("k8s.kdsl", KUBERNETES_POD.replace("BLOCK", block)))
    layout = compile_model(checked.symbols, symmetry=False).layout
    return resolve(layout, file, block=config_from_model(checked.symbols), file_name="b.toml")


def test_a_docker_block_binds_exactly_what_it_lists() -> None:
    # `ready`, `cpu`, `node`, Node and Service would all bind by name; the block names none
    b = bound("docker { pod Pod { phase: phase } }")
    assert b.pod.phase is not None and b.pod.phase.name == "phase"
    assert (b.pod.ready, b.pod.cpu, b.pod.node, b.node, b.service) == (None, None, None, None, None)
    assert b.sources == {"pod.kind": "block", "pod.phase": "block"}
    full = bound("docker { pod Pod { phase: phase, ready: ready, node: node } }")
    assert full.pod.ready is not None and full.pod.node is not None
    # the node kind is the one `node` refers to; its readiness only when the block says so
    assert full.node is not None and full.node.kind.name == "Node" and full.node.ready is None
    assert full.service is None and full.pod.cpu is None


def test_without_a_block_kinds_and_fields_bind_by_name() -> None:
    b = bound("")
    assert b.pod.ready is not None and b.pod.cpu is not None and b.pod.node is not None
    assert b.node is not None and b.node.ready is not None and b.service is not None
    assert set(b.sources.values()) == {"name"}


def test_an_empty_name_in_the_binding_file_unbinds_a_field() -> None:
    assert bound("", {"pod": {"ready": ""}}).pod.ready is None
    b = bound("docker { pod Pod { phase: phase, ready: ready } }", {"pod": {"ready": ""}})
    assert b.pod.ready is None and b.pod.phase is not None


def test_a_block_without_a_pod_role_is_a_clear_error() -> None:
    with pytest.raises(BindingError, match="binds no pod kind: add `pod KIND"):
        bound("docker { node Node { ready: ready } }")


def test_terminating_is_a_phase_class_of_its_own() -> None:
    b = bound("")
    members = b.pod.phase_members
    assert [b.phase_class(i) for i in range(len(members))] == ["waiting", "running", "terminating"]


def test_the_rules_say_how_each_key_was_bound_and_how_to_change_it() -> None:
    by_name = bound("").rules(["pod.kind", "pod.phase", "pod.ready"])
    assert by_name.startswith("kind Pod, Pod.phase and Pod.ready are bound by name, as the model")
    assert "a `docker { pod Pod { ... } }` block binds exactly what it lists" in by_name
    assert 'and in a --binding file [pod] ready = "" unbinds one key' in by_name
    b = bound("docker { pod Pod { phase: phase, ready: ready } }", {"pod": {"phase": "phase"}})
    text = b.rules(["pod.kind", "pod.phase", "pod.ready"])
    assert "Pod.phase is bound by [pod] phase in b.toml" in text
    assert "kind Pod is bound by `pod Pod` in the model's docker block" in text
    assert "Pod.ready is bound by `ready:` in the model's docker block" in text


class OneRunningContainer:
    """The engine's list of the run's containers: one, running."""

    def containers(self, **_: object) -> list[dict[str, str]]:
        return [{"Id": "c0", "State": "running"}]


@pytest.mark.parametrize(
    ("phase", "ready", "seen"),
    [
        ("Running", True, "running+ready"),
        ("Running", False, "running+ready"),  # a probe step must explain it
        ("Terminating", False, "running"),
        ("Terminating", True, "running"),  # the Ready condition may stay true meanwhile
    ],
)
def test_a_running_container_reads_as_ready_unless_its_pod_is_terminating(
    phase: str, ready: bool, seen: str
) -> None:
    from kcheck.lang.diagnostics import Source
    from kcheck.lang.frontend import check_source
    from kcheck.run.docker_driver import DockerDriver, _Pod

    checked = check_source(Source("k8s.kdsl", KUBERNETES_POD.replace("BLOCK", "")))
    model = compile_model(checked.symbols, symmetry=False)
    b = resolve(model.layout)
    assert b.pod.phase is not None and b.pod.ready is not None
    s = list(model.initial()[0])
    base = b.pod.kind.slot_base(0)
    s[base] = 1
    s[base + b.pod.phase.offset] = b.pod.phase_members.index(phase)
    s[base + b.pod.ready.offset] = int(ready)
    client = type("Client", (), {"api": OneRunningContainer()})()
    driver = DockerDriver(client, b, "r")
    try:
        driver.pods[0] = _Pod("kcheck-r-pod-0-1", "c0", -1)
        observed = driver.observe(tuple(s))
        assert observed[0] == seen
        # a terminating pod conforms whatever its ready field says
        assert (observed == driver.view(tuple(s))) == (phase == "Terminating" or ready)
    finally:
        driver.pool.shutdown()
