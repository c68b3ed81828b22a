"""The syntax of what a model describes of fields it does not map (`path: value` in a `manifest`
section, spec/manifests.md §4): the parse tree to AST methods the AST builder takes in, and the
patterns written back as text, for `kcheck fmt` and for messages. Imports nothing heavy: the
parser loads it at every start-up."""

from __future__ import annotations

import functools
from typing import Any, TypeVar

from lark import Token, Transformer, v_args
from lark.tree import Meta

from kcheck.lang import ast, layout

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


def names(p: ast.Pattern) -> list[ast.Name]:
    """The consts and params a pattern names (`REPLICAS` of `>= REPLICAS`), for the LSP."""
    match p:
        case ast.PatInt(expr=e) | ast.PatCmp(expr=e):
            out: list[ast.Name] = []
            todo = [e]
            while todo:
                x = todo.pop()
                if isinstance(x, ast.Name):
                    out.append(x)
                elif isinstance(x, ast.Binary):
                    todo += [x.right, x.left]
            return out
        case ast.PatObject(entries=es) | ast.PatRef(entries=es):
            return [n for x in es for n in names(x.value)]
        case ast.PatList(items=ps) | ast.PatAny(alts=ps):
            return [n for x in ps for n in names(x)]
    return []


# ---- back to text


# keys that are words of the language and still parse bare (the grammar's `key_word`)
KEY_WORDS = frozenset({"weight", "kind", "min", "max", "count", "set", "int", "bool", "step"})


@functools.cache
def _reserved() -> frozenset[str]:
    from kcheck.lang.parser import reserved_words  # the parser builds its AST with this module

    return reserved_words() - KEY_WORDS


def key_text(key: tuple[str, ...], star: bool = False) -> str:
    """A path as written: a key that is no name, or a reserved word, in quotes."""
    if star:
        return "*"
    return ".".join(
        k if k.isidentifier() and k.isascii() and k not in _reserved() else f'"{k}"' for k in key
    )


def int_text(e: ast.Expr) -> str:
    if isinstance(e, ast.IntLit):
        return str(e.value)
    if isinstance(e, ast.Name):
        return e.id
    assert isinstance(e, ast.Binary), e
    return f"{int_text(e.left)} {e.op} {int_text(e.right)}"


def _entries(entries: tuple[ast.PatEntry, ...]) -> str:
    return "{ " + ", ".join(f"{key_text(x.key, x.star)}: {text(x.value)}" for x in entries) + " }"


def text(p: ast.Pattern) -> str:
    """The pattern on one line, as `kcheck fmt` writes it."""
    match p:
        case ast.PatNone():
            return "none"
        case ast.PatBool(value=v):
            return "true" if v else "false"
        case ast.PatString(value=v):
            return f'"{v}"'
        case ast.PatInt(expr=e):
            return int_text(e)
        case ast.PatCmp(op=op, expr=e):
            return f"{op} {int_text(e)}"
        case ast.PatObject(entries=es):
            return _entries(es) if es else "{}"
        case ast.PatList(items=items):
            return "[" + ", ".join(text(x) for x in items) + "]"
        case ast.PatRef(kind=kind, entries=es):
            return f"{kind} {_entries(es)}" if es else f"{kind} {{}}"
        case ast.PatAny(alts=alts):
            return " | ".join(text(x) for x in alts)
    raise TypeError(p)


def lines(head: str, p: ast.Pattern, indent: int) -> list[tuple[str, int]]:
    """`head` then the pattern, one line while it fits in MAX_LINE from `indent`; else an
    object, list or reference broken one entry a line (each with the source line it came
    from, so comments stay with it), its closing bracket on a line of its own."""
    flat = f"{head}{text(p)}"
    if indent + len(flat) <= layout.MAX_LINE or not isinstance(
        p, ast.PatObject | ast.PatList | ast.PatRef
    ):
        return [(flat, p.span.line)]
    if isinstance(p, ast.PatList):
        opening, closing = "[", "]"
        parts: list[tuple[str, ast.Pattern, int]] = [("", x, x.span.line) for x in p.items]
    else:
        opening = "{" if isinstance(p, ast.PatObject) else f"{p.kind} {{"
        closing = "}"
        parts = [(f"{key_text(x.key, x.star)}: ", x.value, x.span.line) for x in p.entries]
    out = [(f"{head}{opening}", p.span.line)]
    for sub_head, sub, _ in parts:
        sub_lines = lines(sub_head, sub, indent + 2)
        last, at = sub_lines[-1]
        sub_lines[-1] = (last + ",", at)
        out += [("  " + t, at) for t, at in sub_lines]
    out.append((closing, p.span.end_line))
    return out
