"""Building the `RuleBasedStateMachine` for a model and running it with Hypothesis: seeded,
without an example database (a run is reproduced by its seed alone), quiet (kcheck prints the
failure as a kcheck trace), and stopping at the first failure, shrunk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kcheck.mbt.adapter import bind
from kcheck.mbt.machine import Driver, Failure, Found, Inconclusive, Session
from kcheck.model.ir import CompiledModel


@dataclass(frozen=True)
class TestConfig:
    examples: int = 100
    steps: int = 30
    seed: int = 0


@dataclass(frozen=True)
class TestOutcome:
    failure: Failure | None
    inconclusive: str | None
    examples: int  # test cases run (while shrinking too)
    steps: int
    fired: dict[str, int]  # per action label
    enabled: dict[str, int]  # states in which the action was enabled
    observed_fields: tuple[str, ...]


def build_machine(session: Session) -> type:
    """One rule per action, named after the adapter method it calls."""
    from hypothesis import strategies as st
    from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

    def __init__(self: Any) -> None:
        RuleBasedStateMachine.__init__(self)
        self.driver = Driver(session)

    @initialize(data=st.data())
    def start(self: Any, data: Any) -> None:
        self.driver.start(lambda n: data.draw(st.integers(0, n - 1), label="initial state"))

    @precondition(lambda self: not self.driver.any_enabled())
    @rule()
    def nothing_enabled(self: Any) -> None:
        self.driver.stutter()

    def teardown(self: Any) -> None:
        self.driver.teardown()

    # rule names never clash with the state machine's own methods (check_invariants, ...)
    body: dict[str, Any] = {
        "__init__": __init__,
        "kcheck_start": start,
        "kcheck_nothing_enabled": nothing_enabled,
        "teardown": teardown,
    }
    for action in session.model.actions:
        name = f"rule_{session.binding.methods[action.id]}"
        body[name] = _action_rule(action.id, name)
    return type(f"{session.model.name}_test", (RuleBasedStateMachine,), body)


def _action_rule(aid: int, name: str) -> Any:
    from hypothesis import strategies as st
    from hypothesis.stateful import precondition, rule

    def fire(self: Any, data: Any) -> None:
        self.driver.fire(
            aid,
            lambda keys: data.draw(st.sampled_from(keys), label="instance"),
            lambda n: data.draw(st.integers(0, n - 1), label="outcome"),
        )

    # Hypothesis tells rules apart by name (which to switch off in a test case)
    fire.__name__ = fire.__qualname__ = name
    return precondition(lambda self: self.driver.enabled(aid))(rule(data=st.data())(fire))


def run_test(model: CompiledModel, cls: type, config: TestConfig) -> TestOutcome:
    """Run the generated test; raises AdapterError when the adapter breaks the protocol."""
    from hypothesis import HealthCheck, Phase, Verbosity, seed, settings
    from hypothesis.errors import Flaky
    from hypothesis.stateful import run_state_machine_as_test

    session = Session(model, cls, bind(cls, model))
    machine = seed(config.seed)(build_machine(session))
    chosen = settings(
        max_examples=config.examples,
        stateful_step_count=config.steps,
        database=None,
        deadline=None,
        derandomize=False,
        report_multiple_bugs=False,
        verbosity=Verbosity.quiet,
        print_blob=False,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )
    failure: Failure | None = None
    inconclusive: str | None = None
    try:
        run_state_machine_as_test(machine, settings=chosen)
    except Found as found:
        failure = found.failure
    except Inconclusive as err:
        inconclusive = str(err)
    except Flaky as err:
        inconclusive = (
            "the implementation did not do the same twice for the same steps (Hypothesis:"
            f" {type(err).__name__}); make it deterministic (seed its randomness)"
        )
    return TestOutcome(
        failure,
        inconclusive,
        session.examples,
        session.steps,
        dict(session.fired),
        dict(session.enabled),
        tuple(sorted(session.observed_fields)),
    )
