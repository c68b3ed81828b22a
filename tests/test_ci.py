"""`kcheck ci` on a fixture repository (tests/fixtures/ci_repo, copied for each test): a model
that holds (swept over a parameter), one with an unexpected violation and one whose violation is
expected. Exit codes, the summary, the reports, the cache and configuration errors."""

from __future__ import annotations

import io
import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

import kcheck
import kcheck.ci.command
from kcheck.ci.command import run_ci
from kcheck.ci.config import parse_config
from kcheck.ci.gate import UNEXPECTED, Row
from kcheck.ci.plan import plan
from kcheck.ci.progress import LiveProgress
from kcheck.ci.reports import format_table
from kcheck.ci.verdict_cache import code_fingerprint, digest
from kcheck.cli.main import main
from kcheck.lang.parser import grammar_text
from kcheck.result import HOLDS, VIOLATED, Stats

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "ci_repo"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURE, root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return root


def ci(
    config: str | None = None, out: str | None = None, no_cache: bool = False
) -> tuple[int, str]:
    lines: list[str] = []
    code = run_ci(config, out, no_cache, lines.append)
    text = "\n".join(lines)
    assert "Traceback" not in text
    return code, text


def drop_overshoot(root: Path) -> None:
    (root / "models" / "overshoot.kdsl").unlink()


def write_config(root: Path, text: str) -> None:
    (root / "kcheck.toml").write_text(text)


def test_an_unexpected_violation_exits_1_and_is_named(repo: Path) -> None:
    code, out = ci()
    assert code == 1
    (line,) = [ln for ln in out.splitlines() if "overshoot.kdsl" in ln]
    assert "UNEXPECTED" in line
    assert "5 checks: 4 OK, 1 UNEXPECTED" in out


def test_an_expected_violation_from_the_expect_line_is_ok(repo: Path) -> None:
    _, out = ci()
    (line,) = [ln for ln in out.splitlines() if "known_bug.kdsl" in ln]
    assert "violated (2 steps)" in line and " OK" in line and "UNEXPECTED" not in line


def test_everything_as_expected_exits_0(repo: Path) -> None:
    drop_overshoot(repo)
    code, out = ci()
    assert code == 0, out
    assert "0 UNEXPECTED" in out


def test_a_sweep_runs_once_per_value(repo: Path) -> None:
    drop_overshoot(repo)
    _, out = ci()
    counter = [ln for ln in out.splitlines() if "counter.kdsl" in ln]
    assert [p for p in ("target=0", "target=1", "target=2") if any(p in ln for ln in counter)] == [
        "target=0",
        "target=1",
        "target=2",
    ]
    assert "4 runs" in out


def test_a_sweep_of_several_names_runs_their_product(repo: Path) -> None:
    drop_overshoot(repo)
    text = (
        (repo / "kcheck.toml")
        .read_text()
        .replace('defines = { target = "0..2" }', "defines = { target = [1, 2], MAX = [2, 3] }")
    )
    write_config(repo, text)
    code, out = ci()
    assert code == 0, out
    assert "5 runs" in out  # 2 x 2 for counter, 1 for known_bug


def test_the_reports_are_written_and_parse(repo: Path) -> None:
    ci()
    reports = repo / "reports"
    junit = ET.parse(reports / "junit.xml").getroot()
    assert junit.tag == "testsuites"
    # only the unexpected verdict fails; the known bug's violation passes, its trace kept
    assert junit.get("failures") == "1"
    failing = [c.get("classname") for c in junit.iter("testcase") if c.find("failure") is not None]
    assert failing == ["models/overshoot.kdsl"]
    sarif = json.loads((reports / "kcheck.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"]
    uris = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif["runs"][0]["results"]
        for loc in r["locations"]
    }
    assert uris == {"models/known_bug.kdsl", "models/overshoot.kdsl"}
    summary = (reports / "summary.md").read_text()
    assert "UNEXPECTED" in summary and "overshoot" in summary
    assert json.loads((reports / "cache.json").read_text())["entries"]


def test_sarif_validates_against_its_schema(repo: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schemas = sorted((REPO / "tests" / "schemas").glob("sarif*.json"))
    if not schemas:
        pytest.skip("no SARIF schema in tests/schemas")
    ci()
    schema = json.loads(schemas[0].read_text())
    jsonschema.validate(json.loads((repo / "reports" / "kcheck.sarif").read_text()), schema)


def test_the_summary_is_appended_to_the_github_step_summary(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = repo / "step.md"
    step.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    ci()
    text = step.read_text()
    assert text.startswith("earlier step\n") and "# kcheck ci" in text


def test_out_overrides_the_configured_directory(repo: Path, tmp_path: Path) -> None:
    ci(out=str(tmp_path / "elsewhere"))
    assert (tmp_path / "elsewhere" / "junit.xml").is_file()
    assert not (repo / "reports").exists()


def test_a_second_run_is_taken_from_the_cache(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first_code, first = ci()
    assert "0 cached" in first
    import kcheck.engines.dispatch as dispatch

    def must_not_explore(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cached model was explored again")

    monkeypatch.setattr(dispatch, "explore", must_not_explore)
    code, out = ci()
    assert code == first_code == 1
    assert "5 runs, 5 cached" in out
    # the reports rebuilt from the cache still carry the counterexamples
    junit = ET.parse(repo / "reports" / "junit.xml").getroot()
    assert junit.get("failures") == "1"
    assert "raiser.raise" in (repo / "reports" / "summary.md").read_text()


def test_no_cache_checks_again(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ci()
    import kcheck.engines.dispatch as dispatch
    from kcheck.explore.bfs import explore as real

    calls: list[str] = []

    def counting(*args: object, **kwargs: object) -> object:
        calls.append("explore")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(dispatch, "explore", counting)
    _, out = ci(no_cache=True)
    assert len(calls) == 5
    assert "0 cached" in out


def test_a_changed_model_is_checked_again(repo: Path) -> None:
    ci()
    known = repo / "models" / "known_bug.kdsl"
    known.write_text(known.read_text() + "\n// an edit\n")
    _, out = ci()
    assert "5 runs, 4 cached" in out


# ---- the cache never returns a stale or forged verdict (issue 12, point 10)

Entry = dict[str, Any]


def cache_of(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / "reports" / "cache.json").read_text())
    return data


def edit_entry(root: Path, model: str, change: Callable[[Entry], None], redigest: bool) -> None:
    """Edit the cached result of `model` in place; with `redigest`, as someone who also
    recomputes the entry's digest would (so only the consistency checks can catch it)."""
    data = cache_of(root)
    (key,) = [k for k, e in data["entries"].items() if e["model"] == f"models/{model}"]
    entry = data["entries"][key]
    change(entry["result"])
    if redigest:
        entry["digest"] = digest(key, entry["result"])
    (root / "reports" / "cache.json").write_text(json.dumps(data))


def say_holds(result: Entry) -> None:
    """The forgery of the issue: every property holds, no counterexample, verdict holds."""
    result["verdict"] = HOLDS
    for p in result["properties"]:
        p["status"], p["trace"] = HOLDS, None
        p.pop("loop_start", None)


def status_only(result: Entry) -> None:
    """Says holds, but keeps the counterexample that contradicts it."""
    result["verdict"] = HOLDS
    for p in result["properties"]:
        p["status"] = HOLDS


def verdict_only(result: Entry) -> None:
    result["verdict"] = HOLDS


def drop_violated(result: Entry) -> None:
    result["properties"] = [p for p in result["properties"] if p["status"] != VIOLATED]
    result["verdict"] = HOLDS
    result["complete"] = True  # else no entries and incomplete already read as inconclusive


def move_a_step(result: Entry) -> None:
    (p,) = [p for p in result["properties"] if p["status"] == VIOLATED]
    p["trace"][-1]["state"]["n"] = 1  # the last state no longer follows from the one before


def not_json(result: Entry) -> None:
    result["properties"] = "all good"


@pytest.mark.parametrize(
    ("change", "redigest", "why"),
    [
        (say_holds, False, "does not match its digest"),
        (say_holds, True, "the search it comes from was not complete"),
        (status_only, True, "has a counterexample"),
        (verdict_only, True, "its properties say"),
        (drop_violated, True, "does not list the properties"),
        (move_a_step, True, "does not replay"),
        (not_json, True, "malformed"),
    ],
    ids=["holds", "holds-redigested", "status", "verdict", "dropped", "trace", "malformed"],
)
def test_an_edited_cache_never_turns_a_failing_gate_green(
    repo: Path, change: Callable[[Entry], None], redigest: bool, why: str
) -> None:
    code, _ = ci()
    assert code == 1  # overshoot is violated, and nothing expects it
    edit_entry(repo, "overshoot.kdsl", change, redigest)
    code, out = ci()
    assert code == 1, out
    assert "5 runs, 4 cached" in out
    (note,) = [ln for ln in out.splitlines() if ln.startswith("kcheck: note:")]
    assert "models/overshoot.kdsl" in note and why in note, note
    rows = [ln for ln in out.splitlines() if "overshoot.kdsl" in ln and "note:" not in ln]
    assert len(rows) == 1 and "UNEXPECTED" in rows[0]


def test_a_cached_violation_is_replayed_before_it_is_believed(repo: Path) -> None:
    ci()
    # known_bug's violation is expected: a forged trace must not be reported as its evidence
    edit_entry(repo, "known_bug.kdsl", move_a_step, redigest=True)
    code, out = ci()
    assert code == 1 and "5 runs, 4 cached" in out
    assert "the cached result of models/known_bug.kdsl is ignored" in out
    entry = next(e for e in cache_of(repo)["entries"].values() if e["model"].endswith("bug.kdsl"))
    (p,) = [p for p in entry["result"]["properties"] if p["status"] == VIOLATED]
    assert p["trace"][-1]["state"]["n"] == 2  # checked again: the real trace is stored


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{ not json", "not valid JSON; ignored"),
        ('{"format": 1, "kcheck": "0.1.0", "entries": {}}', "written by another kcheck version"),
        ("[1, 2]", "not a kcheck cache"),
    ],
)
def test_a_damaged_or_old_cache_file_is_ignored_with_a_note(
    repo: Path, text: str, why: str
) -> None:
    (repo / "reports").mkdir()
    (repo / "reports" / "cache.json").write_text(text)
    code, out = ci()
    assert code == 1 and "5 runs, 0 cached" in out
    assert f"kcheck: note: reports/cache.json: {why}" in out


def test_a_model_with_a_property_under_forall_is_taken_from_the_cache(repo: Path) -> None:
    """Found on the repository's own gate: such a property is reported after the others (it
    has a search of its own), and the cache must not take the order for a forgery."""
    (repo / "models" / "per_pod.kdsl").write_text(
        "model per_pod\n"
        "kind Pod[2] {\n  done: bool = false\n}\n"
        "init {\n  create Pod { }\n  create Pod { }\n}\n"
        "process p {\n  action finish for q in Pod where not q.done { q.done := true }\n}\n"
        "property each_finishes: forall q in Pod: eventually always q.done\n"
        "property all_finish: eventually always (forall q in Pod: q.done)\n"
    )
    ci()
    _, out = ci()
    assert "6 runs, 6 cached" in out and "note:" not in out, out


def copy_of_kcheck(tmp_path: Path) -> Path:
    package = Path(kcheck.__file__).resolve().parent
    copy = tmp_path / "kcheck-code"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    return copy


def test_a_change_of_kchecks_code_invalidates_the_cache(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code_dir = copy_of_kcheck(tmp_path)
    grammar = grammar_text()
    monkeypatch.setattr(
        kcheck.ci.command, "kcheck_fingerprint", lambda: code_fingerprint(code_dir, grammar)
    )
    ci()
    _, out = ci()
    assert "5 runs, 5 cached" in out
    # an engine change that leaves the version string alone, as 173 commits once did
    bfs = code_dir / "explore" / "bfs.py"
    bfs.write_text(bfs.read_text() + "\n# a change to the engine\n")
    _, out = ci()
    assert "5 runs, 0 cached" in out
    _, out = ci()
    assert "5 runs, 5 cached" in out


def test_the_code_fingerprint_covers_every_source_file_and_the_grammar(tmp_path: Path) -> None:
    code_dir = copy_of_kcheck(tmp_path)
    grammar = grammar_text()
    base = code_fingerprint(code_dir, grammar)
    assert code_fingerprint(code_dir, grammar) == base  # stable
    assert code_fingerprint(code_dir, grammar + "\n") != base
    for name in ("ci/gate.py", "model/symmetry.py", "model/canon.c"):
        f = code_dir / name
        original = f.read_bytes()
        f.write_bytes(original + b"\n")
        assert code_fingerprint(code_dir, grammar) != base, name
        f.write_bytes(original)
    (code_dir / "new_module.py").write_text("")
    assert code_fingerprint(code_dir, grammar) != base


def test_every_option_that_changes_the_check_is_in_the_key(repo: Path) -> None:
    code = "fingerprint"
    (job, *_), _ = plan(parse_config(repo / "kcheck.toml", {"models": ["models/known_bug.kdsl"]}))
    base = job.cache_key(code)
    assert job.cache_key("another fingerprint") != base
    changes: list[dict[str, Any]] = [
        {"symmetry": False},
        {"max_states": 10},
        {"max_depth": 3},
        {"timeout": 5.0},
        {"invariants": ("small",)},
        {"properties": ()},
    ]
    for change in changes:
        other = replace(job, settings=replace(job.settings, **change))
        assert other.cache_key(code) != base, change
    assert replace(job, overrides={"target": 2}).cache_key(code) != base
    assert replace(job, text=job.text + "\n").cache_key(code) != base
    # threads change how fast, never what is answered: a cached answer stands for any number
    assert replace(job, settings=replace(job.settings, threads=2)).cache_key(code) == base


def test_threads_give_the_same_gate_and_reports(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kcheck.engines.dispatch as dispatch
    from kcheck.explore.bfs import explore as real

    asked: list[int] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs["limits"].threads)
        return real(*args, **kwargs)

    monkeypatch.setattr(dispatch, "explore", spy)
    one_code, _ = ci(no_cache=True)
    one = (repo / "reports" / "junit.xml").read_text()
    write_config(repo, "threads = 2\n" + (repo / "kcheck.toml").read_text())  # top level
    two_code, _ = ci(no_cache=True)
    assert set(asked) == {1, 2} and asked.count(2) == asked.count(1)
    assert two_code == one_code == 1

    def cases(xml: str) -> list[tuple[str | None, str | None, list[tuple[str, str | None]]]]:
        # every test case with its outcome and message (the times differ)
        return [
            (c.get("name"), c.get("classname"), [(e.tag, e.get("message")) for e in c])
            for c in ET.fromstring(xml).iter("testcase")
        ]

    assert cases((repo / "reports" / "junit.xml").read_text()) == cases(one)


def test_an_expected_violation_that_now_holds_is_unexpected(repo: Path) -> None:
    drop_overshoot(repo)
    known = repo / "models" / "known_bug.kdsl"
    known.write_text(known.read_text().replace("n <= target {", "n < target {"))
    code, out = ci()
    assert code == 1
    (line,) = [ln for ln in out.splitlines() if "known_bug.kdsl" in ln]
    assert "UNEXPECTED" in line and "fixed?" in line


def test_the_config_expectation_replaces_the_expect_line(repo: Path) -> None:
    write_config(
        repo,
        'models = ["models/*.kdsl"]\n'
        '[[model]]\npath = "models/overshoot.kdsl"\n'
        'expect = { never_past_target = "violated" }\n',
    )
    code, out = ci()
    assert code == 0, out


def test_an_inconclusive_run_is_unexpected(repo: Path) -> None:
    drop_overshoot(repo)
    write_config(repo, 'models = ["models/counter.kdsl"]\nmax_depth = 0\n')
    code, out = ci()
    assert code == 1
    assert "inconclusive" in out


def test_a_model_that_does_not_load_exits_2_with_its_diagnostics(repo: Path) -> None:
    (repo / "models" / "broken.kdsl").write_text("model broken\nvar n: 0..3 = nope\n")
    code, out = ci()
    assert code == 2
    assert "models/broken.kdsl:2:" in out and "error[" in out
    # the other models are still checked and reported
    assert (repo / "reports" / "junit.xml").is_file()


def test_an_unknown_define_is_a_load_error(repo: Path) -> None:
    drop_overshoot(repo)
    write_config(repo, 'models = ["models/counter.kdsl"]\ndefines = { NOPE = 1 }\n')
    code, out = ci()
    assert code == 2
    assert "NOPE" in out


def test_an_unknown_expected_property_is_an_error(repo: Path) -> None:
    write_config(
        repo, 'models = ["models/counter.kdsl"]\nexpect = { never_pst_target = "holds" }\n'
    )
    code, out = ci()
    assert code == 2
    assert "did you mean `never_past_target`?" in out


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            'models = ["models/*.kdsl"]\nmax_sates = 3\n',
            "kcheck.toml: max_sates: unknown key; did you mean `max_states`?",
        ),
        ('models = "models/*.kdsl"\n', "kcheck.toml: models: must be a list of globs"),
        (
            'models = ["models/*.kdsl"]\nmax_states = "10"\n',
            'kcheck.toml: max_states: must be an integer of at least 1, got "10"',
        ),
        (
            'models = ["models/*.kdsl"]\nthreads = 0\n',
            "kcheck.toml: threads: must be an integer from 1 to 256, got 0",
        ),
        (
            'models = ["models/*.kdsl"]\n[[model]]\npath = "x"\nthreads = true\n',
            "kcheck.toml: model[0].threads: must be an integer from 1 to 256, got true",
        ),
        (
            'models = ["models/*.kdsl"]\nengine = "smt"\n',
            'kcheck.toml: engine: engine "smt" is not available',
        ),
        (
            'models = ["models/*.kdsl"]\nsymmetry = "yes"\n',
            "kcheck.toml: symmetry: must be true or false",
        ),
        (
            'models = ["models/*.kdsl"]\nexpect = { x = "broken" }\n',
            'kcheck.toml: expect.x: must be "holds", "violated" or "not checked"',
        ),
        (
            'models = ["models/*.kdsl"]\n[[model]]\ndefines = { target = 1 }\n',
            "kcheck.toml: model[0].path: every [[model]] table needs a `path` glob",
        ),
        (
            'models = ["models/*.kdsl"]\n[[model]]\npath = "x"\ndefines = { target = "3..1" }\n',
            "model[0].defines.target: the range '3..1' is empty",
        ),
        ('models = ["nothing/*.kdsl"]\n', "kcheck.toml: models: 'nothing/*.kdsl' matches no file"),
        ("models = [\n", "kcheck.toml: not valid TOML"),
        ("out = 'reports'\n", "no models to check"),
    ],
)
def test_config_errors_exit_2_naming_the_file_and_key(
    repo: Path, config: str, message: str
) -> None:
    write_config(repo, config)
    code, out = ci()
    assert code == 2
    assert out.startswith("kcheck: error: ")
    assert message in out, out
    assert not (repo / "reports").exists()


def test_no_config_names_both_files(repo: Path) -> None:
    (repo / "kcheck.toml").unlink()
    code, out = ci()
    assert code == 2
    assert "kcheck.toml" in out and "[tool.kcheck]" in out and "pyproject.toml" in out


def test_the_config_may_live_in_pyproject(repo: Path) -> None:
    drop_overshoot(repo)
    (repo / "kcheck.toml").unlink()
    (repo / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.kcheck]\nmodels = ["models/*.kdsl"]\nout = "ci-out"\n'
    )
    code, out = ci()
    assert code == 0, out
    assert (repo / "ci-out" / "summary.md").is_file()
    (repo / "pyproject.toml").write_text('[tool.kcheck]\nmodels = ["models/*.kdsl"]\nouts = 1\n')
    code, out = ci()
    assert code == 2 and "pyproject.toml: tool.kcheck.outs: unknown key" in out


def test_an_explicit_config_path_is_used(repo: Path, tmp_path: Path) -> None:
    drop_overshoot(repo)
    other = repo / "ci.toml"
    other.write_text('models = ["models/counter.kdsl"]\n')
    code, out = ci(config=str(other))
    assert code == 0, out
    assert "1 runs" in out
    code, out = ci(config=str(tmp_path / "missing.toml"))
    assert code == 2 and "no such configuration file" in out


def test_the_repository_gates_its_own_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    code, out = ci(out=str(tmp_path / "reports"))
    assert code == 0, out


def test_an_absolute_glob_is_accepted(tmp_path: Path) -> None:
    """Found by a model author: an absolute path in `models` crashed the planner."""
    model = (Path(__file__).resolve().parents[1] / "models" / "hpa_field_ownership.kdsl").as_posix()
    (tmp_path / "kcheck.toml").write_text(f'models = ["{model}"]\n', encoding="utf-8")
    lines: list[str] = []
    code = run_ci(str(tmp_path / "kcheck.toml"), str(tmp_path / "out"), True, lines.append)
    assert code == 0, "\n".join(lines)
    assert any("hpa_field_ownership.kdsl" in line for line in lines)


def terminal() -> tuple[Console, io.StringIO]:
    """A console that rich takes for a terminal, writing into a buffer (as on a TTY's stderr)."""
    buf = io.StringIO()
    return Console(file=buf, force_terminal=True, width=100), buf


def test_a_terminal_shows_which_run_of_how_many_is_checked(repo: Path) -> None:
    console, buf = terminal()
    lines: list[str] = []
    code = run_ci(None, None, False, lines.append, console=console)
    assert code == 1
    shown = buf.getvalue()
    for n, label in enumerate(
        [
            "models/counter.kdsl [target=0]",
            "models/counter.kdsl [target=1]",
            "models/counter.kdsl [target=2]",
            "models/known_bug.kdsl",
            "models/overshoot.kdsl",
        ],
        1,
    ):
        assert f"checking {n}/5 {label}" in shown
    # the progress is on the console alone; stdout carries the table and the totals
    assert not [ln for ln in lines if "checking" in ln]


def test_the_progress_shows_the_running_searchs_figures() -> None:
    console, buf = terminal()
    with LiveProgress(console, 3) as shown:
        shown.begin(2, "models/big.kdsl [N=4]")
        shown.searched(Stats(states=12_345, transitions=0, depth=7, seconds=2.0))
    assert "checking 2/3 models/big.kdsl [N=4]" in buf.getvalue()
    assert "12,345 states, depth 7, 6,172 states/s, 2.0 s" in buf.getvalue()


def test_a_note_is_printed_past_the_progress_line(repo: Path) -> None:
    ci()
    edit_entry(repo, "known_bug.kdsl", move_a_step, redigest=True)
    console, buf = terminal()
    lines: list[str] = []
    assert run_ci(None, None, False, lines.append, console=console) == 1
    assert any("the cached result of models/known_bug.kdsl is ignored" in ln for ln in lines)
    assert "checking 5/5 models/overshoot.kdsl" in buf.getvalue()  # and the progress goes on


def test_quiet_and_a_log_show_no_progress(repo: Path) -> None:
    console, buf = terminal()
    run_ci(None, None, False, lambda text: None, quiet=True, console=console)
    assert buf.getvalue() == ""
    # off a terminal (CliRunner's stderr is not one, as in a CI log): the table and totals only
    result = CliRunner().invoke(main, ["ci"])
    assert result.exit_code == 1
    assert "checking" not in result.output and "5 checks: 4 OK, 1 UNEXPECTED" in result.output
    assert "\x1b[" not in result.output and "─" not in result.output  # plain text in a log


def test_the_summary_table_folds_a_long_path_and_never_cuts_it() -> None:
    path = "models/" + "very_long_folder_name/" * 8 + "model.kdsl"
    row = Row(path, "-", "pods_fit", "holds", "violated (3 steps)", UNEXPECTED, "a note")
    for colour in (False, True):
        plain = re.sub(r"\x1b\[[0-9;]*m", "", format_table([row], colour))
        head, _rule, *lines = plain.split("\n")
        assert "…" not in plain
        # the path, read down its own column, is whole; the row's verdict is on its first line
        end = head.index("parameters")
        assert "".join(line[:end].strip() for line in lines) == path
        assert "UNEXPECTED" in lines[0]


def test_a_timelock_fails_the_gate_and_its_cached_result_is_believed(repo: Path) -> None:
    # a timelock beside an invariant that holds: unexpected, and the cache takes it (its trace
    # replayed to a state with no step)
    shutil.copy(REPO / "tests" / "fixtures" / "timelock.kdsl", repo / "models" / "timelock.kdsl")
    first_code, first = ci()
    (line,) = [ln for ln in first.splitlines() if "time_passes" in ln]
    assert "violated (5 steps)" in line and "UNEXPECTED" in line
    code, out = ci()
    assert code == first_code == 1
    assert "6 runs, 6 cached" in out, out


def test_an_expected_timelock_is_named_time_passes_and_passes_the_gate(repo: Path) -> None:
    # the built-in check of a timed model can be expected like an invariant, with its length
    text = (REPO / "tests" / "fixtures" / "timelock.kdsl").read_text()
    (repo / "models" / "timelock.kdsl").write_text(
        "// expect: violated time_passes steps=5\n" + text
    )
    code, out = ci()
    (line,) = [ln for ln in out.splitlines() if "time_passes" in ln]
    assert "violated (5 steps)" in line.split("time_passes")[1]
    assert line.rstrip().endswith("OK"), line
    # the wrong length is unexpected
    (repo / "models" / "timelock.kdsl").write_text(
        "// expect: violated time_passes steps=4\n" + text
    )
    code, out = ci(no_cache=True)
    (line,) = [ln for ln in out.splitlines() if "time_passes" in ln]
    assert "UNEXPECTED" in line and code == 1
    assert "the counterexample has 5 steps, 4 expected" in out


def test_expecting_a_timelock_of_a_model_without_time_is_a_load_error(repo: Path) -> None:
    counter = repo / "models" / "counter.kdsl"
    counter.write_text("// expect: violated time_passes steps=1\n" + counter.read_text())
    code, out = ci()
    assert code == 2, out
    assert "expect 'time_passes': the model has no time (no `within`)" in out
