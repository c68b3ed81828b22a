"""The interpreter against the explorer on random small models (hypothesis): every state a
simulated run goes through is reachable, and every violation a run reports is one the explorer
finds too. The run is evidence, the explorer the proof; they must never disagree."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel, StepError
from kcheck.result import VIOLATED
from kcheck.run.interpreter import Interpreter, RunConfig
from kcheck.run.sim import SimDriver
from tests.explore.modelgen import models


def reachable(model: CompiledModel) -> set[str]:
    """Every reachable state, decoded and serialised as the run's trace shows it."""
    seen = set(model.initial())
    todo = list(seen)
    while todo:
        s = todo.pop()
        for outcomes in model.action_outcomes:
            for _, _, t in outcomes(s):
                if not isinstance(t, StepError) and t not in seen:
                    seen.add(t)
                    todo.append(t)
    return {json.dumps(model.layout.decode(s), sort_keys=True) for s in seen}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models())
def test_a_simulated_run_stays_inside_the_explored_state_space(text: str) -> None:
    model = compile_model(check_source(Source("generated.kdsl", text)).symbols, symmetry=False)
    states = reachable(model)
    checked = explore(model, symmetry=False)
    violated = {p.name for p in checked.properties if p.status == VIOLATED}
    for seed in range(3):
        config = RunConfig(seed=seed, fault_every=0.3, settle=3.0, timeout=60.0)
        outcome = Interpreter(model, SimDriver(), config, lambda e: None).run()
        assert len(outcome.states) == len(outcome.trace.steps)
        for s in outcome.states:
            assert json.dumps(model.layout.decode(s), sort_keys=True) in states, text
        for p in outcome.result.properties:
            if p.status == VIOLATED and p.kind in ("invariant", "bound"):
                assert p.name in violated, (p.name, text)
