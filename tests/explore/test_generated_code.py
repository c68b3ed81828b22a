"""The search over a model's generated C (explore/cgen.py, store_gen.c) against the reference
Python search: the same states, transitions, verdicts and shortest traces on every model in
models/ and on generated models (issue 14.1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from kcheck.explore import bfs
from kcheck.explore.bfs import Limits, explore
from kcheck.explore.store import SOURCE, generated_code
from kcheck.model import native
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel
from tests.explore.modelgen import models
from tests.explore.native_search import MODELS, compiled, needs_native, summary

CAP = 20_000  # as test_store.py: both searches cut at the same state


@pytest.fixture(autouse=True)
def generated_from_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bfs, "GEN_AFTER", 0)


@needs_native
@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_generated_code_finds_what_the_reference_search_finds(path: Path) -> None:
    # without symmetry: the generated code runs where no canonicaliser is needed
    model = compiled(path.stem, False)
    limits = Limits(max_states=CAP)
    gen = explore(model, symmetry=False, limits=limits)
    reference = explore(model, symmetry=False, limits=limits, packed=False)
    assert summary(gen) == summary(reference)


@needs_native
@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_generated_code_with_symmetry_finds_what_the_reference_search_finds(path: Path) -> None:
    # with symmetry: the generated symmetric successors, each canonicalised on its int64 row by
    # the native canonicaliser's C entry (models whose canonicaliser is Python stay Python)
    model = compiled(path.stem, True)
    limits = Limits(max_states=CAP)
    gen = explore(model, symmetry=True, limits=limits)
    reference = explore(model, symmetry=True, limits=limits, packed=False)
    assert summary(gen) == summary(reference)


@needs_native
def test_symmetric_searches_run_in_c() -> None:
    # the symmetric ReplicaSet and scheduler: their canonicaliser is native, their symmetric
    # successor functions translate, so the search's hot loop makes no tuple
    for name in ("replicaset", "scheduler_starvation"):
        model = compiled(name, True)
        assert hasattr(model.canonicalize, "capsule")
        code = generated_code(model, True)
        assert code is not None and len(code.fallbacks) <= 2


@needs_native
def test_the_reference_models_run_in_c() -> None:
    # the two models of the Spin comparison translate, each with at most two statements
    # (a `min` over a list, a comprehension) left in Python
    for name in ("replicaset", "scheduler_starvation"):
        code = generated_code(compiled(name, False))
        assert code is not None
        assert len(code.fallbacks) <= 2
        assert code.invariants == frozenset(range(len(compiled(name, False).invariants)))


@needs_native
def test_most_models_translate() -> None:
    translated = [p.stem for p in MODELS if generated_code(compiled(p.stem, False)) is not None]
    assert len(translated) * 2 > len(MODELS), translated


@needs_native
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.booleans().flatmap(lambda failing: models(failing=failing)))
def test_generated_code_agrees_on_generated_models(text: str) -> None:
    # (failing models: invariants that cannot be evaluated, steps that leave the bounds)
    note(text)
    from kcheck.lang.diagnostics import Source
    from kcheck.lang.frontend import check_source

    model = compile_model(check_source(Source("gen.kdsl", text)).symbols, symmetry=False)
    gen = explore(model, symmetry=False)
    reference = explore(model, symmetry=False, packed=False)
    assert summary(gen) == summary(reference)


@needs_native
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.booleans().flatmap(lambda failing: models(failing=failing)))
def test_generated_code_with_symmetry_agrees_on_generated_models(text: str) -> None:
    note(text)
    from kcheck.lang.diagnostics import Source
    from kcheck.lang.frontend import check_source

    model = compile_model(check_source(Source("gen.kdsl", text)).symbols, symmetry=True)
    gen = explore(model, symmetry=True)
    reference = explore(model, symmetry=True, packed=False)
    assert summary(gen) == summary(reference)


# ---- the translation's int semantics, expression by expression ---------------------------------

WIDTH = 4  # the state's cells; one more, set by the successor, makes it always new
leaves = st.one_of(
    st.integers(-6, 6).map(str),
    st.sampled_from([str(2**40), str(-(2**62)), "True", "False"]),
    st.integers(-WIDTH - 1, WIDTH).map(lambda i: f"s[{i}]"),  # out of range too
)
BINOPS = ["+", "-", "*", "//", "%", "&", "|", "^", "<<", ">>"]


def _combine(sub: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    two = st.tuples(sub, sub)
    return st.one_of(
        st.tuples(sub, st.sampled_from(BINOPS), sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(sub, st.sampled_from(["and", "or"]), sub).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        sub.map(lambda a: f"(not {a})"),
        sub.map(lambda a: f"(-{a})"),
        st.tuples(sub, sub, sub).map(lambda t: f"({t[0]} <= {t[1]} < {t[2]})"),
        two.map(lambda t: f"({t[0]} == {t[1]})"),
        st.tuples(sub, sub, sub).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        two.map(lambda t: f"min({t[0]}, {t[1]})"),
        two.map(lambda t: f"max({t[0]}, {t[1]})"),
        sub.map(lambda a: f"abs({a})"),
        sub.map(lambda a: f"bool({a})"),
        sub.map(lambda a: f"_some({a}, 'x', 0, (), 1)"),
        two.map(lambda t: f"_div({t[0]}, {t[1]}, '//', 0, (), 1)"),
        two.map(lambda t: f"_member({t[0]}, {t[1]})"),
        two.map(lambda t: f"s[{t[0]}]"),
    )


expressions = st.recursive(leaves, _combine, max_leaves=8)


def _model(expr: str) -> CompiledModel:
    """A stand-in for a compiled model whose one successor sets cell 0 to `expr`."""
    from types import SimpleNamespace
    from typing import cast

    from kcheck.model.runtime import RUNTIME_NS

    body = f"    out = []\n    _ap = out.append\n    st = list(s)\n    st[0] = {expr}\n"
    body += f"    st[{WIDTH}] = 1\n"
    source = f"def _successors(s):\n{body}    _ap(tuple(st))\n    return out\n"
    source += f"def _tagged(s):\n{body}    _ap((0, tuple(st)))\n    return out\n"
    ns: dict[str, object] = dict(RUNTIME_NS)
    exec(source, ns)
    layout = SimpleNamespace(width=WIDTH + 1)
    return cast(
        CompiledModel,
        SimpleNamespace(
            python_source=source, layout=layout, successors=ns["_successors"], invariants=()
        ),
    )


def _outcome(run: object) -> object:
    try:
        return run()  # type: ignore[operator]
    except Exception as err:
        return type(err).__name__


@needs_native
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    expressions,
    st.lists(
        st.integers(-9, 9) | st.sampled_from([2**62, -(2**63)]), min_size=WIDTH, max_size=WIDTH
    ),
)
def test_translated_expressions_answer_as_python_does(expr: str, cells: list[int]) -> None:
    from kcheck.model.ir import StepError

    note(expr)
    model = _model(expr)
    code = generated_code(model)
    assert code is not None
    s = (*cells, 0)

    def python() -> object:
        (t,) = model.successors(s)
        if not -(2**63) <= t[0] < 2**63:
            raise OverflowError  # what storing it answers, either way
        return t[0] == True if type(t[0]) is bool else t[0]  # noqa: E712 - a bool stores as an int

    def generated() -> object:
        module = native.load_extension(SOURCE, "_store")
        assert module is not None
        store = module.make([(0, 64)] * (WIDTH + 1))
        store.add(s, -1)
        _, _, failed = store.expand_gen(
            code.capsule,
            0,
            1,
            code.fallbacks,
            model.successors,
            None,
            None,
            None,
            StepError,
            -1,
            False,
            None,  # no canonicaliser: no symmetry reduction
        )
        if failed:  # the search's slow path meets the step error
            model.successors(s)
        return store[1][0]

    assert _outcome(generated) == _outcome(python)


@needs_native
def test_generated_code_keeps_no_state_between_calls() -> None:
    # the dashboard runs searches in threads: the generated functions' lists live on the stack
    from kcheck.explore import cgen_model, cgen_module

    for name in ("replicaset", "scheduler_starvation"):
        model = compiled(name, False)
        tr = cgen_model.translate(model)
        assert tr is not None
        _, source = cgen_module.module_source(tr, model.layout.width, len(model.invariants))
        assert "static int64_t v_" not in source
        assert "int64_t v_st[" in source  # the successor's copy, a local of its function
