"""The atoms of an object that candidate lemmas are built from (candidates.py,
cache_candidates.py, targets.py): a condition on one field of it, for each value worth naming."""

from __future__ import annotations

from collections.abc import Iterator

from kcheck.lang.symbols import KindInfo, Symbols
from kcheck.lang.types import TBool, TEnum, TInt, TRef

MAX_CONST = 8  # the largest constant of a bound candidate: the models' sizes are small

SMALL_RANGE = 4  # an int field with at most this many values gets an atom per value


def _atoms(kind: KindInfo, sym: Symbols, x: str) -> Iterator[tuple[str, str]]:
    """(field, condition on object `x`) for each field value worth naming."""
    for f in kind.fields:
        if f.name.startswith("_"):
            continue
        if isinstance(f.type, TEnum):
            for m in sym.enums.get(f.type.name, ()):
                yield f.name, f"{x}.{f.name} == {m}"
                yield f.name, f"{x}.{f.name} != {m}"
        elif isinstance(f.type, TBool):
            yield f.name, f"{x}.{f.name}"
            yield f.name, f"not {x}.{f.name}"
        elif isinstance(f.type, TRef) and f.type.optional:
            yield f.name, f"{x}.{f.name} == none"
            yield f.name, f"{x}.{f.name} != none"
        elif (
            isinstance(f.type, TInt)
            and f.type.lo is not None
            and f.type.hi is not None
            and f.type.hi - f.type.lo < SMALL_RANGE
        ):
            for c in range(f.type.lo, f.type.hi + 1):  # a small int field reads like an enum
                yield f.name, f"{x}.{f.name} == {c}"
