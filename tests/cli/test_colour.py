"""Colour follows the NO_COLOR and FORCE_COLOR conventions in every command: diagnostics, the
one-line errors and the reports are coloured on a terminal or when FORCE_COLOR is set, never
when NO_COLOR is set; a report written to a file is never coloured."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kcheck.cli.common import use_colour
from kcheck.cli.main import main

BROKEN = "model broken\nvar x: 0..1 = 0\ninvariant zero: y == 0\n"
VIOLATED = (
    "model flips\nvar x: 0..1 = 0\ncontroller c {\n  action flip when x == 0 { x := 1 }\n}\n"
    "invariant zero: x == 0\n"
)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
PLAIN = {"NO_COLOR": None, "FORCE_COLOR": None}


def invoke(args: list[str], **env: str | None) -> Result:
    return CliRunner().invoke(main, args, env={**PLAIN, **env})


def _model(tmp_path: Path, text: str) -> str:
    path = tmp_path / "m.kdsl"
    path.write_text(text, encoding="utf-8")
    return str(path)


COMMANDS = [
    ["verify", "-q"],
    ["check"],
    ["run", "-q"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_diagnostics_are_coloured_when_forced_and_read_the_same_without_colour(
    tmp_path: Path, command: list[str]
) -> None:
    path = _model(tmp_path, BROKEN)
    plain = invoke([*command, path])
    forced = invoke([*command, path], FORCE_COLOR="1")
    assert plain.exit_code == forced.exit_code == 2
    assert "\x1b[" not in plain.stderr
    assert "\x1b[1;31merror[KC0201]:\x1b[0m" in forced.stderr
    assert "\x1b[1;31m^\x1b[0m" in forced.stderr  # the underline, in the severity's colour
    assert ANSI.sub("", forced.stderr) == plain.stderr


def test_fmt_colours_its_diagnostics_as_well(tmp_path: Path) -> None:
    path = _model(tmp_path, "model m\nvar x: 0..1 = = 0\n")
    forced = invoke(["fmt", "--check", path], FORCE_COLOR="yes")
    assert forced.exit_code == 2
    assert "\x1b[1;31merror[KC" in forced.stderr


@pytest.mark.parametrize(
    "env",
    [{"NO_COLOR": "1", "FORCE_COLOR": "1"}, {"FORCE_COLOR": "0"}, {"FORCE_COLOR": ""}],
    ids=["no-color-wins", "force-0", "force-empty"],
)
def test_no_color_or_an_unset_force_color_gives_plain_text(
    tmp_path: Path, env: dict[str, str]
) -> None:
    broken = invoke(["verify", _model(tmp_path, BROKEN)], **env)
    report = invoke(["verify", "-q", _model(tmp_path, VIOLATED)], **env)
    assert broken.exit_code == 2 and report.exit_code == 1
    assert "\x1b[" not in broken.stderr + report.stdout + report.stderr


def test_a_forced_report_is_coloured_but_never_the_file_it_is_written_to(
    tmp_path: Path,
) -> None:
    path = _model(tmp_path, VIOLATED)
    shown = invoke(["verify", "-q", path], FORCE_COLOR="1")
    assert shown.exit_code == 1 and "\x1b[" in shown.stdout
    out = tmp_path / "out.txt"
    written = invoke(["verify", "-q", path, "-o", str(out)], FORCE_COLOR="1")
    assert written.exit_code == 1
    assert "\x1b[" not in out.read_text(encoding="utf-8")


def test_the_one_line_error_is_coloured_when_forced(tmp_path: Path) -> None:
    path = _model(tmp_path, VIOLATED)
    forced = invoke(["verify", path, "--invariant", "nope"], FORCE_COLOR="1")
    assert forced.exit_code == 2
    assert forced.stderr.startswith("kcheck: \x1b[31m\x1b[1merror:\x1b[0m --invariant nope")
    plain = invoke(["verify", path, "--invariant", "nope"])
    assert plain.stderr.startswith("kcheck: error: --invariant nope")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("env", "tty", "expected"),
    [
        ({}, True, True),
        ({}, False, False),
        ({"NO_COLOR": "1"}, True, False),
        ({"NO_COLOR": ""}, True, True),  # NO_COLOR counts only when it is not empty
        ({"FORCE_COLOR": "1"}, False, True),
        ({"FORCE_COLOR": "0"}, False, False),
        ({"FORCE_COLOR": "1", "NO_COLOR": "x"}, False, False),
    ],
)
def test_when_to_colour(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], tty: bool, expected: bool
) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert use_colour(_Terminal() if tty else io.StringIO()) is expected
