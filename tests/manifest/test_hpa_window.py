"""An HPA's scale-down stabilization window is mapped, not refused (issue 15.1/2): hpa.kdsl
reads `spec.behavior.scaleDown.stabilizationWindowSeconds` as WINDOW syncs of 15 s (ticks of its
clock), this sync's own included (the HPA keeps the recommendations newer than now - window, and
this one): 0 s is 1, 45 s is 3 (the model's own), 300 s (Kubernetes' default) is 20. A window of
0 then is exactly hpa_no_stabilization's bug, found from the manifest alone; an HPA that sets no
window is checked at the default 300 s (issue 19.1: the window's entries age on the clock)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from kcheck.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
PHP = ROOT / "examples" / "manifests" / "php-apache-hpa.yaml"
DEFAULT = ROOT / "examples" / "manifests" / "php-apache-hpa-default-window.yaml"
HPA = ROOT / "models" / "hpa.kdsl"
SAME = ["-D", "min_replicas=1", "-D", "max_replicas=5", "-D", "TARGET=6",
        "-D", "initial_replicas=2"]  # fmt: skip


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output + result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"the CLI raised {result.exception!r}") from result.exception
    return result


def outcome(result: Result) -> tuple[object, ...]:
    doc = json.loads(result.stdout)
    props = tuple((p["name"], p["status"], len(p.get("trace") or ())) for p in doc["properties"])
    return result.exit_code, doc["verdict"], doc["stats"]["states"], props


def with_window(tmp_path: Path, seconds: str) -> str:
    text = PHP.read_text(encoding="utf-8")
    assert "stabilizationWindowSeconds: 45}" in text
    path = tmp_path / "hpa.yaml"
    path.write_text(text.replace("Seconds: 45}", f"Seconds: {seconds}}}"), encoding="utf-8")
    return str(path)


def verify(model: Path, *args: str) -> Result:
    return run("verify", str(model), *args, "-q", "--format", "json")


def test_the_examples_45_seconds_is_the_models_own_window() -> None:
    got = verify(HPA, "--manifest", str(PHP))
    assert "WINDOW = 3 (" in got.stderr and "KC06" not in got.stderr
    assert outcome(got) == outcome(verify(HPA, *SAME))


def test_a_window_of_0_is_hpa_no_stabilizations_bug(tmp_path: Path) -> None:
    got = verify(HPA, "--manifest", with_window(tmp_path, "0"))
    assert "WINDOW = 1 (" in got.stderr
    bug = verify(ROOT / "models" / "hpa_no_stabilization.kdsl", *SAME)
    assert outcome(got) == outcome(bug)
    assert got.exit_code == 1
    props = json.loads(got.stdout)["properties"]
    assert {"dips_cost_no_pods": "violated"}.items() <= {
        p["name"]: p["status"] for p in props
    }.items()


@pytest.mark.parametrize(("seconds", "syncs"), [("15", 1), ("16", 2), ("60", 4)])
def test_a_window_is_the_syncs_it_holds(seconds: str, syncs: int, tmp_path: Path) -> None:
    got = verify(HPA, "--manifest", with_window(tmp_path, seconds))
    assert f"WINDOW = {syncs} (" in got.stderr
    assert outcome(got) == outcome(verify(HPA, *SAME, "-D", f"WINDOW={syncs}"))


def test_no_window_is_kubernetes_default_of_300_seconds_and_holds() -> None:
    items = yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))["items"]
    (hpa,) = [o for o in items if o["kind"] == "HorizontalPodAutoscaler"]
    assert "behavior" not in hpa["spec"]
    got = verify(HPA, "--manifest", str(DEFAULT))
    assert "WINDOW = 20 (HorizontalPodAutoscaler default)" in got.stderr
    assert got.exit_code == 0 and json.loads(got.stdout)["verdict"] == "holds"
    assert outcome(got) == outcome(verify(HPA, *SAME, "-D", "WINDOW=20"))


def test_the_default_window_is_the_whole_300_seconds(tmp_path: Path) -> None:
    """300 s is not 285 s: with a window of 19 syncs the same instance has other states."""
    default = verify(HPA, "--manifest", str(DEFAULT))
    shorter = verify(HPA, "--manifest", with_window(tmp_path, "285"))
    assert "WINDOW = 19 (" in shorter.stderr
    assert outcome(default)[2] != outcome(shorter)[2]


def test_a_window_the_apiserver_refuses_is_a_located_error(tmp_path: Path) -> None:
    path = with_window(tmp_path, "4000")
    got = run("verify", str(HPA), "--manifest", path)
    assert got.exit_code == 2
    assert (
        f"{path}:37:49: error[KC0606]: `spec.behavior.scaleDown.stabilizationWindowSeconds: "
        "4000` is not between 0 and 3600, as the apiserver requires"
    ) in got.stderr
