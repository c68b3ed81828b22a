"""What the language server knows about one open document, computed from its text alone (never
from the file on disk, which the editor has not saved yet): the checker's diagnostics, the name
index for hover and go to definition, and the `kcheck fmt` layout. No protocol types here; the
server (lsp/server.py) translates."""

from __future__ import annotations

from dataclasses import dataclass

from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic, KcheckError, Source, sort_key
from kcheck.lang.fmt import format_program
from kcheck.lang.frontend import check_source, lower_program
from kcheck.lang.imports import expand_imports
from kcheck.lang.parser import parse
from kcheck.lang.symbols import build_symbols
from kcheck.lsp.index import Index, Ref, build_index, lowered_builtin_calls
from kcheck.lsp.lowered import repair


@dataclass(frozen=True)
class Analysis:
    source: Source
    diagnostics: tuple[Diagnostic, ...]
    index: Index | None  # None when the text does not parse


def analyse(path: str, text: str) -> Analysis:
    """Check `text` as the model at `path` would be checked by `kcheck check`."""
    source = Source(path, text)
    try:
        diags: tuple[Diagnostic, ...] = check_source(source).warnings
    except KcheckError as err:
        diags = err.diagnostics
    try:
        program = parse(source)
    except KcheckError:
        return Analysis(source, tuple(sorted(diags, key=sort_key)), None)
    # The table as the checker builds it, before it refuses a model with errors: names still
    # resolve while the user fixes one.
    # Imports expanded and constructs lowered as the checker does it: a module's names resolve
    # into its file, an actor's `pending` to the state var `rs.pending`.
    symbols, _ = build_symbols(lower_program(expand_imports(program, path)[0])[0])
    try:
        built = build_index(symbols)
        have = {r.span for r in built.refs}  # `size(s)` of a set stays a call; of a list not
        built.refs += [r for r in lowered_builtin_calls(program) if r.span not in have]
        # the names lowering rewrote (records, keyed locals, skew), as the user wrote them
        repair(program, symbols, built, source.lines)
        index: Index | None = built
    except RecursionError:  # nested deeper than the checker accepts (KC0505, published)
        index = None
    return Analysis(source, tuple(sorted(diags, key=sort_key)), index)


def formatted(path: str, text: str) -> str | None:
    """The text `kcheck fmt` would write, or None when the text does not parse (as `kcheck fmt`,
    a model with type errors is still laid out: its layout does not depend on them)."""
    source = Source(path, text)
    try:
        program = parse(source)
    except KcheckError:
        return None
    return format_program(program, text)


def hover_text(analysis: Analysis, ref: Ref) -> str:
    """Markdown for a hover: what the name is, its type, and its declaration's line."""
    head = f"({ref.what}) {ref.name}" + (f": {ref.type}" if ref.type else "")
    out = [f"```kdsl\n{head}\n```"]
    line = ref.decl.line
    if ref.decl != ast.NOWHERE and 1 <= line <= len(analysis.source.lines):
        shown = analysis.source.lines[line - 1].strip()
        if len(shown) > 120:
            shown = shown[:117] + "..."
        out.append(f"declared at line {line}: `{shown}`")
    return "\n\n".join(out)


def message_of(d: Diagnostic) -> str:
    """The message an editor shows: the checker's message, then its notes and its help."""
    lines = [d.message]
    lines += [f"note: {n}" for n in d.notes]
    if d.help:
        lines.append(f"help: {d.help}")
    return "\n".join(lines)
