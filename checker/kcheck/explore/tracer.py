"""Counterexamples of the breadth-first search: a path of stored state indices (walked back
through `parent`), or a lasso of the liveness check, rebuilt as a Trace by replaying each
action from the initial state through the same compiled code. A replay that cannot find a step
is an internal error (ReplayError), never a verdict."""

from __future__ import annotations

from collections.abc import Callable

from kcheck.explore.budget import Budget
from kcheck.explore.liveness import MAX_LOOP_REPEATS, Lasso
from kcheck.explore.store import ParentSeq, StateSeq
from kcheck.model.ir import CompiledModel, State, StepError
from kcheck.model.symmetry import find_renaming
from kcheck.trace import Step, Trace, name_objects


class ReplayError(RuntimeError):
    """A stored path could not be replayed: the engine and the evaluator disagree."""


class Tracer:
    """Rebuilds the traces of one search from its stored states and parent pointers."""

    def __init__(
        self,
        model: CompiledModel,
        states: StateSeq,
        parent: ParentSeq,
        canon: Callable[[State], State] | None,
        budget: Budget | None = None,
    ) -> None:
        self.model = model
        self.states = states
        self.parent = parent
        self.canon = canon
        self.budget = budget

    def _keep(self) -> None:
        """A counterexample is being rebuilt: no signal may interrupt that and lose it."""
        if self.budget is not None:
            self.budget.armed = False

    def _indices(self, idx: int) -> list[int]:
        out = []
        while idx >= 0:
            out.append(idx)
            idx = self.parent[idx]
        return out[::-1]

    def initial(self, idx: int) -> State:
        """The initial state, exactly as `init` creates it, that the stored representative
        `idx` stands for: a trace starts where the model starts, never at a renaming of it."""
        target = self.states[idx]
        if self.canon is None:
            return target
        inits = self.model.initial()
        for s in inits:
            if self.canon(s) == target:
                return s
        for s in inits:
            if find_renaming(self.model.layout, s, target) is not None:
                return s
        raise ReplayError(f"no initial state stands for state #{idx}; this is a kcheck bug")

    def named(self, trace: Trace) -> Trace:
        """The trace with objects under their display names (kcheck.trace.ObjectNames)."""
        return name_objects(trace, [k.name for k in self.model.layout.kinds])

    def _replay(self, indices: list[int]) -> tuple[list[Step], State | None]:
        m = self.model
        decode = m.layout.decode
        if not indices:
            return [], None
        cur = self.initial(indices[0])
        steps = [Step(None, {}, decode(cur))]
        for target_idx in indices[1:]:
            found = self.step_to(cur, self.states[target_idx], None)
            if found is None:
                raise ReplayError(
                    f"replay found no step to state #{target_idx}; this is a kcheck bug"
                )
            steps.append(self.step_of(*found))
            cur = found[2]
        return steps, cur

    def step_of(self, aid: int, args: tuple[int, ...], t: State) -> Step:
        """The trace step for a successor: its action, arguments and decoded state."""
        m = self.model
        info = m.actions[aid]
        return Step(info.label, m.describe_args(aid, args), m.layout.decode(t), line=info.span.line)

    def step_to(
        self, cur: State, target: State, action: int | None
    ) -> tuple[int, tuple[int, ...], State] | None:
        """A step from the concrete state `cur` to one the stored representative `target`
        stands for. Usually its representative is `target` itself; where the representative
        is not unique (ties between look-alike objects), the same state up to a renaming of
        objects is found by an exact search instead."""
        m = self.model
        succ = [x for x in m.labelled_successors(cur) if action is None or x[0] == action]
        for aid, args, t in succ:
            if (self.canon(t) if self.canon else t) == target:
                return aid, args, t
        if self.canon is not None:
            for aid, args, t in succ:
                if find_renaming(m.layout, t, target) is not None:
                    return aid, args, t
        return None

    def lasso(self, lasso: Lasso) -> Trace:
        """A lasso of representatives as a trace of real states: each step replayed with its
        action; the loop replayed again until it returns to the very same state (a renaming of
        objects can take a few rounds to undo)."""
        self._keep()
        m = self.model
        decode = m.layout.decode
        first = lasso.path[0][0]
        cur = self.initial(first)
        steps = [Step(None, {}, decode(cur))]
        concrete = [cur]

        def take(node: int, action: int) -> None:
            nonlocal cur
            found = self.step_to(cur, self.states[node], action)
            if found is None:
                raise ReplayError(
                    f"replay found no {m.actions[action].label} step; this is a kcheck bug"
                )
            steps.append(self.step_of(*found))
            concrete.append(found[2])
            cur = found[2]

        for node, action in lasso.path[1:]:
            take(node, action)
        if lasso.loop_start < 0:
            return self.named(Trace(tuple(steps)))
        start = lasso.loop_start
        loop = lasso.path[start + 1 :]
        if not loop:  # it stops here: only unfair actions, if any, are enabled
            waiting = sorted({m.actions[aid].label for aid, _, _ in m.labelled_successors(cur)})
            return self.named(Trace(tuple(steps), start, tuple(waiting)))
        # Each round of the loop ends in a renaming of where it began. Replaying is a function
        # of the state, over the finitely many renamings, so some round's end repeats: the
        # lasso's loop starts at the first state that comes round again.
        boundary = {concrete[start]: start}
        for _ in range(MAX_LOOP_REPEATS):
            if cur in boundary:
                return self.named(Trace(tuple(steps), boundary[cur]))
            boundary[cur] = len(steps) - 1
            for node, action in loop:
                take(node, action)
        raise ReplayError("a counterexample loop does not close; this is a kcheck bug")

    def path(self, idx: int) -> Trace:
        return self.path_and_state(idx)[0]

    def path_and_state(self, idx: int) -> tuple[Trace, State | None]:
        """The trace to a stored state, and the concrete state it ends in."""
        self._keep()
        steps, last = self._replay(self._indices(idx))
        return self.named(Trace(tuple(steps))), last

    def error_path(self, idx: int, err: StepError) -> Trace:
        steps, cur = self._replay(self._indices(idx))
        if err.action < 0 or cur is None:
            return self.named(Trace((*steps, Step("init", {}, None, err.message, err.line))))
        # Re-run the failing action on the concrete (replayed) state to name its arguments.
        failing = err
        for _, _, t in self.model.action_outcomes[err.action](cur):
            if isinstance(t, StepError) and t.code == err.code:
                failing = t
                break
        info = self.model.actions[failing.action]
        args = self.model.describe_args(failing.action, failing.args)
        return self.named(
            Trace((*steps, Step(info.label, args, None, failing.message, failing.line)))
        )
