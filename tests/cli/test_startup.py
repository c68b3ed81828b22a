"""Start-up of `kcheck verify`: what a plain run leaves unimported (each costs start-up time;
benchmarks/startup.py measures it), and the cached byte-code of a model's generated Python."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kcheck.model import native

ROOT = Path(__file__).resolve().parents[2]

# imported only by what a plain `kcheck verify MODEL` does not do: draw a picture, write a
# JUnit/SARIF/Markdown file, redraw a progress line, search distributed, simulate on several
# processes, build a C extension, find package data through importlib.resources
NOT_NEEDED = (
    "graphviz",
    "rich.live",
    "kcheck.report.junit",
    "kcheck.report.sarif",
    "kcheck.report.markdown",
    "kcheck.distributed.partition",
    "multiprocessing",
    "socket",
    "subprocess",
    "sysconfig",
    "importlib.resources",
    "z3",
    "hypothesis",
    "ray",
)

PROBE = """
import sys
sys.argv = ["kcheck", "verify", {model!r}, "-q"]
from kcheck.cli.main import main
try:
    main()
except SystemExit as e:
    code = e.code
print(code, *sorted(m for m in {names!r} if m in sys.modules))
"""


def test_verify_imports_only_what_it_uses() -> None:
    probe = PROBE.format(model=str(ROOT / "models" / "replicaset.kdsl"), names=NOT_NEEDED)
    for _ in range(2):  # the first run may build the C extensions (subprocess, sysconfig)
        done = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
        )
    assert done.returncode == 0, done.stderr
    code, *imported = done.stdout.splitlines()[-1].split()
    assert code == "0"  # the model holds: the run went through the search and the report
    assert imported == []


def test_generated_code_is_compiled_once_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KCHECK_CACHE", str(tmp_path))
    source = "def f(x):\n    return x + 41\n"
    first = native.compiled_code(source, "<kcheck model m>")
    (cached,) = (tmp_path / "code").iterdir()
    calls: list[object] = []
    monkeypatch.setattr("builtins.compile", lambda *a, **k: calls.append(a))
    again = native.compiled_code(source, "<kcheck model m>")
    assert calls == []  # read back, not compiled
    assert again == first and again.co_filename == "<kcheck model m>"
    ns: dict[str, object] = {}
    exec(again, ns)
    assert ns["f"](1) == 42  # type: ignore[operator]
    # another source or file name is another entry
    monkeypatch.undo()
    monkeypatch.setenv("KCHECK_CACHE", str(tmp_path))
    native.compiled_code(source, "<kcheck model other>")
    assert len(list((tmp_path / "code").iterdir())) == 2
    assert cached.exists()


def test_a_damaged_code_cache_is_compiled_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KCHECK_CACHE", str(tmp_path))
    source = "X = 7\n"
    native.compiled_code(source, "<kcheck model m>")
    (cached,) = (tmp_path / "code").iterdir()
    good = cached.read_bytes()
    for damaged in (good[:40], good[:32] + b"\x00" * (len(good) - 32), b"", good[:-1] + b"?"):
        cached.write_bytes(damaged)
        ns: dict[str, object] = {}
        exec(native.compiled_code(source, "<kcheck model m>"), ns)
        assert ns["X"] == 7
        assert cached.read_bytes() == good  # rewritten


def test_a_distributed_worker_imports_no_syntax_tree() -> None:
    # a Ray worker imports the partition to start: the front end's modules would add about
    # 0.2 s to every worker's start-up (benchmarks/distributed_speedup.md)
    probe = (
        "import sys; import kcheck.distributed.native_partition; "
        "print(sorted(m for m in sys.modules if m.startswith('kcheck.lang.ast')"
        " or m in ('kcheck.lang.symbols', 'kcheck.lang.lists', 'kcheck.model.coverage')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"
