"""BMC solved as bit-vectors (smt/bitvec.py, smt/solver.py `Unrolled`) is exact: on every model
in models/ it gives the explicit engine's verdicts and shortest counterexample lengths at a small
depth, the same as the integer encoding; the width grows with the values, and a formula the
interval analysis cannot bound is solved over integers."""

from __future__ import annotations

from pathlib import Path

import pytest
import z3  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from kcheck.explore.bfs import Limits, explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source, load
from kcheck.model.compile import compile_model
from kcheck.result import INCONCLUSIVE, VIOLATED
from kcheck.smt.bmc import bmc, one_per_orbit
from kcheck.smt.encode import Unsupported
from kcheck.smt.solver import Deadline, Unrolled

MODELS = sorted((Path(__file__).resolve().parents[2] / "models").glob("*.kdsl"))
DEPTH = 3


def _lengths(result: object) -> dict[str, tuple[str, int]]:
    props = result.properties  # type: ignore[attr-defined]
    return {
        p.name: (p.status, len(p.trace) if p.trace is not None else 0)
        for p in props
        if p.kind in ("invariant", "bound")
    }


@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_bitvector_bmc_agrees_with_the_explicit_engine_on_every_model(path: Path) -> None:
    checked = load(str(path))
    model = compile_model(checked.symbols)
    try:
        fast = bmc(model, checked.symbols, DEPTH, None, 600, [])
    except Unsupported:
        pytest.skip("not encoded by the Z3 engine")
    explicit = explore(model, properties=[], limits=Limits(max_depth=DEPTH))
    shortest = {
        p.name: len(p.trace)
        for p in explicit.properties
        if p.kind == "invariant" and p.status == VIOLATED and p.trace is not None
    }
    for p in fast.properties:
        if p.kind != "invariant":
            continue
        assert p.reason is None or not p.reason.startswith("Z3"), p.reason
        if p.name in shortest:
            assert p.status == VIOLATED and p.trace is not None
            assert len(p.trace) == shortest[p.name]
        else:
            assert p.status == INCONCLUSIVE
    slow = bmc(model, checked.symbols, DEPTH, None, 600, [], bitvec=False)
    assert _lengths(fast) == _lengths(slow)


def _bmc(text: str, depth: int, bitvec: bool = True) -> dict[str, tuple[str, int]]:
    checked = check_source(Source("m.kdsl", text))
    model = compile_model(checked.symbols)
    return _lengths(bmc(model, checked.symbols, depth, None, 60, [], bitvec=bitvec))


def test_values_wider_than_the_first_width_stay_exact() -> None:
    # 200 * 200 = 40000 needs 17 bits: at the first width (8) it would wrap around
    text = """model wide
var x: 0..200 = 190
controller c {
  action inc when x < 200 { x := x + 5 }
}
invariant small: x * x != 40000
"""
    assert _bmc(text, 2) == {"small": (VIOLATED, 2)}  # steps
    assert _bmc(text, 1) == {"small": (INCONCLUSIVE, 0)}
    assert _bmc(text, 2) == _bmc(text, 2, bitvec=False)


def test_floor_division_and_modulo_agree_with_the_integers() -> None:
    # x: -7, -4, -1, ...; floor division (not truncation): -7 / 4 == -2, -7 % 4 == 1,
    # -1 / 4 == -1, -1 % 4 == 3
    text = """model div
var x: -9..9 = -7
controller c {
  action up when x < 9 { x := x + 3 }
}
invariant q: x / 4 != -1 or x % 4 != 3
invariant r: x / 4 != -2 or x % 4 != 1
"""
    assert _bmc(text, 4) == {"q": (VIOLATED, 2), "r": (VIOLATED, 0)}
    assert _bmc(text, 4) == _bmc(text, 4, bitvec=False)


def test_an_unbounded_variable_is_solved_over_the_integers() -> None:
    solver = Unrolled()
    x = z3.Int("x")
    solver.add(x > 5)  # no upper bound: no width holds every value
    answer, m = solver.ask(x == 10**12, Deadline(60))
    assert answer == "sat" and solver.value(m, x) == 10**12
    assert solver.width == 0 and "unbounded" in solver.why_integers


@settings(max_examples=60, deadline=None)
@given(st.integers(-50, 50), st.integers(-50, 50), st.integers(1, 9), st.integers(-3, 3))
def test_bitvector_terms_have_their_integer_values(a: int, b: int, d: int, c: int) -> None:
    x, y = z3.Int("x"), z3.Int("y")
    terms = [x * y - c, (x + y) / d, (x - y) % d, -x * 3 + y, z3.If(x > y, x / d, y % d)]
    for t in terms:
        solver = Unrolled()
        solver.add(z3.And(x >= -50, x <= 50, y >= -50, y <= 50))
        v = z3.Int("v")
        solver.add(v == t)
        answer, m = solver.ask(z3.And(x == a, y == b), Deadline(60))
        assert answer == "sat" and solver.width > 0
        expected = z3.simplify(z3.substitute(t, (x, z3.IntVal(a)), (y, z3.IntVal(b))))
        assert solver.value(m, v) == expected.as_long()


SYMMETRIC_INIT = """model sym
kind Pod[3] { up: bool = false }
init {
  create Pod { }
  create Pod { }
  create Pod { }
  choose p in Pod { p.up := true }
}
controller c {
  action down for p in Pod where p.up { p.up := false }
}
invariant some_up: exists p in Pod: p.up
"""


def test_symmetric_initial_states_are_unrolled_once_with_the_same_verdict() -> None:
    checked = check_source(Source("sym.kdsl", SYMMETRIC_INIT))
    model = compile_model(checked.symbols)
    inits = model.initial()
    assert len(inits) == 3  # one per pod chosen: permutations of each other
    assert one_per_orbit(model, inits) == [inits[0]]
    [p] = [p for p in bmc(model, checked.symbols, 2, None, 60, []).properties]
    assert p.status == VIOLATED and p.trace is not None and len(p.trace) == 1


def test_each_term_gets_the_bits_of_its_own_interval() -> None:
    # a 0/1 slot is two bits and a 0..200 count nine, whatever else the formula holds; before,
    # every term had the width of the widest value plus four bits
    solver = Unrolled()
    b, n = z3.Int("b"), z3.Int("n")
    solver.add(z3.And(b >= 0, b <= 1, n >= 0, n <= 200))
    assert solver.to_bv(b).size() == 2
    assert solver.to_bv(n).size() == 9
    assert solver.to_bv(b + n).size() == 9  # 0..201, computed at the width of its operands


@settings(max_examples=60, deadline=None)
@given(
    st.integers(-2, 1), st.integers(-300, 300), st.integers(0, 1), st.integers(1, 70)
)  # fmt: skip
def test_terms_over_variables_of_different_widths_have_their_integer_values(
    a: int, b: int, c: int, d: int
) -> None:
    # x: 2 bits, y: 10 bits, z: 2 bits, w: 8 bits; sums, products, comparisons and
    # if-then-else mix them, so operands are sign-extended and results cut to their interval
    x, y, z, w = z3.Int("x"), z3.Int("y"), z3.Int("z"), z3.Int("w")
    terms = [
        x * y + z, y - x * w, z3.If(x < y, x, y * w), (y + w) / d, y % (w + 1),
        z3.If(z == 1, -y, x) * w, x - y - w - z,
    ]  # fmt: skip
    for t in terms:
        solver = Unrolled()
        solver.add(z3.And(x >= -2, x <= 1, y >= -300, y <= 300, z >= 0, z <= 1))
        solver.add(z3.And(w >= 1, w <= 70))
        v = z3.Int("v")
        solver.add(v == t)
        at = z3.And(x == a, y == b, z == c, w == d)
        answer, m = solver.ask(at, Deadline(60))
        assert answer == "sat" and solver.width > 0
        subst = [(x, z3.IntVal(a)), (y, z3.IntVal(b)), (z, z3.IntVal(c)), (w, z3.IntVal(d))]
        expected = z3.simplify(z3.substitute(t, *subst))
        assert solver.value(m, v) == expected.as_long()
        assert solver.ask(z3.And(at, v != expected), Deadline(60))[0] == "unsat"
