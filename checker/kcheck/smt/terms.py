"""The terms the Z3 encoding is built from, shared by every stage of it: a state is a tuple of
terms, an action instance a list of `Branch`es and a failure condition (spec/smt.md). The
`_and`/`_or`/`_ite` helpers fold constants so that the terms stay small."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import z3  # type: ignore[import-untyped]

from kcheck.lang.types import Type

Term = Any  # a z3 expression; z3 ships no type stubs
Env = dict[str, tuple[Term, Type]]

TRUE = z3.BoolVal(True)
FALSE = z3.BoolVal(False)


def _or(terms: list[Term]) -> Term:
    terms = [t for t in terms if not z3.is_false(t)]
    if not terms:
        return FALSE
    return terms[0] if len(terms) == 1 else z3.Or(*terms)


def _and(*terms: Term) -> Term:
    ts = [t for t in terms if not z3.is_true(t)]
    if not ts:
        return TRUE
    return ts[0] if len(ts) == 1 else z3.And(*ts)


def _ite(c: Term, a: Term, b: Term) -> Term:
    if z3.is_true(c):
        return a
    if z3.is_false(c):
        return b
    if a.eq(b):
        return a
    return z3.If(c, a, b)


@dataclass(frozen=True)
class Branch:
    """One way through an action instance: it completes when `ok` holds, leaving `state`."""

    ok: Term
    state: tuple[Term, ...]
    env: Env


@dataclass(frozen=True)
class Instance:
    """An action instance: its id and arguments, its successful branches, and when it fails."""

    action: int
    args: tuple[int, ...]
    branches: tuple[Branch, ...]
    fail: Term
