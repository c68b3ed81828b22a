"""The dashboard's JSON API through Starlette's test client: stepping with the model's own
actions, the picture, opening counterexample reports (and refusing ones that do not fit),
searching for a state by an expression."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from kcheck.dashboard.app import create_app
from kcheck.dashboard.session import Session
from kcheck.explore.bfs import explore
from tests.dashboard.conftest import MODELS, STALE, report_of, session_of, session_of_text


@pytest.fixture
def stale() -> Session:
    return session_of(STALE)


def client(session: Session) -> TestClient:
    return TestClient(create_app(session))


def instance(view: dict[str, Any], action: str, **args: Any) -> int:
    for a in view["enabled"]:
        if a["action"] == action and all(a["args"].get(k) == v for k, v in args.items()):
            return int(a["index"])
    raise AssertionError(f"{action} {args} is not enabled: {view['enabled']}")


def test_the_initial_state_shows_nodes_with_capacity_and_the_enabled_actions(
    stale: Session,
) -> None:
    view = client(stale).get("/api/view").json()
    assert view["cursor"] == 0 and len(view["steps"]) == 1
    nodes = view["picture"]["nodes"]
    assert [(n["name"], n["capacity"], n["used"]) for n in nodes] == [
        ("Node#0", 4, 0),
        ("Node#1", 4, 0),
    ]
    labels = [a["action"] for a in view["enabled"]]
    # `choose request in 1..3`: three submits; the fault can fail either node
    assert labels.count("workload.submit") == 3
    assert labels.count("node_failure.fail") == 2
    assert view["picture"]["budgets"] == [{"fault": "node_failure", "left": 1, "budget": 1}]
    assert {i["name"]: i["holds"] for i in view["invariants"]} == {
        "no_overcommit": True,
        "running_pods_are_bound": True,
    }


def test_taking_binding_going_back_and_jumping_follow_the_model(stale: Session) -> None:
    c = client(stale)
    view = c.get("/api/view").json()
    submits = [a for a in view["enabled"] if a["action"] == "workload.submit"]
    # the three instances of `choose request` are told apart by what they create
    assert len({tuple(a["changes"]) for a in submits}) == 3
    submit = submits[0]
    assert submit["changes"][0].startswith("Pod#0 created (cpu=")
    view = c.post("/api/take", json={"index": submit["index"], "at": 0}).json()
    assert view["cursor"] == 1 and [p["name"] for p in view["picture"]["unplaced"]] == ["Pod#0"]
    bind = instance(view, "default.bind", pod="Pod#0", node="Node#1")
    view = c.post("/api/take", json={"index": bind, "at": 1}).json()
    node1 = view["picture"]["nodes"][1]
    assert [p["name"] for p in node1["pods"]] == ["Pod#0"]
    assert node1["used"] == view["state"]["Pod"]["Pod#0"]["cpu"]
    assert view["changes"] == ["Pod#0.node := Node#1"]
    back = c.post("/api/back", json={}).json()
    assert back["cursor"] == 1 and len(back["steps"]) == 3  # going back keeps the steps after
    again = c.post("/api/jump", json={"step": 2}).json()
    assert again["state"] == view["state"]
    # a click on a page that is out of date is refused, not applied to another state
    stale_click = c.post("/api/take", json={"index": 0, "at": 0})
    assert stale_click.status_code == 400 and "out of date" in stale_click.json()["error"]
    assert c.post("/api/jump", json={"step": 9}).status_code == 400
    assert c.post("/api/take", json={"index": "x"}).status_code == 400


def test_a_counterexample_report_replays_to_the_overcommitted_node(stale: Session) -> None:
    c = client(stale)
    view = c.post("/api/report", json={"text": report_of(stale)}).json()
    assert view["origin"] == "counterexample: no_overcommit" and view["cursor"] == 0
    last = c.post("/api/jump", json={"step": len(view["steps"]) - 1}).json()
    assert {i["name"]: i["holds"] for i in last["invariants"]}["no_overcommit"] is False
    over = [n for n in last["picture"]["nodes"] if n["overcommitted"]]
    assert len(over) == 1 and over[0]["used"] > over[0]["capacity"]
    assert [s["action"] for s in last["steps"]][-1] == "default.bind"


def test_a_report_of_another_model_or_edited_is_refused_with_the_reason(stale: Session) -> None:
    c = client(stale)
    other = report_of(session_of(MODELS / "replicaset_stale_cache.kdsl"))
    answer = c.post("/api/report", json={"text": other})
    assert answer.status_code == 400
    assert "of model `replicaset_stale_cache`" in answer.json()["error"]
    data = json.loads(report_of(stale))
    entry = next(p for p in data["properties"] if p["trace"])
    entry["trace"][-1]["state"]["Node"]["Node#0"]["cpu"] = 3  # a state the model never reaches
    answer = c.post("/api/report", json={"text": json.dumps(data)})
    assert answer.status_code == 400 and "does not match the model" in answer.json()["error"]
    assert "not JSON" in c.post("/api/report", json={"text": "{"}).json()["error"]
    holds = report_of(session_of(MODELS / "scheduler_assume_cache.kdsl"))
    holds = holds.replace("scheduler_assume_cache", "scheduler_stale_snapshot")
    assert "no counterexample" in c.post("/api/report", json={"text": holds}).json()["error"]
    # the session still shows where it was
    assert c.get("/api/view").json()["origin"] == "manual"


FIGHT = """
model fight
var replicas: 0..3 = 1
controller hpa {
  action up when replicas < 3 { replicas := replicas + 1 }
}
controller user {
  action down when replicas > 1 { replicas := 1 }
}
property settles: eventually always replicas == 3
"""


def test_a_lasso_shows_where_its_loop_starts() -> None:
    session = session_of_text(FIGHT)
    view = client(session).post("/api/report", json={"text": report_of(session)}).json()
    assert view["loop_start"] == 0
    assert [s["action"] for s in view["steps"]] == [None, "hpa.up", "user.down"]
    assert view["picture"]["vars"] == {"replicas": 1}


def test_search_finds_the_shortest_path_to_a_state(stale: Session) -> None:
    c = client(stale)
    view = c.post("/api/search", json={"expr": "exists p in Pod: p.phase == Running"}).json()
    # submit, bind, start: no shorter path reaches a running pod
    assert [s["action"] for s in view["steps"]] == [
        None,
        "workload.submit",
        "default.bind",
        "kubelet.start",
    ]
    assert view["cursor"] == 3
    assert view["picture"]["nodes"][0]["pods"][0]["class"] == "running"


def test_search_shows_the_expressions_own_located_diagnostic(stale: Session) -> None:
    c = client(stale)
    answer = c.post("/api/search", json={"expr": "exists p in Pod: p.phase == Runing"})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert "search:1:29: error[KC0201]: unknown name `Runing`" in error
    assert "did you mean `Running`?" in error
    answer = c.post("/api/search", json={"expr": "count(Pod) > 5"})
    assert answer.status_code == 400
    assert answer.json()["error"] == "no reachable state satisfies `count(Pod) > 5`"


def test_a_cache_that_lags_marks_the_objects_it_has_not_seen() -> None:
    session = session_of(MODELS / "replicaset_stale_cache.kdsl")
    c = client(session)
    view = c.post("/api/report", json={"text": report_of(session)}).json()
    assert view["origin"] == "counterexample: never_too_many_live"
    for step in range(len(view["steps"])):
        shown = c.post("/api/jump", json={"step": step}).json()
        (cache,) = [t for t in shown["picture"]["tables"] if t["cache_of"] == "Pod"]
        stale = {r["name"]: r.get("stale") for r in cache["rows"]}
        # the counterexample creates a pod per step while the cache never catches up
        assert stale == {f"replicaset@{pod}": "not seen yet" for pod in shown["state"]["Pod"]}
        assert len(stale) == step


def test_cache_rows_say_which_fields_differ_and_which_objects_are_gone(stale: Session) -> None:
    picture = session_of(MODELS / "replicaset_stale_cache.kdsl").picture
    state = {
        "Pod": {"Pod#0": {"phase": "Running"}},
        "replicaset@Pod": {
            "replicaset@Pod#0": {"phase": "Pending"},
            "replicaset@Pod#1": {"phase": "Running"},
        },
    }
    (cache,) = [t for t in picture.render(state)["tables"] if t["cache_of"] == "Pod"]
    assert {r["name"]: r.get("stale") for r in cache["rows"]} == {
        "replicaset@Pod#0": "phase",
        "replicaset@Pod#1": "gone",
    }


NEVER = """
model never
var x: 0..2 = 0
controller c {
  action up when x < 2 { x := x + 1 }
  action wrap when x > 2 { x := 0 }
}
"""


def test_coverage_names_the_action_that_never_fires_and_counts_the_explorers_states() -> None:
    session = session_of_text(NEVER)
    view = client(session).post("/api/coverage", json={}).json()
    cov = view["coverage"]
    assert cov["complete"] and cov["never"] == ["c.wrap"]
    assert {a["action"]: a["fired"] for a in cov["actions"]} == {"c.up": 2, "c.wrap": 0}
    stale = session_of(STALE)
    cov = client(stale).post("/api/coverage", json={}).json()["coverage"]
    # the same reachable states, up to symmetry, as the explicit engine stores
    assert cov["complete"] and cov["never"] == []
    assert cov["states"] == explore(stale.model, invariants=[], properties=[]).stats.states


def test_a_broken_invariant_shows_the_values_of_its_terms_per_object(stale: Session) -> None:
    c = client(stale)
    view = c.post("/api/report", json={"text": report_of(stale)}).json()
    last = c.post("/api/jump", json={"step": len(view["steps"]) - 1}).json()
    (node,) = [n for n in last["picture"]["nodes"] if n["overcommitted"]]
    terms = next(i for i in last["invariants"] if i["name"] == "no_overcommit")["terms"]
    at = terms.index({"depth": 1, "expr": f"n = {node['name']}:", "value": None})
    # the values the compiled model computes, matching the picture's own sums
    assert terms[at + 1 : at + 4] == [
        {"depth": 2, "expr": "used(n) <= n.cpu", "value": False},
        {"depth": 3, "expr": "used(n)", "value": node["used"]},
        {"depth": 3, "expr": "n.cpu", "value": node["capacity"]},
    ]
    bound = next(i for i in last["invariants"] if i["name"] == "running_pods_are_bound")
    assert {t["expr"] for t in bound["terms"]} >= {"p.phase", "p.node"}


def checked(c: TestClient) -> dict[str, Any]:
    """Start a check from the page's API and poll it to its end (bounded)."""
    progress = c.post("/api/check").json()
    for _ in range(1200):
        if not progress["running"]:
            return progress
        time.sleep(0.1)
        progress = c.get("/api/check").json()
    raise AssertionError("the check did not end within two minutes")


def test_checking_from_the_page_shows_the_engines_counterexample(stale: Session) -> None:
    c = client(stale)
    progress = checked(c)
    assert progress["verdict"] == "violated" and progress["error"] is None
    statuses = {p["name"]: p["status"] for p in progress["summary"]}
    assert statuses["no_overcommit"] == "violated"
    view = c.get("/api/view").json()
    assert view["origin"] == "counterexample: no_overcommit"
    expected = json.loads(report_of(stale))
    trace = next(p for p in expected["properties"] if p["name"] == "no_overcommit")["trace"]
    assert [s["action"] for s in view["steps"]] == [s["action"] for s in trace]


def test_checking_a_model_that_holds_leaves_the_walk_alone() -> None:
    session = session_of(MODELS / "scheduler_assume_cache.kdsl")
    c = client(session)
    progress = checked(c)
    assert progress["verdict"] == "holds"
    assert progress["states"] == explore(session.model).stats.states
    assert c.get("/api/view").json()["origin"] == "manual"
