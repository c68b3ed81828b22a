"""`--driver sim`: the whole model in-process on a simulated clock. Every action, the
kubelet's and the faults' included, is fired by the interpreter; the world is the state."""

from __future__ import annotations

from kcheck.model.ir import ActionInfo, CompiledModel, State
from kcheck.run.driver import View


class SimDriver:
    name = "sim"
    observes = False
    run_id: str | None = None

    def __init__(self, tick: float = 0.1) -> None:
        self.tick = tick  # simulated seconds per step
        self.clock = 0.0

    def start(self, model: CompiledModel, initial: State) -> None:
        self.clock = 0.0

    def now(self) -> float:
        return self.clock

    def view(self, s: State) -> View:
        return ()  # the state is the world: nothing to read back

    def describe(self, before: View, seen: View) -> str:
        return ""

    def rules(self, s: State, seen: View) -> str:
        return ""

    def apply(self, before: State, after: State, action: ActionInfo, args: tuple[int, ...]) -> None:
        pass  # the state is the world

    def request(
        self, before: State, after: State, action: ActionInfo, args: tuple[int, ...]
    ) -> bool:
        return False  # never called: the simulated world does nothing of its own

    def follow(self, state: State) -> None:
        pass

    def observe(self, expected: State) -> View:
        return ()

    def pause(self) -> None:
        self.clock += self.tick

    def step_done(self) -> None:
        self.clock += self.tick

    def close(self) -> str | None:
        return None

    def probe(self, state: State) -> list[str] | None:
        return None
