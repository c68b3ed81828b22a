"""Records and arrays (issue 19 point 4) in every engine. Generated models whose pods hold an
array of container records, read and written by constant and variable indexes and by part
binders in every binding form, are compared with the same model written by hand with one flat
field per container field: the same states (with and without symmetry), transitions and
verdicts. The record models also agree between the explicit engine and the reference
interpreter, between BMC and the explicit engine, and `kcheck run` reports only what the
explorer reaches."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.result import VIOLATED
from kcheck.run.interpreter import Interpreter, RunConfig
from kcheck.run.sim import SimDriver
from tests.engine_agreement import assert_engines_agree
from tests.explore.test_dangling import _by_name
from tests.explore.test_reference_agreement import assert_replays


def _ks(n: int) -> range:
    return range(n)


# Each fragment: the record form, and the hand-flattened form for n containers.
ACTIONS: dict[str, tuple[str, Callable[[int], str]]] = {
    "start": (
        "action start for p in Pod, c in p.cs where not c.ready { c.ready := true }",
        lambda n: " ".join(
            f"action start{k} for p in Pod where not p.c{k}_ready {{ p.c{k}_ready := true }}"
            for k in _ks(n)
        ),
    ),
    "start_idx": (
        "action start_i for p in Pod, i in 0..{last} where not p.cs[i].ready "
        "{{ p.cs[i].ready := true }}",
        lambda n: " ".join(
            f"action start_i{k} for p in Pod where not p.c{k}_ready {{ p.c{k}_ready := true }}"
            for k in _ks(n)
        ),
    ),
    "crash": (
        "action crash for p in Pod, i in 0..{last} where p.cs[i].ready {{ p.cs[i].ready := false "
        " p.cs[i].restarts := p.cs[i].restarts + 1 }}",
        lambda n: " ".join(
            f"action crash{k} for p in Pod where p.c{k}_ready {{ p.c{k}_ready := false "
            f" p.c{k}_restarts := p.c{k}_restarts + 1 }}"
            for k in _ks(n)
        ),
    ),
    "crash_first": (
        "action crash_first for p in Pod where p.cs[0].ready { p.cs[0].ready := false "
        " p.cs[0].restarts := p.cs[0].restarts + 1 }",
        lambda n: (
            "action crash_first for p in Pod where p.c0_ready { p.c0_ready := false "
            " p.c0_restarts := p.c0_restarts + 1 }"
        ),
    ),
    "gate": (
        "action gate for p in Pod where not p.up and (forall c in p.cs: c.ready) { p.up := true }",
        lambda n: (
            "action gate for p in Pod where not p.up and "
            + " and ".join(f"p.c{k}_ready" for k in _ks(n))
            + " { p.up := true }"
        ),
    ),
    "down": (
        "action down for p in Pod where p.up and (exists c in p.cs: not c.ready) { p.up := false }",
        lambda n: (
            "action down for p in Pod where p.up and ("
            + " or ".join(f"not p.c{k}_ready" for k in _ks(n))
            + ") { p.up := false }"
        ),
    ),
    "reset": (
        "action reset for p in Pod where p.up { for c in p.cs { c.ready := false } "
        " p.up := false }",
        lambda n: (
            "action reset for p in Pod where p.up { "
            + " ".join(f"p.c{k}_ready := false" for k in _ks(n))
            + " p.up := false }"
        ),
    ),
    "pick": (
        "action pick for p in Pod { choose c in p.cs where c.restarts == 0 { c.restarts := 1 } }",
        lambda n: " ".join(
            f"action pick{k} for p in Pod where p.c{k}_restarts == 0 {{ p.c{k}_restarts := 1 }}"
            for k in _ks(n)
        ),
    ),
    "gc": (
        "action gc for p in Pod where (sum c.restarts for c in p.cs) >= 2 { delete p }",
        lambda n: (
            "action gc for p in Pod where "
            + " + ".join(f"p.c{k}_restarts" for k in _ks(n))
            + " >= 2 { delete p }"
        ),
    ),
}

INVARIANTS: list[tuple[str, Callable[[int], str]]] = [
    (
        "forall p in Pod: p.up implies (forall c in p.cs: c.ready)",
        lambda n: (
            "forall p in Pod: p.up implies (" + " and ".join(f"p.c{k}_ready" for k in _ks(n)) + ")"
        ),
    ),
    ("(count p in Pod where p.up) <= 1", lambda n: "(count p in Pod where p.up) <= 1"),
    (
        "forall p in Pod: (count c in p.cs where c.ready) <= {last}",
        lambda n: (
            "forall p in Pod: "
            + " + ".join(f"(if p.c{k}_ready then 1 else 0)" for k in _ks(n))
            + f" <= {n - 1}"
        ),
    ),
    (
        "forall p in Pod: (max c.restarts for c in p.cs) <= 1",
        lambda n: "forall p in Pod: " + " and ".join(f"p.c{k}_restarts <= 1" for k in _ks(n)),
    ),
]


def _fmt(text: str, n: int) -> str:
    return (
        text.format(last=n - 1) if "{last}" in text else text.replace("{{", "{").replace("}}", "}")
    )


def models(n: int, slots: int, restarts: int, actions: list[str], inv: int) -> tuple[str, str]:
    """The record model and its hand-flattened twin."""
    rec_actions = " ".join(_fmt(ACTIONS[a][0], n) for a in actions)
    flat_actions = " ".join(ACTIONS[a][1](n) for a in actions)
    rec_inv = _fmt(INVARIANTS[inv][0], n)
    flat_inv = INVARIANTS[inv][1](n)
    more = f"action more when count(Pod) < {slots} {{ create Pod {{}} }}"
    record = (
        f"model parts\nrecord C {{ ready: bool  restarts: 0..{restarts} }}\n"
        f"kind Pod[{slots}] {{ up: bool  cs: C[{n}] }}\ninit {{ create Pod {{}} }}\n"
        f"process kubelet {{ {rec_actions} {more} }}\ninvariant inv: {rec_inv}\n"
    )
    flat_fields = " ".join(f"c{k}_ready: bool  c{k}_restarts: 0..{restarts}" for k in _ks(n))
    flat = (
        f"model parts\nkind Pod[{slots}] {{ up: bool  {flat_fields} }}\n"
        f"init {{ create Pod {{}} }}\n"
        f"process kubelet {{ {flat_actions} {more} }}\ninvariant inv: {flat_inv}\n"
    )
    return record, flat


@st.composite
def model_pairs(draw: st.DrawFn) -> tuple[str, str]:
    return models(
        n=draw(st.integers(1, 3)),
        slots=draw(st.integers(1, 2)),
        restarts=draw(st.integers(1, 2)),
        actions=draw(
            st.lists(st.sampled_from(sorted(ACTIONS)), min_size=1, max_size=4, unique=True)
        ),
        inv=draw(st.integers(0, len(INVARIANTS) - 1)),
    )


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _summary(text: str, symmetry: bool) -> tuple[int, int, dict[str, tuple[str, int | None]]]:
    model = compile_model(check_source(Source("m.kdsl", text)).symbols, symmetry=symmetry)
    result = explore(model, symmetry=symmetry)
    verdicts = {k: v[:2] for k, v in _by_name(result).items() if not k.startswith("bound")}
    return result.stats.states, result.stats.transitions, verdicts


@SETTINGS
@given(model_pairs())
def test_records_mean_what_the_same_model_with_flat_fields_means(pair: tuple[str, str]) -> None:
    record, flat = pair
    note(record)
    note(flat)
    assert _summary(record, False) == _summary(flat, False)
    # with symmetry the explorer may skip instances symmetric to one it ran (an action bound
    # to a pod alone, not one bound to a pod and a part), so only the transitions may differ
    on_record, on_flat = _summary(record, True), _summary(flat, True)
    assert (on_record[0], on_record[2]) == (on_flat[0], on_flat[2])


@SETTINGS
@given(model_pairs())
def test_record_models_agree_with_the_reference_and_bmc(pair: tuple[str, str]) -> None:
    record, _ = pair
    note(record)
    assert_engines_agree(record, filename="parts.kdsl", bmc_depth=4)


def test_symmetry_permutes_a_pods_containers_with_it() -> None:
    """Two pods, one with its first container ready and one with its second: swapping the
    pods is a symmetry (one representative), swapping a pod's containers is not."""
    record, _ = models(2, 2, 1, ["start"], 1)
    on = _summary(record, True)
    off = _summary(record, False)
    # per pod 4 readiness combinations; two pods created in order: 1 + 4 (one pod) and then
    # pairs: ordered 4 * 4 = 16 without symmetry, unordered 4 * 5 / 2 = 10 with it
    assert off[0] == 4 + 16 and on[0] == 4 + 10


def test_kcheck_run_reports_only_reachable_violations_of_parts() -> None:
    record, _ = models(2, 1, 1, ["start", "crash", "gate"], 0)
    model = compile_model(check_source(Source("parts.kdsl", record)).symbols)
    # the invariant's violation, and (searching without it, which stops there) the bound hit
    results = [explore(model), explore(model, invariants=[], properties=[])]
    reachable = {p.name for r in results for p in r.properties if p.status == VIOLATED}
    assert reachable == {"inv", "bound: range in kubelet.crash"}
    found: set[str] = set()
    for seed in range(4):
        config = RunConfig(seed=seed, faults=True, settle=1.0, timeout=30.0)
        outcome = Interpreter(model, SimDriver(), config, lambda e: None).run()
        for p in outcome.result.properties:
            if p.status == VIOLATED:
                assert p.name in reachable
                assert p.trace is not None
                assert_replays(model, p.trace)
                found.add(p.name)
    assert found
