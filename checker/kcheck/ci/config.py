"""`kcheck ci`'s configuration: finds `kcheck.toml` (or `[tool.kcheck]` in `pyproject.toml`)
and validates it into a `Config`; every problem is a ConfigError naming the file and the key."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kcheck.explore.bfs import MAX_THREADS
from kcheck.lang.diagnostics import suggest
from kcheck.result import HOLDS, NOT_CHECKED, VIOLATED

ENGINES = ("explicit",)
EXPECTABLE = (HOLDS, VIOLATED, NOT_CHECKED)

RANGE = re.compile(r"^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*$")

Scalar = int | str
DefineValue = Scalar | tuple[Scalar, ...]


class ConfigError(Exception):
    """A configuration that cannot be used; the message names the file and the key."""


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class SimulateGate:
    """`simulate = { traces = N, depth = D, seed = S, every_action = true, every_branch =
    false }`: random walks of the model (spec/simulate.md) whose coverage is gated: with
    `every_action`, an action no walk fired is a failure; with `every_branch`, a branch no walk
    took or a guard conjunct that never held."""

    traces: int = 1000
    depth: int = 50
    seed: int = 0
    every_action: bool = True
    every_branch: bool = False


@dataclass(frozen=True)
class Settings:
    """What one run of one model is checked with. Every key but `models`, `out` and `path` can be
    set at the top level (for every model) and overridden in a `[[model]]` table."""

    engine: str = "explicit"
    max_states: int | None = None
    max_depth: int | None = None
    timeout: float | None = None
    # threads of the explicit search (`kcheck verify --threads`): the same answer whatever the
    # number, so the verdict cache does not key on it
    threads: int = 1
    symmetry: bool = True
    invariants: tuple[str, ...] | None = None
    properties: tuple[str, ...] | None = None
    defines: Mapping[str, DefineValue] = field(default_factory=dict)
    expect: Mapping[str, str] = field(default_factory=dict)
    # globs of Kubernetes manifests (spec/manifests.md): each file, or each folder's YAML files
    # together, is one instance of the model
    manifests: tuple[str, ...] = ()
    simulate: SimulateGate | None = None

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
    "threads",
    "symmetry",
    "invariants",
    "properties",
    "defines",
    "expect",
    "manifests",
    "simulate",
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
        "in pyproject.toml (see `kcheck docs ci`), or pass --config FILE"
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
        elif key == "threads":
            if not _is_int(v) or not 1 <= v <= MAX_THREADS:
                raise fail(name, f"must be an integer from 1 to {MAX_THREADS}, got {_show(v)}")
            out[key] = v
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
        elif key == "manifests":
            if not isinstance(v, list) or not v or not all(isinstance(g, str) and g for g in v):
                raise fail(name, 'must be a list of globs, e.g. manifests = ["deploy/*.yaml"]')
            out[key] = tuple(v)
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
        elif key == "simulate":
            out[key] = _simulate(v, name, fail)
    return out


def _simulate(v: object, name: str, fail: Callable[[str, str], ConfigError]) -> SimulateGate:
    example = "e.g. simulate = { traces = 1000, depth = 50, every_action = true }"
    if not isinstance(v, dict):
        raise fail(name, f"must be a table, {example}")
    fields = {"traces": 1, "depth": 0, "seed": None, "every_action": None, "every_branch": None}
    for k, value in v.items():
        if k not in fields:
            raise fail(f"{name}.{k}", f"unknown key; the keys are {', '.join(fields)}")
        least = fields[k]
        if k in ("every_action", "every_branch"):
            if not isinstance(value, bool):
                raise fail(f"{name}.{k}", f"must be true or false, got {_show(value)}")
        elif not _is_int(value) or (least is not None and value < least):
            at_least = f" of at least {least}" if least is not None else ""
            raise fail(f"{name}.{k}", f"must be an integer{at_least}, got {_show(value)}")
    return SimulateGate(**v)


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
