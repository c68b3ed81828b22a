"""What the Z3 engine refuses before it encodes anything (spec/smt.md, "What is encoded").

The language grows faster than the encoding: a construct the encoder would silently skip (a
`stale` informer cache, a new attribute of an action, hidden state the compiler adds to the
layout) would turn into a wrong answer. So the declarations are checked against the attributes
the encoder knows, and any other attribute that is set is refused. Unknown statement and
expression nodes are refused by the encoder itself, where it meets them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, is_dataclass

from kcheck.lang import ast
from kcheck.lang.symbols import Symbols, stale_watches
from kcheck.model.controller_state import (
    changed_var,
    conflict_watches,
    own_write_field,
    own_write_watches,
    own_writes_var,
    splits,
)
from kcheck.model.ir import CompiledModel
from kcheck.result import NOT_CHECKED, PropertyResult


class Unsupported(Exception):
    """The model uses a construct the Z3 engine does not encode."""

    def __init__(self, construct: str, line: int, file: str = "") -> None:
        # `file`: an imported module's, where the construct is (its line is that file's)
        where = f" at {file}:{line}" if line and file else f" at line {line}" if line else ""
        super().__init__(f"not encoded by the Z3 engine: {construct}{where}")
        self.construct = construct
        self.line = line


# The attributes of each declaration the encoder reads; spans are never semantic.
_KNOWN: dict[type, frozenset[str]] = {
    ast.Controller: frozenset({"name", "watches", "actions"}),
    ast.Watch: frozenset({"kind", "stale", "coalesced", "unsynced"}),
    ast.Process: frozenset({"name", "actions"}),
    ast.Scheduler: frozenset(
        {"name", "pod_kind", "node_field", "filters", "scores", "actions", "hooks"}
    ),
    ast.Filter: frozenset({"name", "pod", "node", "expr"}),
    ast.Score: frozenset({"name", "pod", "node", "expr", "weight"}),
    ast.Fault: frozenset({"name", "budget", "actions"}),
    ast.Action: frozenset({"name", "fairness", "binders", "where", "when", "body", "handler"}),
    ast.Invariant: frozenset({"name", "expr", "lemma"}),
    ast.Init: frozenset({"body"}),
}


def _unknown_attributes(node: object) -> list[str]:
    """The attributes of `node` the encoder does not read and that are set (not the default
    False, None or empty)."""
    assert is_dataclass(node)
    known = next((names for t, names in _KNOWN.items() if isinstance(node, t)), None)
    if known is None:
        return [f"a {type(node).__name__} declaration"]
    return [
        f.name
        for f in fields(node)
        if "span" not in f.name and f.name not in known and getattr(node, f.name)
    ]


def _refuse_node(node: object, what: str, line: int) -> None:
    for attr in _unknown_attributes(node):
        raise Unsupported(f"`{attr}` on {what}", line)


def refuse_unencoded(model: CompiledModel, sym: Symbols) -> None:
    """Raise Unsupported for the first construct of the model the encoder does not handle:
    declarations first, as their messages name what the user wrote."""
    for actor in sym.actors:
        line = actor.span.line
        _refuse_node(actor, f"{type(actor).__name__.lower()} `{actor.name}`", line)
        for w in getattr(actor, "watches", ()):
            _refuse_node(w, f"a watch of `{actor.name}`", w.span.line or line)
        for f in getattr(actor, "filters", ()) + getattr(actor, "scores", ()):
            _refuse_node(f, f"`{f.name}` of scheduler `{actor.name}`", f.span.line or line)
        for act in actor.actions:
            _refuse_node(act, f"action `{actor.name}.{act.name}`", act.span.line or line)
    for init in sym.inits:
        _refuse_node(init, "`init`", init.span.line)
    for inv in sym.invariants:
        _refuse_node(inv, f"invariant `{inv.name}`", inv.span.line)
    _refuse_layout(model, sym)


def _refuse_layout(model: CompiledModel, sym: Symbols) -> None:
    """State the compiler adds beyond vars, budgets and kinds (names with '@') is encoded only
    where smt/controllers.py knows its meaning: a cache's copy and its pending adds, and a
    split action's cells. Anything else would be state the encoder never moves."""
    layout = model.layout
    stale = stale_watches(sym)
    split_groups = {sp.group: sp for sp in splits(sym).values()}
    known: set[str] = set()
    for x, kinds in stale.items():
        for kname in kinds:
            known.add(f"{kname}.@{x}")
            known.add(f"{kname}.+add@{x}")
            known.add(f"{kname}.{own_write_field(x)}")  # controllers.own_field
            known |= {f"{kname}.{f.name}@{x}" for f in sym.kinds[kname].fields}
    known |= {own_writes_var(x, k) for x, k in own_write_watches(sym)}  # controllers.sync
    known |= {changed_var(x, k) for x, k in conflict_watches(sym)}  # smt/conflicts.py
    for sp in split_groups.values():
        cells = ["@step", *(f"@{n}" for n in sp.carried)]
        where = "" if sp.kind is None else f"{sp.kind}."
        known |= {f"{where}{sp.group}{c}" for c in cells}
    names = [v.name for v in layout.vars] + [k.name for k in layout.kinds]
    names += [f"{k.name}.{f.name}" for k in layout.kinds for f in k.fields]
    names += [b.fault for b in layout.budgets]
    for name in names:
        if "@" in name and name not in known:
            raise Unsupported(f"compiler-internal state `{name}`", 0)
    width = len(layout.vars) + len(layout.budgets)
    width += sum(k.slots * k.stride for k in layout.kinds)
    if width != layout.width or any(k.stride != len(k.fields) + 1 for k in layout.kinds):
        raise Unsupported("a state layout with parts other than vars, budgets and kinds", 0)


def refuse_concrete_param_uses(sym: Symbols) -> None:
    """With symbolic params: the places the compiled model fixes a param's value once (fault
    budgets, which size the state; score weights) cannot follow a symbolic one."""
    params = set(sym.params)
    for actor in sym.actors:
        if isinstance(actor, ast.Fault) and ast.names_in(actor.budget) & params:
            raise Unsupported("a fault budget that depends on a symbolic param", actor.span.line)
        for sc in getattr(actor, "scores", ()):
            if sc.weight is not None and ast.names_in(sc.weight) & params:
                raise Unsupported("a score weight that depends on a symbolic param", sc.span.line)


def temporal_not_checked(
    model: CompiledModel,
    names: Sequence[str] | None,
    engine: str,
    invariants: Sequence[str] | None = None,
) -> list[PropertyResult]:
    """An entry `not checked` for each selected temporal property, for the Z3 engines with
    symbolic params, which check invariants only (without them, smt/lasso.py and
    smt/liveness.py check temporal properties); a property they dropped silently would read as
    held. As on the command line, `names` None selects every property when no invariant was
    named either, else none."""
    if names is None and invariants is not None:
        names = ()
    wanted = set(names) if names is not None else None
    why = (
        f"--engine {engine} with --symbolic-params checks invariants only; temporal properties"
        " need the explicit engine"
    )
    return [
        PropertyResult(p.name, "property", NOT_CHECKED, p.span.line, reason=why, engine=engine)
        for p in model.properties
        if wanted is None or p.name in wanted
    ]
