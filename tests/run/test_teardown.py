"""What keeps a Docker run's teardown whole and `--cleanup` safe, without an engine: stop
signals are raised once and deferred after that, and a run's owner is told alive or gone from
its labels (the live tests in test_docker_live.py run both for real)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import docker.errors
import pytest

from kcheck.lang.frontend import load
from kcheck.model.compile import compile_model
from kcheck.run.driver import DriverError
from kcheck.run.engine import (
    CLEANUP_ROUNDS,
    HOST_LABEL,
    PID_LABEL,
    PROCESS_LABEL,
    cleanup,
    owner_alive,
    owner_labels,
)
from kcheck.run.events import Event
from kcheck.run.interpreter import Interpreter, RunConfig, Stopped
from kcheck.run.signals import StopSignals
from kcheck.run.sim import SimDriver
from tests.terminal_signals import sigint_as_at_a_terminal

MODELS = Path(__file__).resolve().parents[2] / "models"


def _deliver(sig: int) -> None:
    """Send `sig` to this process and give the main thread the bytecodes to handle it."""
    os.kill(os.getpid(), sig)
    for _ in range(1000):
        time.sleep(0)


def test_with_a_world_a_stop_signal_only_asks_and_nothing_interrupts_the_teardown(
    capfd: pytest.CaptureFixture[str],
) -> None:
    before = signal.getsignal(signal.SIGTERM)
    with sigint_as_at_a_terminal(), StopSignals() as signals:
        assert not signals.requested()
        _deliver(signal.SIGTERM)  # no KeyboardInterrupt: the run stops at a safe point
        assert signals.requested()
        # the teardown: neither a second Ctrl-C nor a SIGTERM interrupts it
        _deliver(signal.SIGINT)
        _deliver(signal.SIGTERM)
    assert signals.received == [signal.SIGTERM, signal.SIGINT, signal.SIGTERM]
    err = capfd.readouterr().err
    assert err.count("kcheck: stopping; removing what the run created") == 1
    assert err.count("still removing what the run created; please wait") == 2
    assert signal.getsignal(signal.SIGTERM) == before


def test_without_a_world_the_first_signal_interrupts_at_once() -> None:
    with StopSignals(cooperative=False) as signals, pytest.raises(KeyboardInterrupt):
        _deliver(signal.SIGTERM)
    assert signals.received == [signal.SIGTERM]


def test_a_signal_ignored_on_purpose_stays_ignored() -> None:
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        with StopSignals() as signals:
            _deliver(signal.SIGTERM)
        assert signals.received == []
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_the_interpreter_stops_between_steps_when_asked() -> None:
    model = compile_model(load(str(MODELS / "replicaset.kdsl")).symbols, symmetry=False)
    asked = iter([False, False, False, True])
    steps: list[Event] = []
    interpreter = Interpreter(
        model, SimDriver(), RunConfig(), steps.append, stop=lambda: next(asked)
    )
    with pytest.raises(Stopped):
        interpreter.run()
    # the start, then three rounds of the loop, each one whole step (the ReplicaSet has pods
    # to create), and no fourth: the stop is asked before each round
    assert len(interpreter.steps) == 4
    assert all(step.state is not None for step in interpreter.steps)


def test_this_process_owns_its_runs_while_it_lives() -> None:
    labels = owner_labels()
    assert labels[PID_LABEL] == str(os.getpid())
    assert owner_alive(labels) == (
        True,
        f"its process (pid {os.getpid()} on this host) is still running",
    )


def test_a_run_whose_process_exited_is_gone() -> None:
    child = subprocess.Popen(["sleep", "0"])
    child.wait()
    alive, why = owner_alive({**owner_labels(), PID_LABEL: str(child.pid)})
    assert alive is False and f"pid {child.pid}" in why


def test_a_zombie_owner_is_gone() -> None:
    child = subprocess.Popen(["sleep", "0"])
    try:
        for _ in range(500):  # exited, and not reaped: a zombie
            with open(f"/proc/{child.pid}/stat", encoding="ascii") as f:
                if f.read().rpartition(")")[2].split()[0] == "Z":
                    break
            time.sleep(0.01)
        assert owner_alive({**owner_labels(), PID_LABEL: str(child.pid)})[0] is False
    finally:
        child.wait()


def test_a_reused_pid_is_not_the_runs_process() -> None:
    # pid 1 exists, but started long before this process: not the one that labelled the run
    alive, why = owner_alive({**owner_labels(), PID_LABEL: "1"})
    assert alive is False and "the pid is another process's now" in why


@pytest.mark.parametrize(
    ("labels", "why"),
    [
        ({}, "it carries no owner labels"),
        ({HOST_LABEL: "elsewhere", PID_LABEL: "1"}, "started on host elsewhere"),
    ],
)
def test_a_run_that_cannot_be_checked_is_never_called_gone(
    labels: dict[str, str], why: str
) -> None:
    alive, text = owner_alive(labels)
    assert alive is None and why in text


def test_another_pid_namespace_under_the_same_host_name_cannot_be_checked() -> None:
    mine = owner_labels()
    if PROCESS_LABEL not in mine:
        pytest.skip("this system does not tell a process's identity (no /proc)")
    boot, _, started = mine[PROCESS_LABEL].split("/")
    other = {**mine, PID_LABEL: "999999", PROCESS_LABEL: f"{boot}/pid:[1]/{started}"}
    alive, why = owner_alive(other)
    assert alive is None and "another pid namespace" in why


class RefusingEngine:
    """A Docker API whose removal of container `busy` is refused `refusals` times (someone
    else is removing it), as the engine answers while another client's removal is under way."""

    def __init__(self, refusals: int) -> None:
        self.containers_left = {"busy", "other"}
        self.networks_left = {"net"}
        self.refusals = refusals

    def containers(self, **_: object) -> list[dict[str, str]]:
        return [{"Id": c} for c in sorted(self.containers_left)]

    def networks(self, **_: object) -> list[dict[str, str]]:
        return [{"Id": n} for n in sorted(self.networks_left)]

    def remove_container(self, cid: str, force: bool) -> None:
        if cid == "busy" and self.refusals:
            self.refusals -= 1
            raise docker.errors.APIError("removal of container busy is already in progress")
        self.containers_left.discard(cid)

    def remove_network(self, nid: str) -> None:
        self.networks_left.discard(nid)


class FakeClient:
    def __init__(self, api: RefusingEngine) -> None:
        self.api = api


def test_a_refused_removal_does_not_stop_the_cleanup(monkeypatch: pytest.MonkeyPatch) -> None:
    # found live: a container removed by someone else while the run tore down left the
    # run's other container and its network behind
    monkeypatch.setattr("kcheck.run.engine.time.sleep", lambda s: None)
    api = RefusingEngine(refusals=2)
    assert cleanup(FakeClient(api), "r") == (2, 1)  # type: ignore[arg-type]
    assert api.containers_left == set() and api.networks_left == set()


def test_a_removal_refused_for_good_is_an_error_after_the_rest_is_removed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("kcheck.run.engine.time.sleep", lambda s: None)
    api = RefusingEngine(refusals=CLEANUP_ROUNDS)
    with pytest.raises(DriverError, match="already in progress"):
        cleanup(FakeClient(api), "r")  # type: ignore[arg-type]
    assert api.containers_left == {"busy"} and api.networks_left == set()
