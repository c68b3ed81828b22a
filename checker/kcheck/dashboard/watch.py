"""The model file behind a served dashboard: builds its Session (load, compile_model,
Session.start, as a good start does) or keeps its diagnostics when it has errors, and rebuilds
it when the file's content changes. The page asks for `poll` about once a second, so a model
with errors is served too: the page shows the diagnostics and switches to the dashboard when
the file is saved without them."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from kcheck.dashboard.session import Session, SessionError
from kcheck.lang.diagnostics import KcheckError, Source, render_all


class Watch:
    """The current Session of the file, or its diagnostics (`session` is None then: the walk
    of an earlier good version is dropped, not shown as if it were the file's). `version`
    counts the loads, so the page knows when to draw again; `note` says what the last reload
    did."""

    def __init__(self, path: str, defines: Mapping[str, int | str]) -> None:
        self.path = path
        self.defines = dict(defines)
        self.session: Session | None = None
        self.diagnostics: str | None = None
        self.version = 0
        self.note: str | None = None
        self._digest: bytes | None = None
        self.load()

    def _read_digest(self) -> bytes | None:
        try:
            return hashlib.sha256(Path(self.path).read_bytes()).digest()
        except OSError:
            return None

    def load(self) -> None:
        from kcheck.lang.frontend import load
        from kcheck.lang.parser import read_source
        from kcheck.model.compile import compile_model

        self._digest = self._read_digest()
        self.version += 1
        try:
            checked = load(self.path, self.defines)
            model = compile_model(checked.symbols)
        except KcheckError as err:
            try:
                source = read_source(self.path)
            except KcheckError:
                source = Source(self.path, "")
            self.diagnostics = render_all(err.diagnostics, source)
            if self.session is not None:
                self.note = (
                    f"{self.path} was saved with errors: the walk of its previous version is"
                    " dropped; save it without errors to reload"
                )
            self.session = None
            return
        was_broken = self.diagnostics is not None
        had_session = self.session is not None
        self.session = Session.start(checked, model, self.defines)
        self.diagnostics = None
        if had_session:
            self.note = f"{self.path} was saved: reloaded, back at the initial state"
        elif was_broken:
            self.note = f"{self.path} was saved without errors: loaded"

    def poll(self) -> bool:
        """Reload when the file's content changed since the last load; True if it did."""
        if self._read_digest() == self._digest:
            return False
        self.load()
        return True

    def current(self) -> Session:
        """The session to act on, or the refusal a page gets while the model has errors."""
        if self.session is None:
            raise SessionError(
                f"{self.path} has errors (shown on the page): save it without them first"
            )
        return self.session

    def broken_view(self) -> dict[str, object]:
        return {
            "model": Path(self.path).stem,
            "broken": True,
            "diagnostics": self.diagnostics,
            "note": self.note,
            "version": self.version,
            "path": self.path,
        }
