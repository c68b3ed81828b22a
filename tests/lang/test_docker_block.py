"""The `docker { ... }` declaration (spec/run.md): how `kcheck run --driver docker` binds a
model. Every mistake is a located diagnostic; the formatter keeps it."""

from __future__ import annotations

import pytest

from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.fmt import format_program
from kcheck.lang.frontend import check_source
from kcheck.lang.parser import parse

HEAD = """model m
enum Phase { Pending, Running }
enum App { Web }
kind Node[1] {
  ready: bool = true
}
kind Pod[1] {
  phase: Phase = Pending
  app: App = Web
  n: 0..1 = 0
}
"""


def errors(body: str) -> list[tuple[str, str, int, int]]:
    with pytest.raises(KcheckError) as info:
        check_source(Source("t.kdsl", HEAD + body))
    return [(d.code, d.message, d.span.line, d.span.col) for d in info.value.diagnostics]


@pytest.mark.parametrize(
    ("block", "code", "fragment"),
    [
        ("docker { pods Pod { } }", "KC0201", "no binding role `pods`"),
        ("docker { pod Pdo { } }", "KC0204", "no kind named `Pdo`"),
        ("docker { pod Pod { } pod Pod { } }", "KC0202", "bound twice"),
        ("docker { pod Pod { phse: phase } }", "KC0203", "no binding key `phse`"),
        ("docker { pod Pod { phase: n } }", "KC0301", "needs an enum field"),
        ("docker { pod Pod { phase: nope } }", "KC0203", "has no field `nope`"),
        ("docker { pod Pod { image: 3 } }", "KC0301", "takes a string"),
        ('docker { pod Pod { command: "sh" } }', "KC0301", "takes a list of strings"),
        ("docker { pod Pod { memory_mb: 5 } }", "KC0301", "at least 6"),
        ('docker { pod Pod { phase: "phase" } }', "KC0301", "names a field"),
        ("docker { node Node { ready: ready, ready: ready } }", "KC0202", "bound twice"),
        ("docker { }\ndocker { }", "KC0202", "a second `docker` block"),
    ],
)
def test_binding_mistakes_are_located_errors(block: str, code: str, fragment: str) -> None:
    errs = errors(block + "\n")
    assert any(c == code and fragment in msg and line > 11 for c, msg, line, _ in errs), errs


def test_a_binding_round_trips_through_the_formatter() -> None:
    text = (
        HEAD.replace("enum App { Web }\n", "enum App { Web }\n\n")
        + '\ndocker {\n  pod Pod {\n    phase: phase,\n    image: "kcheck/busybox:latest",\n'
        '    command: ["sh", "-c", "exec sleep 60"],\n    memory_mb: 16,\n  }\n'
        "  node Node {\n    ready: ready,\n  }\n}\n"
    )
    check_source(Source("t.kdsl", text))
    once = format_program(parse(Source("t.kdsl", text)), text)
    assert format_program(parse(Source("t.kdsl", once)), once) == once
    assert 'command: ["sh", "-c", "exec sleep 60"],' in once


def test_on_stays_free_as_a_name_even_after_an_expression() -> None:
    check_source(
        Source(
            "t.kdsl",
            "model m\nkind Box[1] { off: bool = false  on: bool = false }\n"
            "var on: 0..1 = 0\ninvariant ok: on == 0\n",
        )
    )
