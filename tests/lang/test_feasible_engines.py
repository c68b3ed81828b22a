"""`feasible(S, p, n)` through both engines: on random small scheduler models it equals the
hand-written conjunction of S's filters in every reachable state, a model written with it
explores exactly like the same model written out by hand, and the Z3 engine agrees with the
explicit one on it (BMC finds the same shortest violations, induction proves nothing the explicit
engine refutes).
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import CheckedModel, check_source
from kcheck.model.compile import compile_model
from kcheck.result import HOLDS, INCONCLUSIVE, VIOLATED
from kcheck.smt.bmc import bmc
from kcheck.smt.induction import induction
from tests.explore.test_reference_agreement import assert_replays

# Filter bodies over a pod {p} and a node {n}; {b} is a bound name of the filter's own. The
# filters bind `q`, the name the invariants below bind their pods to: a substitution of text
# would capture it, a call must not.
FILTERS = (
    "{n}.ready",
    "used({n}) + {p}.cpu <= {n}.cpu",
    "(count {b} in Pod where {b}.node == {n}) < 2",
    "{p}.cpu < 2 or {n}.big",
    "not (exists {b} in Pod: {b}.node == {n} and {b}.cpu == {p}.cpu)",
)


@dataclass(frozen=True)
class Shape:
    caps: tuple[int, ...]  # one node per entry, with that cpu
    big: tuple[bool, ...]
    pods: int
    filters: tuple[int, ...]  # indices into FILTERS, in declaration order; may be empty
    room: int


def conjunction(filters: tuple[int, ...], p: str, n: str, b: str) -> str:
    if not filters:
        return "true"
    return " and ".join(f"({FILTERS[i].format(p=p, n=n, b=b)})" for i in filters)


def model_text(shape: Shape, *, builtin: bool) -> str:
    """The model; with `builtin` False every `feasible(...)` is written out by hand."""

    def feasible(p: str, n: str) -> str:
        if builtin:
            return f"feasible(default, {p}, {n})"
        return f"({conjunction(shape.filters, p, n, 'r')})"

    nodes = "\n".join(
        f"  create Node {{ cpu: {c}, big: {'true' if g else 'false'} }}"
        for c, g in zip(shape.caps, shape.big, strict=True)
    )
    filters = "\n".join(
        f"  filter f{i}(p, n) = {FILTERS[i].format(p='p', n='n', b='q')}" for i in shape.filters
    )
    return f"""model feasible_family
kind Node[{len(shape.caps)}] {{
  cpu: 0..3 = 3
  big: bool = false
  ready: bool = true
}}
kind Pod[{shape.pods}] {{
  cpu: 1..2 = 1
  node: Node? = none
}}
def used(n: Node): int = sum x.cpu for x in Pod where x.node == n
def schedulable(p: Pod): bool = p.node == none and (exists n in Node: {feasible("p", "n")})
init {{
{nodes}
}}
controller workload {{
  action submit when count(Pod) < {shape.pods} {{
    choose c in 1..2 {{
      create Pod {{ cpu: c }}
    }}
  }}
}}
scheduler default binds Pod.node {{
{filters}
  score spare(p, n) = n.cpu - used(n)
}}
controller evict {{
  action misfit for q in Pod where q.node != none when not {feasible("q", "q.node")} {{
    delete q
  }}
}}
fault node_failure budget 1 {{
  action fail for m in Node where m.ready and (exists q in Pod: {feasible("q", "m")}) {{
    m.ready := false
  }}
}}
invariant agree: forall q in Pod, m in Node: {feasible("q", "m")} == ({conjunction(shape.filters, "q", "m", "r")})
invariant placeable: forall q in Pod where q.node == none: exists m in Node: {feasible("q", "m")}
invariant room: forall q in Pod where schedulable(q): (max m.cpu - used(m) for m in Node where {feasible("q", "m")}) >= {shape.room}
invariant fits_when_bound: forall q in Pod where q.node != none: used(q.node) <= q.node.cpu
"""


shapes = st.integers(1, 2).flatmap(
    lambda nodes: st.builds(
        Shape,
        caps=st.tuples(*[st.integers(1, 3)] * nodes),
        big=st.tuples(*[st.booleans()] * nodes),
        pods=st.integers(1, 3),
        filters=st.permutations(range(len(FILTERS))).flatmap(
            lambda order: st.integers(0, len(order)).map(lambda k: tuple(order[:k]))
        ),
        room=st.integers(0, 3),
    )
)

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def checked(shape: Shape, *, builtin: bool) -> CheckedModel:
    text = model_text(shape, builtin=builtin)
    note(text)
    return check_source(Source("family.kdsl", text))


@SETTINGS
@given(shapes)
def test_feasible_is_the_conjunction_of_the_filters_in_every_reachable_state(shape: Shape) -> None:
    for symmetry in (False, True):
        model = compile_model(checked(shape, builtin=True).symbols, symmetry=symmetry)
        result = explore(model, symmetry=symmetry, properties=[])
        assert result.complete
        by_name = {p.name: p.status for p in result.properties}
        assert by_name["agree"] == HOLDS


@SETTINGS
@given(shapes)
def test_a_model_explores_the_same_with_feasible_or_by_hand(shape: Shape) -> None:
    with_builtin = explore(compile_model(checked(shape, builtin=True).symbols), properties=[])
    by_hand = explore(compile_model(checked(shape, builtin=False).symbols), properties=[])
    assert (with_builtin.stats.states, with_builtin.stats.transitions) == (
        by_hand.stats.states,
        by_hand.stats.transitions,
    )
    verdicts = {p.name: (p.status, p.trace and len(p.trace)) for p in with_builtin.properties}
    assert verdicts == {p.name: (p.status, p.trace and len(p.trace)) for p in by_hand.properties}


@SETTINGS
@given(shapes, st.integers(0, 5))
def test_z3_engines_agree_with_the_explicit_engine_on_feasible(shape: Shape, depth: int) -> None:
    symbols = checked(shape, builtin=True).symbols
    model = compile_model(symbols, symmetry=False)
    explicit = explore(model, symmetry=False, properties=[])
    assert explicit.complete
    shortest = {
        p.name: len(p.trace)
        for p in explicit.properties
        if p.kind == "invariant" and p.status == VIOLATED and p.trace is not None
    }
    assert not [p for p in explicit.properties if p.kind == "bound"]
    for p in bmc(model, symbols, depth, None, 60).properties:
        note(f"bmc {p.name}: {p.status} {p.reason}; explicit {shortest.get(p.name)}")
        assert p.kind == "invariant"
        if p.name in shortest and shortest[p.name] <= depth:
            assert p.status == VIOLATED and p.trace is not None
            assert len(p.trace) == shortest[p.name]
            assert_replays(model, p.trace)
        else:
            assert p.status == INCONCLUSIVE
            assert p.reason is not None and p.reason.startswith("no violation up to depth")
    for p in induction(model, symbols, 3, None, 60).properties:
        note(f"induction {p.name}: {p.status} {p.reason}")
        if p.kind != "invariant":
            continue
        if p.status == HOLDS:
            assert p.name not in shortest
        if p.status == VIOLATED:
            assert p.name in shortest and p.trace is not None
            assert len(p.trace) == shortest[p.name]
    assert "agree" not in shortest
