"""What the docker package raises becomes one line that says what to do (no engine needed)."""

from __future__ import annotations

import docker.errors
import pytest
import requests.exceptions

from kcheck.run.driver import Divergence, DriverError
from kcheck.run.engine import engine_errors


@pytest.mark.parametrize(
    ("raised", "mid_run", "message"),
    [
        (PermissionError(13, "Permission denied"), False, "permission denied on the Docker socket"),
        (
            docker.errors.DockerException(
                "Error while fetching server API version: ('Connection aborted.', "
                "FileNotFoundError(2, 'No such file or directory'))"
            ),
            False,
            "no Docker engine is running (is dockerd started? is DOCKER_HOST right?)",
        ),
        (
            requests.exceptions.ConnectionError("Connection refused"),
            True,
            "the Docker engine stopped answering",
        ),
        (
            requests.exceptions.ReadTimeout("read timed out"),
            True,
            "the Docker engine did not answer in time",
        ),
    ],
)
def test_engine_failures_become_one_clear_line(
    raised: Exception, mid_run: bool, message: str
) -> None:
    with pytest.raises(DriverError) as caught, engine_errors(mid_run=mid_run):
        raise raised
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_a_resource_gone_behind_the_runs_back_is_a_divergence() -> None:
    with pytest.raises(Divergence, match="removed by someone else"), engine_errors():
        raise docker.errors.NotFound("No such container: abc")
