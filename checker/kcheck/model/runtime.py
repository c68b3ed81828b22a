"""The functions generated model code calls at run time: each raises StepError with the
action, arguments and line of the step that left the model's bounds (spec/language.md section 7).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kcheck.model.ir import State, StepError

# generated calls that may raise StepError: code containing them is never hoisted or grouped
RAISING = ("_some(", "_div(", "_live(", "_alive(", "_cached(")


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


def _alive(
    st: list[int],
    x: int,
    base: int,
    stride: int,
    kind: str,
    aid: int,
    args: tuple[int, ...],
    line: int,
) -> int:
    if not st[base + x * stride]:
        raise StepError("dead", f"{kind}#{x} was deleted earlier in this step", aid, args, line)
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
    "_alive": _alive,
    "_member": _member,
    "_bits": _bits,
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
