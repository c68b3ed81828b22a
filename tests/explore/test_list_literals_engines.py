"""List literals (spec/language.md §2 "Lists") in every engine: a literal lowers (lang/lists.py)
to its list's length and slots, so each engine runs what the lowering wrote. The lowering is held
to a twin written without literals (the list emptied with `remove`, then the elements appended
in turn): the same reachable states, on hand-written models and on literals hypothesis draws.
Then the explicit engine, the reference interpreter (tests/reference.py), symmetry, the Z3
steps and BMC agree on models whose literals give enum members, variables that may be equal,
and references that may be `none` or equal; a planted bug (the collector forgets one element)
is found by every engine at the same depth. The reference interpreter runs the lowered program
(lists are lowered before names resolve, for every engine), so an oracle in Python that shares
nothing with the lowering checks what a literal holds after its step."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from kcheck.result import VIOLATED
from tests.engine_agreement import assert_engines_agree
from tests.same_states import assert_same_states, decoded_states

ENUMS = """model lits
enum F { A, B, C }
kind Pod[2] { fins: list<F, 2>  deleting: bool = false }
var collected_early: bool = false
init { create Pod { fins: [A] } }
process k {
  action put for p in Pod, f in F, g in F where not p.deleting { p.fins := [f, g] }
  action only for p in Pod, f in F where not p.deleting { p.fins := [C, f] }
  action clear for p in Pod where not p.deleting and size(p.fins) == 1 { p.fins := [] }
  action mark for p in Pod where not p.deleting { p.deleting := true }
  action more when count(Pod) < 2 { create Pod { fins: [B, C] } }
}
controller gc {
  action finish for p in Pod, f in p.fins where p.deleting and f != A {
    p.fins := remove(p.fins, f)
  }
  action drop for p in Pod where p.deleting and GUARD {
    if size(p.fins) > 0 { collected_early := true }
    delete p
  }
}
invariant finalizers_respected: not collected_early
invariant short: forall p in Pod: size(p.fins) < 2 or not (A in p.fins)
"""

OBJECTS = """model owners
kind Node[2] { up: bool = true }
kind Pod[2] { owner: Node?  owners: list<Node, 2> }
init {
  let n = create Node {}
  create Pod { owner: n, owners: [n] }
}
process k {
  action adopt for p in Pod, a in Node { p.owners := [p.owner, a] }
  action pick for p in Pod, a in Node { p.owner := a }
  action orphan for p in Pod where p.owner != none { p.owner := none }
  action reset for p in Pod { p.owners := [p.owner] }
  action more when count(Pod) < 2 { create Pod { owners: [] } }
  action node when count(Node) < 2 { create Node {} }
  action down for n in Node where n.up { n.up := false }
}
invariant owned_by_up_nodes: forall p in Pod: forall n in p.owners: n.up
invariant one_owner: forall p in Pod: size(p.owners) <= 1
"""

_EMPTY_FINS = "\n".join(f"    p.fins := remove(p.fins, {f})" for f in "ABC")


def _appended(elems: list[str], lst: str = "p.fins") -> str:
    return "\n".join(f"    {lst} := append({lst}, {x})" for x in elems)


# the twins, with `remove` and `append` where ENUMS and OBJECTS have literals
ENUMS_APPENDED = (
    ENUMS.replace(
        "init { create Pod { fins: [A] } }",
        "init {\n  let p = create Pod {}\n  p.fins := append(p.fins, A)\n}",
    )
    .replace("{ p.fins := [f, g] }", f"{{\n{_EMPTY_FINS}\n{_appended(['f', 'g'])}\n  }}")
    .replace("{ p.fins := [C, f] }", f"{{\n{_EMPTY_FINS}\n{_appended(['C', 'f'])}\n  }}")
    .replace("{ p.fins := [] }", f"{{\n{_EMPTY_FINS}\n  }}")
    .replace(
        "{ create Pod { fins: [B, C] } }",
        f"{{\n    let p = create Pod {{}}\n{_appended(['B', 'C'])}\n  }}",
    )
)
_EMPTY_OWNERS = "    for x in Node { p.owners := remove(p.owners, x) }"
OBJECTS_APPENDED = (
    OBJECTS.replace(
        "  create Pod { owner: n, owners: [n] }",
        "  let p = create Pod { owner: n }\n  p.owners := append(p.owners, n)",
    )
    .replace(
        "{ p.owners := [p.owner, a] }",
        f"{{\n{_EMPTY_OWNERS}\n    let o = p.owner\n{_appended(['o', 'a'], 'p.owners')}\n  }}",
    )
    .replace(
        "{ p.owners := [p.owner] }",
        f"{{\n{_EMPTY_OWNERS}\n    let o = p.owner\n{_appended(['o'], 'p.owners')}\n  }}",
    )
    .replace("{ create Pod { owners: [] } }", "{ create Pod {} }")
)


def _verdicts(text: str) -> dict[str, tuple[str, int | None]]:
    model = compile_model(check_source(Source("m.kdsl", text)).symbols)
    return {
        p.name: (p.status, len(p.trace) if p.trace is not None else None)
        for p in explore(model).properties
    }


def test_literals_of_members_and_variables_mean_their_appended_twin() -> None:
    written, twin = ENUMS.replace("GUARD", "size(p.fins) == 0"), ENUMS_APPENDED
    twin = twin.replace("GUARD", "size(p.fins) == 0")
    assert "[" not in twin.replace("[2]", "")
    assert_same_states(decoded_states(written), decoded_states(twin))
    assert _verdicts(written) == _verdicts(twin)


def test_literals_of_references_mean_their_appended_twin() -> None:
    assert "[" not in OBJECTS_APPENDED.replace("[2]", "")
    assert_same_states(decoded_states(OBJECTS), decoded_states(OBJECTS_APPENDED))
    assert _verdicts(OBJECTS) == _verdicts(OBJECTS_APPENDED)


def test_list_literals_agree_in_every_engine() -> None:
    text = ENUMS.replace("GUARD", "size(p.fins) == 0")
    verdicts = _verdicts(text)
    assert verdicts["finalizers_respected"][0] != VIOLATED
    assert verdicts["short"][0] == VIOLATED  # `[C, A]`, `[A, B]`: two elements, A among them
    assert_engines_agree(text, complete=True, z3_steps=12, bmc_depth=4)


def test_literals_of_references_agree_in_every_engine() -> None:
    verdicts = _verdicts(OBJECTS)
    assert verdicts["owned_by_up_nodes"][0] == VIOLATED
    assert verdicts["one_owner"][0] == VIOLATED  # adopt with another node than the owner
    assert_engines_agree(OBJECTS, complete=True, z3_steps=40, bmc_depth=4)


def test_a_planted_finalizer_bug_is_found_by_every_engine() -> None:
    """The collector forgets B and C: it deletes a pod whose only finalizers left are those
    (`[B, C]` from the create, never removed while A is first)."""
    text = ENUMS.replace("GUARD", "not (A in p.fins)").replace("f != A", "f == A")
    assert _verdicts(text)["finalizers_respected"][0] == VIOLATED
    assert_engines_agree(text, complete=True, bmc_depth=4)


MEMBERS = ("A", "B", "C", "f", "g")


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(MEMBERS), max_size=3, unique=True), st.booleans())
def test_any_literal_means_its_elements_appended_in_turn(elems: list[str], create: bool) -> None:
    """A literal hypothesis draws (members and variables, which may be equal), assigned or
    given in a create, against the twin that appends its elements to an emptied list."""
    literal = "[" + ", ".join(elems) + "]"
    head = """model m
enum F { A, B, C }
kind Pod[2] { fins: list<F, 3> }
init { create Pod {} }
process k {
  action put for p in Pod, f in F, g in F {
"""
    if create:
        written = head + f"    create Pod {{ fins: {literal} }}\n  }}\n}}\n"
        twin = head + "    let p2 = create Pod {}\n" + _appended(elems, "p2.fins") + "\n  }\n}\n"
    else:
        written = head + f"    p.fins := {literal}\n  }}\n}}\n"
        twin = head + _EMPTY_FINS + "\n" + _appended(elems) + "\n  }\n}\n"
    assert_same_states(decoded_states(written), decoded_states(twin))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(MEMBERS), max_size=4), st.sampled_from(["A", "B", "C"]))
def test_a_literal_holds_its_distinct_elements_in_order(elems: list[str], before: str) -> None:
    """An oracle that shares nothing with the lowering: after `p.fins := [..]` the list is
    the elements' values with every repeat dropped, in order, whatever the list held before.
    (Written twice, the same name is refused statically; here f and g may still be equal.)"""
    if len(set(elems)) < len(elems) or len(elems) > 3:
        text = _literal_model(elems, before)
        with pytest.raises(KcheckError):
            check_source(Source("m.kdsl", text))
        return
    model = compile_model(
        check_source(Source("m.kdsl", _literal_model(elems, before))).symbols, symmetry=False
    )
    (start,) = model.initial()
    seen = 0
    for _, _, t in model.labelled_successors(start):
        shown = model.layout.decode(t)
        values = {"f": shown["seen_f"], "g": shown["seen_g"]}
        expected = tuple(dict.fromkeys(values.get(x, x) for x in elems))
        assert shown["Pod"]["Pod#0"]["fins"] == expected, (elems, values)
        seen += 1
    assert seen == 9  # every f and g


def _literal_model(elems: list[str], before: str) -> str:
    return f"""model m
enum F {{ A, B, C }}
var seen_f: F = A
var seen_g: F = A
kind Pod[1] {{ fins: list<F, 3> }}
init {{ create Pod {{ fins: [{before}] }} }}
process k {{
  action put for p in Pod, f in F, g in F {{
    p.fins := [{", ".join(elems)}]
    seen_f := f
    seen_g := g
  }}
}}
"""
