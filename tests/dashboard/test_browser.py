"""`kcheck explore` in a real browser: Playwright drives Debian's chromium (headless; nothing is
downloaded) against the command as a user starts it. It opens the counterexample report of
models/scheduler_stale_snapshot.kdsl that `kcheck verify --format json` writes, clicks through
its steps, checks the overcommitted node and the broken invariant drawn at the end, takes a
step by hand, searches for a state, and is refused a report of another model; on
models/run_service.kdsl it sees the service list its ready pod and opens a `kcheck simulate`
report's coverage. Screenshots go
to the test's tmp directory, and to reports/screenshots/ when KCHECK_SCREENSHOTS is set."""

from __future__ import annotations

import contextlib
import json
import os
import re
import selectors
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.dashboard.conftest import MODELS, STALE

CHROMIUM = shutil.which("chromium")
ROOT = Path(__file__).resolve().parents[2]
WAIT_MS = 30_000  # every wait on the page
START_SECONDS = 60  # the server's start, model compilation included
KCHECK = "import sys; from kcheck.cli.main import main; sys.exit(main())"


def kcheck(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", KCHECK, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def server() -> Iterator[str]:
    """`kcheck explore` of the stale-snapshot model on a free port."""
    with serving(STALE) as url:
        yield url


@contextlib.contextmanager
def serving(model: Path) -> Iterator[str]:
    """`kcheck explore MODEL` on a free port; yields its address once it listens."""
    proc = subprocess.Popen(
        [sys.executable, "-c", KCHECK, "explore", str(model), "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    try:
        sel = selectors.DefaultSelector()
        sel.register(proc.stderr, selectors.EVENT_READ)
        deadline = time.monotonic() + START_SECONDS
        url = None
        seen = []
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            if sel.select(timeout=max(0.0, deadline - time.monotonic())):
                line = proc.stderr.readline()
                seen.append(line)
                m = re.search(r"http://127\.0\.0\.1:\d+/", line)
                url = m.group(0) if m else None
        assert url is not None, f"kcheck explore did not start: {''.join(seen)}"
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def shots(tmp_path: Path) -> list[Path]:
    dirs = [tmp_path / "screenshots"]
    if os.environ.get("KCHECK_SCREENSHOTS"):
        dirs.append(ROOT / "reports" / "screenshots")
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    return dirs


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/system.sh)")
def test_a_counterexample_clicked_through_in_chromium_ends_on_the_overcommitted_node(
    server: str, tmp_path: Path
) -> None:
    report = tmp_path / "stale.json"
    done = kcheck("verify", str(STALE), "--format", "json", "-o", str(report), "-q")
    assert done.returncode == 1, done.stderr
    trace = next(p for p in json.loads(report.read_text())["properties"] if p["trace"])["trace"]
    last = trace[-1]["state"]
    used = {n: 0 for n in last["Node"]}
    for pod in last["Pod"].values():
        if pod["node"] is not None:
            used[pod["node"]] += pod["cpu"]
    over = [n for n, u in used.items() if u > last["Node"][n]["cpu"]]
    assert len(over) == 1
    other = tmp_path / "other.json"
    kcheck("verify", str(MODELS / "replicaset_stale_cache.kdsl"), "--format", "json", "-o",
           str(other), "-q")  # fmt: skip
    log = tmp_path / "run.jsonl"
    run = kcheck(
        "run", str(STALE), "--driver", "sim", "--timeout", "5", "-q", "--log-json", str(log)
    )
    assert run.returncode == 1, run.stderr  # the live run finds the overcommit too
    dirs = shots(tmp_path)

    def snap(page: Page, name: str) -> None:
        for d in dirs:
            page.screenshot(path=str(d / f"{name}.png"), full_page=True)

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(WAIT_MS)
            requested: list[str] = []
            page.on("request", lambda r: requested.append(r.url))
            page.goto(server)
            page.wait_for_selector("#enabled button.take")
            assert page.inner_text("#model") == "scheduler_stale_snapshot"
            assert page.locator(".node").count() == 2
            snap(page, "0-initial")

            page.set_input_files("#report-file", str(report))
            page.wait_for_function(
                "document.getElementById('origin').textContent.includes('no_overcommit')"
            )
            steps = page.locator("#steps li")
            assert steps.count() == len(trace)
            for i in range(len(trace)):
                page.click(f"#steps li[data-index='{i}'] button")
                page.wait_for_selector(f"#steps li.current[data-index='{i}']")
                snap(page, f"1-counterexample-step-{i}")
            drawn = page.locator(".node.over")
            assert drawn.count() == 1
            assert drawn.get_attribute("data-name") == over[0]
            label = drawn.locator(".bar .label").inner_text()
            assert label == f"{used[over[0]]} / {last['Node'][over[0]]['cpu']} OVERCOMMITTED"
            pods_drawn = drawn.locator(".pod").evaluate_all("els => els.map(e => e.dataset.name)")
            on_node = [name for name, pod in last["Pod"].items() if pod["node"] == over[0]]
            assert sorted(pods_drawn) == sorted(on_node)
            values = page.inner_text("#invariants li[data-name='no_overcommit'] details")
            assert f"used(n) = {used[over[0]]}" in values  # open: the invariant is broken
            broken = page.locator("#invariants li.broken")
            assert broken.evaluate_all("els => els.map(e => e.dataset.name)") == ["no_overcommit"]

            # a step by hand from the initial state drops the rest of the trace
            page.click("#steps li[data-index='0'] button")
            page.wait_for_selector("#steps li.current[data-index='0']")
            page.click("#enabled button.take >> nth=0")
            page.wait_for_function("document.querySelectorAll('#steps li').length === 2")
            assert page.inner_text("#origin") == ""

            page.fill("#search-input", "exists p in Pod: p.phase == Running")
            page.click("#search-go")
            page.wait_for_function(
                "document.getElementById('message').textContent.startsWith('found')"
            )
            assert page.locator(".pod.running").count() == 1
            snap(page, "2-search")

            page.click("#coverage-go")
            page.wait_for_selector("#coverage tr[data-action='workload.submit']")
            assert page.locator("#coverage tr.never").count() == 0
            snap(page, "2-coverage")

            page.set_input_files("#report-file", str(other))
            page.wait_for_function(
                "document.getElementById('message').textContent.includes('replicaset_stale_cache')"
            )
            assert page.inner_text("#message").startswith("the report is of model")
            snap(page, "3-wrong-report")
            page.fill("#follow-input", str(log))
            page.click("#follow-go")
            page.wait_for_function(
                "document.getElementById('live-status').textContent.includes('run ended')"
            )
            assert page.locator("#events li").count() == len(log.read_text().splitlines())
            assert page.locator(".node.over").count() == 1
            assert "no_overcommit" in page.inner_text("#live-status")
            snap(page, "4-live-run")

            page.click("#check-go")
            page.wait_for_selector("#check-verdict")
            assert page.inner_text("#check-verdict") == "violated"
            page.wait_for_function(
                "document.getElementById('origin').textContent === 'counterexample: no_overcommit'"
            )
            snap(page, "5-check")

            # nothing came from anywhere but the dashboard itself
            assert requested and all(url.startswith(server) for url in requested)
        finally:
            browser.close()
    assert (dirs[0] / "1-counterexample-step-0.png").stat().st_size > 0


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/system.sh)")
def test_a_broken_model_shows_its_diagnostic_until_the_file_is_fixed(tmp_path: Path) -> None:
    model = tmp_path / "edited.kdsl"
    good = STALE.read_text()
    model.write_text(good.replace("used(n) <= n.cpu", "used(n) <= nope", 1))
    dirs = shots(tmp_path)
    with serving(model) as url, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(WAIT_MS)
            page.goto(url)
            page.wait_for_selector("#diagnostics")
            shown = page.inner_text("#diagnostics")
            assert f"{model}:72:" in shown and "unknown name `nope`" in shown
            assert "^" in shown
            assert page.locator(".node").count() == 0
            for d in dirs:
                page.screenshot(path=str(d / "6-model-with-errors.png"), full_page=True)
            model.write_text(good)  # the page polls the file once a second
            page.wait_for_selector(".node")
            assert page.locator(".node").count() == 2
            assert page.locator("#broken").is_hidden()
            assert "saved without errors" in page.inner_text("#message")
        finally:
            browser.close()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/system.sh)")
def test_a_service_lists_its_ready_pods_and_a_simulate_report_its_coverage(tmp_path: Path) -> None:
    model = MODELS / "run_service.kdsl"
    sim = tmp_path / "sim.json"
    done = kcheck("simulate", str(model), "--traces", "20", "--depth", "2", "--format", "json",
                  "-o", str(sim), "-q")  # fmt: skip
    assert done.returncode == 3, done.stderr  # a simulation never proves a property
    never = json.loads(sim.read_text())["coverage"]["never_fired"]
    assert "kubelet.probe_pass" in never  # two steps cannot reach a probe
    dirs = shots(tmp_path)
    with serving(model) as url, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(WAIT_MS)
            page.goto(url)
            page.wait_for_selector(".service[data-name='Service#0']")
            # a Web pod is created, started and passes its probe: the service lists it ready
            for action, count in (("deployment.scale_up", 2), ("kubelet.start", 3),
                                  ("kubelet.probe_pass", 4)):  # fmt: skip
                page.click(f"#enabled button.take[data-action='{action}'] >> nth=0")
                page.wait_for_function(f"document.querySelectorAll('#steps li').length === {count}")
            endpoint = page.locator(".service[data-name='Service#0'] .endpoint")
            assert endpoint.count() == 1
            assert endpoint.get_attribute("class") == "endpoint ready"
            pod = endpoint.get_attribute("data-pod")
            endpoint.hover()  # the pod it routes to is outlined where it is drawn
            page.wait_for_selector(f"#picture .pod.linked[data-name='{pod}']")
            for d in dirs:
                page.screenshot(path=str(d / "7-service.png"), full_page=True)

            page.set_input_files("#report-file", str(sim))
            page.wait_for_selector("#simulated tr[data-action='deployment.scale_up']")
            assert (
                page.locator("#simulated tr.never").evaluate_all(
                    "els => els.map(e => e.dataset.action)"
                )
                == never
            )
            for d in dirs:
                page.screenshot(path=str(d / "8-simulated-coverage.png"), full_page=True)
        finally:
            browser.close()
