"""Issue 12 points 6, 7 and 12: every way a run can be cut short (SIGINT, SIGTERM, --timeout,
--max-memory, MemoryError) ends like a limit, keeping what was found and writing every report;
--timeout bounds the whole command; inputs that used to crash, hang, lose data or reach the
terminal raw are refused with a clear error before any work."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from rich.console import Console

import kcheck.explore.bfs as bfs
from kcheck.cli.common import Progress
from kcheck.cli.main import main
from kcheck.explore.bfs import Limits, explore
from kcheck.explore.budget import Budget
from kcheck.lang.frontend import load
from kcheck.model.compile import compile_model
from kcheck.result import INCONCLUSIVE, VIOLATED, Stats
from tests.terminal_signals import default_sigint, sigint_as_at_a_terminal

MODELS = Path(__file__).resolve().parents[1] / "models"

# About 8 million states: no search here ever completes it, and `early` fails at depth 5.
BIG = """\
model big
var a: 0..200 = 0
var b: 0..200 = 0
var c: 0..200 = 0
process p {
  action ia { a := (a + 1) % 201 }
  action ib { b := (b + 1) % 201 }
  action ic { c := (c + 1) % 201 }
}
invariant early: a < 5
invariant small: a + b + c < 590
"""


def invoke(*args: str) -> Result:
    r = CliRunner().invoke(main, list(args))
    assert "Traceback" not in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    return r


def write(tmp_path: Path, text: str, name: str = "m.kdsl") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def kcheck_process(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """kcheck in a process of its own, bounded in time."""
    code = "import sys; from kcheck.cli.main import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# ---- point 6: signals and memory end like a limit --------------------------------------------


@pytest.fixture
def signal_once_searching(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[int], None]]:
    """Sends a signal to this process once a search has begun (and run a moment)."""
    started = threading.Event()
    real = bfs._search

    def search(*args: Any, **kwargs: Any) -> Any:
        started.set()
        return real(*args, **kwargs)

    monkeypatch.setattr(bfs, "_search", search)
    threads: list[threading.Thread] = []

    def arm(signum: int) -> None:
        def send() -> None:
            if started.wait(timeout=60):
                time.sleep(0.5)
                os.kill(os.getpid(), signum)

        threads.append(threading.Thread(target=send, daemon=True))
        threads[-1].start()

    with sigint_as_at_a_terminal():  # tests/terminal_signals.py
        try:
            yield arm
        finally:
            for t in threads:
                t.join(timeout=60)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_keeps_the_violations_found_and_writes_every_report(
    tmp_path: Path, signal_once_searching: Callable[[int], None], signum: int
) -> None:
    model = write(tmp_path, BIG)
    junit, sarif = tmp_path / "r.xml", tmp_path / "r.sarif"
    signal_once_searching(signum)
    r = invoke(
        "verify", model, "-q", "--engine", "explicit", "--format", "json",
        "--junit", str(junit), "--sarif", str(sarif),
    )  # fmt: skip
    assert r.exit_code == 1, r.output  # a violation was found before the signal
    out = json.loads(r.stdout)
    assert out["limit"] == signal.Signals(signum).name
    assert out["stats"]["states"] > 0
    status = {p["name"]: p["status"] for p in out["properties"]}
    assert status == {"early": VIOLATED, "small": INCONCLUSIVE}
    assert "early" in junit.read_text(encoding="utf-8")
    assert json.loads(sarif.read_text(encoding="utf-8"))["runs"]


def test_max_memory_stops_the_search_as_a_limit(tmp_path: Path) -> None:
    r = invoke("verify", write(tmp_path, BIG), "-q", "--max-memory", "1M", "--format", "json")
    assert r.exit_code == 3, r.output
    assert json.loads(r.stdout)["limit"] == "max-memory 1 MB"


@pytest.mark.parametrize("size", ["0", "-5M", "lots", "1Q", "nan", "inf", "١M"])
def test_a_bad_max_memory_is_a_usage_error(tmp_path: Path, size: str) -> None:
    r = invoke("verify", write(tmp_path, BIG), "--max-memory", size)
    assert r.exit_code == 2
    assert "--max-memory" in r.output


def test_memory_error_in_the_search_is_a_limit_that_keeps_the_violation(tmp_path: Path) -> None:
    compiled = compile_model(load(write(tmp_path, BIG)).symbols, symmetry=False)
    calls = 0

    def successors(s: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > 2000:
            raise MemoryError
        return compiled.successors(s)

    starving = dataclasses.replace(compiled, successors=successors)
    result = explore(starving, symmetry=False)
    assert result.limit == "out of memory"
    assert {p.name: p.status for p in result.properties} == {
        "early": VIOLATED,
        "small": INCONCLUSIVE,
    }
    assert result.properties[0].trace is not None


def test_memory_error_outside_the_search_is_inconclusive_not_an_internal_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_memory(*args: Any, **kwargs: Any) -> Any:
        raise MemoryError

    monkeypatch.setattr("kcheck.model.compile.compile_model", no_memory)
    r = invoke("verify", write(tmp_path, BIG))
    assert r.exit_code == 3
    assert "ran out of memory" in r.output
    assert "internal error" not in r.output


# ---- point 7: ranges, one deadline, one long step -------------------------------------------

RANGES = """\
model ranges
kind Pod[4] { n: 0..3 }
var x: 0..1000000000000 = 0
var big: 0..2000000 = 0
init { for i in 0..1000000000000 { x := i } }
process p {
  action a { x := any 0..1000000000000 }
  action b { choose i in 0..big { x := i } }
  action c when (count i in 1..3000000 where i == x) > 0 { x := 0 }
  action d when forall a in Pod: forall c in 0..9999: forall d in 0..9999: a.n == 0 { x := 0 }
  action e { x := any 0..999999 }
}
invariant ok: exists i in 0..1099511627776: i == x
"""


def test_enumerated_ranges_above_the_limit_are_refused_at_check_time(tmp_path: Path) -> None:
    path = write(tmp_path, RANGES)
    r = invoke("check", path)
    assert r.exit_code == 2
    found = sorted(
        int(line.split(":")[1])
        for line in r.output.splitlines()
        if line.startswith(path) and "error[KC0405]" in line
    )
    assert found == [5, 7, 8, 9, 10, 13]  # not line 11: 1,000,000 values are allowed
    assert "this range can have 1,000,000,000,001 values (0..1000000000000)" in r.output
    assert "take up to 400,000,000 combinations" in r.output


def test_a_deadline_interrupts_one_long_step(tmp_path: Path) -> None:
    # The bound is unknown at check time, so the range passes; 10^8 steps of init alone would
    # take minutes.
    path = write(
        tmp_path,
        """\
        model longstep
        var k: 1..1 = 1
        var x: 0..1 = 0
        init { for i in 0..(k * 100000000) { x := i % 2 } }
        process p { action a { x := 1 - x } }
        invariant ok: x >= 0
        """,
    )
    done = kcheck_process("verify", path, "-q", "--timeout", "1", "--format", "json")
    assert done.returncode == 3, done.stderr
    out = json.loads(done.stdout)
    assert out["limit"] == "timeout 1s"
    assert out["properties"][0]["status"] == INCONCLUSIVE


def test_one_deadline_covers_every_search_of_the_command() -> None:
    """A quantified temporal property gets a second search (without symmetry); it shares the
    command's deadline instead of starting a budget of its own."""
    compiled = compile_model(load(str(MODELS / "kubelet.kdsl")).symbols, symmetry=True)
    assert any(p.quantified for p in compiled.properties)
    spent = Budget(deadline=time.monotonic() - 1, timeout=5)
    result = explore(compiled, limits=Limits(timeout=5, budget=spent))
    assert result.limit == "timeout 5s"
    assert result.properties
    assert all(p.status == INCONCLUSIVE for p in result.properties)


def test_the_progress_rate_is_never_negative() -> None:
    screen = io.StringIO()
    progress = Progress(enabled=True, console=Console(file=screen, force_terminal=True, width=120))
    progress(Stats(states=50_000, seconds=2.0))
    progress(Stats(states=100, seconds=0.1))  # the second search of a quantified property
    progress.close()
    rates = [int(r.replace(",", "")) for r in re.findall(r"(-?[\d,]+) states/s", screen.getvalue())]
    assert rates and min(rates) >= 0
    assert max(rates) <= 50_000 / 2.0  # the first figures' rate is over the search's own time


def test_the_progress_line_fits_a_narrow_terminal_and_is_gone_at_the_end() -> None:
    screen = io.StringIO()
    progress = Progress(enabled=True, console=Console(file=screen, force_terminal=True, width=40))
    progress(Stats(states=1_234_567, depth=12, seconds=3.0, queue=99_999))
    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())
    assert "1,234,567 states" in drawn
    assert all(len(line) <= 40 for line in drawn.replace("\r", "\n").splitlines())
    progress.close()
    assert progress.live is None


def test_off_a_terminal_the_progress_is_a_line_a_minute(capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress(enabled=True, console=Console(file=io.StringIO(), force_terminal=False))
    assert not progress.tty
    progress.last_print -= Progress.LOG_EVERY  # a minute has passed
    progress(Stats(states=10, seconds=60.0))
    progress(Stats(states=20, seconds=61.0))  # a second later: nothing
    assert capsys.readouterr().err.count("states/s") == 1


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
@pytest.mark.parametrize(
    "command",
    [("verify", "--timeout"), *(("run", f) for f in ("--timeout", "--tick", "--settle", "--hold"))],
)
def test_non_finite_times_are_refused(tmp_path: Path, command: tuple[str, str], value: str) -> None:
    r = invoke(command[0], write(tmp_path, BIG), f"{command[1]}={value}")
    assert r.exit_code == 2
    assert "finite number of seconds" in r.output or "not in the range" in r.output


# ---- point 12: report paths, -D, odd files, native cache, globs, escapes, no actions --------


@pytest.mark.parametrize(
    "flag", ["-o", "--junit", "--sarif", "--markdown", "--report", "--graph", "--swimlane"]
)
def test_a_report_path_is_checked_before_the_search(tmp_path: Path, flag: str) -> None:
    model = write(tmp_path, BIG)
    r = invoke("verify", model, flag, str(tmp_path / "missing" / "r.dot"))
    assert r.exit_code == 2
    assert "does not exist" in r.output
    assert "distinct states" not in r.output  # no search was wasted


@pytest.mark.parametrize("flag", ["-o", "--junit", "--sarif", "--markdown", "--report"])
def test_no_report_may_overwrite_the_model(tmp_path: Path, flag: str) -> None:
    model = write(tmp_path, BIG)
    link = tmp_path / "link.kdsl"
    link.symlink_to(model)
    for target in (model, str(link)):
        r = invoke("verify", model, "-q", flag, target)
        assert r.exit_code == 2
        assert "that is the model file" in r.output
    assert Path(model).read_text(encoding="utf-8") == BIG


@pytest.mark.parametrize("flag", ["-o", "--log-json"])
def test_run_refuses_to_overwrite_the_model(tmp_path: Path, flag: str) -> None:
    model = write(tmp_path, BIG)
    r = invoke("run", model, "-q", flag, model)
    assert r.exit_code == 2
    assert "that is the model file" in r.output
    assert Path(model).read_text(encoding="utf-8") == BIG


def test_two_reports_may_not_share_a_file(tmp_path: Path) -> None:
    r = invoke("verify", write(tmp_path, BIG), "-o", "r.txt", "--markdown", "r.txt")
    assert r.exit_code == 2
    assert "--output writes the same file" in r.output


@pytest.mark.parametrize(
    ("define", "message"),
    [
        ("replicas=²", "VALUE must be an integer"),
        ("replicas=١", "VALUE must be an integer"),
        ("replicas=true", "`replicas` is a param of type 0..3, not bool"),
        ("MAX_REPLICAS=false", "`MAX_REPLICAS` is an integer const, not a bool"),
    ],
)
def test_bad_defines_are_refused(define: str, message: str) -> None:
    r = invoke("check", "-D", define, str(MODELS / "replicaset.kdsl"))
    assert r.exit_code == 2
    assert message in r.output
    assert r.output.count(message) == 1


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.kdsl"
    os.mkfifo(fifo)
    for path in ("/dev/zero", str(fifo)):
        done = kcheck_process("check", path, timeout=60)  # a FIFO used to block forever
        assert done.returncode == 2
        assert f"{path}: error[KC0104]: cannot read {path}: it is not a regular file" in (
            done.stderr
        )


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.kdsl"
    path.write_bytes(
        b"\xef\xbb\xbfmodel bom\nvar x: 0..1 = 0\nprocess p { action a { x := 1 - x } }\n"
        b"invariant ok: x >= 0\n"
    )
    r = invoke("verify", str(path), "-q")
    assert r.exit_code == 0, r.output


def test_a_damaged_native_module_is_rebuilt(tmp_path: Path) -> None:
    # Each load in a process of its own: truncating a module this process has mapped would
    # kill it with the very SIGBUS the check prevents.
    def load_in_a_process() -> str:
        done = subprocess.run(
            [sys.executable, "-c", "from kcheck.model import native; print(native.load())"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "KCHECK_CACHE": str(tmp_path), "KCHECK_NATIVE": "1"},
            check=False,
        )
        assert done.returncode == 0, done.stderr  # not -7 (SIGBUS)
        return done.stdout

    if "module" not in load_in_a_process():
        pytest.skip("no C compiler here")
    [module] = tmp_path.glob("_canon_*.so")
    whole = module.read_bytes()
    module.write_bytes(whole[:4096])
    assert "module" in load_in_a_process()
    assert module.read_bytes() == whole


def test_ci_globs_do_not_follow_symlink_loops(tmp_path: Path) -> None:
    sub = tmp_path / "models" / "sub"
    sub.mkdir(parents=True)
    (tmp_path / "models" / "a.kdsl").write_text("x")
    (sub / "b.kdsl").write_text("x")
    (sub / "up").symlink_to("..")
    (sub / "top").symlink_to("../..")
    code = (
        "import sys; from pathlib import Path; from kcheck.ci.plan import expand; "
        "print([str(p.relative_to(sys.argv[1])) for p in expand(Path(sys.argv[1]), sys.argv[2])])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path), "models/**/*.kdsl"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['models/a.kdsl', 'models/sub/b.kdsl']"


def test_escape_sequences_never_reach_the_terminal_raw(tmp_path: Path) -> None:
    folder = tmp_path / "evil\x1b]0;pwned\x07"
    folder.mkdir()
    bad = write(folder, "model m\n// \x1b[2J wiped\nvar x: 0..1 = 0 \x1b[31m\n")
    good = write(folder, "model m\nvar x: 0..1 = 0\nprocess p { action a { x := 1 - x } }\n"
                 "invariant ok: x >= 0\n", "good.kdsl")  # fmt: skip
    for r in (invoke("check", bad), invoke("verify", good), invoke("verify", bad)):
        assert "\x1b" not in r.output and "\x07" not in r.output
    r = invoke("check", bad)
    assert "evil\\x1b]0;pwned\\x07" in r.output
    assert "\\x1b[31m" in r.output  # the source line, escaped
    # the caret still stands under the offending character
    lines = r.output.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("   3 | "))
    assert lines[row][lines[row + 1].index("^")] == "\\"


def test_a_model_without_actions_holds_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, "model still\nvar x: 0..1 = 0\ninvariant ok: x == 0\n")
    r = invoke("verify", path, "--format", "json")
    assert r.exit_code == 0
    assert "warning[KC0503]: the model has no actions" in r.stderr
    assert any("no actions" in n for n in json.loads(r.stdout)["notes"])


def _rss_mb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_ctrl_c_on_a_verify_process_keeps_its_result(tmp_path: Path) -> None:
    """As a user at a terminal: the search is under way (its memory has grown well past
    start-up), Ctrl-C, and the violation found, the statistics and the report are all there."""
    model = write(tmp_path, BIG)
    junit = tmp_path / "junit.xml"
    code = "import sys; from kcheck.cli.main import main; sys.exit(main())"
    args = ["verify", model, "-q", "--engine", "explicit", "--junit", str(junit)]
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,  # as a terminal's user runs it (tests/terminal_signals.py)
    )
    try:
        for _ in range(1200):  # at most two minutes
            # start-up is ~45 MB; the packed store holds this model's 8 million states in ~200
            if proc.poll() is not None or _rss_mb(proc.pid) > 100:
                break
            time.sleep(0.1)
        assert proc.poll() is None, "the search ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1, err
    assert "stopped at SIGINT" in out
    assert "early" in out and "counterexample" in out
    assert "early" in junit.read_text(encoding="utf-8")
