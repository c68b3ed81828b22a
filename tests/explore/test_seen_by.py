"""`seen_by(X, e)` (spec/faults.md, "What a cache holds: `seen_by`"): an invariant, lemma or
property reads e as controller X reads it, each kind X caches through X's cache. The checker
locates every misuse; the explicit engine (symmetry on and off), the reference interpreter and
BMC give the same verdicts at the same depths, on hand-written invariants and on generated
ones; k-induction never proves one that is violated; `kcheck infer` proves the expectations
model with lemmas that read the cache and none written by hand."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.result import HOLDS, VIOLATED
from kcheck.smt.bmc import bmc
from kcheck.smt.induction import induction
from tests.lang.test_checker import found, model, only
from tests.reference import enumerate_reachable

ROOT = Path(__file__).resolve().parents[2]

# rc's cache lags: it creates before seeing its last pod only with `seen_own_writes`, and it
# deletes what its cache shows failed, which the cache goes on holding until it syncs
CACHED = """model cached
enum Phase {{ Pending, Running, Failed }}
kind Pod[3] {{ phase: Phase = Pending }}
controller rc watches Pod stale {{
  action make when seen_own_writes(Pod) and count(Pod) < 2 {{ create Pod {{ }} }}
  action clean for p in Pod where p.phase == Failed {{ delete p }}
}}
process kubelet {{
  action start for p in Pod where p.phase == Pending {{ p.phase := Running }}
}}
fault crash budget 1 {{
  action crash for p in Pod where p.phase == Running {{ p.phase := Failed }}
}}
{invariants}
"""

CACHED_IN = "seen_by(rc, exists q in Pod: q == p)"
# name -> (text, verdict, counterexample length)
HAND = {
    "cache_within_bounds": ("seen_by(rc, count(Pod)) <= 2", HOLDS, None),
    "cached_failure_is_real": (
        f"forall p in Pod: {CACHED_IN} and seen_by(rc, p.phase == Failed) implies p.phase == Failed",
        HOLDS,
        None,
    ),
    # make: the new pod is not in the cache yet
    "cache_never_lags": ("seen_by(rc, count(Pod)) == count(Pod)", VIOLATED, 1),
    # make, sync, start: the cache still shows Pending
    "cached_phase_is_current": (
        f"forall p in Pod: {CACHED_IN} implies seen_by(rc, p.phase) == p.phase",
        VIOLATED,
        3,
    ),
    # make: reading the new pod's cached phase fails (`uncached`): violated, not false
    "reads_an_uncached_pod": ("forall p in Pod: seen_by(rc, p.phase) != Failed", VIOLATED, 1),
    # make, start, crash, sync, clean: the cache still holds the deleted pod
    "cache_holds_no_deleted_pod": ("seen_by(rc, count(Pod)) <= count(Pod)", VIOLATED, 5),
}


def _text(invariants: dict[str, str]) -> str:
    lines = "\n".join(f"invariant {n}: {e}" for n, e in invariants.items())
    return CACHED.format(invariants=lines)


def _explicit(text: str, symmetry: bool) -> dict[str, tuple[str, int | None]]:
    m = compile_model(check_source(Source("m.kdsl", text)).symbols, symmetry=symmetry)
    out = {}
    for p in explore(m, symmetry=symmetry).properties:
        if p.kind == "invariant":
            out[p.name] = (p.status, None if p.trace is None else len(p.trace))
    return out


def _reference(text: str) -> dict[str, int]:
    """The depth of each invariant's first violation, by the AST interpreter."""
    checked = check_source(Source("m.kdsl", text))
    layout = compile_model(checked.symbols, symmetry=False).layout
    ref = enumerate_reachable(checked.symbols, layout)
    assert not ref.truncated
    return dict(ref.violated)


def _bmc(text: str, depth: int) -> dict[str, tuple[str, int | None]]:
    checked = check_source(Source("m.kdsl", text))
    result = bmc(compile_model(checked.symbols), checked.symbols, depth, None, 120)
    return {
        p.name: (p.status, None if p.trace is None else len(p.trace))
        for p in result.properties
        if p.kind == "invariant"
    }


def test_every_engine_reads_the_cache_as_the_controller_does() -> None:
    text = _text({n: e for n, (e, _, _) in HAND.items()})
    want = {n: (v, k) for n, (_, v, k) in HAND.items()}
    assert _explicit(text, symmetry=False) == want
    assert _explicit(text, symmetry=True) == want
    assert _reference(text) == {n: k for n, (v, k) in want.items() if v == VIOLATED}
    got = _bmc(text, 7)
    for n, (v, k) in want.items():
        assert got[n] == ((VIOLATED, k) if v == VIOLATED else (got[n][0], None)), n
        assert got[n][0] != HOLDS or v == HOLDS  # BMC to a depth never claims more
    checked = check_source(Source("m.kdsl", text))
    proved = induction(compile_model(checked.symbols), checked.symbols, 3)
    for p in proved.properties:
        if p.kind == "invariant" and p.status == HOLDS:
            assert want[p.name][0] == HOLDS, p.name


def test_an_uncached_read_says_so() -> None:
    text = _text({"reads_an_uncached_pod": HAND["reads_an_uncached_pod"][0]})
    m = compile_model(check_source(Source("m.kdsl", text)).symbols)
    (p,) = [p for p in explore(m).properties if p.kind == "invariant"]
    assert p.status == VIOLATED and "not in rc's cache of Pod" in (p.reason or "")


# generated invariants over the same model: a comparison of two terms, each read as rc sees
# it or as the apiserver has it, under a quantifier over the real pods or none
_TERMS = ("count(Pod)", "(count q in Pod where q.phase == {m})", "(if {c} then 1 else 0)")
_MEMBERS = ("Pending", "Running", "Failed")


@st.composite
def _invariant(draw: st.DrawFn) -> str:
    def term() -> str:
        t = draw(st.sampled_from(_TERMS))
        t = t.format(
            m=draw(st.sampled_from(_MEMBERS)), c=f"p.phase == {draw(st.sampled_from(_MEMBERS))}"
        )
        return f"seen_by(rc, {t})" if draw(st.booleans()) else t

    op = draw(st.sampled_from(("<=", "==", ">=", "<")))
    body = f"{term()} {op} {term()}"
    if "p.phase" not in body:
        return body
    guard = draw(st.sampled_from(("", f"{CACHED_IN} implies ")))
    return f"forall p in Pod: {guard}{body}"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_invariant(), min_size=1, max_size=3))
def test_generated_invariants_agree_across_engines(bodies: list[str]) -> None:
    text = _text({f"i{k}": b for k, b in enumerate(bodies)})
    note(text)
    explicit = _explicit(text, symmetry=False)
    assert _explicit(text, symmetry=True) == explicit
    assert _reference(text) == {n: k for n, (v, k) in explicit.items() if v == VIOLATED}
    got = _bmc(text, 4)
    for n, (v, k) in explicit.items():
        if v == VIOLATED and k is not None and k <= 4:
            assert got[n] == (VIOLATED, k), n
        else:
            assert got[n][0] != VIOLATED, n


def test_misuses_are_located() -> None:
    pods = ("kind Pod[2] { ready: bool }", "controller rc watches Pod stale { action a { } }")
    c = only(model(*pods, "process k { action b when seen_by(rc, count(Pod)) > 0 { } }"))
    assert (c.code, c.span.line, c.span.col) == ("KC0502", 4, 27)
    assert "only allowed in an invariant, lemma or property" in c.message
    c = only(model(*pods, "invariant i: seen_by(rcc, count(Pod)) >= 0"))
    assert c.help == "did you mean `rc`?"
    c = only(model(*pods, "def d(): int = seen_by(rc, count(Pod))"))
    assert c.code == "KC0502" and "a def" in c.message
    c = only(model(*pods, "invariant i: seen_by(rx, count(Pod)) >= 0"))
    assert (c.code, c.span.line, c.span.col) == (
        "KC0201",
        4,
        22,
    ) and c.help == "the controllers with a cache: `rc`"
    c = only(model(*pods, "controller live watches Pod { action b { } }",
                   "invariant i: seen_by(live, count(Pod)) >= 0"))  # fmt: skip
    assert c.code == "KC0206" and "has no cache" in c.message
    c = only(model(*pods, "process k { action b { } }", "invariant i: seen_by(k, count(Pod)) >= 0"))
    assert c.code == "KC0206" and "not a controller" in c.message
    c = only(model(*pods, "invariant i: seen_by(rc) >= 0"))
    assert c.code == "KC0302" and "a controller and an expression" in c.message
    c = only(model(*pods, "invariant i: seen_by(rc, seen_by(rc, count(Pod))) >= 0"))
    assert c.code == "KC0502" and "inside `seen_by(rc, ...)`" in c.message
    # its type is its expression's
    assert found(model(*pods, "invariant i: seen_by(rc, count(Pod)) and true")) == [
        ("KC0301", 4, 14)
    ]


def test_infer_proves_the_expectations_model_through_the_cache() -> None:
    """replicaset_expectations' invariant and bound hold only because of what the cache holds
    (every pod created and not seen yet is expected); `kcheck infer` finds those lemmas."""
    from kcheck.engines.infer import infer

    path = ROOT / "models" / "replicaset_expectations.kdsl"
    text = path.read_text()
    assert "lemma" not in text.replace("// ", "")
    got = infer(Source(str(path), text), method="houdini", timeout_s=600)
    by_name = {p.name: p.status for p in got.result.properties}
    assert by_name["never_too_many_live"] == HOLDS
    assert got.verdict == HOLDS  # every lemma, and no step leaves the bounds (no bound entry)
    assert any("seen_by(replicaset, " in lemma for lemma in got.lemmas)


def test_no_mutant_of_the_expectations_model_is_proved_through_the_cache() -> None:
    """The cache lemmas are candidates like any other: on mutants of replicaset_expectations
    that the explicit search refutes (a dropped guard, a flipped comparison), `--infer` with
    them never proves a refuted invariant, and BMC finds each violation."""
    from tests.smt.mutation import MODELS, Budget, compare, mutants

    budget = Budget(max_states=50_000, explicit_s=10, z3_s=30, max_k=2, max_depth=8,
                    infer=True, z3_on_unrefuted=False)  # fmt: skip
    # the edits of scale_up's guard (line 43) and of gc's (62): most break the invariant
    pool = mutants(MODELS / "replicaset_expectations.kdsl")
    done = [compare(m, budget) for m in pool if m.line in (43, 62) and m.op != "const"]
    assert not [w for c in done for w in c.wrong]
    assert not [c.crash for c in done if c.crash]
    refuted = [c for c in done if c.violated and not c.refused]
    assert len(refuted) >= 4 and all(c.infer_tried for c in refuted)


def test_kcheck_run_checks_seen_by_on_what_happens() -> None:
    """`kcheck run` (on its simulated driver) checks invariants that read a cache as the
    engines do: the lagging cache is seen (violated), the past-state fact holds."""
    from kcheck.run.interpreter import Interpreter, RunConfig
    from kcheck.run.sim import SimDriver

    text = _text(
        {
            "cache_never_lags": HAND["cache_never_lags"][0],
            "cached_failure_is_real": HAND["cached_failure_is_real"][0],
        }
    )
    m = compile_model(check_source(Source("m.kdsl", text)).symbols)
    seen: set[str] = set()
    for seed in range(4):
        config = RunConfig(seed=seed, faults=True, settle=1.0, timeout=30.0)
        outcome = Interpreter(m, SimDriver(), config, lambda e: None).run()
        seen |= {p.name for p in outcome.result.properties if p.status == VIOLATED}
    assert seen == {"cache_never_lags"}
