"""The Z3 engine refuses, before solving, what it does not encode: statement and expression
nodes it does not know, attributes of declarations it does not read, and state the compiler
adds that it does not know the meaning of; each with the user's construct and its line."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings

from kcheck.explore.bfs import explore
from kcheck.lang import ast
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.lang.types import TInt
from kcheck.model.compile import compile_model
from kcheck.model.ir import VarLayout
from kcheck.result import VIOLATED
from kcheck.smt.bmc import bmc
from kcheck.smt.encode import Unsupported
from tests.explore.modelgen import models

BASE = """model base
kind Pod[2] { up: bool = false }
var n: 0..3 = 0
controller c {
  action start for p in Pod where not p.up { p.up := true }
  action more when n < 3 { n := n + 1 }
}
init { create Pod {} }
invariant t: n <= 3
"""


def _checked(text: str = BASE) -> Any:
    return check_source(Source("refuse.kdsl", text))


def test_a_stale_watch_is_encoded() -> None:
    text = BASE.replace("controller c {", "controller c watches Pod stale {")
    checked = check_source(Source("stale.kdsl", text))
    model = compile_model(checked.symbols)
    [p] = bmc(model, checked.symbols, 2, None, 10).properties
    assert p.reason == "no violation up to depth 2"


def test_a_range_kcheck_cannot_bound_is_refused_with_its_line_and_a_rewrite() -> None:
    text = BASE.replace(
        "action more when n < 3 { n := n + 1 }",
        "action more when exists i in 0..(6 / (n + 1)): i == 2 { n := 0 }",
    )
    checked = check_source(Source("range.kdsl", text))
    model = compile_model(checked.symbols)
    with pytest.raises(
        Unsupported, match=r"a range bound .* \(write `x in LO..MAX where x <= e` .*\) at line 6"
    ):
        bmc(model, checked.symbols, 1, None, 10)


def test_a_plain_watch_is_encoded() -> None:
    text = BASE.replace("controller c {", "controller c watches Pod {")
    checked = check_source(Source("watch.kdsl", text))
    model = compile_model(checked.symbols)
    [p] = bmc(model, checked.symbols, 2, None, 10).properties
    assert p.reason == "no violation up to depth 2"


@dataclass(frozen=True)
class Mystery:
    """A node type the encoder has never heard of."""

    span: ast.Span = ast.NOWHERE


MYSTERY: Any = Mystery()


def _with_first_action(sym: Any, change: Callable[[ast.Action], Any]) -> Any:
    """The symbols with the first action changed; everything else shared."""
    [actor] = sym.actors
    new_actor = replace(actor, actions=(change(actor.actions[0]), *actor.actions[1:]))
    return replace(sym, actors=[new_actor])


@pytest.mark.parametrize(
    ("change", "construct"),
    [
        (lambda a: replace(a, body=ast.Block((MYSTERY,))), "statement Mystery"),
        (lambda a: replace(a, when=MYSTERY), "Mystery"),
        (lambda a: replace(a, when=ast.Field(MYSTERY, "up")), "Mystery"),  # like `old(p).up`
    ],
)
def test_unknown_nodes_are_refused_not_ignored(
    change: Callable[[ast.Action], Any], construct: str
) -> None:
    checked = _checked()
    model = compile_model(checked.symbols)
    sym = _with_first_action(checked.symbols, change)
    with pytest.raises(Unsupported, match=f"not encoded by the Z3 engine: {construct}"):
        bmc(model, sym, 1, None, 10)


def test_an_unknown_attribute_of_an_action_is_refused() -> None:
    @dataclass(frozen=True)
    class SteppedAction(ast.Action):
        steps: tuple[int, ...] = ()

    checked = _checked()
    model = compile_model(checked.symbols)

    def stepped(a: ast.Action) -> ast.Action:
        return SteppedAction(**{f: getattr(a, f) for f in a.__dataclass_fields__}, steps=(1,))

    sym = _with_first_action(checked.symbols, stepped)
    with pytest.raises(
        Unsupported,
        match=re.escape("not encoded by the Z3 engine: `steps` on action `c.start` at line 5"),
    ):
        bmc(model, sym, 1, None, 10)


def test_compiler_internal_state_in_the_layout_is_refused() -> None:
    checked = _checked()
    model = compile_model(checked.symbols)
    layout = model.layout
    cache = VarLayout("c@Pod.up", TInt(0, 1), layout.width)  # a cell of nothing it knows
    hidden = replace(layout, width=layout.width + 1, vars=(*layout.vars, cache))
    with pytest.raises(Unsupported, match=re.escape("compiler-internal state `c@Pod.up`")):
        bmc(replace(model, layout=hidden), checked.symbols, 1, None, 10)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models(controller_state=True))
def test_controller_state_is_encoded_never_skipped(text: str) -> None:
    """Random models with controller state (stale and coalesced watches, restarts, `step`):
    each is encoded, and a violation BMC finds is one the explicit engine finds."""
    note(text)
    checked = check_source(Source("generated.kdsl", text))
    model = compile_model(checked.symbols)
    result = bmc(model, checked.symbols, 2, None, 60)
    explicit = explore(model, symmetry=False, properties=[])
    for p in result.properties:
        if p.kind == "invariant" and p.status == VIOLATED:
            [e] = [e for e in explicit.properties if e.name == p.name]
            assert e.status == VIOLATED
