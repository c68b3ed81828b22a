"""Read your own writes (issue 19 point 3, spec/faults.md "Read your own writes"):
`seen_own_writes(K)` in a controller that `watches K stale` is false from its write to K until
its informer has caught up (the sync step, or a relist on `restart`), and within the step that
wrote; a write that leaves the objects as they were still comes as an event. The checker
locates every misuse; the explicit engine (symmetry on and off), the reference interpreter,
BMC, k-induction and `kcheck run` (simulated) agree."""

from __future__ import annotations

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from kcheck.explore.bfs import explore
from kcheck.lang.check import check_program
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.lang.parser import parse
from kcheck.lang.symbols import build_symbols
from kcheck.model.compile import compile_model
from kcheck.result import HOLDS, VIOLATED
from kcheck.run.interpreter import Interpreter, RunConfig
from kcheck.run.sim import SimDriver
from kcheck.smt.induction import induction
from tests.explore.test_dangling import REFERENCE_STATES, SETTINGS, _agree_everywhere, _by_name
from tests.reference import enumerate_reachable
from tests.smt.test_bmc import _agree

SCALER = """model scaler
kind Pod[3] {{ ready: bool }}
controller rs watches Pod stale {{
  action scale_up when {guard}count(Pod) < 2 {{ create Pod {{ }} }}
}}
invariant at_most_two: count(Pod) <= 2
"""

# the write puts back what the cache holds: no difference to sync, but an event to wait for
REVERT = """model revert
kind Pod[1] { ready: bool }
var asked: bool = false
var saw: bool = true
init { create Pod { } }
process kubelet { action ready for p in Pod where not p.ready { p.ready := true } }
controller c watches Pod stale {
  action unready for p in Pod where p.ready when not asked {
    p.ready := false
    asked := true
    saw := seen_own_writes(Pod)
  }
}
invariant never_sees_its_write_in_the_same_step: saw
"""


def _verdicts(text: str, symmetry: bool = True) -> dict[str, tuple[str, int | None]]:
    model = compile_model(check_source(Source("m.kdsl", text)).symbols, symmetry=symmetry)
    return {n: v[:2] for n, v in _by_name(explore(model, symmetry=symmetry)).items()}


def _reference(text: str) -> None:
    checked = check_source(Source("m.kdsl", text))
    model = compile_model(checked.symbols, symmetry=False)
    ref = enumerate_reachable(checked.symbols, model.layout, max_states=REFERENCE_STATES)
    assert not ref.truncated
    _agree_everywhere(text, checked, model, ref, permute_up_to=300)


def test_the_stale_read_and_its_mitigation_are_one_line_apart() -> None:
    stale = SCALER.format(guard="")
    mitigated = SCALER.format(guard="seen_own_writes(Pod) and ")
    assert _verdicts(stale)["at_most_two"] == (VIOLATED, 3)  # create, create, create
    assert _verdicts(mitigated)["at_most_two"] == (HOLDS, None)
    for text in (stale, mitigated):
        _reference(text)
        _agree(text, 4)
    checked = check_source(Source("m.kdsl", mitigated))
    proved = induction(compile_model(checked.symbols), checked.symbols, 4)
    assert {p.name: p.status for p in proved.properties}["at_most_two"] != VIOLATED


def test_a_write_is_unseen_within_its_own_step() -> None:
    # the kubelet readies the pod, the cache syncs, the controller unreadies it and looks
    assert _verdicts(REVERT)["never_sees_its_write_in_the_same_step"] == (VIOLATED, 3)
    _reference(REVERT)
    _agree(REVERT, 4)


def test_a_write_that_restores_the_cached_objects_still_has_to_be_seen() -> None:
    # the kubelet readies the pod, the cache has not seen that, the controller unreadies it:
    # the objects equal the cache again, yet the flag waits for the event (the sync step)
    text = REVERT.replace(
        "invariant never_sees_its_write_in_the_same_step: saw",
        "var waited: bool = false\n"
        "process probe { action look when asked and not waited { waited := true } }\n"
        "invariant fine: true",
    )
    model = compile_model(check_source(Source("m.kdsl", text)).symbols, symmetry=False)
    sync = next(i for i, a in enumerate(model.actions) if a.name.startswith("sync"))
    k = model.layout.kind("Pod")
    real = [k.slot_base(0) + f.offset for f in k.fields if not f.hidden]
    cached = [k.slot_base(0) + k.field(f"{f.name}@c").offset for f in k.fields if not f.hidden]
    seen = set(model.initial())
    todo = list(seen)
    fired_on_equal_cache = False
    while todo:
        s = todo.pop()
        for aid, outcomes in enumerate(model.action_outcomes):
            for _, _, t in outcomes(s):
                assert not isinstance(t, Exception)
                equal = [s[i] for i in real] == [s[i] for i in cached]
                fired_on_equal_cache |= aid == sync and equal
                if t not in seen:
                    seen.add(t)
                    todo.append(t)
    assert fired_on_equal_cache
    _reference(text)


@pytest.mark.parametrize(
    ("where", "line"),
    [
        ("process p { action a when seen_own_writes(Pod) { } }", "KC0502"),
        ("controller c { action a when seen_own_writes(Pod) { } }", "KC0502"),
        ("def d(): bool = seen_own_writes(Pod)", "KC0502"),
        ("invariant i: seen_own_writes(Pod)", "KC0502"),
        ("controller c watches Pod stale { action a when seen_own_writes(Pods) { } }", "KC0204"),
        ("controller c watches Pod stale { action a when seen_own_writes(Pod, Pod) { } }",
         "KC0302"),
    ],
)  # fmt: skip
def test_misuse_is_located_with_a_hint(where: str, line: str) -> None:
    text = f"model m\nkind Pod[2] {{ ready: bool }}\n{where}\n"
    symbols, diags = build_symbols(parse(Source("t.kdsl", text)))
    found = diags + check_program(symbols)
    assert [d.code for d in found] == [line]
    d = found[0]
    assert d.span.line >= 3 and d.span.col > 1
    if line == "KC0502":
        assert d.help is not None and "watches Pod stale" in d.help


def test_kcheck_run_waits_for_its_own_writes() -> None:
    """`kcheck run` steps through the same flag: the mitigated controller waits (the flag is
    set in a state it passes through) and never overshoots."""
    text = SCALER.format(guard="seen_own_writes(Pod) and ")
    model = compile_model(check_source(Source("m.kdsl", text)).symbols)
    flag = next(v.index for v in model.layout.vars if v.name == "rs.Pod@writes")
    waited = False
    for seed in range(4):
        config = RunConfig(seed=seed, faults=False, settle=1.0, timeout=30.0)
        outcome = Interpreter(model, SimDriver(), config, lambda e: None).run()
        assert not [p.name for p in outcome.result.properties if p.status == VIOLATED]
        waited |= any(s[flag] for s in outcome.states)
    assert waited


@st.composite
def rw_models(draw: st.DrawFn) -> str:
    """A stale controller that creates, updates and deletes, guarded or not by
    `seen_own_writes`, sometimes split by `step` and restarted; another writer beside it."""
    guard = draw(st.sampled_from(["", "seen_own_writes(Pod) and "]))
    lines = [
        "model rw",
        f"kind Pod[{draw(st.integers(1, 3))}] {{ ready: bool }}",
        "var saw: bool = false",
        "controller c watches Pod stale {",
        f"  action make when {guard}count(Pod) < 2 {{ create Pod {{ }} }}",
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
        lines.append(f"fault crash budget {draw(st.integers(1, 2))} {{ action x {{ restart c }} }}")
    lines.append("invariant few: count(Pod) <= 2")
    lines.append("invariant unseen: not saw or count(Pod) > 0")
    return "\n".join(lines) + "\n"


@SETTINGS
@given(rw_models())
def test_random_read_your_writes_models_agree_everywhere(text: str) -> None:
    note(text)
    checked = check_source(Source("generated.kdsl", text))
    model = compile_model(checked.symbols, symmetry=False)
    ref = enumerate_reachable(checked.symbols, model.layout, max_states=REFERENCE_STATES)
    if not ref.truncated:
        _agree_everywhere(text, checked, model, ref, permute_up_to=300)
    _agree(text, 3)
