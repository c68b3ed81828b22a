"""The TextMate grammar of the VS Code extension (editors/vscode/syntaxes/kdsl.tmLanguage.json)
stays in step with the Lark grammar: every keyword terminal of grammar/kdsl.lark is highlighted
as a keyword, and on real models every token Lark reads is coloured as what Lark says it is (a
keyword as a keyword, a name never as one, numbers, strings and operators as such).

Each check runs twice: with a small TextMate matcher written here (earliest match wins, ties to
the first rule, `include`s followed in order: enough for this grammar's single-line rules and its
one begin/end rule), which needs nothing but Python; and with VS Code's own engine
(vscode-textmate and Oniguruma, pinned in editors/vscode/package-lock.json, run by
editors/vscode/test/tokenize.js), skipped, saying so, where npm is not installed."""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lark
import pytest

ROOT = Path(__file__).resolve().parents[2]
TM = ROOT / "editors" / "vscode" / "syntaxes" / "kdsl.tmLanguage.json"
LARK = lark.Lark(
    (ROOT / "grammar" / "kdsl.lark").read_text(encoding="utf-8"),
    parser="lalr",
    keep_all_tokens=True,
)
KEYWORD_SCOPES = ("keyword.", "storage.", "constant.language.")
COMMENT_SCOPES = ("comment.", "punctuation.definition.comment.", "keyword.other.directive.")
# terminals Lark reads as keywords: the reserved words, and the contextual `on` (HOOK_ON)
KEYWORDS = {
    t.name: t.pattern.value
    for t in LARK.terminals
    if isinstance(t.pattern, lark.lexer.PatternStr) and t.pattern.value.isidentifier()
}
CONTEXTUAL = {"HOOK_ON": "on", "KEY_MARK": "key", "RECORD_MARK": "record", "LIST_MARK": "list"}
# where a keyword is one only in context, the text that shows it so (else "KW x")
CONTEXT = {
    "on": "on bind(p, n)",
    "unsynced": "watches Pod coalesced unsynced",
    "key": "kind Job[1] { key name: 0..1 }",
    "record": "record Container { ready: bool }",
    "list": "kind Pod[1] { finalizers: list<Pod, 2> }",
    "skew": "process p skew 1 {",
    "as": "import k8s.fit as resources",
    "with": "import k8s.owners with Owner = ReplicaSet",
}

# Constructs the project's models do not use, so that every keyword meets the corpus test.
EXTRA = """model extra
import k8s.fit as resources
kind Pod[2] { on: bool = false, image: 0..1 = 0 }
controller c watches Pod coalesced unsynced {
  action a on p in Pod { p.on := true }
}
docker {
  pod Pod { image: "busybox", cpu_millis_per_unit: 100, command: ["sleep", "1"] }
}
property gone: eventually always count(Pod) == 0 decreases count(Pod)
"""


@dataclass(frozen=True)
class Rule:
    regex: re.Pattern[str]
    name: str | None
    captures: dict[int, str]
    end: re.Pattern[str] | None  # a begin/end rule


def _rules(grammar: dict[str, Any], patterns: list[dict[str, Any]]) -> list[Rule]:
    out: list[Rule] = []
    for p in patterns:
        if "include" in p:
            out += _rules(grammar, grammar["repository"][p["include"].lstrip("#")]["patterns"])
            continue
        regex = p.get("match") or p["begin"]
        caps = p.get("captures") or p.get("beginCaptures") or {}
        out.append(
            Rule(
                re.compile(regex, re.MULTILINE),
                p.get("name"),
                {int(k): v["name"] for k, v in caps.items()},
                re.compile(p["end"], re.MULTILINE) if "end" in p else None,
            )
        )
    return out


GRAMMAR = json.loads(TM.read_text(encoding="utf-8"))
RULES = _rules(GRAMMAR, GRAMMAR["patterns"])


def scopes(text: str) -> list[str]:
    """The innermost scope of each character of `text` ("" where no rule matched)."""
    out = [""] * len(text)
    pos = 0
    # each rule's first match at or after the last position searched from: still its first
    # match from `pos` while it starts at or after `pos`
    found: list[re.Match[str] | None] = [rule.regex.search(text) for rule in RULES]
    while pos < len(text):
        best: tuple[int, int, Rule, re.Match[str]] | None = None
        for order, rule in enumerate(RULES):
            m = found[order]
            if m is not None and m.start() < pos:
                m = found[order] = rule.regex.search(text, pos)
            if m and m.end() > m.start() and (best is None or (m.start(), order) < best[:2]):
                best = (m.start(), order, rule, m)
        if best is None:
            break
        _, _, rule, m = best
        end = m.end()
        if rule.end is not None:
            closing = rule.end.search(text, end)
            end = closing.end() if closing else len(text)
        for i in range(m.start(), end):
            out[i] = rule.name or ""
        for group, name in rule.captures.items():
            if m.group(group) is not None:
                for i in range(m.start(group), m.end(group)):
                    out[i] = name
        pos = end
    return out


def _keyword_scoped(scope: str) -> bool:
    return scope.startswith(KEYWORD_SCOPES)


Scopes = Callable[[str], list[str]]
EXT = ROOT / "editors" / "vscode"


@pytest.fixture(scope="module")
def vscode_engine(tmp_path_factory: pytest.TempPathFactory) -> Scopes:
    """`scopes`, as VS Code's engine computes them."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("npm is not installed: VS Code's TextMate engine cannot be run here")
    if not (EXT / "node_modules" / "vscode-textmate").is_dir():
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=EXT,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, done.stderr
    # every text the tests ask about, tokenized in one run of node
    texts = [text for _, text in _corpus()]
    texts += [CONTEXT.get(w, f"{w} x") for w in sorted({*KEYWORDS.values(), *CONTEXTUAL.values()})]
    folder = tmp_path_factory.mktemp("tm")
    files = {str(folder / f"{i}.kdsl"): text for i, text in enumerate(texts)}
    for path, text in files.items():
        Path(path).write_text(text, encoding="utf-8")
    done = subprocess.run(
        ["node", str(EXT / "test" / "tokenize.js"), *files],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    tokens = json.loads(done.stdout)
    cache = {text: _per_char(text, tokens[path]) for path, text in files.items()}
    return cache.__getitem__


def _per_char(text: str, tokens: list[tuple[int, int, int, str]]) -> list[str]:
    """The engine's tokens (line, start, end, scope) as one scope per character of `text`."""
    offsets = [0]
    for line in text.split("\n"):
        offsets.append(offsets[-1] + len(line) + 1)
    out = [""] * len(text)
    for line, start, end, scope in tokens:
        # the grammar's own scope is what plain text gets: no rule matched it
        plain = scope == "source.kdsl"
        out[offsets[line] + start : offsets[line] + end] = ["" if plain else scope] * (end - start)
    return out


@pytest.fixture(params=["python", "vscode"])
def engine(request: pytest.FixtureRequest) -> Scopes:
    if request.param == "python":
        return scopes
    found: Scopes = request.getfixturevalue("vscode_engine")
    return found


@pytest.mark.parametrize("terminal", sorted({**KEYWORDS, **CONTEXTUAL}))
def test_every_keyword_terminal_of_the_lark_grammar_is_highlighted(
    terminal: str, engine: Scopes
) -> None:
    word = {**KEYWORDS, **CONTEXTUAL}[terminal]
    text = CONTEXT.get(word, f"{word} x")
    at = text.rindex(word) if word in CONTEXT else 0
    got = engine(text)[at : at + len(word)]
    assert len(set(got)) == 1 and _keyword_scoped(got[0]), (terminal, text, got)


def test_the_grammar_knows_no_keyword_that_lark_does_not() -> None:
    """The words in the TextMate keyword rules are Lark's keywords (and the builtins)."""
    builtins = {"abs", "ceil", "size", "feasible", "seen_own_writes", "after"}
    words: set[str] = set()
    for rule in RULES:
        scoped = [rule.name or "", *rule.captures.values()]
        if any(_keyword_scoped(s) or s.startswith("support.") for s in scoped):
            words |= set(re.findall(r"(?<=[(|])([a-z_]+)(?=[|)])", rule.regex.pattern))
    assert words - builtins == set(KEYWORDS.values()) | set(CONTEXTUAL.values())


@functools.cache
def _lark_tokens(text: str) -> list[lark.Token]:
    return list(LARK.parse(text).scan_values(lambda v: isinstance(v, lark.Token)))


def _corpus() -> list[tuple[str, str]]:
    fixtures = [
        ROOT / "tests/fixtures/everything.kdsl",
        ROOT / "tests/fixtures/everything_controllers.kdsl",
    ]
    files = [*sorted((ROOT / "models").glob("*.kdsl")), *fixtures]
    files += sorted((ROOT / "checker/kcheck/stdlib").rglob("*.kdsl"))  # `module`, `requires`
    return [(p.name, p.read_text(encoding="utf-8")) for p in files] + [("EXTRA", EXTRA)]


def test_the_corpus_uses_every_keyword() -> None:
    seen: set[str] = set()
    for _, text in _corpus():
        seen |= {t.type for t in _lark_tokens(text)}
    assert set(KEYWORDS) | set(CONTEXTUAL) <= seen, "add an example to EXTRA"


@pytest.mark.parametrize(("name", "text"), _corpus(), ids=lambda v: v if len(v) < 60 else "")
def test_highlighting_agrees_with_the_lark_lexer(name: str, text: str, engine: Scopes) -> None:
    tm = engine(text)
    offsets = [0]
    for line in text.split("\n"):
        offsets.append(offsets[-1] + len(line) + 1)
    tokens = _lark_tokens(text)
    assert tokens
    for tok in tokens:
        assert tok.line is not None and tok.column is not None
        start = offsets[tok.line - 1] + tok.column - 1
        got = set(tm[start : start + len(tok.value)])
        assert len(got) == 1, (name, tok, got)
        scope = got.pop()
        where = f"{name}:{tok.line}:{tok.column} {tok.type} {tok.value!r} -> {scope!r}"
        if tok.type in KEYWORDS or tok.type in CONTEXTUAL:
            assert _keyword_scoped(scope), where
        elif tok.type == "NAME":
            assert scope and not _keyword_scoped(scope), where
        elif tok.type == "INT":
            assert scope.startswith("constant.numeric."), where
        elif tok.type == "STRING":
            assert scope.startswith("string."), where
        else:  # operators and punctuation
            assert scope.startswith(("keyword.operator.", "punctuation.")), where
    # and what Lark skips as comments is a comment
    for m in re.finditer(r"//[^\n]*|/\*[\s\S]*?\*/", text):
        inside = set(tm[m.start() : m.end()])
        assert all(s.startswith(COMMENT_SCOPES) for s in inside), (name, m.group(0), inside)
