"""A bound error never hides a bug, and says how to get past it (issue 16.2, spec/explorer.md,
"Bounds are errors, never clamps"): the search goes on past the step that failed, so an
invariant broken elsewhere, even beyond the bound hit or through the very state where it was
hit, is `violated` with its shortest trace; the others stay `inconclusive`, never `holds`, with
the bound named; and the bound entry names the bound, the action and line that hit it, the
exact `-D` that raises it and a guard that avoids it, in every engine."""

from __future__ import annotations

import re

import pytest

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.lang.symbols import Symbols
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel
from kcheck.result import HOLDS, INCONCLUSIVE, VIOLATED, CheckResult, PropertyResult
from kcheck.run.interpreter import Interpreter, RunConfig
from kcheck.run.sim import SimDriver
from kcheck.smt.bmc import bmc
from kcheck.smt.induction import induction

# `spawn` runs out of slots at depth 3, on one branch; `breaks` violates never_broken at depth 5,
# on another: the search must not stop at the first.
ELSEWHERE = """model elsewhere

const PODS = 2

kind Pod[PODS] {
  ready: bool = false
}

var broken: bool = false
var armed: 0..5 = 0

process spawner {
  action spawn {
    create Pod { ready: false }
  }
}

process slow {
  action tick when armed < 4 {
    armed := armed + 1
  }
  action breaks when armed == 4 {
    broken := true
  }
}

invariant never_broken: not broken
invariant few_pods: count(Pod) <= PODS
"""

# The violation is reachable only through the state where `spawn` fails: the search must go on
# from that very state with its other steps.
THROUGH = """model through

const PODS = 2

kind Pod[PODS] { }

var broken: bool = false

process spawner {
  action spawn {
    create Pod { }
  }
  action breaks when count(Pod) == PODS {
    broken := true
  }
}

invariant never_broken: not broken
invariant few_pods: count(Pod) <= PODS
property settles: eventually always broken
"""


def _symbols(text: str, overrides: dict[str, int | str] | None = None) -> Symbols:
    checked = check_source(Source("m.kdsl", text), overrides)
    assert checked.symbols is not None
    return checked.symbols


def _by_name(result: CheckResult) -> dict[str, PropertyResult]:
    return {p.name: p for p in result.properties}


def _explicit(text: str, symmetry: bool) -> CheckResult:
    return explore(compile_model(_symbols(text), symmetry=symmetry), symmetry=symmetry)


@pytest.mark.parametrize("symmetry", [True, False])
@pytest.mark.parametrize(("text", "steps"), [(ELSEWHERE, 5), (THROUGH, 3)])
def test_a_bound_hit_never_hides_a_violation_and_never_lets_an_invariant_hold(
    text: str, steps: int, symmetry: bool
) -> None:
    got = _by_name(_explicit(text, symmetry))
    broken = got["never_broken"]
    assert broken.status == VIOLATED and broken.trace is not None
    assert len(broken.trace) == steps  # the shortest, as without the bound
    assert got["bound: no-free-slot in spawner.spawn"].status == VIOLATED
    fits = got["few_pods"]
    assert fits.status == INCONCLUSIVE and fits.status != HOLDS
    assert fits.reason is not None and "no-free-slot in spawner.spawn" in fits.reason


@pytest.mark.parametrize("engine", ["bmc", "induction"])
def test_z3_finds_the_violation_past_the_bound_and_names_the_bound(engine: str) -> None:
    model = compile_model(_symbols(ELSEWHERE), symmetry=False)
    run = bmc if engine == "bmc" else induction
    got = _by_name(run(model, _symbols(ELSEWHERE), 8))
    assert got["never_broken"].status == VIOLATED
    assert got["never_broken"].trace is not None and len(got["never_broken"].trace) == 5
    assert got["few_pods"].status == INCONCLUSIVE
    assert "bound: no-free-slot in spawner.spawn" in (got["few_pods"].reason or "")
    assert "`-D PODS=3`" in (got["bound: no-free-slot in spawner.spawn"].reason or "")


def test_a_temporal_property_with_a_bound_hit_is_inconclusive_and_names_it() -> None:
    """A lasso in a graph cut by a failing step may leave out a step a fair behaviour would
    take, so no verdict either way (spec/liveness.md)."""
    settles = _by_name(_explicit(THROUGH, True))["settles"]
    assert settles.status == INCONCLUSIVE
    assert "no-free-slot in spawner.spawn" in (settles.reason or "")


def _hint(text: str) -> str:
    result = _explicit(text, True)
    bounds = [p for p in result.properties if p.kind == "bound"]
    assert len(bounds) == 1
    return bounds[0].reason or ""


def test_the_hint_names_the_bound_the_action_its_line_and_both_ways_out() -> None:
    hint = _hint(ELSEWHERE)
    assert hint.startswith("create Pod: all 2 slots are in use. ")
    assert "`kind Pod[PODS]` (line 5) gives Pod 2 slots, PODS = 2" in hint
    assert "spawner.spawn (line 14)" in hint  # the `create` that needed a slot
    assert "`-D PODS=3`" in hint
    assert "guard it, e.g. `when count(Pod) < PODS`" in hint


def test_the_suggested_define_raises_exactly_that_bound() -> None:
    hint = _hint(ELSEWHERE)
    m = re.search(r"`-D (\w+)=(\d+)`", hint)
    assert m is not None
    raised = compile_model(_symbols(ELSEWHERE, {m[1]: int(m[2])}), symmetry=True)
    assert raised.layout.kind("Pod").slots == int(m[2])
    # the create is unguarded, so a larger world only moves the bound: the hint follows it
    assert "`-D PODS=4`" in _hint(ELSEWHERE.replace("const PODS = 2", "const PODS = 3"))


def test_the_suggested_guard_is_valid_and_removes_the_bound_but_not_the_bug() -> None:
    hint = _hint(ELSEWHERE)
    m = re.search(r"e\.g\. `(when [^`]+)`", hint)
    assert m is not None
    guarded = ELSEWHERE.replace("action spawn {", f"action spawn {m[1]} {{")
    got = _by_name(_explicit(guarded, True))
    assert not any(p.kind == "bound" for p in got.values())
    assert got["never_broken"].status == VIOLATED
    assert got["few_pods"].status == HOLDS


SIZES = """model sizes
const MAXR = 3
const SLOTS = 3
kind Job[SLOTS] {
  tries: 0..MAXR = 0
}
kind Lit[1] { }
kind Sum[SLOTS + 1] { }
var n: 0..MAXR = 0
var r: Job? = none
process p {
  action {ACTION}
}
init { create Job { } }
"""


@pytest.mark.parametrize(
    ("action", "wanted"),
    [
        ("bump { n := n + 1 }", ["range of n ends at `MAXR` (line 9)", "`-D MAXR=4`",
                                 "guard p.bump so that it stores only values within 0..3"]),
        ("dec { n := n - 1 }", ["the range 0..3 of n, which p.dec (line 12) left. Guard p.dec so"
                                " that it stores only values within 0..3"]),
        ("mk { create Job { } }", ["`kind Job[SLOTS]` (line 4)", "`-D SLOTS=4`"]),
        ("retry for j in Job { j.tries := j.tries + 1 }",
         ["range of Job.tries ends at `MAXR` (line 5)", "`-D MAXR=4`"]),
        ("lit { create Lit { } }", ["`kind Lit[1]` (line 7)", "write 2 or more for `1` at line 7"]),
        ("grow { create Sum { } }", ["`kind Sum[SLOTS + 1]`", "`-D` one of SLOTS so that "
                                    "`SLOTS + 1` is at least 5"]),
        ("use { r.tries := 1 }", ["This is no size to raise: p.use (line 12) reads a field",
                                  "Guard the action"]),
    ],
)  # fmt: skip
def test_each_kind_of_bound_gets_its_own_remedy(action: str, wanted: list[str]) -> None:
    hint = _hint(SIZES.replace("{ACTION}", action))
    for w in wanted:
        assert w in hint, hint


SPAWN_ONLY = """model spawn_only
const PODS = 2
kind Pod[PODS] { }
process spawner {
  action spawn { create Pod { } }
}
invariant fits: count(Pod) <= PODS
"""


def test_a_run_that_hits_a_bound_says_how_to_get_past_it() -> None:
    model: CompiledModel = compile_model(_symbols(SPAWN_ONLY), symmetry=False)
    config = RunConfig(seed=0, faults=False, settle=3.0, timeout=60.0)
    outcome = Interpreter(model, SimDriver(), config, lambda e: None).run()
    bound = _by_name(outcome.result)["bound: no-free-slot in spawner.spawn"]
    assert bound.status == VIOLATED
    assert "`kind Pod[PODS]` (line 3)" in (bound.reason or "")
    assert "`-D PODS=3`" in (bound.reason or "")
