"""`kcheck fmt` for the declarations of modules (spec/language.md §13): `import` and
`requires`. Kept apart from fmt.py, which calls in with its own helpers for braces and fields."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kcheck.lang import ast
from kcheck.lang.layout import MAX_LINE, Doc

Line = tuple[Doc, int]
Braced = Callable[[Doc, Sequence[Line], ast.Span], list[Line]]


def header(program: ast.Program) -> str:
    return f"{'module' if program.module else 'model'} {program.name}"


def module_decl(
    d: ast.Import | ast.Requires, braced: Braced, field_decl: Callable[[ast.FieldDecl], str]
) -> list[Line]:
    """An import on one line; a `requires` on one line when it fits, else one field a line."""
    at = d.span.line
    if isinstance(d, ast.Import):
        text = "import " + (f'"{d.path}"' if d.file else d.path)
        if d.alias is not None:
            text += f" as {d.alias}"
        if d.binds:
            text += " with " + ", ".join(f"{b.name} = {b.target}" for b in d.binds)
        return [(text, at)]
    head = f"requires {d.what} {d.name}"
    fields = d.what != "enum"  # a kind's or a record's
    items = [field_decl(f) for f in d.fields] if fields else [m.name for m in d.members]
    sep = "  " if fields else ", "
    one = f"{head} {{ {sep.join(items)} }}" if items else f"{head} {{}}"
    if len(one) <= MAX_LINE:
        return [(one, at)]
    anchors = [f.span.line for f in d.fields] or [m.span.line for m in d.members]
    body = [(x + ("," if d.what == "enum" else ""), a) for x, a in zip(items, anchors, strict=True)]
    return braced(head, body, d.span)
