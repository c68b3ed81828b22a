"""Settings for the whole suite."""

from __future__ import annotations

import fcntl
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import Phase, settings

# Hypothesis' explain phase re-runs a failing example under a line tracer to say which lines
# made it fail; on the engine agreement tests that took half an hour for one failure (CI ran
# out of time before printing it). The shrunk example and its blob are what we read.
settings.register_profile(
    "kcheck", phases=[p for p in Phase if p is not Phase.explain], print_blob=True
)
settings.load_profile("kcheck")

DOCKER_LOCK = Path(tempfile.gettempdir()) / "kcheck-tests-docker.lock"


@pytest.fixture
def docker_engine() -> Iterator[None]:
    """The machine's one Docker engine, held by this test alone. The suite runs on every core
    (pytest-xdist, work-stealing), and a live test counts every kcheck container and network
    it finds, and `kcheck run --cleanup` removes any run whose process is gone: run beside
    each other, one test's run is another's leftover (CI failed so)."""
    with DOCKER_LOCK.open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # released when the file closes
        yield
