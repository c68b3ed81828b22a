"""Descriptions of unmapped fields (`path: value` in a `manifest` section, spec/manifests.md
§4) written back as text: for `kcheck fmt` (one line, or broken one entry a line), messages and
the LSP (the consts they name)."""

from __future__ import annotations

import functools

from kcheck.lang import ast, layout
from kcheck.lang.parser import reserved_words


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
