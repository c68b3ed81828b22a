"""How the driver reaches the partitions: in this process (Local: for tests and for one
worker) or as Ray actors (RayWorkers: `--workers N` on a local Ray instance, `--ray ADDRESS` on
a running cluster). Both move a level's states partition to partition: with Ray each batch is
an object that goes from the worker that made it straight to the worker that owns it, never
through the driver.

A worker process that dies is reported as WorkerFailed naming it; the search then stops
inconclusive (kcheck/distributed/search.py). Ray is imported only here, and only when asked for.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from kcheck.explore.budget import Stopped
from kcheck.model.ir import State

if TYPE_CHECKING:  # the partitions are imported by a distributed search only: start-up time
    from kcheck.distributed.partition import Expanded, Merged, Partition, Recipe

WAIT_SLICE = 0.2  # seconds: how often a wait on Ray lets a signal (the deadline, Ctrl-C) in


class WorkerFailed(Exception):
    """A worker died or became unreachable: its share of the visited set is lost."""

    def __init__(self, worker: str, why: str) -> None:
        super().__init__(f"{worker} failed: {why}")
        self.worker = worker


class NoRay(Exception):
    """Ray is not installed, or the cluster cannot be reached."""


class Transport(Protocol):
    count: int
    deadline: float | None  # time.monotonic() by which a wait on the workers gives up
    poll: Callable[[], str | None] | None  # why to stop now (the command's budget), or None

    def names(self) -> list[str]: ...
    def seed(self, batches: Sequence[bytes]) -> None: ...

    def merge(
        self, pending: Sequence[int], initial: bool, expand: bool
    ) -> tuple[list[Merged], list[Expanded] | None]:
        """Every partition merges what was sent to it into the next level; with `expand`, it
        also ranks that level and expands it at once, without waiting for the driver (then
        the expansion's results come too)."""
        ...

    def rank(self) -> None:
        """Give the level merged last its global ids now (to fetch a trace from it)."""
        ...

    def expand(self, pending: Sequence[int]) -> list[Expanded]:
        """Rank and expand the level merged last (merged without `expand`)."""
        ...

    def lookup(self, gid: int) -> tuple[State, int]: ...
    def transitions_between(self, first: int, last: int) -> int: ...
    def counters(self) -> list[dict[str, float]]: ...
    def close(self) -> None: ...


class Local:
    """The partitions as objects of this process: the same search, no processes."""

    def __init__(self, recipe: Recipe, count: int) -> None:
        self.count = count
        self.deadline: float | None = None
        self.poll: Callable[[], str | None] | None = None
        self.merged: list[Merged] = []
        self.ahead: list[Merged] = []
        cls = partition_class(recipe)
        self.parts = [cls(recipe, i, count) for i in range(count)]

    def names(self) -> list[str]:
        return [f"partition {i} (in process)" for i in range(self.count)]

    def seed(self, batches: Sequence[bytes]) -> None:
        for part, batch in zip(self.parts, batches, strict=True):
            part.receive([batch])

    def merge(
        self, pending: Sequence[int], initial: bool, expand: bool
    ) -> tuple[list[Merged], list[Expanded] | None]:
        if self.ahead:
            self.merged, self.ahead = self.ahead, []
        else:
            self.merged = [part.merge(pending, initial) for part in self.parts]
        if not expand:
            return self.merged, None
        metas = self.expand(pending)
        # the next level's merges at once, as RayWorkers sends them: the same search
        self.ahead = [part.merge(pending, False) for part in self.parts]
        return self.merged, metas

    def rank(self) -> None:
        for part in self.parts:
            part.rank(self.merged)

    def expand(self, pending: Sequence[int]) -> list[Expanded]:
        self.rank()
        outs = [part.expand(pending) for part in self.parts]
        for p, part in enumerate(self.parts):
            part.receive([batches[p] for batches, _ in outs])
        return [meta for _, meta in outs]

    def lookup(self, gid: int) -> tuple[State, int]:
        for part in self.parts:
            found = part.lookup(gid)
            if found is not None:
                return found
        raise KeyError(gid)

    def transitions_between(self, first: int, last: int) -> int:
        return sum(part.transitions_between(first, last) for part in self.parts)

    def counters(self) -> list[dict[str, float]]:
        return [part.counters() for part in self.parts]

    def close(self) -> None:
        self.parts = []


class RayWorkers:
    """One Ray actor per partition, each its own process, on whichever machines Ray places
    them. `address` None starts a Ray instance on this machine for the search and stops it
    after; a Ray already started in this process (tests) is used as it is."""

    def __init__(self, recipe: Recipe, count: int | None, address: str | None) -> None:
        try:
            import ray as ray_module
        except ImportError:
            raise NoRay("--workers and --ray need Ray: pip install 'kcheck[distributed]'") from None
        ray: Any = ray_module
        self.ray = ray
        self.started = False
        self.deadline: float | None = None
        self.poll: Callable[[], str | None] | None = None
        if not ray.is_initialized():
            kwargs: dict[str, Any] = dict(
                include_dashboard=False, log_to_driver=False, configure_logging=False
            )
            try:
                if address is None:
                    _quiet_auth_notice()
                    ray.init(address="local", num_cpus=count, **kwargs)
                else:
                    check_reachable(address)
                    ray.init(address=address, **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as err:
                raise NoRay(f"cannot reach the Ray cluster at {address}: {err}") from None
            self.started = True
        if count is None:
            count = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.count = count
        # one CPU each, spread over the machines: a partition is busy for the whole search
        actor: Any = ray.remote(num_cpus=1, max_restarts=0, scheduling_strategy="SPREAD")(
            partition_class(recipe)
        )
        self.actors: list[Any] = [actor.remote(recipe, i, count) for i in range(count)]
        try:
            self.where: list[tuple[int, str]] = self._get([a.where.remote() for a in self.actors])
        except BaseException:
            self.close()
            raise
        self.inbox: list[list[Any]] = [[] for _ in range(count)]
        self.merged: list[Any] = []  # references to each worker's merge of the level last merged
        self.ahead: list[Any] = []  # the next level's merges, sent before the driver asks

    def names(self) -> list[str]:
        return [f"worker {i} (pid {pid} on {host})" for i, (pid, host) in enumerate(self.where)]

    def _get(self, refs: list[Any]) -> list[Any]:
        """The values of `refs`, one per worker in order; a dead worker is WorkerFailed."""
        ray = self.ray
        left = list(refs)
        while left:
            # a bounded wait, so that the deadline's and Ctrl-C's handlers run in between
            _, left = ray.wait(left, num_returns=len(left), timeout=WAIT_SLICE)
            why = self.poll() if self.poll is not None else None
            if why is not None:
                raise Stopped(why)
            if left and self.deadline is not None and time.monotonic() >= self.deadline:
                raise Stopped("timeout: the workers did not answer in time")
        try:
            return list(ray.get(refs))
        except ray.exceptions.RayActorError:
            pass
        for i, ref in enumerate(refs):  # which one failed
            try:
                ray.get(ref)
            except ray.exceptions.RayActorError as err:
                name = self.names()[i] if hasattr(self, "where") else f"worker {i}"
                raise WorkerFailed(name, _first_line(err)) from None
        raise WorkerFailed("a worker", "Ray reported a failed worker")

    def seed(self, batches: Sequence[bytes]) -> None:
        self.inbox = [[batch] for batch in batches]

    def merge(
        self, pending: Sequence[int], initial: bool, expand: bool
    ) -> tuple[list[Merged], list[Expanded] | None]:
        if self.ahead:
            self.merged, self.ahead = self.ahead, []
        else:
            self.merged = self._merges(pending, initial)
        if not expand:
            merged: list[Merged] = self._get(self.merged)
            return merged, None
        # the expansions go out with the merges, and the next level's merges after them: each
        # call waits in Ray for what it needs, not for the driver, so a worker goes from one to
        # the next while the driver reads the level (their `pending` may then be a level old:
        # a superset, as invariants only leave it)
        metas = self._expansions(pending)
        self.ahead = self._merges(pending, False)
        out = self._get([*self.merged, *metas])
        return out[: self.count], out[self.count :]

    def _merges(self, pending: Sequence[int], initial: bool) -> list[Any]:
        """Every worker merges what was sent to it: the references to its answers."""
        calls = [
            a.merge_from.remote(list(pending), initial, *self.inbox[p])
            for p, a in enumerate(self.actors)
        ]
        self.inbox = [[] for _ in range(self.count)]
        return calls

    def rank(self) -> None:
        self._get([a.rank_from.remote(*self.merged) for a in self.actors])

    def expand(self, pending: Sequence[int]) -> list[Expanded]:
        metas: list[Expanded] = self._get(self._expansions(pending))
        return metas

    def _expansions(self, pending: Sequence[int]) -> list[Any]:
        """Every worker ranks and expands the level merged last: its batches stay in Ray, on
        their way to their owners' next merge; the references to what else each found."""
        n = self.count
        refs = [
            a.expand_ranked.options(num_returns=n + 1).remote(list(pending), *self.merged)
            for a in self.actors
        ]
        self.inbox = [[refs[q][p] for q in range(n)] for p in range(n)]
        return [r[n] for r in refs]

    def lookup(self, gid: int) -> tuple[State, int]:
        for found in self._get([a.lookup.remote(gid) for a in self.actors]):
            if found is not None:
                state, parent = found
                return state, parent
        raise KeyError(gid)

    def transitions_between(self, first: int, last: int) -> int:
        return sum(self._get([a.transitions_between.remote(first, last) for a in self.actors]))

    def counters(self) -> list[dict[str, float]]:
        out: list[dict[str, float]] = self._get([a.counters.remote() for a in self.actors])
        return out

    def close(self) -> None:
        for a in getattr(self, "actors", []):
            with contextlib.suppress(Exception):  # already gone
                self.ray.kill(a)
        self.actors = []
        if self.started:
            # give the actors' processes a moment to go before Ray itself stops
            time.sleep(0.05)
            self.ray.shutdown()


class _DropAuthNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Token authentication is enabled for this Ray")


def _quiet_auth_notice() -> None:
    """Ray says, when it starts a local instance with its default token authentication on,
    that it did so: for `--workers` (an instance of this run's own, on this machine, stopped
    after it) that line is noise in the report. Its warning when authentication is off stays."""
    name = "ray._private.authentication.authentication_token_setup"
    log = logging.getLogger(name)
    if not any(isinstance(f, _DropAuthNotice) for f in log.filters):
        log.addFilter(_DropAuthNotice())


def partition_class(recipe: Recipe) -> type[Partition]:
    """The native partition when the driver chose it (every worker then must build it), else
    the Python one."""
    if recipe.native:
        from kcheck.distributed.native_partition import NativePartition

        return NativePartition
    from kcheck.distributed.partition import Partition

    return Partition


def check_reachable(address: str, wait: float = 3.0) -> None:
    """NoRay unless something listens at `address` (host:port): Ray itself would retry an
    address with no cluster behind it for minutes. A loopback host is also tried at this
    machine's outward address, as Ray does."""
    import socket

    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise NoRay(f"--ray {address}: give the cluster's HOST:PORT (from `ray start --head`)")
    hosts = [host]
    if host in ("127.0.0.1", "localhost", "::1"):
        with contextlib.suppress(OSError):
            hosts.append(socket.gethostbyname(socket.gethostname()))
    why = "nothing answers there"
    for h in hosts:
        try:
            with socket.create_connection((h, int(port)), timeout=wait):
                return
        except OSError as err:
            why = err.strerror or str(err)
    raise NoRay(f"cannot reach the Ray cluster at {address}: {why}")


def _first_line(err: BaseException) -> str:
    """What went wrong in a worker, in one line: the last `Name: message` line of the remote
    traceback Ray passes on (the worker's own exception), else its first line."""
    text = [_ANSI.sub("", line).strip() for line in str(err).strip().splitlines()]
    raised = [line for line in text if _RAISED.match(line)]
    if raised:
        return raised[-1]
    return text[0] if text else type(err).__name__


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_RAISED = re.compile(r"[A-Za-z_][\w.]*(Error|Exception|Unavailable|Interrupt|Exit): ")
