"""The KDSL type checker: names, types and the structural rules of spec/language.md.

Runs after `build_symbols` on a table that may be partial (declarations with errors are missing
from it). Every error found is reported; a sub-expression that already failed gets the internal
type `TError`, which every rule accepts silently, so one mistake yields one diagnostic.
The compiler relies on what is checked here: a program with no errors is safe to compile.

One class in layers, each a module: `base` (reporting, names, constants, binders), `temporal`,
`expr`, `stmt`, `docker` and `decl` (declarations, and `Checker.run`); `context` holds what they
share.
"""

from __future__ import annotations

from kcheck.lang.check.decl import Checker
from kcheck.lang.diagnostics import Diagnostic
from kcheck.lang.symbols import Symbols


def check_program(symbols: Symbols) -> list[Diagnostic]:
    """Check names, types and structure of a resolved program; returns every error found."""
    return Checker(symbols).run()
