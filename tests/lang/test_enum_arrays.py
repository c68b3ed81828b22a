"""Arrays indexed by an enum (issue 19 point 4, spec/language.md §2 "Records and arrays"):
`conditions: Condition[ConditionType]` gives an object one part per member, named by the member
(`p.conditions[Ready].status`), in traces too; an index must be known to be a member of that enum.
The engines' agreement is tests/explore/test_part_arrays_engines.py."""

from __future__ import annotations

import pytest

from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.fmt import format_program
from kcheck.lang.frontend import check_source
from kcheck.lang.parser import parse

GOOD = """model conds

enum ConditionType { PodScheduled, ContainersReady, Ready }

record Condition {
  status: bool = false
  changes: 0..2 = 0
}

kind Pod[2] {
  conditions: Condition[ConditionType]
  endpoint: bool = false
}

var last: ConditionType = Ready

init {
  create Pod {}
}

process kubelet {
  action mark for p in Pod, t in ConditionType where not p.conditions[t].status {
    p.conditions[t].status := true
    last := t
  }
  action clear for p in Pod, c in p.conditions where c.status {
    c.status := false
    c.changes := min(c.changes + 1, 2)
  }
  action again for p in Pod where p.conditions[last].status {
    let t = if last == Ready then ContainersReady else last
    p.conditions[t].status := false
  }
}

invariant some: forall p in Pod: p.endpoint implies (exists c in p.conditions: c.status)
"""


def _errors(text: str) -> list[tuple[str, int, int, str]]:
    with pytest.raises(KcheckError) as info:
        check_source(Source("m.kdsl", text))
    return [
        (d.code, d.span.line, d.span.col, d.message)
        for d in info.value.diagnostics
        if d.severity == "error"
    ]


def test_an_enum_indexed_array_has_one_part_per_member_named_by_it() -> None:
    pod = check_source(Source("m.kdsl", GOOD)).symbols.kinds["Pod"]
    assert [f.name for f in pod.fields] == [
        "conditions[PodScheduled].status",
        "conditions[PodScheduled].changes",
        "conditions[ContainersReady].status",
        "conditions[ContainersReady].changes",
        "conditions[Ready].status",
        "conditions[Ready].changes",
        "endpoint",
    ]


def test_fmt_prints_an_enum_indexed_array_back_unchanged() -> None:
    program = parse(Source("m.kdsl", GOOD))
    assert format_program(program, GOOD) == GOOD


BAD = """model bad
enum ConditionType { ContainersReady, Ready }
enum Phase { Pending, Running }
record Condition { status: bool }
kind Pod[2] { conditions: Condition[ConditionType]  phase: Phase  n: 0..1 }
process k {
  action a for p in Pod { p.conditions[0].status := true }
  action b for p in Pod { p.conditions[Running].status := true }
  action c for p in Pod where p.conditions[p.n].status { }
  action d for p in Pod, t in Phase { p.conditions[t].status := true }
}
"""


def test_an_index_that_is_not_a_member_of_the_enum_is_a_located_error() -> None:
    errors = _errors(BAD)
    assert [(c, line, col) for c, line, col, _ in errors] == [
        ("KC0801", 7, 40),
        ("KC0801", 8, 40),
        ("KC0801", 9, 44),
        ("KC0801", 10, 52),
    ]
    assert errors[0][3] == "this index is a number, and `conditions` is indexed by `ConditionType`"
    assert errors[1][3] == "this index is a `Phase`, and `conditions` is indexed by `ConditionType`"


def test_a_number_array_indexed_by_a_member_is_a_located_error() -> None:
    text = """model bad
enum Phase { Pending, Running }
record C { ready: bool }
kind Pod[1] { cs: C[2] }
process k { action a for p in Pod { p.cs[Running].ready := true } }
"""
    assert _errors(text) == [
        ("KC0801", 5, 42, "this index is a `Phase`, not a number, and `cs` has parts 0..1")
    ]


def test_an_enum_too_large_for_an_array_is_a_located_error() -> None:
    members = ", ".join(f"M{i}" for i in range(9))
    text = f"""model bad
enum Big {{ {members} }}
record C {{ ready: bool }}
kind Pod[1] {{ cs: C[Big] }}
"""
    (error,) = _errors(text)
    assert error[:3] == ("KC0403", 4, 21)
