"""JUnit XML: golden files for the real models, a document every XML parser reads, counts that
match the cases, violations as failures with the text counterexample, undecided and unchecked
properties as skipped (never passed), and hostile model text escaped.

Regenerate the golden files with `KCHECK_UPDATE_GOLDEN=1 pytest tests/report/test_junit.py`."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import PurePosixPath

import pytest

from kcheck.report.junit import to_junit
from kcheck.result import INCONCLUSIVE, NOT_CHECKED
from tests.report import GOLDEN, HOSTILE, MODELS, check_golden, hostile_result, verified


@pytest.mark.parametrize("path", MODELS, ids=[PurePosixPath(m).stem for m in MODELS])
def test_junit_of_each_model_matches_its_golden_file(path: str) -> None:
    name = PurePosixPath(path).stem
    check_golden(GOLDEN / "junit" / f"{name}.xml", to_junit([(path, verified(path))]))


def test_junit_counts_match_the_cases_and_statuses() -> None:
    results = [(p, verified(p)) for p in MODELS]
    root = ET.fromstring(to_junit(results))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [r.model for _, r in results]
    for suite, (path, result) in zip(suites, results, strict=True):
        cases = suite.findall("testcase")
        assert suite.get("tests") == str(len(cases)) == str(len(result.properties))
        assert suite.get("failures") == str(len(suite.findall("testcase/failure")))
        assert suite.get("skipped") == str(len(suite.findall("testcase/skipped")))
        assert suite.get("errors") == "0"
        assert {c.get("classname") for c in cases} == {path}
    assert root.get("tests") == str(sum(len(r.properties) for _, r in results))


def test_a_violated_invariant_is_a_failure_carrying_the_text_trace() -> None:
    path = MODELS[0]
    root = ET.fromstring(to_junit([(path, verified(path))]))
    case = root.find(".//testcase[@name='invariant:never_too_many_live']")
    assert case is not None
    assert case.get("line") == "66"
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("type") == "invariant-violated"
    assert (
        failure.get("message")
        == "invariant never_too_many_live is violated: counterexample of 3 steps"
    )
    text = failure.text or ""
    assert text.startswith(f"{path}:66: ")
    assert "replicaset.scale_up(rs=ReplicaSet#0)   (line 35)" in text
    assert "the last state violates never_too_many_live:\n    forall rs in ReplicaSet" in text
    assert text.rstrip().endswith("rs.replicas = 2")


def test_a_bound_error_is_a_failure_of_its_own_type_without_a_doubled_prefix() -> None:
    root = ET.fromstring(to_junit([(MODELS[0], verified(MODELS[0]))]))
    case = root.find(".//testcase[@name='bound:no-free-slot in replicaset.scale_up']")
    assert case is not None
    failure = case.find("failure")
    assert failure is not None and failure.get("type") == "bound-exceeded"
    assert "error: create Pod: all 5 slots are in use" in (failure.text or "")


def test_inconclusive_and_not_checked_are_skipped_never_passed() -> None:
    root = ET.fromstring(to_junit([(MODELS[0], verified(MODELS[0]))]))
    undecided = root.find(".//testcase[@name='invariant:pods_fit']/skipped")
    assert undecided is not None
    assert (undecided.get("message") or "").startswith(
        "inconclusive: a step left the model's bounds"
    )
    result = hostile_result()
    kept = [p for p in result.properties if p.status in (INCONCLUSIVE, NOT_CHECKED)]
    result.properties[:] = [replace(p, name="p", reason="why") for p in kept]
    cases = ET.fromstring(to_junit([("m.kdsl", result)])).findall(".//testcase")
    assert [c.find("skipped").get("message") for c in cases] == [  # type: ignore[union-attr]
        "inconclusive: why",
        "not checked: why",
    ]
    assert all(c.find("failure") is None for c in cases)


def test_hostile_model_text_is_escaped_and_survives_a_round_trip() -> None:
    xml = to_junit([(f"dir/{HOSTILE}.kdsl", hostile_result())])
    assert "\x1b" not in xml  # not representable in XML 1.0, shown as \x1b instead
    root = ET.fromstring(xml)  # parses: nothing unescaped broke the document
    readable = HOSTILE.replace("\x1b", "\\x1b")
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("name") == f"m{readable}"
    names = [c.get("name") for c in suite.findall("testcase")]
    assert names[0] == f"invariant:inv{readable}"
    assert names[1] == f"bound:{readable}"
    failure = suite.find("testcase/failure")
    assert failure is not None
    assert f"arg={readable}" in (failure.text or "")
    out = suite.find("system-out")
    assert out is not None and out.text == f"note: note {readable}\n"
    assert (
        suite.get("skipped") == "2" and suite.get("failures") == "2" and suite.get("tests") == "5"
    )


def test_an_empty_run_is_still_a_valid_document() -> None:
    root = ET.fromstring(to_junit([]))
    assert root.get("tests") == "0" and root.findall("testsuite") == []
