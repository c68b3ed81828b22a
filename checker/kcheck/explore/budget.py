"""One command's budget: its deadline, its memory ceiling and the user's request to stop (SIGINT,
SIGTERM). The CLI makes one Budget when a command starts and passes it to every search, so
`--timeout` bounds the whole command, not each search (spec/explorer.md, "Limits").

A search polls the budget between states. A signal or the deadline that arrives while the budget
is `armed` (inside a search, or while a model compiles) also interrupts the step under way by
raising Stopped, so even one long enumeration cannot outlive the deadline; the search then keeps
everything it found, as at any other limit.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

# Seconds between two readings of the process's memory: reading /proc costs microseconds, and a
# search grows by at most a few hundred MB a second.
MEMORY_EVERY = 0.2
# The share of the machine's (or the container's) memory a search may use by default: the rest
# is left for the liveness analysis, the reports and the other processes.
DEFAULT_MEMORY_SHARE = 0.75


class Stopped(BaseException):
    """Raised into a running step when the budget runs out. A BaseException, like
    KeyboardInterrupt, so that no `except Exception` on the way swallows it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Budget:
    deadline: float | None = None  # time.monotonic() by which the command must be done
    timeout: float | None = None  # the user's --timeout, to name the limit
    max_memory: int | None = None  # bytes of resident memory
    reason: str | None = None  # why the command was asked to stop, once it was
    armed: bool = False  # may a signal interrupt the step under way?
    next_memory_check: float = field(default=0.0, repr=False)

    @staticmethod
    def start(timeout: float | None, max_memory: int | None) -> Budget:
        now = time.monotonic()
        return Budget(now + timeout if timeout else None, timeout, max_memory)

    def remaining(self, default: float) -> float:
        """Seconds left before the deadline (at least a little), `default` without one."""
        if self.deadline is None:
            return default
        return max(0.01, self.deadline - time.monotonic())

    def timeout_label(self) -> str:
        return f"timeout {self.timeout:g}s"

    def request(self, reason: str) -> None:
        """Ask the command to stop (from a signal handler): at once if armed, else at the next
        poll."""
        if self.reason is None:
            self.reason = reason
        if self.armed:
            self.armed = False  # one Stopped per request: the handler of it must run in peace
            raise Stopped(self.reason)

    def poll(self, now: float) -> str | None:
        """Why to stop now, or None: a request, the deadline, or memory above the ceiling."""
        if self.reason is not None:
            return self.reason
        if self.deadline is not None and now >= self.deadline:
            self.reason = self.timeout_label()
            return self.reason
        if self.max_memory is not None and now >= self.next_memory_check:
            self.next_memory_check = now + MEMORY_EVERY
            rss = resident_memory()
            if rss is not None and rss > self.max_memory:
                self.reason = self.memory_label()
                return self.reason
        return None

    def memory_label(self) -> str:
        return f"max-memory {(self.max_memory or 0) // 2**20} MB"


def resident_memory() -> int | None:
    """This process's resident memory in bytes (Linux /proc; None elsewhere)."""
    try:
        fields = Path("/proc/self/statm").read_text().split()
        return int(fields[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def machine_memory() -> int | None:
    """The memory this process may use: the machine's, or its cgroup's limit if lower."""
    sizes: list[int] = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                sizes.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    for limit in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:
            sizes.append(int(text))
    return min(sizes) if sizes else None


def default_max_memory() -> int | None:
    total = machine_memory()
    return int(total * DEFAULT_MEMORY_SHARE) if total else None
