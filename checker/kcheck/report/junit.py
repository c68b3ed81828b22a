"""JUnit XML for CI test tabs: one <testsuite> per model, one <testcase> per property. A
violation is a <failure> carrying the text counterexample; a property that was not decided
(inconclusive) or not checked at all is <skipped>, never a pass. See spec/reports.md."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from kcheck.report.text import format_trace
from kcheck.result import HOLDS, INCONCLUSIVE, NOT_CHECKED, VIOLATED, CheckResult, PropertyResult

# Characters XML 1.0 cannot carry at all, not even escaped; ElementTree would write them as they
# are and produce a file no parser reads, so they are shown as \xNN instead.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

_FAILURE_TYPE = {
    "invariant": "invariant-violated",
    "property": "property-violated",
    "bound": "bound-exceeded",
}


def _clean(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def case_name(p: PropertyResult) -> str:
    """`kind:name`; a bound's name already starts with `bound: `, which is not repeated."""
    name = p.name.removeprefix(f"{p.kind}: ")
    return f"{p.kind}:{name}"


def _steps(p: PropertyResult) -> str:
    n = len(p.trace) if p.trace is not None else 0
    return f"{n} step{'s' if n != 1 else ''}"


def _failure_message(p: PropertyResult) -> str:
    if p.kind == "bound":
        return f"the model left its bounds after {_steps(p)}: {p.reason or p.name}"
    return f"{p.kind} {p.name} is violated: counterexample of {_steps(p)}"


def _failure_text(p: PropertyResult, path: str) -> str:
    where = f"{path}:{p.line}: " if p.line else f"{path}: "
    lines = [f"{where}{_failure_message(p)}"]
    if p.trace is not None:
        lines.extend(format_trace(p.trace))
        if p.kind == "invariant":
            lines.append(f"  the last state violates {p.name}" + (":" if p.explanation else ""))
            lines.extend(f"    {x}" for x in p.explanation)
    return "\n".join(lines) + "\n"


def _seconds(s: float) -> str:
    return f"{s:.3f}"


def _suite(path: str, result: CheckResult) -> ET.Element:
    props = result.properties
    failures = sum(p.status == VIOLATED for p in props)
    skipped = sum(p.status in (INCONCLUSIVE, NOT_CHECKED) for p in props)
    suite = ET.Element(
        "testsuite",
        {
            "name": _clean(result.model),
            "tests": str(len(props)),
            "failures": str(failures),
            "errors": "0",
            "skipped": str(skipped),
            "time": _seconds(result.stats.seconds),
            "file": _clean(path),
        },
    )
    bag = ET.SubElement(suite, "properties")
    s = result.stats
    facts = [
        ("verdict", result.verdict),
        ("engine", result.engine),
        ("states", str(s.states)),
        ("transitions", str(s.transitions)),
        ("depth", str(s.depth)),
        ("complete", "true" if result.complete else "false"),
    ]
    if result.limit:
        facts.append(("limit", result.limit))
    for name, value in facts:
        ET.SubElement(bag, "property", {"name": name, "value": _clean(value)})
    for p in props:
        case = ET.SubElement(
            suite, "testcase", {"classname": _clean(path), "name": _clean(case_name(p))}
        )
        if p.line is not None:
            case.set("file", _clean(path))
            case.set("line", str(p.line))
        if p.status == VIOLATED:
            failure = ET.SubElement(
                case,
                "failure",
                {
                    "message": _clean(_failure_message(p)),
                    "type": _FAILURE_TYPE.get(p.kind, f"{p.kind}-violated"),
                },
            )
            failure.text = _clean(_failure_text(p, path))
        elif p.status in (INCONCLUSIVE, NOT_CHECKED):
            reason = f"{p.status}: {p.reason}" if p.reason else p.status
            ET.SubElement(case, "skipped", {"message": _clean(reason)})
        elif p.status != HOLDS:
            raise ValueError(f"unknown property status {p.status!r}")
    if result.notes:
        out = ET.SubElement(suite, "system-out")
        out.text = _clean("".join(f"note: {n}\n" for n in result.notes))
    return suite


def to_junit(results: Sequence[tuple[str, CheckResult]]) -> str:
    """The JUnit XML document for each (model path, result), as text ending in a newline."""
    suites = [_suite(path, result) for path, result in results]
    root = ET.Element(
        "testsuites",
        {
            "name": "kcheck",
            "tests": str(sum(int(s.get("tests", "0")) for s in suites)),
            "failures": str(sum(int(s.get("failures", "0")) for s in suites)),
            "errors": "0",
            "skipped": str(sum(int(s.get("skipped", "0")) for s in suites)),
            "time": _seconds(sum(r.stats.seconds for _, r in results)),
        },
    )
    root.extend(suites)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
