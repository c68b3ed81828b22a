"""The temporal properties' state formulas in C (cgen_model.py translates them like the
invariants; store_gen.c's `predicates` runs them on every stored state) against their Python
predicates, the reference: C answers each state exactly or "ask Python" (wherever Python would
raise, among others), and explore gives the same verdicts, reasons and lassos with the C
formulas as without them, on every model in models/ with temporal properties and on generated
ones."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from kcheck.explore import bfs, property_verdicts
from kcheck.explore import store as store_module
from kcheck.explore.bfs import Limits, explore
from kcheck.explore.liveness import Graph
from kcheck.explore.property_verdicts import _numbers, _truth
from kcheck.explore.store import SOURCE, GeneratedCode, NativeStore, generated_code
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model import native
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel, State, StepError
from kcheck.result import CheckResult
from tests.explore.modelgen import models
from tests.explore.native_search import MODELS, compiled, needs_native, summary
from tests.explore.test_liveness import with_properties

TEMPORAL = [m for m in MODELS if "leads_to" in m.read_text() or "eventually" in m.read_text()]
CAP = 20_000  # states per search: enough for most models' whole graph


@pytest.fixture(autouse=True)
def generated_from_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    # the search builds the model's C however small it is, so the formulas can run in C
    monkeypatch.setattr(bfs, "GEN_AFTER", 0)


def _explore(
    model: CompiledModel, monkeypatch: pytest.MonkeyPatch, **kw: Any
) -> tuple[CheckResult, list[tuple[Graph, GeneratedCode | None]], int]:
    """explore's answer, the graphs (and generated code) it handed the property check, and how
    many formulas it evaluated in C."""
    seen: list[tuple[Graph, GeneratedCode | None]] = []
    in_c = [0]
    original = property_verdicts.guarded_property_result
    predicates = NativeStore.predicates

    def capture(*args: Any) -> Any:
        if args[2] is not None and not any(g is args[2] for g, _ in seen):
            seen.append((args[2], args[8] if len(args) > 8 else None))
        return original(*args)

    def counted(self: NativeStore, code: GeneratedCode, ks: list[int], n: int) -> list[bytes]:
        in_c[0] += len(ks)
        return predicates(self, code, ks, n)

    with monkeypatch.context() as patch:
        patch.setattr(bfs, "guarded_property_result", capture)
        patch.setattr(NativeStore, "predicates", counted)
        result = explore(model, **kw)
    return result, seen, in_c[0]


def _python(p: Callable[[State], bool], s: State) -> int | None:
    try:
        return int(bool(p(s)))
    except StepError:
        return None


def _same_values(model: CompiledModel, graph: Graph, gen: GeneratedCode | None) -> int:
    """Every translated formula's C answer on every state is Python's value, or 2 ("ask
    Python"), and always 2 where Python raises; `_truth` answers the same (values, or the first
    failing state and why) with the C formulas as without. The formulas checked in C."""
    states = graph.states
    checked = 0
    for prop in model.properties:
        for _, preds in prop.instances:
            numbers = _numbers(model, gen, preds)
            assert _truth(preds, states, numbers) == _truth(preds, states)
            if gen is None or not isinstance(states, NativeStore):
                continue
            for p in preds:
                k = gen.predicates[p.__name__]
                if k not in gen.predicates_done:
                    continue
                (col,) = states.predicates(gen, [k], len(states))
                assert len(col) == len(states)
                for i, s in enumerate(states):
                    assert col[i] == 2 or col[i] == _python(p, s), (p.__name__, i, s)
                checked += 1
    return checked


@needs_native
@pytest.mark.parametrize("path", TEMPORAL, ids=lambda p: p.stem)
def test_formulas_in_c_answer_as_python_does(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = compiled(path.stem)
    if not model.properties:
        pytest.skip("no temporal property")
    # without symmetry: the search builds the model's C wherever it translates
    _, graphs, _ = _explore(model, monkeypatch, symmetry=False, limits=Limits(max_states=CAP))
    (graph, gen) = graphs[0]
    assert (gen is not None) == (generated_code(model) is not None and len(model.actions) <= 64)
    _same_values(model, graph, gen)


@needs_native
@pytest.mark.parametrize("path", TEMPORAL, ids=lambda p: p.stem)
def test_explore_answers_the_same_with_the_formulas_in_c(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = compiled(path.stem)
    if not model.properties:
        pytest.skip("no temporal property")
    limits = Limits(max_states=CAP)
    fast, _, _ = _explore(model, monkeypatch, limits=limits)
    monkeypatch.setattr(property_verdicts, "_numbers", lambda *a: None)
    slow, _, in_c = _explore(model, monkeypatch, limits=limits)
    assert in_c == 0
    assert summary(fast) == summary(slow)


@needs_native
def test_the_reference_models_formulas_run_in_c(monkeypatch: pytest.MonkeyPatch) -> None:
    # the benchmark's property and most models' formulas translate; a complete search hands
    # them to C
    model = compiled("replicaset")
    code = generated_code(model)
    assert code is not None
    assert code.predicates_done == frozenset(code.predicates.values()) != frozenset()
    result, graphs, in_c = _explore(model, monkeypatch)
    assert result.complete and graphs and in_c > 0
    done = total = 0
    for path in TEMPORAL:
        code = generated_code(compiled(path.stem))
        if code is not None:
            done, total = done + len(code.predicates_done), total + len(code.predicates)
    assert done * 4 > total * 3, (done, total)


DIVIDES = """model divides
var x: 0..1 = 0
var y: 0..3 = 0
controller c { action a when x == 0 { x := 1 } action b when y < 3 { y := y + 1 } }
property p: eventually always (1 / x) == 1 or y > 5
property q: always eventually y == 3
"""
DEREFS = """model derefs
kind Node[2] {
  next: Node? = none
  v: 0..2 = 0
}
var head: Node? = none
init { let a = create Node { } let b = create Node { } a.next := b }
controller c {
  action bump for n in Node when n.v < 2 { n.v := n.v + 1 }
  action cut for n in Node when n.next != none and n.v == 2 { n.next := none }
}
controller h { action point for n in Node when head == none and n.v == 2 { head := n } }
property p: eventually always (head.v >= 0 or count(Node) > 5)
"""


@needs_native
@pytest.mark.parametrize(
    ("text", "why"),
    [(DIVIDES, "division by zero"), (DEREFS, "`head` is none")],
    ids=["div", "none"],
)
def test_a_formula_c_cannot_evaluate_is_violated_where_python_fails(
    monkeypatch: pytest.MonkeyPatch, text: str, why: str
) -> None:
    # 1 / x with x == 0, head.v with head none: C answers "ask Python" exactly where Python
    # raises, and the verdict is the reference one (the first failing state, the error named)
    model = compile_model(check_source(Source("t.kdsl", text)).symbols)
    fast, graphs, in_c = _explore(model, monkeypatch)
    assert in_c > 0
    (graph, gen), *_ = graphs
    assert _same_values(model, graph, gen) == len(model.properties)
    assert gen is not None
    (p,) = model.properties[0].instances[0][1]
    (col,) = graph.states.predicates(gen, [gen.predicates[p.__name__]], len(graph.states))  # type: ignore[attr-defined]
    assert (
        [i for i, v in enumerate(col) if v == 2]
        == [i for i, s in enumerate(graph.states) if _python(p, s) is None]
        != []
    )
    monkeypatch.setattr(property_verdicts, "_numbers", lambda *a: None)
    slow, _, _ = _explore(model, monkeypatch)
    assert summary(fast) == summary(slow)
    assert fast.properties[0].status == "violated"
    reason = fast.properties[0].reason
    assert reason is not None and why in reason


@needs_native
@pytest.mark.parametrize("name", ["replicaset", "hpa_no_stabilization", "scheduler"])
def test_formulas_in_c_on_a_widened_store(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    # every position starts 1 bit wide: values past it widen the layout and re-pack every key,
    # and the formulas read the keys as they are now
    plan = store_module.pack_plan
    monkeypatch.setattr(
        store_module, "pack_plan", lambda *a: [(lo, min(bits, 1)) for lo, bits in plan(*a)]
    )
    model = compiled(name)
    if not model.properties:
        pytest.skip("no temporal property")
    _, graphs, _ = _explore(model, monkeypatch, limits=Limits(max_states=CAP))
    checked = 0
    for graph, gen in graphs:
        assert isinstance(graph.states, NativeStore)
        assert graph.states.raw.widened() > 0  # type: ignore[attr-defined]
        checked += _same_values(model, graph, gen)
    assert checked > 0


@needs_native
def test_the_store_refuses_what_it_cannot_answer() -> None:
    model = compiled("replicaset")
    code = generated_code(model)
    assert code is not None
    module = native.load_extension(SOURCE, "_store")
    assert module is not None
    store = module.make([(0, 64)] * model.layout.width)
    store.add(model.initial()[0], -1)
    assert store.predicates(code.capsule, [], 1) == []
    (col,) = store.predicates(code.capsule, [0], 1)
    assert col == bytes([int(bool(model.properties[0].instances[0][1][0](store[0])))])
    assert store.predicates(code.capsule, [0], 0) == [b""]
    with pytest.raises(ValueError):
        store.predicates(code.capsule, [len(code.predicates)], 1)
    with pytest.raises(IndexError):
        store.predicates(code.capsule, [0], 2)
    with pytest.raises(ValueError):
        module.make([(0, 64)] * (model.layout.width + 1)).predicates(code.capsule, [0], 0)


@needs_native
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["plain", "failing", "controller state"]).flatmap(
        lambda how: models(failing=how == "failing", controller_state=how == "controller state")
    ),
    st.booleans(),
)
def test_formulas_in_c_agree_on_generated_models(text: str, symmetry: bool) -> None:
    # failing models: formulas that cannot be evaluated in some states (read through `none`)
    text = with_properties(text)
    note(text)
    model = compile_model(check_source(Source("gen.kdsl", text)).symbols, symmetry=symmetry)
    with pytest.MonkeyPatch.context() as patch:
        fast, graphs, _ = _explore(model, patch, symmetry=symmetry)
        for graph, gen in graphs:
            _same_values(model, graph, gen)
        patch.setattr(property_verdicts, "_numbers", lambda *a: None)
        slow, _, in_c = _explore(model, patch, symmetry=symmetry)
    assert in_c == 0
    assert summary(fast) == summary(slow)
