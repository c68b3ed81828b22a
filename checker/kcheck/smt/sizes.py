"""Symbolic sizes (spec/smt.md, "Symbolic sizes"): `--size NAME=LO..HI` makes a `const` that
sizes a kind (`kind Node[NODES]`) one Z3 constant within LO..HI, so one query covers the model
at every `-D NAME=n` for n in LO..HI at once.

The encoding is the slot encoding of encode.py at the largest size: each kind sized by NAME gets
HI slots, and a slot numbered n or more never holds an object, because `create` fails (no free
slot) where the lowest free slot is n or beyond. Since `create` takes the lowest free slot and
the slots from n on stay empty, the lowest free slot below n is the one the model with
`-D NAME=n` takes: every state and step of that model is a state and step of this encoding
with the slots from n on empty, and back. Ranges of fields and vars that name the size
(`rank: 0..PODS - 1`) are checked against the symbolic bounds. Everything else is
--symbolic-params (params.py): the sizes are params to it, minimised first when a violation's
smallest configuration is looked for, and every violation is replayed on the model compiled
with `-D NAME=n` before it is reported.

What cannot follow a symbolic size is refused before solving: a const derived from it, a fault
budget or score weight naming it (refuse.py), a declared range naming it outside a kind's field
or a var.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import z3  # type: ignore[import-untyped]

from kcheck.lang import ast
from kcheck.lang.symbols import ParamInfo, Symbols, build_symbols
from kcheck.lang.types import TInt
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel
from kcheck.result import HOLDS, VIOLATED, CheckResult, Stats
from kcheck.smt.encode import Encoder
from kcheck.smt.params import SMT_MAX_KIND_SIZE
from kcheck.smt.refuse import Unsupported
from kcheck.smt.terms import TRUE, Term, _and

_SPEC = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\d+)\s*\.\.\s*(\d*)\s*$")


@dataclass(frozen=True)
class SizeRange:
    """`--size NAME=LO..HI`; `NAME=LO..` (hi None): any number from LO on."""

    name: str
    lo: int
    hi: int | None

    def __str__(self) -> str:
        return f"{self.name} in {self.lo}..{'' if self.hi is None else self.hi}"


class SizeError(Exception):
    """A `--size` the model cannot take (bad usage: exit 2)."""


def parse_size(text: str) -> SizeRange:
    m = _SPEC.match(text)
    if m is None:
        raise SizeError(
            f"--size {text}: expected NAME=LO..HI or NAME=LO.., e.g. --size NODES=1..100"
        )
    name, lo = m.group(1), int(m.group(2))
    if not m.group(3):
        return SizeRange(name, lo, None)
    hi = int(m.group(3))
    if lo > hi:
        raise SizeError(f"--size {text}: the range {lo}..{hi} is empty")
    if hi > SMT_MAX_KIND_SIZE:
        raise SizeError(f"--size {text}: the Z3 engine takes sizes up to {SMT_MAX_KIND_SIZE}")
    return SizeRange(name, lo, hi)


def _sized_kinds(sym: Symbols, names: set[str]) -> dict[str, ast.Kind]:
    return {k: info.decl for k, info in sym.kinds.items() if ast.names_in(info.decl.size) & names}


def _const_decls(sym: Symbols) -> list[ast.Const]:
    return [d for d in sym.program.decls if isinstance(d, ast.Const)]


def _check_uses(sym: Symbols, sizes: Sequence[SizeRange]) -> None:
    """Refuse what cannot follow a symbolic size, naming it and its line."""
    names = {s.name for s in sizes}
    for s in sizes:
        if s.name in sym.params:
            raise SizeError(f"--size {s.name}: `{s.name}` is a param; --symbolic-params covers it")
        if s.name not in sym.consts:
            raise SizeError(f"--size {s.name}: the model has no const `{s.name}`")
    sized = _sized_kinds(sym, names)
    for s in sizes:
        if not any(s.name in ast.names_in(k.size) for k in sized.values()):
            raise SizeError(
                f"--size {s.name}: no kind is sized by `{s.name}` (write `kind K[{s.name}]`)"
            )
    for c in _const_decls(sym):
        used = ast.names_in(c.value) & names
        if used and c.name not in names:
            raise Unsupported(
                f"const `{c.name}` derived from the symbolic size `{sorted(used)[0]}`",
                c.span.line,
            )
    allowed: set[int] = set()  # the ranges of fields and vars: checked symbolically
    for k in sym.kinds.values():
        allowed.update(id(f.type) for f in k.decl.fields)
    allowed.update(id(v.decl.type) for v in sym.vars.values())
    for node in ast.walk_nodes(sym.program):
        if (
            isinstance(node, ast.RangeType)
            and ast.names_in(node) & names
            and id(node) not in allowed
        ):
            raise Unsupported("a declared range that names a symbolic size", node.span.line)


def sized_symbols(sym: Symbols, sizes: Sequence[SizeRange]) -> Symbols:
    """The model at the largest sizes, each size also a param over its range (first, so the
    smallest failing configuration has the fewest objects)."""
    _check_uses(sym, sizes)
    overrides: dict[str, int | str] = {**sym.consts, **{s.name: _hi(s) for s in sizes}}
    big, diags = build_symbols(sym.program, overrides, max_kind_size=SMT_MAX_KIND_SIZE)
    errors = [d for d in diags if d.severity == "error"]
    if errors:
        where = f" (line {errors[0].span.line})" if errors[0].span else ""
        raise SizeError(f"at the largest sizes the model does not load: {errors[0].message}{where}")
    return with_size_params(big, sym, sizes)


def with_size_params(big: Symbols, sym: Symbols, sizes: Sequence[SizeRange]) -> Symbols:
    """`big` (a copy) with each size also a param over its range, first."""
    params: dict[str, ParamInfo] = {}
    for s in sizes:
        span = next(c.span for c in _const_decls(sym) if c.name == s.name)
        hi = ast.IntLit(_hi(s), span=span)
        rng = ast.RangeType(ast.IntLit(s.lo, span=span), hi, span=span)
        decl = ast.Param(s.name, rng, hi, name_span=span, span=span)
        params[s.name] = ParamInfo(s.name, TInt(s.lo, _hi(s)), _hi(s), decl)
    return replace(big, params={**params, **big.params})


class SizedEncoder(Encoder):
    """The slot encoding at the largest sizes, with `create` failing past the symbolic size and
    size-dependent ranges checked against their symbolic bounds."""

    def __init__(self, model: CompiledModel, sym: Symbols, sizes: Sequence[SizeRange]) -> None:
        super().__init__(model, sym, symbolic_params=True)
        names = {s.name for s in sizes}
        # kind -> its number of slots, a term over the size params
        self.limits: dict[str, Term] = {
            k: self.expr(d.size, {}, ())[0] for k, d in _sized_kinds(sym, names).items()
        }
        at_max = [(self.params[s.name], z3.IntVal(_hi(s))) for s in sizes]
        # declared range at the largest sizes -> its bounds as terms over the sizes
        self.ranges: dict[tuple[int, int], tuple[Term, Term]] = {}
        fixed: dict[tuple[int, int], int] = {}  # the ranges that do not name a size: line
        decls = [f.type for k in sym.kinds.values() for f in k.decl.fields]
        decls += [v.decl.type for v in sym.vars.values()]
        for t in decls:
            if not isinstance(t, ast.RangeType):
                continue
            lo, hi = self.expr(t.lo, {}, ())[0], self.expr(t.hi, {}, ())[0]
            key = (_value(lo, at_max), _value(hi, at_max))
            if ast.names_in(t) & names:
                self.ranges[key] = (lo, hi)
            else:
                fixed[key] = t.span.line
        for key, line in fixed.items():
            if key in self.ranges:  # the layout's types alone could not tell them apart
                raise Unsupported(
                    f"the range {key[0]}..{key[1]}, also a symbolic size's range at its largest",
                    line,
                )

    def _no_slot(self, kind: str, slot: Term) -> Term:
        limit = self.limits.get(kind)
        return slot < 0 if limit is None else z3.Or(slot < 0, slot >= limit)

    def _range_err(self, ty: object, v: Term) -> Term:
        if isinstance(ty, TInt) and (ty.lo, ty.hi) in self.ranges:
            lo, hi = self.ranges[(ty.lo, ty.hi)]  # type: ignore[index]
            return z3.Or(v < lo, v > hi)
        return super()._range_err(ty, v)  # type: ignore[arg-type]

    def within_sizes(self, st: tuple[Term, ...]) -> Term:
        """The slots past a kind's size are empty; size-dependent ranges hold."""
        parts: list[Term] = []
        for kname, limit in self.limits.items():
            k = self.layout.kind(kname)
            parts += [z3.Or(limit > i, st[k.slot_base(i)] == 0) for i in range(k.slots)]
        for var in self.layout.vars:
            key = _key(var.type)
            r = self.ranges.get(key) if key is not None else None
            if r is not None:
                parts.append(z3.And(st[var.index] >= r[0], st[var.index] <= r[1]))
        for k in self.layout.kinds:
            for f in k.fields:
                key = _key(f.type)
                r = self.ranges.get(key) if key is not None else None
                if r is None or f.hidden:
                    continue
                for i in range(k.slots):
                    v = st[k.slot_base(i) + f.offset]
                    live = st[k.slot_base(i)] == 1
                    parts.append(z3.Implies(live, z3.And(v >= r[0], v <= r[1])))
        return _and(*parts) if parts else TRUE


def _hi(s: SizeRange) -> int:
    assert s.hi is not None, "an unbounded size has no largest value"
    return s.hi


def _key(ty: object) -> tuple[int, int] | None:
    if isinstance(ty, TInt) and ty.lo is not None and ty.hi is not None:
        return (ty.lo, ty.hi)
    return None


def _value(t: Term, at: list[tuple[Term, Term]]) -> int:
    v = z3.simplify(z3.substitute(t, *at) if at else t)
    if not z3.is_int_value(v):
        raise Unsupported(f"a declared range whose bound {t} is not fixed by the sizes", 0)
    return int(v.as_long())


def check_sized(
    sym: Symbols,
    sizes: Sequence[SizeRange],
    engine: str,
    invariants: Sequence[str] | None,
    properties: Sequence[str] | None,
    depth: int,
    max_k: int,
    timeout_s: float,
) -> CheckResult:
    """BMC or k-induction with every size (and param) symbolic. Raises SizeError or
    Unsupported before solving."""
    from kcheck.smt.induction import induction
    from kcheck.smt.params import symbolic_bmc

    if any(s.hi is None for s in sizes):
        return _any_number(sym, sizes, engine, invariants, properties, max_k, timeout_s)
    big = sized_symbols(sym, sizes)
    model = compile_model(big, symmetry=False)

    def encoder(m: CompiledModel, s: Symbols, _params: bool) -> Encoder:
        return SizedEncoder(m, s, sizes)

    if engine == "induction":
        result = induction(model, big, max_k, invariants, timeout_s, True, properties, encoder)
    else:
        result = symbolic_bmc(model, big, depth, invariants, timeout_s, properties, encoder)
    shown = ", ".join(f"every {s.name} in {s.lo}..{s.hi}" for s in sizes)
    real = bool(sym.params)
    for i, p in enumerate(result.properties):
        if p.status == HOLDS and p.reason and p.reason.endswith("for every value of the params"):
            tail = f"for {shown}" + (" and every value of the params" if real else "")
            reason = p.reason.removesuffix("for every value of the params") + tail
            result.properties[i] = replace(p, reason=reason)
    sized = _sized_kinds(sym, {s.name for s in sizes})
    kinds = ", ".join(f"{k}[{_text(d.size)}]" for k, d in sized.items())
    result.notes.append(
        f"sizes symbolic: {', '.join(map(str, sizes))} ({kinds}): a proof is for every such"
        " size, not for any number of objects"
    )
    return result


def _text(e: ast.Expr) -> str:
    return e.id if isinstance(e, ast.Name) else "..."


def _any_number(
    sym: Symbols,
    sizes: Sequence[SizeRange],
    engine: str,
    invariants: Sequence[str] | None,
    properties: Sequence[str] | None,
    max_k: int,
    timeout_s: float,
) -> CheckResult:
    """`--size NAME=LO..`: induction with the sized kinds as uninterpreted sorts."""
    from kcheck.smt.refuse import temporal_not_checked
    from kcheck.smt.unbounded_step import prove_unbounded

    if engine != "induction":
        raise SizeError("--size NAME=LO.. (any number of objects) needs --engine induction")
    if any(s.hi is not None for s in sizes):
        raise SizeError("--size: give every size an upper bound (NAME=LO..HI) or none (NAME=LO..)")
    _check_uses(sym, sizes)
    t0 = time.monotonic()
    lows = {s.name: s.lo for s in sizes}

    def shown(values: dict[str, int]) -> Symbols:
        return with_size_params(sym, sym, [SizeRange(n, v, v) for n, v in values.items()])

    entries, notes, k = prove_unbounded(sym, shown, lows, max_k, invariants, timeout_s)
    model = compile_model(sym, symmetry=False)
    entries += temporal_not_checked(model, properties, "induction", invariants)
    stats = Stats(depth=k, seconds=time.monotonic() - t0)
    decided = all(p.status in (HOLDS, VIOLATED) for p in entries)
    notes = [f"k-induction with k up to {max_k}", *notes]
    return CheckResult(sym.program.name, "induction", stats, entries, complete=decided,
                       limit=None if decided else f"k {max_k}", notes=notes)  # fmt: skip
