"""The dashboard's web application (Starlette): the page and its script from the package, and a
JSON API over one Session. Handlers are plain functions, which Starlette runs in its thread
pool; a lock keeps one request at a time on the session. Bad requests answer 400 with
`{"error": message}`, which the page shows. Served over a Watch (as `kcheck explore` does), the
session is the model file's current one: `/api/model` reloads it when the file was saved, and
while the file has errors `/api/view` answers its diagnostics."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from kcheck.dashboard.check import start_check
from kcheck.dashboard.counterexample import ReportError, load_report
from kcheck.dashboard.coverage import coverage
from kcheck.dashboard.live import start, update
from kcheck.dashboard.search import SearchError, search
from kcheck.dashboard.session import Session, SessionError
from kcheck.dashboard.watch import Watch

STATIC = Path(__file__).parent / "static"
MAX_BODY = 64 * 1024 * 1024  # a report larger than this is refused, not read


def create_app(source: Session | Watch) -> Starlette:
    lock = threading.Lock()
    watch = source if isinstance(source, Watch) else None

    def current() -> Session:
        if watch is not None:
            return watch.current()
        assert isinstance(source, Session)
        return source

    def api(action: Callable[[dict[str, Any]], None]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            body: dict[str, Any] = {}
            if request.method == "POST":
                raw = await request.body()
                if len(raw) > MAX_BODY:
                    return JSONResponse({"error": "the request is too large"}, status_code=400)
                if raw:
                    try:
                        parsed = json.loads(raw)
                    except ValueError:
                        return JSONResponse({"error": "the request is not JSON"}, status_code=400)
                    if not isinstance(parsed, dict):
                        return JSONResponse({"error": "the request is not a JSON object"}, 400)
                    body = parsed
            # the model's work runs in a worker thread: the server stays responsive
            from starlette.concurrency import run_in_threadpool

            return await run_in_threadpool(_answer, action, body)

        return endpoint

    def _answer(action: Callable[[dict[str, Any]], None], body: dict[str, Any]) -> Response:
        with lock:
            try:
                action(body)
            except (SessionError, ReportError, SearchError) as err:
                return JSONResponse({"error": str(err)}, status_code=400)
            except (TypeError, ValueError, KeyError) as err:
                return JSONResponse({"error": f"bad request: {err}"}, status_code=400)
            if watch is not None and watch.session is None:
                return JSONResponse(watch.broken_view())
            out = current().view()
            if watch is not None:
                out["version"] = watch.version
                out["note"] = watch.note
            return JSONResponse(out)

    def _int(body: dict[str, Any], key: str) -> int:
        value = body.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"`{key}` must be an integer")
        return value

    def take(body: dict[str, Any]) -> None:
        at = body.get("at")
        current().take(_int(body, "index"), at if isinstance(at, int) else None)

    def report(body: dict[str, Any]) -> None:
        text = body.get("text")
        if not isinstance(text, str):
            raise ValueError("`text` must be the report's JSON text")
        prop = body.get("property")
        load_report(current(), text, prop if isinstance(prop, str) else None)

    def find(body: dict[str, Any]) -> None:
        expr = body.get("expr")
        if not isinstance(expr, str):
            raise ValueError("`expr` must be a string")
        search(current(), expr)

    def follow(body: dict[str, Any]) -> None:
        path = body.get("path")
        if not isinstance(path, str) or not path:
            raise ValueError("`path` must name the log file of `kcheck run --log-json`")
        session = current()
        session.live = start(session, path)
        update(session, session.live)

    def view(body: dict[str, Any]) -> None:
        if watch is not None and watch.session is None:
            return  # the diagnostics are the view
        session = current()
        if session.live is not None:
            update(session, session.live)

    def cover(body: dict[str, Any]) -> None:
        session = current()
        session.coverage = coverage(session.model)

    def run_check(request: Request) -> Response:  # sync: Starlette runs it in a thread
        """POST starts a check (unless one runs); GET says how it goes. Neither waits for
        the session's lock longer than it takes to start: the page polls while it runs."""
        if watch is not None and watch.session is None:
            try:
                watch.current()
            except SessionError as err:
                return JSONResponse({"error": str(err)}, status_code=400)
        if request.method == "POST":
            with lock:
                progress = start_check(current(), lock)
        else:
            progress = current().check
        return JSONResponse(progress.to_json() if progress is not None else {"running": False})

    def model(request: Request) -> Response:  # sync: Starlette runs it in a thread
        """Which load of the model file the page should show (reloading it when it was
        saved since): the page polls this and draws again when the version changes."""
        if watch is None:
            return JSONResponse({"version": 0, "broken": False})
        with lock:
            watch.poll()
            return JSONResponse({"version": watch.version, "broken": watch.session is None})

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    routes = [
        Route("/", index),
        Route("/api/view", api(view), methods=["GET"]),
        Route("/api/model", model, methods=["GET"]),
        Route("/api/follow", api(follow), methods=["POST"]),
        Route("/api/take", api(take), methods=["POST"]),
        Route("/api/back", api(lambda body: current().back()), methods=["POST"]),
        Route("/api/jump", api(lambda body: current().jump(_int(body, "step"))), methods=["POST"]),
        Route(
            "/api/restart",
            api(lambda body: current().restart(int(body.get("initial", 0)))),
            methods=["POST"],
        ),
        Route("/api/report", api(report), methods=["POST"]),
        Route("/api/search", api(find), methods=["POST"]),
        Route("/api/coverage", api(cover), methods=["POST"]),
        Route("/api/check", run_check, methods=["GET", "POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes)
