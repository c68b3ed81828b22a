"""The HTML report: what it shows for a real invariant violation and a real lasso, escaping of
hostile text down to the element level, that it references nothing outside itself, that it
survives a missing `dot`, and that a real browser (Debian's chromium, headless and offline)
renders it and shows the trace."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import pytest

from kcheck import __version__
from kcheck.lang.frontend import load
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel
from kcheck.report.html import NO_DOT, to_html
from kcheck.result import CheckResult
from tests.report import HOSTILE, ROOT, hostile_result, verified

STALE = "models/scheduler_stale_snapshot.kdsl"
LASSO = "models/hpa_vs_apply.kdsl"
HAS_DOT = shutil.which("dot") is not None
NEEDS_DOT = pytest.mark.skipif(not HAS_DOT, reason="Graphviz `dot` is not installed")
CHROMIUM = shutil.which("chromium")
NO_CHROMIUM = (
    "chromium is not installed (apt-get install -y chromium); the HTML report is not checked in"
    " a real browser here, CI installs it"
)

# every element the report writes itself, and every element graphviz writes into its SVG: an
# element outside this set would be markup that came from the model
_PAGE = "html head meta title style body main header h1 h2 h3 p code span dl dt dd div ul li pre"
_FOLDED = "details summary"
_TABLES = "table thead tbody tr th td a section figure figcaption footer"
_SVG = "svg g polygon polyline path ellipse text title"
ALLOWED_TAGS = {tag for tags in (_PAGE, _FOLDED, _TABLES, _SVG) for tag in tags.split()}
SVG_NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


@cache
def compiled(path: str) -> CompiledModel:
    return compile_model(load(str(ROOT / path)).symbols, symmetry=True)


@cache
def report(path: str) -> str:
    return to_html(path, compiled(path), verified(path), __version__)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(page: str) -> _Tags:
    p = _Tags()
    p.feed(page)
    p.close()
    return p


def step_rows(page: str) -> list[str]:
    """The step numbers of every step-table row, in order, all counterexamples together."""
    return re.findall(r'<tr(?: class="[^"]*")?><td class="num">(\d+)</td>', page)


def test_report_shows_verdict_statistics_and_each_property() -> None:
    page = report(STALE)
    result = verified(STALE)
    assert page.startswith("<!DOCTYPE html>\n")
    assert '<header class="violated">' in page
    assert '<span class="badge violated verdict">violated</span>' in page
    assert "<title>kcheck: scheduler_stale_snapshot: violated</title>" in page
    for label, value in (
        ("engine", "explicit"),
        ("states", f"{result.stats.states:,}"),
        ("transitions", f"{result.stats.transitions:,}"),
        ("depth", str(result.stats.depth)),
        ("time", "0.00 s"),
        ("search", "every reachable state explored"),
    ):
        assert f"<div><dt>{label}</dt><dd>{value}</dd></div>" in page
    for p in result.properties:
        assert f'<td class="name">{p.name}</td><td><span class="badge ' in page
    assert (
        '<tr><td>invariant</td><td class="name">no_overcommit</td>'
        '<td><span class="badge violated">violated</span></td><td class="num">72</td>'
        '<td><a href="#cx-1">counterexample of 4 steps</a></td></tr>'
    ) in page
    assert f"Written by kcheck {__version__}" in page


def test_each_counterexample_has_pictures_and_a_step_table() -> None:
    page = report(STALE)
    assert "<h2>Counterexample for invariant no_overcommit (line 72), 4 steps</h2>" in page
    assert "The last state violates invariant no_overcommit." in page
    assert step_rows(page)[:5] == ["0", "1", "2", "3", "4"]
    assert (
        '<tr class="last"><td class="num">4</td>'
        '<td><span class="kind scheduler">scheduler</span>default</td>'
        '<td>default.bind(pod=Pod#0, node=Node#0) <span class="line">line 42</span></td>'
        '<td class="changes"><div>Pod#0.node: <span class="old">none</span> → '
        '<span class="new">Node#0</span></div></td></tr>'
    ) in page
    assert '<div class="created">+ Pod#0 {cpu=2, node=none, phase=Pending}</div>' in page
    sections = page.count('<section class="counterexample"')
    assert sections == sum(p.trace is not None for p in verified(STALE).properties)
    if HAS_DOT:
        assert page.count('<figure class="trace">') == page.count('<figure class="swimlane">')
        assert page.count("<svg") == 2 * sections
    assert page.count('<pre class="mono">sequenceDiagram\n') == sections


def test_a_lasso_marks_the_steps_that_repeat() -> None:
    page = report(LASSO)
    assert "<h2>Counterexample for property settles (line 51), 17 steps</h2>" in page
    assert "settles does not hold: steps 8-17 repeat forever (state 17 is state 7 again)." in page
    note = (
        '<tr class="loop-note"><td colspan="4">⟲ steps 8..17 repeat forever'
        " (state 17 is state 7 again)</td></tr>"
    )
    assert page.count(note) == 2  # settles and pods_follow
    first = page.split('<section class="counterexample" id="cx-2"')[0]
    assert first.count('<tr class="loop">') == 10  # steps 8..17
    assert first.index(note) < first.index('<tr class="loop"><td class="num">8</td>')
    assert step_rows(first) == [str(i) for i in range(18)]


@NEEDS_DOT
def test_pictures_are_inline_svg_with_unique_ids() -> None:
    page = report(LASSO)
    assert "<?xml" not in page and "<!-- " not in page
    assert page.count("<!DOCTYPE") == 1  # the page's own
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    assert 'id="cx-1-trace-graph0"' in page and 'id="cx-2-swimlane-graph0"' in page


@pytest.mark.parametrize("path", [STALE, LASSO])
def test_the_only_urls_are_svg_namespace_declarations(path: str) -> None:
    page = report(path)
    urls = {m.start(): m for m in re.finditer(r"https?://", page, re.IGNORECASE)}
    namespaces = {
        m.start(2): m.group(2) for m in re.finditer(r'\sxmlns(:xlink)?="(https?://[^"]*)"', page)
    }
    assert urls.keys() == namespaces.keys()
    assert set(namespaces.values()) <= SVG_NAMESPACES
    for start in namespaces:  # each declaration sits in an <svg ...> start tag
        tag_start = page.rindex("<", 0, start)
        assert page.startswith("<svg ", tag_start) and ">" not in page[tag_start:start]
    if HAS_DOT:
        assert set(namespaces.values()) == SVG_NAMESPACES
    # nor anything else a browser would fetch or run
    for needle in ("<script", "<link", "<img", "<iframe", "src=", "@import", "url(", "//"):
        assert needle not in page.replace('="http://www.w3.org/', ""), needle
    assert set(re.findall(r'href="(.)', page)) <= {"#"}


def test_hostile_text_is_escaped() -> None:
    page = to_html(f"dir/{HOSTILE}.kdsl", compiled(STALE), hostile_result(), "1<2&3")
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "a&lt;b&gt;&amp;c&quot;d&#x27;e|f]g[h`i*j_k\\x1bl\nm" in page
    assert "\x1b" not in page and "<b>" not in page
    assert 'content="kcheck 1&lt;2&amp;3"' in page
    tags = parsed(page)
    assert set(tags.tags) <= ALLOWED_TAGS, set(tags.tags) - ALLOWED_TAGS
    # a reader sees the hostile text verbatim, as text
    assert "<script>alert(1)</script>" in "".join(tags.text)
    # every status gets its badge, an error step shows its error
    for status in ("violated", "inconclusive", "not-checked", "holds"):
        assert f'<span class="badge {status}">' in page
    assert '<div class="error">error: boom a&lt;b&gt;' in page


def test_real_reports_parse_into_only_the_elements_kcheck_and_graphviz_write() -> None:
    for path in (STALE, LASSO):
        assert set(parsed(report(path)).tags) <= ALLOWED_TAGS


def test_without_dot_the_report_says_so_instead_of_failing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no `dot` on PATH
    page = to_html(STALE, compiled(STALE), verified(STALE), __version__)
    assert "<svg" not in page and "http://" not in page and "https://" not in page
    assert page.count(f'<p class="pictures-missing">{html.escape(NO_DOT)}</p>') == page.count(
        '<section class="counterexample"'
    )
    assert "<h3>Step by step</h3>" in page


def test_a_run_without_counterexamples_says_there_is_none() -> None:
    result = verified(STALE)
    holds = CheckResult(
        result.model, result.engine, result.stats, [result.properties[1]], True, None, []
    )
    page = to_html(STALE, compiled(STALE), holds, __version__)
    assert '<header class="holds">' in page
    assert "No counterexample" in page and "<section" not in page


# --- in a real browser ----------------------------------------------------------------------


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            # offline: any host name fails to resolve, so a page that needs the network breaks
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={tmp_path / 'profile'}",
            *args,
        ],
        capture_output=True,
        timeout=180,
        check=False,
    )


@pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)
@pytest.mark.parametrize("path", [STALE, LASSO])
def test_a_real_browser_renders_the_report_and_shows_the_trace(path: str, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(report(path), encoding="utf-8")
    run = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")[-2000:]
    dom = run.stdout.decode("utf-8")
    assert '<table class="steps mono">' in dom
    assert "<h3>Step by step</h3>" in dom
    for p in verified(path).properties:
        assert f'<td class="name">{p.name}</td>' in dom
    assert dom.count('<section class="counterexample"') >= 1
    if HAS_DOT:
        assert "<svg " in dom
        # each counterexample's sequence diagram is drawn: an SVG with a column head per acting
        # actor and a box per step, as text the browser lays out (no script draws it)
        figures = re.findall(r'<figure class="swimlane">(.*?)</figure>', dom, re.S)
        traced = [p for p in verified(path).properties if p.trace is not None]
        assert len(figures) == len(traced)
        for figure, p in zip(figures, traced, strict=True):
            assert p.trace is not None and "<svg " in figure
            texts = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", figure)]
            for step in p.trace.steps[1:]:
                assert step.action is not None
                assert step.action.split(".")[0] in texts
                assert any(t.startswith(f"{step.action}(") for t in texts), step.action
    assert dom.count('<details class="mermaid-source">') == dom.count(
        '<section class="counterexample"'
    )
    shot = tmp_path / "report.png"
    run = _chromium(tmp_path, "--window-size=1280,2400", f"--screenshot={shot}", page.as_uri())
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 2400)
    assert len(data) > 20_000  # a blank page compresses to a few hundred bytes
