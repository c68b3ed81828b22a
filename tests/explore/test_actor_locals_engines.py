"""Actor-local state (issue 19 point 5) in every engine: generated models whose controller keeps
a decision in its own `var`s (a count and a reference, possibly read through a stale cache and
carried across `step`s, lost by `restart`) reach the same states in the explicit engine and the
reference interpreter, keep their verdicts under symmetry, and BMC finds the same shortest
violations; `kcheck run` reports only what the explorer can reach. Plus the semantics in
isolation: `restart` resets a local to its initial value, `step` keeps it."""

from __future__ import annotations

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.result import HOLDS, VIOLATED
from kcheck.run.interpreter import Interpreter, RunConfig
from kcheck.run.sim import SimDriver
from tests.engine_agreement import assert_engines_agree
from tests.smt.test_bmc import _agree

TEMPLATE = """model memory
kind D[{slots}] {{ want: 0..2 = 0  have: 0..2 = 0 }}
init {{ create D {{ want: 1 }} }}
controller c{watch} {{
  var pending: 0..2 = 0
  var target: D? = none
  action decide for d in D when target == none and d.have != d.want {{
    {decide}
  }}
  action act when target != none {{
    {act}
  }}
}}
process user {{
  var made: 0..1 = 0
  action bump for d in D where d.want < 2 {{ d.want := d.want + 1 }}
  action more when made == 0 and count(D) < {slots} {{ create D {{ }}  made := 1 }}
  {remove}
}}
fault crash budget {budget} {{ action go {{ restart c }} }}
invariant inv: {inv}
"""

DECIDES = [
    "pending := d.want  target := d",
    "step  pending := d.want  target := d",  # the header's snapshot, acted on a step later
    "pending := d.want  step  target := d",
    "target := d  step  pending := d.want  step",
]
ACTS = [
    "target.have := pending  target := none",
    "target.have := pending  step  target := none",
    "if pending > 0 { target.have := pending } target := none  pending := 0",
]
INVS = [
    "forall d in D: d.have <= d.want",
    "c.target == none or c.pending <= c.target.want",
    "c.pending <= 1",
    "user.made == 0 or count(D) >= 1",
]


@st.composite
def memory_models(draw: st.DrawFn) -> str:
    return TEMPLATE.format(
        slots=draw(st.integers(1, 2)),
        watch=draw(st.sampled_from(["", " watches D stale"])),
        decide=draw(st.sampled_from(DECIDES)),
        act=draw(st.sampled_from(ACTS)),
        remove=draw(st.sampled_from(["", "action remove for d in D { delete d }"])),
        budget=draw(st.integers(0, 2)),
        inv=draw(st.sampled_from(INVS)),
    )


SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(memory_models())
def test_models_with_actor_locals_agree_everywhere(text: str) -> None:
    note(text)
    assert_engines_agree(text, filename="memory.kdsl", bmc_depth=4)


RESTART = """model restart
var done: bool = false
controller c {
  var pending: 0..2 = 1
  action decide when pending == 1 { pending := 2 }
  action act when pending == 2 {
    step
    done := true
    step
    pending := 0
  }
}
fault crash budget 1 { action go { restart c } }
invariant never_twice: not done or c.pending != 1
"""


def test_restart_resets_a_local_and_step_keeps_it() -> None:
    checked = check_source(Source("restart.kdsl", RESTART))
    model = compile_model(checked.symbols, symmetry=False)
    idx = next(v.index for v in model.layout.vars if v.name == "c.pending")
    labels = {aid: info.label for aid, info in enumerate(model.actions)}
    seen: set[str] = set()
    todo, visited = list(model.initial()), set(model.initial())
    while todo:
        s = todo.pop()
        for aid, _, t in model.labelled_successors(s):
            label = labels[aid]
            if label == "crash.go":
                assert t[idx] == 1  # lost: back to its initial value
                seen.add("restart")
            elif label.startswith("c.act:"):
                assert t[idx] == s[idx] or label == "c.act:3"  # kept across `step`
                seen.add("step")
            if t not in visited:
                visited.add(t)
                todo.append(t)
    assert seen == {"restart", "step"}
    # after a restart the controller decides again although it already acted: the memory loss
    verdicts = {p.name: p.status for p in explore(model).properties}
    assert verdicts["never_twice"] == VIOLATED
    _agree(RESTART, 6)
    without = RESTART.replace("budget 1", "budget 0")
    plain = compile_model(check_source(Source("r.kdsl", without)).symbols)
    assert {p.name: p.status for p in explore(plain).properties}["never_twice"] == HOLDS


def test_kcheck_run_keeps_and_reports_locals() -> None:
    text = TEMPLATE.format(slots=1, watch="", decide=DECIDES[1], act=ACTS[0], remove="",
                           budget=1, inv=INVS[2])  # fmt: skip
    model = compile_model(check_source(Source("memory.kdsl", text)).symbols)
    reachable = {p.name for p in explore(model).properties if p.status == VIOLATED}
    assert reachable == {"inv"}
    found: set[str] = set()
    for seed in range(6):
        config = RunConfig(seed=seed, faults=True, settle=1.0, timeout=30.0)
        outcome = Interpreter(model, SimDriver(), config, lambda e: None).run()
        for p in outcome.result.properties:
            if p.status == VIOLATED:
                assert p.name in reachable
                assert p.trace is not None
                assert "c.pending" in p.trace.steps[-1].state  # type: ignore[operator]
                found.add(p.name)
    assert found == {"inv"}
