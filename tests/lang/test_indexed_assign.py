"""`K[i].f := e`: assigning a field of an ordered kind's object by its slot, in every pass
(parser, checker, formatter, compiler, reference interpreter, Z3 encoder)."""

from __future__ import annotations

import pytest

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.fmt import format_program
from kcheck.lang.frontend import check_source
from kcheck.lang.parser import parse
from kcheck.model.compile import compile_model
from kcheck.smt.bmc import bmc
from tests.explore.test_reference_agreement import compiled_reachable
from tests.reference import enumerate_reachable

MODEL = """model fed

kind Cluster[2] ordered {
  share: 0..3 = 0
  up: bool = true
}

init {
  create Cluster { share: 2 }
  create Cluster { share: 1 }
}

controller fed {
  action rebalance when not Cluster[1].up and Cluster[1].share > 0 {
    Cluster[0].share := Cluster[0].share + Cluster[1].share
    Cluster[1].share := 0
  }
}

fault lose budget 1 {
  action lose {
    Cluster[1].up := false
  }
}

invariant total: (sum c.share for c in Cluster) == 3
invariant moved: Cluster[1].up or Cluster[1].share == 0
"""


def test_parses_formats_and_reads_back_unchanged() -> None:
    assert format_program(parse(Source("t.kdsl", MODEL)), MODEL) == MODEL


def test_moves_the_share_as_the_reference_interpreter_does() -> None:
    checked = check_source(Source("t.kdsl", MODEL))
    model = compile_model(checked.symbols, symmetry=False)
    ref = enumerate_reachable(checked.symbols, model.layout)
    reach, errored = compiled_reachable(model)
    assert not errored and not ref.errors
    assert reach == ref.states and len(reach) == 3
    r = explore(model)
    statuses = {p.name: p.status for p in r.properties}
    assert statuses == {"total": "holds", "moved": "violated"}  # moved only after rebalance


def test_the_z3_engine_agrees() -> None:
    checked = check_source(Source("t.kdsl", MODEL))
    model = compile_model(checked.symbols, symmetry=False)
    r = bmc(model, checked.symbols, depth=3)
    statuses = {p.name: p.status for p in r.properties if p.kind == "invariant"}
    assert statuses["moved"] == "violated"
    (moved,) = [p for p in r.properties if p.name == "moved"]
    assert moved.trace is not None and len(moved.trace) == 1


@pytest.mark.parametrize(
    ("stmt", "fragment"),
    [
        ("Node[0].cpu := 1", "unknown kind `Node`"),
        ("Pod[0].cpu := 1", "ordered"),
        ("Cluster[0].nope := 1", "no field `nope`"),
        ("Cluster[true].share := 1", "int"),
    ],
)
def test_mistakes_are_located_errors(stmt: str, fragment: str) -> None:
    text = (
        "model m\nkind Cluster[2] ordered { share: 0..3 = 0 }\nkind Pod[1] { cpu: 0..1 = 0 }\n"
        f"process p {{ action a {{ {stmt} }} }}\n"
    )
    with pytest.raises(KcheckError) as info:
        check_source(Source("t.kdsl", text))
    messages = [d.message for d in info.value.diagnostics]
    assert any(fragment in m for m in messages), messages
