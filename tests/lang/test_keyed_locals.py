"""An actor's local state per object (spec/language.md §3, "Local state per object"):
`var expected: set<Pod>[ReplicaSet]` parses, prints back, is one set per object that `restart`
empties for every object, agrees between the explicit engine (with and without symmetry) and
BMC, and its misuses are located errors."""

from __future__ import annotations

import pytest

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.fmt import format_program
from kcheck.lang.frontend import check_source
from kcheck.lang.parser import parse
from kcheck.model.compile import compile_model
from kcheck.result import HOLDS, VIOLATED
from tests.smt.test_bmc import _agree

MODEL = """model keyed

kind Owner[2] {
  up: bool
}

kind Child[2] {
  owner: Owner?
}

init {
  create Owner {}
  create Owner {}
}

controller c {
  var made: set<Child>[Owner] = {}
  action make for o in Owner when size(made[o]) == 0 and count(Child) < 2 {
    let x = create Child { owner: o }
    made[o] := made[o] | {x}
  }
  action forget for o in Owner, x in Child where x in made[o] {
    made[o] := made[o] - {x}
    delete x
  }
}

fault crash budget 1 {
  action go {
    restart c
  }
}

invariant one_each: forall o in Owner: size(c.made[o]) <= 1
invariant never_forgets: (count o in Owner where size(c.made[o]) > 0) == count(Child)
"""


def test_keyed_locals_print_back_unchanged() -> None:
    program = parse(Source("m.kdsl", MODEL))
    assert format_program(program, MODEL) == MODEL


def test_a_keyed_local_is_a_set_per_object_that_restart_empties_for_every_object() -> None:
    checked = check_source(Source("m.kdsl", MODEL))
    owner = checked.symbols.kinds["Owner"]
    assert [f.name for f in owner.fields] == ["up", "c.made"]
    model = compile_model(checked.symbols, symmetry=False)
    verdicts = {p.name: p.status for p in explore(model).properties}
    # one set per owner: each owner keeps one child of its own
    assert verdicts["one_each"] == HOLDS
    # and a restart loses them all while the children stay: the memory loss
    assert verdicts["never_forgets"] == VIOLATED
    without = compile_model(
        check_source(Source("m", MODEL.replace("budget 1", "budget 0"))).symbols
    )
    assert {p.name: p.status for p in explore(without).properties}["never_forgets"] == HOLDS


def test_keyed_locals_agree_with_bmc_and_keep_verdicts_under_symmetry() -> None:
    # (the reference interpreter, tests/reference.py, has no sets yet: a keyed local is one)
    checked = check_source(Source("m.kdsl", MODEL))
    model = compile_model(checked.symbols, symmetry=False)
    on = explore(compile_model(checked.symbols), symmetry=True)
    off = explore(model, symmetry=False)
    assert on.stats.states < off.stats.states
    assert {p.name: p.status for p in on.properties} == {p.name: p.status for p in off.properties}
    _agree(MODEL, 5)


@pytest.mark.parametrize(
    ("change", "code", "line", "message"),
    [
        (("controller c {", "controller c watches Owner stale {"), "KC0502", 17,
         "`c` reads `Owner` through a cache, so it cannot keep a local per `Owner`"),
        (("set<Child>[Owner]", "set<Child>[Ownr]"), "KC0204", 17, "unknown kind `Ownr`"),
        (("fault crash budget 1 {\n  action go {\n    restart c",
          "process p {\n  action go {\n    let k = c.made[Owner[0]]"), "KC0502", 30,
         "`c.made` is the local state of `c`"),
    ],
)  # fmt: skip
def test_misused_keyed_locals_are_located_errors(
    change: tuple[str, str], code: str, line: int, message: str
) -> None:
    text = MODEL.replace(*change)
    with pytest.raises(KcheckError) as info:
        check_source(Source("m.kdsl", text))
    (d,) = [d for d in info.value.diagnostics if d.code == code]
    assert (d.span.line, d.message) == (line, message)
