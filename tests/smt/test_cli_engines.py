"""The Z3 engines from the command line: exit codes, the verdict lines, and a one-line refusal
(exit 2) for what is not encoded."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from kcheck.cli.main import main

MODELS = Path(__file__).resolve().parents[2] / "models"
REPLICASET = str(MODELS / "replicaset.kdsl")
BAD_REPLICASET = str(MODELS / "replicaset_counts_running.kdsl")

# a range bound divided by a var: its values are not bounded statically, so not encoded
NOT_ENCODED = """model range_var
var n: 0..3 = 0
controller c {
  action start when exists i in 0..(6 / (n + 1)): i == 2 { n := 0 }
}
invariant t: true
"""


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    text = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in text
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"the CLI raised {result.exception!r}") from result.exception
    return result


def test_bmc_engine_from_the_command_line(tmp_path: Path) -> None:
    bad = run("verify", BAD_REPLICASET, "--engine", "bmc", "--depth", "4", "-q")
    assert bad.exit_code == 1, bad.output
    assert "counterexample of 3 steps" in bad.output
    good = run("verify", REPLICASET, "--engine", "bmc", "--depth", "3", "-q")
    assert good.exit_code == 3, good.output
    assert "no violation up to depth 3" in good.output
    path = tmp_path / "loop.kdsl"
    path.write_text(NOT_ENCODED)
    refused = run("verify", str(path), "--engine", "bmc", "-q")
    assert refused.exit_code == 2
    assert "not encoded by the Z3 engine: a range bound whose values" in refused.output
    assert "at line 4" in refused.output
    assert len(refused.output.strip().splitlines()) == 1
