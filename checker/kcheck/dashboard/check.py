"""Checking the model from the page: the explicit engine through the one dispatch function
(kcheck.engines.dispatch.check), in a thread of its own so that the page can poll its progress;
its first counterexample is then shown as an opened report is (replayed first)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kcheck.dashboard.counterexample import ReportError, show_counterexample
from kcheck.dashboard.session import Session
from kcheck.engines.dispatch import EngineFailure, EngineOptions, Refused, Stopped, check
from kcheck.explore.bfs import Limits
from kcheck.result import VIOLATED, Stats

MAX_STATES = 5_000_000
TIMEOUT = 300.0  # seconds


@dataclass
class Progress:
    running: bool = False
    states: int = 0
    depth: int = 0
    seconds: float = 0.0
    verdict: str | None = None
    summary: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def start_check(session: Session, lock: threading.Lock, limits: Limits | None = None) -> Progress:
    """Start checking every invariant and property of the session's model, unless a check
    runs already; the returned Progress fills in as it goes."""
    running: Progress | None = session.check
    if running is not None and running.running:
        return running
    progress = Progress(running=True)
    session.check = progress

    def on_stats(s: Stats) -> None:
        progress.states, progress.depth, progress.seconds = s.states, s.depth, s.seconds

    thread = threading.Thread(
        target=_run, args=(session, lock, progress, on_stats, limits), daemon=True
    )
    thread.start()
    return progress


def _run(
    session: Session,
    lock: threading.Lock,
    progress: Progress,
    on_stats: Callable[[Stats], None],
    limits: Limits | None,
) -> None:
    try:
        result = check(
            session.model,
            session.checked.symbols,
            None,
            None,
            EngineOptions("explicit", limits or Limits(max_states=MAX_STATES, timeout=TIMEOUT)),
            progress=on_stats,
        )
    except (Refused, EngineFailure, Stopped) as err:
        progress.error = str(err) or type(err).__name__
        progress.running = False
        return
    except Exception as err:  # a kcheck bug: said on the page rather than lost in a thread
        progress.error = f"internal error: {type(err).__name__}: {err}"
        progress.running = False
        return
    progress.states, progress.depth = result.stats.states, result.stats.depth
    progress.seconds = result.stats.seconds
    progress.verdict = result.verdict
    progress.summary = [
        {"name": p.name, "kind": p.kind, "status": p.status, "reason": p.reason}
        for p in result.properties
    ]
    found = [p for p in result.properties if p.status == VIOLATED and p.trace is not None]
    if found:
        with lock:
            try:
                show_counterexample(session, found[0])
            except ReportError as err:
                progress.error = f"internal error: {err}"
    progress.running = False
