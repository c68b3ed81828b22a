"""SIGINT and SIGTERM during `kcheck run` (spec/run.md): the first one stops the run where it is
(as a KeyboardInterrupt in the main thread) and every later one is only counted, so the
teardown that removes the run's containers cannot be cut short by a second Ctrl-C or a
SIGTERM sent while it works.

The handler raises at most once, and disarms itself before it does: code that catches that
one KeyboardInterrupt, and code that runs after `disarm`, can never be interrupted again."""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType, TracebackType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    def __init__(self) -> None:
        self.armed = False
        self.received: list[int] = []
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        # signal handlers belong to the main thread (a test may run a command in another)
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                if signal.getsignal(sig) is signal.SIG_IGN:
                    continue  # ignored on purpose (a background job): stays ignored
                self.previous[sig] = signal.signal(sig, self._handle)
        self.armed = True
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        if self.armed:
            self.armed = False
            raise KeyboardInterrupt
        # os.write, not print: the main thread may be inside a write to stderr right now
        os.write(2, b"kcheck: still removing what the run created; please wait\n")

    def disarm(self) -> None:
        """From now on signals are counted, never raised."""
        self.armed = False

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.armed = False
        for sig, previous in self.previous.items():
            signal.signal(sig, previous)
