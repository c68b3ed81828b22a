"""Sets over Z3 (spec/smt.md, "Sets"). A set of enum members or of a kind's objects is, as in the
compiled model's state, an integer bitmask; here it is built from one Z3 Bool per element,
`Sum(If(b_i, 2^i, 0))`. The bits of every mask built that way are remembered, so membership,
union, intersection, difference and size work on the Bools, never on integer division; a state's
set slot is such a sum over fresh Bools, so a Z3 model still converts back bit for bit.
"""

from __future__ import annotations

from typing import Any

import z3  # type: ignore[import-untyped]

Term = Any


class Bits:
    """The Bools behind the bitmask terms built so far (held, so that their ids stay theirs)."""

    def __init__(self) -> None:
        self._known: dict[int, tuple[Term, tuple[Term, ...]]] = {}

    def mask(self, bits: list[Term]) -> Term:
        """The bitmask with these bits; its bits are remembered."""
        if all(z3.is_true(b) or z3.is_false(b) for b in bits):
            m = z3.IntVal(sum(1 << i for i, b in enumerate(bits) if z3.is_true(b)))
        else:
            m = z3.Sum([z3.IntVal(0)] + [z3.If(b, 1 << i, 0) for i, b in enumerate(bits)])
        self._known[m.get_id()] = (m, tuple(bits))
        return m

    def known_bits(self, m: Term) -> tuple[Term, ...] | None:
        """The Bools a mask built here was made of, or None for a term not built by mask()."""
        known = self._known.get(m.get_id())
        return known[1] if known is not None and known[0].eq(m) else None

    def fresh(self, name: str, n: int) -> Term:
        return self.mask([z3.Bool(f"{name}_b{i}") for i in range(n)])

    def bits(self, m: Term, n: int) -> list[Term]:
        """The n lowest bits of a bitmask term, as Bools."""
        known = self._known.get(m.get_id())
        if known is not None and known[0].eq(m):
            out = list(known[1][:n])
            return out + [z3.BoolVal(False)] * (n - len(out))
        if z3.is_int_value(m):
            v = m.as_long()
            return [z3.BoolVal(v >= 0 and v >> i & 1 == 1) for i in range(n)]
        if z3.is_app_of(m, z3.Z3_OP_ITE):
            c, a, b = m.children()
            return [z3.If(c, x, y) for x, y in zip(self.bits(a, n), self.bits(b, n), strict=True)]
        return [(m / (1 << i)) % 2 == 1 for i in range(n)]  # not built here: the arithmetic way
