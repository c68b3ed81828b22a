"""The values etcd holds are decoded back into the cells a controller's cache is made of: for
every type a field can have, encoding what the store shows gives the cell back."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kcheck.lang.types import TBool, TEnum, TInt, TRef, TSet, Type
from kcheck.model.ir import Layout
from kcheck.run.etcd_cache import encode_value

LAYOUT = Layout(0, (), (), (), {"Phase": ("Pending", "Running", "Failed")})
CELLS: list[tuple[Type, st.SearchStrategy[int]]] = [
    (TBool(), st.integers(0, 1)),
    (TEnum("Phase"), st.integers(0, 2)),
    (TRef("Node", optional=True), st.integers(-1, 7)),
    (TSet("Phase"), st.integers(0, 7)),
    (TSet("Node"), st.integers(0, 255)),
    (TInt(0, 40), st.integers(-5, 40)),
]


@given(st.sampled_from(range(len(CELLS))).flatmap(lambda i: st.tuples(st.just(i), CELLS[i][1])))
def test_a_cell_shown_as_the_store_holds_it_encodes_back_to_itself(pick: tuple[int, int]) -> None:
    i, cell = pick
    ty = CELLS[i][0]
    stored = json.loads(json.dumps(LAYOUT.show_value(ty, cell)))  # through etcd's JSON
    assert encode_value(LAYOUT, ty, stored) == cell


@pytest.mark.parametrize(
    ("ty", "shown"),
    [(TBool(), 1), (TEnum("Phase"), "Sleeping"), (TRef("Node"), "Node"), (TSet("Phase"), ["X"]),
     (TInt(0, 3), True), (TInt(0, 3), "2")],
)  # fmt: skip
def test_a_value_that_is_no_value_of_the_type_is_refused(ty: Type, shown: object) -> None:
    with pytest.raises(ValueError, match="is no value of type"):
        encode_value(LAYOUT, ty, shown)
