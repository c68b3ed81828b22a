"""`kcheck ci`'s cache of results (`reports/cache.json`; not the compiled-model cache of
`kcheck.cache`): keyed on kcheck's own code, the model and its settings; each entry bound to its
key by a digest, and believed only once nothing in it contradicts itself or the model."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kcheck.ci.load import Loaded
from kcheck.ci.plan import Job
from kcheck.result import HOLDS, INCONCLUSIVE, NOT_CHECKED, VIOLATED, CheckResult, PropertyResult
from kcheck.result import Stats as _Stats
from kcheck.trace import Step, Trace

# 2: keyed on kcheck's code, not its version; each entry carries a digest of its content
CACHE_FORMAT = 2
STATUSES = (HOLDS, VIOLATED, INCONCLUSIVE, NOT_CHECKED)


def code_fingerprint(package: Path, grammar: str) -> str:
    """A sha256 of kcheck's own code: every source file of the package (Python, the native
    canonicaliser's C, the standard library's KDSL modules) and the grammar. Any change to them may change a verdict, so it is part
    of every cache key. Reading ~100 small files takes a few milliseconds, once per run."""
    h = hashlib.sha256()
    files = sorted(
        f
        for f in package.rglob("*")
        # (.kdsl: the standard library's modules, which models import)
        if f.suffix in (".py", ".c", ".lark", ".kdsl")
        and "__pycache__" not in f.parts
        and f.is_file()
    )
    for f in files:
        h.update(f.relative_to(package).as_posix().encode() + b"\0")
        h.update(f.read_bytes() + b"\0")
    h.update(b"grammar\0" + grammar.encode())
    return h.hexdigest()


def kcheck_fingerprint() -> str:
    import kcheck
    from kcheck.lang.parser import grammar_text

    return code_fingerprint(Path(kcheck.__file__).resolve().parent, grammar_text())


def digest(key: str, result: Any) -> str:
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
        "digest": digest(key, data),
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


def believe(entry: object, key: str, loaded: Loaded) -> CheckResult:
    """The cached result of `entry`, once nothing in it contradicts itself or the model: its
    digest matches, it lists exactly the properties a run reports, its verdict is the one its
    properties give, a holding property comes from a complete search, and every violation's
    counterexample replays through the model to the violation. Raises BadEntry."""
    from kcheck.explore.replay import TraceMismatch, check_counterexample

    if not isinstance(entry, dict) or not isinstance(entry.get("result"), dict):
        raise BadEntry("not a cache entry")
    data = entry["result"]
    if entry.get("digest") != digest(key, data):
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
    # (a timelock is a failed check of its own: the invariants beside it may hold)
    bounds = [p for p in result.properties if p.kind not in ("invariant", "property", "timelock")]
    for p in result.properties:
        if p.kind not in ("invariant", "property", "bound", "timelock"):
            raise BadEntry(f"{p.name}: unknown kind {p.kind!r}")
        if p.status != VIOLATED and p.trace is not None:
            raise BadEntry(f"{p.name} is {p.status} but has a counterexample")
        if p.status == HOLDS and (not result.complete or result.limit is not None or bounds):
            raise BadEntry(f"{p.name} holds, but the search it comes from was not complete")
        if p.kind == "bound" and (p.status != VIOLATED or not p.name.startswith("bound: ")):
            raise BadEntry(f"{p.name}: a bound entry that is not a violation")
        if p.kind == "timelock" and p.status != VIOLATED:
            raise BadEntry(f"{p.name}: a timelock entry that is not a violation")
        try:
            if p.status == VIOLATED:
                check_counterexample(loaded.model(), p)
        except TraceMismatch as err:
            raise BadEntry(f"the counterexample of {p.name} does not replay: {err}") from None
    return result
