"""Bounded integers as bit-vectors (spec/smt.md, "The encoding"): BMC's queries, built over Z3
integers by encode.py, are solved as bit-vector formulas when that is exact.

Why: every integer of a model is bounded (ranges, enum indexes, slot numbers), and Z3 answers
a bit-blasted formula (its SAT core, `SolverFor("QF_BV")`) many times faster than the same
formula over unbounded integers with if-then-else terms.

Why it is exact. Every integer variable gets an interval *implied by the formulas asserted*:
the initial states pin state 0 (a disjunction of `v == c`), each step defines the next state
(`next == value`) and bounds its selector (`sel >= 0`, `sel < n`). Interval arithmetic then
bounds every integer subterm (and every partial sum and product) over all assignments within
those intervals. The width W is chosen so that all of them fit in W-bit two's complement, and
the intervals of the variables are asserted in the bit-vector formula too. Then on every
assignment within the intervals each bit-vector term has the value of its integer term, so the
bit-vector formula has a model exactly when the integer one has. A formula this cannot cover
(an unbounded variable, an operator not listed, a divisor that may be zero or negative, more
than 64 bits) raises `NotExact`; the caller then solves over integers as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import z3  # type: ignore[import-untyped]

from kcheck.smt.terms import Term

MAX_WIDTH = 64
Interval = tuple[int, int]


class NotExact(Exception):
    """The formula cannot be translated exactly (the reason says why)."""


def _width(lo: int, hi: int) -> int:
    """The fewest bits of two's complement that hold every value in [lo, hi]."""
    w = 1
    while not (-(1 << (w - 1)) <= lo and hi <= (1 << (w - 1)) - 1):
        w += 1
    return w


def _hull(a: Interval, b: Interval) -> Interval:
    return (min(a[0], b[0]), max(a[1], b[1]))


def _mul(a: Interval, b: Interval) -> Interval:
    ps = [x * y for x in a for y in b]
    return (min(ps), max(ps))


def _is_int_var(e: Term) -> bool:
    return bool(z3.is_const(e) and e.decl().kind() == z3.Z3_OP_UNINTERPRETED and z3.is_int(e))


_CMP = (z3.Z3_OP_LE, z3.Z3_OP_LT, z3.Z3_OP_GE, z3.Z3_OP_GT)


@dataclass
class _Seen:
    term: Term  # held, so that its id is not reused while the memo lives
    interval: Interval
    need: int  # bits for it and every intermediate value below it


class Intervals:
    """The intervals of integer variables implied by the asserted formulas, and of terms."""

    def __init__(self) -> None:
        self.var: dict[str, Interval] = {}
        self._memo: dict[int, _Seen] = {}

    def copy(self) -> Intervals:
        out = Intervals()
        out.var, out._memo = dict(self.var), dict(self._memo)
        return out

    def learn(self, formula: Term) -> dict[str, Interval]:
        """Record the bounds `formula` implies on variables without one (it is asserted);
        return those new ones."""
        new = {n: iv for n, iv in self._implied(formula).items() if n not in self.var}
        self.var.update(new)
        return new

    def _implied(self, f: Term) -> dict[str, Interval]:
        if z3.is_and(f):
            out: dict[str, Interval] = {}
            lows: dict[str, int] = {}
            highs: dict[str, int] = {}
            kids = f.children()
            for c in kids:  # bounds against constants first: they bound a selector
                self._compare(c, lows, highs)
            for name in lows.keys() & highs.keys():
                out[name] = (lows[name], highs[name])
            memo: dict[int, _Seen] = {}  # valid as `out` grows: a term needing more raised
            for c in kids:  # then definitions, in order, over variables bounded so far
                for name, iv in self._implied_in(c, out, memo).items():
                    out.setdefault(name, iv)
            return out
        return self._implied_in(f, {}, {})

    def _implied_in(
        self, f: Term, local: dict[str, Interval], memo: dict[int, _Seen]
    ) -> dict[str, Interval]:
        if z3.is_and(f):
            return self._implied(f)
        if z3.is_or(f):
            parts = [self._implied(c) for c in f.children()]
            common = set(parts[0]).intersection(*parts[1:]) if parts else set()
            out = {}
            for name in common:
                iv = parts[0][name]
                for p in parts[1:]:
                    iv = _hull(iv, p[name])
                out[name] = iv
            return out
        if z3.is_eq(f) and z3.is_int(f.arg(0)):
            for x, t in ((f.arg(0), f.arg(1)), (f.arg(1), f.arg(0))):
                if _is_int_var(x) and x.decl().name() not in local:
                    try:
                        return {x.decl().name(): self.interval(t, local, memo)}
                    except NotExact:
                        continue
        return {}

    @staticmethod
    def _compare(c: Term, lows: dict[str, int], highs: dict[str, int]) -> None:
        if not (z3.is_app(c) and c.decl().kind() in _CMP):
            return
        x, v = c.arg(0), c.arg(1)
        if not (_is_int_var(x) and z3.is_int_value(v)):
            return
        n, k, op = x.decl().name(), v.as_long(), c.decl().kind()
        if op == z3.Z3_OP_GE:
            lows[n] = max(lows.get(n, k), k)
        elif op == z3.Z3_OP_GT:
            lows[n] = max(lows.get(n, k + 1), k + 1)
        elif op == z3.Z3_OP_LE:
            highs[n] = min(highs.get(n, k), k)
        else:
            highs[n] = min(highs.get(n, k - 1), k - 1)

    def interval(
        self, e: Term, local: dict[str, Interval], memo: dict[int, _Seen] | None = None
    ) -> Interval:
        # bounds local to one conjunction are not final: memoize apart from the others
        return self._seen(e, local, self._memo if memo is None else memo).interval

    def seen(self, e: Term) -> _Seen:
        """The interval and bits of `e` over the variables' final intervals."""
        return self._seen(e, {}, self._memo)

    def need(self, e: Term) -> int:
        """Bits for every integer value in `e` and below it."""
        if not z3.is_int(e) and not z3.is_bool(e):
            raise NotExact(f"a term of sort {e.sort()}")
        return self._seen(e, {}, self._memo).need

    def _seen(self, e: Term, local: dict[str, Interval], memo: dict[int, _Seen]) -> _Seen:
        key = e.get_id()
        hit = memo.get(key) or self._memo.get(key)  # the final intervals hold in any case
        if hit is not None:
            return hit
        seen = self._compute(e, local, memo)
        memo[key] = seen
        return seen

    def decided(
        self,
        c: Term,
        local: dict[str, Interval] | None = None,
        memo: dict[int, _Seen] | None = None,
    ) -> bool | None:
        """The value of the comparison `c` when the intervals of its sides decide it."""
        if not (z3.is_app(c) and c.decl().kind() in _CMP):
            return None
        local, memo = local or {}, self._memo if memo is None else memo
        try:
            alo, ahi = self._seen(c.arg(0), local, memo).interval
            blo, bhi = self._seen(c.arg(1), local, memo).interval
        except NotExact:
            return None
        op = c.decl().kind()
        if op == z3.Z3_OP_GT:
            (alo, ahi), (blo, bhi), op = (blo, bhi), (alo, ahi), z3.Z3_OP_LT
        elif op == z3.Z3_OP_GE:
            (alo, ahi), (blo, bhi), op = (blo, bhi), (alo, ahi), z3.Z3_OP_LE
        if op == z3.Z3_OP_LT:
            return True if ahi < blo else False if alo >= bhi else None
        return True if ahi <= blo else False if alo > bhi else None

    def _compute(self, e: Term, local: dict[str, Interval], memo: dict[int, _Seen]) -> _Seen:
        if z3.is_app(e) and e.decl().kind() == z3.Z3_OP_ITE:
            # a condition the intervals decide (`b > 0` for a constant divisor b): only the
            # branch taken is ever evaluated, and only it is translated
            taken = self.decided(e.arg(0), local, memo)
            if taken is not None:
                return self._seen(e.arg(1) if taken else e.arg(2), local, memo)
        kids = [self._seen(c, local, memo) for c in e.children()]
        need = max((k.need for k in kids), default=1)
        if z3.is_bool(e):
            if z3.is_app(e) and e.decl().kind() in _OPS_BOOL:
                return _Seen(e, (0, 0), need)
            raise NotExact(f"the operator {e.decl().name()}")
        if not z3.is_int(e):
            raise NotExact(f"a term of sort {e.sort()}")
        if z3.is_int_value(e):
            v = e.as_long()
            iv = (v, v)
        elif _is_int_var(e):
            name = e.decl().name()
            got = self.var.get(name) or local.get(name)
            if got is None:
                raise NotExact(f"the unbounded variable {name}")
            iv = got
        else:
            op = e.decl().kind()
            ivs = [k.interval for k in kids]
            if op in (z3.Z3_OP_ADD, z3.Z3_OP_SUB, z3.Z3_OP_MUL):
                iv = ivs[0]
                for nxt in ivs[1:]:  # each partial result is a bit-vector term too
                    if op == z3.Z3_OP_ADD:
                        iv = (iv[0] + nxt[0], iv[1] + nxt[1])
                    elif op == z3.Z3_OP_SUB:
                        iv = (iv[0] - nxt[1], iv[1] - nxt[0])
                    else:
                        iv = _mul(iv, nxt)
                    need = max(need, _width(*iv))
            elif op == z3.Z3_OP_UMINUS:
                iv = (-ivs[0][1], -ivs[0][0])
            elif op == z3.Z3_OP_ITE:
                iv = _hull(ivs[1], ivs[2])
            elif op in (z3.Z3_OP_IDIV, z3.Z3_OP_MOD):
                (alo, ahi), (blo, bhi) = ivs
                if blo <= 0:
                    raise NotExact("a divisor that may be zero or negative")
                # the truncated quotient and remainder and their corrections are terms too
                need = max(need, _width(min(alo, -ahi) - bhi, max(ahi, -alo) + bhi))
                if op == z3.Z3_OP_IDIV:
                    iv = (min(alo // blo, alo // bhi), max(ahi // blo, ahi // bhi))
                else:
                    iv = (0, bhi - 1)
            else:
                raise NotExact(f"the operator {e.decl().name()}")
        return _Seen(e, iv, max(need, _width(*iv)))


_OPS_BOOL = {
    z3.Z3_OP_TRUE, z3.Z3_OP_FALSE, z3.Z3_OP_AND, z3.Z3_OP_OR, z3.Z3_OP_NOT, z3.Z3_OP_IMPLIES,
    z3.Z3_OP_XOR, z3.Z3_OP_EQ, z3.Z3_OP_DISTINCT, z3.Z3_OP_ITE, z3.Z3_OP_UNINTERPRETED, *_CMP,
}  # fmt: skip


class ToBitVec:
    """Translates integer formulas into bit-vector formulas, once per term. Each integer term
    gets the fewest bits its interval needs (a 0/1 slot two, an enum index a few): an
    operation is computed at the width that holds its operands and every partial result
    (`Intervals.need`), then cut to its own width, which is exact because its value lies in
    its interval; comparisons, equalities and if-then-else widen their operands by sign
    extension, which keeps the value. Valid only for terms whose `Intervals.need` is at most
    MAX_WIDTH."""

    def __init__(self, intervals: Intervals) -> None:
        self.intervals = intervals
        self.widest = 1
        self._memo: dict[int, tuple[Term, Term]] = {}

    def copy(self, intervals: Intervals) -> ToBitVec:
        """A translator over `intervals` (a copy of this one's) that starts from what this one
        has translated."""
        out = ToBitVec(intervals)
        out.widest, out._memo = self.widest, dict(self._memo)
        return out

    def var(self, name: str) -> Term:
        return z3.BitVec(name, _width(*self.intervals.var[name]))

    def __call__(self, e: Term) -> Term:
        key = e.get_id()
        hit = self._memo.get(key)
        if hit is not None:
            return hit[1]
        out = self._translate(e)
        self._memo[key] = (e, out)
        return out

    def _own(self, e: Term) -> int:
        """The bits of the integer term `e`'s own value."""
        return _width(*self.intervals.seen(e).interval)

    def _translate(self, e: Term) -> Term:
        if z3.is_int_value(e):
            v = e.as_long()
            return z3.BitVecVal(v, _width(v, v))
        if z3.is_const(e) and e.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            return self.var(e.decl().name()) if z3.is_int(e) else e
        if z3.is_true(e) or z3.is_false(e):
            return e
        op = e.decl().kind()
        if op == z3.Z3_OP_ITE and z3.is_int(e):
            taken = self.intervals.decided(e.arg(0))  # as Intervals measured it
            if taken is not None:
                return self(e.arg(1) if taken else e.arg(2))
        a = [self(c) for c in e.children()]
        match op:
            case z3.Z3_OP_ADD | z3.Z3_OP_SUB | z3.Z3_OP_MUL:
                w = self._work(e)
                a = [_fit(x, w) for x in a]
                out = a[0]
                for b in a[1:]:  # every partial result fits in w (Intervals.need)
                    if op == z3.Z3_OP_ADD:
                        out = out + b
                    elif op == z3.Z3_OP_SUB:
                        out = out - b
                    else:
                        out = out * b
                return _fit(out, self._own(e))
            case z3.Z3_OP_UMINUS:
                return _fit(-_fit(a[0], self._work(e)), self._own(e))
            case z3.Z3_OP_LE | z3.Z3_OP_LT | z3.Z3_OP_GE | z3.Z3_OP_GT:
                x, y = _same(a)
                if op == z3.Z3_OP_LE:
                    return x <= y  # signed, as z3's BitVecRef operators are
                if op == z3.Z3_OP_LT:
                    return x < y
                if op == z3.Z3_OP_GE:
                    return x >= y
                return x > y
            case z3.Z3_OP_EQ:
                if z3.is_bool(e.arg(0)):
                    return a[0] == a[1]
                x, y = _same(a)
                return x == y
            case z3.Z3_OP_DISTINCT:
                return z3.Distinct(*(_same(a) if z3.is_int(e.arg(0)) else a))
            case z3.Z3_OP_ITE:
                if z3.is_bool(e):
                    return z3.If(a[0], a[1], a[2])
                w = self._own(e)  # both branches lie in its interval, the hull of theirs
                return z3.If(a[0], _fit(a[1], w), _fit(a[2], w))
            case z3.Z3_OP_AND:
                return z3.And(*a)
            case z3.Z3_OP_OR:
                return z3.Or(*a)
            case z3.Z3_OP_NOT:
                return z3.Not(a[0])
            case z3.Z3_OP_IMPLIES:
                return z3.Implies(a[0], a[1])
            case z3.Z3_OP_XOR:
                return z3.Xor(a[0], a[1])
            case z3.Z3_OP_IDIV | z3.Z3_OP_MOD:
                # the divisor is positive (Intervals checked): floor division from truncated
                w = self._work(e)
                x, y = _fit(a[0], w), _fit(a[1], w)
                q, r = x / y, z3.SRem(x, y)  # `/` is bvsdiv: truncating
                neg = r < 0
                out = z3.If(neg, q - 1, q) if op == z3.Z3_OP_IDIV else z3.If(neg, r + y, r)
                return _fit(out, self._own(e))
        raise NotExact(f"the operator {e.decl().name()}")

    def _work(self, e: Term) -> int:
        """The width an operation is computed at: its operands and every partial result fit."""
        w = self.intervals.seen(e).need
        self.widest = max(self.widest, w)
        return w


def _fit(x: Term, w: int) -> Term:
    """The bit-vector `x` at width `w`: sign-extended, or cut when its value fits in `w` bits
    (the callers' intervals say it does)."""
    n = x.size()
    if n < w:
        return z3.SignExt(w - n, x)
    if n > w:
        return z3.Extract(w - 1, 0, x)
    return x


def _same(a: list[Term]) -> list[Term]:
    """Integer operands at one width (sign extension keeps each value)."""
    w = max(x.size() for x in a)
    return [_fit(x, w) for x in a]


def fits(need: int) -> bool:
    return need <= MAX_WIDTH


def signed(m: Any, v: Term) -> int:
    """The value of the bit-vector `v` in the model `m`, as a signed integer."""
    return int(m.eval(v, model_completion=True).as_signed_long())
