"""The explorer computes `count x in K where x.f == c and ...` (and `sum`) for every c in one
pass per state, and hoists def calls out of guards. Those are shortcuts: here the reference
interpreter, which evaluates every aggregate directly, must reach the same states and verdicts
on models built around exactly those patterns."""

from __future__ import annotations

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel, State
from kcheck.result import VIOLATED
from tests.reference import enumerate_reachable

TEMPLATE = """
model grouped
enum Color {{ Red, Green, Blue }}
kind R[2] {{
  cap: 0..3 = 0
}}
kind P[2] {{
  owner: R
  v: 0..2 = 0
  color: Color = Red
  node: R? = none
}}
init {{
  let a = create R {{ cap: {a} }}
  let b = create R {{ cap: {b} }}
  create P {{ owner: a }}
}}
def live(r: R): int = count p in P where p.owner == r and p.v {op} {k1}
def load(r: R): int = sum p.v for p in P where p.node == r
controller c {{
  action add for r in R when live(r) < r.cap and count(P) < 2 {{
    create P {{ owner: r }}
  }}
  action bump for p in P where p.v < 2 and (count q in P where q.color == {color} and q.v == {k2}) <= {k3} {{
    p.v := p.v + 1
  }}
  action place for p in P, r in R where p.node == none and load(r) + p.v <= r.cap {{
    p.node := r
  }}
  action paint for p in P where p.color != {color2} {{
    p.color := {color2}
  }}
  action drop for p in P where p.v == 2 {{
    delete p
  }}
}}
invariant owners: forall r in R: live(r) <= {k4}
invariant loads: forall r in R: load(r) <= r.cap
invariant colors: (count q in P where q.color == {color2} and q.v >= 1) <= {k5}
"""

COLORS = st.sampled_from(["Red", "Green", "Blue"])


@st.composite
def grouped_models(draw: st.DrawFn) -> str:
    return TEMPLATE.format(
        a=draw(st.integers(0, 3)),
        b=draw(st.integers(0, 3)),
        op=draw(st.sampled_from(["==", "!=", "<=", ">"])),
        k1=draw(st.integers(0, 2)),
        k2=draw(st.integers(0, 2)),
        k3=draw(st.integers(0, 2)),
        k4=draw(st.integers(0, 3)),
        k5=draw(st.integers(0, 2)),
        color=draw(COLORS),
        color2=draw(COLORS),
    )


def reachable(model: CompiledModel) -> set[State]:
    seen = set(model.initial())
    todo = list(seen)
    while todo:
        for t in model.successors(todo.pop()):
            if t not in seen:
                seen.add(t)
                todo.append(t)
    return seen


@settings(
    max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(grouped_models())
def test_grouped_aggregates_agree_with_the_reference_interpreter(text: str) -> None:
    note(text)
    checked = check_source(Source("grouped.kdsl", text))
    plain = compile_model(checked.symbols, symmetry=False)
    assert "g_0 = [0] *" in plain.python_source  # the shortcut under test is really taken
    ref = enumerate_reachable(checked.symbols, plain.layout)
    assert not ref.truncated and not ref.errors - {e for e in ref.errors if e.startswith("inv")}
    assert reachable(plain) == ref.states
    for symmetry in (False, True):
        model = plain if not symmetry else compile_model(checked.symbols)
        result = explore(model, symmetry=symmetry)
        for p in result.properties:
            if p.name in ref.violated:
                assert p.status == VIOLATED, (symmetry, p)
                assert p.trace is not None and len(p.trace) == ref.violated[p.name]
            else:
                assert p.status == "holds", (symmetry, p)


NESTED = """
model nested
kind S[1] {}
kind P[3] {
  owner: S
  ordinal: 0..2
}
init {
  let s = create S {}
  create P { owner: s, ordinal: 0 }
}
controller c {
  action add for s in S, i in 0..2 when not (exists p in P: p.owner == s and p.ordinal == i) {
    create P { owner: s, ordinal: i }
  }
}
invariant per_ordinal: forall s in S: forall i in 0..2:
    (count p in P where p.owner == s and p.ordinal == i) <= 1
invariant full_is_unreachable: forall s in S:
    (count i in 0..2 where (count p in P where p.owner == s and p.ordinal == i) == 1) < 3
"""


def test_a_count_reading_an_enclosing_binder_is_not_hoisted() -> None:
    """`count p in P where p.owner == s and p.ordinal == i` under `forall i in 0..2`: the key
    `s` is a constant, but `i` is bound by the comprehension, so no table can be computed at
    the top of the function (it raised NameError there, an internal error)."""
    checked = check_source(Source("nested.kdsl", NESTED))
    model = compile_model(checked.symbols)
    result = explore(model, symmetry=True)
    status = {p.name: p.status for p in result.properties}
    assert status == {"per_ordinal": "holds", "full_is_unreachable": VIOLATED}
    ref = enumerate_reachable(checked.symbols, compile_model(checked.symbols).layout)
    assert ref.violated.keys() == {"full_is_unreachable"}
