"""Constructs the explicit engine accepts, one test each, through the Z3 engines (issue 13.3):
`K[i]` on an ordered kind, a scheduler's `on bind`, sets, binders over `bool` (in
tests/lang/test_bool_domain.py), and ranges whose bounds read the state or the binders before
them; and `for i in 1..P` in `init` with `--symbolic-params`. Each must step exactly as the
compiled model does (tests/smt/agree.py) and give BMC the explicit engine's verdicts."""

from __future__ import annotations

from hypothesis import HealthCheck, given, note, settings

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.result import VIOLATED
from kcheck.smt.params import symbolic_bmc
from tests.lang.test_bind_statements import Family, family_text
from tests.smt.agree import assert_same_steps
from tests.smt.setgen import set_models
from tests.smt.test_bmc import _agree


def _same(text: str, depth: int, limit: int = 300) -> None:
    _agree(text, depth)
    checked = check_source(Source("m.kdsl", text))
    assert assert_same_steps(compile_model(checked.symbols, symmetry=False), checked.symbols, limit)


ORDERED = """model ordered
kind Node[3] ordered { up: bool = false  load: 0..2 = 0 }
var next: 0..3 = 0
init { create Node {}  create Node {} }
process p {
  action wake when next < 3 { Node[next].up := true  next := next + 1 }
  action fill for i in 0..1 when Node[i].up and Node[i].load < 2 { Node[i].load := Node[i].load + 1 }
  action drop { delete Node[1] }
}
invariant first_up_first: Node[1].up implies Node[0].up
invariant light: forall n in Node: n.load <= 1
"""


def test_an_ordered_kind_indexed_by_slot_agrees() -> None:
    """`K[i]` reads and writes slot i, and fails where no object lives there (`next` reaches
    2, and Node[1] may be deleted): the same steps, failures and verdicts."""
    _same(ORDERED, 5)


def test_on_bind_statements_agree() -> None:
    f = Family(caps=(1, 2), pods=2, body=(0, 1, 3, 5), k=1, filter_on_assumed=True)
    _same(family_text(f), 4, 200)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(set_models())
def test_sets_step_as_compiled(text: str) -> None:
    note(text)
    checked = check_source(Source("sets.kdsl", text))
    assert_same_steps(compile_model(checked.symbols, symmetry=False), checked.symbols, 150)


RANGES = """model ranges
kind Pod[2] { want: 0..2 = 1  have: 0..3 = 0 }
var n: 0..3 = 0
def spare(p: Pod): int = p.want - p.have
init { create Pod { want: 2 } }
process c {
  action top for p in Pod, k in 0..spare(p) where k == 1 { p.have := p.have + k }
  action tally when exists i in 1..count(Pod) + (sum q.have for q in Pod): i == 3 { n := 1 }
  action grow for p in Pod when p.have < p.want { p.have := p.have + 1 }
  action pick for p in Pod, k in 0..p.want where k > p.have { p.have := k }
  action reset when exists i in 0..n: i == 2 { n := 0 }
  action bump when n < 3 { n := n + 1 }
  action sweep { for j in n..3 { n := min(j + 1, 3) } }
  action more when count(Pod) < 2 { choose w in n - 1..n { create Pod { want: w } } }
}
invariant capped: forall p in Pod: p.have <= 2
invariant small: n <= 2 or (sum p.have for p in Pod) <= 1
"""


def test_ranges_whose_bounds_read_the_state_agree() -> None:
    """A range bounded by a var, by a field of the binder before it, by a `def`, a count and a
    sum, and by an expression that may leave the field's range (`n - 1` is -1 when n = 0: a
    range error on create)."""
    _same(RANGES, 5)


INIT_LOOP = """model init_loop
param P: 0..3 = 1
kind Pod[2] { up: bool = false }
init { for i in 1..P { create Pod {} } }
process k { action start for p in Pod where not p.up { p.up := true } }
invariant few: (count p in Pod where p.up) <= 1
"""


def test_symbolic_params_accept_a_loop_up_to_a_param_in_init() -> None:
    """`for i in 1..P` in init: the symbolic run names the smallest failing configuration,
    the bound error (P = 3 needs a third slot) included, as the concrete runs find them."""
    checked = check_source(Source("init_loop.kdsl", INIT_LOOP))
    result = symbolic_bmc(compile_model(checked.symbols), checked.symbols, 3, None, 60)
    verdicts = {p.name: p for p in result.properties}
    assert verdicts["few"].status == VIOLATED and "P=2" in (verdicts["few"].reason or "")
    bound = [p for p in result.properties if p.kind == "bound"]
    assert len(bound) == 1 and "P=3" in (bound[0].reason or ""), bound
    for value, violated in ((0, False), (1, False), (2, True)):
        fixed = check_source(Source("f.kdsl", INIT_LOOP.replace("= 1", f"= {value}", 1)))
        explicit = explore(compile_model(fixed.symbols), properties=[])
        [few] = [p for p in explicit.properties if p.name == "few"]
        assert (few.status == VIOLATED) == violated
