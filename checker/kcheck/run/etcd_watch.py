"""One etcd watch of a run (spec/run.md, "The store: etcd"): a thread reads the watch stream of
a key prefix through etcd's JSON gateway (`POST /v3/watch`, one JSON message a line) and keeps
every key's history of (mod revision, value); the driver asks it what it had delivered of the
store at a revision, and waits, bounded, for the events that are still on their way."""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import socket
import threading
import urllib.parse
from collections.abc import Callable

from kcheck.run.driver import DriverError

WATCH_WAIT = 10.0  # seconds for a watch to deliver what the store already holds
Rows = dict[str, tuple[str, int]]  # key -> (value, mod revision)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


class WatchFeed:
    """A watch of every key under `prefix` from `start_revision`, over the `initial` rows
    (what the store held under it just before)."""

    def __init__(
        self,
        url: str,
        prefix: str,
        start_revision: int,
        initial: Rows,
        lost: Callable[[str], str],
    ) -> None:
        self.prefix = prefix
        self.lost = lost  # the one-line message of a store that stopped answering
        self.history: dict[str, list[tuple[int, str | None]]] = {
            k: [(rev, v)] for k, (v, rev) in initial.items()
        }
        self.cond = threading.Condition()
        self.error: str | None = None
        self.closing = False
        raw = prefix.encode()
        body = {
            "create_request": {
                "key": _b64(raw),
                "range_end": _b64(raw[:-1] + bytes([raw[-1] + 1])),
                "start_revision": str(start_revision),
            }
        }
        parts = urllib.parse.urlsplit(url)
        try:
            self.conn = http.client.HTTPConnection(
                parts.hostname or "", parts.port, timeout=WATCH_WAIT
            )
            self.conn.request(
                "POST", "/v3/watch", json.dumps(body), {"Content-Type": "application/json"}
            )
            self.response = self.conn.getresponse()
            first = json.loads(self.response.readline() or b"{}")
        except (OSError, http.client.HTTPException, ValueError) as err:
            raise DriverError(lost(f"the watch of {prefix} could not start: {err}")) from err
        if not first.get("result", {}).get("created"):
            raise DriverError(lost(f"the watch of {prefix} was not created: {first}"))
        if self.conn.sock is not None:
            self.conn.sock.settimeout(None)  # events come when they come; close() ends the read
        self.thread = threading.Thread(target=self._read, name=f"etcd-watch {prefix}", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        why = "the stream ended"
        try:
            while True:
                line = self.response.readline()
                if not line:
                    break
                message = json.loads(line)
                if "error" in message:
                    why = str(message["error"])
                    break
                result = message.get("result", {})
                if result.get("canceled"):
                    why = f"etcd cancelled it ({result.get('cancel_reason', '')})"
                    break
                with self.cond:
                    for ev in result.get("events", []):
                        kv = ev["kv"]
                        key = base64.b64decode(kv["key"]).decode()
                        rev = int(kv["mod_revision"])
                        value = None
                        if ev.get("type") != "DELETE":
                            value = base64.b64decode(kv.get("value", "")).decode()
                        self.history.setdefault(key, []).append((rev, value))
                    self.cond.notify_all()
        except Exception as err:  # a reader thread reports everything as the watch's error
            why = str(err) or type(err).__name__
        with self.cond:
            self.error = f"the watch of {self.prefix} broke: {why}"
            self.cond.notify_all()

    def at(self, revision: int) -> Rows:
        """What the watch had delivered of the store as it was at `revision`."""
        out: Rows = {}
        with self.cond:
            for key, entries in self.history.items():
                seen = [(rev, v) for rev, v in entries if rev <= revision]
                if seen and seen[-1][1] is not None:
                    out[key] = (seen[-1][1] or "", seen[-1][0])
        return out

    def watched_keys(self) -> list[str]:
        with self.cond:
            return list(self.history)

    def events_between(self, key: str, after: int, upto: int) -> int:
        """How many events of `key` the watch delivered with revisions in (after, upto]."""
        with self.cond:
            return sum(1 for rev, _ in self.history.get(key, ()) if after < rev <= upto)

    def caught_up(self, rows: Rows, revision: int) -> dict[str, str]:
        """Wait (at most WATCH_WAIT seconds) until the watch has delivered the store as a
        read at `revision` saw it (`rows`); the delivered objects, key -> value."""
        with self.cond:
            self.cond.wait_for(
                lambda: self.error is not None or self.at(revision) == rows, WATCH_WAIT
            )
            delivered = self.at(revision)
            if delivered != rows and self.error is not None:
                raise DriverError(self.lost(self.error))
        if delivered != rows:
            raise DriverError(
                f"the etcd watch of {self.prefix} did not deliver revision {revision} "
                f"within {WATCH_WAIT:g} s"
            )
        return {k: v for k, (v, _) in delivered.items()}

    def close(self) -> None:
        self.closing = True
        sock = self.conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already gone with etcd
                sock.shutdown(socket.SHUT_RDWR)  # the reader sees the end of the stream
        self.thread.join(5.0)
        self.conn.close()  # after the reader is done with it
