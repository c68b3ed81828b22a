"""Issue 16.3: spellings from other languages get a `help:` naming KDSL's own, and a local that
shadows another name is reported (KC0207), as an error where the meaning could silently change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kcheck.cli.main import main
from kcheck.lang.diagnostics import Diagnostic, KcheckError, Source
from kcheck.lang.frontend import check_source

BASE = """model m

const N = 2
enum Phase { Pending, Running }
kind Pod[N] { phase: Phase = Pending  ready: bool = false }
var healthy: 0..N = 0

controller c {
  action start for p in Pod when p.phase == Pending {
    p.phase := Running
  }
}

invariant few: (count p in Pod where p.ready) <= 2
"""
STATEMENT = "    p.phase := Running\n"
GUARD = "when p.phase == Pending {"
INVARIANT = "invariant few: (count p in Pod where p.ready) <= 2"


def diagnostics(text: str) -> list[Diagnostic]:
    try:
        return list(check_source(Source("m.kdsl", text)).warnings)
    except KcheckError as err:
        return list(err.diagnostics)


def test_the_base_model_is_accepted() -> None:
    assert diagnostics(BASE) == []


# (the mistake, the model with it, its line and column, what the hint must name)
MISTAKES = [
    ("&&", BASE.replace(GUARD, "when p.phase == Pending && not p.ready {"), 9, 53, "`and`"),
    ("||", BASE.replace(GUARD, "when p.phase == Pending || p.ready {"), 9, 53, "`or`"),
    ("!", BASE.replace(GUARD, "when !p.ready {"), 9, 34, "`not`"),
    (
        "elif",
        BASE.replace(
            STATEMENT,
            "    if p.ready { healthy := 1 } elif healthy > 1 { healthy := 0 }\n",
        ),
        10,
        38,
        "`else if",
    ),
    (
        "if then",
        BASE.replace(STATEMENT, "    if p.ready then { healthy := 1 }\n"),
        10,
        16,
        "`if c {",
    ),
    (";", BASE.replace(STATEMENT, "    p.phase := Running;\n"), 10, 23, "no `;`"),
    (
        "within",
        BASE + "property up: eventually healthy == 2 within 3\n",
        15,
        38,
        "`var`",
    ),
    (
        "count(... where ...)",
        BASE.replace(INVARIANT, "invariant few: count(p in Pod where p.ready) <= 2"),
        14,
        31,
        "`(count p in Pod where ...)`",
    ),
    ("True", BASE.replace(STATEMENT, "    p.ready := True\n"), 10, 16, "`true`"),
    ("None", BASE.replace(INVARIANT, "invariant few: None == none"), 14, 16, "`none`"),
    (
        "count ... <= 2",
        BASE.replace(INVARIANT, "invariant few: count p in Pod where p.ready <= 2"),
        14,
        16,
        "`(count p in Pod where ...) <= ...`",
    ),
    (
        "sum ... where ... > 1, in a def",
        BASE + "def busy(): bool = sum 1 for p in Pod where p.ready > 1\n",
        15,
        20,
        "`(sum ... for p in Pod where ...) > ...`",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "col", "spelling"),
    [m[1:] for m in MISTAKES],
    ids=[m[0] for m in MISTAKES],
)
def test_a_foreign_spelling_gets_a_hint_naming_kdsl_s_own(
    text: str, line: int, col: int, spelling: str
) -> None:
    # The hint comes once, on the diagnostic at the mistake (a consequence may follow it).
    diags = diagnostics(text)
    (helped,) = [d for d in diags if d.help is not None]
    assert [d.severity for d in diags] == ["error"] * len(diags)
    assert (helped.span.line, helped.span.col) == (line, col)
    assert spelling in helped.help, helped


def test_a_doubled_operator_is_underlined_whole() -> None:
    first = diagnostics(MISTAKES[0][1])[0]
    assert first.message == "`&&` is not a KDSL operator"
    assert first.span.end_col - first.span.col == 2


# ---- shadowing ------------------------------------------------------------------------------

SHADOWS = """model m

const N = 2
enum Phase { Pending, Running }
kind Pod[N] { phase: Phase = Pending  ready: bool = false }
var healthy: 0..N = 0

def ok(p: Pod): bool = p.ready

init {
  create Pod { ready: false }
  create Pod { ready: false }
}

controller c {
  action start for c in Pod when not c.ready and budget(crash) >= 0 {
    c.ready := true
  }
}
fault crash budget 1 {
  action kill for crash in Pod { crash.ready := false }
}

invariant not_all: exists ok in Pod: not ok.ready and not ok(ok)
property up: forall crash in Pod: eventually always ok(crash)
"""
# The same model with every local renamed: no shadowing at all.
RENAMED = (
    SHADOWS.replace("for c in Pod when not c.ready", "for q in Pod when not q.ready")
    .replace("    c.ready := true", "    q.ready := true")
    .replace("for crash in Pod { crash.ready", "for q in Pod { q.ready")
    .replace("exists ok in Pod: not ok.ready and not ok(ok)", "exists q in Pod: not q.ready and not ok(q)")
    .replace("forall crash in Pod: eventually always ok(crash)", "forall q in Pod: eventually always ok(q)")
)  # fmt: skip


def shadows(text: str) -> list[tuple[str, int, int]]:
    return [(d.severity, d.span.line, d.span.col) for d in diagnostics(text) if d.code == "KC0207"]


def test_a_local_named_like_a_def_an_actor_or_a_property_is_a_warning() -> None:
    assert shadows(RENAMED) == []
    assert shadows(SHADOWS) == [
        ("warning", 16, 20),  # the controller `c`
        ("warning", 21, 19),  # the fault `crash`
        ("warning", 24, 27),  # the def `ok`
        ("warning", 25, 21),  # the fault `crash`
    ]


@pytest.mark.parametrize(
    ("local", "sort"),
    [
        ("N", "const"),
        ("healthy", "var"),
        ("Running", "enum member"),
        ("Pod", "kind"),
        ("Phase", "enum"),
        ("p", "bound name"),
    ],
)
def test_a_local_named_like_a_value_is_an_error(local: str, sort: str) -> None:
    text = BASE + f"invariant s: forall p in Pod: exists {local} in Pod: true\n"
    (d,) = [d for d in diagnostics(text) if d.code == "KC0207"]
    assert (d.severity, d.span.line, d.span.col) == ("error", 15, 38)
    assert f"shadows the {sort} `{local}`" in d.message
    assert d.help is not None and d.help.startswith("rename this bound name")


@pytest.mark.parametrize(
    "text",
    [
        BASE.replace(STATEMENT, "    let p = 1\n"),  # a let
        BASE.replace(STATEMENT, "    for p in Pod { p.ready := true }\n"),  # a for statement
        BASE.replace(STATEMENT, "    choose healthy in Pod { healthy.ready := true }\n"),
        BASE + "def f(N: int): int = N\n",  # a def's parameter
        BASE + "invariant s: (sum 1 for x in Pod, x in Pod) >= 0\n",  # one binder list
        BASE + "invariant s: size({N in Pod where true}) >= 0\n",  # a set builder
    ],
    ids=["let", "for", "choose", "def parameter", "binder list", "set builder"],
)
def test_every_form_that_binds_a_name_reports_shadowing(text: str) -> None:
    assert [d.severity for d in diagnostics(text) if d.code == "KC0207"] == ["error"]


def verify(tmp_path: Path, name: str, text: str, *options: str) -> object:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["verify", str(path), "--format", "json", *options])
    assert result.exit_code == 1, result.output
    out = json.loads(result.stdout)
    return out["stats"]["states"], [(p["name"], p["status"]) for p in out["properties"]]


@pytest.mark.parametrize("engine", ["explicit", "bmc"])
def test_a_warned_shadow_means_the_same_as_the_renamed_model(tmp_path: Path, engine: str) -> None:
    # The warning is safe only if every engine reads the model as if the locals were renamed.
    options = ("--engine", engine)
    assert verify(tmp_path, "s.kdsl", SHADOWS, *options) == verify(
        tmp_path, "r.kdsl", RENAMED, *options
    )


def test_a_local_may_take_a_field_s_or_an_action_s_name() -> None:
    # Fields are only reached through `x.f`, actions never from expressions: nothing to confuse.
    text = BASE.replace(
        STATEMENT, "    let phase = p.phase\n    for start in Pod { start.phase := phase }\n"
    )
    assert diagnostics(text) == []
