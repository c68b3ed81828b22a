"""Discrete time in every engine (issue 19 point 1, spec/language.md §3 "Time"), on generated
models with clocks in vars, actor locals and kind fields, deadlines (`within 0`, `within N`),
skew and a liveness property:

- the saturated clocks are exact: raising every clock's cap (a comparison with a larger
  constant that changes no value) keeps every verdict and every shortest counterexample length
  (the region argument the spec gives);
- the compiled model reaches exactly the states, and fails with exactly the causes, of the
  independent reference interpreter (tests/reference.py);
- symmetry reduction keeps verdicts; BMC agrees with the explicit engine, every trace replaying;
- `kcheck run` fires `tick` once per `--tick-ms` of its (simulated) clock.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.result import CheckResult
from kcheck.run.interpreter import Interpreter, RunConfig
from kcheck.run.sim import SimDriver
from kcheck.trace import is_tick
from tests.explore.test_reference_agreement import reachable_and_errors
from tests.reference import enumerate_reachable
from tests.smt.test_bmc import _agree

TEMPLATE = """model timed
const A = {a}
const B = {b}
kind Job[2] {{ age: clock  done: bool }}
var since: clock = 0
var phase: 0..2 = 0
init {{ create Job {{ }} }}
process worker{skew} {{
  var mine: clock = 0
  action start when phase == 0 and {g1}{w1} {{ phase := 1  since := 0 }}
  action finish when phase == 1 and {g2}{w2} {{ phase := 2  mine := 0 }}
  action again when phase == 2 {{ phase := 0 }}
  action spawn when count(Job) < 2 {{ create Job {{ }} }}
  action reap for j in Job where {g3}{w3} {{ delete j }}
  action mark for j in Job where not j.done {{ j.done := true  j.age := 0 }}
}}
fault glitch budget 1 {{
  action go when phase == 1 {{ phase := 0 }}
}}
invariant inv: {inv}
{extra}"""

G1 = ["after(since, A)", "since < B", "true", "not after(mine, B)"]
G2 = ["after(mine, A)", "since == B", "true", "since > B"]
G3 = ["after(j.age, A)", "j.done and j.age > B", "j.age <= B"]
W = ["", " within 0", " within 1", " within A"]
INVS = [
    "not (after(since, A + 1) and phase == 1)",
    "(count j in Job where after(j.age, B)) <= 1",
    "not (after(worker.mine, A) and since < B)",
    "not (since == A and count(Job) == 2)",
]
# comparisons with a larger constant, always true: they raise every clock's cap and nothing else
RAISE = """invariant raise_since: since < 9 or true
invariant raise_mine: worker.mine < 9 or true
invariant raise_age: forall j in Job: j.age < 9 or true
"""
PROPERTY = "property settles: always eventually phase == 0\n"


@st.composite
def timed_models(draw: st.DrawFn) -> dict[str, str]:
    return {
        "a": str(draw(st.integers(1, 3))),
        "b": str(draw(st.integers(0, 3))),
        "skew": draw(st.sampled_from(["", " skew 1"])),
        "g1": draw(st.sampled_from(G1)),
        "g2": draw(st.sampled_from(G2)),
        "g3": draw(st.sampled_from(G3)),
        "w1": draw(st.sampled_from(W)),
        "w2": draw(st.sampled_from(W)),
        "w3": draw(st.sampled_from(["", " within 0"])),
        "inv": draw(st.sampled_from(INVS)),
    }


def _model(parts: dict[str, str], extra: str = "") -> str:
    return TEMPLATE.format(**parts, extra=extra)


def _verdicts(result: CheckResult, names: set[str]) -> dict[str, tuple[str, int | None]]:
    """Verdicts, and for invariants and bound hits the shortest counterexample's length (a
    lasso is not a shortest anything: its loop goes round the clocks up to their caps)."""
    return {
        p.name: (p.status, len(p.trace) if p.trace is not None and p.kind != "property" else None)
        for p in result.properties
        if p.name in names or p.kind == "bound"
    }


SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(timed_models())
def test_saturated_clocks_give_the_verdicts_of_clocks_that_stop_later(
    parts: dict[str, str],
) -> None:
    text = _model(parts, PROPERTY)
    note(text)
    small = compile_model(check_source(Source("t.kdsl", text)).symbols)
    large = compile_model(check_source(Source("t.kdsl", text + RAISE)).symbols)
    assert large.layout != small.layout  # the caps did move
    names = {"inv", "settles"}
    got = _verdicts(explore(small, invariants=["inv"], properties=["settles"]), names)
    want = _verdicts(explore(large, invariants=["inv"], properties=["settles"]), names)
    assert got == want


@SETTINGS
@given(timed_models())
def test_every_engine_runs_time_the_same_way(parts: dict[str, str]) -> None:
    text = _model(parts)
    note(text)
    checked = check_source(Source("t.kdsl", text))
    model = compile_model(checked.symbols, symmetry=False)
    states, codes = reachable_and_errors(model)
    ref = enumerate_reachable(checked.symbols, model.layout)
    assert states == ref.states
    assert codes == {e for e in ref.errors if not e.startswith("invariant:")}
    on = explore(compile_model(checked.symbols), symmetry=True)
    off = explore(model, symmetry=False)
    assert _verdicts(on, {"inv"}) == _verdicts(off, {"inv"})
    _agree(text, 5)


def test_kcheck_run_ticks_once_per_tick_ms_of_its_clock() -> None:
    parts = {"a": "2", "b": "1", "skew": "", "g1": "true", "g2": "true", "g3": "true",
             "w1": "", "w2": "", "w3": "", "inv": "true"}  # fmt: skip
    model = compile_model(check_source(Source("t.kdsl", _model(parts))).symbols)
    counts = {}
    for tick_ms in (500.0, 2000.0):
        config = RunConfig(seed=1, faults=False, settle=10.0, timeout=20.0, tick_ms=tick_ms)
        outcome = Interpreter(model, SimDriver(), config, lambda e: None).run()
        ticks = sum(is_tick(s.action) for s in outcome.trace.steps)
        # tick n is due at n * tick_ms of the simulated clock, and fires once due
        assert ticks <= outcome.counters.time * 1000 / tick_ms
        assert ticks >= outcome.counters.time * 1000 / tick_ms - 2
        counts[tick_ms] = ticks
    assert counts[500.0] > counts[2000.0] > 0
