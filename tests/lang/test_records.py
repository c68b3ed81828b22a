"""Records and arrays (issue 19 point 4, spec/language.md §2 "Records and arrays"): `record`
declarations and `R[N]` fields parse, print back, lower to flat fields of the object, and every
misuse is a located error with a hint, in the user's own names. The engines' agreement on them
is tests/explore/test_records_engines.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kcheck.cli.main import main
from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.fmt import format_program
from kcheck.lang.frontend import check_source
from kcheck.lang.parser import parse

GOOD = """model pods

record Container {
  ready: bool = false
  restarts: 0..2
  node: Node?
}

kind Node[1] {
  up: bool
}

kind Pod[2] {
  up: bool
  containers: Container[2]
}

def ready(p: Pod): bool = forall c in p.containers: c.ready

process kubelet {
  var last: 0..1 = 0
  action start for p in Pod, c in p.containers where not c.ready {
    c.ready := true
  }
  action crash for p in Pod, i in 0..1 where p.containers[i].ready {
    p.containers[i].ready := false
    p.containers[1 - i].restarts := any 0..2
    last := i
  }
  action again for p in Pod where p.containers[last].restarts > 0 {
    p.containers[last].restarts := 0
  }
  action gate for p in Pod where not p.up and ready(p) {
    p.up := true
    for c in p.containers {
      c.restarts := 0
    }
  }
  action pick for p in Pod {
    choose c in p.containers where c.restarts == 0 {
      c.node := none
    }
  }
}

init {
  let p = create Pod {}
  p.containers[1].ready := true
}

invariant up_ready: forall p in Pod: p.up implies (count c in p.containers where c.ready) == 2
invariant restarts: forall p in Pod: (sum c.restarts for c in p.containers) <= 4
"""


def _errors(text: str) -> list[tuple[str, int, int, str, str]]:
    with pytest.raises(KcheckError) as info:
        check_source(Source("m.kdsl", text))
    return [
        (d.code, d.span.line, d.span.col, d.message, d.help or "")
        for d in info.value.diagnostics
        if d.severity == "error"
    ]


def test_a_record_model_checks_and_its_parts_are_fields_of_the_object() -> None:
    checked = check_source(Source("m.kdsl", GOOD))
    pod = checked.symbols.kinds["Pod"]
    assert [f.name for f in pod.fields] == [
        "up",
        "containers[0].ready",
        "containers[0].restarts",
        "containers[0].node",
        "containers[1].ready",
        "containers[1].restarts",
        "containers[1].node",
    ]


def test_fmt_prints_records_and_parts_back_unchanged() -> None:
    program = parse(Source("m.kdsl", GOOD))
    text = format_program(program, GOOD)
    assert text == GOOD
    assert parse(Source("m.kdsl", text)) == program


def test_record_stays_free_as_a_name() -> None:
    text = """model m
kind K[1] { record: bool }
var record2: bool = false
process record { action record for k in K { k.record := true } }
"""
    check_source(Source("m.kdsl", text))


BAD_DECLS = """model bad
record Container { ready: bool  owner: Node  key k: 0..1  inner: Container[2] }
kind Node[1] { up: bool }
kind Pod[2] { containers: Containr[2]  xs: Container[9]  ys: Node[2] }
var w: Container[2] = 0
"""


def test_misdeclared_records_and_arrays_are_located_errors_with_hints() -> None:
    errors = _errors(BAD_DECLS)
    assert [(c, line, col) for c, line, col, _, _ in errors] == [
        ("KC0802", 2, 40),  # a non-optional reference in a record
        ("KC0802", 2, 50),  # a key in a record
        ("KC0802", 2, 8),  # a record holding itself through an array
        ("KC0204", 4, 27),  # an unknown record
        ("KC0403", 4, 54),  # too many parts
        ("KC0802", 4, 62),  # an array of a kind
        ("KC0802", 5, 8),  # an array that is not a kind's field
    ]
    helps = [h for *_, h in errors]
    assert helps[0] == "make it optional, `Node?`"
    assert helps[3] == "did you mean `Container`?"
    assert helps[5] == "a field holding several is `set<Node>`"


BAD_USES = """model bad
record Container { ready: bool  restarts: 0..2 }
kind Pod[2] { containers: Container[2]  n: 0..3 }
var v: 0..5 = 0
process k {
  action a for p in Pod { p.containers[p.n].ready := true }
  action b for p in Pod { p.containers[2].ready := true }
  action c for p in Pod { p.containers[0].redy := true }
  action d for p in Pod, c in p.containers { let x = c }
  action e for p in Pod { let y = p.containers[0] }
  action f for p in Pod { create Pod { containers: 1 } }
  action g for p in Pod where count(p.containers) > 0 { }
  action h for p in Pod, c in p.containers where exists p in Pod: c.ready { }
  action i for p in Pod { let j = v - 4  p.containers[j].ready := true }
}
"""


def test_misused_parts_are_located_errors_with_hints() -> None:
    errors = _errors(BAD_USES)
    assert [(c, line, col) for c, line, col, _, _ in errors] == [
        ("KC0801", 6, 40),
        ("KC0801", 7, 40),
        ("KC0203", 8, 43),
        ("KC0802", 9, 54),
        ("KC0802", 10, 35),
        ("KC0802", 11, 40),
        ("KC0802", 12, 37),
        ("KC0207", 13, 57),
        ("KC0801", 14, 55),
    ]
    messages = {(line, col): (m, h) for _, line, col, m, h in errors}
    assert messages[6, 40][0] == (
        "this index may be 3 (its range is 0..3), and `containers` has parts 0..1"
    )
    assert messages[7, 40][0] == "this index is 2, and `containers` has parts 0..1"
    assert messages[8, 43] == ("record `Container` has no field `redy`", "did you mean `ready`?")
    assert messages[9, 54][1] == "read one of its fields: `c.ready`"
    assert (
        messages[10, 35][0] == "`p.containers[0]` is a `Container` part of an object, not a value"
    )
    assert messages[14, 55][0] == (
        "this index may be -4 (its range is -4..1), and `containers` has parts 0..1"
    )


def test_a_type_error_at_a_variable_index_is_reported_once_as_written() -> None:
    text = """model m
record Container { ready: bool }
kind Pod[2] { containers: Container[3] }
process k {
  action g for p in Pod, c in p.containers { c.ready := 3 }
  action h for p in Pod, i in 0..2 { p.containers[i].ready := 1 }
}
"""
    errors = _errors(text)
    assert [(c, line, m) for c, line, _, m, _ in errors] == [
        ("KC0301", 5, "cannot store int in `c.ready` of type bool"),
        ("KC0301", 6, "cannot store int in `p.containers[i].ready` of type bool"),
    ]


def test_a_part_that_leaves_its_range_is_named_in_the_trace_and_json(tmp_path: Path) -> None:
    text = """model m
record Container { restarts: 0..1 }
kind Pod[1] { containers: Container[2] }
init { create Pod {} }
process k {
  action crash for p in Pod, c in p.containers { c.restarts := c.restarts + 1 }
}
"""
    path = tmp_path / "parts.kdsl"
    path.write_text(text, encoding="utf-8")
    run = CliRunner().invoke(main, ["verify", "--format", "json", str(path)])
    assert run.exit_code == 1, run.output
    report = json.loads(run.stdout)
    (bound,) = [p for p in report["properties"] if p["kind"] == "bound"]
    assert bound["reason"].startswith("Pod.containers[0].restarts := 2 leaves its range 0..1")
    first = bound["trace"][0]["state"]["Pod"]["Pod#0"]
    assert first == {"containers[0].restarts": 0, "containers[1].restarts": 0}
