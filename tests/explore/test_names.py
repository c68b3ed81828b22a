"""Object names across the engines (issue 19 point 2, spec/language.md §1 "Names"): a create
whose key a live object already has fails with AlreadyExists, runs its `else` block instead
when it has one, and reads the apiserver's objects, never a stale cache. The explicit engine
(symmetry on and off), the reference interpreter, BMC and `kcheck run` (simulated) agree on
hand-written and generated models."""

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
from tests.explore.test_dangling import REFERENCE_STATES, SETTINGS, _agree_everywhere, _by_name
from tests.reference import enumerate_reachable
from tests.smt.test_bmc import _agree

# A CronJob's Job is named `<cronjob>-<schedule time>`: a second create for the same time fails
CRON = """model cron
kind CronJob[2] {{ }}
kind Job[3] {{
  key owner: CronJob
  key time: 0..1
  done: bool
}}
var clashes: 0..3 = 0
init {{ create CronJob {{ }} create CronJob {{ }} }}
controller cronjob {{
  action schedule for c in CronJob, t in 0..1 when count(Job) < 3 {{
    create Job {{ owner: c, time: t }}{handler}
  }}
}}
process jobs {{
  action finish for j in Job where not j.done {{ j.done := true }}
  action clean for j in Job where j.done {{ delete j }}
}}
invariant unique: forall a in Job, b in Job where a != b: a.owner != b.owner or a.time != b.time
invariant few_clashes: clashes < 2
"""

# A stale cache says the name is free; the apiserver has it: the create must still fail.
STALE = """model stale_names
kind Job[2] { key name: 0..1  done: bool }
var clashes: 0..3 = 0
controller maker watches Job stale {
  action make when not (exists j in Job: j.name == 0) {
    create Job { name: 0 } else { clashes := min(clashes + 1, 3) }
  }
}
process jobs { action clean for j in Job { delete j } }
invariant never_clashes: clashes == 0
invariant unique: forall a in Job, b in Job where a != b: a.name != b.name
"""

# An idempotent create after a crash: the Job was made, the controller restarted before it
# recorded that, and the create again meets the name it already took.
RESTART = """model restart_names
kind Job[2] { key name: 0..1 }
var recorded: bool = false
var retried: 0..2 = 0
controller maker {
  action make when not recorded {
    create Job { name: 0 } else { retried := min(retried + 1, 2) }
    step
    recorded := true
  }
}
fault crash budget 1 { action crash { restart maker } }
invariant one_job: count(Job) <= 1
invariant no_retry: retried == 0
"""


def _verdicts(text: str, symmetry: bool = True) -> dict[str, tuple[str, int | None]]:
    model = compile_model(check_source(Source("m.kdsl", text)).symbols, symmetry=symmetry)
    result = explore(model, symmetry=symmetry)
    bounds = explore(model, symmetry=symmetry, invariants=[]).properties
    return {n: v[:2] for n, v in _by_name(result).items() if not n.startswith("bound")} | {
        p.name: (p.status, None) for p in bounds if p.kind == "bound"
    }


def _reference(text: str) -> None:
    checked = check_source(Source("m.kdsl", text))
    model = compile_model(checked.symbols, symmetry=False)
    ref = enumerate_reachable(checked.symbols, model.layout, max_states=REFERENCE_STATES)
    assert not ref.truncated
    _agree_everywhere(text, checked, model, ref, permute_up_to=300)


def test_an_unhandled_taken_name_is_the_runtime_error_exists() -> None:
    text = CRON.format(handler="")
    v = _verdicts(text)
    assert v["bound: exists in cronjob.schedule"][0] == VIOLATED
    assert v["unique"][0] != VIOLATED  # open: a step failed, so what lies past it is unknown
    model = compile_model(check_source(Source("m.kdsl", text)).symbols)
    [bound] = [p for p in explore(model, invariants=[]).properties if p.kind == "bound"]
    assert bound.reason is not None
    assert "a live Job already has the name owner=CronJob#" in bound.reason
    assert bound.trace is not None and len(bound.trace) == 2  # create, then create again
    _reference(text)
    _agree(text, 4)


def test_else_handles_already_exists_and_names_stay_unique() -> None:
    text = CRON.format(handler=" else { clashes := min(clashes + 1, 3) }")
    v = _verdicts(text)
    assert not any(n.startswith("bound") for n in v)
    assert v["unique"] == (HOLDS, None)
    assert v["few_clashes"] == (VIOLATED, 3)  # create, clash, clash
    _reference(text)
    _agree(text, 4)


def test_a_stale_cache_does_not_hide_a_taken_name() -> None:
    v = _verdicts(STALE)
    assert v["unique"][0] == HOLDS
    # the Job is made, the cache has not seen it, the same name is created again
    assert v["never_clashes"] == (VIOLATED, 2)
    _reference(STALE)
    _agree(STALE, 4)


def test_a_restarted_controller_meets_the_name_it_took_before_the_crash() -> None:
    v = _verdicts(RESTART)
    assert v["one_job"][0] == HOLDS
    assert v["no_retry"] == (VIOLATED, 3)  # make (first step), crash, make again
    _reference(RESTART)
    _agree(RESTART, 4)


def test_symmetry_keeps_the_verdicts_of_keyed_kinds() -> None:
    for text in (CRON.format(handler=""), CRON.format(handler=" else { }"), STALE, RESTART):
        assert _verdicts(text, True) == _verdicts(text, False)


def test_kcheck_run_meets_already_exists_too() -> None:
    text = (
        "model again\nkind Job[2] { key name: 0..1 }\n"
        "controller c { action make when count(Job) < 2 { create Job { name: 1 } } }\n"
    )
    model = compile_model(check_source(Source("m.kdsl", text)).symbols)
    seen = set()
    for seed in range(6):
        config = RunConfig(seed=seed, faults=False, settle=1.0, timeout=30.0)
        outcome = Interpreter(model, SimDriver(), config, lambda e: None).run()
        seen |= {p.reason or "" for p in outcome.result.properties if p.status == VIOLATED}
    assert any("(AlreadyExists)" in r for r in seen), seen


@st.composite
def named_models(draw: st.DrawFn) -> str:
    """Small models with a keyed kind: keys of each type (a range, an enum, a bool, a
    reference, and two at once), creates with and without `else`, through a stale cache or
    not, split by `step` and restarted, with deletes that free names."""
    key = draw(st.sampled_from(["range", "enum", "bool", "ref", "ref+range"]))
    slots = draw(st.integers(1, 3))
    fields = {
        "range": ["key name: 0..1"],
        "enum": ["key zone: Zone"],
        "bool": ["key primary: bool"],
        "ref": ["key owner: Owner"],
        "ref+range": ["key owner: Owner", "key name: 0..1"],
    }[key]
    values = {
        "range": ("t in 0..1", "name: t"),
        "enum": ("t in Zone", "zone: t"),
        "bool": ("t in bool", "primary: t"),
        "ref": ("t in Owner", "owner: t"),
        "ref+range": ("t in Owner, u in 0..1", "owner: t, name: u"),
    }[key]
    mode = draw(st.sampled_from(["plain", "stale", "step"]))
    handler = draw(st.sampled_from(["", " else { }", " else { clashes := clashes + 1 }"]))
    lines = [
        "model named",
        "enum Zone { A, B }",
        "kind Owner[2] { }",
        f"kind Job[{slots}] {{ {'  '.join(fields)}  done: bool }}",
        "var clashes: 0..2 = 0",
        "init { create Owner { } create Owner { } }",
        f"controller maker{' watches Job stale' if mode == 'stale' else ''} {{",
    ]
    create = f"create Job {{ {values[1]}, done: false }}{handler}"
    # (the reference interpreter splits and caches only actions whose binder is a kind)
    step = " step clashes := clashes" if mode == "step" else ""
    lines.append(f"  action make {{ choose {values[0]} {{ {create} }}{step} }}")
    lines.append("}")
    lines.append("process jobs {")
    lines.append("  action finish for j in Job where not j.done { j.done := true }")
    if draw(st.booleans()):
        lines.append("  action clean for j in Job where j.done { delete j }")
    lines.append("}")
    if mode == "step" or draw(st.booleans()):
        lines.append("fault crash budget 1 { action crash { restart maker } }")
    lines.append("invariant few_clashes: clashes < 2")
    keys = [f.split()[1].rstrip(":") for f in fields]
    same = " and ".join(f"a.{k} == b.{k}" for k in keys)
    lines.append(f"invariant unique: forall a in Job, b in Job where a != b: not ({same})")
    return "\n".join(lines) + "\n"


@SETTINGS
@given(named_models())
def test_random_keyed_models_agree_everywhere(text: str) -> None:
    note(text)
    checked = check_source(Source("generated.kdsl", text))
    model = compile_model(checked.symbols, symmetry=False)
    ref = enumerate_reachable(checked.symbols, model.layout, max_states=REFERENCE_STATES)
    if not ref.truncated:
        _agree_everywhere(text, checked, model, ref, permute_up_to=300)
    assert _verdicts(text)["unique"][0] != VIOLATED  # no engine ever stores a taken name
    _agree(text, 3)
