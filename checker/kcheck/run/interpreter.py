"""The interpreter loop: observe the world, explain what changed (conformance), check every
invariant on each state, fire one enabled action of the model chosen fairly (or, now and then,
a fault within its budget), and hand the step to the driver. It fires the compiled actions
themselves: there is one definition of what a controller does.

The run ends when the faults are over and every temporal property is met (converged), on the
first violation, or at the time limit (inconclusive)."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kcheck.explore.timelock import timelock_result
from kcheck.model.bounds import explain_bound
from kcheck.model.ir import CompiledModel, State, StepError
from kcheck.result import (
    HOLDS,
    INCONCLUSIVE,
    NOT_CHECKED,
    VIOLATED,
    CheckResult,
    PropertyResult,
    Stats,
)
from kcheck.run.conformance import explain
from kcheck.run.convergence import Monitor
from kcheck.run.driver import Divergence, Driver
from kcheck.run.events import Event, step_events
from kcheck.run.schedule import FairScheduler, Instance
from kcheck.trace import ObjectNames, Step, Trace, is_tick


class NoInitialState(Exception):
    """The model's init blocks give no state to start from: bad input, exit 2."""


class Stopped(Exception):
    """A stop was asked for (a signal): the run ends at a safe point, between two steps."""


@dataclass(frozen=True)
class RunConfig:
    seed: int = 0
    faults: bool = True
    settle: float = 30.0  # seconds after the last fault for convergence
    hold: float = 1.0  # how long `eventually always P` must hold without a break
    fault_every: float = 2.0  # mean seconds between injected faults
    chaos: float = 20.0  # faults are injected during the first `chaos` seconds only
    fault_after: float = 0.0  # and not before this many seconds
    timeout: float = 600.0  # stop, inconclusive, after this long
    invariants: tuple[str, ...] | None = None  # None: every invariant
    tick_ms: float = 1000.0  # a model with clocks: the run's milliseconds per `tick`


@dataclass
class Counters:
    """Live counts, read by the status line and the Prometheus exporter."""

    steps: int = 0
    reconciles: int = 0  # controller and scheduler steps
    engine_steps: int = 0  # steps the world performed itself (observed)
    faults: int = 0
    invariant_checks: int = 0
    violations: int = 0
    time: float = 0.0
    converged_after: float | None = None  # seconds from the last fault to convergence
    reconcile_latencies: list[float] = field(default_factory=list)


@dataclass
class RunOutcome:
    result: CheckResult
    counters: Counters
    seed: int
    driver: str
    final_state: State = ()
    trace: Trace = field(default_factory=lambda: Trace(()))  # every step, violating or not
    states: tuple[State, ...] = ()  # the state after each step of `trace`, as the model has it


Sink = Callable[[Event], None]


class Interpreter:
    def __init__(
        self,
        model: CompiledModel,
        driver: Driver,
        config: RunConfig,
        sink: Sink,
        counters: Counters | None = None,
        progress: Callable[[Counters], None] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> None:
        self.progress = progress or (lambda c: None)
        # asked between steps: a run stops there, never inside an operation on the world
        self.stop = stop or (lambda: False)
        self.model = model
        self.driver = driver
        self.config = config
        self.sink = sink
        self.counters = counters or Counters()
        self.rng = random.Random(config.seed)
        self.sched = FairScheduler(self.rng)
        self.invariants = [
            inv
            for inv in model.invariants
            if config.invariants is None or inv.name in config.invariants
        ]
        self.monitor = Monitor.for_model(model, config.settle, config.hold)
        self.steps: list[Step] = []
        self.visited: list[State] = []  # the states themselves, slot for slot, step by step
        self.names = ObjectNames([k.name for k in model.layout.kinds])
        self.state: State = ()
        self.enabled_since: dict[Instance, float] = {}
        self.probed = False  # the world was checked for real at the end (services resolve)
        self.presence: frozenset[int] = frozenset()  # every object's presence flag

    # -- recording ---------------------------------------------------------------------------

    def _commit(self, aid: int, args: tuple[int, ...], t: State) -> PropertyResult | None:
        """Make `t` the current state after action `aid`; the invariant it breaks, if any."""
        info = self.model.actions[aid]
        now = self.driver.now()
        before = self.steps[-1].state or {}
        # objects under their display names, as every engine's traces (kcheck.trace.ObjectNames):
        # the arguments name objects as they were before the step
        shown_args = self.names.args(self.model.describe_args(aid, args))
        after = self.names.state(self.model.layout.decode(t))
        self.steps.append(Step(info.label, shown_args, after, line=info.span.line))
        self.state = t
        self.visited.append(t)
        c = self.counters
        c.steps += 1
        if info.actor_kind == "fault":
            c.faults += 1
            self.monitor.fault(now)
        elif info.actor_kind in ("controller", "scheduler"):
            c.reconciles += 1
            since = self.enabled_since.pop((aid, args), now)
            c.reconcile_latencies.append(now - since)
        for ev in step_events(len(self.steps) - 1, now, info.label, info.actor_kind, before, after):
            self.sink(ev)
        return self._check(t, now)

    def _check(self, s: State, now: float) -> PropertyResult | None:
        for inv in self.invariants:
            self.counters.invariant_checks += 1
            try:
                ok, why = inv.holds(s), None
            except StepError as err:  # it reads through `none`, divides by zero: as in verify
                named = inv.error(s) or err  # the error the spec names, as verify does
                ok, why = False, f"cannot be evaluated in the last state: {named.message}"
            if not ok:
                return PropertyResult(
                    inv.name, "invariant", VIOLATED, inv.span.line, self._trace(), why
                )
        broken = self.monitor.observe(s, now)
        if broken is not None:
            return self._property_failure(broken.prop, broken.name, broken.failed or "")
        return None

    def _trace(self) -> Trace:
        return Trace(tuple(self.steps))

    def _property_failure(self, prop: str, name: str, why: str) -> PropertyResult:
        line = next(p.span.line for p in self.model.properties if p.name == prop)
        reason = f"{name}: {why}" if name != prop else why
        return PropertyResult(prop, "property", VIOLATED, line, self._trace(), reason)

    def _divergence(self, message: str, name: str = "conformance") -> PropertyResult:
        # the driver names what it observed by slot; the trace names objects for their lifetime
        kinds = "|".join(re.escape(k.name) for k in self.model.layout.kinds)
        if kinds:
            message = re.sub(
                rf"\b(?:{kinds})#\d+\b", lambda m: self.names.display(m.group(0)), message
            )
        steps = (*self.steps, Step("world.observed", {}, None, error=message))
        return PropertyResult(name, "conformance", VIOLATED, None, Trace(steps), message)

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> RunOutcome:
        started = time.monotonic()
        try:
            failure, limit = self._loop()
        finally:
            self.counters.time = self.driver.now()
        self._announce(failure, limit)
        asked = self.model.asked(self.config.invariants, None)
        return RunOutcome(
            self._result(failure, limit, time.monotonic() - started).account_for(
                asked, f"run:{self.driver.name}"
            ),
            self.counters,
            self.config.seed,
            self.driver.name,
            self.state,
            self._trace(),
            tuple(self.visited),
        )

    def _announce(self, failure: PropertyResult | None, limit: str | None) -> None:
        """The run's end as one last event, for the log pipelines reading --log-json."""
        now, step, name = self.counters.time, len(self.steps) - 1, self.model.name
        if failure is not None:
            self.counters.violations += 1
            why = failure.reason or f"the last state violates {failure.name}"
            message = f"{failure.kind} {failure.name} violated: {why}"
            self.sink(Event(now, step, "Warning", "Violation", "kcheck", name, message))
        elif limit is not None:
            self.sink(Event(now, step, "Warning", "Stopped", "kcheck", name, f"stopped at {limit}"))
        else:
            after = self.counters.converged_after
            message = (
                "converged" if after is None else f"converged {after:.2f} s after the last fault"
            )
            self.sink(Event(now, step, "Normal", "Converged", "kcheck", name, message))

    def _loop(self) -> tuple[PropertyResult | None, str | None]:
        model, driver, cfg, c = self.model, self.driver, self.config, self.counters
        try:
            initial = model.initial()
        except StepError as err:  # init leaves the bounds (a default out of range): as verify
            # the step is `init`, as every engine names it, so `kcheck replay` accepts the trace
            step = Step("init", {}, None, error=err.message, line=err.line)
            entry = PropertyResult(
                f"bound: {err.code} in init", "bound", VIOLATED, err.line, Trace((step,)),
                explain_bound(self.model, err),
            )  # fmt: skip
            return entry, None
        if not initial:
            raise NoInitialState(
                f"model {model.name} has no initial state: its init chooses from nothing"
            )
        self.state = initial[self.rng.randrange(len(initial))]
        try:
            driver.start(model, self.state)
        except Divergence as err:
            return self._divergence(str(err)), None
        self.presence = frozenset(
            k.slot_base(i) for k in model.layout.kinds for i in range(k.slots)
        )
        self.steps.append(Step(None, {}, self.names.state(model.layout.decode(self.state))))
        self.visited.append(self.state)
        self.sink(
            Event(
                0.0,
                0,
                "Normal",
                "RunStarted",
                "kcheck",
                model.name,
                f"{driver.name} run, seed {cfg.seed}",
            )
        )
        if (bad := self._check(self.state, 0.0)) is not None:
            return bad, None
        budgets = model.layout.budgets
        faults = [a.id for a in model.actions if a.actor_kind == "fault"]
        others = [a.id for a in model.actions if a.actor_kind != "fault"]
        engine = (
            [a.id for a in model.actions if a.actor_kind == "process"] if driver.observes else []
        )
        requested: dict[Instance, float] = {}  # engine steps asked of the world, not yet seen
        # time passes with the run's clock: `tick` fires once per --tick-ms (spec/run.md)
        ticks = {a.id for a in model.actions if is_tick(a.label)}
        next_tick = cfg.tick_ms / 1000
        next_fault = cfg.fault_after + self.rng.expovariate(1 / cfg.fault_every)
        while True:
            if self.stop():
                raise Stopped
            now = driver.now()
            c.time = now
            self.progress(c)
            if driver.observes and (bad := self._observe(engine, requested)) is not None:
                return bad, None
            s = self.state
            enabled = self._enabled(others, s, now)
            waiting = [i for i in enabled if i not in requested]
            if now < next_tick:
                waiting = [i for i in waiting if i[0] not in ticks]
            window = cfg.faults and now < cfg.chaos
            fault_steps = (
                [o for aid in faults for o in model.action_outcomes[aid](s)] if window else []
            )
            at_rest = not enabled and not requested
            if ticks and at_rest and not fault_steps and not driver.observes:
                # not a rest: the tick itself cannot fire (a due deadline's action gives no
                # step), so time stops and the run could only end as if it had converged
                return timelock_result(model, self._trace(), s), None
            # The fault phase ends with the window, with the budgets, or when no fault is
            # enabled and nothing else can happen that would enable one.
            budget_left = any(s[b.index] < b.budget for b in budgets)
            faults_on = window and (bool(fault_steps) or (budget_left and not at_rest))
            if not faults_on and (end := self._settled(now, at_rest)) is not None:
                return end
            if now >= cfg.timeout:
                return None, f"timeout {cfg.timeout:g}s"
            if fault_steps and now >= next_fault:
                next_fault = now + self.rng.expovariate(1 / cfg.fault_every)
                aid, args, t = fault_steps[self.rng.randrange(len(fault_steps))]
                if (bad := self._fire(aid, args, t, requested, engine)) is not None:
                    return bad, None
                continue
            if not waiting:
                driver.pause()
                continue
            aid, args = self.sched.pick(waiting)
            if aid in ticks:
                next_tick += cfg.tick_ms / 1000  # tick n is due at n * tick_ms
            outcomes = [t for _, a, t in model.action_outcomes[aid](s) if a == args]
            t = outcomes[self.rng.randrange(len(outcomes))]
            if (bad := self._fire(aid, args, t, requested, engine)) is not None:
                return bad, None

    def _settled(
        self, now: float, at_rest: bool
    ) -> tuple[PropertyResult | None, str | None] | None:
        """After the fault phase: the end of the run if it converged or missed a deadline."""
        # only a simulated world stays still for sure when the model has nothing to do
        quiet = at_rest and not self.driver.observes
        m = self.monitor
        if m.all_met(now, quiet) and (
            quiet or m.obligations or now - m.last_fault >= self.config.settle
        ):
            if m.obligations:
                self.counters.converged_after = max(m.reached(now) - m.last_fault, 0.0)
            problems = self.driver.probe(self.state)
            if problems:
                return self._divergence("; ".join(problems), "services_resolve"), None
            self.probed = problems is not None
            return None, None
        if (late := m.overdue(now)) is not None:
            return self._property_failure(late.prop, late.name, late.failed or ""), None
        return None

    def _fire(
        self,
        aid: int,
        args: tuple[int, ...],
        t: State | StepError,
        requested: dict[Instance, float],
        engine: list[int],
    ) -> PropertyResult | None:
        """Carry out one step; commit it unless the world performs it itself (then it is
        committed once observed)."""
        if isinstance(t, StepError):
            return self._bound_error(t)
        s = self.state
        if (
            aid in engine
            and all(s[i] == t[i] for i in self.presence)
            and self.driver.view(s) != self.driver.view(t)
        ):
            # the world performs this step itself (the kubelet starting a pod); steps that
            # create or delete objects are the store's, and the interpreter commits them
            try:
                performs = self.driver.request(s, t, self.model.actions[aid], args)
            except Divergence as err:
                return self._divergence(str(err))
            if performs:
                requested[(aid, args)] = self.driver.now()
                self.driver.step_done()
                return None
        else:
            held = self._apply(s, t, aid, args)
            if isinstance(held, PropertyResult):
                return held
            t = held
        if (bad := self._commit(aid, args, t)) is not None:
            return bad
        self.driver.step_done()
        return None

    def _apply(self, s: State, t: State, aid: int, args: tuple[int, ...]) -> State | PropertyResult:
        """Carry the step out; the state the run goes on from: `t`, or what the world supplied
        of it (caches fed by etcd watches), which the driver has checked against `t`."""
        try:
            held = self.driver.apply(s, t, self.model.actions[aid], args)
        except Divergence as err:
            return self._divergence(str(err))
        return t if held is None else held

    def _enabled(self, actions: list[int], s: State, now: float) -> list[Instance]:
        out: list[Instance] = []
        for aid in actions:
            for _, args, _t in self.model.action_outcomes[aid](s):
                inst = (aid, args)
                if not out or out[-1] != inst:
                    out.append(inst)
        for inst in out:
            self.enabled_since.setdefault(inst, now)
        live = set(out)
        for inst in [i for i in self.enabled_since if i not in live]:
            del self.enabled_since[inst]
        return out

    def _observe(
        self, engine: list[int], requested: dict[Instance, float]
    ) -> PropertyResult | None:
        try:
            seen = self.driver.observe(self.state)
        except Divergence as err:
            return self._divergence(str(err))
        path = explain(self.model, self.state, seen, self.driver.view, engine, self.presence)
        if path is None:
            diff = self.driver.describe(self.driver.view(self.state), seen)
            rules = self.driver.rules(self.state, seen)
            how = f". The run read it as: {rules}" if rules else ""
            return self._divergence(f"observed {diff}: no step of the model explains it{how}")
        for aid, args, t in path:
            requested.pop((aid, args), None)
            self.counters.engine_steps += 1
            if (bad := self._commit(aid, args, t)) is not None:
                return bad
            # what follows from the observed step (a ready pod joins its services' names)
            try:
                self.driver.follow(t)
            except Divergence as err:
                return self._divergence(str(err))
        # a requested step the world did not take, and that is no longer enabled, is dropped
        for inst in [i for i in requested if i not in self.enabled_since]:
            del requested[inst]
        return None

    def _bound_error(self, err: StepError) -> PropertyResult:
        info = self.model.actions[err.action]
        steps = (
            *self.steps,
            Step(
                info.label,
                self.names.args(self.model.describe_args(err.action, err.args)),
                None,
                err.message,
                err.line,
            ),
        )
        return PropertyResult(
            f"bound: {err.code} in {info.label}",
            "bound",
            VIOLATED,
            err.line,
            Trace(steps),
            explain_bound(self.model, err),
        )

    def _result(
        self, failure: PropertyResult | None, limit: str | None, seconds: float
    ) -> CheckResult:
        """Invariants that did not fail held on every observed state; temporal properties are
        judged only by a run that ended by converging."""
        failed = failure.name if failure is not None else None
        props: list[PropertyResult] = []
        # a run that observed no state (init failed) has nothing an invariant could hold on
        observed = any(step.state is not None for step in self.steps)
        for inv in self.invariants:
            if inv.name == failed and failure is not None:
                props.append(failure)
            elif observed:
                props.append(PropertyResult(inv.name, "invariant", HOLDS, inv.span.line))
            else:
                why = "no state was observed: init failed"
                props.append(
                    PropertyResult(inv.name, "invariant", INCONCLUSIVE, inv.span.line, reason=why)
                )
        judged = failure is None and limit is None
        for p in self.model.properties:
            skipped = [why for name, why in self.monitor.not_checked if name == p.name]
            if p.name == failed and failure is not None:
                props.append(failure)
            elif skipped:
                props.append(
                    PropertyResult(p.name, "property", NOT_CHECKED, p.span.line, reason=skipped[0])
                )
            else:
                status = HOLDS if judged else INCONCLUSIVE
                props.append(PropertyResult(p.name, "property", status, p.span.line))
        if failure is not None and failure.kind in ("conformance", "bound", "timelock"):
            props.append(failure)
        elif self.probed:
            props.append(PropertyResult("services_resolve", "conformance", HOLDS))
        distinct = len(set(self.visited))
        stats = Stats(distinct, len(self.steps) - 1, len(self.steps) - 1, seconds)
        faults = "on" if self.config.faults else "off"
        notes = [f"{self.driver.name} run, seed {self.config.seed}, faults {faults}"]
        return CheckResult(
            self.model.name, f"run:{self.driver.name}", stats, props, False, limit, notes
        )
