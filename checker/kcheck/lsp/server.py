"""`kcheck lsp`: the language server an editor starts over stdio (pygls). It publishes the
checker's diagnostics on open and after each burst of changes (a change waits DEBOUNCE seconds
for the next keystroke, so fast typing is checked once, not once per key), answers hover and go
to definition from the name index of the current text, and formats with `kcheck fmt`'s layout.
Positions travel in the client's units (UTF-16 by default); KDSL spans count characters, so
every position is converted through the document's codec."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path
from pygls.workspace import TextDocument

from kcheck import __version__
from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic
from kcheck.lsp.analysis import Analysis, analyse, formatted, hover_text, message_of

log = logging.getLogger(__name__)
DEBOUNCE = 0.15  # seconds without a change before a changed document is checked again


class KdslServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("kcheck", __version__)
        self.analyses: dict[str, Analysis] = {}
        self.pending: dict[str, asyncio.TimerHandle] = {}

    def later(self, uri: str) -> None:
        """Check `uri` once its text has stopped changing for DEBOUNCE seconds."""
        self.cancel(uri)
        self.pending[uri] = asyncio.get_running_loop().call_later(DEBOUNCE, self.refresh_uri, uri)

    def cancel(self, uri: str) -> None:
        handle = self.pending.pop(uri, None)
        if handle is not None:
            handle.cancel()

    def refresh_uri(self, uri: str) -> None:
        self.pending.pop(uri, None)
        self.refresh(self.workspace.get_text_document(uri))

    def current(self, doc: TextDocument) -> Analysis | None:
        """The analysis of the document's text as it is now (a request may come before the
        debounced check of the last change: then check now)."""
        analysis = self.analyses.get(doc.uri)
        if analysis is None or analysis.source.text != doc.source:
            self.refresh(doc)
            analysis = self.analyses.get(doc.uri)
        return analysis

    def refresh(self, doc: TextDocument) -> None:
        """Check the document and publish what the checker says about it."""
        self.cancel(doc.uri)
        try:
            analysis = analyse(to_fs_path(doc.uri) or doc.uri, doc.source)
        except Exception as exc:  # a checker bug must not take the editor's server down
            log.exception("kcheck lsp: checking %s failed", doc.uri)
            self.analyses.pop(doc.uri, None)
            internal = lsp.Diagnostic(
                range=lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0)),
                message=f"internal error in kcheck while checking this file: {exc!r}",
                severity=lsp.DiagnosticSeverity.Error,
                source="kcheck",
            )
            self.publish(doc, [internal])
            return
        self.analyses[doc.uri] = analysis
        self.publish(doc, [_diagnostic(doc, d) for d in analysis.diagnostics])

    def publish(self, doc: TextDocument, diags: list[lsp.Diagnostic]) -> None:
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=doc.uri, diagnostics=diags, version=doc.version)
        )


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return ""


def _lines(doc: TextDocument) -> list[str]:
    return doc.source.split("\n")


def _position(doc: TextDocument, lines: Sequence[str], line: int, col: int) -> lsp.Position:
    """A 1-based KDSL (line, column in characters) as a 0-based LSP position in client units."""
    row = max(0, line - 1)
    text = lines[row] if row < len(lines) else ""
    return lsp.Position(row, doc.position_codec.client_num_units(text[: max(0, col - 1)]))


def _range(doc: TextDocument, span: ast.Span) -> lsp.Range:
    if span == ast.NOWHERE:  # a problem of the whole file (say, a bad -D): its first character
        return lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
    lines = _lines(doc)
    return lsp.Range(
        _position(doc, lines, span.line, span.col),
        _position(doc, lines, span.end_line, span.end_col),
    )


def _diagnostic(doc: TextDocument, d: Diagnostic) -> lsp.Diagnostic:
    inside = d.span.file and d.span.file != to_fs_path(doc.uri)  # in an imported module
    where = f"{d.span.file}:{d.span.line}:{d.span.col}: " if inside else ""
    return lsp.Diagnostic(
        range=_range(doc, ast.NOWHERE if inside else d.span),
        message=where + message_of(d),
        severity=(
            lsp.DiagnosticSeverity.Error
            if d.severity == "error"
            else lsp.DiagnosticSeverity.Warning
        ),
        code=d.code,
        source="kcheck",
    )


def _cursor(doc: TextDocument, pos: lsp.Position) -> tuple[int, int]:
    """An LSP position as a 1-based KDSL (line, column)."""
    server = doc.position_codec.position_from_client_units(doc.lines, pos)
    return server.line + 1, server.character + 1


def create_server() -> KdslServer:
    server = KdslServer()

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: KdslServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.refresh(ls.workspace.get_text_document(params.text_document.uri))

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: KdslServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.later(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: KdslServer, params: lsp.DidSaveTextDocumentParams) -> None:
        ls.refresh(ls.workspace.get_text_document(params.text_document.uri))

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: KdslServer, params: lsp.DidCloseTextDocumentParams) -> None:
        ls.cancel(params.text_document.uri)
        ls.analyses.pop(params.text_document.uri, None)
        ls.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[])
        )

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    def hover(ls: KdslServer, params: lsp.HoverParams) -> lsp.Hover | None:
        doc = ls.workspace.get_text_document(params.text_document.uri)
        analysis = ls.current(doc)
        if analysis is None or analysis.index is None:
            return None
        ref = analysis.index.at(*_cursor(doc, params.position))
        if ref is None:
            return None
        return lsp.Hover(
            contents=lsp.MarkupContent(lsp.MarkupKind.Markdown, hover_text(analysis, ref)),
            range=_range(doc, ref.span),
        )

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: KdslServer, params: lsp.DefinitionParams) -> lsp.Location | None:
        doc = ls.workspace.get_text_document(params.text_document.uri)
        analysis = ls.current(doc)
        if analysis is None or analysis.index is None:
            return None
        ref = analysis.index.at(*_cursor(doc, params.position))
        if ref is None or ref.decl == ast.NOWHERE:
            return None
        if ref.decl.file:  # declared in an imported module: open it there
            module = TextDocument(
                from_fs_path(ref.decl.file) or ref.decl.file, _read(ref.decl.file)
            )
            return lsp.Location(uri=module.uri, range=_range(module, ref.decl))
        return lsp.Location(uri=doc.uri, range=_range(doc, ref.decl))

    @server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
    def formatting(ls: KdslServer, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit]:
        doc = ls.workspace.get_text_document(params.text_document.uri)
        text = formatted(to_fs_path(doc.uri) or doc.uri, doc.source)
        if text is None or text == doc.source:
            return []  # a syntax error (published as a diagnostic) or already formatted
        lines = _lines(doc)
        end = _position(doc, lines, len(lines), len(lines[-1]) + 1)
        return [lsp.TextEdit(range=lsp.Range(lsp.Position(0, 0), end), new_text=text)]

    return server


def serve() -> None:
    """Speak LSP on stdin/stdout until the client says exit."""
    create_server().start_io()
