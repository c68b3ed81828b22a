"""Type checker (placeholder until the full pass lands): accepts every program."""

from __future__ import annotations

from kcheck.lang.diagnostics import Diagnostic
from kcheck.lang.symbols import Symbols


def check_program(symbols: Symbols) -> list[Diagnostic]:
    return []
