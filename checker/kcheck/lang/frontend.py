"""The front end in one call: read, parse, resolve, type-check, expand the builtins that later
passes do not know (`feasible`). What every command starts with."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from kcheck.lang import ast
from kcheck.lang.actor_locals import explain_unknown, lower_actor_locals
from kcheck.lang.assume import broken_assumptions
from kcheck.lang.check import check_program
from kcheck.lang.diagnostics import Diagnostic, KcheckError, Source
from kcheck.lang.expand import expand_feasible
from kcheck.lang.imports import expand_imports, shadows_the_model
from kcheck.lang.keyed_locals import lower_keyed_locals
from kcheck.lang.lists import lower_lists, speak_literals
from kcheck.lang.nesting import nesting_errors
from kcheck.lang.parser import parse, read_source
from kcheck.lang.record_sites import Site, speak_parts
from kcheck.lang.records import lower_records
from kcheck.lang.symbols import Symbols, build_symbols
from kcheck.lang.time import lower_time


@dataclass(frozen=True)
class CheckedModel:
    """A model that parsed and type-checked: safe to compile. `program` is the tree as written
    (what `kcheck fmt` prints); `symbols` are resolved from it after expansion, so their
    `program` has no `feasible(...)` left."""

    source: Source
    program: ast.Program
    symbols: Symbols
    warnings: tuple[Diagnostic, ...]


def lower_program(
    program: ast.Program, overrides: Mapping[str, int | str] | None = None
) -> tuple[ast.Program, list[Diagnostic], list[Diagnostic], list[Site]]:
    """The constructs that lower into others, in order, before anything resolves names: records
    become flat fields (records.py, keyed_locals.py), an actor's `var`s global vars
    (actor_locals.py), then clocks bounded ints and time a generated `tick` (time.py). Returns
    the lowered program, the record errors (which stop the check), the other lowerings' errors,
    and where variable indexes were expanded. The language server resolves names in the same
    lowered program."""
    keyed, keyed_errors = lower_keyed_locals(program)
    listed, list_errors = lower_lists(keyed, overrides)
    flat, record_errors, sites = lower_records(listed, overrides)
    lowered, local_errors = lower_actor_locals(flat)
    lowered, time_errors = lower_time(lowered)
    return lowered, keyed_errors + list_errors + record_errors, local_errors + time_errors, sites


def check_source(
    source: Source,
    overrides: Mapping[str, int | str] | None = None,
    rewrite: Callable[[ast.Program], ast.Program] | None = None,
) -> CheckedModel:
    """Parse and check `source`; raises KcheckError carrying every error found. `rewrite`
    changes the parsed tree first (the initial objects of `--manifest`, spec/manifests.md)."""
    program = parse(source)
    if rewrite is not None:
        program = rewrite(program)
    # imported modules' declarations join the model's, namespaced (imports.py)
    imported, import_errors = expand_imports(program, source.path)
    if import_errors:
        raise KcheckError(import_errors)
    too_deep = nesting_errors(imported)
    if too_deep:
        raise KcheckError(too_deep)
    lowered, record_errors, local_errors, sites = lower_program(imported, overrides)
    if record_errors:
        # what is left of a misused part would only give the checker errors of its own
        raise KcheckError(list(dict.fromkeys(record_errors)))
    symbols, diags = build_symbols(lowered, overrides)
    diags = local_errors + diags + check_program(symbols)
    # a variable index is a case over the parts: one mistake is reported once, as written
    diags = explain_unknown(speak_parts(diags, sites), program)
    diags = speak_literals(diags, imported)  # a list literal's elements, as written
    diags = [d for d in diags if not shadows_the_model(d)]  # a module's locals (imports.py)
    # a `within` action's guard is also the tick's (time.py): say each error once
    diags = list(dict.fromkeys(diags))
    if not [d for d in diags if d.severity == "error"]:
        diags = diags + broken_assumptions(symbols)
    errors = [d for d in diags if d.severity == "error"]
    if errors:
        raise KcheckError(diags)
    if not _acts(imported):  # a module's actors act too
        diags = [
            *diags,
            Diagnostic(
                "KC0503",
                NO_ACTIONS,
                program.name_span,
                severity="warning",
                help="add a `process` or `controller` with an `action`",
            ),
        ]
    expanded = expand_feasible(lowered)
    if expanded is not lowered:
        symbols, again = build_symbols(expanded, overrides)
        # the same declarations, resolved a second time, cannot fail now
        assert not [d for d in again if d.severity == "error"], again
    return CheckedModel(source, program, symbols, tuple(diags))


NO_ACTIONS = (
    "the model has no actions: its state never changes, so a verdict says only that its "
    "initial states satisfy the invariants"
)


def _acts(program: ast.Program) -> bool:
    """Has the model any step at all? (A scheduler always has its bind step.)"""
    return any(
        isinstance(d, ast.Scheduler) or bool(getattr(d, "actions", ()))
        for d in program.decls
        if isinstance(d, ast.Controller | ast.Process | ast.Scheduler | ast.Fault)
    )


def load(
    path: str,
    overrides: Mapping[str, int | str] | None = None,
    rewrite: Callable[[ast.Program], ast.Program] | None = None,
) -> CheckedModel:
    return check_source(read_source(path), overrides, rewrite)
