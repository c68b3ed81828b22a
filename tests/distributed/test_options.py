"""`--workers` and `--ray` as the dispatcher takes them: refused with a hint where they cannot
apply, never silently ignored."""

from __future__ import annotations

import sys

import pytest

from kcheck.distributed import transport
from kcheck.engines.dispatch import EngineOptions, Refused, check
from kcheck.explore.bfs import Limits
from kcheck.explore.timelock import ALLOWED_NOTE, TIMELOCK
from kcheck.lang.frontend import load
from kcheck.model.compile import compile_model
from kcheck.result import VIOLATED


def _replicaset() -> tuple[object, object]:
    checked = load("models/replicaset.kdsl")
    return compile_model(checked.symbols), checked.symbols


def test_z3_engines_refuse_workers() -> None:
    model, symbols = _replicaset()
    for engine in ("bmc", "induction"):
        with pytest.raises(Refused, match="--workers and --ray are for the explicit search"):
            check(model, symbols, None, None, EngineOptions(engine, workers=2))  # type: ignore[arg-type]


def test_without_ray_the_hint_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails
    model, symbols = _replicaset()
    with pytest.raises(Refused, match=r"pip install 'kcheck\[distributed\]'"):
        check(model, symbols, None, None, EngineOptions("explicit", workers=2))  # type: ignore[arg-type]


def test_auto_with_workers_is_the_distributed_search(monkeypatch: pytest.MonkeyPatch) -> None:
    # --engine auto is the default: --workers must reach the distributed search there too,
    # never be dropped silently (here it stops at the missing Ray, which proves it was asked)
    monkeypatch.setitem(sys.modules, "ray", None)
    model, symbols = _replicaset()
    for options in (EngineOptions("auto", workers=2), EngineOptions("auto", ray_address="x:1")):
        with pytest.raises(Refused, match="need Ray"):
            check(model, symbols, None, None, options)  # type: ignore[arg-type]


def test_an_address_with_no_cluster_is_refused_at_once() -> None:
    pytest.importorskip("ray")
    model, symbols = _replicaset()
    # port 1 has no listener: Ray itself would retry for minutes
    for address, said in (
        ("127.0.0.1:1", "cannot reach the Ray cluster"),
        ("nowhere", "HOST:PORT"),
    ):
        with pytest.raises(Refused, match=said):
            check(model, symbols, None, None, EngineOptions("explicit", ray_address=address))  # type: ignore[arg-type]


def test_the_distributed_search_looks_for_timelocks(monkeypatch: pytest.MonkeyPatch) -> None:
    # the Ray workers replaced by partitions in this process: the dispatcher's own answer, which
    # used to add "the distributed search does not look for timelocks"
    monkeypatch.setattr(transport, "RayWorkers", lambda r, n, _: transport.Local(r, n or 2))
    for path, locked in (("tests/fixtures/timelock.kdsl", True),
                         ("models/leader_election_renew_margin.kdsl", False)):  # fmt: skip
        checked = load(path)
        model = compile_model(checked.symbols)
        assert model.timed
        for engine in ("explicit", "auto"):
            got = check(model, checked.symbols, None, None, EngineOptions(engine, workers=2))
            lock = [(p.name, p.status) for p in got.properties if p.kind == "timelock"]
            assert lock == ([(TIMELOCK, VIOLATED)] if locked else [])
            assert not any("timelock" in n for n in got.notes), got.notes
        allowed = EngineOptions("explicit", Limits(allow_timelocks=True), workers=2)
        got = check(model, checked.symbols, None, None, allowed)
        assert not any(p.kind == "timelock" for p in got.properties)
        assert ALLOWED_NOTE in got.notes


def test_a_search_mostly_spent_starting_workers_suggests_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # workers that take 1.2 s to start, on a search of milliseconds: the note says what is
    # faster on one machine; workers that start at once get no such note
    import time

    def slow(recipe: object, n: int | None, _: object) -> transport.Local:
        time.sleep(1.2)
        return transport.Local(recipe, n or 2)  # type: ignore[arg-type]

    checked = load("tests/fixtures/timelock.kdsl")
    model = compile_model(checked.symbols)
    for make, hinted in ((slow, True), (lambda r, n, _: transport.Local(r, n or 2), False)):
        monkeypatch.setattr(transport, "RayWorkers", make)
        got = check(model, checked.symbols, None, None, EngineOptions("explicit", workers=2))
        hints = [n for n in got.notes if "--threads" in n]
        assert bool(hints) == hinted, got.notes
