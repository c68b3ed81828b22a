"""Bounded lists (issue 19 point 4, spec/language.md §2 "Lists"): `finalizers: list<F, 2>`
parses and prints back, lowers to a length and packed slots, shows as `[a, b]` in traces and
JSON, an append to a full list is the `range` bound error naming the list, and every misuse is
a located error with a hint. The engines' agreement is tests/explore/test_part_arrays_engines.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kcheck.cli.main import main
from kcheck.lang import ast
from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.fmt import format_program
from kcheck.lang.fmt_expr import format_expr
from kcheck.lang.frontend import check_source
from kcheck.lang.lists import fold_lists
from kcheck.lang.parser import parse
from tests.same_states import assert_same_states, decoded_states

GOOD = """model fins

enum Finalizer { Foreground, Protection, Custom }

kind Node[2] {
  up: bool = true
}

kind Pod[1] {
  finalizers: list<Finalizer, 2>
  owners: list<Node, 1>
}

init {
  create Node {}
  create Pod {}
}

process k {
  action add for p in Pod, f in Finalizer where size(p.finalizers) > 0 or f == Custom {
    p.finalizers := append(p.finalizers, f)
  }
  action own for p in Pod, n in Node where len(p.owners) == 0 {
    p.owners := append(p.owners, n)
  }
  action drop for p in Pod, f in p.finalizers where f != Custom {
    p.finalizers := remove(p.finalizers, f)
  }
}

invariant owned: forall p in Pod: forall n in p.owners: n.up
invariant custom_first: forall p in Pod: size(p.finalizers) > 0 implies Custom in p.finalizers
"""


def _errors(text: str) -> list[tuple[str, int, int, str]]:
    with pytest.raises(KcheckError) as info:
        check_source(Source("m.kdsl", text))
    return [
        (d.code, d.span.line, d.span.col, d.message)
        for d in info.value.diagnostics
        if d.severity == "error"
    ]


def test_a_list_is_a_length_and_packed_slots_of_the_object() -> None:
    pod = check_source(Source("m.kdsl", GOOD)).symbols.kinds["Pod"]
    assert [(f.name, str(f.type)) for f in pod.fields] == [
        ("finalizers.len", "0..2"),
        ("finalizers[0]", "Finalizer"),
        ("finalizers[1]", "Finalizer"),
        ("owners.len", "0..1"),
        ("owners[0]", "Node?"),
    ]


def test_fmt_prints_lists_back_unchanged() -> None:
    program = parse(Source("m.kdsl", GOOD))
    text = format_program(program, GOOD)
    assert text == GOOD
    assert parse(Source("m.kdsl", text)) == program


def test_list_stays_free_as_a_name_and_a_comparison_after_a_call_parses() -> None:
    text = """model m
kind K[1] { list: 0..2  s: set<K> }
var v: bool = false
process list { action list for k in K { if size(k.s) > 0 { v := k.list > 1 } } }
"""
    check_source(Source("m.kdsl", text))


def test_fold_lists_shows_a_list_as_its_elements_in_order() -> None:
    obj = {"a.len": 1, "a[0]": "X", "a[1]": "Y", "up": True, "cs[0].ready": False}
    assert fold_lists(obj) == {"a": ("X",), "up": True, "cs[0].ready": False}


def test_traces_and_json_show_lists_as_the_user_wrote_them(tmp_path: Path) -> None:
    model = tmp_path / "m.kdsl"
    model.write_text(GOOD.replace("Custom in p.finalizers", "Foreground in p.finalizers"))
    result = CliRunner().invoke(main, ["verify", str(model)])
    assert result.exit_code == 1, result.output
    assert "Pod#0.finalizers: [] -> [Custom]" in result.output
    as_json = CliRunner().invoke(main, ["verify", str(model), "--format", "json"])
    assert '"finalizers": ["Custom"]' in json.dumps(json.loads(as_json.output))


def test_an_append_to_a_full_list_is_the_range_bound_error_naming_it(tmp_path: Path) -> None:
    model = tmp_path / "m.kdsl"
    model.write_text(GOOD.replace("len(p.owners) == 0", "true"))
    result = CliRunner().invoke(main, ["verify", str(model)])
    assert result.exit_code == 1
    assert "error: Pod.finalizers.len := 3 leaves its range 0..2" in result.output


BAD = """model bad
enum F { A, B }
kind Pod[2] { fins: list<F, 2>  xs: list<Nope, 2>  ys: list<F, 9> }
var w: list<F, 2> = 0
process k {
  action a for p in Pod { p.fins := p.fins }
  action b for p in Pod where p.fins == p.fins { }
  action c for p in Pod, q in Pod { p.fins := append(q.fins, A) }
  action d for p in Pod { p.fins := append(p.fins, if A in p.fins then B else A) }
  action e for p in Pod { create Pod { fins: A } }
}
"""


def test_misused_lists_are_located_errors_with_hints() -> None:
    assert [e[:3] for e in _errors(BAD)] == [
        ("KC0204", 3, 37),  # an element type that is neither an enum nor a kind
        ("KC0403", 3, 64),  # too long
        ("KC0802", 4, 8),  # a list that is not a kind's field
        ("KC0802", 6, 37),  # assigned something other than append or remove
        ("KC0802", 7, 31),  # read as a value
        ("KC0802", 7, 41),
        ("KC0802", 8, 47),  # appended to from another list
        ("KC0802", 9, 52),  # the element reads the list
        ("KC0802", 10, 46),  # given in a create, not as a list literal
    ]


# ---- list literals ----------------------------------------------------------------------------

LITERALS = """model lits

enum Finalizer { Foreground, Protection, Custom }

kind Node[2] {
  up: bool = true
}

kind Pod[2] {
  finalizers: list<Finalizer, 2>
  owners: list<Node, 2>
}

init {
  let n = create Node {}
  create Pod { finalizers: [Protection, Foreground], owners: [n] }
  create Pod { finalizers: [] }
}

process k {
  action reset for p in Pod, f in Finalizer {
    p.finalizers := [Custom, f]
  }
  action own for p in Pod, a in Node, b in Node {
    p.owners := [a, b]
  }
  action clear for p in Pod {
    p.finalizers := []
  }
}
"""


def test_fmt_prints_list_literals_back_unchanged() -> None:
    program = parse(Source("m.kdsl", LITERALS))
    text = format_program(program, LITERALS)
    assert text == LITERALS
    assert parse(Source("m.kdsl", text)) == program


def test_a_literal_of_distinct_members_gives_the_length_and_slots_as_constants() -> None:
    """`[Protection, Foreground]` in a create is the length 2 and the two slots, as written;
    a slot no element reaches keeps its filler (the default)."""
    symbols = check_source(Source("m.kdsl", LITERALS)).symbols
    init = next(d for d in symbols.program.decls if isinstance(d, ast.Init))
    creates = [n for n in ast.walk_nodes(init) if isinstance(n, ast.Create) and n.kind == "Pod"]
    given = {fi.name: format_expr(fi.value) for fi in creates[0].fields}
    assert given["finalizers.len"] == "2"
    assert given["finalizers[0]"] == "Protection"
    assert given["finalizers[1]"] == "Foreground"
    # one reference, which may be none: appended only when it is not
    assert given["owners.len"] == "0 + (if n != none then 1 else 0)"
    assert given["owners[0]"] == "if n != none then n else none"
    assert "owners[1]" not in given
    assert [fi.name for fi in creates[1].fields] == ["finalizers.len"]


# the same model with appends: a literal is its elements appended in turn to an empty list
CLEAR = "\n    ".join(
    f"p.finalizers := remove(p.finalizers, {f})" for f in ("Foreground", "Protection", "Custom")
)
APPENDED = (
    LITERALS.replace(
        "  create Pod { finalizers: [Protection, Foreground], owners: [n] }\n"
        "  create Pod { finalizers: [] }\n",
        "  let p = create Pod {}\n"
        "  p.finalizers := append(p.finalizers, Protection)\n"
        "  p.finalizers := append(p.finalizers, Foreground)\n"
        "  p.owners := append(p.owners, n)\n"
        "  create Pod {}\n",
    )
    .replace(
        "p.finalizers := [Custom, f]",
        f"{CLEAR}\n    p.finalizers := append(p.finalizers, Custom)\n"
        "    p.finalizers := append(p.finalizers, f)",
    )
    .replace("p.finalizers := []", CLEAR)
    .replace(
        "p.owners := [a, b]",
        "for x in Node {\n      p.owners := remove(p.owners, x)\n    }\n"
        "    p.owners := append(p.owners, a)\n    p.owners := append(p.owners, b)",
    )
)


def test_a_literal_means_its_elements_appended_in_turn_to_an_empty_list() -> None:
    """`[Custom, f]` with f == Custom is `[Custom]`, `[a, b]` with a == b is `[a]`: the same
    reachable states as the model written with `remove` and `append`."""
    assert "append" in APPENDED and "[" not in APPENDED.split("init")[1].replace("[2]", "")
    assert_same_states(decoded_states(LITERALS), decoded_states(APPENDED))


LITERAL_ERRORS = """model bad
enum F { A, B, C }
enum G { X, Y }
kind N[1] { up: bool = true }
kind Pod[2] { fins: list<F, 2>  owners: list<N, 2> }
init {
  create Pod { fins: [A, B, C] }
  create Pod { fins: [A, A] }
  create Pod { fins: [X, 3] }
  create Pod { owners: [none] }
  create N { fins: [A] }
}
process k {
  action a for p in Pod { p.fins := [(if A in p.fins then B else A)] }
  action b for p in Pod { if size(p.fins) == size([A]) { } }
  action c for p in Pod { p.fins := [[A]] }
}
"""


def test_misused_list_literals_are_located_errors_with_hints() -> None:
    assert [e[:3] for e in _errors(LITERAL_ERRORS)] == [
        ("KC0401", 7, 29),  # more elements than the list's bound
        ("KC0802", 8, 26),  # a duplicate: a list holds distinct elements
        ("KC0301", 9, 23),  # a member of another enum
        ("KC0301", 9, 26),  # not an element at all
        ("KC0301", 10, 25),  # none
        ("KC0203", 11, 14),  # a list of another kind
        ("KC0802", 14, 39),  # an element that reads the list assigned
        ("KC0802", 15, 51),  # a literal where no list is given
        ("KC0802", 16, 38),  # a list in a list
    ]


def test_a_literal_element_of_the_wrong_type_is_said_once_at_the_element() -> None:
    """The lowering stores an element that is not a constant in cases over the slots and
    compares it with the others: the checker's errors about those are one error, in the
    user's words, at the element."""
    text = """model m
enum F { A, B }
enum G { X, Y }
kind N[1] { up: bool = true }
kind Q[1] { up: bool = true }
kind Pod[2] { fins: list<F, 2>  owners: list<N, 2> }
process k {
  action a for p in Pod, f in F, g in G { p.fins := [f, g] }
  action b for p in Pod, q in Q { p.owners := [q] }
  action c for p in Pod, g in G { create Pod { fins: [g, A] } }
}
"""
    assert _errors(text) == [
        ("KC0301", 8, 57, "`g` is a G, not an element of a list of F"),
        ("KC0301", 9, 48, "`q` is a Q, not an element of a list of N"),
        ("KC0301", 10, 55, "`g` is a G, not an element of a list of F"),
    ]
