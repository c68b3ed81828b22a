"""A counterexample to induction as pictures (report/cti.py, spec/smt.md "Invariant
inference"): the state where everything holds, the step, and the state it breaks (or the step
that fails there), in text, as a Graphviz drawing and as an HTML page, pinned by golden files.
The HTML golden leaves the inline SVG out (its layout is Graphviz's, which varies by version);
that the page holds one per counterexample is checked separately.

Regenerate the golden files with `KCHECK_UPDATE_GOLDEN=1 pytest tests/report/test_cti.py`."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel, State
from kcheck.report.cti import cti_graph, cti_html, cti_lines
from kcheck.report.dot import actor_kinds_of
from kcheck.trace import Step, Trace, name_objects

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "cti"
HAS_DOT = shutil.which("dot") is not None

PODS = """model pods

const CRASHES = 2

enum Phase { Pending, Running, Failed }

kind Pod[2] {
  phase: Phase = Pending
  ready: bool = false
}

init {
  create Pod { }
}

process kubelet {
  action start for p in Pod where p.phase == Pending {
    p.phase := Running
    p.ready := true
  }
  action spawn when count(Pod) < 2 {
    create Pod { }
  }
}

fault crash budget CRASHES {
  action crash for p in Pod where p.phase == Running {
    p.phase := Failed
    p.ready := false
  }
}

invariant few_failed: (count p in Pod where p.phase == Failed) <= 1
"""


def model() -> CompiledModel:
    return compile_model(check_source(Source("pods.kdsl", PODS), None).symbols)


def state(m: CompiledModel, spent: int, pods: list[tuple[int, int]]) -> State:
    """A state tuple: `spent` of the crash budget, and (phase, ready) per live Pod slot."""
    s = [0] * m.layout.width
    s[m.layout.budgets[0].index] = spent
    kind = m.layout.kind("Pod")
    for i, (phase, ready) in enumerate(pods):
        base = kind.slot_base(i)
        s[base] = 1
        s[base + kind.field("phase").offset] = phase
        s[base + kind.field("ready").offset] = ready
    return tuple(s)


def step_cti(m: CompiledModel) -> Trace:
    """Pod#1 Failed, Pod#0 Running: every invariant holds; the crash of Pod#0 breaks one."""
    s0 = state(m, 1, [(1, 1), (2, 0)])
    s1 = state(m, 2, [(2, 0), (2, 0)])
    aid, args = next((a, g) for a, g, t in m.labelled_successors(s0) if t == s1)
    info = m.actions[aid]
    steps = (
        Step(None, {}, m.layout.decode(s0)),
        Step(info.label, m.describe_args(aid, args), m.layout.decode(s1), line=info.span.line),
    )
    return name_objects(Trace(steps), ["Pod"])


def bound_cti(m: CompiledModel) -> Trace:
    """Two Pods and a spawn: no free slot (a step that fails)."""
    s0 = state(m, 0, [(0, 0), (1, 1)])
    info = next(a for a in m.actions if a.label.endswith("spawn"))
    steps = (
        Step(None, {}, m.layout.decode(s0)),
        Step(info.label, {}, None, error="the step fails", line=info.span.line),
    )
    return name_objects(Trace(steps), ["Pod"])


def compare(name: str, actual: str) -> None:
    expected = GOLDEN / name
    if os.environ.get("KCHECK_UPDATE_GOLDEN") == "1":
        expected.parent.mkdir(parents=True, exist_ok=True)
        expected.write_text(actual)
    assert expected.exists(), f"run with KCHECK_UPDATE_GOLDEN=1 to create {expected.name}"
    assert actual == expected.read_text()


def test_cti_text_golden() -> None:
    m = model()
    text = cti_lines("few_failed", step_cti(m)) + cti_lines("bound", bound_cti(m))
    compare("pods.cti.txt", "\n".join(text) + "\n")


@pytest.mark.parametrize("which", ["few_failed", "bound"])
def test_cti_graph_golden(which: str) -> None:
    m = model()
    trace = step_cti(m) if which == "few_failed" else bound_cti(m)
    compare(f"pods.cti.{which}.dot", cti_graph(which, trace, actor_kinds_of(m)).source)


def test_cti_html_golden() -> None:
    m = model()
    ctis = {"few_failed": step_cti(m), "bound": bound_cti(m)}
    lemmas = ["lemma inferred_1: forall x in Pod: x.ready implies x.phase == Running"]
    page = cti_html("pods.kdsl", lemmas, ctis, actor_kinds_of(m))
    svgs = re.findall(r"<svg.*?</svg>", page, re.S)
    if HAS_DOT:  # one drawing per counterexample, ids unique across the page
        assert len(svgs) == 2
        assert 'id="cti0-' in page and 'id="cti1-' in page
    compare("pods.cti.html", re.sub(r"<svg.*?</svg>\n?", "<!-- svg -->\n", page, flags=re.S))
