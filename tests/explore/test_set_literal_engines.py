"""Set literals of expressions (issue 19 point 6): `{p.node}` means the same in the explicit
engine (symmetry on and off), the reference interpreter, BMC and `kcheck run`, including the
runtime error of an element that is `none` when the literal is evaluated (a set holds objects,
never `none`: spec/language.md section 6)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.result import VIOLATED
from kcheck.run.interpreter import Interpreter, RunConfig
from kcheck.run.sim import SimDriver
from tests.explore.test_dangling import _by_name
from tests.explore.test_reference_agreement import reachable_and_errors
from tests.reference import enumerate_reachable
from tests.smt.test_bmc import _agree

# `{guard}` reads set literals whose elements may be `none`; `{store}` builds a set<Node> from them
TEMPLATE = """model members
enum Phase {{ Pending, Running }}
kind Node[2] {{ ready: bool = true }}
kind Pod[2] {{ node: Node? = none  phase: Phase = Pending  hit: bool = false }}
var seen: set<Node> = {{}}
init {{ let n = create Node {{ }} create Pod {{ }} create Pod {{ node: n }} }}
process kubelet {{
  action bind for p in Pod, n in Node where p.node == none {{ p.node := n }}
  action run for p in Pod where p.phase == Pending {{ p.phase := Running }}
  action mark for p in Pod, q in Pod where not p.hit and {guard} {{ p.hit := true }}
}}
controller watcher {{
  action note for p in Pod where {store_where} {{ seen := {store} }}
}}
fault unbind budget 1 {{
  action go for p in Pod where p.node != none {{ p.node := none }}
}}
invariant inv: {inv}
"""

GUARDS = [
    "p.node in {q.node}",  # fails while q is unbound
    "q.node != none and p.node in {q.node}",
    "p.node != none and q.node != none and (exists n in Node: n in {p.node, q.node})",
    "p.phase in {q.phase, Pending}",
    "p.node not in {q.node}",
]
STORES = [("true", "{p.node}"), ("p.node != none", "seen | {p.node}"), ("true", "seen - {p.node}")]
INVS = [
    "(count p in Pod where p.hit) <= 1",
    "size(seen) <= 1",
    "forall p in Pod: p.node == none or p.node in seen or not p.hit",
]


@st.composite
def member_models(draw: st.DrawFn) -> str:
    where, store = draw(st.sampled_from(STORES))
    return TEMPLATE.format(
        guard=draw(st.sampled_from(GUARDS)),
        store_where=where,
        store=store,
        inv=draw(st.sampled_from(INVS)),
    )


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(member_models())
def test_set_literals_of_expressions_agree_everywhere(text: str) -> None:
    note(text)
    checked = check_source(Source("members.kdsl", text))
    model = compile_model(checked.symbols, symmetry=False)
    states, _ = reachable_and_errors(model)
    on = _by_name(explore(compile_model(checked.symbols), symmetry=True))
    off = _by_name(explore(model, symmetry=False))
    assert {k: v[:2] for k, v in on.items()} == {k: v[:2] for k, v in off.items()}
    _agree(text, 4)
    assert states  # the search ran


@SETTINGS
@given(st.sampled_from(GUARDS), st.sampled_from(INVS[:1]))
def test_the_reference_interpreter_agrees_on_membership_in_literals(guard: str, inv: str) -> None:
    # the reference has no set-valued vars: its model has no `seen` and no watcher
    text = TEMPLATE.format(guard=guard, store_where="false", store="seen", inv=inv)
    text = text.replace("var seen: set<Node> = {}\n", "")
    text = text.replace(
        "controller watcher {\n  action note for p in Pod where false { seen := seen }\n}\n", ""
    )
    note(text)
    checked = check_source(Source("members.kdsl", text))
    model = compile_model(checked.symbols, symmetry=False)
    ref = enumerate_reachable(checked.symbols, model.layout)
    states, codes = reachable_and_errors(model)
    assert states == ref.states
    assert codes == {e for e in ref.errors if not e.startswith("invariant:")}


def test_an_element_that_is_none_is_a_runtime_error_in_every_engine() -> None:
    text = TEMPLATE.format(
        guard="p.node in {q.node}", store_where="true", store="{p.node}", inv=INVS[0]
    )
    model = compile_model(check_source(Source("members.kdsl", text)).symbols)
    found = {p.name: p for p in explore(model, invariants=[]).properties}
    for name in ("bound: none in kubelet.mark", "bound: none in watcher.note"):
        assert found[name].status == VIOLATED
        assert found[name].reason is not None and "is none" in found[name].reason
    _agree(text, 3)
    seen: set[str] = set()
    for seed in range(4):
        config = RunConfig(seed=seed, faults=False, settle=1.0, timeout=30.0)
        outcome = Interpreter(model, SimDriver(), config, lambda e: None).run()
        seen |= {p.name for p in outcome.result.properties if p.status == VIOLATED}
    assert seen & {"bound: none in kubelet.mark", "bound: none in watcher.note"}
