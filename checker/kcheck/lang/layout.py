"""Line breaking for `kcheck fmt`: a document of text and break points -> physical lines at most
MAX_LINE columns wide wherever the text allows (spec/language.md, "Formatting").

A document is text (`str`), a concatenation with no break point of its own (`Cat`), a `Chain`
whose parts go on one line or, when the chain does not fit, each on a line of its own, and `Src`
markers (no width) naming the source line the text after them came from, so that comments can be
put back next to the same code. The rule is outermost first: a chain that fits stays on one line;
one that does not is broken at every one of its own break points, and then each part that still
does not fit breaks its own chains, and so on. Text with no break point stays as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_LINE = 100
CONTINUATION = 4  # a broken line's continuation lines are indented this much more

# A physical output line: its text and the first and last source line of the code on it (0: none).
PLine = tuple[str, int, int]


@dataclass(frozen=True)
class Src:
    line: int


@dataclass(frozen=True)
class Cat:
    parts: tuple[Doc, ...]


@dataclass(frozen=True)
class Chain:
    """Parts joined by `sep`; broken, each line but the last ends with `sep` stripped.

    Broken parts go on continuation lines, indented CONTINUATION more than the line the chain
    starts on; an `align`ed chain (an operator chain: `and`, `or`, `then`/`else`) that starts its
    line puts them under its first part instead, which is already indented."""

    parts: tuple[Doc, ...]
    sep: str = " "
    align: bool = False
    fill: bool = False  # broken, a line takes as many parts as fit (argument lists)


Doc = str | Cat | Chain | Src


def cat(*parts: Doc) -> Doc:
    return Cat(parts)


def flat(d: Doc) -> str:
    """The text of `d` on one line."""
    if isinstance(d, str):
        return d
    if isinstance(d, Src):
        return ""
    if isinstance(d, Cat):
        return "".join(flat(p) for p in d.parts)
    return d.sep.join(flat(p) for p in d.parts)


def layout(d: Doc, anchor: int) -> list[PLine]:
    """The physical lines of one logical line, `anchor` being the source line it starts on."""
    w = _Writer(anchor)
    w.lay(d, 0, False)
    return w.finish()


class _Writer:
    def __init__(self, anchor: int) -> None:
        self.lines: list[PLine] = []
        self.text = ""
        self.first: int | None = anchor
        self.last = anchor

    def mark(self, line: int) -> None:
        if line <= 0:
            return
        if self.first is None:
            self.first = line
        self.last = max(self.last, line)

    def newline(self, indent: int) -> None:
        self.close()
        self.text = " " * indent
        self.first = None  # until a marker says otherwise: the line before's last

    def close(self) -> None:
        first = self.last if self.first is None else self.first
        self.lines.append((self.text.rstrip(), first, max(first, self.last)))
        self.last = max(first, self.last)

    def finish(self) -> list[PLine]:
        self.close()
        return self.lines

    def lay(self, d: Doc, tail: int, one_line: bool) -> None:
        """Write `d`; `tail` is the width of the text that must follow it on its last line."""
        if isinstance(d, str):
            self.text += d
        elif isinstance(d, Src):
            self.mark(d.line)
        elif isinstance(d, Cat):
            for i, p in enumerate(d.parts):
                rest = 0 if one_line else sum(len(flat(q)) for q in d.parts[i + 1 :])
                self.lay(p, rest + tail, one_line)
        elif one_line or len(self.text) + len(flat(d)) + tail <= MAX_LINE:
            for i, p in enumerate(d.parts):
                if i:
                    self.text += d.sep
                self.lay(p, 0, True)
        else:
            starts_line = not self.text.strip()
            indent = len(self.text) - len(self.text.lstrip())
            cont = len(self.text) if d.align and starts_line else indent + CONTINUATION
            sep = d.sep.rstrip()
            for i, p in enumerate(d.parts):
                after = tail if i == len(d.parts) - 1 else len(sep)
                if i and d.fill and len(self.text + d.sep + flat(p)) + after <= MAX_LINE:
                    self.text += d.sep
                elif i:
                    self.text += sep
                    self.newline(cont)
                self.lay(p, after, False)
