"""The compiler: state layout, exact successor sets of small actions, step errors, deletes,
the scheduler's bind step, fault budgets, and symmetry representatives."""

from __future__ import annotations

import itertools
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel, State, StepError


def compiled(text: str, symmetry: bool = False) -> CompiledModel:
    checked = check_source(Source("test.kdsl", textwrap.dedent(text)))
    return compile_model(checked.symbols, symmetry=symmetry)


def only_initial(m: CompiledModel) -> State:
    (s,) = m.initial()
    return s


def action_id(m: CompiledModel, label: str) -> int:
    return next(a.id for a in m.actions if a.label == label)


# ---- layout


def test_layout_puts_vars_then_budgets_then_kind_blocks() -> None:
    m = compiled(
        """
        model layout
        enum Color { Red, Green }
        kind Box[2] { size: 0..3 = 1  color: Color = Green }
        kind Tag[3] { box: Box? = none }
        var n: 0..3 = 2
        var on: bool = true
        fault oops budget 1 { action bump { n := 0 } }
        fault ouch budget 2 { action bump { n := 1 } }
        """
    )
    lay = m.layout
    assert [(v.name, v.index) for v in lay.vars] == [("n", 0), ("on", 1)]
    assert [(b.fault, b.index, b.budget) for b in lay.budgets] == [("oops", 2, 1), ("ouch", 3, 2)]
    box, tag = lay.kind("Box"), lay.kind("Tag")
    assert (box.base, box.slots, box.stride) == (4, 2, 3)
    assert [(f.name, f.offset) for f in box.fields] == [("size", 1), ("color", 2)]
    assert (tag.base, tag.slots, tag.stride) == (10, 3, 2)
    assert tag.slot_base(2) == 14
    assert lay.width == 16
    # vars at their initial values, budgets unspent, no objects (absent slots all zero)
    assert m.initial() == [(2, 1, 0, 0) + (0,) * 12]


# ---- exact successor sets

SUCC = """
model succ
enum Color { Red, Green }
kind Box[2] { size: 0..3 = 1  color: Color = Red }
var n: 0..3 = 0
init { create Box { size: 2 } }
controller c {
  action make when count(Box) < 2 {
    let k = n + 1
    create Box { size: k, color: Green }
  }
  action paint for b in Box where b.color == Red {
    choose o in Box where o.size >= 2 {
      o.color := Green
      n := o.size
    }
  }
  action drop for b in Box where b.color == Green { delete b }
  action grow { for b in Box where b.size < 3 { b.size := b.size + 1 } }
  action pick { n := any 1..2 }
  action branch for b in Box { if b.size == 2 { n := 3 } else { n := 0 } }
  action never { choose b in Box where b.size > 3 { n := 1 } }
}
invariant small: n <= 3
"""
# layout: n, then Box#0 (present, size, color), Box#1


def test_create_choose_for_let_any_if_give_exact_successors() -> None:
    m = compiled(SUCC)
    s0 = only_initial(m)
    assert s0 == (0, 1, 2, 0, 0, 0, 0)
    assert set(m.successors(s0)) == {
        (0, 1, 2, 0, 1, 1, 1),  # make: let k = n + 1 = 1; lowest free slot is #1
        (2, 1, 2, 1, 0, 0, 0),  # paint: choose o = Box#0, n := its size
        (0, 1, 3, 0, 0, 0, 0),  # grow
        (1, 1, 2, 0, 0, 0, 0),  # pick 1
        (2, 1, 2, 0, 0, 0, 0),  # pick 2
        (3, 1, 2, 0, 0, 0, 0),  # branch: size == 2
    }
    labelled = {(m.actions[a].name, args, t) for a, args, t in m.labelled_successors(s0)}
    assert ("paint", (0,), (2, 1, 2, 1, 0, 0, 0)) in labelled
    assert ("make", (), (0, 1, 2, 0, 1, 1, 1)) in labelled
    assert not any(name == "never" for name, _, _ in labelled)  # no candidate: disabled


def test_delete_frees_the_slot_and_create_takes_the_lowest_free_one() -> None:
    m = compiled(SUCC)
    both_green = (0, 1, 2, 1, 1, 1, 1)
    succ = set(m.successors(both_green))
    assert succ == {
        (0, 0, 0, 0, 1, 1, 1),  # drop Box#0: its block is all zeros again
        (0, 1, 2, 1, 0, 0, 0),  # drop Box#1
        (0, 1, 3, 1, 1, 2, 1),  # grow both in one step
        (1, 1, 2, 1, 1, 1, 1),
        (2, 1, 2, 1, 1, 1, 1),
        (3, 1, 2, 1, 1, 1, 1),
        both_green,  # branch on Box#1 (size 1): n := 0, unchanged
    }
    assert (0, 1, 1, 1, 1, 1, 1) in m.successors((0, 0, 0, 0, 1, 1, 1))


def test_every_action_step_agrees_with_the_fast_successors() -> None:
    m = compiled(SUCC)
    for s in [(0, 1, 2, 0, 0, 0, 0), (0, 1, 2, 1, 1, 1, 1), (3, 1, 3, 1, 1, 0, 0)]:
        slow = sorted(t for step in m.action_steps for _, _, t in step(s))
        assert slow == sorted(m.successors(s))


# ---- step errors


@pytest.mark.parametrize(
    ("text", "code", "line"),
    [
        (
            """
            model e
            var n: 0..2 = 2
            controller c {
              action up { n := n + 1 }
            }
            """,
            "range",
            5,
        ),
        (
            """
            model e
            kind N[1] { ready: bool = true }
            kind P[1] { node: N? = none }
            var r: bool = false
            init { create P { } }
            controller c {
              action look for p in P {
                r := p.node.ready
              }
            }
            """,
            "none",
            9,
        ),
        (
            """
            model e
            var d: 0..1 = 0
            var r: 0..5 = 0
            controller c {
              action div { r := 4 / d }
            }
            """,
            "division",
            6,
        ),
        (
            """
            model e
            kind P[1] { }
            init { create P { } }
            controller c {
              action more {
                create P { }
              }
            }
            """,
            "no-free-slot",
            7,
        ),
    ],
    ids=["range", "none", "division", "no-free-slot"],
)
def test_bound_errors_raise_step_error_with_their_code(text: str, code: str, line: int) -> None:
    m = compiled(text)
    s0 = only_initial(m)
    with pytest.raises(StepError) as fast:
        m.successors(s0)
    assert fast.value.code == code
    (aid,) = [a.id for a in m.actions]
    with pytest.raises(StepError) as slow:
        list(m.action_steps[aid](s0))
    assert slow.value.code == code
    assert slow.value.action == aid
    assert slow.value.line == line


def test_modulo_by_zero_is_a_division_error() -> None:
    m = compiled(
        """
        model e
        var d: 0..1 = 0
        var r: 0..5 = 0
        controller c { action mod { r := 3 % d } }
        """
    )
    with pytest.raises(StepError) as err:
        m.successors(only_initial(m))
    assert err.value.code == "division"


def test_error_in_a_guard_names_its_action() -> None:
    m = compiled(
        """
        model e
        var v: 0..1 = 0
        controller c {
          action a when 1 / v == 1 { v := 1 }
        }
        """
    )
    with pytest.raises(StepError) as err:
        list(m.action_steps[0](only_initial(m)))
    assert err.value.action == 0
    assert err.value.line == 5


# ---- delete


REFS = """
model refs
kind Node[2] { up: bool = true }
kind Pod[2] { node: Node? = none  seen: set<Node> }
var owner: Node? = none
var nodes: set<Node> = {}
init { create Node { } create Node { } create Pod { } create Pod { } }
controller c {
  action bind {
    choose n in Node where n.up {
      for p in Pod { p.node := n  p.seen := p.seen | {n} }
      owner := n
      nodes := nodes | {n}
    }
  }
  action kill for n in Node { delete n }
}
"""


def test_delete_clears_optional_references_and_set_bits() -> None:
    m = compiled(REFS)
    lay = m.layout
    pod, node = lay.kind("Pod"), lay.kind("Node")
    s0 = only_initial(m)
    bound_to_1 = next(
        t for a, args, t in m.labelled_successors(s0) if m.actions[a].name == "bind" and t[0] == 1
    )
    assert bound_to_1[1] == 0b10
    kill = action_id(m, "c.kill")
    after = {args: t for _, args, t in m.action_steps[kill](bound_to_1)}
    gone = after[(1,)]
    assert gone[node.slot_base(1)] == 0
    assert gone[0] == -1  # owner
    assert gone[1] == 0  # nodes
    for p in range(pod.slots):
        assert gone[pod.slot_base(p) + pod.field("node").offset] == -1
        assert gone[pod.slot_base(p) + pod.field("seen").offset] == 0
    kept = after[(0,)]  # deleting the other node leaves the references alone
    assert kept[0] == 1 and kept[1] == 0b10
    assert kept[pod.slot_base(0) + pod.field("node").offset] == 1


def test_delete_of_a_non_optional_reference_target_is_a_dangling_error() -> None:
    m = compiled(
        """
        model d
        kind Node[1] { }
        kind Pod[1] { node: Node }
        init { let n = create Node { }  create Pod { node: n } }
        controller c { action kill for n in Node { delete n } }
        """
    )
    with pytest.raises(StepError) as err:
        m.successors(only_initial(m))
    assert err.value.code == "dangling"


DELETED_READ = """
model m
kind P[2] { x: 1..3 = 2 }
var seen: 0..3 = 1
init { create P { } }
controller c {
  action a for p in P {
    delete p
    seen := p.x
  }
}
"""


def test_reading_a_deleted_object_is_a_step_error() -> None:
    m = compiled(DELETED_READ)
    with pytest.raises(StepError):
        m.successors(only_initial(m))


def test_writing_a_deleted_object_is_a_step_error() -> None:
    m = compiled(
        """
        model m
        kind P[2] { x: 1..3 = 2 }
        init { create P { } }
        controller c {
          action a for p in P {
            delete p
            p.x := 3
          }
        }
        """
    )
    # Writing through a local that names a deleted object is a step error, so an absent slot
    # can never hold anything but zeros.
    with pytest.raises(StepError) as err:
        m.successors(only_initial(m))
    assert err.value.code == "deleted"


# ---- expressions


def test_forall_with_where_is_vacuous_without_matches() -> None:
    m = compiled(
        """
        model m
        kind P[2] { ok: bool = false }
        init { create P { } }
        invariant vacuous: forall p in P where p.ok: false
        """
    )
    assert m.invariants[0].holds(only_initial(m))


def test_quantifiers_and_aggregates_range_over_live_objects() -> None:
    m = compiled(
        """
        model q
        kind P[3] { c: 0..3 = 1  ok: bool = true }
        init { create P { c: 2 } create P { c: 3, ok: false } }
        invariant total: (sum p.c for p in P) == 5
        invariant counted: (count p in P where p.ok) == 1 and count(P) == 2
        invariant some: exists p in P where p.c > 2: not p.ok
        invariant all_live: forall p in P: p.c >= 2
        invariant biggest: (max p.c for p in P) == 3 and (min p.c for p in P) == 2
        """
    )
    s0 = only_initial(m)
    assert [inv.name for inv in m.invariants if not inv.holds(s0)] == []


# ---- scheduler

SCHED = """
model sched
kind Node[3] { cpu: 0..4 = 4 }
kind Pod[2] { cpu: 1..3 = 1  node: Node? = none }
def used(n: Node): int = sum p.cpu for p in Pod where p.node == n
init {
  create Node { cpu: 4 }
  create Node { cpu: 2 }
  create Node { cpu: 4 }
  create Pod { cpu: CPU }
}
const CPU = 1
scheduler default binds Pod.node {
  filter fits(p, n) = used(n) + p.cpu <= n.cpu
  score free(p, n) = n.cpu - used(n) - p.cpu weight 2
}
"""


def test_scheduler_binds_to_a_best_node_and_explores_ties() -> None:
    m = compiled(SCHED)
    pod = m.layout.kind("Pod")
    s0 = only_initial(m)
    binds = sorted(t[pod.slot_base(0) + pod.field("node").offset] for t in m.successors(s0))
    assert binds == [0, 2]  # nodes 0 and 2 tie at the best score; node 1 scores less
    labelled = sorted(args for _, args, _ in m.labelled_successors(s0))
    assert labelled == [(0, 0), (0, 2)]


def test_scheduler_filters_out_nodes_that_do_not_fit() -> None:
    checked = check_source(Source("s.kdsl", SCHED.replace("const CPU = 1", "const CPU = 3")))
    m = compile_model(checked.symbols, symmetry=False)
    pod = m.layout.kind("Pod")
    binds = sorted(t[pod.slot_base(0) + 2] for t in m.successors(only_initial(m)))
    assert pod.field("node").offset == 2
    assert binds == [0, 2]
    # fill node 0: the next pod has only node 2 left
    s = list(only_initial(m))
    s[pod.slot_base(0) + 2] = 0
    s[pod.slot_base(1) : pod.slot_base(1) + 3] = [1, 3, -1]
    binds = sorted(t[pod.slot_base(1) + 2] for t in m.successors(tuple(s)))
    assert binds == [2]


# ---- faults


def test_a_fault_stops_at_its_budget() -> None:
    m = compiled(
        """
        model f
        var n: 0..5 = 0
        fault bump budget 2 { action up { n := n + 1 } }
        invariant ok: n <= 5
        """
    )
    (b,) = m.layout.budgets
    assert m.initial() == [(0, 0)]
    assert m.successors((0, 0)) == [(1, 1)]
    assert m.successors((1, 1)) == [(2, 2)]
    assert m.successors((2, 2)) == []
    r = explore(m, symmetry=False)
    assert r.stats.states == 3
    assert m.layout.decode((2, 2))["budget.bump"] == 0
    assert b.budget == 2


# ---- symmetry

SYM = """
model sym
kind Node[3] { cpu: 0..2 = 2  ready: bool = true }
kind Pod[3] { cpu: 1..2 = 1  node: Node? = none }
controller c { action touch for p in Pod { p.cpu := 1 } }
"""


@st.composite
def sym_states(draw: st.DrawFn) -> State:
    nodes = [
        draw(st.one_of(st.none(), st.tuples(st.integers(0, 2), st.integers(0, 1))))
        for _ in range(3)
    ]
    live = [i for i, n in enumerate(nodes) if n is not None]
    out: list[int] = []
    for n in nodes:
        out += [0, 0, 0] if n is None else [1, *n]
    for _ in range(3):
        if draw(st.booleans()):
            ref = draw(st.sampled_from([-1, *live]))
            out += [1, draw(st.integers(1, 2)), ref]
        else:
            out += [0, 0, 0]
    return tuple(out)


def _permute(s: State, node_perm: tuple[int, ...], pod_perm: tuple[int, ...]) -> State:
    """Move node slot i to node_perm[i] and pod slot j to pod_perm[j], renumbering refs."""
    nodes = [s[3 * i : 3 * i + 3] for i in range(3)]
    pods = [list(s[9 + 3 * j : 12 + 3 * j]) for j in range(3)]
    new_nodes: list[tuple[int, ...]] = [()] * 3
    new_pods: list[list[int]] = [[]] * 3
    for i in range(3):
        new_nodes[node_perm[i]] = nodes[i]
    for j in range(3):
        p = pods[j]
        if p[0] and p[2] >= 0:
            p = [p[0], p[1], node_perm[p[2]]]
        new_pods[pod_perm[j]] = p
    return tuple(x for b in new_nodes for x in b) + tuple(x for b in new_pods for x in b)


def _is_permutation_of(a: State, b: State) -> bool:
    perms = list(itertools.permutations(range(3)))
    return any(_permute(a, np, pp) == b for np in perms for pp in perms)


SYM_MODEL = compiled(SYM, symmetry=True)


def test_symmetry_layout_for_a_referenced_kind() -> None:
    lay = SYM_MODEL.layout
    assert (lay.kind("Node").base, lay.kind("Pod").base, lay.width) == (0, 9, 18)
    assert all(k.symmetric for k in lay.kinds)
    assert SYM_MODEL.canonicalize is not None


@settings(max_examples=150, deadline=None)
@given(sym_states())
def test_canonical_form_is_a_permutation_of_its_input_and_idempotent(s: State) -> None:
    canon = SYM_MODEL.canonicalize
    assert canon is not None
    c = canon(s)
    assert _is_permutation_of(s, c)
    assert canon(c) == c


@settings(max_examples=60, deadline=None)
@given(sym_states(), st.permutations(range(3)), st.permutations(range(3)))
def test_permuted_states_that_meet_are_still_permutations(
    s: State, np: list[int], pp: list[int]
) -> None:
    canon = SYM_MODEL.canonicalize
    assert canon is not None
    t = _permute(s, tuple(np), tuple(pp))
    assert _is_permutation_of(canon(s), canon(t))


def test_symmetry_is_off_for_ordered_kinds() -> None:
    m = compiled(
        """
        model o
        kind A[2] ordered { x: 0..1 = 0 }
        kind B[2] { x: 0..1 = 0 }
        """,
        symmetry=True,
    )
    assert [(k.name, k.symmetric) for k in m.layout.kinds] == [("A", False), ("B", True)]
