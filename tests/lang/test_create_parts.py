"""A part's field given in `create` (issue 19 point 4, spec/language.md §2 "Records and
arrays"): `create Pod { containers[1].ready: true, conditions[Ready].status: true }` sets those
fields of the new object's parts; every other part field takes its record's default. The
engines' agreement is tests/explore/test_part_arrays_engines.py."""

from __future__ import annotations

import pytest

from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.fmt import format_program
from kcheck.lang.frontend import check_source
from kcheck.lang.parser import parse
from kcheck.model.compile import compile_model
from tests.explore.test_reference_agreement import reachable_and_errors

GOOD = """model created

enum ConditionType { Scheduled, Ready }

record Condition {
  status: bool = false
}

record Container {
  ready: bool = false
  restarts: 0..2 = 0
}

kind Pod[2] {
  conditions: Condition[ConditionType]
  containers: Container[2]
}

init {
  create Pod { conditions[Scheduled].status: true, containers[1].restarts: 2 }
}

process k {
  action a for p in Pod where p.conditions[Scheduled].status {
    create Pod { containers[0].ready: p.containers[1].restarts == 2 }
  }
}
"""


def _errors(text: str) -> list[tuple[str, int, int, str]]:
    with pytest.raises(KcheckError) as info:
        check_source(Source("m.kdsl", text))
    return [
        (d.code, d.span.line, d.span.col, d.message)
        for d in info.value.diagnostics
        if d.severity == "error"
    ]


def test_fmt_prints_part_fields_in_a_create_back_unchanged() -> None:
    program = parse(Source("m.kdsl", GOOD))
    text = format_program(program, GOOD)
    assert text == GOOD
    assert parse(Source("m.kdsl", text)) == program


def test_a_create_sets_the_parts_fields_it_names_and_defaults_the_rest() -> None:
    checked = check_source(Source("m.kdsl", GOOD))
    model = compile_model(checked.symbols, symmetry=False)
    states, _ = reachable_and_errors(model)
    pods = {
        tuple(sorted(o.items())) for s in states for o in model.layout.decode(s)["Pod"].values()
    }
    created_in_init = {
        "conditions[Scheduled].status": True,
        "conditions[Ready].status": False,
        "containers[0].ready": False,
        "containers[0].restarts": 0,
        "containers[1].ready": False,
        "containers[1].restarts": 2,
    }
    created_by_a = {
        **created_in_init,
        "conditions[Scheduled].status": False,
        "containers[0].ready": True,
        "containers[1].restarts": 0,
    }
    assert pods == {tuple(sorted(created_in_init.items())), tuple(sorted(created_by_a.items()))}


BAD = """model bad
enum T { Scheduled, Ready }
record Cond { status: bool }
record Container { ready: bool = false  restarts: 0..2 = 0 }
kind Pod[2] { conditions: Cond[T]  containers: Container[2] }
init {
  create Pod { containers: 1, containers[2].ready: true, containers[0].redy: true }
}
process k {
  action a for p in Pod, i in 0..1 { create Pod { containers[i].ready: true } }
}
"""


def test_a_misgiven_part_in_a_create_is_a_located_error() -> None:
    assert [e[:3] for e in _errors(BAD)] == [
        ("KC0802", 7, 16),  # the whole array
        ("KC0801", 7, 42),  # a part that is not there
        ("KC0203", 7, 72),  # a field the record has not
        ("KC0801", 10, 62),  # a variable index: which part would it be?
    ]


def test_a_part_field_given_a_wrong_value_is_named_as_written() -> None:
    text = """model bad
enum T { Scheduled, Ready }
record Cond { status: bool }
record Container { ready: bool = false  restarts: 0..2 = 0 }
kind Pod[2] { conditions: Cond[T]  containers: Container[2] }
init {
  create Pod { conditions[Scheduled].status: 1, containers[1].restarts: 3 }
  create Pod { containers[0].ready: true, containers[0].ready: false }
}
"""
    assert _errors(text) == [
        ("KC0301", 7, 46, "cannot store int in field `conditions[Scheduled].status` of type bool"),
        ("KC0401", 7, 73, "3 is outside the range 0..2 of field `containers[1].restarts`"),
        ("KC0202", 8, 57, "field `containers[0].ready` is given twice"),
    ]
