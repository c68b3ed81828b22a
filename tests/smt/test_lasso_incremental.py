"""The fair-lasso search's loop encoding (smt/lasso.py `_Lassos`: Booleans per state, defined
once and shared by every depth and property) against the formula spec/smt.md states, built
afresh per depth with an integer loop start: at every depth, for every property, both are
satisfiable together or not at all. And the search that asks each stage's disjunction first
answers every property at the same depth, with the same kind of lasso, as one query per
property and stage."""

from __future__ import annotations

from typing import Any

import pytest
import z3

from kcheck.model.compile import compile_model
from kcheck.smt import lasso
from kcheck.smt.encode import Encoder
from kcheck.smt.solver import Deadline, Unrolled
from kcheck.smt.system import Unrolling
from kcheck.smt.temporal import Fairness, PropertyTerms, enabled, property_terms, selected, taken
from kcheck.smt.terms import Term, _and, _or
from tests.smt.test_lasso import PODS, SPIN, STOPS, TOGGLE, _load

MODELS = (
    [SPIN.replace("{FAIRNESS}", f) for f in ("", "unfair ", "strong ")]
    + [TOGGLE.replace("{FAIRNESS}", f) for f in ("", "strong ")]
    + [STOPS, PODS]
)


def reference_loop(model: Any, u: Unrolling, k: int, start: Term) -> Term:
    """spec/smt.md, "BMC: fair lassos": s_k equals s_start (start < k), no step fails on the
    loop, each weakly fair action taken or disabled on it, each strongly fair one taken on it
    or disabled in all its states."""
    fair = Fairness.of(model)
    s = u.state
    en = lambda i, a: enabled(u.instances(i), a)  # noqa: E731
    took = lambda i, a: taken(u.instances(i), s(i + 1), a)  # noqa: E731
    parts = [start >= 0, start < k]
    parts += [z3.Implies(start == j, lasso._same(s(j), s(k))) for j in range(k)]
    parts += [z3.Implies(start <= i, z3.Not(u.fail(i))) for i in range(k)]
    for a in fair.weak:
        parts.append(_or([_and(start <= i, _or([took(i, a), z3.Not(en(i, a))])) for i in range(k)]))
    for a in fair.strong:
        on = _or([_and(start <= i, took(i, a)) for i in range(k)])
        off = _and(*[z3.Implies(start <= i, z3.Not(en(i, a))) for i in range(k)])
        parts.append(_or([on, off]))
    return _and(*parts)


def _setup(text: str) -> tuple[Any, Unrolling, Unrolled, list[PropertyTerms]]:
    sym = _load(text)
    model = compile_model(sym, symmetry=False)
    enc = Encoder(model, sym)
    terms = [t for p in selected(model, None, None) if (t := property_terms(enc, sym, p))]
    u = Unrolling(enc, "t")
    solver = Unrolled(bitvec=False)
    solver.add(_or([lasso._same(u.state(0), s) for s in model.initial()]))
    return model, u, solver, terms


@pytest.mark.parametrize("n", range(len(MODELS)))
def test_the_shared_loop_booleans_give_the_reference_answer_at_every_depth(n: int) -> None:
    model, u, solver, terms = _setup(MODELS[n])
    lassos = lasso._Lassos(model, u, solver)
    deadline = Deadline(60)
    for k in range(1, 7):
        solver.add(u.step(k - 1))
        for t in terms:
            if t.shape == "always":
                continue
            new, m = solver.ask(_and(lassos.close(k), lassos.broken(t, k)), deadline)
            start = z3.Int(f"_ref_{t.info.name}_{k}")
            goal = _and(reference_loop(model, u, k, start), lasso.broken(t, u, k, start))
            ref, _ = solver.ask(goal, deadline)
            assert new == ref, (t.info.name, k, new, ref)
            if new == "sat":  # the loop start read from the Booleans closes the loop
                states = lasso._states(solver, u, m, k)
                assert states[lasso_start(lassos, m, k)] == states[k]


def lasso_start(lassos: Any, m: Any, k: int) -> int:
    return int(lassos.loop_start(m, k))


def _one_by_one(text: str, depth: int) -> dict[str, tuple[int, str]]:
    """Per property, the first (depth, stage) with a satisfiable goal, asking one goal at a
    time in the order of STAGES: the reference for the disjunctions asked first."""
    model, u, solver, terms = _setup(text)
    lassos = lasso._Lassos(model, u, solver)
    found: dict[str, tuple[int, str]] = {}
    for k in range(depth + 1):
        if k:
            solver.add(u.step(k - 1))
        for t in terms:
            if t.info.name in found:
                continue
            for stage in lasso.STAGES:
                goal = lasso._goal(stage, lassos, t, k)
                if not z3.is_false(goal) and solver.ask(goal, Deadline(60))[0] == "sat":
                    found[t.info.name] = (k, stage)
                    break
    return found


def _kind(entry: Any) -> str:
    trace = entry.trace
    if entry.reason and "cannot be evaluated" in entry.reason:
        return "error"
    if trace.loop_start is None or trace.loop_start == len(trace.steps) - 1:
        return "state"
    return "loop"


@pytest.mark.parametrize("n", range(len(MODELS)))
def test_asking_each_stage_s_disjunction_first_answers_as_one_goal_at_a_time(n: int) -> None:
    text = MODELS[n]
    sym = _load(text)
    model = compile_model(sym, symmetry=False)
    got = lasso.temporal_bmc(model, sym, 6, None, None, Deadline(60))
    ref = _one_by_one(text, 6)
    for entry in got:
        if entry.name not in ref:
            assert entry.trace is None, entry
            continue
        k, stage = ref[entry.name]
        assert entry.trace is not None, (entry.name, ref[entry.name])
        assert (len(entry.trace.steps) - 1, _kind(entry)) == (k, stage), entry.name
