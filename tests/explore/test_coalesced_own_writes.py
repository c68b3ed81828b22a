"""`seen_own_writes(K)` on a coalesced watch (spec/faults.md "Read your own writes"): a coalesced
cache moves one object at a time, so "my cache has seen my writes" is per object: a write of the
controller's own to an object waits until the handler delivers that object (whatever state it
then carries: coalescing may skip the written version), until a synced relist, or until the
object is gone from both the apiserver and the cache (nothing of it is left to deliver). A
write that puts back what the cache holds is still delivered. The explicit engine (symmetry on
and off), the reference interpreter, the Z3 steps, BMC and k-induction agree."""

from __future__ import annotations

from hypothesis import given, note
from hypothesis import strategies as st

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.result import HOLDS, VIOLATED
from kcheck.run.interpreter import Interpreter, RunConfig
from kcheck.run.sim import SimDriver
from kcheck.smt.bmc import bmc
from kcheck.smt.induction import induction
from tests.explore.test_dangling import REFERENCE_STATES, SETTINGS, _agree_everywhere, _by_name
from tests.reference import enumerate_reachable
from tests.smt.agree import assert_same_steps
from tests.smt.test_bmc import _agree

SCALER = """model scaler
kind Pod[3] {{ ready: bool }}
controller rs watches Pod coalesced {{
  action scale_up when {guard}count(Pod) < 1 {{ create Pod {{ }} }}
  action hear on p in Pod {{ }}
}}
process kubelet {{ action run for p in Pod where not p.ready {{ p.ready := true }} }}
invariant at_most_one: count(Pod) <= 1
"""


def _everywhere(text: str, depth: int = 5) -> None:
    checked = check_source(Source("m.kdsl", text))
    model = compile_model(checked.symbols, symmetry=False)
    ref = enumerate_reachable(checked.symbols, model.layout, max_states=REFERENCE_STATES)
    assert not ref.truncated
    _agree_everywhere(text, checked, model, ref, permute_up_to=300)
    assert assert_same_steps(model, checked.symbols, 300) > 1
    _agree(text, depth)


def _verdicts(text: str) -> dict[str, tuple[str, int | None]]:
    model = compile_model(check_source(Source("m.kdsl", text)).symbols)
    return {n: v[:2] for n, v in _by_name(explore(model)).items()}


def test_the_double_create_and_its_mitigation_on_a_coalesced_watch() -> None:
    bug, fix = SCALER.format(guard=""), SCALER.format(guard="seen_own_writes(Pod) and ")
    assert _verdicts(bug)["at_most_one"] == (VIOLATED, 2)  # create, create
    assert _verdicts(fix)["at_most_one"] == (HOLDS, None)
    for text in (bug, fix):
        _everywhere(text)
    checked = check_source(Source("fix.kdsl", fix))
    proved = induction(compile_model(checked.symbols), checked.symbols, 6)
    assert {p.name: p.status for p in proved.properties}["at_most_one"] == HOLDS


def test_kcheck_run_waits_for_its_own_writes_on_a_coalesced_watch() -> None:
    """`kcheck run` (simulated) steps through the same per-object flag: the mitigated
    controller waits (a flag is set in a state it passes through) and never overshoots."""
    model = compile_model(
        check_source(Source("m.kdsl", SCALER.format(guard="seen_own_writes(Pod) and "))).symbols
    )
    k = model.layout.kind("Pod")
    flags = [k.slot_base(i) + k.field("+own@rs").offset for i in range(k.slots)]
    waited = False
    for seed in range(4):
        config = RunConfig(seed=seed, faults=False, settle=1.0, timeout=30.0)
        outcome = Interpreter(model, SimDriver(), config, lambda e: None).run()
        assert not [p.name for p in outcome.result.properties if p.status == VIOLATED]
        waited |= any(s[i] for s in outcome.states for i in flags)
    assert waited


# the controller puts back what its cache holds: the cache equals the apiserver, yet the
# write's event is still to come, and the handler hears it before the flag clears
PUT_BACK = """model put_back
kind Pod[1] { ready: bool }
var phase: 0..2 = 0
var saw: bool = false
var heard: bool = false
init { create Pod { } }
controller c watches Pod coalesced {
  action flip for p in Pod when phase == 0 { p.ready := true  phase := 1 }
  action back for p in Pod when phase == 1 { p.ready := false  phase := 2 }
  action look when phase == 2 { saw := seen_own_writes(Pod) }
  action hear on p in Pod { if phase == 2 { heard := true } }
}
invariant never_sees_it_unheard: not saw or heard
"""


def test_a_write_that_puts_back_the_cached_object_is_still_delivered() -> None:
    assert _verdicts(PUT_BACK)["never_sees_it_unheard"] == (HOLDS, None)
    reachable = PUT_BACK.replace("not saw or heard", "not saw")
    assert _verdicts(reachable)["never_sees_it_unheard"][0] == VIOLATED
    _everywhere(PUT_BACK)
    _everywhere(reachable)


# created and deleted before the handler heard of it: coalesced away, nothing to wait for
GONE = """model gone
kind Pod[2] { ready: bool }
var made: bool = false
var saw: bool = false
var heard: bool = false
controller c watches Pod coalesced {
  action make when not made { create Pod { }  made := true }
  action look when made { saw := seen_own_writes(Pod) }
  action hear on p in Pod { heard := true }
}
process gc { action drop for p in Pod { delete p } }
invariant sees_it_only_once_heard: not saw or heard
"""


def test_an_object_gone_before_its_delivery_leaves_nothing_to_wait_for() -> None:
    """`make` then `gc.drop` then `look`: the pod is gone from the apiserver and was never in
    the cache, so the write is seen with no delivery (the invariant fails in 3 steps)."""
    assert _verdicts(GONE)["sees_it_only_once_heard"] == (VIOLATED, 3)
    kept = GONE.replace("process gc { action drop for p in Pod { delete p } }", "")
    assert _verdicts(kept)["sees_it_only_once_heard"] == (HOLDS, None)
    _everywhere(GONE)
    _everywhere(kept)
    checked = check_source(Source("gone.kdsl", GONE))
    model = compile_model(checked.symbols)
    p = {p.name: p for p in bmc(model, checked.symbols, 4, None, 60).properties}
    trace = p["sees_it_only_once_heard"].trace
    assert trace is not None
    assert [s.action for s in trace.steps[1:]] == ["c.make", "gc.drop", "c.look"]


@st.composite
def coalesced_rw_models(draw: st.DrawFn) -> str:
    """A coalesced controller that creates, updates and deletes, guarded or not by
    `seen_own_writes`, reading it in its handler too; maybe unsynced, split by `step`,
    restarted; another writer and deleter beside it."""
    guard = draw(st.sampled_from(["", "seen_own_writes(Pod) and "]))
    mode = draw(st.sampled_from(["coalesced", "coalesced unsynced"]))
    lines = [
        "model crw",
        f"kind Pod[{draw(st.integers(1, 2))}] {{ ready: bool }}",
        "var saw: bool = false",
        f"controller c watches Pod {mode} {{",
        f"  action make when {guard}count(Pod) < 2 {{ create Pod {{ }} }}",
        "  action hear on p in Pod {"
        + draw(st.sampled_from([" ", " saw := seen_own_writes(Pod) ", " p.ready := false "]))
        + "}",
    ]
    if draw(st.booleans()):
        lines.append(
            f"  action flip for p in Pod when {guard}true {{ p.ready := not p.ready"
            " saw := seen_own_writes(Pod) }"
        )
    if draw(st.booleans()):
        lines.append(f"  action drop for p in Pod where {guard}p.ready {{ delete p }}")
    if draw(st.booleans()):
        lines.append(
            "  action two for p in Pod { p.ready := true step saw := seen_own_writes(Pod) }"
        )
    lines.append("}")
    if draw(st.booleans()):
        lines.append(
            "process kubelet { action r for p in Pod where not p.ready { p.ready := true } }"
        )
    if draw(st.booleans()):
        lines.append("process gc { action d for p in Pod where p.ready { delete p } }")
    if draw(st.booleans()):
        lines.append(f"fault crash budget {draw(st.integers(1, 2))} {{ action x {{ restart c }} }}")
    lines.append("invariant few: count(Pod) <= 1")
    lines.append("invariant unseen: not saw")
    return "\n".join(lines) + "\n"


@SETTINGS
@given(coalesced_rw_models())
def test_random_coalesced_read_your_writes_models_agree_everywhere(text: str) -> None:
    note(text)
    checked = check_source(Source("generated.kdsl", text))
    model = compile_model(checked.symbols, symmetry=False)
    ref = enumerate_reachable(checked.symbols, model.layout, max_states=REFERENCE_STATES)
    if not ref.truncated:
        _agree_everywhere(text, checked, model, ref, permute_up_to=300)
    assert_same_steps(model, checked.symbols, 300)
    _agree(text, 4)
