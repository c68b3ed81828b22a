"""Issue 12 point 8: a model `kcheck check` accepts never crashes an engine. Long operator chains
compile flat (Python's parser stops at 200 nested parentheses); nesting past what the engines can
take is refused at check time with a located KC0505 (spec/diagnostics.md, "Nesting limits")."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kcheck.cli.main import main
from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.frontend import check_source
from kcheck.lang.nesting import MAX_EXPR_DEPTH, MAX_LOOP_DEPTH

ENGINES = [
    ("verify", "--engine", "explicit"),
    ("verify", "--engine", "bmc", "--depth", "3"),
    ("verify", "--engine", "induction", "--max-k", "2"),
    ("run", "--driver", "sim", "--timeout", "5"),
    ("simulate", "--traces", "5", "--depth", "5"),
]


def invoke(*args: str) -> Result:
    r = CliRunner().invoke(main, list(args))
    assert "Traceback" not in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    return r


def model(tmp_path: Path, invariant: str, body: str = "x := 1 - x") -> str:
    path = tmp_path / "deep.kdsl"
    path.write_text(
        "model deep\nvar x: 0..1 = 0\nvar y: 0..1 = 0\n"
        f"process p {{ action a {{ {body} }} }}\ninvariant ok: {invariant}\n",
        encoding="utf-8",
    )
    return str(path)


def chain(op: str, term: str, n: int) -> str:
    return f" {op} ".join([term] * n)


@pytest.mark.parametrize("engine", ENGINES, ids=lambda e: " ".join(e[:3]))
@pytest.mark.parametrize(
    "invariant",
    [
        chain("+", "x", 199) + " >= 0",  # a sum of 199 terms
        chain("-", "x", 199) + " <= 1",  # left-deep, not associative
        "x" + " + (x" * 198 + ")" * 198 + " >= 0",  # right-nested by the user
        chain("and", "x >= 0", 300),
        chain("or", "x == 0", 150) + " or x == 1",
    ],
    ids=["sum199", "minus199", "right-nested199", "and300", "or151"],
)
def test_long_operator_chains_run_in_every_engine(
    tmp_path: Path, engine: tuple[str, ...], invariant: str
) -> None:
    path = model(tmp_path, invariant, body=f"x := 1 - x\n y := ({chain('+', 'x', 199)}) % 2")
    assert invoke("check", path).exit_code == 0
    r = invoke(*engine, "-q", path)
    assert r.exit_code in (0, 3), r.output  # holds (bmc: inconclusive, no proof)
    assert "internal error" not in r.output


@pytest.mark.parametrize(
    "invariant",
    [
        "not " * (MAX_EXPR_DEPTH - 2) + "(x == 0 or x == 1)",
        chain("implies", "x == 0", MAX_EXPR_DEPTH - 1) + " or true",
        "(-" * (MAX_EXPR_DEPTH - 1) + "x" + ")" * (MAX_EXPR_DEPTH - 1) + " <= 1",
    ],
    ids=["not", "implies", "neg"],
)
@pytest.mark.parametrize("engine", ENGINES, ids=lambda e: " ".join(e[:3]))
def test_the_deepest_accepted_nesting_runs_in_every_engine(
    tmp_path: Path, engine: tuple[str, ...], invariant: str
) -> None:
    path = model(tmp_path, invariant)
    assert invoke("check", path).exit_code == 0
    r = invoke(*engine, "-q", path)
    assert r.exit_code in (0, 1, 3), r.output
    assert "internal error" not in r.output


@pytest.mark.parametrize(
    "invariant",
    [
        "not " * 300 + "(x == 0)",
        "x" + " + (x * (x" * 150 + "))" * 150 + " >= 0",
        "(if x == 0 then 1 else " * 100 + "0" + ")" * 100 + " >= 0",
    ],
    ids=["not300", "alternating300", "if100"],
)
def test_deeper_nesting_is_refused_at_check_time_with_a_located_diagnostic(
    tmp_path: Path, invariant: str
) -> None:
    path = model(tmp_path, invariant)
    for command in ("check", "verify", "run"):
        r = invoke(command, path)
        assert r.exit_code == 2, r.output
        assert f"{path}:5:15: error[KC0505]: expression nested" in r.output
        assert f"at most {MAX_EXPR_DEPTH}" in r.output


def test_a_sum_of_2000_terms_is_refused_with_a_located_diagnostic(tmp_path: Path) -> None:
    path = model(tmp_path, chain("+", "x", 2000) + " >= 0")
    for args in [("check",), *ENGINES]:
        r = invoke(*args, path)
        assert r.exit_code == 2, r.output
        assert f"{path}:5:15: error[KC0102]: expression nested too deeply to parse" in r.output


def test_def_bodies_count_where_they_are_inlined() -> None:
    half = MAX_EXPR_DEPTH // 2 + 2
    text = (
        "model m\nvar x: 0..1 = 0\n"
        f"def f(v: int): bool = {'not ' * half}(v == 0)\n"
        "process p { action a { x := 1 - x } }\n"
        f"invariant ok: {'not ' * half}f(x)\n"
    )
    with pytest.raises(KcheckError) as info:
        check_source(Source("m.kdsl", text))
    assert [d.code for d in info.value.diagnostics] == ["KC0505"]
    assert info.value.diagnostics[0].span.line == 5


def test_loops_nested_past_the_limit_are_refused(tmp_path: Path) -> None:
    def nested(n: int) -> str:
        body = "x := 1 - x"
        for i in range(n):
            body = f"choose i{i} in 0..1 {{ {body} }}"
        return body

    ok = model(tmp_path, "x >= 0", body=nested(MAX_LOOP_DEPTH))
    assert invoke("verify", "-q", ok).exit_code == 0
    bad = model(tmp_path, "x >= 0", body=nested(MAX_LOOP_DEPTH + 1))
    r = invoke("verify", "-q", bad)
    assert r.exit_code == 2
    assert "error[KC0505]: `for` and `choose` statements nested 9 deep" in r.output
