"""The Docker engine connection and what every resource the run creates has in common: the run's
labels, and errors turned into one-line messages (no engine, permission denied, the engine
died). Also what `kcheck run --cleanup` removes."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import docker
import docker.errors
import requests.exceptions

from kcheck.run.driver import Divergence, DriverError

RUN_LABEL = "kcheck.run"  # every container and network of a run carries its id here
OBJECT_LABEL = "kcheck.object"  # the model object a container stands for (Pod#3)
NODE_LABEL = "kcheck.node"


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
def engine_errors(mid_run: bool = True) -> Iterator[None]:
    """Turn the docker package's exceptions into a one-line DriverError, or a Divergence when
    something of the run was removed behind its back. `mid_run`: the engine answered before,
    so losing it means it died."""
    try:
        yield
    except docker.errors.NotFound as err:
        raise Divergence(
            f"a container of the run was removed by someone else ({_explain(err, mid_run)})"
        ) from err
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as err:
        raise DriverError(_explain(err, mid_run)) from err


def connect() -> docker.DockerClient:
    with engine_errors(mid_run=False):
        client = docker.from_env(timeout=30)
        client.ping()
        return client


def cleanup(client: docker.DockerClient, run_id: str | None = None) -> tuple[int, int]:
    """Remove the containers and networks of one run (or of every run); (containers, networks)."""
    label = RUN_LABEL if run_id is None else f"{RUN_LABEL}={run_id}"
    removed_c = removed_n = 0
    with engine_errors():
        for c in client.api.containers(all=True, filters={"label": label}):
            try:
                client.api.remove_container(c["Id"], force=True)
                removed_c += 1
            except docker.errors.NotFound:
                pass
        for n in client.api.networks(filters={"label": label}):
            try:
                client.api.remove_network(n["Id"])
                removed_n += 1
            except docker.errors.NotFound:
                pass
    return removed_c, removed_n


def leftovers(client: docker.DockerClient, run_id: str | None = None) -> tuple[int, int]:
    """How many containers and networks of a run (or of every run) exist."""
    label = RUN_LABEL if run_id is None else f"{RUN_LABEL}={run_id}"
    with engine_errors():
        return (
            len(client.api.containers(all=True, filters={"label": label})),
            len(client.api.networks(filters={"label": label})),
        )
