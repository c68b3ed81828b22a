"""Symbolic sizes (`--size NAME=LO..HI`, smt/sizes.py, spec/smt.md "Symbolic sizes"): one Z3
query covers the model at every `-D NAME=n`. Each claim is held to the explicit engine run at
every size of the range: a proof must hold there, a violation must be one there (its trace is
replayed at the reported size before it is reported), and what the explicit engine refutes at
some size is never proved."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st

from kcheck.cli.main import main
from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.result import HOLDS, INCONCLUSIVE, VIOLATED, CheckResult
from kcheck.smt.refuse import Unsupported
from kcheck.smt.sizes import SizeError, SizeRange, check_sized, parse_size

STATS: Counter[str] = Counter()


def _sized(
    text: str, sizes: list[SizeRange], engine: str = "induction", depth: int = 6
) -> CheckResult:
    checked = check_source(Source("sz.kdsl", text), {})
    return check_sized(checked.symbols, sizes, engine, None, [], depth, 6, 120.0)


def _explicit(text: str, values: dict[str, int | str]) -> CheckResult:
    checked = check_source(Source("sz.kdsl", text), values)
    return explore(compile_model(checked.symbols), properties=[])


def _entry(result: CheckResult, name: str) -> object:
    return next(p for p in result.properties if p.name == name)


GROWS = """model grows
const N = 3
kind Pod[N] {
  on: bool = false
  r: 0..N = 0
}
process p {
  action mk when count(Pod) < 4 {
    create Pod {}
  }
  action bump for x in Pod where x.r < 2 {
    x.r := x.r + 1
  }
}
invariant fits: count(Pod) <= N
invariant three: count(Pod) <= 3
"""


def test_a_violation_is_reported_for_the_smallest_size_and_replayed_there() -> None:
    result = _sized(GROWS, [SizeRange("N", 1, 10)])
    three = _entry(result, "three")
    assert three.status == VIOLATED and "N=4" in (three.reason or "")  # type: ignore[attr-defined]
    # the explicit engine agrees: holds at N = 3, fails at N = 4 with as many steps
    assert _explicit(GROWS, {"N": 3}).verdict != VIOLATED or all(
        p.status != VIOLATED for p in _explicit(GROWS, {"N": 3}).properties if p.name == "three"
    )
    at4 = _explicit(GROWS, {"N": 4})
    want = next(p for p in at4.properties if p.name == "three")
    assert want.status == VIOLATED and want.trace is not None
    assert len(want.trace.steps) == len(three.trace.steps)  # type: ignore[attr-defined]


def test_create_past_the_symbolic_size_is_a_bound_error_at_the_smallest_size() -> None:
    """`create` fails past the size, not past the largest size's slots (the hook in _create)."""
    result = _sized(GROWS, [SizeRange("N", 1, 10)])
    bound = next(p for p in result.properties if p.kind == "bound")
    assert bound.status == VIOLATED and "N=1" in (bound.reason or "")
    assert "no-free-slot" in bound.name


def test_a_range_that_names_the_size_is_checked_at_each_size() -> None:
    """`r: 0..N` at N = 1 overflows on the second bump; checked against 0..10 it would not."""
    text = GROWS.replace("when count(Pod) < 4", "when count(Pod) < 1")
    result = _sized(text, [SizeRange("N", 1, 10)])
    bound = next(p for p in result.properties if p.kind == "bound")
    assert bound.status == VIOLATED and "range" in bound.name and "N=1" in (bound.reason or "")
    fixed = _sized(text, [SizeRange("N", 2, 10)])
    assert all(p.status != VIOLATED for p in fixed.properties)
    fits = _entry(fixed, "fits")
    assert fits.status == HOLDS  # type: ignore[attr-defined]
    assert "for every N in 2..10" in (fits.reason or "")  # type: ignore[attr-defined]


def test_sizes_past_the_explicit_engines_kind_limit_are_proved() -> None:
    text = GROWS.replace("when count(Pod) < 4", "when count(Pod) < 2")
    result = _sized(text, [SizeRange("N", 2, 100)])
    fits = _entry(result, "fits")
    assert fits.status == HOLDS, fits  # type: ignore[attr-defined]
    assert "for every N in 2..100" in fits.reason  # type: ignore[attr-defined]
    assert any("sizes symbolic: N in 2..100 (Pod[N])" in n for n in result.notes)


def test_bmc_with_sizes_finds_the_smallest_failing_size() -> None:
    result = _sized(GROWS, [SizeRange("N", 1, 10)], engine="bmc", depth=5)
    assert _entry(result, "three").status == VIOLATED  # type: ignore[attr-defined]
    assert _entry(result, "fits").status == INCONCLUSIVE  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "spec", "error", "says"),
    [
        (GROWS, "N=3..1", SizeError, "empty"),
        (GROWS, "N", SizeError, "NAME=LO..HI"),
        (GROWS, "N=1..5000", SizeError, "up to 1000"),
        (GROWS, "M=1..3", SizeError, "no const `M`"),
        (
            GROWS.replace("const N = 3", "const N = 3\nconst M = 2"),
            "M=1..3",
            SizeError,
            "no kind is sized by `M`",
        ),
        (
            GROWS.replace("const N = 3", "const N = 3\nconst M = N + 1"),
            "N=1..3",
            Unsupported,
            "const `M` derived from the symbolic size `N` at line 3",
        ),
        (
            GROWS.replace("invariant fits", "var g: 0..N = 0\ninvariant fits"),
            "N=1..3",
            type(None),
            "",
        ),
        (
            GROWS.replace(
                "process p {", "fault f budget N {\n  action x when false {}\n}\nprocess p {"
            ),
            "N=1..3",
            Unsupported,
            "fault budget",
        ),
    ],
)
def test_what_cannot_follow_a_symbolic_size_is_refused_with_its_line(
    text: str, spec: str, error: type, says: str
) -> None:
    def run() -> None:
        _sized(text, [parse_size(spec)])

    if error is type(None):
        run()  # a var's range may name the size: it is checked symbolically
        return
    with pytest.raises(error, match=re.escape(says)):
        run()


def test_the_command_line_takes_size_and_refuses_it_with_the_explicit_engine(
    tmp_path: Path,
) -> None:
    path = tmp_path / "grows.kdsl"
    path.write_text(GROWS)

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, ["verify", str(path), *args])

    ok = run("--engine", "induction", "--size", "N=1..10")
    assert ok.exit_code == 1, ok.output
    assert "fails for N=4" in ok.stdout and "sizes symbolic: N in 1..10" in ok.stdout
    bad = run("--size", "N=1..10")
    assert bad.exit_code == 2 and "--size needs --engine bmc or --engine induction" in bad.output
    typo = run("--engine", "bmc", "--size", "X=1..2")
    assert typo.exit_code == 2 and "no const `X`" in typo.output
    shape = run("--engine", "bmc", "--size", "N=1-2")
    assert shape.exit_code == 2 and "expected NAME=LO..HI" in shape.output


# ---- random models at sizes 1..3, each claim held to the explicit engine at every size

GUARDS = ["count(Pod) < 3", "count(Pod) < N", "true", "not (exists q in Pod: q.on)"]
BODIES = [
    "create Pod {}", "create Pod { v: 1 }", "create Pod { r: count(Pod) }",
]  # fmt: skip
PER_POD = [
    ("x.v < 2", "x.v := x.v + 1"), ("not x.on", "x.on := true"), ("x.on", "delete x"),
    ("true", "x.r := x.r + 1"), ("x.v == 2", "x.on := false"), ("x.r > 0", "x.v := 0"),
]  # fmt: skip
INVARIANTS = [
    "count(Pod) <= N", "count(Pod) <= 2", "forall x in Pod: x.v <= 1", "forall x in Pod: x.r <= N",
    "(count x in Pod where x.on) <= 1", "forall x in Pod: x.on implies x.v >= 1",
    "forall x in Pod: x.r < N", "not (exists x in Pod: x.v == 2 and x.on)",
]  # fmt: skip


def sized_model(
    guards: list[tuple[str, str]], per_pod: list[tuple[str, str]], invs: list[str]
) -> str:
    lines = [
        "model sz", "const N = 2", "kind Pod[N] {", "  on: bool = false", "  v: 0..2 = 0",
        "  r: 0..N = 0", "}", "process p {",
        *(f"  action c{i} when {g} {{ {b} }}" for i, (g, b) in enumerate(guards)),
        *(f"  action a{i} for x in Pod where {w} {{ {b} }}" for i, (w, b) in enumerate(per_pod)),
        "}",
        *(f"invariant i{i}: {e}" for i, e in enumerate(invs)),
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


@st.composite
def sized_models(draw: st.DrawFn) -> str:
    guards = draw(st.lists(st.tuples(st.sampled_from(GUARDS), st.sampled_from(BODIES)),
                           min_size=1, max_size=2))  # fmt: skip
    per_pod = draw(st.lists(st.sampled_from(PER_POD), min_size=0, max_size=3, unique=True))
    invs = draw(st.lists(st.sampled_from(INVARIANTS), min_size=1, max_size=3, unique=True))
    return sized_model(guards, per_pod, invs)


SIZES = (1, 3)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sized_models())
@example(sized_model([("count(Pod) < N", "create Pod {}")], [("x.v < 2", "x.v := x.v + 1")],
                     ["count(Pod) <= N", "forall x in Pod: x.v <= 1"]))  # fmt: skip
@example(sized_model([("count(Pod) < 3", "create Pod { r: count(Pod) }")], [],
                     ["forall x in Pod: x.r < N", "count(Pod) <= 2"]))  # fmt: skip
def test_sized_proofs_and_refutations_agree_with_the_explicit_engine_at_every_size(
    text: str,
) -> None:
    note(text)
    lo, hi = SIZES
    result = _sized(text, [SizeRange("N", lo, hi)])
    explicit = {n: _explicit(text, {"N": n}) for n in range(lo, hi + 1)}
    for entry in result.properties:
        if entry.kind != "invariant":
            continue
        at = {n: next(p for p in r.properties if p.name == entry.name) for n, r in explicit.items()}
        refuted = [n for n, p in at.items() if p.status == VIOLATED]
        STATS[entry.status] += 1
        if entry.status == HOLDS:
            # proved with no step leaving the bounds: every explicit search is complete and holds
            assert all(p.status == HOLDS for p in at.values()), (entry, at)
        if entry.proof is not None:  # proved, at least for the states within bounds
            assert not refuted, (entry, refuted)
        if entry.status == VIOLATED:
            m = re.search(r"fails for N=(\d+)", entry.reason or "")
            assert m is not None, entry.reason
            n = int(m.group(1))
            assert at[n].status == VIOLATED, (entry, at[n])
            assert entry.trace is not None and at[n].trace is not None
            assert len(entry.trace.steps) >= len(at[n].trace.steps)
    bound = [p for p in result.properties if p.kind == "bound" and p.status == VIOLATED]
    for entry in bound:
        m = re.search(r"fails for N=(\d+)", entry.reason or "")
        assert m is not None and entry.trace is not None  # replayed at that size
        there = explicit[int(m.group(1))]
        # the explicit search stops once every invariant is violated; a complete one saw it
        if there.complete or any(p.status != VIOLATED for p in there.properties):
            assert any(p.kind == "bound" for p in there.properties), there.properties
