"""`kcheck ci`'s plan: every (model file, parameter set) to run, in a stable order, each with
the settings its `[[model]]` tables give it and the verdicts it is expected to have."""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import itertools
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from kcheck.ci.config import Config, ConfigError, DefineValue, Scalar, Settings
from kcheck.lang.imports import imported_texts
from kcheck.result import VIOLATED

# the models' own expectation, as tests/test_models.py reads it
EXPECT_LINE = re.compile(r"^// expect: (holds|violated (\w+) steps=(\d+))\s*$", re.M)


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
    # one instance of the model from Kubernetes manifests: its name and its YAML files
    manifest: str | None = None
    manifest_files: tuple[Path, ...] = ()

    @property
    def params(self) -> str:
        shown = [f"manifest={self.manifest}"] if self.manifest else []
        shown += [f"{k}={v}" for k, v in self.overrides.items()]
        return ", ".join(shown) or "-"

    @property
    def label(self) -> str:
        return f"{self.path} [{self.params}]" if self.params != "-" else self.path

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
            # the modules it imports (spec/language.md §13): editing one changes the answer
            "modules": imported_texts(str(self.file), self.text),
            "defines": sorted(self.overrides.items()),
            "manifests": [_text(f) for f in self.manifest_files],
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


def expand(base: Path, pattern: str) -> list[Path]:
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
        found = expand(config.base, pattern)
        if not found:
            raise ConfigError(f"{config.file}: models: {pattern!r} matches no file")
        files.update(dict.fromkeys(found))
    matched: list[set[Path]] = []
    for i, rule in enumerate(config.rules):
        found = expand(config.base, rule.path)
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
        instances: list[tuple[str | None, tuple[Path, ...]]] = [(None, ())]
        if settings.manifests:
            instances = _instances(config, settings.manifests)
        for (label, yamls), combo in itertools.product(instances, itertools.product(*choices)):
            overrides = dict(zip(names, combo, strict=True))
            jobs.append(Job(shown, file, text, overrides, settings, expectation, label, yamls))
    return jobs, failures


def _instances(config: Config, globs: tuple[str, ...]) -> list[tuple[str | None, tuple[Path, ...]]]:
    """Each file a glob names is one instance; a folder is one, made of its YAML files."""
    out: dict[str, tuple[Path, ...]] = {}
    for pattern in globs:
        full = pattern if Path(pattern).is_absolute() else str(config.base / pattern)
        hits = sorted(Path(p) for p in glob.glob(full))
        if not hits:
            raise ConfigError(f"{config.file}: manifests: {pattern!r} matches nothing")
        for hit in hits:
            files = (
                tuple(sorted(f for f in hit.iterdir() if f.suffix in (".yaml", ".yml")))
                if hit.is_dir()
                else (hit,)
            )
            shown = (
                hit.relative_to(config.base).as_posix()
                if hit.is_relative_to(config.base)
                else hit.as_posix()
            )
            out[shown] = files
    return list(out.items())


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:  # the load reports it; the key only has to differ
        return f"unreadable: {err}"


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
