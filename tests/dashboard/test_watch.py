"""A served model file that has errors, or is edited while served (dashboard/watch.py): the
page's API answers the located diagnostics while the file has errors, the dashboard once it is
saved without them, and the diagnostics again (the old walk dropped) when a save breaks it."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from kcheck.dashboard.app import create_app
from kcheck.dashboard.watch import Watch

GOOD = "model m\nvar x: 0..2 = 0\ninvariant ok: x <= 2\ncontroller c {\n  action inc when x < 2 { x := x + 1 }\n}\n"
BROKEN = "model m\nvar x: 0..2 = 0\ninvariant ok: y == 1\n"


def served(tmp_path: Path, text: str) -> tuple[Path, TestClient]:
    path = tmp_path / "m.kdsl"
    path.write_text(text)
    return path, TestClient(create_app(Watch(str(path), {})))


def save(path: Path, client: TestClient, text: str) -> dict[str, object]:
    """Save the file and poll as the page does; the answer of /api/model."""
    path.write_text(text)
    answer: dict[str, object] = client.get("/api/model").json()
    return answer


def test_a_model_with_errors_is_served_as_its_diagnostics_until_saved_without_them(
    tmp_path: Path,
) -> None:
    path, c = served(tmp_path, BROKEN)
    view = c.get("/api/view").json()
    assert view["broken"] is True and view["model"] == "m"
    assert f"{path}:3:15: error[KC0201]: unknown name `y`" in view["diagnostics"]
    assert "invariant ok: y == 1" in view["diagnostics"]  # the source line and its caret
    assert "^" in view["diagnostics"]
    refused = c.post("/api/take", json={"index": 0, "at": 0})
    assert refused.status_code == 400 and "has errors" in refused.json()["error"]
    assert c.get("/api/check").status_code == 400
    # nothing saved: the same load
    assert c.get("/api/model").json() == {"version": 1, "broken": True}

    assert save(path, c, GOOD) == {"version": 2, "broken": False}
    view = c.get("/api/view").json()
    assert "broken" not in view and view["steps"][0]["action"] is None
    assert [a["action"] for a in view["enabled"]] == ["c.inc"]
    assert "saved without errors" in view["note"]


def test_a_save_with_errors_drops_the_walk_and_shows_the_new_diagnostics(tmp_path: Path) -> None:
    path, c = served(tmp_path, GOOD)
    view = c.post("/api/take", json={"index": 0, "at": 0}).json()
    assert view["cursor"] == 1 and view["note"] is None

    assert save(path, c, BROKEN.replace("y == 1", "x == z")) == {"version": 2, "broken": True}
    view = c.get("/api/view").json()
    assert view["broken"] is True
    assert "3:20: error[KC0201]: unknown name `z`" in view["diagnostics"]
    assert "previous version is dropped" in view["note"]
    assert c.post("/api/back", json={}).status_code == 400

    assert save(path, c, GOOD.replace("x <= 2", "x <= 1"))["broken"] is False
    view = c.get("/api/view").json()
    assert view["cursor"] == 0 and len(view["steps"]) == 1
    assert view["invariants"][0]["holds"] is True


def test_a_good_model_saved_again_restarts_at_its_initial_state_with_a_note(
    tmp_path: Path,
) -> None:
    path, c = served(tmp_path, GOOD)
    c.post("/api/take", json={"index": 0, "at": 0})
    assert save(path, c, GOOD.replace("0..2 = 0", "0..2 = 1")) == {"version": 2, "broken": False}
    view = c.get("/api/view").json()
    assert view["cursor"] == 0 and view["picture"]["vars"] == {"x": 1}
    assert "reloaded, back at the initial state" in view["note"]
