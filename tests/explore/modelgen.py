"""A hypothesis strategy for small, well-typed KDSL models, as text.

Models have 1-2 enums, 1-2 kinds of 1-3 slots with small int/enum/bool fields and at most one
optional reference each, 0-2 vars, 1-4 actions across controllers, processes and faults, and 1-2
invariants. Sizes are trimmed so that no model has more than STATE_BOUND states.

One rule keeps the generated models inside the semantics both implementations define: an object
is never used after `delete` (a `delete` is only generated as the last statement of an action,
possibly inside a trailing `choose`).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from math import prod

from hypothesis import strategies as st

STATE_BOUND = 3000
# `forall x in K where c: e` compiles wrongly (tests/model/test_compile.py,
# test_forall_with_where_is_vacuous_without_matches); set True once that is fixed.
FORALL_WHERE = True


@dataclass
class FieldSpec:
    name: str
    kind: str  # "int", "bool", "enum", "ref"
    lo: int = 0
    hi: int = 0
    enum: str = ""
    target: str = ""


@dataclass
class KindSpec:
    name: str
    slots: int
    fields: list[FieldSpec] = field(default_factory=list)


@dataclass
class VarSpec:
    name: str
    kind: str  # "int", "bool", "enum"
    lo: int = 0
    hi: int = 0
    enum: str = ""


@dataclass
class World:
    enums: dict[str, list[str]]
    kinds: list[KindSpec]
    vars: list[VarSpec]
    counter: itertools.count = field(default_factory=itertools.count)

    def kind(self, name: str) -> KindSpec:
        return next(k for k in self.kinds if k.name == name)

    def fresh(self, stem: str) -> str:
        return f"{stem}{next(self.counter)}"


def _field_domain(w: World, f: FieldSpec) -> int:
    if f.kind == "int":
        return f.hi - f.lo + 1
    if f.kind == "bool":
        return 2
    if f.kind == "enum":
        return len(w.enums[f.enum])
    return w.kind(f.target).slots + 1


def state_bound(w: World, budgets: list[int] = ()) -> int:  # type: ignore[assignment]
    total = 1
    for k in w.kinds:
        total *= (1 + prod(_field_domain(w, f) for f in k.fields)) ** k.slots
    for v in w.vars:
        total *= (
            v.hi - v.lo + 1 if v.kind == "int" else 2 if v.kind == "bool" else len(w.enums[v.enum])
        )
    for b in budgets:
        total *= b + 1
    return total


class Gen:
    """Draws typed expressions and statements. `locals` maps names to ("obj", kind) or
    ("int", "")."""

    def __init__(self, draw: st.DrawFn, w: World, failing: bool = False) -> None:
        self.draw = draw
        self.w = w
        # Expressions that can fail in some states (reads through `none` not guarded, in
        # quantifier bodies too), so that the semantics of errors gets compared, not just
        # values: the error of a quantifier must not depend on slot order.
        self.failing = failing

    def choice(self, xs: list):  # type: ignore[no-untyped-def]
        return self.draw(st.sampled_from(xs))

    def coin(self, p: float = 0.5) -> bool:
        return self.draw(st.floats(0, 1)) < p

    def objs(self, locals_: dict[str, tuple[str, str]], kind: str | None = None) -> list[str]:
        return [n for n, (t, k) in locals_.items() if t == "obj" and (kind is None or k == kind)]

    # ---- expressions
    def int_expr(self, L: dict[str, tuple[str, str]], depth: int) -> str:
        atoms: list[str] = [str(self.draw(st.integers(0, 2)))]
        atoms += [v.name for v in self.w.vars if v.kind == "int"]
        atoms += [n for n, (t, _) in L.items() if t == "int"]
        for o in self.objs(L):
            atoms += [f"{o}.{f.name}" for f in self.w.kind(L[o][1]).fields if f.kind == "int"]
        atoms += [f"count({k.name})" for k in self.w.kinds]
        if depth <= 0 or self.coin(0.4):
            return self.choice(atoms)
        form = self.draw(st.integers(0, 8))
        a = lambda: self.int_expr(L, depth - 1)  # noqa: E731
        if form == 0:
            return f"({a()} + {a()})"
        if form == 1:
            return f"({a()} - {a()})"
        if form == 2:
            return f"min({a()}, {a()})"
        if form == 3:
            return f"max({a()}, {a()})"
        if form == 4:
            k = self.choice(self.w.kinds)
            q = self.w.fresh("q")
            inner = {**L, q: ("obj", k.name)}
            return f"(count {q} in {k.name} where {self.bool_expr(inner, depth - 1)})"
        if form == 5:
            k = self.choice(self.w.kinds)
            ints = [f for f in k.fields if f.kind == "int"]
            if ints:
                q = self.w.fresh("q")
                f = self.choice(ints)
                return f"(sum {q}.{f.name} for {q} in {k.name})"
            return a()
        if form == 6:
            return f"(if {self.bool_expr(L, depth - 1)} then {a()} else {a()})"
        if form == 7 and self.coin(0.3):
            op = self.choice(["/", "%"])
            return f"({a()} {op} {a()})"
        return self.choice(atoms)

    def enum_expr(self, enum: str, L: dict[str, tuple[str, str]]) -> str:
        atoms = list(self.w.enums[enum])
        atoms += [v.name for v in self.w.vars if v.kind == "enum" and v.enum == enum]
        for o in self.objs(L):
            atoms += [
                f"{o}.{f.name}"
                for f in self.w.kind(L[o][1]).fields
                if f.kind == "enum" and f.enum == enum
            ]
        return self.choice(atoms)

    def bool_expr(self, L: dict[str, tuple[str, str]], depth: int) -> str:
        atoms = ["true", "false"]
        atoms += [v.name for v in self.w.vars if v.kind == "bool"]
        for o in self.objs(L):
            k = self.w.kind(L[o][1])
            atoms += [f"{o}.{f.name}" for f in k.fields if f.kind == "bool"]
            for f in k.fields:
                if f.kind == "ref":
                    atoms += [f"{o}.{f.name} == none", f"{o}.{f.name} != none"]
                    atoms += [f"{o}.{f.name} == {x}" for x in self.objs(L, f.target)]
        if depth <= 0 or self.coin(0.25):
            return self.choice(atoms)
        form = self.draw(st.integers(0, 9))
        b = lambda: self.bool_expr(L, depth - 1)  # noqa: E731
        if form in (0, 1):
            op = self.choice(["==", "!=", "<", "<=", ">", ">="])
            return f"{self.int_expr(L, depth - 1)} {op} {self.int_expr(L, depth - 1)}"
        if form == 2 and self.w.enums:
            e = self.choice(sorted(self.w.enums))
            op = self.choice(["==", "!="])
            return f"{self.enum_expr(e, L)} {op} {self.enum_expr(e, L)}"
        if form == 3:
            return f"not ({b()})"
        if form == 4:
            return f"({b()} and {b()})"
        if form == 5:
            return f"({b()} or {b()})"
        if form == 6 or (self.failing and self.coin(0.3)):
            k = self.choice(self.w.kinds)
            q = self.w.fresh("q")
            inner = {**L, q: ("obj", k.name)}
            quant = self.choice(["exists", "forall"])
            where = ""
            if (quant == "exists" or FORALL_WHERE) and self.coin(0.3):
                where = f" where {self.bool_expr(inner, depth - 1)}"
            body = self.deref(inner, q) if self.failing and self.coin(0.5) else None
            if body is not None and self.coin(0.5):
                body = f"({body} {self.choice(['and', 'or'])} {self.bool_expr(inner, depth - 1)})"
            body = body or self.bool_expr(inner, depth - 1)
            return f"({quant} {q} in {k.name}{where}: {body})"
        if form == 7 and self.w.enums:
            e = self.choice(sorted(self.w.enums))
            members = self.w.enums[e]
            sub = self.draw(st.lists(st.sampled_from(members), min_size=1, unique=True))
            return f"{self.enum_expr(e, L)} in {{{', '.join(sub)}}}"
        if form == 8:
            d = self.deref(L)
            if d is not None:
                return d
        return self.choice(atoms)

    def failing_quant(self, L: dict[str, tuple[str, str]]) -> str:
        """A quantifier whose body reads through a reference of the bound object."""
        kinds = [k for k in self.w.kinds if any(f.kind == "ref" for f in k.fields)] or self.w.kinds
        k = self.choice(kinds)
        q = self.w.fresh("q")
        inner = {**L, q: ("obj", k.name)}
        body = self.deref(inner, q) or self.bool_expr(inner, 1)
        if self.coin(0.5):
            body = f"({body} {self.choice(['and', 'or'])} {self.bool_expr(inner, 1)})"
        return f"({self.choice(['exists', 'forall'])} {q} in {k.name}: {body})"

    def deref(self, L: dict[str, tuple[str, str]], of: str | None = None) -> str | None:
        """A bool read through a reference (of `of`, or of any local object): it may read
        through `none` (a bound error), unless guarded (mostly, when not `failing`)."""
        derefs = []
        for o in self.objs(L):
            if of is not None and o != of:
                continue
            for f in self.w.kind(L[o][1]).fields:
                if f.kind == "ref":
                    derefs += [
                        f"{o}.{f.name}.{g.name}"
                        for g in self.w.kind(f.target).fields
                        if g.kind in ("bool", "int")
                    ]
        if not derefs:
            return None
        d = self.choice(derefs)
        if d.rsplit(".", 1)[1].startswith("i"):  # an int field: compare it
            d = f"{d} > {self.draw(st.integers(0, 2))}"
        guarded = self.coin(0.3 if self.failing else 0.7)
        return f"({d.split('.')[0]}.{d.split('.')[1]} != none and {d})" if guarded else d

    def value_for(self, f: FieldSpec | VarSpec, L: dict[str, tuple[str, str]]) -> str:
        if f.kind == "int":
            e = self.int_expr(L, 2)
            constant = not re.search(r"[A-Za-z]", re.sub(r"\b(min|max)\(", "", e))
            if constant or self.coin(0.7):
                # mostly clamped, so that range errors stay the exception; a constant out of
                # range would be a type error, not a step error
                return f"max({f.lo}, min({f.hi}, {e}))"
            return e
        if f.kind == "bool":
            return self.bool_expr(L, 2)
        if f.kind == "enum":
            return self.enum_expr(f.enum, L)
        assert isinstance(f, FieldSpec)
        return self.choice(["none", *self.objs(L, f.target)])

    # ---- statements
    def stmts(
        self, L: dict[str, tuple[str, str]], n: int, *, last_may_delete: bool, in_for: str = ""
    ) -> list[str]:
        out = []
        for i in range(n):
            stmt, L = self.stmt(L, may_delete=last_may_delete and i == n - 1, in_for=in_for)
            out.append(stmt)
        return out

    def stmt(
        self, L: dict[str, tuple[str, str]], *, may_delete: bool, in_for: str
    ) -> tuple[str, dict[str, tuple[str, str]]]:
        if in_for:
            # a `for` body writes only its own object's fields (deterministic statements)
            k = self.w.kind(L[in_for][1])
            if k.fields and self.coin(0.8):
                f = self.choice(k.fields)
                return f"{in_for}.{f.name} := {self.value_for(f, L)}", L
            return f"if {self.bool_expr(L, 1)} {{ }}", L
        objs = self.objs(L)
        if may_delete and objs and self.coin(0.35):
            return f"delete {self.choice(objs)}", L
        # field writes first: what hypothesis simplifies towards should still move the state
        forms = [1, 0, 3, 5, 2, 7, 3, 6, 8, 0, 1]
        form = forms[self.draw(st.integers(0, len(forms) - 1))]
        if form == 0 and self.w.vars:
            v = self.choice(self.w.vars)
            if v.kind == "int" and self.coin(0.3):
                lo = self.draw(st.integers(v.lo, v.hi))
                hi = self.draw(st.integers(lo, v.hi))
                return f"{v.name} := any {lo}..{hi}", L
            return f"{v.name} := {self.value_for(v, L)}", L
        if form in (1, 2) and objs:
            o = self.choice(objs)
            k = self.w.kind(L[o][1])
            if k.fields:
                f = self.choice(k.fields)
                return f"{o}.{f.name} := {self.value_for(f, L)}", L
        if form == 3:
            k = self.choice(self.w.kinds)
            inits = [f"{f.name}: {self.value_for(f, L)}" for f in k.fields if self.coin(0.5)]
            create = f"create {k.name} {{ {', '.join(inits)} }}"
            if self.coin(0.75):
                return f"if count({k.name}) < {k.slots} {{ {create} }}", L
            return create, L
        if form == 4 and may_delete and objs:
            return f"delete {self.choice(objs)}", L
        if form == 5:
            k = self.choice(self.w.kinds)
            q = self.w.fresh("c")
            inner = {**L, q: ("obj", k.name)}
            where = f" where {self.bool_expr(inner, 1)}" if self.coin(0.6) else ""
            body = self.stmts(inner, self.draw(st.integers(1, 2)), last_may_delete=may_delete)
            return f"choose {q} in {k.name}{where} {{ {' '.join(body)} }}", L
        if form == 6:
            k = self.choice(self.w.kinds)
            q = self.w.fresh("f")
            inner = {**L, q: ("obj", k.name)}
            where = f" where {self.bool_expr(inner, 1)}" if self.coin(0.5) else ""
            body = self.stmts(inner, 1, last_may_delete=False, in_for=q)
            return f"for {q} in {k.name}{where} {{ {' '.join(body)} }}", L
        if form == 7:
            then = self.stmts(L, 1, last_may_delete=may_delete)
            els = self.stmts(L, self.draw(st.integers(0, 1)), last_may_delete=may_delete)
            tail = f" else {{ {' '.join(els)} }}" if els else ""
            return f"if {self.bool_expr(L, 1)} {{ {' '.join(then)} }}{tail}", L
        if form == 8:
            y = self.w.fresh("y")
            return f"let {y} = {self.int_expr(L, 1)}", {**L, y: ("int", "")}
        # fallback: a harmless var or field write, or an empty if
        if self.w.vars:
            v = self.choice(self.w.vars)
            return f"{v.name} := {self.value_for(v, L)}", L
        return f"if {self.bool_expr(L, 1)} {{ }}", L


def _rich(draw: st.DrawFn, lo: int, hi: int) -> int:
    """An integer in lo..hi that hypothesis simplifies towards hi: bigger models are the
    interesting ones, and the state bound keeps them small anyway."""
    return hi - draw(st.integers(0, hi - lo))


@st.composite
def models(draw: st.DrawFn, controller_state: bool = False, failing: bool = False) -> str:
    """A random model; with `controller_state`, controllers may also read kinds through stale
    caches, actions may be split by `step`, and a fault may restart a controller; with
    `failing`, expressions (quantifier bodies, guards, invariants) often read through `none`,
    and every kind has a reference field to read through."""
    n_enums = draw(st.integers(1, 2))
    enums = {f"E{i}": [f"M{i}x{j}" for j in range(draw(st.integers(2, 3)))] for i in range(n_enums)}
    n_kinds = _rich(draw, 1, 2)
    kinds = [KindSpec(f"K{i}", _rich(draw, 1, 3)) for i in range(n_kinds)]
    for k in kinds:
        for j in range(_rich(draw, 2 if failing else 1, 3)):
            t = draw(st.sampled_from(["int", "bool", "enum", "ref"]))
            if failing and j < 2:  # something to read through, and something to read
                t = "ref" if j == 0 else draw(st.sampled_from(["bool", "int"]))
            if t == "ref" and any(f.kind == "ref" for f in k.fields):
                t = "int"
            if t == "int":
                lo = draw(st.integers(0, 1))
                k.fields.append(FieldSpec(f"i{j}", "int", lo, lo + draw(st.integers(1, 2))))
            elif t == "bool":
                k.fields.append(FieldSpec(f"b{j}", "bool"))
            elif t == "enum":
                k.fields.append(
                    FieldSpec(f"e{j}", "enum", enum=draw(st.sampled_from(sorted(enums))))
                )
            else:
                target = draw(st.sampled_from([x.name for x in kinds]))
                k.fields.append(FieldSpec(f"r{j}", "ref", target=target))
    vars_ = []
    for i in range(draw(st.integers(0, 2))):
        t = draw(st.sampled_from(["int", "bool", "enum"]))
        if t == "int":
            vars_.append(VarSpec(f"v{i}", "int", 0, draw(st.integers(1, 3))))
        elif t == "bool":
            vars_.append(VarSpec(f"v{i}", "bool"))
        else:
            vars_.append(VarSpec(f"v{i}", "enum", enum=draw(st.sampled_from(sorted(enums)))))
    w = World(enums, kinds, vars_)

    n_actions = _rich(draw, 1, 4)
    actor_of = [draw(st.sampled_from(["controller", "process", "fault"])) for _ in range(n_actions)]
    budgets = {i: draw(st.integers(1, 2)) for i, a in enumerate(actor_of) if a == "fault"}
    # trim until small: fewer slots first, then fewer fields (references to a kind go with it)
    # caches copy a kind and split actions add cells per object: keep the base much smaller
    bound = STATE_BOUND if not controller_state else STATE_BOUND // 15
    while state_bound(w, list(budgets.values())) > bound:
        big = max(w.kinds, key=lambda k: (k.slots, len(k.fields)))
        if big.slots > 1 and (big.slots > 2 or len(big.fields) <= 1):
            big.slots -= 1
        elif len(big.fields) > 1:
            big.fields.pop()
        elif w.vars:
            w.vars.pop()
        else:
            big.slots = max(1, big.slots - 1)
            for k in w.kinds:
                if len(k.fields) > 1:
                    k.fields.pop()
                    break
            else:
                break

    g = Gen(draw, w, failing)
    lines = ["model generated", ""]
    for e, members in enums.items():
        lines.append(f"enum {e} {{ {', '.join(members)} }}")
    for k in w.kinds:
        lines.append(f"kind {k.name}[{k.slots}] {{")
        for f in k.fields:
            if f.kind == "int":
                d = draw(st.integers(f.lo, f.hi))
                lines.append(f"  {f.name}: {f.lo}..{f.hi} = {d}")
            elif f.kind == "bool":
                lines.append(f"  {f.name}: bool = {draw(st.sampled_from(['true', 'false']))}")
            elif f.kind == "enum":
                lines.append(f"  {f.name}: {f.enum} = {draw(st.sampled_from(enums[f.enum]))}")
            else:
                lines.append(f"  {f.name}: {f.target}? = none")
        lines.append("}")
    for v in w.vars:
        if v.kind == "int":
            lines.append(f"var {v.name}: {v.lo}..{v.hi} = {draw(st.integers(v.lo, v.hi))}")
        elif v.kind == "bool":
            lines.append(f"var {v.name}: bool = {draw(st.sampled_from(['true', 'false']))}")
        else:
            lines.append(f"var {v.name}: {v.enum} = {draw(st.sampled_from(enums[v.enum]))}")
    creates = [f"create {k.name} {{ }}" for k in w.kinds for _ in range(_rich(draw, 0, k.slots))]
    if failing:
        # objects that refer to one another from the start, so that a quantifier meets both
        # a reference it can read through and one that is `none`
        creates, made = [], []
        for k in w.kinds:
            for _ in range(_rich(draw, 1, k.slots)):
                name = w.fresh("o")
                creates.append(f"let {name} = create {k.name} {{ }}")
                made.append((name, k.name))
        for name, kname in made:
            for f in w.kind(kname).fields:
                targets = [x for x, xk in made if xk == f.target]
                if f.kind == "ref" and targets and draw(st.integers(0, 4)) < 3:
                    creates.append(f"{name}.{f.name} := {draw(st.sampled_from(targets))}")
    if creates:
        lines.append(f"init {{ {' '.join(creates)} }}")

    for i, actor in enumerate(actor_of):
        L: dict[str, tuple[str, str]] = {}
        header = f"action a{i}"
        if draw(st.booleans()):
            k = draw(st.sampled_from(w.kinds))
            p = w.fresh("p")
            L = {p: ("obj", k.name)}
            header += f" for {p} in {k.name}"
            if draw(st.booleans()):
                header += f" where {g.bool_expr(L, 1)}"
        if failing and draw(st.integers(0, 2)) == 0:
            header += f" when {g.failing_quant(L)}"
        elif draw(st.booleans()):
            header += f" when {g.bool_expr(L, 2)}"
        body = g.stmts(L, _rich(draw, 1, 4 if controller_state else 3), last_may_delete=True)
        head = f"fault x{i} budget {budgets[i]}" if actor == "fault" else f"{actor} x{i}"
        if controller_state and actor != "fault":
            if body and draw(st.booleans()):
                # one or two `step`s anywhere: first, last and adjacent ones make steps with
                # no statements (issue 19 point 5)
                cuts = draw(st.lists(st.integers(0, len(body)), min_size=1, max_size=2))
                for cut in sorted(cuts, reverse=True):
                    body.insert(cut, "step")
            if actor == "controller" and draw(st.integers(0, 3)) > 0:
                k = draw(st.sampled_from(w.kinds))
                bound = [(n, kk) for n, (t, kk) in L.items() if t == "obj"]
                if failing and bound:
                    # it reads its binder's kind through the cache and stores what it read: a
                    # reference to an object the apiserver may have deleted (it dangles)
                    p, kname = bound[0]
                    k = w.kind(kname)
                    holders = [
                        (j, f) for j in w.kinds for f in j.fields
                        if f.kind == "ref" and f.target == kname
                    ]  # fmt: skip
                    if holders:
                        j, f = draw(st.sampled_from(holders))
                        body.insert(
                            0,
                            f"if count({j.name}) < {j.slots} {{ create {j.name} {{ {f.name}: {p} }} }}",
                        )
                if draw(st.integers(0, 4)) < 3:
                    head += f" watches {k.name} stale"
                else:  # a coalesced watch and its handler
                    head += f" watches {k.name} coalesced"
                    if draw(st.integers(0, 2)) == 0:  # starts empty instead of synced
                        head += " unsynced"
                    q = w.fresh("q")
                    handler = g.stmts({q: ("obj", k.name)}, _rich(draw, 1, 2), last_may_delete=True)
                    lines.append(f"{head} {{")
                    lines.append(f"  action h{i} on {q} in {k.name} {{ {' '.join(handler)} }}")
                    lines.append(f"  {header} {{")
                    lines.extend(f"    {s}" for s in body)
                    lines.append("  }")
                    lines.append("}")
                    continue
        lines.append(f"{head} {{")
        lines.append(f"  {header} {{")
        lines.extend(f"    {s}" for s in body)
        lines.append("  }")
        lines.append("}")
    controllers = [i for i, a in enumerate(actor_of) if a == "controller"]
    if controller_state and controllers and draw(st.booleans()):
        lines.append(
            f"fault crash budget 1 {{ action crash {{ restart x{draw(st.sampled_from(controllers))} }} }}"
        )
    for i in range(draw(st.integers(1, 2))):
        if failing and draw(st.booleans()):
            lines.append(f"invariant inv{i}: {g.failing_quant({})}")
        else:
            lines.append(f"invariant inv{i}: {g.bool_expr({}, 2)}")
    return "\n".join(lines) + "\n"
