"""Candidate lemmas for invariant inference (spec/smt.md, "Invariant inference"): KDSL text over
a small grammar built from the model's own vocabulary, for the explicit engine to filter and the
Houdini fixpoint (infer.py) to prove. Each candidate is only text: it reaches the prover through
the model's own front end (as a `lemma` added to the source), never as a hand-built tree.

The grammar:
- bounds: `T <= c` for each count term T (`count(K)`, the objects of K with one field value,
  the sum of an int field over K) and each int var, and `T + budget(F) <= c` for each fault F
  (a fault's spent budget bounds what it did), for small constants c;
- per object: `forall x in K: x.f <= c`, `>= c` and `x.f + budget(F) <= c` for each int field;
  `forall x in K: d(x) <= x.f` (and `>=`, `==`, `<= c`) for each def d over K
  returning an int and each int field f of K; the same for `count y in L where y.r == x and A`
  for each reference field r of L to K and each atom A of L;
- between vars: `a <= b` for int vars and int defs of no parameter (and bounds on those defs),
  `A implies B` for atoms of bool and enum vars;
- implications between two fields of one object: `forall x in K: A implies B` for atoms A, B
  (an enum field equal or not to a member, a bool field, an optional reference set or not),
  `A implies x.f <= c` for int fields f, `A implies M in x.s` (`not in`) for enum sets s;
- lower bounds `T >= c` on count terms, and `T + budget(F) + budget(G) <= c` for two faults;
- pending marks: `v + (count o in K where A and M in o.s) <= w` (and `>=`) for int vars v, w
  and a member M of an enum set field s (a finalizer not yet accounted for);
- between a var and a count term: `T - v <= c`, `T - v >= c` and `T + v <= c` (c from
  -MAX_CONST to MAX_CONST: `count(Revision) - rv <= 1`); between an int field and an int var:
  `forall x in K: x.f <= v` (and `>=`);
- through a reference r of K to M: `forall x in K: A implies B(x.r)` for atoms A of x (or none)
  and B of the object referred to (`x.r != none and A implies B(x.r)` when r is optional);
- two objects of one kind: `forall x in K: forall y in K: x != y implies x.f != y.f` (no two
  share a value) for each int, enum or reference field f, and `x.f < count(K)` for each int
  field (a queue position); an int field of at most SMALL_RANGE values has an atom per value;
- of an ordered kind K: `forall i in 0..N-1: i < count(K) implies K[i] == K[i]` (its live
  slots are the first ones: `create` fills the lowest free slot, and nothing deleted);
- over set fields s, t of objects of L: `forall x in K: forall y in x.s: B(y)` for atoms B of
  L, `y in x.t` and `y not in x.t` (t of x itself, or of an object x refers to), and back.

- potentials: `v + budget(F) + ... + budget(G) + [A] + [B] <= c` for each int var v (or none),
  every fault's budget, and one or two indicators `[A]` (`(if A then 1 else 0)`) of an atom A: a
  bool var or its negation, or a comparison (or its negation) the model's own invariants and
  properties make between vars, params, consts and defs (`current().replicas == load`). Such a
  sum bounds what the system can still do: a step that grows v without spending budget turns
  an indicator off (a pending write done). They are built after the filter, each only at the
  tightest c of its base `v + budgets <= c` in the reachable states (a sum is at least its
  base, and one that needs a looser c says no more than the base does), for a var whose type
  lets it pass that c.
- rings: of an ordered kind K of at most RING slots that the model indexes by an int var v
  (`Recommendation[next]`), for each int field f and int var w: `K[(v + c) % N].f >= w` (and
  `<=`) for each other slot, and `exists r in K: r != K[v] and r.f >= w` (and `<=`), each
  alone or under a guard: a bool var atom, or `budget(F) >= c` and `budget(F) + (if A then 1
  else 0) >= c` (what a fault can still do decides which slot still holds a value).

- existence: `count(K) >= 1 implies T >= 1` for each kind K and each int var, nullary int def
  or count of another kind T (objects of K exist only once T is positive: an HPA's
  recommendations only once a pod is Ready, as it syncs only then).

Two families are built after the filter, each as chains of candidates ordered from the
strongest claim to the weakest, of which the filter keeps the first that holds:
- windows: of a kind K with a clock field a (a model with time), for each other int field f
  of K and int var w, `G implies (max o.f for o in K where o.a <= c) >= w`, c from 0 to the
  clock's cap less one (the youngest entries still hold what w asks for), under a guard G:
  none, `budget(F) >= k` or `budget(F) + (if A then 1 else 0) >= k` (k from 1 to F's budget,
  A a bool var atom), either one possibly `and v < j` for a clock var v (j from 1 to its cap
  less one). What a fault can still do bounds how many syncs since w was written went by
  without a true measurement, and so how old its entry is; the clock var says how far the
  next sync is. Of a family (one body, one guard) the tightest c is kept, and a candidate is
  dropped when one with a weaker guard holds at the same or a tighter c.
- guarded def comparisons: `budget(F) >= k implies a <= b` for two nullary int defs a, b whose
  plain `a <= b` failed the filter (k from 1 to F's budget: the weakest claim that holds is at
  the smallest k): `budget(pod_crash) >= 1 implies min_available() <= available()`.

- pending faults: `budget(F) + (if A then 1 else 0) <= B` for each fault F of budget B and
  bool var atom A (a fault's effect still pending counts against its budget:
  `budget(metric_dip) + (if dipped then 1 else 0) <= 2`), which the guards above lean on.

Guards never name a budget past the fault's own (`budget(F) >= k` with k above it is always
false, so such a candidate would hold and say nothing). Caches: cache_candidates.py.
Every bound family (`... <= c`, `... >= c`) is monotone in c, which the filter uses: it keeps
the tightest c that holds and never evaluates the rest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TypeVar

from kcheck.lang import ast
from kcheck.lang.fmt_expr import format_expr
from kcheck.lang.symbols import KindInfo, Symbols
from kcheck.lang.time import TICK, TIME_ACTOR
from kcheck.lang.types import TBool, TEnum, TInt, TRef, TSet
from kcheck.smt.atoms import MAX_CONST, _atoms
from kcheck.smt.cache_candidates import cache_candidates


def candidates(sym: Symbols) -> list[str]:
    """Every candidate for `sym`, without duplicates, in a stable order."""
    out: dict[str, None] = {}
    for text in _all(sym):
        out.setdefault(text, None)
    return list(out)


def _all(sym: Symbols) -> Iterator[str]:
    budgets = [d.name for d in sym.program.decls if isinstance(d, ast.Fault)]
    counts = list(_count_terms(sym))
    ints = [v.name for v in sym.vars.values() if isinstance(v.type, TInt)]
    for t in counts + ints:
        for c in range(MAX_CONST + 1):
            yield f"{t} <= {c}"
            yield f"{t} >= {c}"
        for i, b in enumerate(budgets):
            for c in range(MAX_CONST + 1):
                yield f"{t} + budget({b}) <= {c}"
            for b2 in budgets[i + 1 :]:  # two faults' spent budgets bound what they did together
                for c in range(MAX_CONST + 1):
                    yield f"{t} + budget({b}) + budget({b2}) <= {c}"
    for t in counts:  # a count that moves with a var (`count(Revision) - rv <= 1`), or
        for v in ints:  # against it (`(count o in Pod where o.app == Batch) + done <= 2`)
            for c in range(-MAX_CONST, MAX_CONST + 1):
                yield f"{t} - {v} <= {c}"
                yield f"{t} - {v} >= {c}"
                yield f"{t} + {v} <= {c}"
    yield from _between_vars(sym)
    yield from _pending_marks(sym, ints)
    yield from _defs_per_member(sym)
    yield from potential_bases(sym)
    yield from rings(sym)
    yield from _existence(sym)
    yield from cache_candidates(sym)
    for kind in sym.kinds.values():
        yield from _per_object(sym, kind)
        yield from _implications(kind, sym)
        yield from _through_references(kind, sym)
        yield from _set_relations(kind, sym)
        yield from _pairwise(kind, sym)


def _count_terms(sym: Symbols) -> Iterator[str]:
    for kind in sym.kinds.values():
        yield f"count({kind.name})"
        for _, cond in _atoms(kind, sym, "o"):
            yield f"(count o in {kind.name} where {cond})"
        yield from (f"(sum o.{f} for o in {kind.name})" for f in _int_fields(kind))


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
    vars_ = [v.name for v in sym.vars.values() if isinstance(v.type, TInt)]
    for f in ints:  # each object's own fields, alone and with what a fault has spent
        for v in vars_:
            yield f"forall {x} in {kind.name}: {x}.{f} <= {v}"
            yield f"forall {x} in {kind.name}: {x}.{f} >= {v}"
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
    members = [f"{m} {op} x.{f.name}" for f in kind.fields if isinstance(f.type, TSet)
               for m in sym.enums.get(f.type.elem, ()) for op in ("in", "not in")]  # fmt: skip
    for fa, a in atoms:
        for b in [b for fb, b in atoms if fb != fa] + members:
            yield f"forall x in {kind.name}: {a} implies {b}"
        for f in _int_fields(kind):
            for c in range(MAX_CONST + 1):
                yield f"forall x in {kind.name}: {a} implies x.{f} <= {c}"


def _pending_marks(sym: Symbols, ints: list[str]) -> Iterator[str]:
    """`v + (count o in K where A and M in o.s) <= w` (and `>=`) for int vars v, w, an atom A
    and a member M of an enum set field s of K: a mark (a finalizer) on objects in state A is
    work that a counter v has not yet accounted for against w (`failed + (count o in Pod
    where o.phase == Failed and JobTracking in o.finalizers) <= really_failed`)."""
    for kind in sym.kinds.values():
        marks = [f"{m} in o.{f.name}" for f in kind.fields
                 if isinstance(f.type, TSet) and f.type.elem in sym.enums
                 for m in sym.enums[f.type.elem]]  # fmt: skip
        for mark in marks:
            for _, a in _atoms(kind, sym, "o"):
                t = f"(count o in {kind.name} where {a} and {mark})"
                for v in ints:
                    for w in ints:
                        if v != w:
                            yield f"{v} + {t} <= {w}"
                            yield f"{v} + {t} >= {w}"


def _between_vars(sym: Symbols) -> Iterator[str]:
    """`a <= b` between int vars and nullary int defs (`available() >= min_available()`),
    bounds on those defs; implications between bool vars and var atoms."""
    defs = [f"{d.name}()" for d in sym.defs.values()
            if not d.params and isinstance(d.ret, ast.IntType | ast.RangeType)]  # fmt: skip
    for d in defs:
        for c in range(MAX_CONST + 1):
            yield f"{d} <= {c}"
            yield f"{d} >= {c}"
    ints = [v.name for v in sym.vars.values() if isinstance(v.type, TInt)] + defs
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


def _defs_per_member(sym: Symbols) -> Iterator[str]:
    """Bounds on the model's int defs of one enum parameter, for every member (`forall a in
    App: live(a) <= 1`: the pods a controller keeps per app)."""
    for d in sym.defs.values():
        if not (len(d.params) == 1 and isinstance(d.ret, ast.IntType | ast.RangeType)):
            continue
        ty = d.params[0].type
        if isinstance(ty, ast.NamedType) and ty.name in sym.enums:
            for c in range(MAX_CONST + 1):
                yield f"forall v in {ty.name}: {d.name}(v) <= {c}"
                yield f"forall v in {ty.name}: {d.name}(v) >= {c}"


def _through_references(kind: KindInfo, sym: Symbols) -> Iterator[str]:
    """`forall x in K: A implies B(x.r)`: a field of x against one of the object x.r names."""
    mine = [a for _, a in _atoms(kind, sym, "x")]
    for r in kind.fields:
        if not isinstance(r.type, TRef) or r.name.startswith("_"):
            continue
        target = sym.kinds.get(r.type.kind)
        if target is None:
            continue
        theirs = [b for _, b in _atoms(target, sym, f"x.{r.name}")]
        for a in ["", *mine]:
            if r.type.optional:
                if a.startswith(f"x.{r.name} "):
                    continue  # the reference's own atom: the guard below says it
                guard = f"x.{r.name} != none" + (f" and {a}" if a else "")
            else:
                guard = a
            for b in theirs:
                body = f"{guard} implies {b}" if guard else b
                yield f"forall x in {kind.name}: {body}"


def _set_relations(kind: KindInfo, sym: Symbols) -> Iterator[str]:
    """Over each set field of objects: what its members are, and which other set of the same
    object (or of an object it refers to) holds them, or does not."""
    sets: list[tuple[str, str]] = []  # (field, element kind)
    for f in kind.fields:
        if isinstance(f.type, TSet) and f.type.elem in sym.kinds:
            sets.append((f.name, f.type.elem))
    # (path, element kind) of every set field reachable from x in at most one reference
    others = [(f"x.{f}", e) for f, e in sets]
    for r in kind.fields:
        if isinstance(r.type, TRef) and not r.type.optional and r.type.kind in sym.kinds:
            for g in sym.kinds[r.type.kind].fields:
                if isinstance(g.type, TSet) and g.type.elem in sym.kinds:
                    others.append((f"x.{r.name}.{g.name}", g.type.elem))
    for name, elem in sets:
        head = f"forall x in {kind.name}: forall y in x.{name}:"
        for _, b in _atoms(sym.kinds[elem], sym, "y"):
            yield f"{head} {b}"
        # a member agrees with its holder on a field of the same type (a Service's endpoints
        # are pods of its app: `y.app == x.app`)
        for g in sym.kinds[elem].fields:
            mine = [f for f in kind.fields if not f.name.startswith("_")]
            for f in (f for f in mine if not g.name.startswith("_")):
                if _same_sort(f.type, g.type):
                    yield f"{head} y.{g.name} == x.{f.name}"
        for path, e in others:
            if e == elem and path != f"x.{name}":
                yield f"{head} y in {path}"
                yield f"{head} y not in {path}"
                if path.count(".") == 2:  # the other way, from the referred object's set
                    yield f"forall x in {kind.name}: forall y in {path}: y in x.{name}"
                    yield f"forall x in {kind.name}: forall y in {path}: y not in x.{name}"


def _same_sort(a: object, b: object) -> bool:
    """Two fields' values compare for equality: the same enum, or the same kind."""
    return (isinstance(a, TEnum) and isinstance(b, TEnum) and a.name == b.name) or (
        isinstance(a, TRef) and isinstance(b, TRef) and a.kind == b.kind
    )


def _pairwise(kind: KindInfo, sym: Symbols) -> Iterator[str]:
    """No two objects of `kind` share a value of a field (a key, a revision, an owner); of an
    ordered kind, the live slots are the first count(K) (`K[i]` reads a dead slot as a failure,
    so the candidate is false when one of them is dead)."""
    if kind.ordered and kind.size > 1:
        yield (f"forall i in 0..{kind.size - 1}: "
               f"i < count({kind.name}) implies {kind.name}[i] == {kind.name}[i]")  # fmt: skip
    if kind.size < 2:
        return
    for i in _int_fields(kind):  # a position in a queue of the kind (`rank: count(Pod)`)
        yield f"forall x in {kind.name}: x.{i} < count({kind.name})"
    for f in kind.fields:
        if not f.name.startswith("_") and isinstance(f.type, TInt | TEnum | TRef):
            yield (f"forall x in {kind.name}: forall y in {kind.name}: "
                   f"x != y implies x.{f.name} != y.{f.name}")  # fmt: skip


COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


def potential_bases(sym: Symbols) -> Iterator[str]:
    """`v + budget(F) + ... <= c` for each int var v (and without one) with every fault's
    budget, c from 0 to MAX_CONST: the bases of the potentials."""
    budgets = [d.name for d in sym.program.decls if isinstance(d, ast.Fault)]
    if not budgets:
        return
    spent = [f"budget({b})" for b in budgets]
    for c in range(MAX_CONST + 1):  # no var: what the faults can still do, and what is pending
        yield f"{' + '.join(spent)} <= {c}"
    for v in sym.vars.values():
        if isinstance(v.type, TInt):
            base = " + ".join([v.name, *spent])
            for c in range(MAX_CONST + 1):
                yield f"{base} <= {c}"


def potentials(sym: Symbols, tight: dict[str, int]) -> Iterator[str]:
    """`BASE + [A] (+ [B]) <= c` for each base `BASE <= c` of `tight` (its tightest c in the
    reachable states) without a var or whose var can go past that c by its declared type (a
    var its type already bounds as tightly needs no potential): one or two indicators of
    atoms, never an atom with its own negation."""
    atoms = list(dict.fromkeys(_var_atoms(sym)))
    for base, c in tight.items():
        v = sym.vars.get(base.split(" + ", 1)[0])
        if v is not None and (not isinstance(v.type, TInt) or v.type.hi is None or v.type.hi <= c):
            continue
        for i, a in enumerate(atoms):
            yield f"{base} + (if {a} then 1 else 0) <= {c}"
            for b in atoms[i + 1 :]:
                if _negation(a) != b:
                    yield f"{base} + (if {a} then 1 else 0) + (if {b} then 1 else 0) <= {c}"


def _negation(a: str) -> str:
    return a.removeprefix("not ") if a.startswith("not ") else f"not {a}"


def _var_atoms(sym: Symbols) -> Iterator[str]:
    """Bool vars and their negations, then the comparisons of the model's invariants and
    properties over top-level names only (no binder), each both ways."""
    for v in sym.vars.values():
        if isinstance(v.type, TBool):
            yield v.name
            yield f"not {v.name}"
    top = {*sym.consts, *sym.params, *sym.vars, *sym.members}
    exprs: list[ast.Expr] = [i.expr for i in sym.invariants] + [p.expr for p in sym.properties]
    for top_expr in exprs:
        for e in _subexprs(top_expr):
            if isinstance(e, ast.Binary) and e.op in COMPARISONS and _top_level(e, top, sym.vars):
                text = format_expr(e)
                yield f"({text})"
                yield f"not ({text})"


def _subexprs(e: object) -> Iterator[object]:
    yield e
    if dataclasses.is_dataclass(e) and not isinstance(e, type):
        for f in dataclasses.fields(e):
            v = getattr(e, f.name)
            for x in v if isinstance(v, tuple) else (v,):
                if dataclasses.is_dataclass(x) and not isinstance(x, ast.Span):
                    yield from _subexprs(x)


def _top_level(e: object, top: set[str], vars_: Mapping[str, object]) -> bool:
    """No binder inside, every name a var, param, const or enum member, and some var."""
    names: list[str] = []
    for x in _subexprs(e):
        if isinstance(x, ast.Quant | ast.Count | ast.Aggregate | ast.SetBuilder):
            return False
        if isinstance(x, ast.Name):
            names.append(x.id)
    return all(n in top for n in names) and any(n in vars_ for n in names)


RING = 4  # an ordered kind of at most this many slots, indexed by a var, may be a ring
GUARD_BUDGET = 3  # the largest c of a ring guard `budget(F) >= c`


def rings(sym: Symbols) -> Iterator[str]:
    """The ring family (module docstring)."""
    indexed: dict[tuple[str, str], None] = {}
    for d in sym.program.decls:
        for n in ast.walk_nodes(d):
            if (
                isinstance(n, ast.Index)
                and isinstance(n.index, ast.Name)
                and n.index.id in sym.vars
                and isinstance(sym.vars[n.index.id].type, TInt)
                and n.kind in sym.kinds
                and sym.kinds[n.kind].ordered
                and 2 <= sym.kinds[n.kind].size <= RING
            ):
                indexed[(n.kind, n.index.id)] = None
    if not indexed:
        return
    bools = [v.name for v in sym.vars.values() if isinstance(v.type, TBool)]
    atoms = [*bools, *(f"not {b}" for b in bools)]
    guards = ["", *atoms]
    for fault in (d.name for d in sym.program.decls if isinstance(d, ast.Fault)):
        for c in range(1, GUARD_BUDGET + 1):
            guards.append(f"budget({fault}) >= {c}")
            guards += [f"budget({fault}) + (if {a} then 1 else 0) >= {c}" for a in atoms]
    ints = [v.name for v in sym.vars.values() if isinstance(v.type, TInt)]
    for k, v in indexed:
        n = sym.kinds[k].size
        for f in _int_fields(sym.kinds[k]):
            for w in ints:
                if w == v:
                    continue
                for op in (">=", "<="):
                    bodies = [f"{k}[({v} + {c}) % {n}].{f} {op} {w}" for c in range(1, n)]
                    bodies.append(f"(exists r in {k}: r != {k}[{v}] and r.{f} {op} {w})")
                    for body in bodies:
                        for g in guards:
                            yield f"{g} implies {body}" if g else body


def _existence(sym: Symbols) -> Iterator[str]:
    """`count(K) >= 1 implies T >= 1`: the existence family (module docstring)."""
    clock_vars, _ = clocks(sym)
    terms = [v.name for v in sym.vars.values() if isinstance(v.type, TInt)
             and v.name not in clock_vars and (v.type.lo is None or v.type.lo < 1)]  # fmt: skip
    terms += [f"{d.name}()" for d in sym.defs.values()
              if not d.params and isinstance(d.ret, ast.IntType | ast.RangeType)]  # fmt: skip
    for k in sym.kinds:
        others = [f"count({x})" for x in sym.kinds if x != k]
        for t in terms + others:
            yield f"count({k}) >= 1 implies {t} >= 1"


def clocks(sym: Symbols) -> tuple[list[str], dict[str, list[str]]]:
    """The clock vars and, per kind, the clock fields of a model with time: what the generated
    `time.tick` advances (lang/time.py lowers each clock into an int of 0..CAP and the tick
    into `c := min(c + 1, CAP)` and `for o in K { o.f := ... }`); none without time (no model
    may declare `time.tick` itself). A `within N` counter is advanced only under an `if`."""
    vars_: list[str] = []
    fields: dict[str, list[str]] = {}
    for d in sym.program.decls:
        if not (isinstance(d, ast.Process) and d.name == TIME_ACTOR):
            continue
        for a in d.actions:
            if a.name != TICK:
                continue
            for st in a.body.stmts:
                if isinstance(st, ast.Assign) and len(st.target.parts) == 1:
                    vars_.append(st.target.parts[0])
                elif isinstance(st, ast.For) and len(st.binders) == 1:
                    dom = st.binders[0].domain
                    if isinstance(dom, ast.ExprDomain) and isinstance(dom.expr, ast.Name):
                        fields[dom.expr.id] = [
                            x.target.parts[1] for x in st.body.stmts
                            if isinstance(x, ast.Assign) and len(x.target.parts) == 2
                        ]  # fmt: skip
    return vars_, fields


def _cap(ty: object) -> int | None:
    return ty.hi if isinstance(ty, TInt) else None


@dataclass(frozen=True)
class Guard:
    """`budget(F) [+ (if A then 1 else 0)] >= k [and v < j]`, or part of it, or nothing."""

    fault: str | None = None
    atom: str | None = None
    k: int = 0
    clock: str | None = None
    below: int = 0

    @property
    def text(self) -> str:
        parts = []
        if self.fault is not None:
            ind = f" + (if {self.atom} then 1 else 0)" if self.atom is not None else ""
            parts.append(f"budget({self.fault}){ind} >= {self.k}")
        if self.clock is not None:
            parts.append(f"{self.clock} < {self.below}")
        return " and ".join(parts)

    def implies(self, other: Guard) -> bool:
        """Does this guard imply `other` (in every state where this holds, `other` does)?"""
        if other.fault is not None and not (
            self.fault == other.fault
            and self.k >= other.k
            and (self.atom is None or self.atom == other.atom)
        ):
            return False
        return other.clock is None or (self.clock == other.clock and self.below <= other.below)


@dataclass(frozen=True)
class Window:
    """One candidate of the window family: `text`, of the family `body` (its claim without the
    age bound) under `guard`, with the age bound `age`."""

    text: str
    body: str
    guard: Guard
    age: int


def windows(sym: Symbols, budgets: Mapping[str, int]) -> list[list[Window]]:
    """The window family (module docstring), as chains of one body and one guard from the
    tightest age bound to the loosest. `budgets` gives each fault's budget."""
    clock_vars, clock_fields = clocks(sym)
    if not clock_fields:
        return []
    bools = [v.name for v in sym.vars.values() if isinstance(v.type, TBool)]
    atoms = [*bools, *(f"not {b}" for b in bools)]
    heads = [Guard()]
    for fault, budget in budgets.items():
        for k in range(1, budget + 1):
            heads.append(Guard(fault, None, k))
            heads += [Guard(fault, a, k) for a in atoms]
    guards = list(heads)
    for v in clock_vars:
        cap = _cap(sym.vars[v].type) if v in sym.vars else None
        for j in range(1, cap or 0):
            guards += [dataclasses.replace(g, clock=v, below=j) for g in heads]
    ints = [
        v.name for v in sym.vars.values() if isinstance(v.type, TInt) and v.name not in clock_vars
    ]
    chains: list[list[Window]] = []
    for kname, ages in clock_fields.items():
        kind = sym.kinds.get(kname)
        if kind is None:
            continue
        values = [f for f in _int_fields(kind) if f not in ages]
        for a in ages:
            info = kind.field(a)
            cap = _cap(info.type) if info is not None else None
            if cap is None:
                continue
            for f in values:
                for w in ints:
                    body = f"(max o.{f} for o in {kname} where o.{a} <= {{c}}) >= {w}"
                    for g in guards:
                        head = f"{g.text} implies " if g.text else ""
                        chains.append([Window(head + body.format(c=c), body, g, c)
                                       for c in range(cap)])  # fmt: skip
    # the simplest guards first, and no more than MAX_CHAINED candidates (a model with many
    # faults, bools and clocks would give tens of thousands, each a lemma line to check)
    chains.sort(key=lambda c: (c[0].guard.clock is not None, c[0].guard.atom is not None,
                               c[0].guard.fault is not None))  # fmt: skip
    return _at_most(chains, MAX_CHAINED)


MAX_CHAINED = 3000  # the most candidates of one family built after the filter


T = TypeVar("T")


def _at_most(chains: list[list[T]], limit: int) -> list[list[T]]:
    """The first chains of `chains` with at most `limit` members in all."""
    out: list[list[T]] = []
    total = 0
    for c in chains:
        total += len(c)
        if total > limit:
            break
        out.append(c)
    return out


def weakest_windows(held: list[Window]) -> list[Window]:
    """`held` less each window that another of its body says as much of: one whose guard is
    implied by this one's (holds more often) with the same or a tighter age bound."""
    out = []
    for w in held:
        if not any(o is not w and o.body == w.body and w.guard.implies(o.guard) and o.age <= w.age
                   and (o.guard != w.guard or o.age < w.age) for o in held):  # fmt: skip
            out.append(w)
    return out


def guarded_comparisons(
    sym: Symbols, budgets: Mapping[str, int], held: set[str]
) -> list[list[str]]:
    """The guarded def comparisons (module docstring): for each pair of nullary int defs whose
    plain comparison is not in `held`, a chain per fault from `budget(F) >= 1` up."""
    defs = [f"{d.name}()" for d in sym.defs.values()
            if not d.params and isinstance(d.ret, ast.IntType | ast.RangeType)]  # fmt: skip
    chains = []
    for a in defs:
        for b in defs:
            if a == b or f"{a} <= {b}" in held:
                continue
            for fault, budget in budgets.items():
                chains.append([f"budget({fault}) >= {k} implies {a} <= {b}"
                               for k in range(1, budget + 1)])  # fmt: skip
    return _at_most([c for c in chains if c], MAX_CHAINED)


def pending_faults(sym: Symbols, budgets: Mapping[str, int]) -> list[str]:
    """The pending-fault family (module docstring)."""
    bools = [v.name for v in sym.vars.values() if isinstance(v.type, TBool)]
    atoms = [*bools, *(f"not {b}" for b in bools)]
    return [
        f"budget({f}) + (if {a} then 1 else 0) <= {b}" for f, b in budgets.items() for a in atoms
    ]
