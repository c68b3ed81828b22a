"""SIGINT and SIGTERM during `kcheck run` (spec/run.md).

With a world to tear down (Docker), a stop signal never raises: it only asks the run to stop,
and the interpreter stops at its next safe point (between two steps, never inside an engine
call, so no container can be half-created behind the teardown's back). The teardown then runs
to its end whatever else arrives: a second Ctrl-C or a SIGTERM is only counted. Without one
(the simulated world), the first signal raises KeyboardInterrupt at once, as Ctrl-C does."""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType, TracebackType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    def __init__(self, cooperative: bool = True) -> None:
        self.cooperative = cooperative
        self.received: list[int] = []
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        # signal handlers belong to the main thread (a test may run a command in another)
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                if signal.getsignal(sig) is signal.SIG_IGN:
                    continue  # ignored on purpose (a background job): stays ignored
                self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def requested(self) -> bool:
        """Whether a stop signal came: the interpreter's question at each safe point."""
        return bool(self.received)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        if not self.cooperative:
            raise KeyboardInterrupt
        # os.write, not print: the main thread may be inside a write to stderr right now
        if len(self.received) == 1:
            os.write(2, b"kcheck: stopping; removing what the run created\n")
        else:
            os.write(2, b"kcheck: still removing what the run created; please wait\n")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sig, previous in self.previous.items():
            signal.signal(sig, previous)
