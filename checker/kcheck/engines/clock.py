"""The deadline of `kcheck infer` (and of `verify --infer`'s inference) as a hard stop.

Each phase of the inference checks the clock between its steps and bounds its Z3 queries by
it, but some steps cannot look at a clock: the front end and compiler on a model with
thousands of candidate lemmas, the encoding of a step. `stop_at(end)` raises OutOfTime into
whatever runs when the clock passes `end` (SIGALRM, as the budget of `kcheck verify` does
while a model compiles), so that a run reports "out of time" instead of outliving its
--timeout; the caller then reports every goal it had not proved as inconclusive."""

from __future__ import annotations

import contextlib
import ctypes
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType

# how long after the deadline the hard stop fires: the phases stop themselves at the deadline
# (with what they decided), this only ends a step that cannot look at the clock
GRACE_S = 2.0
GRACE_SHARE = 0.02
RETRY_S = 0.05  # once past the deadline, the alarm fires again this often until obeyed


class OutOfTime(BaseException):
    """The inference's deadline passed. A BaseException, like KeyboardInterrupt, so that no
    `except Exception` on the way swallows it."""


def grace(timeout_s: float) -> float:
    """How long after a run of `timeout_s` seconds its hard stop fires."""
    return GRACE_S + GRACE_SHARE * timeout_s


def seconds_left(end: float) -> float:
    return end - time.monotonic()


def check_time(end: float, doing: str) -> None:
    """Raise OutOfTime when the clock has passed `end`, before `doing` starts."""
    if time.monotonic() >= end:
        raise OutOfTime(doing)


@contextlib.contextmanager
def stop_at(end: float) -> Iterator[None]:
    """Raise OutOfTime into the code under way once the clock passes `end` (outside the main
    thread, where no signal can be had, nothing: the phases' own checks still stop it). An
    alarm set before (verify's budget) gets its handler and its time left back after."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        yield
        return
    armed, fired = [True], [False]
    why = "in a step that cannot look at the clock (its alarm stopped it)"

    def _on_alarm(signum: int, frame: FrameType | None) -> None:
        if not armed[0]:
            return
        if frame is not None and frame.f_code.co_name == "__del__":
            return  # an exception raised in a destructor is printed and dropped: the next one
        fired[0] = True
        raise OutOfTime(why)

    start = time.monotonic()
    old_handler = signal.signal(signal.SIGALRM, _on_alarm)
    # again every RETRY_S until the block is left: an OutOfTime some `except` swallowed (the
    # solver's fallback for a ctypes error, say) is raised once more
    old_delay, _ = signal.setitimer(signal.ITIMER_REAL, max(RETRY_S, end - start), RETRY_S)
    try:
        yield
    except ctypes.ArgumentError:
        # raised inside a ctypes call's argument conversion, the exception comes out as this
        if fired[0]:
            raise OutOfTime(why) from None
        raise
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        if old_delay > 0:
            spent = time.monotonic() - start
            signal.setitimer(signal.ITIMER_REAL, max(RETRY_S, old_delay - spent))
