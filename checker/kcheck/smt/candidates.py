"""Candidate lemmas for invariant inference (spec/smt.md, "Invariant inference"): KDSL text over
a small grammar built from the model's own vocabulary, for the explicit engine to filter and the
Houdini fixpoint (infer.py) to prove. Each candidate is only text: it reaches the prover through
the model's own front end (as a `lemma` added to the source), never as a hand-built tree.

The grammar:
- bounds: `T <= c` for each count term T (`count(K)`, the objects of K with one field value,
  the sum of an int field over K) and
  each int var, and `T + budget(F) <= c` for each fault F (a fault's spent budget bounds what it
  did), for small constants c;
- per object: `forall x in K: x.f <= c`, `>= c` and `x.f + budget(F) <= c` for each int field;
  `forall x in K: d(x) <= x.f` (and `>=`, `==`, `<= c`) for each def d over K
  returning an int and each int field f of K; the same for `count y in L where y.r == x and A`
  for each reference field r of L to K and each atom A of L;
- between vars: `a <= b` for int vars, `A implies B` for atoms of bool and enum vars;
- implications between two fields of one object: `forall x in K: A implies B` for atoms A, B,
  and `forall x in K: A implies x.f <= c` for int fields f
  (an enum field equal or not to a member, a bool field, an optional reference set or not).
"""

from __future__ import annotations

from collections.abc import Iterator

from kcheck.lang import ast
from kcheck.lang.symbols import KindInfo, Symbols
from kcheck.lang.types import TBool, TEnum, TInt, TRef

MAX_CONST = 8  # the largest constant of a bound candidate: the models' sizes are small


def candidates(sym: Symbols) -> list[str]:
    """Every candidate for `sym`, without duplicates, in a stable order."""
    out: dict[str, None] = {}
    for text in _all(sym):
        out.setdefault(text, None)
    return list(out)


def _all(sym: Symbols) -> Iterator[str]:
    budgets = [d.name for d in sym.program.decls if isinstance(d, ast.Fault)]
    terms = list(_count_terms(sym))
    terms += [v.name for v in sym.vars.values() if isinstance(v.type, TInt)]
    for t in terms:
        for c in range(MAX_CONST + 1):
            yield f"{t} <= {c}"
        for b in budgets:
            for c in range(MAX_CONST + 1):
                yield f"{t} + budget({b}) <= {c}"
    for v in sym.vars.values():
        if isinstance(v.type, TInt):
            for c in range(MAX_CONST + 1):
                yield f"{v.name} >= {c}"
    yield from _between_vars(sym)
    for kind in sym.kinds.values():
        yield from _per_object(sym, kind)
        yield from _implications(kind, sym)


def _atoms(kind: KindInfo, sym: Symbols, x: str) -> Iterator[tuple[str, str]]:
    """(field, condition on object `x`) for each field value worth naming."""
    for f in kind.fields:
        if f.name.startswith("_"):
            continue
        if isinstance(f.type, TEnum):
            for m in sym.enums.get(f.type.name, ()):
                yield f.name, f"{x}.{f.name} == {m}"
                yield f.name, f"{x}.{f.name} != {m}"
        elif isinstance(f.type, TBool):
            yield f.name, f"{x}.{f.name}"
            yield f.name, f"not {x}.{f.name}"
        elif isinstance(f.type, TRef) and f.type.optional:
            yield f.name, f"{x}.{f.name} == none"
            yield f.name, f"{x}.{f.name} != none"


def _count_terms(sym: Symbols) -> Iterator[str]:
    for kind in sym.kinds.values():
        yield f"count({kind.name})"
        for _, cond in _atoms(kind, sym, "o"):
            yield f"(count o in {kind.name} where {cond})"
        for f in _int_fields(kind):
            yield f"(sum o.{f} for o in {kind.name})"


def _int_fields(kind: KindInfo) -> list[str]:
    return [f.name for f in kind.fields if isinstance(f.type, TInt) and not f.name.startswith("_")]


def _per_object(sym: Symbols, kind: KindInfo) -> Iterator[str]:
    """Relations between an object's int fields and the counts that refer to it."""
    x = "x"
    terms: list[str] = []
    for d in sym.defs.values():
        if (
            len(d.params) == 1
            and isinstance(d.params[0].type, ast.NamedType)
            and d.params[0].type.name == kind.name
            and isinstance(d.ret, ast.IntType | ast.RangeType)
        ):
            terms.append(f"{d.name}({x})")
    for other in sym.kinds.values():
        for r in other.fields:
            if isinstance(r.type, TRef) and r.type.kind == kind.name and other.name != kind.name:
                base = f"y.{r.name} == {x}"
                terms.append(f"(count y in {other.name} where {base})")
                for _, cond in _atoms(other, sym, "y"):
                    terms.append(f"(count y in {other.name} where {base} and {cond})")
    ints = _int_fields(kind)
    budgets = [d.name for d in sym.program.decls if isinstance(d, ast.Fault)]
    for f in ints:  # each object's own fields, alone and with what a fault has spent
        for c in range(MAX_CONST + 1):
            yield f"forall {x} in {kind.name}: {x}.{f} <= {c}"
            yield f"forall {x} in {kind.name}: {x}.{f} >= {c}"
            for b in budgets:
                yield f"forall {x} in {kind.name}: {x}.{f} + budget({b}) <= {c}"
    for t in terms:
        for f in ints:
            for op in ("<=", ">=", "=="):
                yield f"forall {x} in {kind.name}: {t} {op} {x}.{f}"
        for c in range(min(MAX_CONST, kind.size) + 1):
            yield f"forall {x} in {kind.name}: {t} <= {c}"


def _implications(kind: KindInfo, sym: Symbols) -> Iterator[str]:
    atoms = list(_atoms(kind, sym, "x"))
    for fa, a in atoms:
        for fb, b in atoms:
            if fa != fb:
                yield f"forall x in {kind.name}: {a} implies {b}"
        for f in _int_fields(kind):
            for c in range(MAX_CONST + 1):
                yield f"forall x in {kind.name}: {a} implies x.{f} <= {c}"


def _between_vars(sym: Symbols) -> Iterator[str]:
    """`a <= b` between int vars, implications between bool vars and var atoms."""
    ints = [v.name for v in sym.vars.values() if isinstance(v.type, TInt)]
    for a in ints:
        for b in ints:
            if a != b:
                yield f"{a} <= {b}"
    atoms: list[tuple[str, str]] = []
    for v in sym.vars.values():
        if isinstance(v.type, TBool):
            atoms += [(v.name, v.name), (v.name, f"not {v.name}")]
        elif isinstance(v.type, TEnum):
            for m in sym.enums.get(v.type.name, ()):
                atoms += [(v.name, f"{v.name} == {m}"), (v.name, f"{v.name} != {m}")]
    for va, a in atoms:
        for vb, b in atoms:
            if va != vb:
                yield f"{a} implies {b}"
