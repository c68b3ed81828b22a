"""Enum-indexed arrays, parts given in `create`, arrays inside records and bounded lists (issue
19 point 4, spec/language.md §2 "Records and arrays") in every engine. Each model is compared
with its twin written by hand with one flat field per part's field: the same states (with and
without symmetry) and verdicts. Each model also agrees between the explicit engine and the
reference interpreter (tests/reference.py) and between BMC and the explicit engine. A bug
planted in the lowering (a case that reads the wrong part) is caught by the twin comparison."""

from __future__ import annotations

import json
import re

import pytest

from kcheck.explore.bfs import explore
from kcheck.lang import ast, records
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.result import VIOLATED
from kcheck.run.interpreter import Interpreter, RunConfig
from kcheck.run.sim import SimDriver
from tests.explore.test_dangling import _by_name
from tests.explore.test_reference_agreement import assert_replays, reachable_and_errors
from tests.reference import enumerate_reachable
from tests.same_states import assert_same_states
from tests.smt.test_bmc import _agree

MEMBERS = ("Scheduled", "Started", "Ready")

ENUM = """model conds
enum T { Scheduled, Started, Ready }
record Cond { status: bool }
kind Pod[2] { conditions: Cond[T]  up: bool }
var last: T = Scheduled
init { create Pod {} }
process kubelet {
  action mark for p in Pod, t in T where not p.conditions[t].status {
    p.conditions[t].status := true
    last := t
  }
  action clear for p in Pod, c in p.conditions where c.status and not p.up {
    c.status := false
  }
  action gate for p in Pod where not p.up and p.conditions[last].status
    and p.conditions[Scheduled].status { p.up := true }
  action more when count(Pod) < 2 { create Pod { conditions[Started].status: true } }
}
invariant inv: forall p in Pod: p.up implies (count c in p.conditions where c.status) >= LEAST
"""


def _enum_flat(least: int) -> str:
    fields = " ".join(f"c{m}_status: bool" for m in MEMBERS)
    mark = " ".join(
        f"action mark{m} for p in Pod where not p.c{m}_status "
        f"{{ p.c{m}_status := true  last := {m} }}"
        for m in MEMBERS
    )
    clear = " ".join(
        f"action clear{m} for p in Pod where p.c{m}_status and not p.up "
        f"{{ p.c{m}_status := false }}"
        for m in MEMBERS
    )
    gate = " or ".join(f"(last == {m} and p.c{m}_status)" for m in MEMBERS)
    count = " + ".join(f"(if p.c{m}_status then 1 else 0)" for m in MEMBERS)
    return f"""model conds
enum T {{ Scheduled, Started, Ready }}
kind Pod[2] {{ {fields}  up: bool }}
var last: T = Scheduled
init {{ create Pod {{}} }}
process kubelet {{
  {mark} {clear}
  action gate for p in Pod where not p.up and ({gate}) and p.cScheduled_status
    {{ p.up := true }}
  action more when count(Pod) < 2 {{ create Pod {{ cStarted_status: true }} }}
}}
invariant inv: forall p in Pod: p.up implies {count} >= {least}
"""


def _summary(text: str, symmetry: bool) -> tuple[int, dict[str, tuple[str, int | None]]]:
    model = compile_model(check_source(Source("m.kdsl", text)).symbols, symmetry=symmetry)
    result = explore(model, symmetry=symmetry)
    return result.stats.states, {k: v[:2] for k, v in _by_name(result).items()}


def _states(text: str) -> set[str]:
    """Every reachable state, decoded, with each part's field named as the flat twin names it
    (`containers[1].ports[0].open` is `c1_p0_open`, `conditions[Ready].status` `cReady_status`)."""
    model = compile_model(check_source(Source("m.kdsl", text)).symbols, symmetry=False)
    states, _ = reachable_and_errors(model)
    out = set()
    for s in states:
        shown = json.dumps(model.layout.decode(s), sort_keys=True, default=str)
        shown = re.sub(r"containers\[(\d)\]\.ports\[(\d)\]\.", r"c\1_p\2_", shown)
        shown = re.sub(r"(?:containers|conditions)\[(\w+)\]\.", r"c\1_", shown)
        out.add(shown)
    return out


def _same_as_twin(written: str, flat: str) -> None:
    for symmetry in (False, True):
        assert _summary(written, symmetry) == _summary(flat, symmetry)
    assert_same_states(_states(written), _states(flat))


def _engines_agree(text: str, depth: int) -> None:
    checked = check_source(Source("parts.kdsl", text))
    model = compile_model(checked.symbols, symmetry=False)
    ref = enumerate_reachable(checked.symbols, model.layout, max_states=20_000)
    states, codes = reachable_and_errors(model)
    assert not ref.truncated
    assert states == ref.states
    assert codes == {e for e in ref.errors if not e.startswith("invariant:")}
    off = explore(model, symmetry=False)
    on = explore(compile_model(checked.symbols), symmetry=True)
    assert on.stats.states <= off.stats.states
    assert {k: v[:2] for k, v in _by_name(on).items()} == {
        k: v[:2] for k, v in _by_name(off).items()
    }
    for p in off.properties:
        if p.trace is not None:
            assert_replays(model, p.trace)
    _agree(text, depth)


@pytest.mark.parametrize("least", [1, 2])
def test_enum_arrays_and_parts_in_create_mean_their_flat_twin_in_every_engine(least: int) -> None:
    written = ENUM.replace("LEAST", str(least))
    _same_as_twin(written, _enum_flat(least))
    # one condition set (Scheduled) opens the gate: "at least 2" is violated, "at least 1" holds
    verdicts = _summary(written, True)[1]
    assert verdicts["inv"][0] == ("violated" if least == 2 else "holds")
    _engines_agree(written, 4)


def test_a_planted_bug_in_the_enum_case_split_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """A lowering whose case split compares the index with the wrong member reads another
    condition than the one written: the twin comparison sees it."""
    real = records.key_expr

    def wrong(key: records.Key, span: ast.Span) -> ast.Expr:
        swapped = {"Scheduled": "Started", "Started": "Scheduled"}
        return real(swapped.get(key, key) if isinstance(key, str) else key, span)

    monkeypatch.setattr(records, "key_expr", wrong)
    written = ENUM.replace("LEAST", "2")
    with pytest.raises(AssertionError):
        _same_as_twin(written, _enum_flat(2))


NESTED = """model nested
record Port { open: bool }
record Container { ready: bool  ports: Port[2] }
kind Pod[2] { containers: Container[2]  sel: 0..1 }
init { create Pod {} }
process k {
  action e for p in Pod where p.sel == 0 and p.containers[p.sel].ports[0].open { p.sel := 1 }
  action a for p in Pod, i in 0..1, j in 0..1 where not p.containers[i].ports[j].open {
    p.containers[i].ports[j].open := true
  }
  action b for p in Pod, c in p.containers, q in c.ports where q.open and not c.ready {
    c.ready := true
    q.open := false
  }
  action d for p in Pod, q in p.containers[1].ports where q.open and not p.containers[0].ready {
    q.open := false
    p.containers[0].ports[1].open := true
  }
  action more when count(Pod) < 2 { create Pod { containers[1].ready: true } }
}
invariant inv: forall p in Pod, c in p.containers: c.ready implies (exists q in c.ports: q.open)
"""


def _nested_flat() -> str:
    cs, ps = range(2), range(2)
    fields = " ".join(
        f"c{i}_ready: bool " + " ".join(f"c{i}_p{j}_open: bool" for j in ps) for i in cs
    )
    a = " ".join(
        f"action a{i}{j} for p in Pod where not p.c{i}_p{j}_open {{ p.c{i}_p{j}_open := true }}"
        for i in cs
        for j in ps
    )
    b = " ".join(
        f"action b{i}{j} for p in Pod where p.c{i}_p{j}_open and not p.c{i}_ready "
        f"{{ p.c{i}_ready := true  p.c{i}_p{j}_open := false }}"
        for i in cs
        for j in ps
    )
    d = " ".join(
        f"action d{j} for p in Pod where p.c1_p{j}_open and not p.c0_ready "
        f"{{ p.c1_p{j}_open := false  p.c0_p1_open := true }}"
        for j in ps
    )
    inv = " and ".join(
        f"(p.c{i}_ready implies (" + " or ".join(f"p.c{i}_p{j}_open" for j in ps) + "))" for i in cs
    )
    return f"""model nested
kind Pod[2] {{ {fields}  sel: 0..1 }}
init {{ create Pod {{}} }}
process k {{
  action e for p in Pod where p.sel == 0 and (if p.sel == 0 then p.c0_p0_open else p.c1_p0_open)
    {{ p.sel := 1 }}
  {a} {b} {d}
  action more when count(Pod) < 2 {{ create Pod {{ c1_ready: true }} }}
}}
invariant inv: forall p in Pod: {inv}
"""


def test_arrays_inside_records_mean_their_flat_twin_in_every_engine() -> None:
    _same_as_twin(NESTED, _nested_flat())
    # `b` readies a container by closing the port that made it ready
    assert _summary(NESTED, True)[1]["inv"][0] == "violated"
    _engines_agree(NESTED, 3)


def test_a_planted_bug_in_a_nested_case_split_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    real = records.key_expr

    def wrong(key: records.Key, span: ast.Span) -> ast.Expr:
        return real(1 - key if isinstance(key, int) else key, span)

    monkeypatch.setattr(records, "key_expr", wrong)
    with pytest.raises(AssertionError):
        _same_as_twin(NESTED, _nested_flat())


LIST = """model fins
enum F { A, B, C }
kind Pod[2] { fins: list<F, 2>  deleting: bool }
init { create Pod {} }
process k {
  action add for p in Pod, f in F where not p.deleting and size(p.fins) < 2 {
    p.fins := append(p.fins, f)
  }
  action mark for p in Pod where not p.deleting { p.deleting := true }
  action more when count(Pod) < 2 { create Pod {} }
}
controller gc {
  action finish for p in Pod, f in p.fins where p.deleting and f != A {
    p.fins := remove(p.fins, f)
  }
  action drop for p in Pod where p.deleting and GUARD { delete p }
}
invariant a_first: forall p in Pod: B in p.fins implies (count f in p.fins) >= 1
"""

# the same list kept by hand: a length and two slots packed at the front, `A` past the length
LIST_FLAT = """model fins
enum F { A, B, C }
kind Pod[2] { n: 0..2  s0: F  s1: F  deleting: bool }
init { create Pod {} }
process k {
  action add for p in Pod, f in F where not p.deleting and p.n < 2
      and not (p.n >= 1 and p.s0 == f) and not (p.n >= 2 and p.s1 == f) {
    if p.n == 0 { p.s0 := f } else { p.s1 := f }
    p.n := p.n + 1
  }
  action add_held for p in Pod, f in F where not p.deleting and p.n < 2
      and ((p.n >= 1 and p.s0 == f) or (p.n >= 2 and p.s1 == f)) { }
  action mark for p in Pod where not p.deleting { p.deleting := true }
  action more when count(Pod) < 2 { create Pod {} }
}
controller gc {
  action finish0 for p in Pod where p.deleting and p.n >= 1 and p.s0 != A {
    p.s0 := p.s1
    p.s1 := A
    p.n := p.n - 1
  }
  action finish1 for p in Pod where p.deleting and p.n >= 2 and p.s1 != A {
    p.s1 := A
    p.n := p.n - 1
  }
  action drop for p in Pod where p.deleting and GUARD { delete p }
}
invariant a_first: forall p in Pod: (p.n >= 1 and p.s0 == B) or (p.n >= 2 and p.s1 == B)
  implies p.n >= 1
"""


@pytest.mark.parametrize(
    ("guard", "flat_guard"),
    [("size(p.fins) == 0", "p.n == 0"), ("not (A in p.fins)", "not (p.n >= 1 and p.s0 == A)")],
)
def test_lists_mean_their_hand_kept_twin_in_every_engine(guard: str, flat_guard: str) -> None:
    written, flat = LIST.replace("GUARD", guard), LIST_FLAT.replace("GUARD", flat_guard)
    for symmetry in (False, True):
        written_states, written_verdicts = _summary(written, symmetry)
        flat_states, flat_verdicts = _summary(flat, symmetry)
        assert written_states == flat_states
        assert written_verdicts == flat_verdicts
    _engines_agree(written, 4)


# A planted bug: the garbage collector deletes a pod that still has finalizers when the only
# one left is A (it forgets A). Every engine must find it, at the same depth.
PLANTED = (
    LIST.replace("GUARD", "not (B in p.fins) and not (C in p.fins)").replace(
        "{ delete p }", "{ if size(p.fins) > 0 { deleted_with_finalizer := true }  delete p }"
    )
    + "var deleted_with_finalizer: bool = false\n"
    + "invariant finalizers_respected: not deleted_with_finalizer\n"
)


def test_a_planted_finalizer_bug_is_found_by_every_engine() -> None:
    verdicts = _summary(PLANTED, True)[1]
    assert verdicts["finalizers_respected"][0] == "violated"
    assert _summary(PLANTED, False)[1]["finalizers_respected"] == verdicts["finalizers_respected"]
    _engines_agree(PLANTED, 4)


@pytest.mark.parametrize("text", [NESTED, PLANTED])
def test_kcheck_run_reports_only_what_the_explorer_reaches(text: str) -> None:
    """`kcheck run`'s interpreter (on the simulated cluster) runs the lowered program too: every
    violation it reports is one the explorer reaches, and its trace replays."""
    model = compile_model(check_source(Source("parts.kdsl", text)).symbols)
    reachable = {
        p.name
        for r in (explore(model), explore(model, invariants=[], properties=[]))
        for p in r.properties
        if p.status == VIOLATED
    }
    found: set[str] = set()
    for seed in range(3):
        config = RunConfig(seed=seed, faults=True, settle=1.0, timeout=30.0)
        outcome = Interpreter(model, SimDriver(), config, lambda e: None).run()
        for p in outcome.result.properties:
            if p.status == VIOLATED:
                assert p.name in reachable
                assert p.trace is not None
                assert_replays(model, p.trace)
                found.add(p.name)
    assert found
