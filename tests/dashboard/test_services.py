"""The service kind in the cluster picture (a box per service listing the pods it selects, each
ready or not as `kcheck run` reads readiness), and the coverage of a `kcheck simulate` report
opened on the page. The expected endpoints are derived here from the state the view shows."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner
from starlette.testclient import TestClient

from kcheck.cli.main import main
from kcheck.dashboard.app import create_app
from kcheck.dashboard.session import Session
from kcheck.explore.simulate import SimOptions, simulate
from tests.dashboard.conftest import MODELS, STALE, report_of, session_of, session_of_text

RUN_SERVICE = MODELS / "run_service.kdsl"
MAX_STEPS = 12  # every walk below is bounded


def take(c: TestClient, view: dict[str, Any], action: str, **args: Any) -> dict[str, Any]:
    for a in view["enabled"]:
        if a["action"] == action and all(a["args"].get(k) == v for k, v in args.items()):
            answer: dict[str, Any] = c.post(
                "/api/take", json={"index": a["index"], "at": view["cursor"]}
            ).json()
            return answer
    raise AssertionError(f"{action} {args} is not enabled")


def expected(state: dict[str, Any]) -> dict[str, list[tuple[str, bool]]]:
    """run_service's endpoints from its state: the pods whose app is the service's selector,
    ready when Running and Ready (spec/run.md)."""
    return {
        name: [
            (pod, p["phase"] == "Running" and p["ready"] is True)
            for pod, p in state.get("Pod", {}).items()
            if p["app"] == svc["selector"]
        ]
        for name, svc in state["Service"].items()
    }


def drawn(view: dict[str, Any]) -> dict[str, list[tuple[str, bool]]]:
    return {
        s["name"]: [(e["pod"], e["ready"]) for e in s["endpoints"]]
        for s in view["picture"]["services"]
    }


def test_a_service_is_drawn_with_the_pods_it_selects_and_their_readiness() -> None:
    c = TestClient(create_app(session_of(RUN_SERVICE)))
    view = c.get("/api/view").json()
    assert view["picture"]["service_kind"] == "Service"
    assert "Service" not in [t["kind"] for t in view["picture"]["tables"]]
    assert drawn(view) == expected(view["state"]) == {"Service#0": []}
    # two Web pods and a Db pod; one Web pod runs and passes its probe, one only runs
    view = take(c, view, "deployment.scale_up", a="Web")
    view = take(c, view, "deployment.scale_up", a="Web")
    view = take(c, view, "deployment.scale_up", a="Db")
    view = take(c, view, "kubelet.start", p="Pod#0")
    view = take(c, view, "kubelet.start", p="Pod#1")
    view = take(c, view, "kubelet.probe_pass", p="Pod#0")
    shown = drawn(view)
    assert shown == expected(view["state"])
    assert shown == {"Service#0": [("Pod#0", True), ("Pod#1", False)]}
    # a crashed pod stays selected, and is not ready
    view = take(c, view, "pod_crash.crash", p="Pod#0")
    assert drawn(view) == expected(view["state"])
    assert ("Pod#0", False) in drawn(view)["Service#0"]
    # every state along a walk of the model agrees with the derivation
    for _ in range(MAX_STEPS):
        ok = [a for a in view["enabled"] if "error" not in a]
        if not ok:
            break
        view = c.post("/api/take", json={"index": ok[-1]["index"], "at": view["cursor"]}).json()
        assert drawn(view) == expected(view["state"])


def test_service_endpoints_reads_a_terminating_pod_as_not_ready() -> None:
    c = TestClient(create_app(session_of(MODELS / "service_endpoints.kdsl")))

    def check(view: dict[str, Any]) -> list[dict[str, Any]]:
        (svc,) = view["picture"]["services"]
        state = view["state"]
        want = [
            (pod, p["phase"] == "Running" and p["ready"] is True)
            for pod, p in state.get("Pod", {}).items()
            if p["app"] == state["Service"][svc["name"]]["selector"]
        ]
        assert [(e["pod"], e["ready"]) for e in svc["endpoints"]] == want
        # the model's own `endpoints` field stays in the box's fields, as the model says it
        assert "endpoints" in svc["fields"]
        endpoints: list[dict[str, Any]] = svc["endpoints"]
        return endpoints

    view = c.get("/api/view").json()
    assert check(view) == []
    view = take(c, view, "deployment.create_pod", a="Web")
    view = take(c, view, "kubelet.probe_pass", p="Pod#0")
    assert [(e["pod"], e["ready"]) for e in check(view)] == [("Pod#0", True)]
    view = take(c, view, "user_delete.delete_pod", p="Pod#0")
    (e,) = check(view)
    assert (e["pod"], e["phase"], e["ready"]) == ("Pod#0", "Terminating", False)
    assert view["state"]["Pod"]["Pod#0"]["ready"] is True  # Ready, yet terminating: not served


def test_a_model_without_a_service_is_drawn_as_before() -> None:
    pic = session_of(STALE).view()["picture"]
    assert pic["service_kind"] is None and pic["services"] == []
    # a kind named Service without an enum selector cannot be placed: it stays a table
    pic = session_of_text(
        """
        model t
        enum Phase { Pending, Running }
        kind Pod[1] { phase: Phase = Pending }
        kind Service[1] { port: 0..3 = 0 }
        init { create Service {} }
        """
    ).view()["picture"]
    assert pic["service_kind"] is None and pic["services"] == []
    assert [t["kind"] for t in pic["tables"]] == ["Service"]


def test_a_docker_block_names_the_service_kind_and_its_fields() -> None:
    # other names than the conventions: the block's roles say which kind and fields they are
    session = session_of_text(
        """
        model t
        enum Tier { Front, Back }
        enum Phase { Pending, Running }
        kind Box[2] { tier: Tier, role: Tier, state: Phase = Running, up: bool = true }
        kind Frontend[1] { picks: Tier = Front }
        docker {
          pod Box { phase: state, ready: up }
          service Frontend { selector: picks, pod_field: role }
        }
        init {
          create Frontend { picks: Front }
          create Box { tier: Front, role: Back }
          create Box { tier: Back, role: Front, up: false }
        }
        """
    )
    pic = session.view()["picture"]
    assert pic["service_kind"] == "Frontend"
    (svc,) = pic["services"]
    assert (svc["selector"], svc["selects"], svc["pod_field"]) == ("picks", "Front", "role")
    # selected by `role`, not `tier`; not ready, since its Ready field `up` is false
    assert [(e["pod"], e["ready"]) for e in svc["endpoints"]] == [("Box#1", False)]


def simulate_report(session: Session, traces: int = 50, depth: int = 10) -> str:
    opts = SimOptions(traces=traces, depth=depth, seed=3)
    return json.dumps(simulate(session.model, options=opts).to_json())


def test_a_simulate_report_shows_its_coverage() -> None:
    session = session_of(RUN_SERVICE)
    text = simulate_report(session)
    cov = json.loads(text)["coverage"]
    view = TestClient(create_app(session)).post("/api/report", json={"text": text}).json()
    shown = view["simulated"]
    assert (shown["traces"], shown["depth"], shown["seed"]) == (cov["traces"], 10, 3)
    assert shown["actions"] == cov["actions"]
    assert shown["never"] == cov["never_fired"]
    assert view["origin"] == "manual"  # no counterexample: the walk is left alone


def test_a_simulate_report_names_what_never_fired() -> None:
    # depth 1: only the first scale_up can fire, so every other action never does
    session = session_of(RUN_SERVICE)
    view = (
        TestClient(create_app(session))
        .post("/api/report", json={"text": simulate_report(session, traces=20, depth=1)})
        .json()
    )
    fired = {a["action"] for a in view["simulated"]["actions"] if a["fired"]}
    assert fired == {"deployment.scale_up"}
    labels = [a.label for a in session.model.actions]
    assert view["simulated"]["never"] == [x for x in labels if x != "deployment.scale_up"]


def test_a_simulate_report_with_a_counterexample_shows_both() -> None:
    session = session_of(STALE)
    view = (
        TestClient(create_app(session))
        .post("/api/report", json={"text": simulate_report(session, traces=200, depth=12)})
        .json()
    )
    assert view["origin"] == "counterexample: no_overcommit"
    assert {a["action"] for a in view["simulated"]["actions"]} == {
        a.label for a in session.model.actions
    }


def test_a_simulate_report_of_another_model_or_other_actions_is_refused() -> None:
    session = session_of(STALE)
    c = TestClient(create_app(session))
    other = simulate_report(session_of(RUN_SERVICE))
    answer = c.post("/api/report", json={"text": other})
    assert answer.status_code == 400
    assert answer.json()["error"] == (
        "the report is of model `run_service`, and this dashboard shows `scheduler_stale_snapshot`"
    )
    data = json.loads(simulate_report(session_of(RUN_SERVICE)))
    data["model"] = "scheduler_stale_snapshot"  # same name, an edited model's actions
    answer = c.post("/api/report", json={"text": json.dumps(data)})
    assert answer.status_code == 400
    assert "the report's coverage does not match the model's actions" in answer.json()["error"]
    assert "simulated" not in c.get("/api/view").json()


def test_explore_report_opens_a_simulate_reports_coverage(tmp_path: Any) -> None:
    # a verify report without coverage still says what it shows; a port in use stops the
    # command just before serving, after the report was opened
    import socket

    report = tmp_path / "sim.json"
    report.write_text(simulate_report(session_of(RUN_SERVICE), traces=10, depth=5))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(
            main, ["explore", str(RUN_SERVICE), "--report", str(report), "--port", str(port)]
        )
    assert f"showing the coverage of 10 simulated traces from {report}" in result.stderr
    assert result.exit_code == 2  # the port


def test_explore_report_of_a_verify_report_says_the_counterexample(tmp_path: Any) -> None:
    import socket

    report = tmp_path / "stale.json"
    report.write_text(report_of(session_of(STALE)))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(
            main, ["explore", str(STALE), "--report", str(report), "--port", str(port)]
        )
    assert f"showing the counterexample of no_overcommit from {report}" in result.stderr
