"""Names of the constructs lowered before names resolve (records, keyed locals, actor locals,
time) lead to what the user wrote, not to what lowering made of them."""

from __future__ import annotations

from kcheck.lsp.analysis import analyse

RECORDS = """model m
const N = 2
record Container {
  running: bool = false
  restarts: 0..N = 0
}
kind Pod[1] { containers: Container[N] }
def up(p: Pod): bool = forall c in p.containers: c.running
process kubelet {
  action start for p in Pod, c in p.containers where not c.running {
    c.running := true
  }
  action again for p in Pod, i in 0..N - 1 where p.containers[i].running {
    p.containers[i].restarts := 1
  }
}
invariant i: forall p in Pod: p.containers[0].restarts <= N
"""

KEYED = """model m
kind RS[1] { replicas: 0..1 = 1 }
kind Pod[2] { owner: RS? = none }
controller rs watches Pod {
  var expected: set<Pod>[RS] = {}
  action add for r in RS when size(expected[r]) == 0 {
    let p = create Pod { owner: r }
    expected[r] := expected[r] | {p}
  }
}
invariant small: forall r in RS: size(rs.expected[r]) <= 2
"""

TIME = """model m
const SKEW = 1
const WAIT = 1
process a skew SKEW {
  var on: bool = false
  var since: clock = 0
  action go when not on within WAIT { on := true }
}
invariant i: a.on or not a.on
"""


def _hover(text: str, line: int, needle: str, nth: int = 0) -> tuple[str, str, str | None, int]:
    analysis = analyse("m.kdsl", text)
    assert [d for d in analysis.diagnostics if d.severity == "error"] == []
    assert analysis.index is not None
    src = text.split("\n")[line - 1]
    col = -1
    for _ in range(nth + 1):
        col = src.index(needle, col + 1)
    ref = analysis.index.at(line, col + 1)
    assert ref is not None, needle
    return ref.name, ref.what, ref.type, ref.decl.line


def test_record_fields_arrays_and_part_binders_lead_to_their_declarations() -> None:
    assert _hover(RECORDS, 7, "N]") == ("N", "const", "int = 2", 2)  # the array's size
    assert _hover(RECORDS, 7, "containers") == ("containers", "field of Pod", "Container[N]", 7)
    assert _hover(RECORDS, 7, "Container[") == ("Container", "record", None, 3)
    assert _hover(RECORDS, 3, "Container") == ("Container", "record", None, 3)
    assert _hover(RECORDS, 5, "restarts") == ("restarts", "field of Container", "0..2", 5)
    assert _hover(RECORDS, 8, "containers") == ("containers", "field of Pod", "Container[N]", 7)
    assert _hover(RECORDS, 8, "running") == ("running", "field of Container", "bool", 4)
    assert _hover(RECORDS, 8, "c.") == ("c", "bound name", "Container", 8)
    assert _hover(RECORDS, 11, "running") == ("running", "field of Container", "bool", 4)
    assert _hover(RECORDS, 11, "c.") == ("c", "bound name", "Container", 10)
    assert _hover(RECORDS, 17, "containers") == ("containers", "field of Pod", "Container[N]", 7)
    assert _hover(RECORDS, 17, "restarts") == ("restarts", "field of Container", "0..2", 5)
    # an indexed part written: `p.containers[i].restarts := 1`
    assert _hover(RECORDS, 14, "containers") == ("containers", "field of Pod", "Container[N]", 7)
    assert _hover(RECORDS, 14, "restarts") == ("restarts", "field of Container", "0..2", 5)
    assert _hover(RECORDS, 14, "i]") == ("i", "bound name", "int", 13)


def test_a_keyed_local_leads_to_the_actors_var() -> None:
    local = ("expected", "local of rs, one per RS", "set<Pod>", 5)
    assert _hover(KEYED, 6, "expected") == local
    assert _hover(KEYED, 8, "expected") == local  # the written lvalue
    assert _hover(KEYED, 8, "expected", 1) == local  # the read
    assert _hover(KEYED, 8, "r]") == ("r", "bound name", "RS", 6)
    assert _hover(KEYED, 11, "expected") == local  # from an invariant
    assert _hover(KEYED, 11, "rs.")[:2] == ("rs", "controller")


def test_skew_within_and_an_actor_local_read_from_outside() -> None:
    assert _hover(TIME, 4, "SKEW") == ("SKEW", "const", "int = 1", 2)
    assert _hover(TIME, 7, "WAIT") == ("WAIT", "const", "int = 1", 3)
    assert _hover(TIME, 9, "a.")[:2] == ("a", "process")
    assert _hover(TIME, 9, "on")[1:] == ("var", "bool", 5)


def test_what_lowering_generates_is_not_shown_in_the_users_places() -> None:
    # `clock` is read by the generated `tick`, `skew SKEW` spent by the fault `a_clock`
    analysis = analyse("m.kdsl", TIME)
    assert analysis.index is not None
    lines = TIME.split("\n")
    ref = analysis.index.at(6, lines[5].index("clock") + 1)
    assert ref is None or ref.name == "clock", ref
    assert {r.name for r in analysis.index.refs}.isdisjoint({"time", "tick", "a_clock"})


ENUM_PARTS = """model m
enum ConditionType { Scheduled, Ready }
record Condition {
  status: bool = false
}
kind Pod[1] { conditions: Condition[ConditionType] }
process kubelet {
  action mark for p in Pod, c in p.conditions where not c.status {
    c.status := true
  }
  action add when count(Pod) == 0 {
    create Pod { conditions[Ready].status: true }
  }
}
invariant i: forall p in Pod: p.conditions[Ready].status implies p.conditions[Scheduled].status
"""


def test_enum_indexed_parts_and_parts_given_in_a_create_lead_to_their_declarations() -> None:
    array = ("conditions", "field of Pod", "Condition[ConditionType]", 6)
    status = ("status", "field of Condition", "bool", 4)
    assert _hover(ENUM_PARTS, 6, "conditions") == array
    assert _hover(ENUM_PARTS, 8, "conditions") == array
    assert _hover(ENUM_PARTS, 8, "c.") == ("c", "bound name", "Condition", 8)
    assert _hover(ENUM_PARTS, 9, "status") == status
    assert _hover(ENUM_PARTS, 12, "status") == status  # a part's field given in a create
    assert _hover(ENUM_PARTS, 15, "conditions") == array
    assert _hover(ENUM_PARTS, 15, "status") == status
    assert _hover(ENUM_PARTS, 15, "Ready")[:2] == ("Ready", "member of ConditionType")
    assert _hover(ENUM_PARTS, 12, "conditions") == array


NESTED = """model m
record Port {
  open: bool = false
}
record Container {
  ports: Port[2]
}
kind Pod[1] { containers: Container[2] }
process k {
  action a for p in Pod, c in p.containers, q in c.ports where not q.open {
    q.open := true
  }
}
invariant i: forall p in Pod: p.containers[0].ports[1].open or true
"""


def test_a_field_of_an_array_inside_a_record_leads_to_its_declaration() -> None:
    port_open = ("open", "field of Port", "bool", 3)
    assert _hover(NESTED, 10, "open") == port_open
    assert _hover(NESTED, 11, "open") == port_open
    assert _hover(NESTED, 14, "open") == port_open


LISTS = """model m
enum Finalizer { Foreground, Custom }
kind Pod[1] {
  finalizers: list<Finalizer, 2>
}
process k {
  action add for p in Pod, f in Finalizer where size(p.finalizers) < 2 {
    p.finalizers := append(p.finalizers, f)
  }
}
invariant i: forall p in Pod: Custom in p.finalizers or true
"""


def test_a_list_field_leads_to_its_declaration() -> None:
    field = ("finalizers", "field of Pod", "list<Finalizer, 2>", 4)
    assert _hover(LISTS, 4, "finalizers") == field
    assert _hover(LISTS, 7, "finalizers") == field
    assert _hover(LISTS, 8, "finalizers") == field  # the list written
    assert _hover(LISTS, 11, "finalizers") == field
