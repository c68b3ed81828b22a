"""The command line, run in-process: exit codes (0 holds, 1 violated, 2 bad input or usage,
3 inconclusive), the JSON report's shape, --output, -D overrides, and diagnostics that point at
the source without ever showing a Python traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kcheck.cli.main import main

MODELS = Path(__file__).resolve().parents[1] / "models"
REPLICASET = str(MODELS / "replicaset.kdsl")
BAD_REPLICASET = str(MODELS / "replicaset_counts_running.kdsl")
SCHEDULER = str(MODELS / "scheduler.kdsl")


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    text = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in text
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"the CLI raised {result.exception!r}") from result.exception
    return result


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


def test_a_model_that_holds_exits_0() -> None:
    r = run("verify", REPLICASET, "-q")
    assert r.exit_code == 0, r.output
    assert "verdict: holds" in r.stdout


def test_a_violated_invariant_exits_1() -> None:
    r = run("verify", BAD_REPLICASET, "-q")
    assert r.exit_code == 1, r.output
    assert "never_too_many_live" in r.stdout


def test_a_limit_hit_exits_3() -> None:
    r = run("verify", SCHEDULER, "-q", "--max-states", "5")
    assert r.exit_code == 3, r.output
    assert "inconclusive" in r.stdout


def test_a_depth_limit_exits_3_and_says_which_limit() -> None:
    r = run("verify", SCHEDULER, "-q", "--max-depth", "2", "--format", "json")
    assert r.exit_code == 3
    out = as_json(r)
    assert out["verdict"] == "inconclusive"
    assert out["complete"] is False
    assert out["limit"] == "max-depth 2"


def test_json_report_shape() -> None:
    r = run("verify", BAD_REPLICASET, "-q", "--format", "json")
    assert r.exit_code == 1
    out = as_json(r)
    assert out["model"] == "replicaset_counts_running"
    assert out["verdict"] == "violated"
    assert out["engine"] == "explicit"
    assert set(out["stats"]) >= {"states", "transitions", "depth", "seconds"}
    assert all(isinstance(out["stats"][k], int) for k in ("states", "transitions", "depth"))
    assert isinstance(out["stats"]["seconds"], int | float)
    assert out["properties"]
    for p in out["properties"]:
        assert set(p) >= {"name", "kind", "status", "trace"}
        assert p["kind"] in {"invariant", "property", "bound"}
        if p["trace"] is not None:
            for step in p["trace"]:
                assert set(step) >= {"action", "args", "state"}
    (bad,) = [p for p in out["properties"] if p["name"] == "never_too_many_live"]
    assert bad["status"] == "violated"
    trace = bad["trace"]
    assert trace[0]["action"] is None and trace[0]["args"] == {}
    assert all(isinstance(s["action"], str) for s in trace[1:])
    assert all(isinstance(s["state"], dict) for s in trace)


def test_output_writes_the_report_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    r = run("verify", REPLICASET, "-q", "--format", "json", "--output", str(target))
    assert r.exit_code == 0
    assert r.stdout == ""
    assert json.loads(target.read_text())["verdict"] == "holds"
    assert str(target) in r.stderr


def test_define_overrides_a_param() -> None:
    default = as_json(run("verify", REPLICASET, "-q", "--format", "json"))
    smaller = run("verify", REPLICASET, "-q", "--format", "json", "-D", "replicas=1")
    assert smaller.exit_code == 0
    assert as_json(smaller)["stats"]["states"] != default["stats"]["states"]


@pytest.mark.parametrize(
    ("define", "expected"),
    [
        ("replicas=9", "outside"),  # out of the param's range
        ("replicas", "NAME=VALUE"),  # not NAME=VALUE
        ("replica=1", "did you mean `replicas`"),  # no such const or param
        ("replicas=1.5", "VALUE"),  # not an integer
        ("replicas=Pending", "replicas"),  # an enum member for an int param
    ],
)
def test_bad_define_exits_2_without_a_traceback(define: str, expected: str) -> None:
    r = run("verify", REPLICASET, "-q", "-D", define)
    assert r.exit_code == 2, r.output
    assert expected in r.output


def test_unknown_invariant_exits_2_with_a_suggestion() -> None:
    r = run("verify", REPLICASET, "-q", "--invariant", "never_too_many")
    assert r.exit_code == 2
    assert "did you mean `never_too_many_live`" in r.stderr


def test_selected_invariant_only_is_reported() -> None:
    r = run(
        "verify", BAD_REPLICASET, "-q", "--format", "json", "--invariant", "never_too_many_live"
    )
    assert r.exit_code == 1
    names = [p["name"] for p in as_json(r)["properties"] if p["kind"] == "invariant"]
    assert names == ["never_too_many_live"]


def test_no_symmetry_explores_more_states() -> None:
    on = as_json(run("verify", REPLICASET, "-q", "--format", "json"))
    off = as_json(run("verify", REPLICASET, "-q", "--format", "json", "--no-symmetry"))
    assert off["stats"]["states"] > on["stats"]["states"]
    assert on["verdict"] == off["verdict"] == "holds"


@pytest.fixture
def typo_model(tmp_path: Path) -> Path:
    text = (MODELS / "replicaset.kdsl").read_text()
    assert "phase: Phase = Pending" in text
    path = tmp_path / "typo.kdsl"
    path.write_text(text.replace("phase: Phase = Pending", "phase: Phse = Pending", 1))
    return path


@pytest.mark.parametrize("command", ["verify", "check"])
def test_a_typo_exits_2_with_a_located_diagnostic(typo_model: Path, command: str) -> None:
    r = run(command, str(typo_model))
    assert r.exit_code == 2
    text = typo_model.read_text().split("\n")
    line = next(i for i, t in enumerate(text, 1) if "Phse" in t)
    col = text[line - 1].index("Phse") + 1
    assert f"{typo_model}:{line}:{col}: error[KC" in r.stderr
    assert "^" in r.stderr
    assert "did you mean `Phase`" in r.stderr


def test_check_accepts_every_model() -> None:
    r = run("check", *(str(p) for p in sorted(MODELS.glob("*.kdsl"))))
    assert r.exit_code == 0, r.output
    assert r.stdout.count(": ok") == len(list(MODELS.glob("*.kdsl")))


def test_a_missing_file_exits_2(tmp_path: Path) -> None:
    r = run("verify", str(tmp_path / "nope.kdsl"))
    assert r.exit_code == 2
    assert "nope.kdsl" in r.output


def test_a_binary_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "binary.kdsl"
    path.write_bytes(b"\x00\xff\xfe\x89PNG\r\n\x1a\n" + bytes(range(256)))
    r = run("verify", str(path))
    assert r.exit_code == 2
    assert "error[KC0104]" in r.stderr


def test_a_directory_is_a_usage_error(tmp_path: Path) -> None:
    r = run("verify", str(tmp_path))
    assert r.exit_code == 2


def test_unknown_options_are_usage_errors() -> None:
    assert run("verify", REPLICASET, "--frobnicate").exit_code == 2
    assert run("verify", REPLICASET, "--max-states", "0").exit_code == 2
    assert run("verify", REPLICASET, "--format", "xml").exit_code == 2
    assert run("verify").exit_code == 2


def test_a_bound_hit_is_reported_in_json(tmp_path: Path) -> None:
    path = tmp_path / "bound.kdsl"
    path.write_text(
        "model bound\nvar n: 0..2 = 0\ncontroller c {\n  action up { n := n + 1 }\n}\n"
        "invariant ok: n <= 2\n"
    )
    r = run("verify", str(path), "-q", "--format", "json")
    assert r.exit_code == 1
    (b,) = [p for p in as_json(r)["properties"] if p["kind"] == "bound"]
    assert b["name"] == "bound: range in c.up"
    assert b["trace"][-1]["state"] is None
    assert "error" in b["trace"][-1]


def test_an_invariant_that_dereferences_none_is_reported_not_an_internal_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "inv_none.kdsl"
    path.write_text(
        "model m\nkind N[1] { ready: bool = true }\nkind P[1] { node: N? = none }\n"
        "controller c {\n  action mk when count(P) == 0 { create P { } }\n}\n"
        "invariant bad: forall p in P: p.node.ready\n"
    )
    r = run("verify", str(path), "-q")
    assert r.exit_code in (1, 2), r.output


def test_fmt_takes_a_directory_for_the_models_under_it(tmp_path: Path) -> None:
    good = "model a\n\nvar x: 0..1 = 0\n"
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.kdsl").write_text(good, encoding="utf-8")
    (tmp_path / "sub" / "b.kdsl").write_text("model b\nvar   x: 0..1 = 0\n", encoding="utf-8")
    result = run("fmt", "--check", str(tmp_path))
    assert result.exit_code == 1
    assert "b.kdsl: not formatted" in result.output
    assert "a.kdsl" not in result.output
    assert run("fmt", str(tmp_path)).exit_code == 0
    assert run("fmt", "--check", str(tmp_path)).exit_code == 0


def test_fmt_refuses_a_directory_without_models(tmp_path: Path) -> None:
    result = run("fmt", "--check", str(tmp_path))
    assert result.exit_code == 2
    assert "no .kdsl files under" in result.output
