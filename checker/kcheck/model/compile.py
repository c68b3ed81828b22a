"""Checked AST -> CompiledModel: the entry point that wires the code-generation stages. Every
action, invariant and the init block become Python source over the flat state tuple, compiled
once with `compile()`: guards and effects are expressions on constant tuple indexes, quantifiers
over small kinds are unrolled, and no tree is walked while searching. The input must have passed
the type checker; this pass trusts it.

The stages, lowest first: typeof (expression types), layout (where everything lives in the
state), bind and failfree (binders; which reads cannot fail), expr (expressions), stmt
(statements, create, delete), controller_codegen (caches and split actions), scheduler, actions
(the compiled units), properties (invariants and temporal properties); context holds what they
share. Nondeterminism (`choose`, `:= any`, scheduler ties) is compiled as nested loops in which
the rest of the action runs once per choice, on its own copy of the state.
"""

from __future__ import annotations

from typing import Any

from kcheck.lang.symbols import Symbols, stale_watches
from kcheck.lang.time import deadlines_due
from kcheck.lang.types import TInt, TRef
from kcheck.model import native
from kcheck.model.actions import ActionCompiler, action_infos, units
from kcheck.model.bounds import bound_sources
from kcheck.model.context import CompileContext, Source, Watches
from kcheck.model.controller_codegen import ControllerCodegen
from kcheck.model.controller_state import (
    coalesced_watches,
    splits,
    unsynced_watches,
    watchers,
)
from kcheck.model.coverage import CoverCode
from kcheck.model.env import Ctx, Env
from kcheck.model.expr import ExprCompiler
from kcheck.model.ir import CompiledModel, DeadlineInfo, InvariantInfo, Layout
from kcheck.model.layout import build_layout, dangling_kinds
from kcheck.model.properties import emit_invariants, emit_properties, property_info
from kcheck.model.runtime import RUNTIME_NS
from kcheck.model.scheduler import SchedulerCompiler
from kcheck.model.stmt import StmtCompiler
from kcheck.model.symmetry import make_canonicalizer, ref_sites
from kcheck.model.typeof import TypeOf


def _laid_out(
    sym: Symbols, symmetry: bool
) -> tuple[CompileContext, ExprCompiler, list[str], dict[Any, Any]]:
    """The shared context over the model's state layout, its expression compiler, the layout's
    symmetry notes and the types of its locals."""
    g = Source()
    stale = stale_watches(sym)  # kinds read through a cache, stale or coalesced
    watches = Watches(
        stale, coalesced_watches(sym), unsynced_watches(sym), watchers(stale), splits(sym)
    )
    dangling = dangling_kinds(sym)
    types = TypeOf(sym)
    # constants (a fault's budget) read no state: they compile before the layout exists
    empty = Layout(0, (), (), (), dict(sym.enums))
    consts = ExprCompiler(CompileContext(sym, g, empty, watches, dangling), types)
    layout, notes, local_types = build_layout(sym, symmetry, watches, types, consts.const)
    prunable = {k.name for k in layout.kinds if k.symmetric and not any(ref_sites(layout, k.name))}
    c = CompileContext(sym, g, layout, watches, dangling, prunable)
    return c, ExprCompiler(c, types), notes, local_types


def expression_compiler(sym: Symbols, *, symmetry: bool = True) -> ExprCompiler:
    """An expression compiler over the same state layout as `compile_model(sym, symmetry=...)`:
    for tools that compile more expressions against a compiled model's states (the dashboard's
    values of an invariant's parts), in the namespace of that model's generated code."""
    return _laid_out(sym, symmetry)[1]


def compile_model(sym: Symbols, *, symmetry: bool = True, coverage: bool = False) -> CompiledModel:
    """Compile a checked model once; the result is shared by every engine. With `coverage`,
    also the form that counts guards and branches (model/coverage.py; the other forms are the
    same code either way)."""
    c, exprs, notes, local_types = _laid_out(sym, symmetry)
    g, layout = c.gen, c.layout
    cc = ControllerCodegen(c, local_types)
    stmts = StmtCompiler(c, exprs, cc)
    acts = ActionCompiler(c, exprs, stmts, cc, SchedulerCompiler(c, exprs, stmts))
    stmts.kind_helpers()
    _emit_initial(c, exprs, stmts, cc)
    # actions: a fast form returning successor states, and a labelled generator for traces
    compiled = units(sym, c.splits)
    actions = action_infos(sym, compiled, exprs, c.splits)
    acts.emit_functions(compiled)
    emit_invariants(c, exprs)
    labels = emit_properties(c, exprs)
    cover = acts.emit_coverage(compiled) if coverage else None
    due = deadlines_due(sym.program)
    for k, (_, cond) in enumerate(due):
        g.emit(f"def _due_{k}(s):")
        g.emit(f"    return bool({exprs.expr(cond, {}, 's', Ctx(-2, '()', 's'))})")

    source = g.source()
    ns: dict[str, Any] = dict(RUNTIME_NS)
    exec(native.compiled_code(source, f"<kcheck model {sym.program.name}>"), ns)
    invariants = tuple(
        InvariantInfo(inv.name, inv.span, ns[f"_inv_{i}"], inv.lemma, ns[f"_inv_why_{i}"])
        for i, inv in enumerate(sym.invariants)
    )
    properties = tuple(property_info(p, ns, i, labels[i]) for i, p in enumerate(sym.properties))
    canon = make_canonicalizer(layout) if any(k.symmetric for k in layout.kinds) else None
    return CompiledModel(
        name=sym.program.name,
        layout=layout,
        actions=tuple(actions),
        initial=ns["_initial"],
        successors=ns["_successors"],
        tagged_successors=ns["_tagged"],
        tagged_symmetric_successors=ns["_tagged_sym"],
        symmetric_successors=ns["_successors_sym"],
        action_outcomes=tuple(ns[f"_lab_{aid}"] for aid in range(len(compiled))),
        invariants=invariants,
        properties=properties,
        canonicalize=canon,
        symmetry_notes=tuple(notes),
        python_source=source,
        bounds=bound_sources(sym),
        coverage=None
        if cover is None
        else CoverCode(
            tuple(cover.points), tuple(ns[f"_cov_{a}"] for a in range(len(compiled))), ns["_GC"]
        ),
        deadlines=tuple(DeadlineInfo(label, ns[f"_due_{k}"]) for k, (label, _) in enumerate(due)),
    )


def _emit_initial(
    c: CompileContext, exprs: ExprCompiler, stmts: StmtCompiler, cc: ControllerCodegen
) -> None:
    """`_INIT` (vars at their initial values, budgets unspent, no objects), each kind's empty
    block `_ZERO_K`, and `_initial()`: the states the init blocks lead to."""
    sym, g, layout = c.sym, c.gen, c.layout
    init = [0] * layout.width
    for v in layout.vars:
        if v.name in sym.vars:
            init[v.index] = exprs.const(sym.vars[v.name].decl.init)
        elif isinstance(v.type, TRef):
            init[v.index] = -1  # a split action's local, not in flight
    g.emit(f"_INIT = {tuple(init)!r}")
    for k in layout.kinds:
        g.emit(f"_ZERO_{k.name} = {[0] * k.stride!r}")
    g.emit("def _initial():")
    g.depth += 1
    # a declared initial value outside its range fails init, as any other assignment would
    for v in layout.vars:
        lo, hi = (v.type.lo, v.type.hi) if isinstance(v.type, TInt) else (None, None)
        if (
            v.name in sym.vars
            and lo is not None
            and hi is not None
            and not lo <= init[v.index] <= hi
        ):
            why = f"{v.name} := {init[v.index]} leaves its range {lo}..{hi}"
            g.emit(f"_err('range', {why!r}, -1, (), {sym.vars[v.name].decl.init.span.line})")
    g.emit("out = []")
    g.emit("s = _INIT")
    g.emit("st = list(s)")
    init_stmts = tuple(s for i in sym.inits for s in i.body.stmts)

    def initial_state(env: Env, ctx: Ctx) -> None:
        # controllers start once their informers have synced (WaitForCacheSync); a coalesced
        # watch's handler still hears one add per initial object (unless it is `unsynced`:
        # then it starts empty, and hears of every object as it fills)
        for x, kinds in c.stale.items():
            for kname in kinds:
                if (x, kname) not in c.unsynced:
                    cc.refresh(x, kname, ctx.sv, ctx.sv)
                    cc.announce(x, kname, ctx.sv)
        g.emit(f"out.append(tuple({ctx.sv}))")

    stmts.block(init_stmts, {}, Ctx(-1, "()", "st"), initial_state)
    g.emit("return out")
    g.depth -= 1
