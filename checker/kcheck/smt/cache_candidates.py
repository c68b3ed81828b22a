"""Candidate lemmas about controllers' informer caches (spec/smt.md, "Invariant inference"):
what a controller that `watches K stale` (or `coalesced`) may have in its cache, against the
real objects, in KDSL through `seen_by(X, e)`. A controller guarded by expectations is safe only
because of such facts: every pod it created and has not seen yet is in its `expected` set, and
what its cache shows of a pod the apiserver still has is the pod at some earlier moment.

For each such controller X, kind K it caches, and object x of K, with `C(x)` the presence of x
in X's cache (`seen_by(X, exists q in K: q == x)`):
- a field that the cache copies as it is: `C(x) implies seen_by(X, x.f) == x.f` (an owner);
- an atom A of x that only ever stays true once it holds (a phase reached): `C(x) and
  seen_by(X, A) implies A`;
- cached objects with an atom A are all still at the apiserver (what the cache remembers of
  deleted objects is in another state): `seen_by(X, count o in K where A) <= (count x in K
  where C(x) and seen_by(X, A))`;
- the controller acted on what it saw: `C(x) and seen_by(X, A and B) implies not (A and B)`
  for two atoms of different fields (enum-set memberships too);
- what is not cached yet is remembered: `not C(x) implies x in S` and `B and not C(x) implies
  x in S` for each atom B of x, where S is a set of K objects kept by a controller: a var, or
  one kept per object of a kind that x refers to (`replicaset.expected[x.owner]`);
- the model's invariants as the cache sees them (a cache is its kinds at a past moment, when
  they held): `seen_by(X, I)`;
- counts as the cache sees them against the real ones: `seen_by(X, T) <= T`, `>=`, for each
  count term T of K, and the objects the cache or the apiserver still has (a slot `create` may
  not take) with what the faults can still do: `U <= c`, `U + budget(F) <= c`, and
  `U - T + budget(F) <= c` (the slots held by what a fault did: pods crashed, deleted from the
  apiserver but still cached).

Each is only text: the explicit engine filters it and Houdini proves it, as every candidate.
"""

from __future__ import annotations

from collections.abc import Iterator

from kcheck.lang import ast
from kcheck.lang.fmt_expr import format_expr
from kcheck.lang.symbols import KindInfo, Symbols, stale_watches
from kcheck.lang.types import TRef, TSet
from kcheck.smt.atoms import MAX_CONST, _atoms


def cache_candidates(sym: Symbols) -> Iterator[str]:
    """The family above, in a stable order."""
    budgets = [d.name for d in sym.program.decls if isinstance(d, ast.Fault)]
    for x_name, kinds in stale_watches(sym).items():
        for kname in kinds:
            kind = sym.kinds.get(kname)
            if kind is None:
                continue
            cached = f"seen_by({x_name}, exists q in {kname}: q == x)"
            head = f"forall x in {kname}:"
            for f in kind.fields:
                if not f.name.startswith("_") and "." not in f.name:
                    yield f"{head} {cached} implies seen_by({x_name}, x.{f.name}) == x.{f.name}"
            own = list(_atoms(kind, sym, "x"))
            for (_, a), (_, mine) in zip(own, _atoms(kind, sym, "o"), strict=True):
                yield f"{head} {cached} and seen_by({x_name}, {a}) implies {a}"
                # every cached object with `a` (`mine`, of o) is still at the apiserver (only
                # objects in some other state are deleted, and the cache holds them until it
                # syncs)
                yield (f"seen_by({x_name}, (count o in {kname} where {mine})) <= "
                       f"(count x in {kname} where {cached} and seen_by({x_name}, {a}))")  # fmt: skip
            # the controller acted on what it saw: a cached state of two atoms that its
            # handler changes is not the real one (a failed pod with the job's finalizer, once
            # delivered, loses the finalizer)
            both = own + [(f.name, f"{m} {op} x.{f.name}") for f in kind.fields
                          if isinstance(f.type, TSet) and f.type.elem in sym.enums
                          for m in sym.enums[f.type.elem] for op in ("in", "not in")]  # fmt: skip
            for i, (fa, a) in enumerate(both):
                for fb, b in both[i + 1 :]:
                    if fa != fb:
                        yield (f"{head} {cached} and seen_by({x_name}, {a} and {b}) implies "
                               f"not ({a} and {b})")  # fmt: skip
            for s in _sets_of(sym, kind, "x"):
                yield f"{head} not {cached} implies x in {s}"
                for _, b in own:
                    yield f"{head} {b} and not {cached} implies x in {s}"
            terms = [f"count({kname})"]
            terms += [f"(count o in {kname} where {a})" for _, a in _atoms(kind, sym, "o")]
            for t in terms:
                yield f"seen_by({x_name}, {t}) <= {t}"
                yield f"seen_by({x_name}, {t}) >= {t}"
            for inv in sym.invariants:  # the cache is the kind at a past moment
                if kname in _names_read(sym, inv.expr, set()):
                    yield f"seen_by({x_name}, {format_expr(inv.expr)})"
            union = (
                f"seen_by({x_name}, count({kname})) + count({kname}) - "
                f"(count x in {kname} where {cached})"
            )
            for c in range(MAX_CONST + 1):
                yield f"{union} <= {c}"
                for b in budgets:
                    yield f"{union} + budget({b}) <= {c}"
                    for t in terms[1:]:  # the slots a fault's doing holds (crashed, not gone)
                        yield f"{union} - {t} + budget({b}) <= {c}"


def _names_read(sym: Symbols, e: object, seen: set[str]) -> set[str]:
    """The names `e` mentions, through the bodies of the defs it calls (the kinds it reads
    among them)."""
    out = set(ast.names_in(e))
    for n in ast.walk_nodes(e):
        if isinstance(n, ast.Call) and n.func in sym.defs and n.func not in seen:
            seen.add(n.func)
            out |= _names_read(sym, sym.defs[n.func].body, seen)
    return out


def _sets_of(sym: Symbols, kind: KindInfo, x: str) -> Iterator[str]:
    """Sets of `kind`'s objects that `x` may belong to: a set var, and a controller's set kept
    per object of a kind that x refers to (a keyed local `X.s` of kind M, read `X.s[x.r]`)."""
    for v in sym.vars.values():
        if isinstance(v.type, TSet) and v.type.elem == kind.name:
            yield v.name
    for r in kind.fields:
        if not isinstance(r.type, TRef) or r.type.optional or r.name.startswith("_"):
            continue
        target = sym.kinds.get(r.type.kind)
        if target is None:
            continue
        for f in target.fields:
            if "." in f.name and isinstance(f.type, TSet) and f.type.elem == kind.name:
                yield f"{f.name}[{x}.{r.name}]"  # a keyed local, lowered to a field
