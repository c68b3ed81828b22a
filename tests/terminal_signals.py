"""SIGINT as at a terminal, for tests that send it. A suite started in the background by a
non-interactive shell (`cmd &`, nohup, some CI runners) inherits SIGINT ignored: the test process
and, through exec, every child it starts. kcheck leaves an ignored signal ignored on purpose (a
background job's), so a test that sends SIGINT must give it its default first."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager


def default_sigint() -> None:
    """For subprocess.Popen's preexec_fn: SIGINT back to its default in the child."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextmanager
def sigint_as_at_a_terminal() -> Iterator[None]:
    """This process's SIGINT raises KeyboardInterrupt (Python's own default) for the block."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
