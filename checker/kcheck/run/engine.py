"""The Docker engine connection and what every resource the run creates has in common: the run's
labels, and errors turned into one-line messages (no engine, permission denied, the engine
died). Also who owns a run (its host and process, so that `kcheck run --cleanup` can tell a
live run from a leftover) and what `--cleanup` removes."""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors
import requests.exceptions

from kcheck.run.driver import Divergence, DriverError

RUN_LABEL = "kcheck.run"  # every container and network of a run carries its id here
OBJECT_LABEL = "kcheck.object"  # the model object a container stands for (Pod#3)
NODE_LABEL = "kcheck.node"
# Who owns a run: the host name, the process id, and where the system can tell them, the
# process's identity (boot id, pid namespace, start time), so a reused pid or another pid
# namespace under the same host name is never taken for the run's own process.
HOST_LABEL = "kcheck.host"
PID_LABEL = "kcheck.pid"
PROCESS_LABEL = "kcheck.process"


def new_run_id() -> str:
    return secrets.token_hex(4)


def _explain(err: Exception, mid_run: bool) -> str:
    text = str(err)
    if isinstance(err, PermissionError) or "Permission denied" in text:
        return "permission denied on the Docker socket: run as root or join the `docker` group"
    lost = (
        isinstance(err, (requests.exceptions.ConnectionError, ConnectionError, FileNotFoundError))
        or "Connection aborted" in text
        or "Connection refused" in text
        or "No such file" in text
        or "FileNotFoundError" in text
    )
    if lost and mid_run:
        return "the Docker engine stopped answering"
    if lost:
        return "no Docker engine is running (is dockerd started? is DOCKER_HOST right?)"
    if isinstance(err, requests.exceptions.Timeout):
        return "the Docker engine did not answer in time"
    return f"Docker engine error: {text.splitlines()[0] if text else type(err).__name__}"


@contextmanager
def engine_errors(mid_run: bool = True, note: str = "") -> Iterator[None]:
    """Turn the docker package's exceptions into a one-line DriverError, or a Divergence when
    something of the run was removed behind its back (`note` then says what the run binds to
    containers). `mid_run`: the engine answered before, so losing it means it died."""
    try:
        yield
    except docker.errors.NotFound as err:
        raise Divergence(
            f"a container of the run was removed by someone else ({_explain(err, mid_run)})" + note
        ) from err
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as err:
        raise DriverError(_explain(err, mid_run)) from err


def connect() -> docker.DockerClient:
    with engine_errors(mid_run=False):
        client = docker.from_env(timeout=30)
        client.ping()
        return client


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii") as f:
            return f.read().strip()
    except (OSError, UnicodeDecodeError):
        return ""


def _started(pid: int) -> str:
    """The process's start time since boot (Linux clock ticks); empty where unknown."""
    stat = _read(f"/proc/{pid}/stat")
    # the command name (field 2) is parenthesised and may hold spaces: split after it
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else ""


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def _process_identity(pid: int) -> str:
    parts = (_read("/proc/sys/kernel/random/boot_id"), _pid_namespace(), _started(pid))
    return "/".join(parts) if all(parts) else ""


def owner_labels() -> dict[str, str]:
    """The labels naming this process as a run's owner."""
    pid = os.getpid()
    labels = {HOST_LABEL: socket.gethostname(), PID_LABEL: str(pid)}
    if identity := _process_identity(pid):
        labels[PROCESS_LABEL] = identity
    return labels


def owner_alive(labels: dict[str, str]) -> tuple[bool | None, str]:
    """Whether the process that owns a run (by its labels) still runs: True, False, or None
    when this machine cannot tell; with the reason, for the user."""
    host, pid_text = labels.get(HOST_LABEL), labels.get(PID_LABEL, "")
    if host is None or not pid_text.isdigit():
        return None, "it carries no owner labels (a run of an older kcheck?)"
    if host != socket.gethostname():
        return None, f"it was started on host {host}, whose processes cannot be checked from here"
    pid = int(pid_text)
    theirs = labels.get(PROCESS_LABEL, "").split("/")
    ours = _process_identity(os.getpid()).split("/")
    if len(theirs) == 3 and len(ours) == 3:
        if theirs[0] != ours[0]:
            return False, f"its process (pid {pid}) ran before this machine last booted"
        if theirs[1] != ours[1]:
            return None, f"its process (pid {pid}) runs in another pid namespace of {host}"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False, f"its process (pid {pid}) is gone"
    except PermissionError:
        pass  # another user's process: it exists
    except OSError:
        return None, f"its process (pid {pid}) cannot be checked"
    stat = _read(f"/proc/{pid}/stat").rpartition(")")[2].split()
    if stat and stat[0] == "Z":
        return False, f"its process (pid {pid}) is gone (a zombie)"
    if len(theirs) == 3 and (now := _started(pid)) and now != theirs[2]:
        return False, f"its process (pid {pid}) is gone (the pid is another process's now)"
    return True, f"its process (pid {pid} on this host) is still running"


@dataclass
class RunLeft:
    """What a run has on the engine, and whether its owner still runs."""

    run_id: str
    containers: list[str] = field(default_factory=list)  # names
    networks: list[str] = field(default_factory=list)
    alive: bool | None = None
    why: str = ""


def runs(client: docker.DockerClient, run_ids: Iterable[str] | None = None) -> list[RunLeft]:
    """Every run with containers or networks on the engine (or only those of `run_ids`)."""
    wanted = None if run_ids is None else set(run_ids)
    found: dict[str, RunLeft] = {}
    owners: dict[str, dict[str, str]] = {}

    def add(labels: dict[str, str] | None) -> RunLeft | None:
        labels = labels or {}
        rid = labels.get(RUN_LABEL, "")
        if wanted is not None and rid not in wanted:
            return None
        if labels.get(HOST_LABEL) is not None:
            owners.setdefault(rid, labels)
        return found.setdefault(rid, RunLeft(rid))

    with engine_errors():
        listed: list[dict[str, Any]] = client.api.containers(all=True, filters={"label": RUN_LABEL})
        for c in listed:
            if (run := add(c.get("Labels"))) is not None:
                run.containers.append(str(c["Names"][0]).lstrip("/") if c.get("Names") else c["Id"])
        for n in client.api.networks(filters={"label": RUN_LABEL}):
            if (run := add(n.get("Labels"))) is not None:
                run.networks.append(str(n["Name"]))
    for rid, run in found.items():
        run.alive, run.why = owner_alive(owners.get(rid, {}))
    return sorted(found.values(), key=lambda r: r.run_id)


CLEANUP_ROUNDS = 5  # an engine that answers but refuses (a removal already under way)


def cleanup(client: docker.DockerClient, run_id: str | None = None) -> tuple[int, int]:
    """Remove the containers and networks of one run (or of every run, alive or not: for
    `--cleanup`, `runs` first picks the runs whose process is gone); (containers, networks).
    A refusal (someone else removing the same container, a network still being left) does
    not stop it: it goes on with the rest and tries again, a few rounds, before it raises."""
    label = RUN_LABEL if run_id is None else f"{RUN_LABEL}={run_id}"
    removed_c = removed_n = 0
    refused: docker.errors.APIError | None = None
    with engine_errors():
        for attempt in range(CLEANUP_ROUNDS):
            if attempt:
                time.sleep(0.2 * attempt)
            refused = None
            for c in client.api.containers(all=True, filters={"label": label}):
                try:
                    client.api.remove_container(c["Id"], force=True)
                    removed_c += 1
                except docker.errors.NotFound:
                    pass
                except docker.errors.APIError as err:
                    refused = err
            for n in client.api.networks(filters={"label": label}):
                try:
                    client.api.remove_network(n["Id"])
                    removed_n += 1
                except docker.errors.NotFound:
                    pass
                except docker.errors.APIError as err:
                    refused = err
            if refused is None:
                return removed_c, removed_n
        assert refused is not None
        raise refused  # engine_errors makes it the DriverError of a failed clean-up
    raise AssertionError("unreachable")  # (mypy cannot tell that engine_errors re-raises)


def leftovers(client: docker.DockerClient, run_id: str | None = None) -> tuple[int, int]:
    """How many containers and networks of a run (or of every run) exist."""
    label = RUN_LABEL if run_id is None else f"{RUN_LABEL}={run_id}"
    with engine_errors():
        return (
            len(client.api.containers(all=True, filters={"label": label})),
            len(client.api.networks(filters={"label": label})),
        )
