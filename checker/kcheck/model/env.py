"""What generated code knows while it is being generated: the names in scope, and where the
code runs."""

from __future__ import annotations

from dataclasses import dataclass

from kcheck.lang.types import Type


@dataclass(frozen=True)
class Local:
    code: str  # a Python expression: an int literal when known at compile time
    type: Type
    seen: bool = False  # an object bound by ranging over its kind: present in the reading view


Env = dict[str, Local]


@dataclass(frozen=True)
class Ctx:
    """Where generated code runs: the action (for error reports), the state variable, and what to
    emit once a successor is complete."""

    aid: int
    args: str
    sv: str
