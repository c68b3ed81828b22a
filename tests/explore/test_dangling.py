"""Dangling references (issue 12 point 2; spec/language.md section 7, spec/faults.md): an
object's identity is never reused, so a reference stored after its object was deleted (through
a stale cache, or a local of the same step) names no object: reading or writing through it is
the runtime error `deleted`, comparing it is plain identity, and `create` never takes a slot a
real reference still names. The explicit engine (symmetry on and off), the reference
interpreter, `kcheck run` and, where the model is encoded, the Z3 engines agree."""

from __future__ import annotations

import pytest

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.result import VIOLATED, CheckResult
from kcheck.run.interpreter import Interpreter, RunConfig
from kcheck.run.sim import SimDriver
from kcheck.smt.induction import induction
from tests.explore.test_reference_agreement import assert_replays, reachable_and_errors
from tests.reference import enumerate_reachable
from tests.smt.test_bmc import _agree

# the case: a controller whose stale cache still holds a deleted Parent creates a
# Child owned by it; the slot must not be reused while the Child names it
STALE = """model stale_dangle
kind Parent[{n}] {{ gen: 1..3 = 1 }}
kind Child[2] {{ owner: Parent? = none  for_gen: 0..3 = 0 }}
init {{ create Parent {{ }} }}
controller adopt watches Parent stale {{
  action make for c in Parent where not (exists ch in Child: ch.owner == c) {{
    create Child {{ owner: c, for_gen: c.gen }}
  }}
}}
process user {{
  action remove for p in Parent {{ delete p }}
  action add when count(Parent) == 0 {{ create Parent {{ gen: 2 }} }}
}}
process reader {{
  action read for ch in Child where ch.owner != none {{ let g = ch.owner.gen }}
}}
invariant {inv}
"""

# the same without a cache: a local of the step still names the object it deleted
IN_STEP = """model step_dangle
kind Parent[{n}] {{ gen: 1..3 = 1 }}
kind Child[2] {{ owner: Parent? = none  for_gen: 0..3 = 0 }}
init {{ create Parent {{ }} }}
controller c {{
  action orphan for p in Parent when count(Child) == 0 {{
    let g = p.gen
    delete p
    create Child {{ owner: p, for_gen: g }}
  }}
  action readopt when count(Parent) == 0 {{ create Parent {{ gen: 2 }} }}
}}
process reader {{
  action read for ch in Child where ch.owner != none {{ let g = ch.owner.gen }}
}}
invariant {inv}
"""

# a Child names the Parent it was made for, never one created later in its slot
NO_ALIAS = (
    "never_aliased: forall ch in Child: forall p in Parent: ch.owner != p or p.gen == ch.for_gen"
)
READS = "reads_through: forall ch in Child: ch.owner == none or ch.owner.gen >= 1"


def _check(text: str, symmetry: bool = True) -> CheckResult:
    """The invariants' verdicts, and every bound error (from a search that does not stop
    once the invariants are violated)."""
    model = compile_model(check_source(Source("m.kdsl", text)).symbols, symmetry=symmetry)
    result = explore(model, symmetry=symmetry)
    result.properties = [p for p in result.properties if p.kind == "invariant"]
    result.properties += [
        p for p in explore(model, symmetry=symmetry, invariants=[]).properties if p.kind == "bound"
    ]
    for p in result.properties:
        if p.trace is not None and not symmetry:
            assert_replays(model, p.trace)
    return result


def _by_name(result: CheckResult) -> dict[str, tuple[str, int | None, str | None]]:
    return {
        p.name: (p.status, len(p.trace) if p.trace else None, p.reason) for p in result.properties
    }


@pytest.mark.parametrize("template", [STALE, IN_STEP])
def test_reading_through_a_dangling_reference_is_a_runtime_error(template: str) -> None:
    result = _by_name(_check(template.format(n=2, inv=READS)))
    status, steps, reason = result["reads_through"]
    assert status == VIOLATED and steps is not None
    assert reason is not None and "`ch.owner` names Parent#0, which was deleted" in reason
    assert result["bound: deleted in reader.read"][0] == VIOLATED


@pytest.mark.parametrize("template", [STALE, IN_STEP])
def test_a_dangling_reference_never_comes_to_name_a_new_object(template: str) -> None:
    # with room, the new Parent takes another slot: the old reference still names no object
    roomy = _by_name(_check(template.format(n=2, inv=NO_ALIAS)))
    assert roomy["never_aliased"][0] != VIOLATED
    # without room, creating it is a bound hit, never a reuse of the named slot
    tight = _by_name(_check(template.format(n=1, inv=NO_ALIAS)))
    assert tight["never_aliased"][0] != VIOLATED
    assert {"bound: no-free-slot in user.add", "bound: no-free-slot in c.readopt"} & set(tight)


@pytest.mark.parametrize("template", [STALE, IN_STEP])
@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.parametrize("inv", [NO_ALIAS, READS])
def test_symmetry_and_the_reference_interpreter_agree(template: str, n: int, inv: str) -> None:
    text = template.format(n=n, inv=inv)
    on, off = _by_name(_check(text, True)), _by_name(_check(text, False))
    assert {k: v[:2] for k, v in on.items()} == {k: v[:2] for k, v in off.items()}
    checked = check_source(Source("m.kdsl", text))
    model = compile_model(checked.symbols, symmetry=False)
    ref = enumerate_reachable(checked.symbols, model.layout)
    states, codes = reachable_and_errors(model)
    assert states == ref.states
    assert codes == {e for e in ref.errors if not e.startswith("invariant:")}
    for name, (status, steps, _) in off.items():
        if name in ref.violated:
            assert status == VIOLATED and steps == ref.violated[name]


@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.parametrize("inv", [NO_ALIAS, READS])
def test_the_z3_engines_agree_on_a_reference_dangling_within_a_step(n: int, inv: str) -> None:
    text = IN_STEP.format(n=n, inv=inv)
    _agree(text, 4)
    checked = check_source(Source("m.kdsl", text))
    model = compile_model(checked.symbols)
    explicit = {p.name for p in explore(model).properties if p.status == VIOLATED}
    proved = induction(model, checked.symbols, 4)
    for p in proved.properties:
        if p.status == VIOLATED:
            assert p.trace is not None
            assert_replays(model, p.trace)
            assert p.name in explicit or p.kind == "bound"
        elif p.status == "holds":
            assert p.name not in explicit


@pytest.mark.parametrize("template", [STALE, IN_STEP])
def test_kcheck_run_reports_the_dangling_read(template: str) -> None:
    model = compile_model(check_source(Source("m.kdsl", template.format(n=2, inv=READS))).symbols)
    explored = {p.name for p in explore(model, invariants=[]).properties} | {"reads_through"}
    seen = set()
    for seed in range(6):
        config = RunConfig(seed=seed, faults=False, settle=1.0, timeout=30.0)
        outcome = Interpreter(model, SimDriver(), config, lambda e: None).run()
        for p in outcome.result.properties:
            if p.status == VIOLATED:
                assert p.name in explored
                seen.add(p.reason or "")
    assert any("which was deleted" in r for r in seen), seen
