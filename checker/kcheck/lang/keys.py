"""Object names (spec/language.md §1 `kind`, "Names"): a kind's `key` fields together are the
object's name, unique among its live objects, and `create` of a taken name fails with
AlreadyExists. Shared by the checker, the compiler and the Z3 encoding."""

from __future__ import annotations

from kcheck.lang.symbols import KindInfo
from kcheck.lang.types import TBool, TEnum, TInt, TRef, Type


def key_fields(info: KindInfo) -> tuple[str, ...]:
    """The names of the kind's key fields in declaration order; () for a kind without names."""
    return tuple(f.name for f in info.fields if f.decl.key)


def key_type_ok(ty: Type) -> bool:
    """A key field holds a bool, a bounded integer, an enum member or a (non-optional)
    reference: a value that is fixed for the object's life and compared by identity. An
    optional reference could become `none` under two objects at once when what they name is
    deleted, and a set is not a name."""
    match ty:
        case TBool() | TEnum():
            return True
        case TInt(lo=lo, hi=hi):
            return lo is not None and hi is not None
        case TRef(optional=opt):
            return not opt
    return False
