"""docs/tutorial.md is run, not trusted: every file it writes, every edit and every command in it.

The tutorial is read top to bottom in a fresh directory:
- a ```kdsl or ```toml block preceded by `<!-- file: NAME -->` writes NAME;
- a ```diff block preceded by `<!-- edit: NAME -->` replaces, in NAME, the `-` lines with the
  `+` lines (the `-` lines must occur exactly once: an edit that no longer applies fails);
- a ```console block runs each `$ ` line with bash (kcheck on PATH, no colour, 100 columns) and
  compares what it prints, stdout and stderr together, with the lines that follow it. Times
  (`0.08 s`, `5.1 simulated s`) may differ; a line `...` stands for any number of lines.

`KCHECK_UPDATE_TUTORIAL=1 pytest tests/test_tutorial.py` rewrites the console outputs from a real
run, keeping each output that still matches (so its `...` lines stay; one that no longer matches
loses them: put them back); read the diff before committing it, as with golden files.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).resolve().parent.parent / "docs" / "tutorial.md"
BIN = Path(sys.executable).parent

BLOCK = re.compile(
    r"(?:<!-- (?P<verb>file|edit): (?P<name>[\w./-]+) -->\n)?```(?P<lang>\w+)\n(?P<body>.*?)^```$",
    re.S | re.M,
)
SECONDS = re.compile(r"\b\d+(?:\.\d+)?(?=(?: simulated)? ?s\b)")


@dataclass
class Command:
    line: str
    expected: list[str]
    span: tuple[int, int]  # where its output lines sit in the tutorial's text


def _normal(lines: list[str]) -> list[str]:
    return [SECONDS.sub("T", line.rstrip()) for line in lines]


def _matches(expected: list[str], actual: list[str]) -> bool:
    """Line by line after _normal; `...` matches any run of lines (non-greedy, with backtracking)."""
    exp, act = _normal(expected), _normal(actual)

    def at(i: int, j: int) -> bool:
        if i == len(exp):
            return j == len(act)
        if exp[i] == "...":
            return any(at(i + 1, k) for k in range(j, len(act) + 1))
        return j < len(act) and exp[i] == act[j] and at(i + 1, j + 1)

    return at(0, 0)


def _commands(body: str, offset: int) -> list[Command]:
    found: list[Command] = []
    position = offset
    for raw in body.splitlines(keepends=True):
        line = raw.rstrip("\n")
        if line.startswith("$ "):
            found.append(Command(line[2:], [], (position + len(raw), position + len(raw))))
        elif found:
            found[-1].expected.append(line)
            found[-1].span = (found[-1].span[0], position + len(raw))
        position += len(raw)
    return found


def _apply_edit(path: Path, body: str) -> None:
    old = "".join(line[1:] + "\n" for line in body.splitlines() if line.startswith("-"))
    new = "".join(line[1:] + "\n" for line in body.splitlines() if line.startswith("+"))
    text = path.read_text()
    assert text.count(old) == 1, f"the edit of {path.name} no longer applies:\n{old}"
    path.write_text(text.replace(old, new))


def _run(line: str, cwd: Path) -> str:
    env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(cwd),
        "NO_COLOR": "1",
        "COLUMNS": "100",
        "PYTHONUNBUFFERED": "1",
        "LANG": "C.UTF-8",
    }
    if "DOCKER_HOST" in os.environ:
        env["DOCKER_HOST"] = os.environ["DOCKER_HOST"]
    proc = subprocess.run(
        ["bash", "-c", line],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    return proc.stdout


def test_the_tutorial_runs_as_written(tmp_path: Path) -> None:
    text = TUTORIAL.read_text()
    update = os.environ.get("KCHECK_UPDATE_TUTORIAL") == "1"
    replacements: list[tuple[tuple[int, int], str]] = []
    failures: list[str] = []
    ran = 0
    for block in BLOCK.finditer(text):
        verb, name, lang, body = block["verb"], block["name"], block["lang"], block["body"]
        if verb == "file":
            (tmp_path / name).write_text(body)
        elif verb == "edit":
            _apply_edit(tmp_path / name, body)
        elif lang == "console":
            for command in _commands(body, block.start("body")):
                ran += 1
                actual = _run(command.line, tmp_path)
                if update and not _matches(command.expected, actual.splitlines()):
                    replacements.append((command.span, actual))  # a passing `...` block stays
                elif not update and not _matches(command.expected, actual.splitlines()):
                    failures.append(
                        f"$ {command.line}\n--- the tutorial says:\n"
                        + "\n".join(command.expected)
                        + "\n--- kcheck printed:\n"
                        + actual
                    )
    assert ran >= 10, "the tutorial's commands were not found: is the block syntax intact?"
    if update:
        for (start, end), output in sorted(replacements, reverse=True):
            text = text[:start] + output + text[end:]
        TUTORIAL.write_text(text)
    assert failures == [], "\n\n".join(failures)


def test_the_matcher_is_strict_but_for_times_and_elisions() -> None:
    assert _matches(["a 0.08 s", "b"], ["a 1.50 s", "b"])
    assert _matches(["x", "...", "z"], ["x", "y1", "y2", "z"])
    assert _matches(["x", "...", "z"], ["x", "z"])
    assert not _matches(["a", "b"], ["a", "c"])
    assert not _matches(["a"], ["a", "extra"])
    assert not _matches(["808 distinct states"], ["809 distinct states"])


@pytest.mark.parametrize("line", ["$ kcheck check x.kdsl", "$ echo hi"])
def test_commands_are_found_with_their_output(line: str) -> None:
    [command] = _commands(f"{line}\nout 1\nout 2\n", 0)
    assert command.line == line[2:]
    assert command.expected == ["out 1", "out 2"]
