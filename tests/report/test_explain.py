"""Why the last state violates an invariant: the failing binding of a `forall`, the false part
of an `and`, both sides of a comparison and the parts of a sum, through defs; and that every
report (text, JSON, Markdown, HTML, SARIF) shows it for a real counterexample."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from kcheck.cli.main import main
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.report.explain import explain
from tests.report import ROOT

MODEL = """model m
const MIN_AVAILABLE = 2
enum Phase { Pending, Running }
kind Pod[3] {
  phase: Phase = Pending
  ready: bool = false
}
var paused: bool = false
def healthy(): int = count p in Pod where p.phase == Running and p.ready
process k {
  action start for p in Pod where p.phase == Pending { p.phase := Running }
}
invariant available: healthy() >= MIN_AVAILABLE
invariant sum_ok: healthy() + 1 >= MIN_AVAILABLE + 1
invariant all_ready: forall p in Pod: p.phase == Running implies p.ready
invariant both: not paused and count(Pod) == 3
invariant some: exists p in Pod: p.ready
invariant through_def: healthy() == 3
"""

STATE: dict[str, Any] = {
    "paused": False,
    "Pod": {
        "Pod#0": {"phase": "Running", "ready": True},
        "Pod#1": {"phase": "Running", "ready": False},
    },
}


def _why(name: str, state: dict[str, Any] = STATE) -> list[str]:
    sym = check_source(Source("m.kdsl", MODEL)).symbols
    inv = next(i for i in sym.invariants if i.name == name)
    return explain(sym, inv.expr, state)


def test_a_comparison_shows_both_sides() -> None:
    assert _why("available") == [
        "healthy() >= MIN_AVAILABLE  is false",
        "  healthy() = 1",
        "  MIN_AVAILABLE = 2",
    ]


def test_a_sum_shows_its_parts() -> None:
    assert _why("sum_ok") == [
        "healthy() + 1 >= MIN_AVAILABLE + 1  is false",
        "  healthy() + 1 = 2",
        "  healthy() = 1",
        "  MIN_AVAILABLE + 1 = 3",
        "  MIN_AVAILABLE = 2",
    ]


def test_a_forall_names_the_binding_that_fails() -> None:
    assert _why("all_ready") == [
        "forall p in Pod: p.phase == Running implies p.ready  fails for p = Pod#1:",
        "  p.phase == Running  holds, but",
        "  p.ready = false",
    ]


def test_an_and_shows_its_false_part() -> None:
    assert _why("both") == ["count(Pod) == 3  is false", "  count(Pod) = 2"]


def test_an_exists_says_how_many_candidates_failed() -> None:
    state = {"paused": False, "Pod": {"Pod#0": {"phase": "Running", "ready": False}}}
    assert _why("some", state) == [
        "exists p in Pod: p.ready  is false: none of 1 candidates satisfies it"
    ]


def test_params_of_unknown_value_are_never_guessed() -> None:
    # with --symbolic-params the counterexample's params are not the model's: an invariant
    # that reads one is left unexplained
    model = MODEL.replace("const MIN_AVAILABLE = 2", "param MIN_AVAILABLE: 1..3 = 2")
    sym = check_source(Source("m.kdsl", model)).symbols
    inv = next(i for i in sym.invariants if i.name == "available")
    assert explain(sym, inv.expr, STATE)[-1] == "  MIN_AVAILABLE = 2"
    assert explain(sym, inv.expr, STATE, params_known=False) == []
    other = next(i for i in sym.invariants if i.name == "all_ready")
    assert explain(sym, other.expr, STATE, params_known=False) != []


def test_an_invariant_that_holds_has_no_explanation() -> None:
    assert _why("available", {**STATE, "Pod": {**STATE["Pod"], "Pod#1": {"phase": "Running", "ready": True}}}) == []  # fmt: skip


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_verify_explains_the_violation_in_text_and_json(fmt: str) -> None:
    run = CliRunner().invoke(
        main, ["verify", str(ROOT / "models/scheduler_stale_snapshot.kdsl"), "--format", fmt]
    )
    assert run.exit_code == 1, run.output
    lines = [
        "forall n in Node: used(n) <= n.cpu  fails for n = Node#0:",
        "  used(n) <= n.cpu  is false",
        "    used(n) = 5",
        "    n.cpu = 4",
    ]
    if fmt == "text":
        assert (
            "  the last state violates no_overcommit:\n" + "\n".join(f"    {x}" for x in lines)
            in run.stdout
        )
    else:
        props = {p["name"]: p for p in json.loads(run.stdout)["properties"]}
        assert props["no_overcommit"]["explanation"] == lines
        assert "explanation" not in props["running_pods_are_bound"]


def test_html_sarif_markdown_and_junit_show_the_explanation(tmp_path: Any) -> None:
    html, sarif, md = tmp_path / "r.html", tmp_path / "r.sarif", tmp_path / "r.md"
    junit = tmp_path / "r.xml"
    run = CliRunner().invoke(
        main,
        ["verify", str(ROOT / "models/scheduler_stale_snapshot.kdsl"), "--report", str(html),
         "--sarif", str(sarif), "--markdown", str(md), "--junit", str(junit)],
    )  # fmt: skip
    assert run.exit_code == 1, run.output
    page = html.read_text(encoding="utf-8")
    assert (
        '<pre class="why mono">forall n in Node: used(n) &lt;= n.cpu  fails for n = Node#0:' in page
    )
    log = json.loads(sarif.read_text(encoding="utf-8"))
    (result,) = [r for r in log["runs"][0]["results"] if r["ruleId"] == "invariant-violated"]
    assert result["message"]["text"].endswith(
        "is violated by a counterexample of 4 steps: forall n in Node: used(n) <= n.cpu fails"
        " for n = Node#0; used(n) <= n.cpu is false; used(n) = 5; n.cpu = 4"
    )
    assert result["properties"]["explanation"][-1] == "    n.cpu = 4"
    text = md.read_text(encoding="utf-8")
    assert "The last state violates no_overcommit:\n\n- forall n in Node" in text
    assert "\n    - used(n) = 5\n" in text
    xml = junit.read_text(encoding="utf-8")
    assert (
        "the last state violates no_overcommit:\n    forall n in Node: used(n) &lt;= n.cpu" in xml
    )
