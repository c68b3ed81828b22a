"""A module instantiated twice alike (directly and through another module, or under two names)
is one copy in the expanded model (spec/language.md §13), and a module with state imported
twice with different bindings is KC0705, located at the second import."""

from __future__ import annotations

from pathlib import Path

import pytest

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Diagnostic, KcheckError
from kcheck.lang.frontend import load
from kcheck.model.compile import compile_model

COUNTER = """module counter
requires kind Pod { ready: bool }
var ticks: 0..2 = 0
process clock {
  action tick when ticks < 2 {
    ticks := ticks + 1
  }
}
def readies(): int = count q in Pod where q.ready
"""
LIB = """module lib
requires kind Pod { ready: bool }
import "counter.kdsl"
def twice(): int = counter.ticks * 2
"""
MODEL = """model m
kind Pod[2] { ready: bool = false }
kind Job[1] { ready: bool = false }
init {
  create Pod {}
}
process kubelet {
  action ready for p in Pod where not p.ready {
    p.ready := true
  }
}
"""


def write(tmp: Path, name: str, text: str) -> str:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def states(path: str) -> int:
    result = explore(compile_model(load(path).symbols))
    assert result.complete and {p.status for p in result.properties} <= {"holds"}
    return result.stats.states


def errors(path: str) -> list[Diagnostic]:
    with pytest.raises(KcheckError) as info:
        load(path)
    return [d for d in info.value.diagnostics if d.severity == "error"]


@pytest.fixture
def lib(tmp_path: Path) -> Path:
    write(tmp_path, "counter.kdsl", COUNTER)
    write(tmp_path, "lib.kdsl", LIB)
    return tmp_path


def test_a_module_imported_directly_and_through_another_is_one_copy(lib: Path) -> None:
    once = states(write(lib, "once.kdsl", MODEL + 'import "counter.kdsl"\n'))
    both = write(
        lib,
        "both.kdsl",
        MODEL + 'import "counter.kdsl"\nimport "lib.kdsl"\n'
        "invariant same: lib.twice() == 2 * counter.ticks\n",
    )
    checked = load(both)
    assert (
        "counter.ticks" in checked.symbols.vars and "lib.counter.ticks" not in checked.symbols.vars
    )
    assert states(both) == once  # not once squared: the clock and its var exist once


def test_a_module_imported_under_two_names_is_one_copy(lib: Path) -> None:
    once = states(write(lib, "once.kdsl", MODEL + 'import "counter.kdsl"\n'))
    twice = write(
        lib,
        "twice.kdsl",
        MODEL + 'import "counter.kdsl"\nimport "counter.kdsl" as c2\n'
        "invariant same: c2.ticks == counter.ticks and c2.readies() == counter.readies()\n",
    )
    assert states(twice) == once


def test_a_module_imported_only_through_others_is_one_copy(lib: Path) -> None:
    write(lib, "lib2.kdsl", LIB.replace("module lib", "module lib2"))
    path = write(
        lib,
        "two_libs.kdsl",
        MODEL + 'import "lib.kdsl"\nimport "lib2.kdsl"\n'
        "invariant same: lib.twice() == lib2.twice()\n",
    )
    assert states(path) == states(write(lib, "once.kdsl", MODEL + 'import "counter.kdsl"\n'))


def test_a_stateful_module_bound_two_ways_is_located_with_a_hint(lib: Path) -> None:
    path = write(
        lib,
        "clash.kdsl",
        MODEL + 'import "counter.kdsl"\nimport "counter.kdsl" as jobs with Pod = Job\n',
    )
    (err,) = errors(path)
    assert err.code == "KC0705"
    assert err.span.file == "" and err.span.line == 13  # the model's second import
    assert "Pod = Job" in err.notes[0] and "Pod = Pod" in err.notes[1]
    assert err.help is not None and "bind both imports alike" in err.help


def test_a_module_without_state_may_be_bound_two_ways(tmp_path: Path) -> None:
    write(tmp_path, "util.kdsl", "module util\nrequires kind Pod { ready: bool }\n"
          "def readies(): int = count q in Pod where q.ready\n")  # fmt: skip
    path = write(
        tmp_path,
        "m.kdsl",
        MODEL + 'import "util.kdsl"\nimport "util.kdsl" as jobs with Pod = Job\n'
        "invariant few: util.readies() <= 2 and jobs.readies() == 0\n",
    )
    assert states(path) == 2  # the one pod, before and after it is Ready


def test_a_module_need_not_pass_on_what_it_does_not_use(tmp_path: Path) -> None:
    # lib uses counter's state, not `readies`, which reads the Pod lib does not require
    write(tmp_path, "counter.kdsl", COUNTER)
    write(tmp_path, "lib.kdsl", LIB.replace("requires kind Pod { ready: bool }\n", ""))
    path = write(tmp_path, "m.kdsl", MODEL + 'import "lib.kdsl"\ninvariant i: lib.twice() <= 4\n')
    assert states(path) == 6  # the clock's 3 values, the pod before and after it is Ready


def test_a_module_passes_on_only_what_it_requires(tmp_path: Path) -> None:
    write(tmp_path, "counter.kdsl", COUNTER)
    lib = LIB.replace("requires kind Pod { ready: bool }\n", "")
    write(tmp_path, "lib.kdsl", lib.replace("ticks * 2", "ticks * 2 + counter.readies()"))
    (err,) = errors(write(tmp_path, "m.kdsl", MODEL + 'import "lib.kdsl"\n'))
    assert err.code == "KC0703" and Path(err.span.file).name == "lib.kdsl"
    assert "`counter.readies`, used at line 3, reads it" in err.notes
    assert "the importing module neither requires" in err.message
    assert err.help == "require it here too: `requires kind Pod { ... }`"
