"""Guard for issue 12: mutated library models never crash kcheck. The parser and checker, run
in-process on each mutant, either accept it or raise a KcheckError (diagnostics), nothing else;
`kcheck verify` with small limits, run as a process of its own, exits 0-3 without a traceback,
and ends within its limits (the process is bounded; running past the bound fails the test).

The fast tier runs in the normal suite. The long mode, for a release, is
    KCHECK_FUZZ=50 pytest tests/test_fuzz.py
which runs 50 times as many mutants (KCHECK_FUZZ_SEED picks another seed).
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kcheck.lang.diagnostics import KcheckError, Source, render_all
from kcheck.lang.frontend import check_source

MODELS = sorted((Path(__file__).resolve().parents[1] / "models").glob("*.kdsl"))
SCALE = max(1, int(os.environ.get("KCHECK_FUZZ", "1")))
SEED = int(os.environ.get("KCHECK_FUZZ_SEED", "12"))
CHECK_MUTANTS = 150 * SCALE  # in-process parse + check: a few ms each
VERIFY_MUTANTS = 6 * SCALE  # a process each
LIMITS = ["--max-states", "3000", "--timeout", "4", "--max-memory", "1G"]
# The most a verify with the limits above may take: start-up, compile and reports included.
BOUND_SECONDS = 60

_TOKEN = re.compile(r"\w+|[^\w\s]|\s+")
_NUMBERS = [
    "0",
    "1",
    "-1",
    "2",
    "64",
    "65",
    "255",
    "1000000",
    "1000001",
    "99999999999",
    "2147483648",
]
_OPERATORS = ["+", "-", "*", "/", "%", "==", "!=", "<", ">", "and", "or", "not", "implies", "in"]
_NOISE = [
    "(", ")", "{", "}", ":", ",", ".", "..", "?", "#", "\\", "'", '"', "\x1b[2J", "\ufeff",
    "²", "١", "é", "\t", "\r", "none", "any", "forall x in 0..3:", "eventually", "always",
    "leads_to", "step", "restart", "delete", "create", "choose", "for", "let", "if", "else",
]  # fmt: skip


def mutate(text: str, rng: random.Random) -> str:
    """One to three random edits of a model's text."""
    for _ in range(rng.randint(1, 3)):
        tokens = _TOKEN.findall(text)
        words = [i for i, t in enumerate(tokens) if not t.isspace()]
        if not words:
            return text
        i = rng.choice(words)
        how = rng.randrange(9)
        if how == 0:  # delete a token
            tokens[i] = ""
        elif how == 1:  # another number
            if tokens[i].isdigit() or rng.random() < 0.3:
                tokens[i] = rng.choice(_NUMBERS)
        elif how == 2:  # another operator
            tokens[i] = rng.choice(_OPERATORS)
        elif how == 3:  # noise
            tokens[i] = tokens[i] + " " + rng.choice(_NOISE)
        elif how == 4:  # copy a token elsewhere
            tokens[rng.choice(words)] += " " + tokens[i]
        elif how == 5:  # swap two tokens
            j = rng.choice(words)
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif how == 6:  # cut the file
            tokens = tokens[:i]
        elif how == 7:  # duplicate a line
            lines = "".join(tokens).split("\n")
            k = rng.randrange(len(lines))
            lines.insert(k, lines[k])
            tokens = ["\n".join(lines)]
        else:  # nest an expression deeper
            depth = rng.choice([2, 30, 70, 300])
            tokens[i] = "(" * depth + tokens[i] + ")" * depth
            if rng.random() < 0.5:
                tokens[i] = "not " * depth + tokens[i]
        text = "".join(tokens)
    return text


def mutants(count: int, salt: int) -> list[tuple[str, str]]:
    rng = random.Random(SEED * 1_000_003 + salt)
    out = []
    for k in range(count):
        path = rng.choice(MODELS)
        out.append((f"{path.stem}#{k}", mutate(path.read_text(encoding="utf-8"), rng)))
    return out


def test_the_checker_accepts_or_diagnoses_every_mutant() -> None:
    accepted = 0
    for name, text in mutants(CHECK_MUTANTS, 1):
        try:
            check_source(Source(f"{name}.kdsl", text))
            accepted += 1
        except KcheckError as err:
            assert err.diagnostics, name
            rendered = render_all(err.diagnostics, Source(f"{name}.kdsl", text))
            assert "\x1b" not in rendered, name
        # anything else (an AssertionError, a RecursionError, ...) fails the test as a crash
    assert 0 < accepted < CHECK_MUTANTS  # the mutations neither all break nor all keep models


def _verify(path: Path, engine: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from kcheck.cli.main import main; sys.exit(main())"
    args = ["verify", str(path), "-q", "--engine", engine, "--depth", "3", "--max-k", "2"]
    return subprocess.run(
        [sys.executable, "-c", code, *args, *LIMITS],
        capture_output=True,
        text=True,
        timeout=BOUND_SECONDS,
        check=False,
    )


ENGINES = ["explicit", "auto", "bmc", "induction"]


@pytest.mark.parametrize("index", range(VERIFY_MUTANTS))
def test_verify_on_a_mutant_exits_0_to_3_within_its_limits(tmp_path: Path, index: int) -> None:
    # mutants that still check, so that the engines (not only the checker) are exercised
    pool = mutants(40 + 10 * index, 2 + index)
    name, text = next(((n, t) for n, t in reversed(pool) if _checks(t)), pool[-1])
    path = tmp_path / f"{name.replace('#', '_')}.kdsl"
    path.write_text(text, encoding="utf-8")
    engine = ENGINES[index % len(ENGINES)]
    done = _verify(path, engine)
    output = done.stdout + done.stderr
    assert done.returncode in (0, 1, 2, 3), f"{name} --engine {engine}: {output[-2000:]}"
    assert "Traceback" not in output
    assert "internal error" not in output


def _checks(text: str) -> bool:
    try:
        check_source(Source("m.kdsl", text))
    except KcheckError:
        return False
    return True
