"""`kcheck run --store etcd`: the model's objects kept in a real etcd (spec/run.md, "The store:
etcd"). It owns the etcd process of a run (a free loopback port, a temp data dir, both gone at
the end), the etcd v3 JSON API spoken over plain HTTP (the gRPC gateway: no generated code, no
dependency), and EtcdDriver, the simulated world whose objects live in etcd: every step is one
etcd transaction guarded by the mod revision of each key it touches."""

from __future__ import annotations

import base64
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kcheck.model.ir import ActionInfo, CompiledModel, State
from kcheck.run.driver import Divergence, Driver, DriverError, View
from kcheck.run.etcd_cache import CacheFeeds
from kcheck.run.etcd_watch import WatchFeed
from kcheck.run.sim import SimDriver

ETCD_BINARY = "etcd"  # Debian's etcd-server package installs /usr/bin/etcd
START_TIMEOUT = 20.0  # seconds for a fresh etcd to answer
STOP_TIMEOUT = 5.0  # seconds for etcd to exit after SIGTERM, before SIGKILL
REQUEST_TIMEOUT = 10.0  # seconds for one request to etcd
HEALTH_EVERY = 1.0  # seconds between looks at the store while the run is at rest
HEALTH_TIMEOUT = 5.0  # seconds that look may take
CONFLICT_RETRIES = 3  # a step retried from a fresh read after a 409, at most this often

Rows = dict[str, tuple[str, int]]  # key -> (value, mod revision)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _unb64(text: str) -> str:
    return base64.b64decode(text).decode()


def _prefix_end(prefix: str) -> str:
    # the key just past every key that starts with `prefix` (etcd's range_end)
    raw = prefix.encode()
    return base64.b64encode(raw[:-1] + bytes([raw[-1] + 1])).decode()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """In the etcd child: SIGKILL it when kcheck dies (even by SIGKILL), so that no etcd
    outlives its run; and keep it out of the terminal's process group, so that a Ctrl-C reaches
    kcheck only and the run tears etcd down itself."""
    os.setsid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: close() still stops it


class EtcdServer:
    """An etcd process of the run's own: started on free loopback ports with a temp data dir;
    `stop` ends it and removes the dir."""

    def __init__(self, binary: str = ETCD_BINARY) -> None:
        path = shutil.which(binary)
        if path is None:
            raise DriverError(
                "etcd is not installed: install Debian's etcd-server (scripts/system.sh does) "
                "or give a running one with --etcd URL"
            )
        self.data_dir = tempfile.mkdtemp(prefix="kcheck-etcd-")
        client, peer = _free_port(), _free_port()
        self.url = f"http://127.0.0.1:{client}"
        self.log_path = os.path.join(self.data_dir, "etcd.log")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [path, "--name", "kcheck", "--data-dir", os.path.join(self.data_dir, "data"),
                 "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
                 "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                 "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                 "--initial-cluster", f"kcheck=http://127.0.0.1:{peer}"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=_die_with_parent,
            )  # fmt: skip
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        return self.process.pid

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        client = EtcdClient(self.url, self)
        while True:
            if self.process.poll() is not None:
                raise DriverError(
                    f"etcd exited at start (code {self.process.returncode}): {self._tail()}"
                )
            try:
                client.post("/v3/kv/range", {"key": _b64("/kcheck/")}, timeout=1.0)
                return
            except DriverError:
                if time.monotonic() > deadline:
                    raise DriverError(
                        f"etcd did not answer within {START_TIMEOUT:g}s: {self._tail()}"
                    ) from None
                time.sleep(0.1)

    def _tail(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                lines = [ln for ln in f.read().splitlines() if ln.strip()]
            return lines[-1][:300] if lines else "(no output)"
        except OSError:
            return "(no log)"

    def died(self, wait: float = 0.0) -> str | None:
        """How the process ended, if it did (within `wait` seconds)."""
        try:
            code = self.process.wait(wait)
        except subprocess.TimeoutExpired:
            return None
        return f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"

    def stop(self) -> str | None:
        """End etcd and remove its data dir (never raises); a warning when something stays."""
        problem = None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                try:
                    self.process.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    problem = f"etcd (pid {self.pid}) did not exit after SIGKILL"
        shutil.rmtree(self.data_dir, ignore_errors=True)
        if os.path.exists(self.data_dir):
            problem = f"could not remove etcd's data dir {self.data_dir}"
        return problem


class EtcdClient:
    """The etcd v3 API through its JSON gateway (POST /v3/kv/range, /v3/kv/txn, ...)."""

    def __init__(self, url: str, server: EtcdServer | None = None) -> None:
        self.url = url.rstrip("/")
        self.server = server

    def post(self, path: str, body: dict[str, Any], timeout: float = REQUEST_TIMEOUT) -> Any:
        data = json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data, {"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")[:200]
            raise DriverError(f"etcd at {self.url} refused {path}: {err.code} {detail}") from err
        except (urllib.error.URLError, OSError, ValueError) as err:
            raise DriverError(self._lost(err)) from err

    def lost_message(self, why: str) -> str:
        return self._lost(Exception(why))

    def _lost(self, err: Exception) -> str:
        reason = getattr(err, "reason", None) or err
        # a lost connection often comes a moment before the process is gone: wait for it a little
        how = self.server.died(wait=2.0) if self.server is not None else None
        who = f"etcd (pid {self.server.pid}, {self.url})" if self.server else f"etcd at {self.url}"
        if how:
            return f"{who} stopped answering: it {how}"
        return f"{who} stopped answering: {reason}"

    def range_prefix(self, prefix: str) -> tuple[int, Rows]:
        """Every key under `prefix`, with its value and mod revision; and the store's revision."""
        reply = self.post("/v3/kv/range", {"key": _b64(prefix), "range_end": _prefix_end(prefix)})
        rows = {
            _unb64(kv["key"]): (_unb64(kv.get("value", "")), int(kv["mod_revision"]))
            for kv in reply.get("kvs", [])
        }
        return int(reply["header"]["revision"]), rows

    def txn(
        self, expect: dict[str, int], puts: dict[str, str], deletes: list[str]
    ) -> tuple[bool, int]:
        """One transaction: if every key in `expect` still has that mod revision (0: the key
        does not exist), apply the puts and deletes; (whether it did, the revision after)."""
        compare = [
            {"key": _b64(k), "target": "MOD", "result": "EQUAL", "mod_revision": str(rev)}
            for k, rev in sorted(expect.items())
        ]
        ops: list[dict[str, Any]] = [
            {"request_put": {"key": _b64(k), "value": _b64(v)}} for k, v in sorted(puts.items())
        ]
        ops += [{"request_delete_range": {"key": _b64(k)}} for k in sorted(deletes)]
        reply = self.post("/v3/kv/txn", {"compare": compare, "success": ops})
        return bool(reply.get("succeeded", False)), int(reply["header"]["revision"])

    def delete_prefix(self, prefix: str) -> None:
        self.post("/v3/kv/deleterange", {"key": _b64(prefix), "range_end": _prefix_end(prefix)})


def encode_objects(model: CompiledModel, state: State, prefix: str) -> dict[str, str]:
    """What etcd holds of a model state: one key per object, `<prefix><Kind>/<name>`, valued
    the JSON of its fields (controller-internal fields, with an `@`, are the controller's
    memory, not the store's)."""
    decoded = model.layout.decode(state)
    out: dict[str, str] = {}
    for kind in model.layout.kinds:
        for oid, fields in decoded.get(kind.name, {}).items():
            shown = {f: v for f, v in fields.items() if "@" not in f}
            out[f"{prefix}{kind.name}/{oid}"] = json.dumps(shown, sort_keys=True, default=repr)
    return out


@dataclass
class StoreStats:
    transactions: int = 0
    conflicts: int = 0  # failed compares (the apiserver's 409), retried from a fresh read
    revision: int = 0  # the store's revision after the last transaction


@dataclass
class EtcdDriver:
    """A world (the simulated one, or Docker's) whose objects live in etcd: `apply` reads the
    keys, checks that they hold the step's before-state, feeds the caches the step moves from
    their watches, and writes the step as one transaction guarded by each touched key's mod
    revision as read. Steps the inner world takes itself (Docker's kubelet) are written when
    they are observed (`follow`)."""

    client: EtcdClient
    run_key: str
    server: EtcdServer | None = None  # the run's own etcd, stopped by close()
    tick: float = 0.1
    # between a step's read and its transaction: where a test puts a second writer
    between: Callable[[dict[str, int]], None] | None = None
    inner: Driver | None = None  # the world beside the store (default: the simulated one)
    stats: StoreStats = field(default_factory=StoreStats)

    def __post_init__(self) -> None:
        self.world: Driver = self.inner if self.inner is not None else SimDriver(self.tick)
        self.name = f"{self.world.name}+etcd"
        self.observes = self.world.observes
        self.prefix = f"/kcheck/{self.run_key}/"
        self.model: CompiledModel | None = None
        self.caches: CacheFeeds | None = None
        self.held: State = ()  # the state etcd holds, as the run last wrote it
        self.last_health = time.monotonic()  # when pause() last looked at the store

    @property
    def run_id(self) -> str | None:
        return self.run_key

    @property
    def feeds(self) -> dict[str, WatchFeed]:
        """Each controller cache ("X@K") and the watch feeding it."""
        return self.caches.feeds if self.caches is not None else {}

    def start(self, model: CompiledModel, initial: State) -> None:
        self.model = model
        _, rows = self.client.range_prefix(self.prefix)
        if rows:
            raise DriverError(f"etcd at {self.client.url} already holds keys under {self.prefix}")
        objects = encode_objects(model, initial, self.prefix)
        # every key must not exist yet: mod revision 0
        ok, rev = self.client.txn(dict.fromkeys(objects, 0), objects, [])
        if not ok:
            raise Divergence(f"etcd: another writer created keys under {self.prefix}")
        self.stats.transactions += 1
        self.stats.revision = rev
        self.held = initial
        # every informer cache of the model (`watches K stale|coalesced`) gets its own watch
        _, rows = self.client.range_prefix(self.prefix)
        self.caches = CacheFeeds(
            model, initial, self.client.url, self.prefix, rows, rev, self._lost
        )
        self.world.start(model, initial)

    def _lost(self, why: str) -> str:
        return self.client.lost_message(why)

    def apply(
        self, before: State, after: State, action: ActionInfo, args: tuple[int, ...]
    ) -> State:
        fed = self._write(before, after, action)
        self.world.apply(before, fed, action, args)
        return fed

    def follow(self, state: State) -> None:
        # a step the world took itself (observed): the apiserver hears of it as a status write
        self._write(self.held, state, None)
        self.world.follow(state)

    def _write(self, before: State, after: State, action: ActionInfo | None) -> State:
        """Carry the step `before` -> `after` out on etcd; the state after it, with the caches
        it moves as their watches delivered them."""
        assert self.model is not None and self.caches is not None
        old = encode_objects(self.model, before, self.prefix)
        step = action.label if action is not None else "(observed)"
        for attempt in range(CONFLICT_RETRIES + 1):
            revision, rows = self.client.range_prefix(self.prefix)
            held = {k: v for k, (v, _) in rows.items()}
            if held != old:
                raise Divergence(self._differs(old, held, step, attempt > 0))
            saved = self.caches.checkpoint()
            fed = (
                after if action is None else self.caches.feed(before, after, rows, revision, action)
            )
            new = encode_objects(self.model, fed, self.prefix)
            puts = {k: v for k, v in new.items() if old.get(k) != v}
            deletes = [k for k in old if k not in new]
            if not puts and not deletes:
                self.held = fed
                return fed  # the step changes no object: nothing to write
            # the apiserver's optimistic concurrency: each touched key unchanged since the read
            expect = {k: rows[k][1] if k in rows else 0 for k in (*puts, *deletes)}
            if self.between is not None:
                self.between(expect)
            ok, rev = self.client.txn(expect, puts, deletes)
            self.stats.transactions += 1
            if ok:
                self.stats.revision = rev
                self.held = fed
                return fed
            self.stats.conflicts += 1  # 409 Conflict: retried from a fresh read
            self.caches.restore(saved)  # the retry feeds the caches again
        raise DriverError(
            f"etcd: {step} met a conflict {CONFLICT_RETRIES + 1} times in a row "
            f"(another writer keeps rewriting keys under {self.prefix})"
        )

    def _differs(self, model: dict[str, str], held: dict[str, str], step: str, retry: bool) -> str:
        problems = []
        for key in sorted(set(model) | set(held)):
            name = key[len(self.prefix) :].replace("/", " ", 1)
            if key not in held:
                problems.append(f"{name} is missing")
            elif key not in model:
                problems.append(f"{name} exists ({held[key]})")
            elif held[key] != model[key]:
                problems.append(f"{name} holds {held[key]}, the model has {model[key]}")
        when = "after a 409 Conflict, the fresh read shows" if retry else "before"
        return (
            f"etcd {when} step {step}: {'; '.join(problems)}: another writer changed the store "
            "and no step of the model explains it"
        )

    def read(self) -> dict[str, str]:
        """What etcd holds under the run's prefix."""
        _, rows = self.client.range_prefix(self.prefix)
        return {k[len(self.prefix) :]: v for k, (v, _) in rows.items()}

    def close(self) -> str | None:
        if self.caches is not None:
            self.caches.close()
        problems = [self.world.close()]  # the world's own resources (Docker's containers) first
        if self.server is not None:
            problems.append(self.server.stop())  # the whole store goes with its data dir
        else:
            try:
                self.client.delete_prefix(self.prefix)  # someone else's etcd: only the run's keys
            except DriverError as err:
                problems.append(f"could not remove the run's keys {self.prefix}* from etcd: {err}")
        return "; ".join(p for p in problems if p) or None

    # -- the rest is the world's -------------------------------------------------------------

    def now(self) -> float:
        return self.world.now()

    def view(self, s: State) -> View:
        return self.world.view(s)

    def describe(self, before: View, seen: View) -> str:
        return self.world.describe(before, seen)

    def rules(self, s: State, seen: View) -> str:
        return self.world.rules(s, seen)

    def request(
        self, before: State, after: State, action: ActionInfo, args: tuple[int, ...]
    ) -> bool:
        return self.world.request(before, after, action, args)

    def observe(self, expected: State) -> View:
        return self.world.observe(expected)

    def pause(self) -> None:
        # a run at rest makes no request, so a store that died would go unnoticed while the
        # run reports convergence: look at it now and then
        now = time.monotonic()
        if now - self.last_health >= HEALTH_EVERY:
            self.last_health = now
            self.check_alive()
        self.world.pause()

    def check_alive(self) -> None:
        """Raise DriverError when the store is gone: the run's own etcd process ended, a
        cache's watch broke, or etcd does not answer a read."""
        if self.server is not None and (how := self.server.died()) is not None:
            raise DriverError(self._lost(f"it {how}"))
        for feed in self.feeds.values():
            if feed.error is not None:
                raise DriverError(self._lost(feed.error))
        # a count of the run's keys: the cheapest read; raises DriverError when etcd is gone
        body = {"key": _b64(self.prefix), "range_end": _prefix_end(self.prefix), "count_only": True}
        self.client.post("/v3/kv/range", body, timeout=HEALTH_TIMEOUT)

    def step_done(self) -> None:
        self.world.step_done()

    def probe(self, state: State) -> list[str] | None:
        return self.world.probe(state)


def connect_etcd(
    url: str | None, run_key: str, tick: float, inner: Driver | None = None
) -> EtcdDriver:
    """The store of a run: the etcd at `url`, or one started for the run; beside the simulated
    world, or `inner` (Docker's)."""
    server = EtcdServer() if url is None else None
    client = EtcdClient(server.url if server else url or "", server)
    if server is None:
        client.range_prefix("/kcheck/")  # answers, or a one-line DriverError
    return EtcdDriver(client, run_key, server, tick, inner=inner)


def store_line(world: EtcdDriver) -> str:
    """What the store did, for the reader of a run."""
    st, fs = world.stats, world.caches.stats if world.caches else None
    line = (
        f"etcd store: {st.transactions} transactions (last revision {st.revision}), "
        f"{st.conflicts} conflicts retried"
    )
    if fs is None or not world.feeds:
        return line
    return (
        f"{line}; {len(world.feeds)} caches fed by watches: {fs.objects} cached objects "
        f"decoded, {fs.syncs} syncs (up to {fs.behind} events behind), {fs.notifications} "
        f"notifications from {fs.events} watch events ({fs.coalesced} coalesced)"
    )
