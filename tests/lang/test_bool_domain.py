"""`x in bool`: binders, `choose`, `:= any` and quantifiers over false and true (a gap the
descheduler model hit). The compiled model must reach what the reference interpreter reaches."""

from __future__ import annotations

import pytest

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.fmt import format_program
from kcheck.lang.frontend import check_source
from kcheck.lang.parser import parse
from kcheck.model.compile import compile_model
from kcheck.smt.induction import induction
from tests.explore.test_reference_agreement import compiled_reachable
from tests.reference import enumerate_reachable
from tests.smt.agree import assert_same_steps
from tests.smt.test_bmc import _agree

MODEL = """model m

var joined: bool = false
var x: 0..1 = 0

process p {
  action join when not joined {
    choose t in bool {
      joined := t
      x := if t then 1 else 0
    }
  }
  action flip {
    joined := any bool
  }
}

invariant linked: joined or x == 0
invariant some: exists b in bool: b == joined
"""


def test_round_trips_through_the_formatter() -> None:
    assert format_program(parse(Source("t.kdsl", MODEL)), MODEL) == MODEL


def test_reaches_what_the_reference_reaches() -> None:
    checked = check_source(Source("t.kdsl", MODEL))
    model = compile_model(checked.symbols, symmetry=False)
    ref = enumerate_reachable(checked.symbols, model.layout)
    reach, errored = compiled_reachable(model)
    assert not errored and reach == ref.states and len(reach) == 4
    statuses = {p.name: p.status for p in explore(model).properties}
    assert statuses == {"linked": "violated", "some": "holds"}


def test_the_z3_engines_encode_it_and_agree() -> None:
    """BMC finds `linked` violated at the explicit engine's length, every encoded step is a
    compiled one, and induction proves `some` (and not `linked`)."""
    _agree(MODEL, 3)
    checked = check_source(Source("t.kdsl", MODEL))
    model = compile_model(checked.symbols, symmetry=False)
    assert assert_same_steps(model, checked.symbols) == 4
    statuses = {p.name: p.status for p in induction(model, checked.symbols, 2).properties}
    assert statuses["some"] == "holds" and statuses["linked"] != "holds"


def test_a_set_of_bools_is_an_error() -> None:
    with pytest.raises(KcheckError) as info:
        check_source(
            Source("t.kdsl", "model m\nvar v: bool = false\ninvariant i: size({b in bool}) == 2\n")
        )
    assert any("not bools" in d.message for d in info.value.diagnostics)
