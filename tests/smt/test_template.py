"""Terms about a state by renaming (smt/template.py): what the encoder renames from its template
state must be the very terms it would build for that state directly. Z3 shares equal terms, so
`eq` on each term checks it exactly: on every model in models/ (action instances and temporal
formulas) and on generated models with sets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import z3  # type: ignore[import-untyped]
from hypothesis import HealthCheck, given, note, settings

from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source, load
from kcheck.lang.types import TInt
from kcheck.model.compile import compile_model
from kcheck.smt.encode import Encoder, Unsupported
from kcheck.smt.template import instance_terms, state_constants
from kcheck.smt.temporal import property_terms
from kcheck.smt.terms import Branch, Instance
from tests.smt.setgen import set_models

MODELS = sorted((Path(__file__).resolve().parents[2] / "models").glob("*.kdsl"))


def _encoder(text: str | None, path: Path | None = None) -> Encoder | None:
    checked = (
        load(str(path), {}) if path is not None else check_source(Source("m.kdsl", text or ""))
    )
    try:
        return Encoder(compile_model(checked.symbols), checked.symbols)
    except Unsupported:
        return None


def _same(a: list[Any], b: list[Any]) -> bool:
    return len(a) == len(b) and all(x.eq(y) for x, y in zip(a, b, strict=True))


def _shape(insts: list[Instance]) -> list[tuple[int, tuple[int, ...], int, list[list[str]]]]:
    return [(i.action, i.args, len(i.branches), [sorted(b.env) for b in i.branches]) for i in insts]


def _terms(insts: list[Instance]) -> list[Any]:
    terms = instance_terms(insts)
    assert terms is not None
    return terms


def _assert_renamed_as_built(enc: Encoder) -> None:
    first = enc.fresh_state("s1")
    enc.instances(first)  # builds the template
    for name in ("s2", "s3"):
        st = enc.fresh_state(name)
        renamed, built = enc.instances(st), enc.build_instances(st)
        assert _shape(renamed) == _shape(built)
        assert _same(_terms(renamed), _terms(built))
    for p in enc.model.properties:
        terms = property_terms(enc, enc.sym, p)
        if terms is None:
            continue
        st = enc.fresh_state("s4")
        for b in terms.bindings:
            for j in range(len(terms.formulas)):
                assert _same(list(terms.formula(b, j, st)), list(terms._formula(b, j, st)))
                again = enc.fresh_state(f"s5_{j}")  # another state: renamed anew
                assert _same(list(terms.formula(b, j, again)), list(terms._formula(b, j, again)))


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_renamed_terms_are_the_built_terms_on_every_model(path: Path) -> None:
    enc = _encoder(None, path)
    if enc is None:
        pytest.skip("the Z3 engines refuse this model")
    _assert_renamed_as_built(enc)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(set_models())
def test_renamed_terms_are_the_built_terms_with_sets(text: str) -> None:
    note(text)
    enc = _encoder(text)
    assert enc is not None
    _assert_renamed_as_built(enc)


def test_a_state_not_of_fresh_constants_is_encoded_directly() -> None:
    enc = _encoder(None, MODELS[0])
    assert enc is not None
    fresh = enc.fresh_state("s1")
    concrete = tuple(z3.IntVal(0) for _ in fresh)
    assert state_constants(concrete, enc.sets) is None
    shared = (fresh[0],) * len(fresh)  # not distinct
    assert state_constants(shared, enc.sets) is None
    assert _same(_terms(enc.instances(concrete)), _terms(enc.build_instances(concrete)))
    assert _same(_terms(enc.instances(shared)), _terms(enc.build_instances(shared)))


def test_a_local_that_is_not_a_term_turns_renaming_off() -> None:
    enc = _encoder(None, MODELS[0])
    assert enc is not None
    build = enc.build_instances

    def with_odd_local(st: tuple[Any, ...]) -> list[Instance]:
        insts = build(st)
        first = insts[0]
        b = first.branches[0]
        odd = Branch(b.ok, b.state, {**b.env, "odd": (st[:2], TInt())})
        return [
            Instance(first.action, first.args, (odd, *first.branches[1:]), first.fail),
            *insts[1:],
        ]

    enc.build_instances = with_odd_local  # type: ignore[method-assign]
    enc.instances(enc.fresh_state("s1"))
    st = enc.fresh_state("s2")
    got = enc.instances(st)
    assert got[0].branches[0].env["odd"][0] == st[:2]  # this state's, not the template's
    assert _same(_terms(got[1:]), _terms(build(st)[1:]))
