"""`kcheck ci`: the gate a repository's CI runs. Owns the configuration (`kcheck.toml`, or
`[tool.kcheck]` in `pyproject.toml`), the plan of runs (every model file times every parameter
set of its sweeps), the result cache, the comparison of each property's status with what is
expected, and the reports written for CI (JUnit, SARIF, Markdown). See docs/ci.md.

Like the rest of the CLI layer it talks to the terminal (through the `echo` it is given) and
picks the exit code: 0 everything as expected, 1 an unexpected verdict, 2 a configuration error
or a model that does not load."""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import io
import itertools
import json
import os
import re
import sys
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kcheck import __version__
from kcheck.lang.diagnostics import KcheckError, Source, render_all, suggest
from kcheck.result import HOLDS, INCONCLUSIVE, NOT_CHECKED, VIOLATED, CheckResult, PropertyResult
from kcheck.result import Stats as _Stats
from kcheck.trace import Step, Trace

EXIT_OK, EXIT_UNEXPECTED, EXIT_ERROR = 0, 1, 2
# 2: keyed on kcheck's code, not its version; each entry carries a digest of its content
CACHE_FORMAT = 2
STATUSES = (HOLDS, VIOLATED, INCONCLUSIVE, NOT_CHECKED)
ENGINES = ("explicit",)
EXPECTABLE = (HOLDS, VIOLATED, NOT_CHECKED)

OK, UNEXPECTED, SKIPPED = "OK", "UNEXPECTED", "SKIPPED"

# the models' own expectation, as tests/test_models.py reads it
EXPECT_LINE = re.compile(r"^// expect: (holds|violated (\w+) steps=(\d+))\s*$", re.M)
RANGE = re.compile(r"^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*$")

Scalar = int | str
DefineValue = Scalar | tuple[Scalar, ...]


class ConfigError(Exception):
    """A configuration that cannot be used; the message names the file and the key."""


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Settings:
    """What one run of one model is checked with. Every key but `models`, `out` and `path` can be
    set at the top level (for every model) and overridden in a `[[model]]` table."""

    engine: str = "explicit"
    max_states: int | None = None
    max_depth: int | None = None
    timeout: float | None = None
    symmetry: bool = True
    invariants: tuple[str, ...] | None = None
    properties: tuple[str, ...] | None = None
    defines: Mapping[str, DefineValue] = field(default_factory=dict)
    expect: Mapping[str, str] = field(default_factory=dict)

    def merged(self, partial: Mapping[str, Any]) -> Settings:
        """These settings with a table's keys applied; `defines` and `expect` are merged name by
        name, so a `[[model]]` table adds to the top-level ones."""
        changes = dict(partial)
        if "defines" in changes:
            changes["defines"] = {**self.defines, **changes["defines"]}
        if "expect" in changes:
            changes["expect"] = {**self.expect, **changes["expect"]}
        return replace(self, **changes)


@dataclass(frozen=True)
class ModelRule:
    """A `[[model]]` table: the settings it overrides for the files its `path` glob matches."""

    path: str
    settings: Mapping[str, Any]


@dataclass(frozen=True)
class Config:
    file: Path  # where it was read from
    base: Path  # globs and `out` are relative to this directory
    models: tuple[str, ...]
    out: str
    defaults: Settings
    rules: tuple[ModelRule, ...]


_SETTING_KEYS = (
    "engine",
    "max_states",
    "max_depth",
    "timeout",
    "symmetry",
    "invariants",
    "properties",
    "defines",
    "expect",
)
_TOP_KEYS = ("models", "out", "model", *_SETTING_KEYS)
_RULE_KEYS = ("path", *_SETTING_KEYS)


def find_config(config_path: str | None, cwd: Path) -> tuple[Path, dict[str, Any], str]:
    """The config file, its kcheck table and the prefix its keys are named with in messages."""
    if config_path is not None:
        path = Path(config_path)
        if not path.is_file():
            raise ConfigError(f"{config_path}: no such configuration file")
        data = _read_toml(path)
        if path.name == "pyproject.toml":
            table = (
                data.get("tool", {}).get("kcheck") if isinstance(data.get("tool"), dict) else None
            )
            if not isinstance(table, dict):
                raise ConfigError(f"{path}: no [tool.kcheck] table")
            return path, table, "tool.kcheck."
        return path, data, ""
    toml_file, pyproject = cwd / "kcheck.toml", cwd / "pyproject.toml"
    if toml_file.is_file():
        return toml_file, _read_toml(toml_file), ""
    if pyproject.is_file():
        data = _read_toml(pyproject)
        tool = data.get("tool")
        if isinstance(tool, dict) and isinstance(tool.get("kcheck"), dict):
            return pyproject, tool["kcheck"], "tool.kcheck."
    raise ConfigError(
        f"no kcheck configuration in {cwd}: found neither kcheck.toml nor a [tool.kcheck] table "
        "in pyproject.toml (see docs/ci.md), or pass --config FILE"
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read it: {err.strerror or err}") from None


def parse_config(path: Path, table: Mapping[str, Any], prefix: str = "") -> Config:
    """Validate the kcheck table read from `path`; every problem names the file and the key."""

    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"{path}: {prefix}{key}: {message}")

    _unknown_keys(table, _TOP_KEYS, "", fail)
    models = table.get("models", [])
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        raise fail("models", 'must be a list of globs, e.g. models = ["models/*.kdsl"]')
    out = table.get("out", "reports")
    if not isinstance(out, str) or not out:
        raise fail("out", f"must be a directory name, got {_show(out)}")
    defaults = Settings().merged(_settings(table, "", fail))
    raw_rules = table.get("model", [])
    if not isinstance(raw_rules, list) or not all(isinstance(r, dict) for r in raw_rules):
        raise fail("model", "must be an array of tables: write each one as [[model]]")
    rules: list[ModelRule] = []
    for i, raw in enumerate(raw_rules):
        where = f"model[{i}]."
        _unknown_keys(raw, _RULE_KEYS, where, fail)
        glob = raw.get("path")
        if not isinstance(glob, str) or not glob:
            raise fail(f"{where}path", "every [[model]] table needs a `path` glob")
        rules.append(ModelRule(glob, _settings(raw, where, fail)))
    if not models and not rules:
        raise fail("models", 'no models to check: set models = ["models/*.kdsl"]')
    return Config(path, path.parent, tuple(models), out, defaults, tuple(rules))


def _unknown_keys(
    table: Mapping[str, Any],
    known: Sequence[str],
    where: str,
    fail: Callable[[str, str], ConfigError],
) -> None:
    for key in table:
        if key not in known:
            hint = suggest(key, known)
            raise fail(
                f"{where}{key}",
                "unknown key" + (f"; {hint}" if hint else f" (known: {', '.join(known)})"),
            )


def _show(value: object) -> str:
    return (
        json.dumps(value) if isinstance(value, str | int | float | bool) else type(value).__name__
    )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _settings(
    table: Mapping[str, Any], where: str, fail: Callable[[str, str], ConfigError]
) -> dict[str, Any]:
    """The setting keys present in `table`, validated and converted."""
    out: dict[str, Any] = {}
    for key in _SETTING_KEYS:
        if key not in table:
            continue
        v = table[key]
        name = f"{where}{key}"
        if key == "engine":
            if v not in ENGINES:
                raise fail(
                    name,
                    f"engine {_show(v)} is not available in `kcheck ci`; "
                    f"only {', '.join(repr(e) for e in ENGINES)} is supported for now",
                )
            out[key] = v
        elif key in ("max_states", "max_depth"):
            least = 1 if key == "max_states" else 0
            if not _is_int(v) or v < least:
                raise fail(name, f"must be an integer of at least {least}, got {_show(v)}")
            out[key] = v
        elif key == "timeout":
            if not (_is_int(v) or isinstance(v, float)) or v <= 0:
                raise fail(name, f"must be a positive number of seconds, got {_show(v)}")
            out[key] = float(v)
        elif key == "symmetry":
            if not isinstance(v, bool):
                raise fail(name, f"must be true or false, got {_show(v)}")
            out[key] = v
        elif key in ("invariants", "properties"):
            if not isinstance(v, list) or not all(isinstance(n, str) for n in v):
                raise fail(name, f'must be a list of names, e.g. {key} = ["name"]')
            out[key] = tuple(v)
        elif key == "defines":
            out[key] = _defines(v, name, fail)
        elif key == "expect":
            if not isinstance(v, dict):
                raise fail(name, 'must be a table, e.g. expect = { name = "violated" }')
            for prop, status in v.items():
                if status not in EXPECTABLE:
                    raise fail(
                        f"{name}.{prop}",
                        f'must be "holds", "violated" or "not checked", got {_show(status)}',
                    )
            out[key] = dict(v)
    return out


def _defines(
    v: object, name: str, fail: Callable[[str, str], ConfigError]
) -> dict[str, DefineValue]:
    if not isinstance(v, dict):
        raise fail(name, "must be a table of NAME = value, e.g. defines = { MAX_PODS = 4 }")
    out: dict[str, DefineValue] = {}
    for const, value in v.items():
        key = f"{name}.{const}"
        if not const.isidentifier():
            raise fail(key, "is not a const or param name")
        if isinstance(value, list):
            if not value:
                raise fail(key, "an empty sweep runs nothing; give at least one value")
            out[const] = tuple(_scalar(x, key, fail) for x in value)
        elif isinstance(value, str) and RANGE.match(value):
            m = RANGE.match(value)
            assert m is not None
            lo, hi = int(m.group(1)), int(m.group(2))
            if lo > hi:
                raise fail(key, f"the range {value!r} is empty (write lo..hi with lo <= hi)")
            out[const] = tuple(range(lo, hi + 1))
        else:
            out[const] = _scalar(value, key, fail)
    return out


def _scalar(value: object, key: str, fail: Callable[[str, str], ConfigError]) -> Scalar:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isidentifier():
        return value  # an enum member, resolved against the param's enum
    raise fail(
        key,
        f"must be an integer, true/false, an enum member, a list of those or a 'lo..hi' range,"
        f" got {_show(value)}",
    )


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Expectation:
    statuses: Mapping[str, str]  # property -> holds / violated; any other checked one must hold
    steps: Mapping[str, int]  # property -> counterexample length, when it was stated
    origin: str  # "config", "expect line" or "default"


@dataclass(frozen=True)
class Job:
    """One model checked with one parameter set."""

    path: str  # as shown in reports: relative to the config's directory
    file: Path
    text: str
    overrides: Mapping[str, Scalar]
    settings: Settings
    expectation: Expectation

    @property
    def params(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.overrides.items()) or "-"

    @property
    def label(self) -> str:
        return f"{self.path} [{self.params}]" if self.overrides else self.path

    def selection(self) -> tuple[list[str] | None, list[str] | None]:
        """As `kcheck verify`: naming names of one sort checks none of the other sort."""
        inv, props = self.settings.invariants, self.settings.properties
        if inv is None and props is None:
            return None, None
        return list(inv or ()), list(props or ())

    def cache_key(self, code: str) -> str:
        """What the run's answer depends on: kcheck's own code (`code_fingerprint`; the version
        string does not change with every engine change), the model's text, its parameter
        values and every setting that changes what is checked or how far."""
        s = self.settings
        inv, props = self.selection()
        blob = {
            "code": code,
            "model": self.text,
            "defines": sorted(self.overrides.items()),
            "engine": s.engine,
            "symmetry": s.symmetry,
            "invariants": inv,
            "properties": props,
            "max_states": s.max_states,
            "max_depth": s.max_depth,
            "timeout": s.timeout,
        }
        return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class LoadFailure:
    path: str
    params: str
    message: str


def _expand(base: Path, pattern: str) -> list[Path]:
    """The files a glob names, relative to the config's folder unless it is absolute. A `**`
    follows symbolic links to folders, but enters each folder once: glob.glob would follow a
    link to a parent round and round (issue 12)."""
    if not pattern:
        return []
    full = pattern if Path(pattern).is_absolute() else str(base / pattern)
    if "**" not in full:
        return sorted(Path(p) for p in glob.glob(full) if Path(p).is_file())
    parts = Path(full).parts
    first = next(i for i, part in enumerate(parts) if _GLOB_MAGIC.search(part))
    root, rest = Path(*parts[:first]), parts[first:]
    found: list[Path] = []
    entered: set[tuple[int, int]] = set()
    for folder, subfolders, names in os.walk(root, followlinks=True):
        try:
            info = os.stat(folder)
        except OSError:
            subfolders[:] = []
            continue
        if (info.st_dev, info.st_ino) in entered:
            subfolders[:] = []  # a link back to a folder already walked
            continue
        entered.add((info.st_dev, info.st_ino))
        rel = Path(folder).relative_to(root).parts
        found += [Path(folder, n) for n in names if _glob_match((*rel, n), rest)]
    return sorted(p for p in found if p.is_file())


_GLOB_MAGIC = re.compile(r"[*?[]")


def _glob_match(names: tuple[str, ...], pats: tuple[str, ...]) -> bool:
    """glob's rules for path components: `**` is any number of folders, a name starting with
    `.` matches only a pattern that does."""
    if not pats:
        return not names
    pat = pats[0]
    if pat == "**":
        if _glob_match(names, pats[1:]):
            return True
        return bool(names) and not names[0].startswith(".") and _glob_match(names[1:], pats)
    if not names or (names[0].startswith(".") and not pat.startswith(".")):
        return False
    return fnmatch.fnmatchcase(names[0], pat) and _glob_match(names[1:], pats[1:])


def plan(config: Config) -> tuple[list[Job], list[LoadFailure]]:
    """Every (model file, parameter set) to run, in a stable order."""
    files: dict[Path, None] = {}
    for pattern in config.models:
        found = _expand(config.base, pattern)
        if not found:
            raise ConfigError(f"{config.file}: models: {pattern!r} matches no file")
        files.update(dict.fromkeys(found))
    matched: list[set[Path]] = []
    for i, rule in enumerate(config.rules):
        found = _expand(config.base, rule.path)
        if not found:
            raise ConfigError(f"{config.file}: model[{i}].path: {rule.path!r} matches no file")
        matched.append(set(found))
        files.update(dict.fromkeys(found))
    jobs: list[Job] = []
    failures: list[LoadFailure] = []
    for file in sorted(files):
        # shown relative to the config's folder when it lies inside it, else as configured
        shown = (
            file.relative_to(config.base).as_posix()
            if file.is_relative_to(config.base)
            else file.as_posix()
        )
        settings = config.defaults
        for rule, hits in zip(config.rules, matched, strict=True):
            if file in hits:
                settings = settings.merged(rule.settings)
        try:
            text = file.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as err:
            failures.append(LoadFailure(shown, "-", f"{shown}: cannot read it as UTF-8: {err}"))
            continue
        settings, expectation = _expectation(settings, text)
        names = list(settings.defines)
        choices = [_values(settings.defines[n]) for n in names]
        for combo in itertools.product(*choices):
            jobs.append(
                Job(shown, file, text, dict(zip(names, combo, strict=True)), settings, expectation)
            )
    return jobs, failures


def _values(v: DefineValue) -> tuple[Scalar, ...]:
    return v if isinstance(v, tuple) else (v,)


def _expectation(settings: Settings, text: str) -> tuple[Settings, Expectation]:
    """The config's `expect`; failing that the model's `// expect: violated NAME steps=N` line,
    which (as in the test suite) also narrows the check to NAME when no selection is set."""
    if settings.expect:
        return settings, Expectation(dict(settings.expect), {}, "config")
    m = EXPECT_LINE.search(text)
    if m is None or m.group(2) is None:
        return settings, Expectation({}, {}, "expect line" if m else "default")
    name, steps = m.group(2), int(m.group(3))
    if settings.invariants is None and settings.properties is None:
        # an invariant or a temporal property? Both sorts are selected by name; the run
        # resolves which one the model has (see _selection_for).
        settings = replace(settings, invariants=(name,), properties=(name,))
    return settings, Expectation({name: VIOLATED}, {name: steps}, "expect line")


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class Run:
    job: Job
    result: CheckResult
    names: tuple[str, ...]  # every invariant and temporal property the model declares
    cached: bool


def code_fingerprint(package: Path, grammar: str) -> str:
    """A sha256 of kcheck's own code: every source file of the package (Python, the native
    canonicaliser's C) and the grammar. Any change to them may change a verdict, so it is part
    of every cache key. Reading ~100 small files takes a few milliseconds, once per run."""
    h = hashlib.sha256()
    files = sorted(
        f
        for f in package.rglob("*")
        if f.suffix in (".py", ".c", ".lark") and "__pycache__" not in f.parts and f.is_file()
    )
    for f in files:
        h.update(f.relative_to(package).as_posix().encode() + b"\0")
        h.update(f.read_bytes() + b"\0")
    h.update(b"grammar\0" + grammar.encode())
    return h.hexdigest()


def _kcheck_fingerprint() -> str:
    import kcheck
    from kcheck.lang.parser import grammar_text

    return code_fingerprint(Path(kcheck.__file__).resolve().parent, grammar_text())


def _digest(key: str, result: Any) -> str:
    """Binds a cached result to its key: an entry edited by hand, damaged, or moved under
    another key no longer matches (a check of integrity, not a signature)."""
    blob = json.dumps({"key": key, "result": result}, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def cache_entry(job: Job, key: str, result: CheckResult) -> dict[str, Any]:
    data = result.to_json()
    return {
        "model": job.path,
        "defines": dict(job.overrides),
        "result": data,
        "digest": _digest(key, data),
    }


class BadEntry(Exception):
    """A cache entry that cannot be believed; the message says why."""


def _result_from_json(data: Mapping[str, Any]) -> CheckResult:
    """Rebuild a CheckResult from `CheckResult.to_json()`: enough for every report. Raises
    BadEntry on anything but what to_json writes."""

    def need(value: Any, kind: type | tuple[type, ...], what: str) -> Any:
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise BadEntry(f"malformed: {what} is not what kcheck writes")
        return value

    props: list[PropertyResult] = []
    for p in need(data["properties"], list, "properties"):
        need(p, dict, "a property")
        trace = None
        if p.get("trace") is not None:
            steps = []
            for s in need(p["trace"], list, "a trace"):
                need(s, dict, "a step")
                steps.append(
                    Step(
                        need(s["action"], (str, type(None)), "an action"),
                        need(s["args"], dict, "arguments"),
                        need(s["state"], (dict, type(None)), "a state"),
                        need(s.get("error"), (str, type(None)), "an error"),
                        need(s.get("line"), (int, type(None)), "a line"),
                    )
                )
            renames = need(p.get("loop_renames", {}), dict, "loop_renames")
            trace = Trace(
                tuple(steps),
                need(p.get("loop_start"), (int, type(None)), "loop_start"),
                tuple(need(p.get("waiting", []), list, "waiting")),
                tuple(renames.items()),
            )
        status = need(p["status"], str, "a status")
        if status not in STATUSES:
            raise BadEntry(f"malformed: unknown status {status!r}")
        props.append(
            PropertyResult(
                need(p["name"], str, "a name"),
                need(p["kind"], str, "a kind"),
                status,
                need(p["line"], (int, type(None)), "a line"),
                trace,
                need(p.get("reason"), (str, type(None)), "a reason"),
                need(p.get("engine"), (str, type(None)), "an engine"),
            )
        )
    st = need(data["stats"], dict, "stats")
    stats = _Stats(
        need(st["states"], int, "stats"),
        need(st["transitions"], int, "stats"),
        need(st["depth"], int, "stats"),
        need(st["seconds"], (int, float), "stats"),
    )
    return CheckResult(
        need(data["model"], str, "the model"),
        need(data["engine"], str, "the engine"),
        stats,
        props,
        need(data["complete"], bool, "complete"),
        need(data["limit"], (str, type(None)), "the limit"),
        list(need(data["notes"], list, "notes")),
    )


def load_cache(path: Path) -> tuple[dict[str, Any], str | None]:
    """The cache's entries, and a note when a cache file exists but is not used: a missing
    cache is simply empty; an unreadable, damaged or outdated one is ignored, never trusted."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, None
    except (OSError, UnicodeDecodeError) as err:
        return {}, f"cannot read it ({err}); checking every model"
    try:
        data = json.loads(text)
    except ValueError:
        return {}, "not valid JSON; ignored, checking every model"
    if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
        return {}, "not a kcheck cache; ignored, checking every model"
    if data.get("format") != CACHE_FORMAT:
        return {}, "written by another kcheck version; ignored, checking every model"
    return data["entries"], None


class _Loaded:
    """A job's model, checked, and what a run of it reports. It is compiled only when needed
    (to explore it, or to replay a cached counterexample): compiling is most of the cost of a
    cached run, and a cached "holds" needs only the names."""

    def __init__(
        self,
        symbols: Any,  # kcheck.lang.symbols.Symbols
        symmetry: bool,
        invariants: list[str] | None,
        properties: list[str] | None,
    ) -> None:
        self.symbols = symbols
        self.symmetry = symmetry
        self.inv_names = [i.name for i in symbols.invariants]
        self.prop_names = [p.name for p in symbols.properties]
        self.names = (*self.inv_names, *self.prop_names)
        self.invariants = invariants
        self.properties = properties
        self._model: Any = None

    def model(self) -> Any:  # CompiledModel
        from kcheck.model.compile import compile_model

        if self._model is None:
            self._model = compile_model(self.symbols, symmetry=self.symmetry)
        return self._model


def _load(job: Job) -> _Loaded | LoadFailure:
    from kcheck.lang.frontend import check_source

    source = Source(job.path, job.text)
    try:
        checked = check_source(source, job.overrides)
    except KcheckError as err:
        return LoadFailure(job.path, job.params, render_all(err.diagnostics, source))
    inv_names = [i.name for i in checked.symbols.invariants]
    prop_names = [p.name for p in checked.symbols.properties]
    names = (*inv_names, *prop_names)
    invariants, properties = job.selection()
    if job.expectation.origin == "expect line" and invariants == properties == [
        *job.expectation.statuses
    ]:
        # the expect line's NAME: check it as whichever sort the model declares it
        invariants = [n for n in invariants if n in inv_names]
        properties = [n for n in properties if n in prop_names]
    problems = [
        f"{sort} {n!r}: the model has no {sort} `{n}`"
        + (f"; {h}" if (h := suggest(n, pool)) else "")
        for sort, chosen, pool in (
            ("invariant", invariants, inv_names),
            ("property", properties, prop_names),
        )
        for n in chosen or ()
        if n not in pool
    ]
    problems += [
        f"expect {n!r}: the model has no invariant or property `{n}`"
        + (f"; {h}" if (h := suggest(n, names)) else "")
        for n in job.expectation.statuses
        if n not in names and not n.startswith("bound: ")
    ]
    if problems:
        return LoadFailure(job.path, job.params, "\n".join(f"{job.label}: {p}" for p in problems))
    return _Loaded(checked.symbols, job.settings.symmetry, invariants, properties)


def _believe(entry: object, key: str, loaded: _Loaded) -> CheckResult:
    """The cached result of `entry`, once nothing in it contradicts itself or the model: its
    digest matches, it lists exactly the properties a run reports, its verdict is the one its
    properties give, a holding property comes from a complete search, and every violation's
    counterexample replays through the model to the violation. Raises BadEntry."""
    from kcheck.explore.replay import TraceMismatch, check_counterexample

    if not isinstance(entry, dict) or not isinstance(entry.get("result"), dict):
        raise BadEntry("not a cache entry")
    data = entry["result"]
    if entry.get("digest") != _digest(key, data):
        raise BadEntry("its content does not match its digest (edited or damaged)")
    try:
        result = _result_from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise BadEntry(f"malformed ({type(err).__name__}: {err})") from None
    if data.get("verdict") != result.verdict:
        raise BadEntry(f"it says {data.get('verdict')!r}, its properties say {result.verdict!r}")
    if result.engine != "explicit":
        raise BadEntry(f"it comes from the {result.engine!r} engine, not the explicit one")
    want_inv = loaded.invariants if loaded.invariants is not None else loaded.inv_names
    want_props = [
        n for n in loaded.prop_names if loaded.properties is None or n in loaded.properties
    ]
    got_inv = [p.name for p in result.properties if p.kind == "invariant"]
    got_props = [p.name for p in result.properties if p.kind == "property"]
    # (in any order: properties under `forall` come from a search of their own, after the rest)
    if sorted(got_inv) != sorted(want_inv) or sorted(got_props) != sorted(want_props):
        raise BadEntry("it does not list the properties this run checks")
    bounds = [p for p in result.properties if p.kind not in ("invariant", "property")]
    for p in result.properties:
        if p.kind not in ("invariant", "property", "bound"):
            raise BadEntry(f"{p.name}: unknown kind {p.kind!r}")
        if p.status != VIOLATED and p.trace is not None:
            raise BadEntry(f"{p.name} is {p.status} but has a counterexample")
        if p.status == HOLDS and (not result.complete or result.limit is not None or bounds):
            raise BadEntry(f"{p.name} holds, but the search it comes from was not complete")
        if p.kind == "bound" and (p.status != VIOLATED or not p.name.startswith("bound: ")):
            raise BadEntry(f"{p.name}: a bound entry that is not a violation")
        try:
            if p.status == VIOLATED:
                check_counterexample(loaded.model(), p)
        except TraceMismatch as err:
            raise BadEntry(f"the counterexample of {p.name} does not replay: {err}") from None
    return result


def run_job(
    job: Job, cache: Mapping[str, Any], code: str, note: Callable[[str], None]
) -> Run | LoadFailure:
    """Check one job, or take its result from the cache when kcheck's code, the model, its
    parameters and the settings are unchanged and the entry survives `_believe`; an entry
    that does not is ignored (with a note) and the model checked again."""
    from kcheck.explore.bfs import Limits, explore

    loaded = _load(job)
    if isinstance(loaded, LoadFailure):
        return loaded
    key = job.cache_key(code)
    if key in cache:
        try:
            return Run(job, _believe(cache[key], key, loaded), loaded.names, True)
        except BadEntry as err:
            note(f"the cached result of {job.label} is ignored: {err}; checking it again")
    s = job.settings
    model = loaded.model()
    result = explore(
        model,
        invariants=loaded.invariants,
        properties=loaded.properties,
        symmetry=s.symmetry,
        limits=Limits(s.max_states, s.max_depth, s.timeout),
    ).account_for(model.asked(loaded.invariants, loaded.properties), "the explicit engine")
    return Run(job, result, loaded.names, False)


# --------------------------------------------------------------------------- comparing


@dataclass(frozen=True)
class Row:
    path: str
    params: str
    prop: str
    expected: str
    got: str
    outcome: str  # OK, UNEXPECTED, SKIPPED
    note: str = ""
    kind: str = ""


def compare(run: Run) -> list[Row]:
    """One row per property checked, plus one per expected property that was not reported."""
    exp = run.job.expectation
    rows: list[Row] = []
    seen: set[str] = set()
    for p in run.result.properties:
        seen.add(p.name)
        stated = exp.statuses.get(p.name)
        expected = stated or HOLDS
        got = p.status
        n = len(p.trace) if p.trace is not None else None
        if got == VIOLATED and n is not None:
            got_shown = f"violated ({n} step{'s' if n != 1 else ''})"
        else:
            got_shown = got
        note = ""
        if got == NOT_CHECKED and stated == NOT_CHECKED:
            # the configuration acknowledges it: shown as skipped, never as a pass
            outcome, note = SKIPPED, p.reason or "not checked"
        elif got == NOT_CHECKED:
            # a gate passes only what was checked (spec/promises.md)
            outcome = UNEXPECTED
            note = (
                f"not checked: {p.reason or 'the engine did not check it'}; "
                f'to accept that, set expect = {{ {p.name} = "not checked" }}'
            )
        elif got == expected == VIOLATED:
            want = exp.steps.get(p.name)
            if want is not None and n != want:
                outcome = UNEXPECTED
                note = f"the counterexample has {n} steps, {want} expected"
            else:
                outcome = OK
        elif got == expected:
            outcome = OK
        elif got == HOLDS:
            outcome, note = UNEXPECTED, "fixed? update the expectation"
        elif got == VIOLATED:
            outcome, note = UNEXPECTED, "a violation that is not expected"
        else:
            outcome, note = UNEXPECTED, f"{got}: {p.reason}" if p.reason else got
        exp_shown = expected + (f" ({exp.steps[p.name]} steps)" if p.name in exp.steps else "")
        rows.append(
            Row(run.job.path, run.job.params, p.name, exp_shown, got_shown, outcome, note, p.kind)
        )
    for name, status in exp.statuses.items():
        if name in seen:
            continue
        if status == VIOLATED:
            # an expected bound error that no longer happens, or a property not selected
            checked = name.startswith("bound: ") or run.result.complete
            note = (
                "fixed? update the expectation"
                if checked
                else "not reported (the search stopped early)"
            )
            got = HOLDS if checked else "not reported"
            rows.append(Row(run.job.path, run.job.params, name, status, got, UNEXPECTED, note))
    return rows


def _present(run: Run) -> CheckResult:
    """The result as the reports show it: a sweep's runs named apart by their parameters."""
    if not run.job.overrides:
        return run.result
    return replace(run.result, model=f"{run.result.model} [{run.job.params}]")


def _gate_junit(text: str, runs: Sequence[Run], rows: Sequence[Row]) -> str:
    """The JUnit document with the expectations applied: an expected violation passes (its
    counterexample kept as output), an unexpected outcome fails, whatever its status."""
    root = ET.fromstring(text)
    by_suite = {_present(r).model: r for r in runs}
    outcome = {(r.path, r.params, r.prop): r for r in rows}
    for suite in root.iter("testsuite"):
        run = by_suite.get(suite.get("name", ""))
        if run is None:
            continue
        kinds = {_case(p): p.name for p in run.result.properties}
        for case in suite.iter("testcase"):
            name = kinds.get(case.get("name", ""))
            row = outcome.get((run.job.path, run.job.params, name or ""))
            if row is None:
                continue
            failure, skipped = case.find("failure"), case.find("skipped")
            if row.outcome == OK and failure is not None:
                case.remove(failure)
                out = ET.SubElement(case, "system-out")
                out.text = f"expected violation (known bug):\n{failure.text or ''}"
            elif row.outcome == UNEXPECTED and failure is None:
                if skipped is not None:
                    case.remove(skipped)
                ET.SubElement(
                    case,
                    "failure",
                    {
                        "message": f"expected {row.expected}, got {row.got}: {row.note}",
                        "type": "unexpected-verdict",
                    },
                )
        for name in ("failures", "skipped"):
            tag = "failure" if name == "failures" else "skipped"
            suite.set(name, str(sum(1 for c in suite.iter("testcase") if c.find(tag) is not None)))
    for name in ("failures", "skipped"):
        root.set(name, str(sum(int(s.get(name, "0")) for s in root.iter("testsuite"))))
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _case(p: PropertyResult) -> str:
    from kcheck.report.junit import case_name

    return case_name(p)


# --------------------------------------------------------------------------- output


@dataclass(frozen=True)
class Totals:
    runs: int
    cached: int
    ok: int
    unexpected: int
    skipped: int
    errors: int

    def line(self) -> str:
        parts = [
            f"{self.ok + self.unexpected + self.skipped} checks: {self.ok} OK",
            f"{self.unexpected} UNEXPECTED",
        ]
        if self.skipped:
            parts.append(f"{self.skipped} skipped (not checked)")
        if self.errors:
            parts.append(f"{self.errors} not loaded")
        return (
            ", ".join(parts)
            + f"; {self.runs} runs, {self.cached} cached"
            + (" (--no-cache to re-check)" if self.cached else "")
        )


_COLUMNS = ("model", "parameters", "property", "expected", "got", "result")


def _cells(row: Row) -> tuple[str, ...]:
    result = row.outcome + (f" ({row.note})" if row.note and row.outcome != OK else "")
    return (row.path, row.params, row.prop, row.expected, row.got, result)


def format_table(rows: Sequence[Row], colour: bool) -> str:
    """The summary table: rich when it is installed (colours only when asked), else plain."""
    try:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text
    except ImportError:  # pragma: no cover - rich is a dependency; plain text is the fallback
        return _plain_table(rows)
    table = Table(show_lines=False)
    for col in _COLUMNS:
        table.add_column(col)
    style = {OK: "green", UNEXPECTED: "bold red", SKIPPED: "yellow"}
    for row in rows:
        # Text, not markup: a name from a model must never be read as rich's [style] syntax
        cells = [Text(c) for c in _cells(row)]
        table.add_row(*cells, style=style[row.outcome] if colour else None)
    buf = io.StringIO()
    console = Console(
        file=buf,
        force_terminal=colour,
        no_color=not colour,
        width=max(100, _terminal_width()) if colour else 160,
        highlight=False,
    )
    console.print(table)
    return buf.getvalue().rstrip("\n")


def _terminal_width() -> int:
    import shutil

    return shutil.get_terminal_size((120, 24)).columns


def _plain_table(rows: Sequence[Row]) -> str:
    cells = [_COLUMNS, *(_cells(r) for r in rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(_COLUMNS))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells
    )


def _markdown(
    rows: Sequence[Row], failures: Sequence[LoadFailure], totals: Totals, detail: str
) -> str:
    from kcheck.report.markdown import cell

    bad = totals.unexpected or totals.errors
    head = "❌ unexpected verdicts" if bad else "✅ every verdict as expected"
    lines = [f"# kcheck ci: {head}", "", totals.line(), ""]
    lines += [
        "| " + " | ".join(_COLUMNS) + " |",
        "| " + " | ".join("---" for _ in _COLUMNS) + " |",
    ]
    mark = {OK: "✅ OK", UNEXPECTED: "❌ UNEXPECTED", SKIPPED: "➖ SKIPPED"}
    for r in rows:
        result = mark[r.outcome] + (f": {cell(r.note)}" if r.note and r.outcome != OK else "")
        lines.append(
            f"| {cell(r.path)} | {cell(r.params)} | {cell(r.prop)} | {cell(r.expected)}"
            f" | {cell(r.got)} | {result} |"
        )
    for f in failures:
        lines += ["", f"**{cell(f.path)}** ({cell(f.params)}) does not load:", "", "```"]
        lines += [f.message.replace("```", "``\u200b`"), "```"]
    lines += ["", detail.replace("## kcheck:", "## kcheck details:", 1)]
    return "\n".join(lines).rstrip("\n") + "\n"


# --------------------------------------------------------------------------- the command


def run_ci(
    config_path: str | None,
    out_dir: str | None,
    no_cache: bool,
    echo: Callable[[str], None],
) -> int:
    """Check every configured model and parameter set, print the summary, write the reports
    and return the exit code: 0 all as expected, 1 an unexpected verdict, 2 a configuration
    error or a model that does not load."""
    try:
        file, table, prefix = find_config(config_path, Path.cwd())
        config = parse_config(file, table, prefix)
        jobs, failures = plan(config)
    except ConfigError as err:
        echo(f"kcheck: error: {err}")
        return EXIT_ERROR
    out = Path(out_dir) if out_dir is not None else config.base / config.out
    cache_file = out / "cache.json"
    cache: dict[str, Any] = {}
    if not no_cache:
        cache, why = load_cache(cache_file)
        if why:
            echo(f"kcheck: note: {_shown_dir(out)}cache.json: {why}")
    code = _kcheck_fingerprint()
    runs: list[Run] = []
    new_cache: dict[str, Any] = {}
    for job in jobs:
        done = run_job(job, cache, code, lambda text: echo(f"kcheck: note: {text}"))
        if isinstance(done, LoadFailure):
            failures.append(done)
            continue
        runs.append(done)
        if done.result.limit is None or not done.result.limit.startswith("timeout"):
            # a timeout depends on the machine's speed, so its answer is not reusable
            key = job.cache_key(code)
            new_cache[key] = cache_entry(job, key, done.result)
    for f in failures:
        echo(f"kcheck: error: {f.path} ({f.params}) does not load:\n{f.message}")
    rows = [row for r in runs for row in compare(r)]
    totals = Totals(
        runs=len(runs),
        cached=sum(r.cached for r in runs),
        ok=sum(r.outcome == OK for r in rows),
        unexpected=sum(r.outcome == UNEXPECTED for r in rows),
        skipped=sum(r.outcome == SKIPPED for r in rows),
        errors=len(failures),
    )
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    if rows:
        echo(format_table(rows, colour))
    echo(totals.line())
    written = _write_reports(out, runs, rows, failures, totals, new_cache)
    if isinstance(written, str):
        echo(f"kcheck: error: {written}")
        return EXIT_ERROR
    echo(f"reports written to {_shown_dir(out)} (junit.xml, kcheck.sarif, summary.md)")
    if failures:
        return EXIT_ERROR
    return EXIT_UNEXPECTED if totals.unexpected else EXIT_OK


def _shown_dir(out: Path) -> str:
    try:
        return out.resolve().relative_to(Path.cwd().resolve()).as_posix() + "/"
    except ValueError:
        return f"{out}/"


def _write_reports(
    out: Path,
    runs: Sequence[Run],
    rows: Sequence[Row],
    failures: Sequence[LoadFailure],
    totals: Totals,
    cache: Mapping[str, Any],
) -> str | None:
    """Write every report and the cache; an error message when one cannot be written."""
    from kcheck.report.junit import to_junit
    from kcheck.report.markdown import to_markdown
    from kcheck.report.sarif import to_sarif

    shown = [(r.job.path, _present(r)) for r in runs]
    summary = _markdown(rows, failures, totals, to_markdown(shown) if shown else "")
    files = {
        "junit.xml": _gate_junit(to_junit(shown), runs, rows),
        "kcheck.sarif": json.dumps(to_sarif(shown, __version__), indent=2, ensure_ascii=False)
        + "\n",
        "summary.md": summary,
        "cache.json": json.dumps(
            {"format": CACHE_FORMAT, "kcheck": __version__, "entries": cache}, indent=1
        )
        + "\n",
    }
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (out / name).write_text(text, encoding="utf-8")
        step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if step_summary:
            with open(step_summary, "a", encoding="utf-8") as f:
                f.write(summary)
    except OSError as err:
        return f"cannot write the reports in {out}: {err.strerror or err}"
    return None
