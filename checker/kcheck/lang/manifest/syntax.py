"""The syntax of what a model describes of fields it does not map (`path: value` in a `manifest`
section, spec/manifests.md §4): the parse tree to AST methods the AST builder takes in (the text
back is `manifest.show`). Imports nothing heavy: the parser loads it at every start-up."""

from __future__ import annotations

from typing import Any, TypeVar

from lark import Token, Transformer, v_args
from lark.tree import Meta

from kcheck.lang import ast

_Out = TypeVar("_Out")


def _span(m: Meta) -> ast.Span:
    if getattr(m, "empty", True):
        return ast.NOWHERE
    return ast.Span(m.line, m.column, m.end_line, m.end_column)


def _tok(t: Token) -> ast.Span:
    line, col = t.line or 0, t.column or 0
    return ast.Span(line, col, t.end_line or line, t.end_column or col)


def _key(t: Token) -> str:
    return str(t)[1:-1] if t.type == "STRING" else str(t)


def _keys(toks: list[Token]) -> tuple[tuple[str, ...], ast.Span]:
    first, last = _tok(toks[0]), _tok(toks[-1])
    return tuple(_key(t) for t in toks), ast.Span(
        first.line, first.col, last.end_line, last.end_col
    )


@v_args(meta=True)
class PatternsToAst(Transformer[Token, _Out]):
    """The part of the AST builder (kcheck.lang.to_ast.ToAst) for these rules."""

    def key_word(self, m: Meta, c: list[Any]) -> Token:
        return Token("NAME", str(c[0]), c[0].start_pos, c[0].line, c[0].column, c[0].end_line,
                     c[0].end_column, c[0].end_pos)  # fmt: skip

    def manifest_fixed(self, m: Meta, c: list[Any]) -> ast.ManifestFixed:
        *toks, value = c
        path, span = _keys(toks)
        return ast.ManifestFixed(path, value, span, _span(m))

    def pat_entry(self, m: Meta, c: list[Any]) -> ast.PatEntry:
        *toks, value = c
        key, span = _keys(toks)
        return ast.PatEntry(key, value, False, span, _span(m))

    def pat_star(self, m: Meta, c: list[Any]) -> ast.PatEntry:
        sp = _span(m)
        return ast.PatEntry(("*",), c[0], True, ast.Span(sp.line, sp.col, sp.line, sp.col + 1), sp)

    def pat_any(self, m: Meta, c: list[Any]) -> ast.PatAny:
        return ast.PatAny(tuple(c), _span(m))

    def pat_none(self, m: Meta, c: list[Any]) -> ast.PatNone:
        return ast.PatNone(_span(m))

    def pat_true(self, m: Meta, c: list[Any]) -> ast.PatBool:
        return ast.PatBool(True, _span(m))

    def pat_false(self, m: Meta, c: list[Any]) -> ast.PatBool:
        return ast.PatBool(False, _span(m))

    def pat_string(self, m: Meta, c: list[Any]) -> ast.PatString:
        return ast.PatString(str(c[0])[1:-1], _span(m))

    def pat_int(self, m: Meta, c: list[Any]) -> ast.PatInt:
        def term(t: Token) -> ast.Expr:
            if t.type == "INT":
                return ast.IntLit(int(str(t)), _tok(t))
            return ast.Name(str(t), _tok(t))

        e = term(c[0])
        for op, t in zip(c[1::2], c[2::2], strict=True):
            right = term(t)
            e = ast.Binary(str(op), e, right, _tok(op), ast.Span(
                e.span.line, e.span.col, right.span.end_line, right.span.end_col))  # fmt: skip
        return ast.PatInt(e, _span(m))

    def pat_cmp(self, m: Meta, c: list[Any]) -> ast.PatCmp:
        op, num = c
        return ast.PatCmp(str(op), num.expr, _span(m))

    def pat_object(self, m: Meta, c: list[Any]) -> ast.PatObject:
        return ast.PatObject(tuple(x for x in c if x is not None), _span(m))

    def pat_list(self, m: Meta, c: list[Any]) -> ast.PatList:
        return ast.PatList(tuple(x for x in c if x is not None), _span(m))

    def pat_ref(self, m: Meta, c: list[Any]) -> ast.PatRef:
        kind, *entries = c
        return ast.PatRef(
            str(kind), tuple(x for x in entries if x is not None), _tok(kind), _span(m)
        )
