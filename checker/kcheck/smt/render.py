"""Spacer's invariant clauses (over one integer per layout slot, chc.py) read back as KDSL
expressions a user can paste as `lemma` lines (spec/smt.md, "Invariant inference"): a slot of
a var is its name, of a spent budget `B - budget(F)`, of an object's field `x.f` with `x` bound
by `forall x in K` (distinct objects of one kind kept apart by `x != y`); every slot of a kind's
presence flags is `count(K)`, every slot of one int field `(sum o.f for o in K)`. An atom on one
slot is read by trying every value of the slot's type (`x.phase >= 2` is `x.phase == Failed`).

A clause about one slot reads as a claim about every object of its kind: that may say more
than the clause, so engines/infer.py keeps only the lines the invariant implies (checked by Z3).
Clauses that do not read back (a slot of a set, a reference to an object's slot number, a
partial sum of slots) give None."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import z3  # type: ignore[import-untyped]

from kcheck.lang.types import TBool, TEnum, TInt, TRef, Type
from kcheck.model.ir import Layout
from kcheck.smt.chc import SLOT
from kcheck.smt.terms import Term

NAMES = ("x", "y", "z")  # at most three objects per clause


@dataclass(frozen=True)
class Slot:
    what: str  # "var", "budget", "present" or "field"
    name: str  # the var, the fault, the field
    type: Type | None = None
    obj: tuple[str, int] | None = None  # (kind, slot) of an object's presence flag or field
    budget: int = 0


def slots(layout: Layout) -> list[Slot | None]:
    """What each slot of `layout` is (None: a controller's hidden state)."""
    out: list[Slot | None] = [None] * layout.width
    for v in layout.vars:
        out[v.index] = None if "@" in v.name else Slot("var", v.name, v.type)
    for b in layout.budgets:
        out[b.index] = Slot("budget", b.fault, budget=b.budget)
    for k in layout.kinds:
        for i in range(k.slots):
            base = k.slot_base(i)
            out[base] = Slot("present", k.name, obj=(k.name, i))
            for f in k.fields:
                if f.offset and not f.hidden and f.presence == 0:
                    out[base + f.offset] = Slot("field", f.name, f.type, (k.name, i))
    return out


def render(clause: Term, layout: Layout) -> str | None:
    """`clause` as a KDSL boolean expression, or None when it does not read back."""
    return _Reader(layout).clause(clause)


class _Reader:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.slots = slots(layout)
        self.binders: dict[tuple[str, int], str] = {}

    def clause(self, t: Term) -> str | None:
        body = self.expr(t)
        if body is None or body == "true" or len(self.binders) > len(NAMES):
            return None
        objs = list(self.binders.items())
        distinct = [f"{a} != {b}" for i, ((ka, _), a) in enumerate(objs)
                    for (kb, _), b in objs[i + 1 :] if ka == kb]  # fmt: skip
        if distinct:
            body = f"({' and '.join(distinct)}) implies ({body})"
        for (kind, _), name in reversed(objs):
            body = f"forall {name} in {kind}: {body}"
        return body

    def binder(self, obj: tuple[str, int]) -> str | None:
        if obj not in self.binders:
            if len(self.binders) >= len(NAMES):
                return None
            self.binders[obj] = NAMES[len(self.binders)]
        return self.binders[obj]

    # ---- boolean structure, with constants folded
    def expr(self, t: Term) -> str | None:
        if z3.is_true(t):
            return "true"
        if z3.is_false(t):
            return "false"
        if z3.is_not(t):
            inner = t.children()[0]
            if _is_cmp(inner) and _is_bool(inner.children()[0]):
                return self.iff(inner, negate=True)
            if _is_cmp(inner):
                return self.atom(inner, negate=True)
            s = self.expr(inner)
            return None if s is None else _not(s)
        if z3.is_and(t) or z3.is_or(t):
            parts = [self.expr(c) for c in t.children()]
            if any(p is None for p in parts):
                return None
            return _join(" and " if z3.is_and(t) else " or ", [p for p in parts if p is not None])
        if z3.is_implies(t):
            a, b = (self.expr(c) for c in t.children())
            if a is None or b is None:
                return None
            return _join(" or ", [_not(a), b])
        if _is_cmp(t) and _is_bool(t.children()[0]):
            return self.iff(t, negate=False)
        if _is_cmp(t):
            return self.atom(t, negate=False)
        return None

    def iff(self, t: Term, negate: bool) -> str | None:
        """`A == B` (`A != B` when negated or distinct) between two Booleans: Spacer's
        clauses use it, and it has no arithmetic to read."""
        if len(t.children()) != 2 or not (z3.is_eq(t) or z3.is_distinct(t)):
            return None
        a, b = (self.expr(c) for c in t.children())
        if a is None or b is None:
            return None
        if negate != z3.is_distinct(t):  # exactly one of them holds
            return _join(" or ", [_join(" and ", [a, _not(b)]), _join(" and ", [_not(a), b])])
        return _join(" or ", [_join(" and ", [a, b]), _join(" and ", [_not(a), _not(b)])])

    # ---- atoms
    def atom(self, t: Term, negate: bool) -> str | None:
        used = {int(str(c)[len(SLOT) :]) for c in _slot_consts(t)}
        if len(used) == 1:
            return self.one_slot(t, used.pop(), negate)
        lin = _linear(t.children()[0] - t.children()[1])
        if lin is None or not (z3.is_le(t) or z3.is_ge(t) or z3.is_eq(t)):
            return None
        coefs, const = lin
        terms = self.terms(coefs)
        if terms is None:
            return None
        op = "<=" if z3.is_le(t) else ">=" if z3.is_ge(t) else "=="
        if negate:
            op = {"<=": ">", ">=": "<", "==": "!="}[op]
        return f"{terms} {op} {_num(-const)}"

    def one_slot(self, t: Term, i: int, negate: bool) -> str | None:
        s = self.slots[i]
        if s is None:
            return None
        dom = self.domain(s)
        if dom is None:
            return None
        if s.obj is not None and self.binder(s.obj) is None:
            return None  # the clause is about the object: it is bound, even where only live
        var = z3.Int(f"{SLOT}{i}")
        sat = [v for v in dom if z3.is_true(z3.simplify(z3.substitute(t, (var, z3.IntVal(v)))))]
        if negate:
            sat = [v for v in dom if v not in sat]
        if len(sat) == len(dom):
            return "true"
        if not sat:
            return "false"
        if s.what == "present":
            return None  # only the object's own flag reads back (as true), and dom is {1}
        if s.what == "budget":
            left = sorted(s.budget - v for v in sat)
            return _interval("budget(" + s.name + ")", left, 0, s.budget)
        term = s.name if s.obj is None else f"{self.binder(s.obj)}.{s.name}"
        ty = s.type
        if isinstance(ty, TBool):
            return term if sat == [1] else f"not {term}"
        if isinstance(ty, TEnum):
            members = self.layout.enums[ty.name]
            if len(sat) == 1:
                return f"{term} == {members[sat[0]]}"
            if len(dom) - len(sat) == 1:
                (v,) = set(dom) - set(sat)
                return f"{term} != {members[v]}"
            return f"{term} in {{{', '.join(members[v] for v in sat)}}}"
        if isinstance(ty, TRef):
            if sat == [-1]:
                return f"{term} == none"
            if sorted(set(dom) - set(sat)) == [-1]:
                return f"{term} != none"
            return None  # a slot number: no name for it that survives symmetry
        if isinstance(ty, TInt) and ty.lo is not None and ty.hi is not None:
            return _interval(term, sat, ty.lo, ty.hi)
        return None

    def domain(self, s: Slot) -> list[int] | None:
        if s.what == "present":
            return [1]  # an object bound by `forall` is live
        if s.what == "budget":
            return list(range(s.budget + 1))
        ty = s.type
        if isinstance(ty, TBool):
            return [0, 1]
        if isinstance(ty, TEnum):
            return list(range(len(self.layout.enums[ty.name])))
        if isinstance(ty, TRef):
            return list(range(-1 if ty.optional else 0, self.layout.kind(ty.kind).slots))
        if isinstance(ty, TInt) and ty.lo is not None and ty.hi is not None:
            if ty.hi - ty.lo > 64:
                return None
            return list(range(ty.lo, ty.hi + 1))
        return None

    def terms(self, coefs: dict[int, Fraction]) -> str | None:
        """A linear combination of slots as KDSL terms: whole kinds as counts and sums."""
        parts: list[tuple[Fraction, str]] = []
        left = dict(coefs)
        for k in self.layout.kinds:
            groups = [[k.slot_base(i) for i in range(k.slots)]]
            names = [f"count({k.name})"]
            for f in k.fields:
                if f.offset and not f.hidden and isinstance(f.type, TInt):
                    groups.append([k.slot_base(i) + f.offset for i in range(k.slots)])
                    names.append(f"(sum o.{f.name} for o in {k.name})")
            for group, name in zip(groups, names, strict=True):
                cs = {left.get(j) for j in group}
                if len(cs) == 1 and None not in cs:
                    c = cs.pop()
                    assert c is not None
                    parts.append((c, name))
                    for j in group:
                        del left[j]
        const = Fraction(0)
        for j, c in left.items():
            s = self.slots[j]
            if s is None:
                return None
            if s.what == "var" and isinstance(s.type, TInt):
                parts.append((c, s.name))
            elif s.what == "var" and isinstance(s.type, TBool):
                parts.append((c, f"(if {s.name} then 1 else 0)"))
            elif s.what == "budget":
                const += c * s.budget
                parts.append((-c, f"budget({s.name})"))
            elif s.what == "field" and s.obj is not None and isinstance(s.type, TInt | TBool):
                b = self.binder(s.obj)
                if b is None:
                    return None
                term = f"{b}.{s.name}"
                parts.append(
                    (c, term if isinstance(s.type, TInt) else f"(if {term} then 1 else 0)")
                )
            else:
                return None
        if any(c.denominator != 1 for c, _ in parts) or const.denominator != 1:
            return None
        out = ""
        for c, name in parts:
            if c == 0:
                continue
            mag = "" if abs(c) == 1 else f"{abs(c)} * "
            sign = "-" if c < 0 else "+"
            out = f"{sign} {mag}{name}" if not out else f"{out} {sign} {mag}{name}"
        if const:
            out = f"{out} {'+' if const > 0 else '-'} {abs(const)}"
        if not out:
            return None
        return out[2:] if out.startswith("+ ") else "-" + out[2:]


def _interval(term: str, vals: list[int], lo: int, hi: int) -> str | None:
    a, b = min(vals), max(vals)
    if len(vals) != b - a + 1:
        return " or ".join(f"{term} == {v}" for v in vals) if len(vals) <= 3 else None
    if a == b:
        return f"{term} == {a}"
    if a == lo:
        return f"{term} <= {b}"
    if b == hi:
        return f"{term} >= {a}"
    return f"{a} <= {term} and {term} <= {b}"


def _is_cmp(t: Term) -> bool:
    return bool(
        z3.is_le(t) or z3.is_ge(t) or z3.is_lt(t) or z3.is_gt(t) or z3.is_eq(t) or z3.is_distinct(t)
    )


def _is_bool(t: Term) -> bool:
    return bool(z3.is_bool(t))


def _not(s: str) -> str:
    return {"true": "false", "false": "true"}.get(s, f"not ({s})")


def _join(sep: str, parts: list[str]) -> str:
    unit, zero = ("true", "false") if sep == " and " else ("false", "true")
    if zero in parts:
        return zero
    parts = [p for p in parts if p != unit]
    if not parts:
        return unit
    return parts[0] if len(parts) == 1 else sep.join(f"({p})" for p in parts)


def _num(c: Fraction) -> str:
    return str(c.numerator) if c.denominator == 1 else "?"


def _slot_consts(t: Term) -> list[Term]:
    if z3.is_const(t) and str(t).startswith(SLOT):
        return [t]
    return [c for a in t.children() for c in _slot_consts(a)]


def _linear(t: Term) -> tuple[dict[int, Fraction], Fraction] | None:
    """`t` as (coefficient per slot, constant), or None when it is not linear in slots."""
    if z3.is_int_value(t):
        return {}, Fraction(t.as_long())
    if z3.is_const(t) and str(t).startswith(SLOT):
        return {int(str(t)[len(SLOT) :]): Fraction(1)}, Fraction(0)
    if z3.is_add(t) or z3.is_sub(t):
        out: dict[int, Fraction] = {}
        const = Fraction(0)
        for n, c in enumerate(t.children()):
            lin = _linear(c)
            if lin is None:
                return None
            sign = -1 if z3.is_sub(t) and n > 0 else 1
            for j, v in lin[0].items():
                out[j] = out.get(j, Fraction(0)) + sign * v
            const += sign * lin[1]
        return out, const
    if z3.is_mul(t) and len(t.children()) == 2:
        a, b = t.children()
        if not z3.is_int_value(a):
            a, b = b, a
        lin = _linear(b)
        if not z3.is_int_value(a) or lin is None:
            return None
        k = Fraction(a.as_long())
        return {j: k * v for j, v in lin[0].items()}, k * lin[1]
    if t.decl().kind() == z3.Z3_OP_UMINUS:
        lin = _linear(t.children()[0])
        return None if lin is None else ({j: -v for j, v in lin[0].items()}, -lin[1])
    return None
