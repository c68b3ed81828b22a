"""The front end in one call: read, parse, resolve, type-check. What every command starts with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kcheck.lang import ast
from kcheck.lang.checker import check_program
from kcheck.lang.diagnostics import Diagnostic, KcheckError, Source
from kcheck.lang.parser import parse, read_source
from kcheck.lang.symbols import Symbols, build_symbols


@dataclass(frozen=True)
class CheckedModel:
    """A model that parsed and type-checked: safe to compile."""

    source: Source
    program: ast.Program
    symbols: Symbols
    warnings: tuple[Diagnostic, ...]


def check_source(source: Source, overrides: Mapping[str, int | str] | None = None) -> CheckedModel:
    """Parse and check `source`; raises KcheckError carrying every error found."""
    program = parse(source)
    symbols, diags = build_symbols(program, overrides)
    diags = diags + check_program(symbols)
    errors = [d for d in diags if d.severity == "error"]
    if errors:
        raise KcheckError(diags)
    return CheckedModel(source, program, symbols, tuple(diags))


def load(path: str, overrides: Mapping[str, int | str] | None = None) -> CheckedModel:
    return check_source(read_source(path), overrides)
