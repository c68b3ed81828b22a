"""`kcheck test`: the generated Hypothesis test drives the example controller (correct and with
its planted bug) and small adapters written here, through every path: pass, a mismatch, an
invariant, an exception, a change while nothing is enabled, and a broken adapter."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from kcheck.cli.main import main
from kcheck.lang.frontend import load
from kcheck.mbt.match import Names, live_slots, match
from kcheck.model.compile import compile_model

ROOT = Path(__file__).resolve().parents[2]
REPLICASET = str(ROOT / "models" / "replicaset.kdsl")
ADAPTER = str(ROOT / "examples" / "replicaset_controller" / "adapter.py")


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, ["test", *args])
    assert "Traceback" not in result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"the CLI raised {result.exception!r}") from result.exception
    return result


def test_the_correct_controller_passes_and_every_action_fires() -> None:
    r = run(REPLICASET, "--adapter", f"{ADAPTER}:ReplicaSetAdapter", "--examples", "30",
            "--seed", "7", "--format", "json")  # fmt: skip
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["verdict"] == "passed"
    assert all(row["fired"] > 0 for row in out["coverage"]), out["coverage"]
    assert out["observed"] == ["Pod.owner", "Pod.phase", "ReplicaSet.replicas"]


def test_the_planted_bug_is_found_and_shrunk() -> None:
    args = (REPLICASET, "--adapter", f"{ADAPTER}:CountsRunningAdapter", "--examples", "50",
            "--seed", "1")  # fmt: skip
    r = run(*args)
    assert r.exit_code == 1, r.output
    assert "FAILED: after replicaset.scale_down(rs=ReplicaSet#web)" in r.output
    assert "--seed 1" in r.output and "replay: kcheck test" in r.output
    # shrunk: two pods are never needed, one pending pod and a scale-down show it
    trace = json.loads(run(*args, "--format", "json").output)["failure"]["trace"]
    assert [s["action"] for s in trace] == [
        None,
        "replicaset.scale_up",
        "user_scales_down.kubectl_scale",
        "replicaset.scale_down",
    ]
    # the same seed replays the same run
    assert run(*args).output == r.output


def _adapter(tmp_path: Path, body: str) -> str:
    path = tmp_path / "adapter.py"
    path.write_text(body, encoding="utf-8")
    return f"{path}:Adapter"


COUNTER = """model counter
var x: 0..5 = 0
controller c {
  action inc when x < 2 { x := x + 1 }
}
invariant small: x < 2
"""


def _counter(tmp_path: Path, invariant: str = "invariant small: x < 2") -> str:
    path = tmp_path / "counter.kdsl"
    path.write_text(COUNTER.replace("invariant small: x < 2", invariant), encoding="utf-8")
    return str(path)


def test_an_invariant_broken_by_an_allowed_step_is_reported(tmp_path: Path) -> None:
    adapter = _adapter(
        tmp_path,
        """
class Adapter:
    def __init__(self): self.x = 0
    def c_inc(self): self.x += 1
    def observe(self): return {"x": self.x}
""",
    )
    r = run(_counter(tmp_path), "--adapter", adapter, "--seed", "0", "--examples", "20")
    assert r.exit_code == 1, r.output
    assert "violates invariant small" in r.output


def test_a_change_while_nothing_is_enabled_is_a_mismatch(tmp_path: Path) -> None:
    adapter = _adapter(
        tmp_path,
        """
class Adapter:
    def __init__(self): self.x, self.idle = 0, 0
    def c_inc(self): self.x += 1
    def observe(self):
        if self.x >= 2:
            self.idle += 1
        if self.idle > 1 and self.x < 5:
            self.x += 1  # drifts on its own once the model is done
        return {"x": self.x}
""",
    )
    r = run(_counter(tmp_path, "invariant fine: x <= 5"), "--adapter", adapter, "--seed", "0",
            "--examples", "20")  # fmt: skip
    assert r.exit_code == 1, r.output
    assert "no action of the model is enabled, yet the implementation changed" in r.output


def test_an_exception_in_the_implementation_is_a_failure(tmp_path: Path) -> None:
    adapter = _adapter(
        tmp_path,
        """
class Adapter:
    def __init__(self): self.x = 0
    def c_inc(self):
        if self.x == 1:
            raise RuntimeError("boom")
        self.x += 1
    def observe(self): return {"x": self.x}
""",
    )
    r = run(_counter(tmp_path, "invariant fine: x <= 5"), "--adapter", adapter, "--seed", "0",
            "--format", "json")  # fmt: skip
    assert r.exit_code == 1, r.output
    failure = json.loads(r.output)["failure"]
    assert (
        failure["kind"] == "exception"
        and "raised RuntimeError in c.inc(): boom" in failure["message"]
    )
    assert len(failure["trace"]) == 3  # initial state, one inc, the inc that raised


def test_a_missing_method_is_bad_input_with_the_signature(tmp_path: Path) -> None:
    adapter = _adapter(tmp_path, "class Adapter:\n    def observe(self): return {}\n")
    r = run(REPLICASET, "--adapter", adapter)
    assert r.exit_code == 2
    assert "def replicaset_scale_up(self, rs: str) -> None" in r.output
    assert "def kubelet_start(self, p: str) -> None" in r.output


def test_a_bad_observation_is_bad_input(tmp_path: Path) -> None:
    for observed, message in (
        ('{"y": 1}', "observe() returned 'y'; the model has x"),
        ('{"x": "one"}', "observe()['x'] is 'one': expected an int"),
        ("[1]", "observe() returned list, not a dict"),
    ):
        adapter = _adapter(
            tmp_path,
            f"""
class Adapter:
    def c_inc(self): pass
    def observe(self): return {observed}
""",
        )
        r = run(_counter(tmp_path), "--adapter", adapter, "--seed", "0", "--examples", "5")
        assert r.exit_code == 2, r.output
        assert message in r.output


def test_a_bad_enum_member_names_the_members(tmp_path: Path) -> None:
    adapter = _adapter(
        tmp_path,
        f"""
import sys
sys.path.insert(0, {str(Path(ADAPTER).parent)!r})
from adapter import ReplicaSetAdapter
class Adapter(ReplicaSetAdapter):
    def observe(self):
        seen = super().observe()
        for pod in seen["Pod"].values():
            pod["phase"] = pod["phase"].lower()
        return seen
""",
    )
    r = run(REPLICASET, "--adapter", adapter, "--seed", "0", "--examples", "10")
    assert r.exit_code == 2, r.output
    assert "expected one of Pending, Running, Failed" in r.output


def test_bad_adapter_specs_are_bad_input(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("import no_such_module_here\n", encoding="utf-8")
    for spec, message in (
        ("no_colon", "expected MODULE:CLASS"),
        (f"{tmp_path}/missing.py:A", "no file"),
        (f"{broken}:A", "importing"),
        (f"{ADAPTER}:NoSuchClass", "has no class NoSuchClass"),
    ):
        r = run(REPLICASET, "--adapter", spec)
        assert r.exit_code == 2, (spec, r.output)
        assert message in r.output


def test_look_alike_new_objects_match_in_every_way() -> None:
    """Two new pods with equal fields can stand in either slot: both namings are kept."""
    model = compile_model(load(REPLICASET).symbols, symmetry=False)
    layout = model.layout
    s = model.initial()[0]
    for _ in range(2):  # two scale_ups: two pending pods
        s = next(iter(model.action_outcomes[0](s)))[2]  # type: ignore[assignment]
    names = Names((("web",), ("",) * 5))
    seen = {"Pod": {"a": {"phase": "Pending", "owner": "web"},
                    "b": {"phase": "Pending", "owner": "web"}}}  # fmt: skip
    none = {"ReplicaSet": frozenset({0}), "Pod": frozenset[int]()}
    found = list(match(layout, names, none, layout.decode(s), seen))
    assert sorted(n.slots[1][:2] for n in found) == [("a", "b"), ("b", "a")]
    # once named, a pod the implementation deleted must be gone from the model too
    before = live_slots(layout, layout.decode(s))
    assert list(match(layout, found[0], before, layout.decode(s), {"Pod": {"a": {}}})) == []


def test_the_failing_run_is_drawn(tmp_path: Path) -> None:
    picture = tmp_path / "fail.dot"
    r = run(REPLICASET, "--adapter", f"{ADAPTER}:CountsRunningAdapter", "--examples", "50",
            "--seed", "1", "--graph", str(picture))  # fmt: skip
    assert r.exit_code == 1
    source = picture.read_text(encoding="utf-8")
    assert "counterexample for conformance mismatch, 3 steps" in source
    assert "Pod#web-00001" in source


def test_an_adapter_that_cannot_start_is_bad_input(tmp_path: Path) -> None:
    adapter = _adapter(
        tmp_path,
        """
class Adapter:
    def __init__(self): raise OSError("no store")
    def c_inc(self): pass
    def observe(self): return {}
""",
    )
    r = run(_counter(tmp_path), "--adapter", adapter, "--seed", "0", "--examples", "5")
    assert r.exit_code == 2
    assert "Adapter() failed: OSError: no store" in r.output


def test_an_action_name_that_is_no_identifier_becomes_one() -> None:
    r = run(str(ROOT / "models" / "replicaset_stale_cache.kdsl"), "--adapter",
            f"{ADAPTER}:ReplicaSetAdapter")  # fmt: skip
    assert r.exit_code == 2
    assert "def replicaset_sync_Pod(self) -> None" in r.output


def test_without_hypothesis_it_says_what_to_install(monkeypatch: Any) -> None:
    monkeypatch.setitem(sys.modules, "hypothesis", None)  # `import hypothesis` fails
    r = run(REPLICASET, "--adapter", f"{ADAPTER}:ReplicaSetAdapter")
    assert r.exit_code == 2
    assert "pip install 'kcheck[test]'" in r.output


def test_an_implementation_that_starts_elsewhere_is_a_mismatch(tmp_path: Path) -> None:
    adapter = _adapter(
        tmp_path,
        """
class Adapter:
    def __init__(self): self.x = 1
    def c_inc(self): self.x += 1
    def observe(self): return {"x": self.x}
""",
    )
    r = run(_counter(tmp_path), "--adapter", adapter, "--seed", "0", "--format", "json")
    assert r.exit_code == 1, r.output
    failure = json.loads(r.output)["failure"]
    assert failure["message"] == "after init() the implementation's state is not the initial state"
    assert failure["observed"] == {"x": 1} and failure["allowed"] == [{"x": 0}]
