"""The state layout: where every var, fault budget and object lives in the flat state tuple.
Vars first (then the hidden cells of split actions without a binder), then the budgets, then
each kind's slots: a presence flag and the fields, then for every controller that caches the
kind its copy (`@x` flag and `field@x`), and the hidden cells of split actions over the kind.
Also which kinds' references may dangle, which decides the runtime checks and the free-slot rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from kcheck.lang import ast
from kcheck.lang.symbols import Symbols, stale_watches
from kcheck.lang.types import BOOL, INT, TBool, TEnum, TRef, TSet, Type
from kcheck.model.context import Watches
from kcheck.model.controller_state import (
    Split,
    changed_var,
    conflict_watches,
    own_write_field,
    own_write_watches,
    own_writes_var,
)
from kcheck.model.env import Env, Local
from kcheck.model.ir import BudgetLayout, FieldLayout, KindLayout, Layout, VarLayout
from kcheck.model.symmetry_order import order_dependent_kinds
from kcheck.model.typeof import TypeOf

# the declared type of each local a split action carries across a `step`, by (group, local)
LocalTypes = dict[tuple[str, str], Type]


def build_layout(
    sym: Symbols,
    symmetry: bool,
    watches: Watches,
    types: TypeOf,
    const: Callable[[ast.Expr], int],
) -> tuple[Layout, list[str], LocalTypes]:
    """The layout, the notes on kinds symmetry leaves alone, and the carried locals' types.
    `const` evaluates a constant expression (a fault's budget)."""
    local_types: LocalTypes = {}
    idx = 0
    vars_: list[VarLayout] = []
    for v in sym.vars.values():
        vars_.append(VarLayout(v.name, v.type, idx))
        idx += 1
    for sp in watches.splits.values():
        if sp.kind is None:
            for name, ty in split_cells(sp, types, local_types):
                vars_.append(VarLayout(name, ty, idx))
                idx += 1
    own = own_write_watches(sym)
    for x, kname in own:  # `seen_own_writes(K)`'s flags (per object on a coalesced watch)
        if (x, kname) in watches.coalesced:
            continue
        vars_.append(VarLayout(own_writes_var(x, kname), BOOL, idx))
        idx += 1
    for x, kname in conflict_watches(sym):  # `unchanged(x)`'s sets
        vars_.append(VarLayout(changed_var(x, kname), TSet(kname), idx))
        idx += 1
    budgets: list[BudgetLayout] = []
    for a in sym.actors:
        if isinstance(a, ast.Fault):
            budgets.append(BudgetLayout(a.name, idx, const(a.budget)))
            idx += 1
    unsafe, notes = order_dependent_kinds(sym) if symmetry else ({}, [])
    kinds: list[KindLayout] = []
    for k in sym.kinds.values():
        fields = [FieldLayout(f.name, f.type, i + 1) for i, f in enumerate(k.fields)]
        real = list(fields)
        for x in watches.watchers.get(k.name, ()):
            flag = len(fields) + 1
            fields.append(FieldLayout(f"@{x}", BOOL, flag, flag))
            fields += [
                FieldLayout(f"{f.name}@{x}", f.type, flag + 1 + i, flag) for i, f in enumerate(real)
            ]
            if (x, k.name) in watches.coalesced and (x, k.name) not in watches.unsynced:
                # the initial add its handler has yet to hear (spec/faults.md section 3)
                fields.append(FieldLayout(f"+add@{x}", BOOL, len(fields) + 1))
            if (x, k.name) in watches.coalesced and (x, k.name) in own:
                # a write of x's own to the object is not delivered yet: its own flag guards
                # it, so a delete keeps it while the deletion is still to be heard
                fields.append(
                    FieldLayout(own_write_field(x), BOOL, len(fields) + 1, len(fields) + 1)
                )
        for sp in watches.splits.values():
            if sp.kind == k.name:
                for name, ty in split_cells(sp, types, local_types):
                    fields.append(FieldLayout(name, ty, len(fields) + 1))
        stride = len(fields) + 1
        sym_ok = symmetry and not k.ordered and k.name not in unsafe
        kinds.append(KindLayout(k.name, idx, k.size, stride, tuple(fields), sym_ok))
        idx += k.size * stride
    layout = Layout(idx, tuple(vars_), tuple(budgets), tuple(kinds), dict(sym.enums))
    layout = replace(layout, fixed=fixed_positions(sym, layout))
    return layout, notes, local_types


def fixed_positions(sym: Symbols, layout: Layout) -> frozenset[int]:
    """The positions no step can change after `init` (spec: issue 14's "drop what never
    changes"): the presence flag of each object of a kind that is never created or deleted,
    such a kind's fields that no statement assigns, and vars that none assigns. Read off the
    syntax, over every declaration but `init`, and erring towards "may change": a name
    assigned anywhere (as a var or as any kind's field), a reference or set a `delete` may
    clear, a scheduler's bind field, every fault budget, cached copy and hidden cell, and
    whatever symmetry reduction moves (a symmetric kind's objects, references to them). The
    packed store takes a fixed position's value from the initial states, and should a step
    ever change it after all, widens it (store.c): slower, never wrong."""
    assigned: set[str] = set()  # the last part of every assignment's target
    heads: set[str] = set()  # every assignment target's first part, and the whole path
    created: set[str] = set()
    deletes: list[ast.Expr] = []
    bound: dict[str, set[str | None]] = {}  # binder name -> the kinds it ranges over
    for decl in sym.program.decls:
        if isinstance(decl, ast.Init):
            continue
        for n in ast.walk_nodes(decl):
            if isinstance(n, ast.LValue):
                assigned.add(n.parts[-1])
                heads.update((n.parts[0], ".".join(n.parts)))
            elif isinstance(n, ast.Create):
                created.add(n.kind)
            elif isinstance(n, ast.Delete):
                deletes.append(n.target)
            elif isinstance(n, ast.Binder):
                d = n.domain
                ranged = (
                    d.expr.id
                    if isinstance(d, ast.ExprDomain) and isinstance(d.expr, ast.Name)
                    else None
                )
                bound.setdefault(n.name, set()).add(ranged if ranged in sym.kinds else None)
            elif isinstance(n, ast.Scheduler):
                assigned.add(n.node_field)
    deleted: set[str] = set()
    for target in deletes:
        kinds = bound.get(target.id) if isinstance(target, ast.Name) else None
        if not kinds or None in kinds:  # not a plain binder of a kind: any kind may go
            deleted = set(sym.kinds)
            break
        deleted |= {k for k in kinds if k is not None}

    # symmetry reduction permutes a symmetric kind's objects and renames references to them
    moved = deleted | {k.name for k in layout.kinds if k.symmetric}

    def may_dangle_into(ty: Type) -> bool:
        return (isinstance(ty, TRef) and ty.kind in moved) or (
            isinstance(ty, TSet) and ty.elem in moved
        )

    fixed: set[int] = set()
    for v in layout.vars:
        declared = sym.vars.get(v.name)
        if declared is None or may_dangle_into(v.type):
            continue  # a hidden cell, or a reference a delete clears
        if v.name in heads or v.name.rsplit(".", 1)[-1] in assigned:
            continue
        fixed.add(v.index)
    for k in layout.kinds:
        if k.name in created or k.name in moved:
            continue
        for slot in range(k.slots):
            base = k.slot_base(slot)
            fixed.add(base)
            for f in k.fields:
                if not f.hidden and f.name not in assigned and not may_dangle_into(f.type):
                    fixed.add(base + f.offset)
    return frozenset(fixed)


def split_cells(sp: Split, types: TypeOf, local_types: LocalTypes) -> list[tuple[str, Type]]:
    """The hidden state of a split action: the step it runs next (0: not in flight), then
    each carried local. References are kept optional: -1 while not in flight."""
    env: Env = {}
    if sp.kind is not None:
        env[sp.action.binders[0].name] = Local("0", TRef(sp.kind))
    declared: dict[str, Type] = {}
    for seg in sp.segments:
        # a `step` inside a block carries nested lets and binders too (lang/steps.py)
        for st in seg if sp.lowered is None else ast.walk_stmts(seg):
            if isinstance(st, ast.Choose):
                for b in st.binders:
                    ty = _binder_type(b, types, env)
                    env[b.name] = Local("0", ty)
                    declared[b.name] = ty
            if isinstance(st, ast.Let):
                v = st.value
                ty = TRef(v.kind) if isinstance(v, ast.Create) else types.type_of(v, env)
                env[st.name] = Local("0", ty)
                declared[st.name] = ty
    cells: list[tuple[str, Type]] = [(f"{sp.group}@step", INT)]
    for n in sp.carried:
        ty = declared[n]
        local_types[(sp.group, n)] = ty
        if isinstance(ty, TRef):
            ty = TRef(ty.kind, True)
        elif not isinstance(ty, TBool | TEnum | TSet):
            ty = INT
        cells.append((f"{sp.group}@{n}", ty))
    return cells


def dangling_kinds(sym: Symbols) -> set[str]:
    """The kinds that a real reference (a field, a set, a var) may name after the object is
    gone. `delete` clears every reference to the object it deletes, so one can only be made
    later, by storing a reference that already dangles: one read from a controller's cache (it
    may remember an object the apiserver has deleted), or a local naming an object deleted
    earlier in the same step. Over-approximated: a read through a reference to another kind
    needs no check, since it names a live object or `none`."""
    targets: dict[str, set[str]] = {}  # field or var name -> kinds it may refer to

    def note(name: str, ty: Type) -> None:
        if isinstance(ty, TRef):
            targets.setdefault(name, set()).add(ty.kind)
        elif isinstance(ty, TSet) and ty.elem in sym.kinds:
            targets.setdefault(name, set()).add(ty.elem)

    for kinfo in sym.kinds.values():
        for f in kinfo.fields:
            note(f.name, f.type)
    for v in sym.vars.values():
        note(v.name, v.type)
    every = set().union(*targets.values()) if targets else set()
    if any(stale_watches(sym).values()):
        return every
    out: set[str] = set()
    bodies = [i.body.stmts for i in sym.inits]
    for actor in sym.actors:
        bodies += [a.body.stmts for a in actor.actions]
        if isinstance(actor, ast.Scheduler):
            bodies += [h.body.stmts for h in actor.hooks]
    for body in bodies:
        # after a `delete` (or anywhere in a loop that deletes), a stored reference may dangle
        after_delete = False
        for st in ast.walk_stmts(body):
            if isinstance(st, ast.Delete) or (
                isinstance(st, ast.For)
                and any(isinstance(x, ast.Delete) for x in ast.walk_stmts(st.body.stmts))
            ):
                after_delete = True
            elif after_delete and isinstance(st, ast.Assign | ast.AssignAny):
                out |= targets.get(st.target.parts[-1], set())
            elif after_delete and isinstance(st, ast.CreateStmt | ast.Let):
                c = st.create if isinstance(st, ast.CreateStmt) else st.value
                if isinstance(c, ast.Create):
                    for fi in c.fields:
                        out |= targets.get(fi.name, set())
    return out


def _binder_type(b: ast.Binder, types: TypeOf, env: Env) -> Type:
    """The type of a `choose` binder an action with `step` inside a block carries."""
    d = b.domain
    if isinstance(d, ast.RangeDomain):
        return INT
    if isinstance(d.expr, ast.Name) and d.expr.id in types.sym.kinds and d.expr.id not in env:
        return TRef(d.expr.id)
    t = types.type_of(d.expr, env)
    return TRef(t.elem) if isinstance(t, TSet) else t
