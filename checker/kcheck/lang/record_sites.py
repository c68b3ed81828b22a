"""Diagnostics about a variable array index in the user's own words (spec/language.md §2,
"Records and arrays"). lang/records.py lowers `c.ready := e` for a part binder `c` into a case
over the parts, so the checker reports `p.containers[0].ready` and `p.containers[1].ready`, once
per case, for what the user wrote once as `c.ready`; `speak_parts` puts that back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic


@dataclass(frozen=True)
class Site:
    """Where a variable index became a case over the parts: the checker's messages about the
    cases there name `array[k].field`, which the user wrote as `text`."""

    span: ast.Span
    text: str
    array: str
    field: str


def speak_parts(diags: list[Diagnostic], sites: list[Site]) -> list[Diagnostic]:
    """The checker's diagnostics with each case of a variable index named as the user wrote
    it (`c.ready`, not `p.containers[1].ready`), and so the same mistake reported once."""
    out = []
    for d in diags:
        for site in sites:
            if _within(d.span, site.span):
                flat = re.compile(
                    r"`[^`]*\b" + re.escape(site.array) + r"\[\w+\]\." + re.escape(site.field) + "`"
                )
                said = f"`{site.text}`"
                d = replace(
                    d,
                    message=flat.sub(said, d.message),
                    notes=tuple(flat.sub(said, n) for n in d.notes),
                )
        out.append(d)
    return list(dict.fromkeys(out))


def _within(inner: ast.Span, outer: ast.Span) -> bool:
    return (outer.line, outer.col) <= (inner.line, inner.col) and (
        inner.end_line,
        inner.end_col,
    ) <= (outer.end_line, outer.end_col)
