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
from kcheck.lang.nesting import nesting_errors
from kcheck.lang.parser import parse, read_source
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
    too_deep = nesting_errors(program)
    if too_deep:
        raise KcheckError(too_deep)
    # an actor's `var`s become global vars before anything resolves names (actor_locals.py)
    lowered, local_errors = lower_actor_locals(program)
    # then clocks become bounded ints and time a generated `tick` (time.py)
    lowered, time_errors = lower_time(lowered)
    local_errors += time_errors
    symbols, diags = build_symbols(lowered, overrides)
    diags = explain_unknown(local_errors + diags + check_program(symbols), program)
    # a `within` action's guard is also the tick's (time.py): say each error once
    diags = list(dict.fromkeys(diags))
    if not [d for d in diags if d.severity == "error"]:
        diags = diags + broken_assumptions(symbols)
    errors = [d for d in diags if d.severity == "error"]
    if errors:
        raise KcheckError(diags)
    if not _acts(program):
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
