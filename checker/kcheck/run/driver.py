"""What the interpreter needs from a world: carry a step out, read the world back as a model
state, tell the time. Two implementations: sim.SimDriver and docker_driver.DockerDriver."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol, TypeAlias

from kcheck.model.ir import ActionInfo, CompiledModel, State

View: TypeAlias = tuple[Hashable, ...]  # what the world can show of a state (see `view`)


class DriverError(Exception):
    """The world cannot be driven any more (no engine, permission denied, the engine died, a
    missing image): the run stops with this one-line message and exit code 4."""


class Divergence(Exception):
    """The world did something no step of the model explains (a container removed by someone
    else): a conformance violation, reported with the trace that led to it."""


class Driver(Protocol):
    name: str

    @property
    def run_id(self) -> str | None:
        """What names the run's resources in the world (None: nothing does)."""

    def start(self, model: CompiledModel, initial: State) -> None:
        """Build the world of the initial state."""

    def now(self) -> float:
        """Seconds since start (simulated with the sim driver)."""

    observes: bool  # the world changes on its own and is read back (not the simulator)

    def view(self, s: State) -> View:
        """What the world would show of model state `s`; the rest of a state lives in the
        interpreter's own store (the apiserver role)."""

    def describe(self, before: View, seen: View) -> str:
        """The difference between two views, for a divergence message."""

    def rules(self, s: State, seen: View) -> str:
        """The binding rules that made the view of `s` differ from `seen`, with how to change
        them (for a divergence message); empty when there are none."""

    def apply(
        self, before: State, after: State, action: ActionInfo, args: tuple[int, ...]
    ) -> State | None:
        """Make the world follow the step `before` -> `after`; returns once it has. A world
        that supplies part of the state itself (etcd's watches feed the controllers' caches)
        returns the state it holds now, which the run goes on from; None: `after`."""

    def request(
        self, before: State, after: State, action: ActionInfo, args: tuple[int, ...]
    ) -> bool:
        """Ask the world to take a step it performs itself (the kubelet starting a pod); it
        may return before the world has, and the step is committed once it is observed.
        False when the world has nothing to do for it (a pod rejected before it ever ran):
        then the interpreter commits the step itself."""

    def follow(self, state: State) -> None:
        """After a step the world took itself (observed): bring in line what derives from
        it, such as the pods a service name resolves to; never redo the step."""

    def observe(self, expected: State) -> View:
        """The world now, as a view; where it tells nothing (a paused container), the view of
        `expected`."""

    def pause(self) -> None:
        """Let time pass when nothing is enabled."""

    def step_done(self) -> None:
        """Let time pass after a step."""

    def close(self) -> str | None:
        """Remove everything the run created; a warning when that failed (never raises)."""

    def probe(self, state: State) -> list[str] | None:
        """Check for real what the model claims about the world (services resolve): the
        problems found, empty when none, None when there is nothing to check."""
