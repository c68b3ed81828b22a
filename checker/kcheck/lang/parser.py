"""Text -> syntax tree. Lark (LALR) parses with grammar/kdsl.lark; the Transformer of
`kcheck.lang.to_ast` builds the frozen dataclasses of `kcheck.lang.ast`; Lark's errors become
diagnostics with a caret and a hint here.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from dataclasses import replace
from pathlib import Path

from lark import Lark, Token
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)
from lark.tree import Tree

from kcheck.cache import cache_dir
from kcheck.lang import ast
from kcheck.lang.diagnostics import Diagnostic, KcheckError, Source
from kcheck.lang.to_ast import ToAst, meta_span, tok_span

GRAMMAR_NAME = "kdsl.lark"


def grammar_text() -> str:
    """The grammar shipped in the wheel, or the repository's copy in a source checkout. (A
    path beside the package, not importlib.resources: that imports tempfile and shutil, a
    tenth of `kcheck verify`'s start-up, and kcheck's C sources are read from files anyway.)"""
    packaged = Path(__file__).resolve().parents[1] / "grammar" / GRAMMAR_NAME
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    repo_copy = Path(__file__).resolve().parents[3] / "grammar" / GRAMMAR_NAME
    return repo_copy.read_text(encoding="utf-8")


@functools.cache
def _lark() -> Lark:
    return Lark(
        grammar_text(),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=True,
        cache=_tables_file(),
    )


def _tables_file() -> str | bool:
    """Lark's cache of the LALR tables, in kcheck's own cache folder: building them costs half a
    second on every run. Lark checks the grammar's hash on load (a stale or broken file is
    rebuilt) and carries on without the cache if the folder cannot be written."""
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return str(folder / "kdsl-lalr.cache")


# Keywords that stay free as action names, where nothing else can follow `action`: a kubelet's
# `action restart` predates the `restart` statement of faults.
ACTION_NAME_WORDS = frozenset({"restart"})


# Keywords that stay free as names: `on` only ever follows an action's name, a parser state of
# its own, so the contextual lexer never reads a name `on` as the keyword (`kind Light { on:
# bool }`). A word that can follow an expression (`docker`, `score`, `weight`, ...) cannot be
# contextual: LALR merges the states that end expressions, so it would be read as the keyword
# after any expression, for example after the default of a kind's field.
# `unsynced` can only follow `coalesced`, where no name can: contextual for free.
# `skew` (of `process NAME skew N`) can only follow an actor's name or its watches, where no
# name can. So can `as` and `with`, which only follow an import's module.
CONTEXTUAL_WORDS = frozenset({"on", "unsynced", "skew", "as", "with"})


@functools.cache
def reserved_words() -> frozenset[str]:
    """Every keyword of the grammar (the string terminals that look like names), except the
    contextual ones."""
    words = frozenset(re.findall(r'"([A-Za-z_][A-Za-z0-9_]*)"', grammar_text()))
    return words - CONTEXTUAL_WORDS


def _reserved_name(tree: Tree[Token]) -> Token | None:
    """The first NAME that spells a keyword, outside the model header; None if there is none.

    Lark's contextual lexer reads a keyword as a NAME wherever the keyword itself cannot come
    next (`const count = 1`, `p.in`). Keywords are reserved (spec/language.md), and a name that
    is a keyword in some places would not survive `kcheck fmt`: with the optional comma between
    kind fields dropped, `a: bool = x, in: bool` would read back as `x in ...`. The model's own
    name is only a label (models/scheduler.kdsl is `model scheduler`), so it stays free.
    """
    reserved = reserved_words()
    found = [
        tok
        for sub in tree.iter_subtrees()  # iterative: deep trees are fine here
        if sub.data != "model_header"
        for tok in sub.children
        if isinstance(tok, Token)
        and tok.type == "NAME"
        and tok.value in reserved
        and not (sub.data == "action_decl" and tok.value in ACTION_NAME_WORDS)
    ]
    return min(found, key=lambda t: (t.line or 0, t.column or 0), default=None)


# Terminals as a reader would name them in "expected ..." messages.
_READABLE = {
    "NAME": "a name",
    "INT": "a number",
    "CMP_OP": "a comparison",
    "ADD_OP": "`+` or `-`",
    "MUL_OP": "`*`, `/` or `%`",
    "$END": "end of file",
    "STRING": "a string",
    "HOOK_ON": "`on`",
    "KEY_MARK": "`key`",
}

_DECL_KEYWORDS = (
    "const", "param", "enum", "kind", "var", "init", "def", "controller", "process",
    "scheduler", "fault", "invariant", "lemma", "property", "assume", "docker",
)  # fmt: skip


def _terminal_text(name: str) -> str:
    if name in _READABLE:
        return _READABLE[name]
    for t in _lark().terminals:
        if t.name == name:
            if t.pattern.type == "str":
                return f"`{t.pattern.value}`"
            break
    return name.lower()


def _expected_list(expected: set[str]) -> str:
    words = sorted({_terminal_text(e) for e in expected})
    if len(words) > 8:
        words = [*words[:8], "..."]
    return ", ".join(words)


STRING_HINT = (
    "KDSL has no string values; use an enum value (strings only occur in a `docker` block)"
)

_BINDING_WORDS = ("count", "sum", "forall", "exists", "min", "max", "if", "eventually", "always")

# Other languages' spellings, each with KDSL's own (spec/language.md §4 and §6). The parser stops
# at the second character of a doubled operator, at an unknown character, or at a word: a word
# where a statement starts is read as a name, so the error lands on the token after it.
_OPERATOR_SPELLINGS = {
    "&&": "KDSL writes logical and as `and` (`&` is set intersection)",
    "||": "KDSL writes logical or as `or` (`|` is set union)",
}
_CHARACTER_SPELLINGS = {
    ";": "KDSL has no `;`: a statement or declaration ends where the next one starts; remove it",
    "!": "KDSL writes negation as `not` (`!=` is inequality)",
}
_ELSE_IF = "KDSL writes `else if c { ... }`"
_WORD_SPELLINGS = {"elif": _ELSE_IF, "elsif": _ELSE_IF, "elseif": _ELSE_IF}
_WITHIN_HINT = (
    "`within N` is a deadline in ticks of time on an action (`action a when c within N { ... }`); "
    "a property has no time bound: `eventually P` says P comes at some later state; to require "
    "it within N ticks, count them in a `var` of type `clock` and check an invariant such as "
    "`not after(waited, N)`"
)
_DECREASES_HINT = (
    "`decreases` ends a `property` with its measures, int expressions separated by commas: "
    "`property p: eventually always P decreases replicas - count(Pod)`"
)
# `count(p in K where c)`: `count(...)` takes a kind or a set; the form with a condition is
# `count p in K where c`.
_COUNT_CALL = re.compile(r"\bcount\s*\(\s*([A-Za-z_]\w*)\s+in\s+([^()]*?)\s*$")


def _hint_for(tok: Token, expected: set[str], prev_word: str = "", before: str = "") -> str | None:
    """A hint for the token the parser stopped at; `before` is the source text just before it."""
    value = str(tok)
    texts = {_terminal_text(e) for e in expected}
    if tok.type == "STRING":
        return STRING_HINT
    if before[-1:] + value in _OPERATOR_SPELLINGS:
        return _OPERATOR_SPELLINGS[before[-1:] + value]
    for word in (value, prev_word):
        if word in _WORD_SPELLINGS:
            return _WORD_SPELLINGS[word]
    if value == "then" and "`{`" in texts:
        return (
            "an `if` statement has no `then`: write `if c { ... }` "
            "(`if c then a else b` is an expression)"
        )
    if value == "within":
        return _WITHIN_HINT
    if prev_word == "decreases" or value == "decreases":
        return _DECREASES_HINT
    count_call = _COUNT_CALL.search(before) if value == "where" else None
    if count_call is not None:
        x, domain = count_call.groups()
        return (
            f"`count(...)` counts a kind or a set; count with a condition as "
            f"`(count {x} in {domain} where ...)`"
        )
    if value == "else" and re.search(r"\blet\s+\w+\s*=\s*create\b[^{}]*\{[^{}]*\}\s*$", before):
        return (
            "`let x = create ... else` has no object to name when the name is taken: write "
            "`create K { ... } else { ... }` and find the object afterwards"
        )
    if value == "on" and "HOOK_ON" in expected:  # `on` with no name after it
        return "a scheduler's bind statements are written `on bind(p, n) { ... }`"
    if value == "=" and "`:=`" in texts:
        return "assignment is written `:=`; `=` only appears in declarations"
    if value == ":=" and "`=`" in texts:
        return "declarations use `=`; `:=` assigns inside an action"
    # `a and forall p in K: b`: where a binding form cannot start, its keyword is read as a
    # name (or `count(`/`max(`), so the error lands on the token after it.
    for word in (value, prev_word if tok.type in ("NAME", "INT") else ""):
        if word in _BINDING_WORDS:
            return f"an expression that starts with `{word}` takes everything to its right; wrap it in parentheses"
    # Before the reserved-word hint: a declaration keyword where a statement or `}` could come
    # is far more likely a missing `}` than an attempt to name something `const`.
    if value == "var" and "`action`" in texts and "`}`" in texts:  # in a fault or scheduler
        return (
            "a `}` is missing before this declaration; or, if this `var` is the actor's own "
            "memory: only a controller or a process keeps local state"
        )
    if value in _DECL_KEYWORDS and "`}`" in texts:
        return "a `}` is missing before this declaration"
    if "a name" in texts and tok.type != "NAME" and value.isidentifier():
        return f"`{value}` is a reserved word and cannot be used as a name"
    if tok.type == "$END" and "`}`" in texts:
        return "a `}` is missing at the end of the file"
    return None


def _word_before(text: str, pos: int | None) -> str:
    """The name or keyword just before `pos` (whitespace between allowed), or ""."""
    m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*$", text[: pos or 0])
    return m.group(1) if m else ""


def _syntax_diagnostic(err: UnexpectedInput, source: Source) -> Diagnostic:
    if isinstance(err, UnexpectedCharacters):
        pos = err.pos_in_stream
        ch = source.text[pos] if pos is not None and 0 <= pos < len(source.text) else "?"
        line, col = err.line, err.column
        hint = None
        rest = source.text[pos + 1 :].split("\n", 1)[0] if pos is not None else ""
        if ch == '"' and '"' not in rest:
            hint = 'this string has no closing `"` (a string stays on one line)'
        elif ch == '"' or ch == "'":
            hint = STRING_HINT
        elif ch == "#":
            hint = "comments start with `//`"
        elif ch == "=":
            hint = "equality is `==`, assignment is `:=`"
        else:
            hint = _CHARACTER_SPELLINGS.get(ch)
        return Diagnostic(
            "KC0101",
            f"unexpected character {ch!r}",
            ast.Span(line, col, line, col + 1),
            help=hint,
        )
    if isinstance(err, UnexpectedToken) and err.token.type != "$END":
        tok = err.token
        expected = set(err.expected)
        pos = tok.start_pos or 0
        before = source.text[max(0, pos - 200) : pos]  # enough for every hint
        span = tok_span(tok)
        message = f"unexpected `{tok}`; expected {_expected_list(expected)}"
        if before[-1:] + str(tok) in _OPERATOR_SPELLINGS:  # the caret covers both characters
            span = replace(span, col=span.col - 1)
            message = f"`{before[-1:]}{tok}` is not a KDSL operator"
        return Diagnostic(
            "KC0102",
            message,
            span,
            help=_hint_for(tok, expected, _word_before(source.text, tok.start_pos), before),
        )
    expected = set(getattr(err, "expected", ()) or ())
    last = len(source.lines)
    col = len(source.lines[-1]) + 1 if source.lines else 1
    end_tok = Token("$END", "")
    return Diagnostic(
        "KC0103",
        "unexpected end of file" + (f"; expected {_expected_list(expected)}" if expected else ""),
        ast.Span(last, col, last, col + 1),
        help=_hint_for(end_tok, expected),
    )


def parse(source: Source) -> ast.Program:
    """Parse a whole model; raises KcheckError with one diagnostic on a syntax error."""
    tree: Tree[Token] | None = None

    def too_deep() -> KcheckError:
        return KcheckError(
            [
                Diagnostic(
                    "KC0102",
                    "expression nested too deeply to parse",
                    _deep_point(tree) if tree is not None else ast.Span(1, 1, 1, 2),
                    help="kcheck parses up to about 400 nested operators; split a longer "
                    "expression into `def` helpers",
                )
            ]
        )

    try:
        tree = _lark().parse(source.text)
        bad = _reserved_name(tree)
        if bad is not None:
            raise KcheckError(
                [
                    Diagnostic(
                        "KC0102",
                        f"`{bad}` is a reserved word and cannot be used as a name",
                        tok_span(bad),
                        help=f"rename it, e.g. `{bad}_`",
                    )
                ]
            )
        return ToAst().transform(tree)
    except (UnexpectedCharacters, UnexpectedToken, UnexpectedEOF) as err:
        raise KcheckError([_syntax_diagnostic(err, source)]) from None
    except RecursionError:
        raise too_deep() from None
    except VisitError as err:
        # Lark wraps whatever a Transformer method raises, a RecursionError in deep trees included.
        if isinstance(err.orig_exc, RecursionError):
            raise too_deep() from None
        if isinstance(err.orig_exc, KcheckError):
            raise err.orig_exc from None
        raise


# Tree levels past which the deepest branch is named as the place that is nested too deeply.
_DEEP_LEVEL = 200


def _deep_point(tree: Tree[Token]) -> ast.Span:
    """Where a tree too deep to transform gets deep: the start of the subtree on its deepest
    branch at level _DEEP_LEVEL, found without recursion."""
    best: tuple[int, ast.Span] = (0, ast.Span(1, 1, 1, 2))
    stack: list[tuple[Tree[Token], int, ast.Span]] = [(tree, 0, ast.Span(1, 1, 1, 2))]
    while stack:
        node, level, mark = stack.pop()
        if level == _DEEP_LEVEL and not getattr(node.meta, "empty", True):
            mark = meta_span(node.meta)
        if level > best[0]:
            best = (level, mark)
        stack.extend((c, level + 1, mark) for c in node.children if isinstance(c, Tree))
    return best[1]


# A model is a few hundred lines; anything far larger is not one (and is not read whole).
MAX_SOURCE_BYTES = 16 * 2**20


def read_source(path: str) -> Source:
    """Read a model file as UTF-8 (a leading byte-order mark is dropped); unreadable files,
    anything but a regular file (a FIFO would block, /dev/zero never ends) and files over
    MAX_SOURCE_BYTES become a KC0104 diagnostic."""

    def unreadable(reason: str, help: str | None = None) -> KcheckError:
        return KcheckError(
            [Diagnostic("KC0104", f"cannot read {path}: {reason}", ast.NOWHERE, help=help)]
        )

    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            what = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise unreadable(f"it is {what}", "a model is a .kdsl text file")
        with open(path, "rb") as f:
            raw = f.read(MAX_SOURCE_BYTES + 1)
    except OSError as err:
        raise unreadable(err.strerror or str(err)) from None
    if len(raw) > MAX_SOURCE_BYTES:
        raise unreadable(f"it is larger than {MAX_SOURCE_BYTES // 2**20} MB; is it a model?")
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        raise KcheckError(
            [
                Diagnostic(
                    "KC0104",
                    f"{path} is not UTF-8 text (byte {err.start})",
                    ast.NOWHERE,
                    help="a model is a UTF-8 text file",
                )
            ]
        ) from None
    if "\x00" in text:
        raise KcheckError(
            [Diagnostic("KC0104", f"{path} contains NUL bytes; is it a binary file?", ast.NOWHERE)]
        )
    return Source(path, text)
