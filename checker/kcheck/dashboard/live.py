"""Following a live run: the JSON lines event log of `kcheck run --log-json FILE` (spec/run.md),
read as it grows. The log names no action, only what each step changed, so the steps are found
again in the model: from the initial states, each logged step is the outcome whose events
(kcheck.run.events.step_events, as the run wrote them) are the ones logged, and a step number
missing from the log is a silent internal step (an informer sync). Candidates that look alike
are all followed until the log tells them apart, as a replay does; the session's path is the
first survivor."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from kcheck.dashboard.session import Move, Session
from kcheck.model.ir import CompiledModel, StepError
from kcheck.run.events import step_events
from kcheck.trace import ObjectNames

MAX_CANDIDATES = 1_000  # paths followed at once before giving up on an ambiguous log
MAX_EVENTS = 200  # the last events the page lists

Seen = tuple[str, str, str, str, str]  # type, reason, from, object, message


@dataclass
class Candidate:
    moves: list[Move]
    names: ObjectNames
    shown: dict[str, Any]  # the last state under display names


@dataclass
class Live:
    """The state of following one log file."""

    path: str
    offset: int = 0  # bytes of the file read so far
    partial: str = ""  # a line not finished yet
    events: list[dict[str, Any]] = field(default_factory=list)
    pending: dict[int, list[Seen]] = field(default_factory=dict)  # by step, not yet matched
    done_step: int = 0  # the last step matched
    candidates: list[Candidate] = field(default_factory=list)
    ended: str | None = None  # the run's last event: Converged, Violation or Stopped
    problem: str | None = None  # why following stopped
    shown: bool = False  # the session has shown the run (then a report opened hides it)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "events": self.events[-MAX_EVENTS:],
            "steps": self.done_step,
            "ended": self.ended,
            "waiting": self.offset == 0,
            "problem": self.problem,
        }


def start(session: Session, path: str) -> Live:
    model = session.model
    kinds = [k.name for k in model.layout.kinds]
    live = Live(path)
    for s in session.initial_states():
        names = ObjectNames(kinds)
        shown = names.state(model.layout.decode(s))
        live.candidates.append(Candidate([Move(-1, (), s)], names, shown))
    if not live.candidates:
        live.problem = session.init_error or "the model has no initial state"
    return live


def update(session: Session, live: Live) -> None:
    """Read what the log gained, match its new steps, and show the path followed."""
    try:
        with open(live.path, "rb") as f:
            f.seek(live.offset)
            data = f.read()
    except FileNotFoundError:
        return  # the run has not written it yet
    except OSError as err:
        live.problem = f"cannot read {live.path}: {err.strerror}"
        return
    live.offset += len(data)
    text = live.partial + data.decode("utf-8", errors="replace")
    lines = text.split("\n")
    live.partial = lines.pop()
    for line in lines:
        if not line.strip():
            continue
        try:
            ev = json.loads(line)
            step = int(ev["step"])
            seen: Seen = (ev["type"], ev["reason"], ev["from"], ev["object"], ev["message"])
        except (ValueError, KeyError, TypeError):
            live.problem = f"{live.path}: a line that is not an event of `kcheck run --log-json`"
            return
        live.events.append(ev)
        if ev["from"] == "kcheck":
            if ev["reason"] in ("Converged", "Violation", "Stopped"):
                live.ended = f"{ev['reason']}: {ev['message']}"
            continue
        live.pending.setdefault(step, []).append(seen)
    if live.problem is None:
        _advance(session.model, live)
    if live.shown and session.origin != "live":
        return  # the user opened something else: the run is still read, not shown
    if live.candidates:
        live.shown = True
        best = live.candidates[0]
        # the page follows the run while it shows the last step; a step back stays put
        following = session.origin != "live" or session.cursor == len(session.path) - 1
        if session.origin != "live" or len(best.moves) != len(session.path):
            session.set_path(list(best.moves), "live")
            if following:
                session.cursor = len(best.moves) - 1


def _advance(model: CompiledModel, live: Live) -> None:
    """Match every logged step whose events are all in: a later step has begun, or the run
    has ended."""
    while True:
        later = sorted(n for n in live.pending if n > live.done_step)
        if not later or (len(later) == 1 and live.ended is None):
            return
        n = later[0]
        for silent in range(live.done_step + 1, n):
            if not _step(model, live, silent, []):
                return
        if not _step(model, live, n, live.pending.pop(n)):
            return


def _step(model: CompiledModel, live: Live, n: int, logged: list[Seen]) -> bool:
    nxt: list[Candidate] = []
    for cand in live.candidates:
        s = cand.moves[-1].state
        for outcomes in model.action_outcomes:
            for aid, args, t in outcomes(s):
                if isinstance(t, StepError):
                    continue
                info = model.actions[aid]
                names = cand.names.copy()
                names.args(model.describe_args(aid, args))
                shown = names.state(model.layout.decode(t))
                evs = step_events(n, 0.0, info.label, info.actor_kind, cand.shown, shown)
                got = sorted((e.type, e.reason, e.source, e.object, e.message) for e in evs)
                if got == sorted(logged):
                    nxt.append(Candidate([*cand.moves, Move(aid, args, t)], names, shown))
                    if len(nxt) > MAX_CANDIDATES:
                        live.problem = f"step {n}: too many ways to follow the log"
                        return False
    if not nxt:
        what = "a silent step" if not logged else f"{logged[0][2]}: {logged[0][4]}"
        live.problem = (
            f"step {n} of the run ({what}) is no step of this model from the state before it:"
            " is the run of another model, or of other -D values?"
        )
        return False
    live.candidates = nxt
    live.done_step = n
    return True
