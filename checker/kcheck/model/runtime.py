"""The functions generated model code calls at run time: each raises StepError with the
action, arguments and line of the step that left the model's bounds (spec/language.md section 7).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from kcheck.model.ir import State, StepError

# generated calls that may raise StepError: code containing them is never hoisted or grouped
RAISING = ("_some(", "_div(", "_live(", "_cached(", "_terms(", "_deref(")

# When several terms of a quantifier, an aggregate or a `for` fail, the error reported is the
# first by cause in this order, then by line; only the message may name other slots. So the
# error of a step never depends on the order of slots (spec/language.md section 7), which
# symmetry reduction needs: a bound entry is named by its action and cause.
CAUSES = (
    "none",
    "deleted",
    "uncached",
    "dead",
    "division",
    "range",
    "dangling",
    "exists",
    "no-free-slot",
)


def _pick(a: StepError | None, b: StepError) -> StepError:
    """The error to report of two: `a` (the one kept so far, or None) unless `b` comes first."""
    if a is None:
        return b
    ka = (CAUSES.index(a.code) if a.code in CAUSES else len(CAUSES), a.line)
    kb = (CAUSES.index(b.code) if b.code in CAUSES else len(CAUSES), b.line)
    return b if kb < ka else a


def _terms(term: Callable[[int], list[Any]], values: Iterable[int]) -> list[Any]:
    """Every term of a binding form, in slot order: `term(v)` is the list of what value v
    contributes (empty where `where` is false). Each term is evaluated even when an earlier one
    failed, and then the first error by `_pick` is raised: which terms fail does not depend on
    slot order, and neither does the error reported."""
    out: list[Any] = []
    err: StepError | None = None
    for v in values:
        try:
            out += term(v)
        except StepError as e:
            err = _pick(err, e)
    if err is not None:
        raise err
    return out


def _err(code: str, msg: str, aid: int, args: tuple[int, ...], line: int) -> None:
    raise StepError(code, msg, aid, args, line)


def _some(v: int, what: str, aid: int, args: tuple[int, ...], line: int) -> int:
    if v < 0:
        raise StepError("none", f"`{what}` is none", aid, args, line)
    return v


def _div(a: int, b: int, op: str, aid: int, args: tuple[int, ...], line: int) -> int:
    if b == 0:
        raise StepError(
            "division", f"division by zero ({a} {'/' if op == '//' else op} 0)", aid, args, line
        )
    return a // b if op == "//" else a % b


def _live(
    st: State | list[int],
    i: int,
    base: int,
    stride: int,
    slots: int,
    kind: str,
    aid: int,
    args: tuple[int, ...],
    line: int,
) -> int:
    if not 0 <= i < slots or not st[base + i * stride]:
        raise StepError("dead", f"{kind}[{i}] does not exist", aid, args, line)
    return i


def _deref(
    st: State | list[int],
    x: int,
    base: int,
    stride: int,
    kind: str,
    what: str,
    aid: int,
    args: tuple[int, ...],
    line: int,
) -> int:
    """A reference used to read or write its object: the object must still exist. An
    identity is never reused, so a reference to a deleted object names no object at all."""
    if not st[base + x * stride]:
        raise StepError("deleted", f"`{what}` names {kind}#{x}, which was deleted", aid, args, line)
    return x


def _member(x: int, s: int) -> bool:
    return x >= 0 and s >> x & 1 == 1


def _bits(it: Iterator[int]) -> int:
    out = 0
    for i in it:
        out |= 1 << i
    return out


def _cached(
    st: State | list[int],
    x: int,
    flag: int,
    stride: int,
    kind: str,
    controller: str,
    aid: int,
    args: tuple[int, ...],
    line: int,
) -> int:
    if not st[flag + x * stride]:
        raise StepError(
            "uncached", f"{kind}#{x} is not in {controller}'s cache of {kind}", aid, args, line
        )
    return x


RUNTIME_NS: dict[str, Any] = {
    "_err": _err,
    "_cached": _cached,
    "_some": _some,
    "_div": _div,
    "_live": _live,
    "StepError": StepError,
    "_deref": _deref,
    "_member": _member,
    "_bits": _bits,
    "_terms": _terms,
    "_pick": _pick,
    "min": min,
    "max": max,
    "abs": abs,
    "sum": sum,
    "all": all,
    "any": any,
    "range": range,
    "list": list,
    "tuple": tuple,
    "True": True,
    "False": False,
    "None": None,
}
