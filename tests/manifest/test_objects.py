"""Initial objects from manifests: `kind Node = Node { ... }` makes every Node of the manifests
(e.g. `kubectl get nodes -o yaml`) an initial Node of the model, within its slots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kcheck.cli.main import main
from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.fmt import format_program
from kcheck.lang.frontend import check_source
from kcheck.lang.parser import parse

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = str(ROOT / "models" / "scheduler_plugins.kdsl")
NODES = ROOT / "examples" / "manifests" / "cluster-nodes.yaml"
FAST = ("--invariant", "no_overcommit", "--invariant", "bound_pods_tolerate_taints")


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output + result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"the CLI raised {result.exception!r}") from result.exception
    return result


def stats(result: Result) -> tuple[str, int, int]:
    doc = json.loads(result.stdout)
    return doc["verdict"], doc["stats"]["states"], doc["stats"]["transitions"]


def nodes(tmp_path: Path, edit: str = "", to: str = "") -> str:
    text = NODES.read_text(encoding="utf-8")
    if edit:
        assert edit in text
        text = text.replace(edit, to, 1)
    path = tmp_path / "nodes.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_the_clusters_nodes_are_the_models_nodes() -> None:
    """cluster-nodes.yaml holds the four nodes the model's init creates: the same instance."""
    got = run("verify", PLUGINS, "--manifest", str(NODES), *FAST, "-q", "--format", "json")
    own = run("verify", PLUGINS, *FAST, "-q", "--format", "json")
    assert got.exit_code == own.exit_code == 0
    assert stats(got) == stats(own)
    assert "from the manifests: 4 Node objects" in got.stderr


def test_other_nodes_make_another_instance(tmp_path: Path) -> None:
    """With b2's taint only PreferNoSchedule, web pods may land there too: other states."""
    path = nodes(tmp_path, "          effect: NoExecute", "          effect: PreferNoSchedule")
    got = run("verify", PLUGINS, "--manifest", path, *FAST, "-q", "--format", "json")
    own = run("verify", PLUGINS, *FAST, "-q", "--format", "json")
    assert got.exit_code == 0
    assert stats(got) != stats(own)


def test_more_nodes_than_slots_is_located(tmp_path: Path) -> None:
    text = NODES.read_text(encoding="utf-8")
    first = text.index("  - apiVersion: v1")
    second = text.index("  - apiVersion: v1", first + 1)
    extra = text[first:second].replace("name: a1", "name: a3")
    path = tmp_path / "five.yaml"
    path.write_text(text[:first] + extra + text[first:], encoding="utf-8")
    r = run("verify", PLUGINS, "--manifest", str(path), "-q")
    assert r.exit_code == 2
    assert "error[KC0607]: 5 Nodes exceed the model's bound 4 (kind Node[4])" in r.stderr
    assert "raise the kind's bound" in r.stderr


@pytest.mark.parametrize(
    ("edit", "to", "bad", "message"),
    [
        ("zone: zone-b", "zone: zone-c", "zone-c",
         "`zone-c` is not in the model's map for `zone` (\"zone-a\", \"zone-b\")"),
        ("disktype: hdd", "disktype: nvme", "nvme", "`nvme` names no member of `disk`'s enum"),
        ('allocatable:\n        cpu: "2"', 'allocatable:\n        cpu: "16"', '"16"',
         "16 is outside the model's 1..8 for `cpu`"),
        ('memory: 8Gi\n        pods: "110"\n  - ', 'memory: 7.5Gi\n        pods: "110"\n  - ',
         "7.5Gi", "7.5Gi is 7.5 Gi, not a whole number"),
    ],
)  # fmt: skip
def test_a_bad_node_value_is_located(
    tmp_path: Path, edit: str, to: str, bad: str, message: str
) -> None:
    path = nodes(tmp_path, edit, to)
    r = run("verify", PLUGINS, "--manifest", path, "-q")
    assert r.exit_code == 2
    assert "error[KC0606]" in r.stderr and message in r.stderr, r.stderr
    line, col = (int(x) for x in r.stderr.split(f"{path}:", 1)[1].split(":")[:2])
    assert Path(path).read_text().splitlines()[line - 1][col - 1 :].startswith(bad)


MODEL = """model m
enum Disk { Hdd, Ssd }
enum Effect { NoSchedule, NoExecute }
kind Node[4] {
  disk: Disk
  cpu: 1..8
  taints: set<Effect>
}
var v: 0..1 = 0
process p {
  action a { v := 1 - v }
}
"""


def errors(body: str) -> list[tuple[str, str, int]]:
    with pytest.raises(KcheckError) as info:
        check_source(Source("t.kdsl", MODEL + body))
    return [(d.code, d.message, d.span.line) for d in info.value.diagnostics]


@pytest.mark.parametrize(
    ("block", "code", "fragment"),
    [
        ("manifest { kind Nod = Node { } }", "KC0204", "no kind `Nod`"),
        ("kind Pod[1] { node: Node }\nmanifest { kind Pod = Pod { } }",
         "KC0503", "references with no default, which this section does not fill: node"),
        ("kind Pod[1] { node: Node }\nmanifest { kind Pod = Pod { node = spec.nodeName } }",
         "KC0503", "`node` names a Node by its name, and the manifests fill no Node"),
        ("kind Pod[1] { up: bool = false }\n"
         "manifest { kind Pod = Pod { up = metadata.labels.up { yes: true, no: Maybe } } }",
         "KC0301", "`Maybe` is not true or false"),
        ("kind Pod[1] { up: bool = false }\n"
         "manifest { kind Pod = Pod { up = metadata.labels.up } }",
         "KC0301", "`metadata.labels.up` is a string; field `Pod.up` is of type bool"),
        ("manifest { kind Node = Node { cpus = status.allocatable.cpu } }", "KC0203",
         "has no field `cpus`"),
        ("manifest { kind Node = Node { cpu = metadata.labels.cpu } }", "KC0301",
         "is a string; field `Node.cpu` is of type 1..8"),
        ("manifest { kind Node = Node { disk = metadata.labels.d { ssd: Sdd } } }", "KC0201",
         "Disk has no member `Sdd`"),
        ("manifest { kind Node = Node { cpu = status.allocatable.cpu { a: B } } }", "KC0301",
         "a value map does not apply"),
        ("manifest { kind Node = Node { } kind Node = Node { } }", "KC0202", "filled twice"),
    ],
)  # fmt: skip
def test_object_mapping_mistakes_are_located(block: str, code: str, fragment: str) -> None:
    errs = errors(block + "\n")
    assert any(c == code and fragment in msg and line > 12 for c, msg, line in errs), errs


def test_an_objects_section_round_trips_through_the_formatter() -> None:
    text = MODEL + (
        '\nmanifest { kind Node = Node { disk = metadata.labels."example.com/disk" '
        '{ "fast-ssd": Ssd, hdd: Hdd } cpu = status.allocatable.cpu taints = spec.taints.effect } }\n'
    )
    once = format_program(parse(Source("t.kdsl", text)), text)
    assert format_program(parse(Source("t.kdsl", once)), once) == once
    assert (
        '  kind Node = Node {\n    disk = metadata.labels."example.com/disk" { "fast-ssd": Ssd, hdd: Hdd }\n'
        in once
    )
    check_source(Source("t.kdsl", once))


def test_an_init_that_creates_the_kind_in_a_branch_is_refused(tmp_path: Path) -> None:
    # (a `for` whose body is only creates of the kind is replaced whole: test_pods.py)
    model = tmp_path / "m.kdsl"
    model.write_text(
        MODEL + "init {\n  if v == 0 {\n    create Node { disk: Ssd, cpu: 2, taints: {} }\n  }\n}\n"
        "manifest {\n  kind Node = Node {\n    disk = metadata.labels.disktype\n"
        "    cpu = status.allocatable.cpu\n    taints = spec.taints.effect\n  }\n}\n"
    )
    r = run("verify", str(model), "--manifest", str(NODES), "-q")
    assert r.exit_code == 2
    assert f"{model}:15:5: error[KC0608]: the manifests fill kind `Node`" in r.stderr


def test_a_service_is_the_models_service(tmp_path: Path) -> None:
    model = str(ROOT / "models" / "service_endpoints.kdsl")
    svc = ROOT / "examples" / "manifests" / "web-service.yaml"
    got = run("verify", model, "--manifest", str(svc), "--invariant", "endpoints_are_ready",
              "-q", "--format", "json")  # fmt: skip
    own = run("verify", model, "--invariant", "endpoints_are_ready", "-q", "--format", "json")
    assert got.exit_code == own.exit_code == 0
    assert stats(got) == stats(own)
    assert "1 Service objects" in got.stderr
    other = tmp_path / "svc.yaml"
    other.write_text(svc.read_text().replace("app: web", "app: cache"))
    r = run("verify", model, "--manifest", str(other), "-q")
    assert r.exit_code == 2
    assert f"{other}:7:10: error[KC0606]: `cache` is not in the model's map for `selector`" in (
        r.stderr
    )


def test_the_web_deployments_spread_and_the_nodes_together() -> None:
    spread = ROOT / "examples" / "manifests" / "web-spread.yaml"
    got = run("verify", PLUGINS, "--manifest", str(spread), "--manifest", str(NODES), *FAST,
              "-q", "--format", "json")  # fmt: skip
    same = run("verify", PLUGINS, "-D", "WEB_REPLICAS=3", "-D", "MAX_SKEW=1", *FAST, "-q",
               "--format", "json")  # fmt: skip
    assert got.exit_code == same.exit_code == 0
    assert stats(got) == stats(same)
    assert "WEB_REPLICAS = 3 (" in got.stderr and "MAX_SKEW = 1 (" in got.stderr
    assert "WEB_CPU = 1 (" in got.stderr and "WEB_MEM = 2 (" in got.stderr


def test_a_web_pod_that_asks_for_more_changes_the_instance(tmp_path: Path) -> None:
    """Requests of 1500m would be read in whole cores: an error that says to read them `in m`;
    3Gi of memory is read as 3 and changes what fits where."""
    spread = (ROOT / "examples" / "manifests" / "web-spread.yaml").read_text()
    half = tmp_path / "half.yaml"
    half.write_text(spread.replace('cpu: "1"', "cpu: 1500m"))
    r = run("verify", PLUGINS, "--manifest", str(half), "-q")
    assert r.exit_code == 2
    assert "1500m is 1.5 units, not a whole number" in r.stderr
    assert "read it in a finer unit (`in m` for cpu" in r.stderr
    more = tmp_path / "more.yaml"
    more.write_text(spread.replace("memory: 2Gi", "memory: 3Gi"))
    got = run("verify", PLUGINS, "--manifest", str(more), *FAST, "-q", "--format", "json")
    same = run("verify", PLUGINS, "-D", "WEB_MEM=3", *FAST, "-q", "--format", "json")
    base = run("verify", PLUGINS, *FAST, "-q", "--format", "json")
    assert stats(got) == stats(same) != stats(base)
