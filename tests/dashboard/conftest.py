"""Shared fixtures of the dashboard tests: a session over a model of models/, and the JSON
report `kcheck verify --format json` writes for it."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from kcheck.dashboard.session import Session
from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source, load
from kcheck.model.compile import compile_model

MODELS = Path(__file__).resolve().parents[2] / "models"
STALE = MODELS / "scheduler_stale_snapshot.kdsl"


def session_of(path: Path) -> Session:
    checked = load(str(path))
    return Session.start(checked, compile_model(checked.symbols))


def session_of_text(text: str) -> Session:
    checked = check_source(Source("t.kdsl", textwrap.dedent(text)))
    return Session.start(checked, compile_model(checked.symbols))


def report_of(session: Session) -> str:
    """The JSON report of an explicit run of the session's model, as verify writes it."""
    return json.dumps(explore(session.model).to_json())
