"""Object names (issue 19 point 2, spec/language.md §1 "Names"): `key` fields parse, format
and round-trip; `key` stays free as a field's name; the checker locates a key of a type that
cannot name, a write to a key field and an `else` on a create that cannot meet a taken name."""

from __future__ import annotations

import pytest

from kcheck.lang import ast
from kcheck.lang.check import check_program
from kcheck.lang.diagnostics import Diagnostic, KcheckError, Source
from kcheck.lang.fmt import format_program
from kcheck.lang.nesting import nesting_errors
from kcheck.lang.parser import parse
from kcheck.lang.symbols import build_symbols

NAMED = """model cron
kind CronJob[2] { suspended: bool }
kind Job[3] {
  key owner: CronJob
  key time: 0..3
  done: bool
}
kind Light[1] { key: bool }
controller cronjob {
  action run for c in CronJob, t in 0..3 {
    create Job { owner: c, time: t } else {
      let again = t
    }
  }
}
"""


def diagnostics(text: str) -> list[Diagnostic]:
    symbols, diags = build_symbols(parse(Source("t.kdsl", text)))
    return diags + check_program(symbols)


def test_key_fields_and_create_else_parse() -> None:
    prog = parse(Source("t.kdsl", NAMED))
    job = next(d for d in prog.decls if isinstance(d, ast.Kind) and d.name == "Job")
    assert [(f.name, f.key) for f in job.fields] == [
        ("owner", True),
        ("time", True),
        ("done", False),
    ]
    light = next(d for d in prog.decls if isinstance(d, ast.Kind) and d.name == "Light")
    assert [(f.name, f.key) for f in light.fields] == [("key", False)]  # `key` is contextual
    ctl = next(d for d in prog.decls if isinstance(d, ast.Controller))
    create = ctl.actions[0].body.stmts[0]
    assert isinstance(create, ast.CreateStmt) and create.otherwise is not None
    assert isinstance(create.otherwise.stmts[0], ast.Let)
    assert diagnostics(NAMED) == []


def test_fmt_keeps_keys_and_else_and_round_trips() -> None:
    prog = parse(Source("t.kdsl", NAMED))
    text = format_program(prog, NAMED)
    assert "  key owner: CronJob\n" in text
    assert "    create Job { owner: c, time: t } else {\n      let again = t\n    }\n" in text
    assert parse(Source("t.kdsl", text)) == prog
    assert format_program(parse(Source("t.kdsl", text)), text) == text


def _codes(text: str) -> list[tuple[str, int, int, str | None]]:
    return sorted((d.code, d.span.line, d.span.col, d.help) for d in diagnostics(text))


def test_a_key_of_a_type_that_cannot_name_is_located() -> None:
    text = (
        "model m\nkind Node[2] { ready: bool }\n"
        "kind Pod[2] {\n  key node: Node?\n  key labels: set<Node>\n}\n"
    )
    found = _codes(text)
    assert [(c, line, col) for c, line, col, _ in found] == [("KC0301", 4, 7), ("KC0301", 5, 7)]
    assert all(h is not None and "drop `key`" in h for *_, h in found)


def test_assigning_a_key_field_is_an_error_with_a_hint() -> None:
    text = (
        "model m\nkind Job[2] { key name: 0..3  done: bool }\n"
        "controller c {\n  action rename for j in Job { j.name := 2  j.done := true }\n}\n"
    )
    [(code, line, col, help)] = _codes(text)
    assert (code, line, col) == ("KC0304", 4, 34)
    assert help is not None and "delete the object and create another" in help


def test_create_else_needs_a_keyed_kind() -> None:
    text = (
        "model m\nkind Job[2] { done: bool }\n"
        "controller c {\n  action mk { create Job { } else { } }\n}\n"
    )
    [(code, line, col, help)] = _codes(text)
    assert (code, line, col) == ("KC0502", 4, 22)
    assert help is not None and "key" in help


def test_the_else_block_is_checked_like_any_block() -> None:
    text = (
        "model m\nkind Job[2] { key name: 0..1 }\nvar n: 0..3 = 0\n"
        "controller c {\n  action mk { create Job { name: 1 } else { n := nope  step } }\n}\n"
    )
    codes = [(c, line) for c, line, _, _ in _codes(text)]
    assert codes == [("KC0201", 5), ("KC0502", 5)]


def test_let_create_else_is_refused_with_a_hint() -> None:
    text = (
        "model m\nkind Job[2] { key name: 0..1 }\n"
        "controller c {\n  action mk { let j = create Job { name: 1 } else { } }\n}\n"
    )
    with pytest.raises(KcheckError) as info:
        parse(Source("t.kdsl", text))
    (d,) = info.value.diagnostics
    assert (d.code, d.span.line, d.span.col) == ("KC0102", 4, 46)
    assert d.help is not None and "write `create K { ... } else { ... }`" in d.help


def test_create_else_blocks_count_towards_the_nesting_limit() -> None:
    deep = "create Job { name: 1 } else { " * 49 + "}" * 49
    text = f"model m\nkind Job[2] {{ key name: 0..1 }}\ncontroller c {{\n  action mk {{ {deep} }}\n}}\n"
    assert [d.code for d in nesting_errors(parse(Source("t.kdsl", text)))] == ["KC0505"]
