"""A manifest fills a model as the checker reads it: with its clocks, actor locals and records
lowered first (a `clock` is no type before time.py lowers it; filling once said only "0 errors
in the manifests", exit 2, for hpa.kdsl with a clock). A value that breaks the model is the
model's located error, with the manifests' values that led to it."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from kcheck.cli.main import main

TIMED = """model timed
const N = 2
kind Job[N] {
  age: clock
}
var x: 1..N = 1
var since: clock = 0
process p {
  var waited: clock = 0
  action a when x < N and after(since, 1) within 0 {
    x := x + 1
    since := 0
    waited := 0
    for j in Job where after(j.age, 2) {
      delete j
    }
  }
}
invariant bounded: x <= N
manifest {
  Deployment {
    N = spec.replicas
  }
}
"""
DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {replicas}
"""


def verify(tmp_path: Path, replicas: int) -> Result:
    model = tmp_path / "timed.kdsl"
    model.write_text(TIMED, encoding="utf-8")
    manifest = tmp_path / "web.yaml"
    manifest.write_text(DEPLOYMENT.format(replicas=replicas), encoding="utf-8")
    got = CliRunner().invoke(main, ["verify", str(model), "--manifest", str(manifest), "-q"])
    assert "Traceback" not in got.output + got.stderr
    return got


def test_a_model_with_clocks_and_locals_reads_its_manifest(tmp_path: Path) -> None:
    got = verify(tmp_path, 3)
    assert got.exit_code == 0, got.stderr
    assert f"N = 3 ({tmp_path / 'web.yaml'}:6)" in got.stderr


def test_a_value_that_breaks_the_model_is_the_models_located_error(tmp_path: Path) -> None:
    got = verify(tmp_path, 0)
    assert got.exit_code == 2
    assert f"{tmp_path / 'timed.kdsl'}:6:8: error[KC0403]: empty range 1..0" in got.stderr
    assert f"note: with the manifests' values: N = 0 ({tmp_path / 'web.yaml'}:6)" in got.stderr
    assert "0 errors" not in got.stderr
