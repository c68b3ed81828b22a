"""Semantic types of KDSL values, as the checker infers them and the compiler lays them out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias


@dataclass(frozen=True)
class TBool:
    def __str__(self) -> str:
        return "bool"


@dataclass(frozen=True)
class TInt:
    """An integer; `lo..hi` when stored (a var, a field, a param), unbounded (None) in arithmetic."""

    lo: int | None = None
    hi: int | None = None

    def __str__(self) -> str:
        return "int" if self.lo is None or self.hi is None else f"{self.lo}..{self.hi}"


@dataclass(frozen=True)
class TEnum:
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class TRef:
    """A reference to an object of `kind`; `optional` admits `none`."""

    kind: str
    optional: bool = False

    def __str__(self) -> str:
        return self.kind + ("?" if self.optional else "")


@dataclass(frozen=True)
class TSet:
    """A set of enum values or of objects of a kind (`elem` names the enum or kind)."""

    elem: str

    def __str__(self) -> str:
        return f"set<{self.elem}>"


@dataclass(frozen=True)
class TNone:
    """The type of the literal `none`; compatible with every optional reference."""

    def __str__(self) -> str:
        return "none"


@dataclass(frozen=True)
class TEmptySet:
    """The type of `{}`; compatible with every set type."""

    def __str__(self) -> str:
        return "{}"


@dataclass(frozen=True)
class TTemporal:
    """A temporal formula (eventually, always, leads_to); legal only in a property."""

    def __str__(self) -> str:
        return "temporal formula"


Type: TypeAlias = TBool | TInt | TEnum | TRef | TSet | TNone | TEmptySet | TTemporal

BOOL = TBool()
INT = TInt()
NONE = TNone()
EMPTY_SET = TEmptySet()
TEMPORAL = TTemporal()


def is_int(t: Type) -> bool:
    return isinstance(t, TInt)


def assignable(value: Type, target: Type) -> bool:
    """May a value of type `value` be stored where `target` is declared? Ranges are checked at
    run time (leaving a range is an error with a trace, never a clamp), so any int fits any int."""
    if isinstance(target, TInt):
        return isinstance(value, TInt)
    if isinstance(target, TRef):
        if isinstance(value, TNone):
            return target.optional
        return isinstance(value, TRef) and value.kind == target.kind
    if isinstance(target, TSet):
        return isinstance(value, TEmptySet) or value == target
    return value == target


def comparable(a: Type, b: Type) -> bool:
    """May `a == b` be written? Same sort of value, with `none` matching any reference."""
    if isinstance(a, TInt) and isinstance(b, TInt):
        return True
    if isinstance(a, TRef) and isinstance(b, TRef):
        return a.kind == b.kind
    if isinstance(a, TNone):
        return isinstance(b, TRef | TNone)
    if isinstance(b, TNone):
        return isinstance(a, TRef)
    if isinstance(a, TSet | TEmptySet) and isinstance(b, TSet | TEmptySet):
        return not (isinstance(a, TSet) and isinstance(b, TSet)) or a == b
    return a == b
