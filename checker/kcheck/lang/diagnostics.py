"""One diagnostic shape for every pass: `file:line:col: error[KC0102]: message`, the source line,
a caret underline, then `note:` and `help:` lines. Passes collect diagnostics; only the CLI prints.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kcheck.lang.ast import NOWHERE, Span

# Every code kcheck can report, with a one-line summary. spec/diagnostics.md lists the same
# codes; tests/lang/test_codes.py keeps the two in step.
CODES: dict[str, str] = {
    # KC01xx: the text does not parse
    "KC0101": "unexpected character",
    "KC0102": "unexpected token",
    "KC0103": "unexpected end of file",
    "KC0104": "file cannot be read or decoded",
    # KC02xx: names
    "KC0201": "unknown name",
    "KC0202": "name declared twice",
    "KC0203": "unknown field",
    "KC0204": "unknown kind, enum or type",
    "KC0205": "unknown function",
    "KC0206": "name is not of the expected sort (e.g. a kind where a value is needed)",
    "KC0207": "a local shadows an enclosing local or a declaration",
    # KC03xx: types
    "KC0301": "type mismatch",
    "KC0302": "wrong number of arguments",
    "KC0303": "temporal operator outside a property, or a property of an unsupported shape",
    "KC0304": "assignment to something that is not a variable or a field",
    "KC0305": "field reached through a value that is not an object",
    # KC04xx: constant values and ranges
    "KC0401": "value out of its declared range",
    "KC0402": "not a compile-time constant",
    "KC0403": "empty or inverted range",
    "KC0404": "bad -D override",
    "KC0405": "bound too large to check",
    "KC0406": "the consts and params break an `assume`",
    # KC05xx: structure
    "KC0501": "recursive definition",
    "KC0502": "statement not allowed here",
    "KC0503": "missing or misplaced declaration",
    "KC0504": "nondeterminism inside a `for` body",
    "KC0505": "expression nested too deeply to check",
    # KC08xx: records and arrays (spec/language.md §2, "Records and arrays")
    "KC0801": "an array index kcheck cannot keep inside the array",
    "KC0802": "a record, array or list used where a field or value is needed, or declared where it cannot be",
    # KC06xx: Kubernetes manifests (spec/manifests.md)
    "KC0601": "a `manifest` section names a kind kcheck does not read",
    "KC0602": "a `manifest` item names a field kcheck does not read",
    "KC0603": "a unit that does not fit the field",
    "KC0604": "the manifest is not valid YAML",
    "KC0605": "a YAML document that is not a Kubernetes object",
    "KC0606": "a value that does not parse (a quantity, an integer, a percentage)",
    "KC0607": "a manifest value outside the model's range",
    "KC0608": "an object the model cannot take as it is (a second one of a kind, a field unset)",
    "KC0609": "an object of a kind the model does not read (a warning)",
    "KC0610": "a manifest sets a field the model does not map, in a part of the object it maps",
    # KC07xx: modules and imports (spec/language.md §13)
    "KC0701": "a module cannot be found, read or parsed",
    "KC0702": "import cycle",
    "KC0703": "a module's `requires` not met by the model, or a name it reads without requiring",
    "KC0704": "an import's name or binding clashes or names nothing",
    "KC0705": "a module with state imported twice with different bindings",
}


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    span: Span
    severity: str = "error"  # "error" or "warning"
    notes: tuple[str, ...] = ()
    help: str | None = None

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unregistered diagnostic code {self.code}")


@dataclass(frozen=True)
class Source:
    """A model's text and the name to show for it."""

    path: str
    text: str
    lines: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.text.split("\n")))


class KcheckError(Exception):
    """Raised by a pass that cannot continue; carries every diagnostic found so far."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        super().__init__("; ".join(d.message for d in diagnostics))
        self.diagnostics = tuple(diagnostics)


def suggest(name: str, candidates: Iterable[str]) -> str | None:
    """A `did you mean` hint for a misspelt name, or None."""
    matches = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean `{matches[0]}`?" if matches else None


def sort_key(d: Diagnostic) -> tuple[int, int, str]:
    return (d.span.line, d.span.col, d.code)


# Characters that must not reach a terminal raw: C0 and C1 controls (ESC starts the sequences
# that move the cursor, retitle the window or hide text), DEL, and the bidirectional overrides
# that make a line read differently from its bytes.
_UNPRINTABLE = {
    c: f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"
    for c in [
        *range(0x00, 0x20),
        *range(0x7F, 0xA0),
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    ]
    if c != 0x09  # tabs are expanded where they matter
}


def printable(text: str) -> str:
    """`text` with every character that could act on a terminal shown as an escape."""
    return text.translate(_UNPRINTABLE)


# ANSI styles of a coloured diagnostic, as rustc and mypy colour theirs: the severity and the
# underline in its colour, the location and message bold, the gutter blue, `help` cyan.
_STYLE = {"error": "1;31", "warning": "1;33", "bold": "1", "gutter": "1;34", "help": "1;36"}


def _paint(text: str, style: str, colour: bool) -> str:
    return f"\x1b[{_STYLE[style]}m{text}\x1b[0m" if colour and text else text


def render(d: Diagnostic, source: Source, colour: bool = False) -> str:
    """The text form: location, message, the source line with a caret underline, notes, help.
    Everything taken from the file or its name is escaped before it reaches the terminal (and
    before `colour` adds its own escapes)."""
    sp = d.span
    if sp.file and sp.file != source.path:  # inside an imported module (spec/language.md §13)
        source = _module_source(sp.file)
    path = printable(source.path)
    where = f"{path}:{sp.line}:{sp.col}" if sp != NOWHERE else path
    severity = d.severity if d.severity in _STYLE else "bold"
    out = [
        f"{_paint(where + ':', 'bold', colour)} {_paint(f'{d.severity}[{d.code}]:', severity, colour)}"
        f" {_paint(printable(d.message), 'bold', colour)}"
    ]
    if 1 <= sp.line <= len(source.lines):
        raw = source.lines[sp.line - 1].rstrip("\r").expandtabs(1)
        text = printable(raw)
        # columns count characters of the file; an escape widens what it stands for
        col = len(printable(raw[: sp.col - 1])) + 1
        end = len(printable(raw[: max(sp.col, sp.end_col) - 1])) + 1
        gutter = f"{sp.line:>4} | "
        width = (end - col) if sp.end_line == sp.line else len(text) - col + 1
        width = max(1, min(width, max(1, len(text) - col + 1)))
        out.append(_paint(gutter, "gutter", colour) + text)
        out.append(
            _paint(" " * (len(gutter) - 2) + "| ", "gutter", colour)
            + " " * (col - 1)
            + _paint("^" + "~" * (width - 1), severity, colour)
        )
    out.extend(f"  = {_paint('note:', 'bold', colour)} {printable(n)}" for n in d.notes)
    if d.help:
        out.append(f"  = {_paint('help:', 'help', colour)} {printable(d.help)}")
    return "\n".join(out)


def _module_source(path: str) -> Source:
    """The text of a module a diagnostic points into (the import pass read it moments ago)."""
    try:
        with open(path, encoding="utf-8") as f:
            return Source(path, f.read())
    except (OSError, UnicodeDecodeError):
        return Source(path, "")


def render_all(diags: Iterable[Diagnostic], source: Source, colour: bool = False) -> str:
    ds = sorted(diags, key=sort_key)
    body = "\n\n".join(render(d, source, colour) for d in ds)
    errors = sum(1 for d in ds if d.severity == "error")
    warnings = len(ds) - errors
    tail = []
    if errors:
        tail.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        tail.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return body + ("\n\n" + ", ".join(tail) + " in " + printable(source.path) if tail else "")
