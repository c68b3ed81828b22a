"""Stale informer caches (`watches K stale`), actions split by `step`, and `restart` faults
(spec/faults.md): their semantics on small models, their errors, and a hypothesis
cross-check that symmetry reduction keeps every verdict on random models that use them."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings

from kcheck.explore.bfs import explore
from kcheck.lang import ast
from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.fmt import format_program
from kcheck.lang.frontend import check_source
from kcheck.lang.parser import parse
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel, State, StepError
from kcheck.result import VIOLATED
from tests.explore.modelgen import models
from tests.explore.test_reference_agreement import assert_replays, reachable_and_errors
from tests.reference import enumerate_reachable


def compiled(text: str, symmetry: bool = False) -> CompiledModel:
    return compile_model(check_source(Source("t.kdsl", text)).symbols, symmetry=symmetry)


def errors(text: str) -> list[tuple[str, str]]:
    with pytest.raises(KcheckError) as info:
        check_source(Source("t.kdsl", text))
    return [(d.code, d.message) for d in info.value.diagnostics]


def reachable(model: CompiledModel) -> set[State]:
    seen: set[State] = set(model.initial())
    todo = list(seen)
    while todo:
        s = todo.pop()
        for _, _, t in model.labelled_successors(s):
            if t not in seen:
                seen.add(t)
                todo.append(t)
    return seen


def steps_by_label(model: CompiledModel, s: State) -> dict[str, list[State]]:
    out: dict[str, list[State]] = {}
    for aid, _, t in model.labelled_successors(s):
        out.setdefault(model.actions[aid].label, []).append(t)
    return out


STALE = """
model stale
kind Pod[3] { up: bool = false }
var made: 0..3 = 0
init { create Pod { } }
controller rs watches Pod stale {
  action make when count(Pod) < 2 and made < 3 { create Pod { } made := made + 1 }
  action mark for p in Pod where not p.up { p.up := true }
  action drop for p in Pod where p.up { delete p }
}
invariant at_most_two: count(Pod) <= 2
"""


def test_a_stale_controller_reads_its_cache_and_writes_the_real_objects() -> None:
    m = compiled(STALE)
    (s0,) = m.initial()
    d = m.layout.decode(s0)
    assert d["rs@Pod"] == {"rs@Pod#0": {"up": False}}  # synced at start (WaitForCacheSync)
    (after_make,) = steps_by_label(m, s0)["rs.make"]
    d = m.layout.decode(after_make)
    assert set(d["Pod"]) == {"Pod#0", "Pod#1"}
    assert set(d["rs@Pod"]) == {"rs@Pod#0"}  # its own create is not in its cache yet
    # so it creates again: a third pod, which breaks the invariant
    labels = steps_by_label(m, after_make)
    assert "rs.make" in labels and "rs.sync@Pod" in labels
    (synced,) = labels["rs.sync@Pod"]
    assert set(m.layout.decode(synced)["rs@Pod"]) == {"rs@Pod#0", "rs@Pod#1"}
    assert "rs.sync@Pod" not in steps_by_label(m, synced)  # nothing left to deliver
    r = explore(m, invariants=["at_most_two"], properties=[])
    (p,) = r.properties
    assert p.status == VIOLATED and p.trace is not None and len(p.trace) == 2


def test_a_write_to_an_object_already_gone_is_dropped_and_its_slot_is_not_reused() -> None:
    m = compiled(STALE)
    (s0,) = m.initial()
    (marked,) = steps_by_label(m, s0)["rs.mark"]
    (synced,) = steps_by_label(m, marked)["rs.sync@Pod"]
    (dropped,) = steps_by_label(m, synced)["rs.drop"]
    d = m.layout.decode(dropped)
    assert d["Pod"] == {} and set(d["rs@Pod"]) == {"rs@Pod#0"}  # the cache still has it
    # deleting it again (the cache says it is there) is a NotFound: nothing changes
    assert steps_by_label(m, dropped)["rs.drop"] == [dropped]
    # a new pod does not take slot 0 while the cache remembers the old object there
    (made,) = steps_by_label(m, dropped)["rs.make"]
    assert set(m.layout.decode(made)["Pod"]) == {"Pod#1"}


def test_every_reachable_state_keeps_absent_slots_clean() -> None:
    """A slot that neither the world nor any cache holds is all zeros: equal worlds have
    equal tuples, the premise of state hashing and symmetry."""
    m = compiled(STALE)
    k = m.layout.kind("Pod")
    flags = [0, *(f.offset for f in k.fields if f.name.startswith("@"))]
    for s in reachable(m):
        for slot in range(k.slots):
            b = k.slot_base(slot)
            if not any(s[b + o] for o in flags):
                assert s[b : b + k.stride] == (0,) * k.stride, m.layout.decode(s)


def test_reading_an_object_missing_from_the_cache_is_a_runtime_error() -> None:
    """A reference held by a fresh object may name one the cache has not seen: reading through
    it is an error with a trace (Kubernetes' lister answers NotFound), never a silent zero."""
    m = compiled(
        """
        model uncached
        var x: 0..1 = 0
        kind Node[1] { cpu: 0..2 = 0 }
        kind Pod[1] { node: Node? = none }
        init { create Pod { } }
        process admin {
          action add for p in Pod where p.node == none { let n = create Node { } p.node := n }
        }
        controller c watches Node stale {
          action look for p in Pod where p.node != none { x := p.node.cpu }
        }
        invariant ok: true
        """
    )
    r = explore(m)
    (bound,) = [p for p in r.properties if p.kind == "bound"]
    assert bound.reason is not None
    reason, hint = bound.reason.split(". ", 1)
    assert reason == "Node#0 is not in c's cache of Node"
    assert "no size to raise" in hint and "Guard the action" in hint
    assert bound.trace is not None and len(bound.trace) == 2


SPLIT = """
model split
kind D[1] { gen: 1..2 = 1, seen: 0..2 = 0 }
kind R[3] { gen: 1..2 = 1 }
init { create D { } }
controller c {
  action roll for d in D when d.seen != d.gen {
    let g = d.gen
    let r = create R { gen: g }
    step
    d.seen := g
  }
  action other for d in D { d.gen := 1 }
}
fault crash budget 1 { action crash { restart c } }
invariant ok: true
"""


def test_a_split_action_runs_as_labelled_steps_and_carries_its_locals() -> None:
    m = compiled(SPLIT)
    assert [a.label for a in m.actions] == ["c.roll", "c.roll:2", "c.other", "crash.crash"]
    (s0,) = m.initial()
    (mid,) = steps_by_label(m, s0)["c.roll"]
    d = m.layout.decode(mid)
    assert d["c:roll"] == {"c:roll#D#0": {"next_step": 2, "g": 1}}  # `r` is not read later
    labels = steps_by_label(m, mid)
    assert "c.roll" not in labels and "c.other" not in labels  # the key is busy
    (done,) = labels["c.roll:2"]
    d = m.layout.decode(done)
    assert d["D"]["D#0"]["seen"] == 1 and "c:roll" not in d


def test_a_local_lives_exactly_as_long_as_a_later_step_needs_it() -> None:
    m = compiled(
        """
        model three
        var x: 0..3 = 0
        var y: 0..3 = 0
        controller c {
          action a when x == 0 {
            let u = 1
            x := 1
            step
            let v = u + 1
            x := 2
            step
            y := v
          }
        }
        invariant ok: true
        """
    )
    assert [a.label for a in m.actions] == ["c.a", "c.a:2", "c.a:3"]
    seen = []
    (s,) = m.initial()
    for label in ("c.a", "c.a:2", "c.a:3"):
        (s,) = steps_by_label(m, s)[label]
        seen.append(m.layout.decode(s).get("c:a"))
    assert seen == [
        {"c:a#-": {"next_step": 2, "u": 1, "v": 0}},  # u is read by the second step
        {"c:a#-": {"next_step": 3, "u": 0, "v": 2}},  # only v is still needed
        None,
    ]
    assert m.layout.decode(s)["y"] == 2


def test_restart_drops_what_was_in_flight() -> None:
    m = compiled(SPLIT)
    (s0,) = m.initial()
    (mid,) = steps_by_label(m, s0)["c.roll"]
    (crashed,) = steps_by_label(m, mid)["crash.crash"]
    d = m.layout.decode(crashed)
    assert "c:roll" not in d and set(d["R"]) == {"R#0"}
    # the restarted controller starts the reconcile over: a second R
    (again,) = steps_by_label(m, crashed)["c.roll"]
    assert set(m.layout.decode(again)["R"]) == {"R#0", "R#1"}


def test_deleting_the_object_ends_its_in_flight_action() -> None:
    m = compiled(
        """
        model gone
        kind D[1] { n: 0..2 = 0 }
        init { create D { } }
        controller c {
          action two for d in D when d.n == 0 { d.n := 1 step d.n := 2 }
        }
        fault rm budget 1 { action rm for d in D { delete d } }
        invariant ok: true
        """
    )
    k = m.layout.kind("D")
    gone = [s for s in reachable(m) if not m.layout.decode(s)["D"]]
    assert gone
    for s in gone:
        assert "c:two" not in m.layout.decode(s)
        assert s[k.base : k.base + k.stride] == (0,) * k.stride


COALESCED = """
model coalesced
enum Phase { Up, Down }
kind Pod[1] { phase: Phase = Up }
var heard: 0..3 = 0
var downs_heard: 0..3 = 0
init { create Pod { } }
controller c watches Pod coalesced {
  action note on p in Pod {
    heard := heard + 1
    if exists q in Pod: q == p {
      if p.phase == Down { downs_heard := downs_heard + 1 }
    }
  }
}
process k {
  unfair action flip for p in Pod where p.phase == Up { p.phase := Down }
  unfair action back for p in Pod where p.phase == Down { p.phase := Up }
}
fault rm budget 1 { action rm for p in Pod { delete p } }
invariant ok: true
"""


def test_a_coalesced_watch_delivers_the_latest_state_once() -> None:
    m = compiled(COALESCED)
    (s0,) = m.initial()
    # it starts synced (the store holds the initial list), its handler yet to hear the add
    assert m.layout.decode(s0)["c@Pod"] == {"c@Pod#0": {"phase": "Up"}}
    assert "c.note" in steps_by_label(m, s0)
    (down,) = steps_by_label(m, s0)["k.flip"]
    (up,) = steps_by_label(m, down)["k.back"]
    # two updates before the handler ran: one notification, of the latest state (Up)
    (heard,) = steps_by_label(m, up)["c.note"]
    d = m.layout.decode(heard)
    assert d["heard"] == 1 and d["downs_heard"] == 0
    assert d["c@Pod"] == {"c@Pod#0": {"phase": "Up"}}
    assert "c.note" not in steps_by_label(m, heard)  # nothing pending
    # a deletion is one more notification; the object is no longer in the cache
    (gone,) = steps_by_label(m, heard)["rm.rm"]
    (told,) = steps_by_label(m, gone)["c.note"]
    d = m.layout.decode(told)
    assert d["heard"] == 2 and d["c@Pod"] == {} and d["Pod"] == {}


def test_a_restart_makes_a_coalesced_watch_hear_of_everything_again() -> None:
    text = COALESCED.replace(
        "invariant ok", "fault crash budget 1 { action crash { restart c } }\ninvariant ok"
    )
    m = compiled(text)
    (s0,) = m.initial()
    (heard,) = steps_by_label(m, s0)["c.note"]
    assert "c.note" not in steps_by_label(m, heard)
    (crashed,) = steps_by_label(m, heard)["crash.crash"]
    # the new process lists again and waits for it; its handler hears the add again
    assert m.layout.decode(crashed)["c@Pod"] == {"c@Pod#0": {"phase": "Up"}}
    (again,) = steps_by_label(m, crashed)["c.note"]
    assert m.layout.decode(again)["heard"] == 2


def test_an_unsynced_coalesced_watch_starts_empty() -> None:
    m = compiled(COALESCED.replace("watches Pod coalesced", "watches Pod coalesced unsynced"))
    (s0,) = m.initial()
    assert m.layout.decode(s0)["c@Pod"] == {}  # the initial list is news, one object at a time
    (heard,) = steps_by_label(m, s0)["c.note"]
    assert m.layout.decode(heard)["c@Pod"] == {"c@Pod#0": {"phase": "Up"}}


# issue 12 point 3: a level-triggered action of a controller whose coalesced cache had not
# yet seen the pod deleted the pod's claim in the first step
PVC_GC = """
model pvc_gc
kind Claim[1] { bound: bool = true }
kind Pod[1] { claim: Claim? = none }
init { let v = create Claim { } create Pod { claim: v } }
controller gc watches Pod coalesced {
  action seen on p in Pod { }
  action collect for v in Claim where not (exists p in Pod: p.claim == v) { delete v }
}
invariant pods_keep_their_claims: forall p in Pod: p.claim != none
"""


@pytest.mark.parametrize("symmetry", [True, False])
def test_a_controller_acts_only_once_its_coalesced_cache_has_synced(symmetry: bool) -> None:
    synced = explore(compiled(PVC_GC, symmetry), symmetry=symmetry)
    assert {p.name: p.status for p in synced.properties} == {"pods_keep_their_claims": "holds"}
    # a model that means a controller which does not wait for its cache says so
    blind_text = PVC_GC.replace("coalesced", "coalesced unsynced")
    blind = explore(compiled(blind_text, symmetry), symmetry=symmetry)
    (p,) = blind.properties
    assert p.status == VIOLATED and p.trace is not None and len(p.trace) == 1


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        ("controller c watches K coalesced { }", "KC0503", "has no handler"),
        (
            "controller c watches K coalesced { action a on k in K { } action b on k in K { } }",
            "KC0502",
            "a second handler",
        ),
        ("controller c { action a on k in K { } }", "KC0502", "does not watch `K` coalesced"),
        ("process c { action a on k in K { } }", "KC0502", "only controllers watch"),
        (
            "controller c watches K coalesced { action a on k in K when true { } }",
            "KC0502",
            "a handler has no `when`",
        ),
        (
            "controller c watches K stale watches K coalesced { action a on k in K { } }",
            "KC0202",
            "twice",
        ),
    ],
)
def test_misplaced_handlers_are_errors(body: str, code: str, fragment: str) -> None:
    errs = errors(f"model m\nkind K[1] {{ b: bool = false }}\n{body}\n")
    assert any(c == code and fragment in msg for c, msg in errs), errs


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        (  # `step` inside `if`, `for` and `choose` is allowed (tests/model/test_nested_steps.py)
            "controller c { action a { for i in 0..1 { x := i step } } }",
            "KC0502",
            "needs one binder over a kind or a set",
        ),
        (
            "fault f budget 1 { action a { x := 1 step x := 0 } }",
            "KC0502",
            "`step` is not allowed in",
        ),
        ("controller c { action a { restart c } }", "KC0502", "only allowed in a fault"),
        ("fault f budget 1 { action a { restart nobody } }", "KC0201", "no controller named"),
        (
            "controller c { action a for i in 0..1 { x := i step x := 0 } }",
            "KC0502",
            "does not range over one kind",
        ),
    ],
)
def test_misplaced_steps_and_restarts_are_errors(body: str, code: str, fragment: str) -> None:
    errs = errors(f"model m\nvar x: 0..1 = 0\n{body}\n")
    assert any(c == code and fragment in msg for c, msg in errs), errs


@pytest.mark.parametrize(
    "body",
    ["step x := 1", "x := 1 step", "x := 1 step step x := 0", "step", "let y = x step x := y"],
)
def test_a_step_may_stand_anywhere_in_an_action_body(body: str) -> None:
    """Issue 19 point 5: first, last or twice in a row, a `step` makes a step with no
    statements (the controller taking its time between its snapshot and its API calls)."""
    model = compiled(f"model m\nvar x: 0..1 = 0\ncontroller c {{ action a {{ {body} }} }}\n")
    labels = {info.label for info in model.actions}
    assert {"c.a", "c.a:2"} <= labels


def test_restart_may_still_name_an_action() -> None:
    compiled("model m\nvar x: 0..1 = 0\nprocess k { action restart { x := 1 } }\n")


def test_format_keeps_step_restart_lemma_and_stale() -> None:
    text = (
        "model m\n\nvar x: 0..1 = 0\n\nkind K[1] {\n  b: bool = false\n}\n\n"
        "controller c watches K stale {\n  action a {\n    x := 1\n    step\n    x := 0\n  }\n}\n\n"
        "controller d watches K coalesced {\n  action h on k in K {\n    x := 0\n  }\n}\n\n"
        "fault f budget 1 {\n  action r {\n    restart c\n  }\n}\n\nlemma l: x <= 1\n"
    )
    assert format_program(parse(Source("t.kdsl", text)), text) == text


REFERENCE_STATES = 20_000

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(models(controller_state=True))
def test_symmetry_keeps_verdicts_with_caches_steps_and_restarts(text: str) -> None:
    note(text)
    checked = check_source(Source("generated.kdsl", text))
    results: dict[bool, Any] = {}
    for symmetry in (False, True):
        model = compile_model(checked.symbols, symmetry=symmetry)
        try:
            result = explore(model, symmetry=symmetry)
        except StepError:
            return  # an invariant that dereferences `none`: a known explorer limitation
        for p in result.properties:
            if p.trace is not None:
                assert_replays(model, p.trace)
        results[symmetry] = result
    off, on = results[False], results[True]
    assert on.stats.states <= off.stats.states
    verdicts = [
        {
            p.name: (p.status, len(p.trace) if p.trace else None)
            for p in r.properties
            if p.kind == "invariant"
        }
        for r in (off, on)
    ]
    assert verdicts[0] == verdicts[1]
    assert any(p.kind == "bound" for p in off.properties) == any(
        p.kind == "bound" for p in on.properties
    )


@SETTINGS
@given(models(controller_state=True))
def test_compiled_caches_steps_and_restarts_agree_with_the_reference(text: str) -> None:
    """The reference interpreter implements spec/faults.md on its own (tests/reference.py):
    both must reach exactly the same states."""
    note(text)
    checked = check_source(Source("generated.kdsl", text))
    plain = compile_model(checked.symbols, symmetry=False)
    # The generator bounds the model's own state, not the caches and in-flight cells on top of
    # it; the naive reference is slow, so a model past this many states is not compared.
    ref = enumerate_reachable(checked.symbols, plain.layout, max_states=REFERENCE_STATES)
    if ref.truncated:
        return
    reach, codes = reachable_and_errors(plain)
    # failing steps hide no other step, and fail the same way in any slot order: the states
    # and the causes of failure agree exactly
    assert {e for e in ref.errors if not e.startswith("invariant:")} == codes, (ref.errors, codes)
    assert reach == ref.states


def test_unsynced_is_kept_by_fmt_and_stays_free_as_a_name() -> None:
    text = PVC_GC.replace("coalesced", "coalesced unsynced")
    formatted = format_program(parse(Source("m.kdsl", text)))
    assert "watches Pod coalesced unsynced {" in formatted
    program = parse(Source("m.kdsl", formatted))
    assert format_program(program) == formatted
    (w,) = [w for a in program.decls if isinstance(a, ast.Controller) for w in a.watches]
    assert w.coalesced and w.unsynced
    named = "model m\nvar unsynced: 0..1 = 0\nprocess p { action a { unsynced := 1 } }\n"
    assert check_source(Source("m.kdsl", named)).symbols.vars["unsynced"]
