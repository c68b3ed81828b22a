"""The Mermaid sequence diagram: its shape for a real counterexample and a real lasso, and that
no name or value can break out of its label text. With KCHECK_MERMAID_JS pointing at a
mermaid.min.js (`npm install mermaid`, not a dependency of kcheck) and chromium installed, the
diagrams are also rendered by Mermaid itself and the labels read back."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kcheck.report.mermaid import sequence_diagram, text
from kcheck.result import VIOLATED, PropertyResult
from kcheck.trace import Step, Trace
from tests.report.test_dot import counterexamples

# what a diagram line may be: a participant, a note, a loop or its end; label text only from
# the safe set and entity codes
_LABEL = r"(?:[A-Za-z0-9 _.=(){}+\-/]|#\d+;|<br/>)+"
_LINE = re.compile(
    rf"sequenceDiagram|    participant a\d+ as {_LABEL}|(?:    )?    Note over a\d+(?:,a\d+)?: "
    rf"{_LABEL}|    loop {_LABEL}|    end"
)
HOSTILE = 'a;b#c%%d:e,f<b>g</b>&h`i\nj-->>k end\r`x\' "q" →'


def _decode(label: str) -> str:
    return re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), label)


def test_a_counterexample_is_one_note_per_step_over_its_actor() -> None:
    kinds, traced = counterexamples("scheduler_stale_snapshot")
    src = sequence_diagram(traced["no_overcommit"], kinds)
    lines = src.splitlines()
    assert lines[:3] == [
        "sequenceDiagram",
        "    participant a0 as controller workload",
        "    participant a1 as scheduler default",
    ]
    assert lines[3].startswith("    Note over a0,a1: initial state<br/>budget.node_failure = 1")
    notes = [x for x in lines[4:] if x.startswith("    Note over a")]
    assert [n.split(":", 1)[0] for n in notes] == [
        "    Note over a0",
        "    Note over a0",
        "    Note over a1",
        "    Note over a1",
        "    Note over a0,a1",
    ]
    assert _decode(notes[2]).endswith(
        "3 default.bind(pod=Pod#1, node=Node#0) line 42<br/>Pod#1.node: none → Node#0"
    )
    assert _decode(notes[-1]).endswith("violates invariant no_overcommit (line 72)")
    assert all(_LINE.fullmatch(x) for x in lines), [x for x in lines if not _LINE.fullmatch(x)]


def test_a_lasso_puts_its_repeating_steps_in_a_loop_block() -> None:
    states = [{"x": 0}, {"x": 1}, {"x": 2}, {"x": 1}]
    steps = [Step(None, {}, states[0])] + [Step("p.tick", {}, s, line=2) for s in states[1:]]
    prop = PropertyResult("settles", "property", VIOLATED, 7, Trace(tuple(steps), loop_start=1))
    lines = sequence_diagram(prop, {"p": "process"}).splitlines()
    start = lines.index("    loop #10226; steps 2-3 repeat forever (state 3 is state 1 again)")
    assert lines[start - 1].startswith("    Note over a0: 1 p.tick()")
    assert [x[:27] for x in lines[start + 1 : start + 3]] == ["        Note over a0: 2 p.t",
                                                               "        Note over a0: 3 p.t"]  # fmt: skip
    assert lines[start + 3] == "    end"


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_text_becomes_one_safe_label_that_decodes_back(value: str) -> None:
    label = text(value)
    assert re.fullmatch(r"(?:[A-Za-z0-9 _.=(){}+\-/]|#\d+;)+", label)
    assert _decode(label) == (" ".join(value.split()) or " ")


def _hostile_prop() -> PropertyResult:
    steps = (
        Step(None, {}, {"mode": HOSTILE}),
        Step("ctl.act", {"p": HOSTILE}, {"mode": "x" + HOSTILE}, line=3),
        Step("ctl.act", {"p": "%%{init}%%"}, None, error=f"boom {HOSTILE}", line=4),
    )
    return PropertyResult(f"bad{HOSTILE}", "invariant", VIOLATED, 9, Trace(steps))


def test_hostile_names_and_values_stay_inside_their_labels() -> None:
    lines = sequence_diagram(_hostile_prop(), {"ctl": "controller"}).splitlines()
    assert all(_LINE.fullmatch(x) for x in lines), [x for x in lines if not _LINE.fullmatch(x)]
    shown = _decode("\n".join(lines))
    assert "error: boom " + " ".join(HOSTILE.split()) in shown
    assert "ctl.act(p=%%{init}%%)" in shown


MERMAID_JS = os.environ.get("KCHECK_MERMAID_JS")
CHROMIUM = shutil.which("chromium")


@pytest.mark.skipif(
    not (MERMAID_JS and CHROMIUM),
    reason="set KCHECK_MERMAID_JS to a mermaid.min.js (npm install mermaid) to render with it",
)
def test_mermaid_itself_draws_the_hostile_diagram_with_the_text_intact(tmp_path: Path) -> None:
    assert MERMAID_JS and CHROMIUM
    src = sequence_diagram(_hostile_prop(), {"ctl": "controller"})
    shutil.copy(MERMAID_JS, tmp_path / "mermaid.min.js")
    page = tmp_path / "page.html"
    page.write_text(
        '<html><head><meta charset="utf-8"></head><body>'
        f'<pre class="mermaid">{html.escape(src)}</pre><script src="mermaid.min.js"></script>'
        "<script>mermaid.initialize({startOnLoad: false}); mermaid.run().catch("
        "e => document.body.setAttribute('data-failed', String(e)));</script></body></html>",
        encoding="utf-8",
    )
    run = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path}",
         "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
        capture_output=True, timeout=180, check=False,
    )  # fmt: skip
    dom = run.stdout.decode("utf-8")
    assert "data-failed=" not in dom and "Syntax error" not in dom and "<svg" in dom
    texts = [
        html.unescape(re.sub(r"<[^>]+>", "", t))
        for t in re.findall(r"<tspan[^>]*>(.*?)</tspan>", dom)
    ]
    assert "error: boom " + " ".join(HOSTILE.split()) in texts
    assert "2 ctl.act(p=%%{init}%%) line 4" in texts
