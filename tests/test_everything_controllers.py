"""tests/fixtures/everything_controllers.kdsl uses every controller construct that
everything.kdsl leaves out (stale and coalesced watches, read-your-writes, actor locals, `step`,
`restart`, `key` and `create ... else`, `feasible`, `on bind`, `lemma`, `decreases`). It runs
through the whole pipeline: the explicit search with and without symmetry, the reference
interpreter (the same reachable states), Z3's BMC (the same invariant verdicts), and `kcheck fmt`.
"""

from __future__ import annotations

from pathlib import Path

from kcheck.engines.dispatch import EngineOptions, check
from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.fmt import format_program
from kcheck.lang.frontend import check_source, load
from kcheck.lang.parser import parse, read_source
from kcheck.model.compile import compile_model
from tests.explore.test_reference_agreement import reachable_and_errors
from tests.reference import enumerate_reachable

FIXTURE = Path(__file__).parent / "fixtures" / "everything_controllers.kdsl"


def test_explores_with_pinned_counts_and_every_verdict_holds() -> None:
    checked = load(str(FIXTURE))
    with_symmetry = explore(compile_model(checked.symbols))
    without = explore(compile_model(checked.symbols, symmetry=False), symmetry=False)
    assert (with_symmetry.stats.states, without.stats.states) == (13293, 14105)
    for result in (with_symmetry, without):
        assert result.complete
        assert {p.name: p.status for p in result.properties} == {
            "no_overcommit": "holds",
            "never_too_many": "holds",
            "assumed_covers_use": "holds",
            "bound_when_possible": "holds",
            "jobs_drain": "holds",
        }


def test_the_reference_interpreter_reaches_the_same_states() -> None:
    checked = load(str(FIXTURE))
    plain = compile_model(checked.symbols, symmetry=False)
    ref = enumerate_reachable(checked.symbols, plain.layout)
    assert not ref.truncated and not ref.violated
    reach, codes = reachable_and_errors(plain)
    assert codes == {e for e in ref.errors if not e.startswith("invariant:")}
    assert reach == ref.states
    assert len(reach) == 14105


def test_bmc_agrees_on_the_invariants_and_on_a_mutant() -> None:
    checked = load(str(FIXTURE))
    model = compile_model(checked.symbols)
    result = check(model, checked.symbols, None, [], EngineOptions(engine="bmc", depth=6))
    reasons = {p.name: (p.status, p.reason) for p in result.properties if p.kind != "property"}
    assert reasons == {
        name: ("inconclusive", "no violation up to depth 6")
        for name in ("no_overcommit", "never_too_many", "assumed_covers_use")
    }
    # without read-your-writes the stale cache makes the controller overshoot: both engines
    # find the same shortest counterexample
    text = FIXTURE.read_text().replace("when seen_own_writes(Pod) and ", "when ")
    mutant = check_source(Source("mutant.kdsl", text))
    compiled = compile_model(mutant.symbols)
    explicit = explore(compiled, invariants=["never_too_many"], properties=[])
    (found,) = [p for p in explicit.properties if p.name == "never_too_many"]
    bmc = check(
        compiled, mutant.symbols, ["never_too_many"], [], EngineOptions(engine="bmc", depth=8)
    )
    (by_z3,) = [p for p in bmc.properties if p.name == "never_too_many"]
    assert found.status == by_z3.status == "violated"
    assert found.trace is not None and by_z3.trace is not None
    assert len(found.trace.steps) == len(by_z3.trace.steps)


def test_formatting_keeps_the_fixture_and_its_meaning() -> None:
    source = read_source(str(FIXTURE))
    text = format_program(parse(source), source.text)
    assert text == source.text  # the fixture is kept formatted
    again = compile_model(check_source(Source("again.kdsl", text)).symbols)
    assert explore(again).stats.states == 13293
