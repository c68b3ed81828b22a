"""`--driver docker`: the model's Pods as containers on a real Docker engine (spec/run.md).
A Pod is a container (created when the model starts it), a Node a label on containers (a failed
node pauses them), a Service a network alias that Docker's embedded DNS resolves to exactly the
ready pods the service selects. The pod phase and Ready condition are read back from the
containers; everything else stays in the interpreter's store."""

from __future__ import annotations

import contextlib
import itertools
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors

from kcheck.model.ir import ActionInfo, CompiledModel, State
from kcheck.run.binding import RUNS, Binding
from kcheck.run.driver import Divergence, DriverError, View
from kcheck.run.engine import NODE_LABEL, OBJECT_LABEL, RUN_LABEL, engine_errors, owner_labels

POLL = 0.05  # seconds between looks at the world when nothing is enabled
PARALLEL_STARTS = 8  # pods the engine may be starting at once, as kubelets on many nodes do


@dataclass
class _Pod:
    name: str
    id: str
    node: int  # the node slot it was started on, -1 for none
    aliases: frozenset[str] = frozenset()
    paused: bool = False
    partitioned: bool = False


class DockerDriver:
    name = "docker"
    observes = True

    def __init__(self, client: docker.DockerClient, binding: Binding, run_id: str) -> None:
        self.client = client
        self.api = client.api
        self.binding = binding
        self.run_id = run_id
        self.network = f"kcheck-{run_id}"
        self.pods: dict[int, _Pod] = {}  # pod slot -> its current container
        # Pod starts asked for by `request` run in the background; a slot's start is collected
        # (and its container added to `pods`, only ever by the main thread) before anything
        # else touches that slot, and the observation treats a start in flight as not yet done.
        self.pool = ThreadPoolExecutor(PARALLEL_STARTS, thread_name_prefix="kcheck-start")
        self.inflight: dict[int, Future[_Pod]] = {}
        self.generation = itertools.count(1)
        self.t0 = time.monotonic()
        self.model: CompiledModel | None = None
        # the owner labels let `--cleanup` tell this run, while it lives, from a leftover
        self.labels = {RUN_LABEL: run_id, **owner_labels()}
        # names of the containers created and not yet removed, to say what a failed clean-up
        # left when the engine cannot be asked (appended from the start threads too)
        self.created: set[str] = set()

    def _engine(self) -> contextlib.AbstractContextManager[None]:
        """Engine errors as one line; a container gone behind the run's back as a divergence
        that names the binding rule it broke."""
        return engine_errors(note=f"; {self.binding.rules(['pod.kind'])}")

    # -- set-up and tear-down ----------------------------------------------------------------

    def start(self, model: CompiledModel, initial: State) -> None:
        self.model = model
        with self._engine():
            try:
                self.api.inspect_image(self.binding.image)  # type: ignore[no-untyped-call]
            except docker.errors.NotFound:
                raise DriverError(
                    f"image {self.binding.image} not found: build it with `kcheck image`"
                    " (no registry is needed) or name another with --image"
                ) from None
            # internal: the pods talk to each other and to nothing outside
            self.api.create_network(
                self.network, driver="bridge", internal=True, labels=self.labels
            )
        self.t0 = time.monotonic()
        self._reconcile(None, initial, None, ())

    def close(self) -> str | None:
        from kcheck.run.engine import cleanup

        # no container may be created after the clean-up: let the starts in flight finish
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.inflight.clear()
        self.pods.clear()
        try:
            cleanup(self.client, self.run_id)
        except (DriverError, Divergence) as err:
            return self._left(str(err))
        return None

    def _left(self, why: str) -> str:
        """What a failed clean-up left, as exactly as the engine (or, when it does not answer,
        the run's own record) can tell, and how to remove it."""
        from kcheck.run.engine import runs

        try:
            found = runs(self.client, [self.run_id])
            containers = [n for r in found for n in r.containers]
            networks = [n for r in found for n in r.networks]
            what = "are left"
        except (DriverError, Divergence):
            containers, networks = sorted(self.created), [self.network]
            what = "may be left (the engine could not be asked)"
        parts = []
        if containers:
            parts.append(f"container{'s' * (len(containers) > 1)} {', '.join(containers)}")
        if networks:
            parts.append(f"network{'s' * (len(networks) > 1)} {', '.join(networks)}")
        left = " and ".join(parts) or "nothing"
        return (
            f"could not remove everything run {self.run_id} created ({why}): {left} {what};"
            f" remove them with `kcheck run --cleanup --run-id {self.run_id}` once the engine"
            " answers (plain `kcheck run --cleanup` removes what every finished run left)"
        )

    # -- the clock ---------------------------------------------------------------------------

    def now(self) -> float:
        return time.monotonic() - self.t0

    def pause(self) -> None:
        time.sleep(POLL)

    def step_done(self) -> None:
        pass  # real steps take real time already

    # -- carrying steps out ------------------------------------------------------------------

    def view(self, s: State) -> View:
        """What the containers can tell of a state, per pod slot: `waiting`, `running`
        (`running+ready` when the model says the pod is Ready) or `stopped`; None for a free
        slot or a phase no container state names. A terminating pod's container runs, and its
        `ready` field is not read back: a model may mean by it the Ready condition (which
        stays true while the pod terminates) or readiness to serve (which ends at once)."""
        b = self.binding
        kind = b.pod.kind
        out: list[str | None] = []
        for slot in range(kind.slots):
            base = kind.slot_base(slot)
            cls = self._class(s, base)
            if not s[base] or cls is None:
                out.append(None)
            elif cls == "running" and b.pod.ready is not None and s[base + b.pod.ready.offset]:
                out.append("running+ready")
            elif cls in RUNS:
                out.append("running")
            else:
                out.append(cls)
        return tuple(out)

    def _class(self, s: State, base: int) -> str | None:
        b = self.binding
        return b.phase_class(s[base + b.pod.phase.offset]) if b.pod.phase else "running"

    def describe(self, before: View, seen: View) -> str:
        kind = self.binding.pod.kind.name
        return ", ".join(
            f"{kind}#{i} {a} -> {b}"
            for i, (a, b) in enumerate(zip(before, seen, strict=True))
            if a != b
        )

    def rules(self, s: State, seen: View) -> str:
        """How the run read each pod whose view differs from `seen`, the binding rules that
        made it so, and how to change them: a conformance violation says what the run took
        the model to mean."""
        b = self.binding
        kind = b.pod.kind
        expected = self.view(s)
        readings: list[str] = []
        keys: list[str] = ["pod.kind"]
        for slot in range(kind.slots):
            if expected[slot] == seen[slot]:
                continue
            base = kind.slot_base(slot)
            if b.pod.phase is not None:
                member = b.pod.phase_members[s[base + b.pod.phase.offset]]
                cls = self._class(s, base)
                readings.append(
                    f"{kind.name}#{slot} is {member}, so"
                    f" {CLASS_READINGS.get(cls or '', 'not read back')} (by the phase's name)"
                )
                keys.append("pod.phase")
            if b.pod.ready is not None and "running+ready" in (expected[slot], seen[slot]):
                keys.append("pod.ready")
        if "pod.phase" not in keys:
            readings.append(f"{kind.name} has no bound phase: each pod's container runs")
        if b.pod.ready is not None and "pod.ready" in keys:
            readings.append(
                f"{kind.name}.{b.pod.ready.name} is the Ready condition: a running container is"
                " read as ready (its probe taken to pass), unless its pod is terminating"
            )
        return f"{'; '.join(readings)} (spec/run.md). {b.rules(keys)}"

    def apply(self, before: State, after: State, action: ActionInfo, args: tuple[int, ...]) -> None:
        self._reconcile(before, after, action, args)

    def request(
        self, before: State, after: State, action: ActionInfo, args: tuple[int, ...]
    ) -> bool:
        return self._reconcile(before, after, action, args, background=True)

    def follow(self, state: State) -> None:
        # a container the world stopped must not be started again here: that would hide
        # the very change the observation is about
        with self._engine():
            self._services(state)

    def _collect(self, slot: int, wait: bool) -> bool:
        """Take in the slot's start in flight if it is done (or wait for it); False while it
        is still under way."""
        future = self.inflight.get(slot)
        if future is None:
            return True
        if not wait and not future.done():
            return False
        del self.inflight[slot]
        self.pods[slot] = future.result()  # raises the start's DriverError or Divergence
        return True

    def _reconcile(
        self,
        before: State | None,
        after: State,
        action: ActionInfo | None,
        args: tuple[int, ...],
        background: bool = False,
    ) -> bool:
        """Make the containers follow the step; whether any container was started or
        stopped (a change the next observation will show)."""
        b = self.binding
        kind = b.pod.kind
        fault = action is not None and action.actor_kind == "fault"
        acted = False
        with self._engine():
            for slot in range(kind.slots):
                base = kind.slot_base(slot)
                if before is not None and _same(before, after, base, kind.stride):
                    continue  # only the pods a step touched cost engine calls
                self._collect(slot, wait=True)
                present = bool(after[base])
                pod = self.pods.get(slot)
                was = before is not None and bool(before[base])
                if pod is not None and (
                    not present
                    or (was and before is not None and self._recreated(before, after, base))
                ):
                    self._remove(slot)
                    pod = None
                if not present:
                    continue
                cls = self._class(after, base)
                if cls in RUNS and pod is None and background:
                    self.inflight[slot] = self.pool.submit(self._create, slot, after)
                elif cls in RUNS and pod is None:
                    self.pods[slot] = self._create(slot, after)
                elif cls in RUNS and pod is not None and self._status(pod) == "exited":
                    self.api.start(pod.id)
                elif (
                    cls == "stopped"
                    and pod is not None
                    and self._status(pod) in ("running", "paused")
                ):
                    self._stop(pod, kill=fault)
                else:
                    continue
                acted = True
            self._nodes(before, after)
            if action is not None:
                self._partition(action, args, after)
            self._services(after)
        return acted

    def _recreated(self, before: State, after: State, base: int) -> bool:
        """Did the slot's object change identity (deleted and created again in one step)?
        Only a phase going back to waiting can tell; then the old container goes."""
        phase = self.binding.pod.phase
        if phase is None:
            return False
        return (
            self.binding.phase_class(after[base + phase.offset]) == "waiting"
            and self.binding.phase_class(before[base + phase.offset]) != "waiting"
        )

    def _create(self, slot: int, s: State) -> _Pod:
        """Create and start the pod's container (also from a background thread: it touches
        nothing shared but the engine)."""
        with self._engine():
            return self._create_container(slot, s)

    def _create_container(self, slot: int, s: State) -> _Pod:
        b = self.binding
        base = b.pod.kind.slot_base(slot)
        assert self.model is not None
        layout = self.model.layout
        obj = f"{b.pod.kind.name}#{slot}"
        node = s[base + b.pod.node.offset] if b.pod.node is not None else -1
        labels = dict(self.labels)
        labels[OBJECT_LABEL] = obj
        if node >= 0 and b.node is not None:
            labels[NODE_LABEL] = f"{b.node.kind.name}#{node}"
        for f in b.pod.labels:
            labels[f"kcheck.{f.name}"] = str(layout.show_value(f.type, s[base + f.offset])).lower()
        cores = b.default_cpu
        if b.pod.cpu is not None:
            cores = max(s[base + b.pod.cpu.offset], 1) * b.cpu_per_unit
        memory = b.memory_mb
        if b.pod.memory is not None:
            memory = max(s[base + b.pod.memory.offset], 1) * b.memory_per_unit_mb
        name = f"kcheck-{self.run_id}-{b.pod.kind.name.lower()}-{slot}-{next(self.generation)}"
        host = f"{b.pod.kind.name.lower()}-{slot}"
        networking = self.api.create_networking_config(
            # types-docker says one EndpointConfig; the engine API takes a dict by network
            {self.network: self.api.create_endpoint_config(aliases=[host])}  # type: ignore[arg-type]
        )
        host_config = self.api.create_host_config(
            mem_limit=f"{memory}m",
            nano_cpus=int(cores * 1e9),
            pids_limit=64,
            privileged=False,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            network_mode=self.network,
        )
        self.created.add(name)
        created = self.api.create_container(
            b.image,
            command=list(b.command),
            name=name,
            hostname=host,
            labels=labels,
            host_config=host_config,
            networking_config=networking,
        )
        cid = created["Id"]
        self.api.start(cid)
        return _Pod(name, cid, node, frozenset({host}))

    def _stop(self, pod: _Pod, kill: bool) -> None:
        if pod.paused:
            self.api.unpause(pod.id)
            pod.paused = False
        if kill:
            self.api.kill(pod.id)  # SIGKILL: the fault is a crash
        else:
            self.api.stop(pod.id, timeout=1)
        self.api.wait(pod.id, timeout=30)

    def _remove(self, slot: int) -> None:
        pod = self.pods.pop(slot)
        # already gone is fine: the model no longer has it either
        with contextlib.suppress(docker.errors.NotFound):
            self.api.remove_container(pod.id, force=True)
        self.created.discard(pod.name)

    def _status(self, pod: _Pod) -> str:
        try:
            state: dict[str, Any] = self.api.inspect_container(pod.id)["State"]
        except docker.errors.NotFound:
            return "removed"
        return str(state.get("Status", "unknown"))

    def _nodes(self, before: State | None, after: State) -> None:
        """A node that is not ready has its containers paused: they keep their state, and the
        pods on it report nothing new, as with a real node that stopped heartbeating."""
        b = self.binding
        if b.node is None or b.node.ready is None or b.pod.node is None:
            return
        for slot, pod in self.pods.items():
            node = after[b.pod.kind.slot_base(slot) + b.pod.node.offset]
            if node < 0:
                continue
            nbase = b.node.kind.slot_base(node)
            down = bool(after[nbase]) and not after[nbase + b.node.ready.offset]
            if down and not pod.paused and self._status(pod) == "running":
                self.api.pause(pod.id)
                pod.paused = True
            elif not down and pod.paused:
                self.api.unpause(pod.id)
                pod.paused = False

    def _partition(self, action: ActionInfo, args: tuple[int, ...], after: State) -> None:
        """A fault named `partition` (actor or action) cuts the containers of the pods or nodes
        it binds from the run's network; an action named `heal` joins them again."""
        words = f"{action.actor}.{action.name}"
        cut = action.actor_kind == "fault" and "partition" in words
        heal = "heal" in words
        if not (cut or heal):
            return
        b = self.binding
        targets: set[int] = set()
        for (_, ty), value in zip(action.params, args, strict=False):
            kind = getattr(ty, "kind", None)
            if kind == b.pod.kind.name:
                targets.add(value)
            elif b.node is not None and kind == b.node.kind.name and b.pod.node is not None:
                targets |= {
                    slot
                    for slot in self.pods
                    if after[b.pod.kind.slot_base(slot) + b.pod.node.offset] == value
                }
        for slot in targets:
            pod = self.pods.get(slot)
            if pod is None or pod.partitioned == cut:
                continue
            if cut:
                self.api.disconnect_container_from_network(pod.id, self.network, force=True)
            else:
                self.api.connect_container_to_network(
                    pod.id, self.network, aliases=sorted(pod.aliases)
                )
            pod.partitioned = cut

    def _services(self, s: State) -> None:
        """Each service's name is an alias of exactly the ready pods it selects."""
        b = self.binding
        if b.service is None:
            return
        svc = b.service
        for slot, pod in self.pods.items():
            if pod.partitioned:
                continue
            base = b.pod.kind.slot_base(slot)
            want = {f"{b.pod.kind.name.lower()}-{slot}"}
            for sslot in range(svc.kind.slots):
                sbase = svc.kind.slot_base(sslot)
                if (
                    s[sbase]
                    and s[sbase + svc.selector.offset] == s[base + svc.pod_field.offset]
                    and self._serving(s, base)
                ):
                    want.add(service_name(svc.kind.name, sslot))
            if want != pod.aliases:
                # aliases are fixed per connection: reconnect with the new set
                self.api.disconnect_container_from_network(pod.id, self.network, force=True)
                self.api.connect_container_to_network(pod.id, self.network, aliases=sorted(want))
                pod.aliases = frozenset(want)

    def _serving(self, s: State, base: int) -> bool:
        b = self.binding
        if self._class(s, base) != "running":
            return False  # a terminating pod leaves its services at once, as in Kubernetes
        return b.pod.ready is None or bool(s[base + b.pod.ready.offset])

    # -- reading the world back --------------------------------------------------------------

    def observe(self, expected: State) -> View:
        b = self.binding
        with self._engine():
            listed = self.api.containers(all=True, filters={"label": f"{RUN_LABEL}={self.run_id}"})
        by_id = {c["Id"]: c for c in listed}
        seen = list(self.view(expected))
        kind = b.pod.kind
        for slot in range(kind.slots):
            if not self._collect(slot, wait=False):
                continue  # still starting: the pod is not running yet
            pod = self.pods.get(slot)
            if seen[slot] is None or pod is None:
                continue  # nothing to read: a free slot, an unnamed phase, no container yet
            c = by_id.get(pod.id)
            if c is None or c.get("State") == "removing":
                raise Divergence(
                    f"{kind.name}#{slot}'s container {pod.name} was removed by someone else"
                    f" ({b.rules(['pod.kind'])})"
                )
            state = str(c.get("State", ""))
            if state == "paused":
                continue  # its node is down: nothing new is reported
            if state == "running":
                # Kubernetes' readiness: the container runs (the probe is taken to pass); a
                # terminating pod (the store's to say) is not read as ready
                ready = b.pod.ready is not None and (
                    self._class(expected, kind.slot_base(slot)) != "terminating"
                )
                seen[slot] = "running+ready" if ready else "running"
            elif state in ("exited", "dead"):
                seen[slot] = "stopped"
            else:
                seen[slot] = "waiting"
        return tuple(seen)

    # -- checking for real -------------------------------------------------------------------

    def pod_ips(self) -> dict[int, str]:
        """The address of every pod container on the run's network."""
        out: dict[int, str] = {}
        with self._engine():
            for slot, pod in self.pods.items():
                nets = self.api.inspect_container(pod.id)["NetworkSettings"]["Networks"]
                ip = nets.get(self.network, {}).get("IPAddress")
                if ip:
                    out[slot] = ip
        return out

    def resolve(self, name: str) -> dict[str, str]:
        """Each address Docker's DNS gives for `name`, asked from a probe container on the
        run's network, with what a connection to it answers on port 8080 (a pod serves its
        hostname; empty when nothing answers). busybox's wget crashes when statically linked,
        so the probe speaks HTTP through nc."""
        script = (
            f"for a in $(nslookup {name} 2>/dev/null | sed -n '/^Name:/,$p'"
            " | sed -n 's/^Address:* *//p'); do"
            " printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 3 $a 8080 > /tmp/r;"
            ' echo "$a $(tail -n 1 /tmp/r)"; done'
        )
        out: dict[str, str] = {}
        for line in self._probe(script).splitlines():
            addr, _, answer = line.strip().partition(" ")
            if addr and ":" not in addr:
                out[addr] = answer.strip()
        return out

    def _probe(self, script: str) -> str:
        b = self.binding
        with self._engine():
            host_config = self.api.create_host_config(
                mem_limit="16m",
                nano_cpus=int(0.2e9),
                pids_limit=32,
                privileged=False,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                network_mode=self.network,
            )
            name = f"kcheck-{self.run_id}-probe-{next(self.generation)}"
            self.created.add(name)
            c = self.api.create_container(
                b.image,
                command=["sh", "-c", script],
                labels=dict(self.labels),
                name=name,
                host_config=host_config,
            )
            try:
                self.api.start(c["Id"])
                self.api.wait(c["Id"], timeout=30)
                return bytes(self.api.logs(c["Id"], stdout=True, stderr=False)).decode(
                    errors="replace"
                )
            finally:
                self.api.remove_container(c["Id"], force=True)
                self.created.discard(name)

    def probe(self, state: State) -> list[str] | None:
        """`services resolve`, for real: each service name resolves to exactly the addresses of
        the ready pods it selects, and a connection to it is answered by one of them."""
        b = self.binding
        if b.service is None:
            return None
        svc = b.service
        ips = self.pod_ips()
        problems: list[str] = []
        for sslot in range(svc.kind.slots):
            sbase = svc.kind.slot_base(sslot)
            if not state[sbase]:
                continue
            name = service_name(svc.kind.name, sslot)
            want = {
                ips[slot]: service_name(b.pod.kind.name, slot)
                for slot in self.pods
                if slot in ips
                and state[svc.kind.slot_base(sslot) + svc.selector.offset]
                == state[b.pod.kind.slot_base(slot) + svc.pod_field.offset]
                and self._serving(state, b.pod.kind.slot_base(slot))
                and not self.pods[slot].partitioned
            }
            got = self.resolve(name)
            if set(got) != set(want):
                problems.append(
                    f"{name} resolves to {sorted(got)}, the ready pods it selects are {sorted(want)}"
                )
            for addr, answer in sorted(got.items()):
                if answer != want.get(addr, answer):
                    problems.append(f"{name}: {addr} answered {answer!r}, not {want[addr]!r}")
        if problems:  # what the run took "the ready pods it selects" to mean
            keys = ["service.kind", "service.selector", "pod.phase"]
            keys += ["pod.ready"] if b.pod.ready is not None else []
            problems.append(
                f"the run read {svc.kind.name}.{svc.selector.name} as selecting the pods whose"
                f" {b.pod.kind.name}.{svc.pod_field.name} equals it, ready when running and not"
                f" terminating (spec/run.md). {b.rules(keys)}"
            )
        return problems


# what each phase class means for the container, for the conformance messages
CLASS_READINGS = {
    "waiting": "it has no container yet, or one not started",
    "running": "its container runs",
    "terminating": "its container runs, and its readiness is not read back",
    "stopped": "its container has exited",
}


def _same(before: State, after: State, base: int, stride: int) -> bool:
    return before[base : base + stride] == after[base : base + stride]


def service_name(kind: str, slot: int) -> str:
    return f"{kind.lower()}-{slot}"
