"""Arrays inside records (issue 19 point 4, spec/language.md §2 "Records and arrays"): a
container's ports, `record Container { ports: Port[2] }`, are fields of the pod
(`containers[1].ports[0].open`), read and written through nested indexes and nested part
binders. The engines' agreement is tests/explore/test_part_arrays_engines.py."""

from __future__ import annotations

import pytest

from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.fmt import format_program
from kcheck.lang.frontend import check_source
from kcheck.lang.parser import parse

GOOD = """model nested

record Port {
  open: bool = false
}

record Container {
  ready: bool = false
  ports: Port[2]
}

kind Pod[2] {
  containers: Container[2]
}

init {
  create Pod {}
}

process k {
  action a for p in Pod, i in 0..1, j in 0..1 where not p.containers[i].ports[j].open {
    p.containers[i].ports[j].open := true
  }
  action b for p in Pod, c in p.containers, q in c.ports where q.open and not c.ready {
    c.ready := true
    q.open := false
  }
  action d for p in Pod, q in p.containers[1].ports where q.open {
    q.open := false
    p.containers[0].ports[1].open := true
  }
}

invariant some: forall p in Pod, c in p.containers: c.ready implies (exists q in c.ports: q.open)
"""


def _errors(text: str) -> list[tuple[str, int, int, str]]:
    with pytest.raises(KcheckError) as info:
        check_source(Source("m.kdsl", text))
    return [
        (d.code, d.span.line, d.span.col, d.message)
        for d in info.value.diagnostics
        if d.severity == "error"
    ]


def test_an_array_inside_a_record_is_fields_of_the_object() -> None:
    pod = check_source(Source("m.kdsl", GOOD)).symbols.kinds["Pod"]
    assert [f.name for f in pod.fields] == [
        f"containers[{i}].{f}"
        for i in range(2)
        for f in ("ready", "ports[0].open", "ports[1].open")
    ]


def test_fmt_prints_nested_indexes_back_unchanged() -> None:
    program = parse(Source("m.kdsl", GOOD))
    text = format_program(program, GOOD)
    assert text == GOOD
    assert parse(Source("m.kdsl", text)) == program


BAD = """model bad
record Port { open: bool }
record Container { ports: Port[2]  ready: bool }
record Loop { more: Loop[2] }
kind Pod[1] { containers: Container[2] }
process k {
  action a for p in Pod, c in p.containers where c.ports { }
  action b for p in Pod { p.containers[0].ports[2].open := true }
  action e for p in Pod, c in p.containers { c.ports[0].opn := true }
}
"""


def test_misused_nested_arrays_are_located_errors() -> None:
    errors = _errors(BAD)
    assert [e[:3] for e in errors] == [
        ("KC0802", 4, 8),  # a record holding itself
        ("KC0802", 7, 52),  # an array inside a part used as a value
        ("KC0801", 8, 49),  # an inner index outside its array
        ("KC0203", 9, 57),  # an inner record's unknown field
    ]
    assert errors[0][3] == "record `Loop` holds itself through its arrays"
