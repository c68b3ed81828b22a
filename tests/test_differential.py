"""The differential campaign (spec/promises.md): every engine on the same generated models, and
any disagreement, any `holds` for something that was not checked, or any crash on a model that
`kcheck check` accepts fails the test.

Models come from three generators: the general one (tests/explore/modelgen.py, with stale and
coalesced caches, `step`, `restart`, faults with budgets and bound errors), models built on
sets (tests/smt/setgen.py) and scheduler families (tests/lang/test_feasible_engines.py); each may
gain temporal properties. Each model goes through the explicit engine with and without symmetry,
the reference interpreter, BMC, k-induction, `--engine auto` (also with a tiny state budget, so
that it hands over to Z3) and the simulation driver of `kcheck run`.

CI runs a fast tier. For a release, run the long mode, e.g.

    KCHECK_CAMPAIGN_EXAMPLES=2000 KCHECK_CAMPAIGN_REPORT=campaign.json \\
        .venv/bin/pytest tests/test_differential.py -p no:cacheprovider

which writes its figures (models, comparisons, refusals) to the report file.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import kcheck.engines.auto as auto_module
from kcheck.explore.bfs import Limits, explore
from kcheck.lang.frontend import CheckedModel
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel
from kcheck.result import (
    HOLDS,
    INCONCLUSIVE,
    NOT_CHECKED,
    VIOLATED,
    CheckResult,
    PropertyResult,
)
from kcheck.run.interpreter import Interpreter, RunConfig
from kcheck.run.sim import SimDriver
from kcheck.smt.bmc import bmc
from kcheck.smt.induction import induction
from kcheck.smt.refuse import Unsupported
from tests.explore.modelgen import models
from tests.explore.test_reference_agreement import _load, assert_replays, reachable_and_errors
from tests.lang.test_feasible_engines import model_text, shapes
from tests.reference import enumerate_reachable
from tests.run.test_sim_agreement import reachable
from tests.smt.setgen import set_models

EXAMPLES = int(os.environ.get("KCHECK_CAMPAIGN_EXAMPLES", "30"))
STATS: Counter[str] = Counter()
Z3_SECONDS = 30.0


# --------------------------------------------------------------------------- the models


def _atoms(text: str) -> list[str]:
    """Boolean atoms over what every model declares: kind counts and int/bool vars."""
    kinds = re.findall(r"^kind (\w+)\[(\d+)\]", text, re.M)
    atoms = [f"count({k}) >= {n}" for k, n in kinds] + [f"count({k}) == 0" for k, _ in kinds]
    atoms += [f"{v} == {hi}" for v, hi in re.findall(r"^var (\w+): \d+\.\.(\d+)", text, re.M)]
    atoms += re.findall(r"^var (\w+): bool", text, re.M)
    return atoms or ["true"]


@st.composite
def with_properties(draw: st.DrawFn, text: str) -> str:
    """The model with 0-2 temporal properties of every accepted shape."""
    atoms = _atoms(text)
    kinds = re.findall(r"^kind (\w+)\[", text, re.M)
    lines = []
    for i in range(draw(st.integers(0, 2))):
        p, q = draw(st.sampled_from(atoms)), draw(st.sampled_from(atoms))
        shape = draw(st.integers(0, 4))
        if shape == 0:
            body = f"eventually always {p}"
        elif shape == 1:
            body = f"always eventually {p}"
        elif shape == 2:
            body = f"{p} leads_to {q}"
        elif shape == 3:
            body = f"always {p}"
        else:
            k = draw(st.sampled_from(kinds)) if kinds else None
            body = (
                f"forall x in {k}: (exists y in {k}: y == x) leads_to {q}"
                if k
                else f"eventually always {p}"
            )
        lines.append(f"property t{i}: {body}")
    return text + "".join(line + "\n" for line in lines)


campaign_models = st.one_of(
    models(),
    models(controller_state=True),
    set_models(),
    shapes.map(lambda s: model_text(s, builtin=True)),
).flatmap(with_properties)


# --------------------------------------------------------------------------- the relations


def _declared(model: CompiledModel) -> set[str]:
    return {i.name for i in model.invariants} | {p.name for p in model.properties}


def _obeys_the_result_rule(result: CheckResult, model: CompiledModel, engine: str) -> None:
    """Every declared invariant and property is accounted for, and `holds` means every entry
    was checked and holds."""
    listed = {p.name for p in result.properties}
    missing = _declared(model) - listed
    assert not missing, f"{engine} dropped {sorted(missing)}"
    if result.verdict == HOLDS:
        assert all(p.status == HOLDS for p in result.properties), engine
    STATS["results obeying the rule"] += 1


def _statuses(result: CheckResult) -> dict[str, str]:
    return {p.name: p.status for p in result.properties if p.kind in ("invariant", "property")}


def _length(p: PropertyResult) -> int | None:
    return len(p.trace) if p.trace is not None else None


def _lengths(result: CheckResult) -> dict[str, int]:
    return {
        p.name: len(p.trace)
        for p in result.properties
        if p.kind == "invariant" and p.status == VIOLATED and p.trace is not None
    }


def _explicit(model: CompiledModel, symmetry: bool) -> CheckResult:
    result = explore(model, symmetry=symmetry)
    assert result.limit is None, result.limit
    for p in result.properties:
        if p.trace is not None:
            assert_replays(model, p.trace)
            STATS["traces replayed"] += 1
    return result


def _symmetry_agrees(checked: CheckedModel, off: CheckResult) -> None:
    model = compile_model(checked.symbols, symmetry=True)
    on = _explicit(model, True)
    _obeys_the_result_rule(on, model, "explicit, symmetry on")
    assert _statuses(on) == _statuses(off), "symmetry changed a verdict"
    assert _lengths(on) == _lengths(off), "symmetry changed a shortest counterexample"
    if on.complete and off.complete:
        # a search that stops early (every invariant violated) may stop before some bound,
        # at a point that depends on the order of exploration
        bounds = (
            {(p.name, _length(p)) for p in r.properties if p.kind == "bound"} for r in (on, off)
        )
        assert next(bounds) == next(bounds), "symmetry changed the bounds hit"
    STATS["compared: symmetry on/off"] += 1


def _reference_agrees(checked: CheckedModel, model: CompiledModel, off: CheckResult) -> None:
    """The naive interpreter of tests/reference.py, written from the spec: the same reachable
    states, the same failing steps (by cause) and the same shortest violations."""
    try:
        ref = enumerate_reachable(checked.symbols, model.layout, max_states=20_000)
    except NotImplementedError:
        STATS["reference: outside its subset"] += 1
        return
    if ref.truncated:
        STATS["reference: too large for it"] += 1
        return
    reach, codes = reachable_and_errors(model)
    assert {e for e in ref.errors if not e.startswith("invariant:")} == codes
    assert reach == ref.states
    for p in off.properties:
        if p.kind == "invariant":
            want = ref.violated.get(p.name)
            assert (p.status == VIOLATED) == (want is not None), p.name
            if want is not None:
                assert p.trace is not None and len(p.trace) == want
    STATS["compared: reference interpreter"] += 1


def _bmc_agrees(checked: CheckedModel, model: CompiledModel, off: CheckResult, depth: int) -> None:
    try:
        result = bmc(model, checked.symbols, depth, None, Z3_SECONDS)
    except Unsupported as err:
        STATS[f"bmc refused: {err.construct}"] += 1
        return
    _obeys_the_result_rule(result, model, "bmc")
    shortest = _lengths(off)
    explicit = {p.name: p for p in off.properties}
    for p in result.properties:
        if p.trace is not None:
            assert_replays(model, p.trace)
        if p.kind == "property":
            _temporal_agrees(p, explicit[p.name], "bmc")
        if p.kind != "invariant" or (p.reason or "").startswith("Z3"):
            continue
        if p.name in shortest and shortest[p.name] <= depth:
            assert p.status == VIOLATED and p.trace is not None, p.name
            assert len(p.trace) == shortest[p.name]
        else:
            assert p.status != VIOLATED and p.status != HOLDS, (p.name, p.status)
    STATS["compared: bmc"] += 1


def _temporal_agrees(p: PropertyResult, e: PropertyResult, engine: str) -> None:
    """A Z3 lasso is one the explicit engine does not refute (it may be inconclusive where a
    step elsewhere left the bounds: the lasso avoids them), a Z3 proof one it confirms, and
    what one cannot check the other cannot either."""
    if p.status == VIOLATED:
        assert e.status != HOLDS and p.trace is not None, (engine, p.name, p.reason)
        STATS[f"{engine}: temporal violations"] += 1
    elif p.status == HOLDS:
        assert engine == "induction" and e.status == HOLDS, (engine, p.name, e.status)
        STATS[f"{engine}: temporal proofs"] += 1
    assert (p.status == NOT_CHECKED) == (e.status == NOT_CHECKED), (engine, p.name, p.reason)


def _induction_agrees(
    checked: CheckedModel, model: CompiledModel, off: CheckResult, max_k: int
) -> None:
    try:
        result = induction(model, checked.symbols, max_k, None, Z3_SECONDS)
    except Unsupported as err:
        STATS[f"induction refused: {err.construct}"] += 1
        return
    _obeys_the_result_rule(result, model, "induction")
    explicit = {p.name: p for p in off.properties}
    for p in result.properties:
        if p.kind == "property":
            _temporal_agrees(p, explicit[p.name], "induction")
        if p.kind != "invariant":
            continue
        e = explicit[p.name]
        if p.status == HOLDS:
            STATS["induction proofs"] += 1
            # the same status as the explicit engine: a proof never outranks a bound error
            assert e.status == HOLDS, (p.name, e.status, e.reason)
        elif p.status == VIOLATED:
            assert e.status == VIOLATED and e.trace is not None and p.trace is not None
            assert len(p.trace) == len(e.trace)
            assert_replays(model, p.trace)
    STATS["compared: induction"] += 1


def _auto_agrees(checked: CheckedModel, on_statuses: dict[str, str], budget: int | None) -> None:
    """`--engine auto` with its default budget (explicit only, for these sizes) and with a tiny
    one (so it hands the open invariants to Z3): never a verdict the explicit engine denies."""
    model = compile_model(checked.symbols, symmetry=True)
    saved = auto_module.STATE_BUDGET
    if budget is not None:
        auto_module.STATE_BUDGET = budget
    try:
        result = auto_module.auto(
            model,
            checked.symbols,
            invariants=None,
            properties=None,
            symmetry=True,
            limits=Limits(None, None, None),
            depth=4,
            max_k=2,
        )
    finally:
        auto_module.STATE_BUDGET = saved
    _obeys_the_result_rule(result, model, "auto")
    got = _statuses(result)
    for name, status in got.items():
        want = on_statuses[name]
        if budget is None:
            assert status == want, (name, status, want)
        elif status in (HOLDS, VIOLATED):
            # the handover may leave things open, but never decides against the explicit engine
            assert status == want, (name, status, want)
    STATS["compared: auto" + ("" if budget is None else " (handing over to Z3)")] += 1


def _sim_agrees(model: CompiledModel, off: CheckResult, seed: int) -> None:
    states = reachable(model)
    violated = {p.name for p in off.properties if p.status == VIOLATED}
    config = RunConfig(seed=seed, fault_every=0.3, settle=2.0, timeout=30.0)
    outcome = Interpreter(model, SimDriver(), config, lambda e: None).run()
    _obeys_the_result_rule(outcome.result, model, "kcheck run (sim)")
    assert len(outcome.states) == len(outcome.trace.steps)
    for s in outcome.states:
        assert json.dumps(model.layout.decode(s), sort_keys=True) in states
    explicit = {p.name: p.status for p in off.properties}
    safety = {p.name for p in model.properties if p.shape == "always"}
    for p in outcome.result.properties:
        if p.status == VIOLATED and p.kind == "invariant":
            assert p.name in violated, p.name  # every reachable state is checked
        elif p.status == VIOLATED and p.name in safety:
            # the explicit verdict may be open (a bound cut the graph), never `holds`; the
            # run's other temporal verdicts are deadlines (spec/run.md), evidence, not claims
            assert explicit[p.name] != HOLDS, p.name
    STATS["compared: sim driver"] += 1


# --------------------------------------------------------------------------- the campaign


@pytest.fixture(scope="module", autouse=True)
def figures() -> Iterator[None]:
    yield
    out = os.environ.get("KCHECK_CAMPAIGN_REPORT")
    if out:
        Path(out).write_text(json.dumps(dict(sorted(STATS.items())), indent=2) + "\n")


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(campaign_models, st.integers(0, 4), st.integers(1, 2), st.integers(0, 3))
def test_every_engine_agrees_on_generated_models(
    text: str, depth: int, max_k: int, seed: int
) -> None:
    note(text)
    STATS["models"] += 1
    checked = _load(text)
    model = compile_model(checked.symbols, symmetry=False)
    off = _explicit(model, False)
    _obeys_the_result_rule(off, model, "explicit")
    _symmetry_agrees(checked, off)
    _reference_agrees(checked, model, off)
    _bmc_agrees(checked, model, off, depth)
    _induction_agrees(checked, model, off, max_k)
    on = compile_model(checked.symbols, symmetry=True)
    on_statuses = _statuses(explore(on, symmetry=True))
    _auto_agrees(checked, on_statuses, None)
    _auto_agrees(checked, on_statuses, 3)
    _sim_agrees(model, off, seed)
    for status in {p.status for p in off.properties}:
        STATS[f"explicit verdicts: {status}"] += 1


def test_the_campaign_compared_something(request: pytest.FixtureRequest) -> None:
    """Runs after the campaign (pytest keeps file order): the generators must reach the
    engines, or the campaign proves little."""
    if STATS["models"] == 0:
        pytest.skip("run together with the campaign")
    if request.session.testsfailed:
        pytest.skip("the campaign failed; its figures are those of the shrinking")
    assert STATS["compared: symmetry on/off"] == STATS["models"]
    assert STATS["compared: bmc"] + STATS["compared: induction"] > 0, dict(STATS)
    assert STATS[f"explicit verdicts: {VIOLATED}"] > 0, dict(STATS)
    assert STATS[f"explicit verdicts: {HOLDS}"] + STATS[f"explicit verdicts: {INCONCLUSIVE}"] > 0
