"""`kcheck run --driver docker` against a real Docker engine: not mocked and not skipped (CI
starts dockerd, see .ci/run). Every test asserts that the run left no container or network."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
from click.testing import CliRunner

from kcheck.cli.main import main
from kcheck.lang.frontend import load
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel
from kcheck.report import dot
from kcheck.result import HOLDS, VIOLATED
from kcheck.run.binding import DEFAULT_IMAGE, resolve
from kcheck.run.docker_driver import DockerDriver
from kcheck.run.engine import PID_LABEL, RUN_LABEL, connect, leftovers, new_run_id
from kcheck.run.events import Event
from kcheck.run.image import build
from kcheck.run.interpreter import Interpreter, RunConfig, RunOutcome
from tests.terminal_signals import default_sigint

MODELS = Path(__file__).resolve().parents[2] / "models"
KCHECK = Path(sys.executable).with_name("kcheck")


@pytest.fixture(scope="module")
def client() -> docker.DockerClient:
    c = connect()  # no engine is a failure here, never a skip
    try:
        c.api.inspect_image(DEFAULT_IMAGE)  # type: ignore[no-untyped-call]
    except docker.errors.NotFound:
        build(c)
    return c


@pytest.fixture(autouse=True)
def nothing_left_behind(client: docker.DockerClient, docker_engine: None) -> Iterator[None]:
    yield
    assert leftovers(client) == (0, 0), "a run left containers or networks behind"


def assert_hygienic(client: docker.DockerClient, driver: DockerDriver) -> None:
    """Every container of the run: labelled with it, unprivileged, no host mounts, all
    capabilities dropped, CPU, memory and process limits; its network internal."""
    ids = [
        c["Id"] for c in client.api.containers(filters={"label": f"{RUN_LABEL}={driver.run_id}"})
    ]
    assert ids
    for cid in ids:
        c = client.api.inspect_container(cid)
        host = c["HostConfig"]
        assert c["Config"]["Labels"][RUN_LABEL] == driver.run_id
        assert host["Privileged"] is False
        assert not host.get("Binds") and not c["Mounts"]
        assert host["CapDrop"] == ["ALL"] and "no-new-privileges" in host["SecurityOpt"]
        assert host["Memory"] == 32 * 2**20 and host["NanoCpus"] > 0 and host["PidsLimit"] == 64
    net = client.api.inspect_network(driver.network)
    assert net["Internal"] is True and net["Labels"][RUN_LABEL] == driver.run_id


def compiled(name: str) -> CompiledModel:
    return compile_model(load(str(MODELS / f"{name}.kdsl")).symbols, symmetry=False)


def live(
    client: docker.DockerClient, name: str, **config: object
) -> tuple[RunOutcome, list[Event], DockerDriver]:
    model = compiled(name)
    driver = DockerDriver(client, resolve(model.layout), new_run_id())
    events: list[Event] = []
    try:
        outcome = Interpreter(model, driver, RunConfig(**config), events.append).run()  # type: ignore[arg-type]
    except BaseException:
        driver.close()
        raise
    return outcome, events, driver


def test_replicaset_converges_after_real_container_kills(client: docker.DockerClient) -> None:
    outcome, events, driver = live(client, "replicaset", seed=3, fault_every=0.5, settle=60)
    try:
        assert outcome.result.verdict == HOLDS, outcome.result.to_json()["properties"]
        kills = [e for e in events if e.reason == "Killing" and e.source == "pod_crash"]
        assert len(kills) == 2  # the crash budget, spent on real containers
        final = outcome.trace.steps[-1].state
        assert final is not None
        (rs,) = final["ReplicaSet"].values()
        # every container running at the end was seen to start (how many started before the
        # user's scaling removed them depends on timing)
        assert outcome.counters.engine_steps >= rs["replicas"] >= 1
        assert outcome.counters.converged_after is not None
        running = client.api.containers(filters={"label": f"{RUN_LABEL}={driver.run_id}"})
        assert len(running) == rs["replicas"]  # the spec after the user's scaling, really running
        assert_hygienic(client, driver)
    finally:
        driver.close()


def test_broken_variant_is_caught_live_with_a_trace(
    client: docker.DockerClient, tmp_path: Path
) -> None:
    outcome, _, driver = live(client, "replicaset_counts_running", seed=0, faults=False)
    driver.close()
    broken = next(p for p in outcome.result.properties if p.status == VIOLATED)
    assert broken.name == "never_too_many_live"
    assert broken.trace is not None
    last = broken.trace.steps[-1].state
    assert last is not None and len(last["Pod"]) == 3
    graph = dot.trace_graph(broken, dot.actor_kinds_of(compiled("replicaset_counts_running")))
    dot.render(graph, str(tmp_path / "trace.dot"))
    assert "replicaset.scale_up" in (tmp_path / "trace.dot").read_text()


def ready_web_pods(driver: DockerDriver, decoded: dict[str, Any]) -> dict[str, str]:
    """address -> hostname of the ready Web pods of a decoded run_service state."""
    ips = driver.pod_ips()
    return {
        ips[int(oid.split("#")[1])]: f"pod-{oid.split('#')[1]}"
        for oid, pod in decoded["Pod"].items()
        if pod["app"] == "Web" and pod["ready"]
    }


def test_service_resolves_through_docker_dns_to_exactly_the_ready_pods(
    client: docker.DockerClient,
) -> None:
    model = compiled("run_service")
    driver = DockerDriver(client, resolve(model.layout), new_run_id())
    during: list[tuple[dict[str, str], dict[str, str]]] = []
    interpreter: Interpreter

    def after_crash(event: Event) -> None:
        # right after a real kill: the name already leaves the killed pod out
        if event.reason == "Killing":
            decoded = model.layout.decode(interpreter.state)
            during.append((driver.resolve("service-0"), ready_web_pods(driver, decoded)))

    interpreter = Interpreter(model, driver, RunConfig(seed=1, settle=60), after_crash)
    try:
        outcome = interpreter.run()
        assert outcome.result.verdict == HOLDS, outcome.result.to_json()["properties"]
        probed = next(p for p in outcome.result.properties if p.name == "services_resolve")
        assert probed.status == HOLDS
        web = ready_web_pods(driver, model.layout.decode(outcome.final_state))
        assert len(web) == 2
        assert driver.resolve("service-0") == web  # each address answers with its own pod
        assert len(during) == 1  # the crash budget: one Web pod killed
        # how many Web pods were ready when the crash came depends on how fast the engine
        # started them (a loaded machine: only one); the name is exactly those, never the
        # killed one
        resolved, ready = during[0]
        assert resolved == ready
    finally:
        driver.close()


def _until_running(client: docker.DockerClient, run_id: str, n: int) -> list[dict[str, str]]:
    for _ in range(600):
        running = client.api.containers(filters={"label": f"{RUN_LABEL}={run_id}"})
        if len(running) >= n:
            return running  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"the run never had {n} running containers")


@pytest.mark.parametrize("outside", ["kill", "remove"])
def test_conformance_catches_a_container_changed_outside_the_model(
    client: docker.DockerClient, outside: str
) -> None:
    model = compiled("replicaset")
    driver = DockerDriver(client, resolve(model.layout), new_run_id())
    # no faults, and convergence must hold for long: the run is still watching when we strike
    interpreter = Interpreter(
        model, driver, RunConfig(faults=False, hold=60, settle=120, timeout=120), lambda e: None
    )
    result: list[RunOutcome] = []
    thread = threading.Thread(target=lambda: result.append(interpreter.run()))
    thread.start()
    try:
        victim = _until_running(client, driver.run_id, 2)[0]["Id"]
        if outside == "kill":
            client.api.kill(victim)
        else:
            client.api.remove_container(victim, force=True)
        thread.join(timeout=60)
        assert not thread.is_alive()
    finally:
        thread.join(timeout=120)
        driver.close()
    outcome = result[0]
    broken = next(p for p in outcome.result.properties if p.status == VIOLATED)
    assert broken.kind == "conformance"
    assert broken.trace is not None and broken.trace.steps[-1].error == broken.reason
    assert broken.reason is not None
    if outside == "kill":
        # Running, or still Pending if the kill came before the start was observed
        assert "-> stopped: no step of the model explains it" in broken.reason
    else:
        assert "was removed by someone else" in broken.reason


def test_cli_docker_run_reports_convergence_and_cleans_up(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(MODELS / "replicaset.kdsl"),
            "--driver",
            "docker",
            "--faults",
            "off",
            "--log-json",
            str(log),
        ],
    )
    assert result.exit_code == 0, result.output + result.stderr
    assert "verdict: holds" in result.stdout
    assert "Started" in log.read_text()


def test_cli_errors_are_one_line_with_exit_4(monkeypatch: pytest.MonkeyPatch) -> None:
    model = str(MODELS / "replicaset.kdsl")
    missing = CliRunner().invoke(
        main, ["run", model, "--driver", "docker", "--image", "kcheck/none:0"]
    )
    assert missing.exit_code == 4
    assert "image kcheck/none:0 not found: build it with `kcheck image`" in missing.stderr
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    absent = CliRunner().invoke(main, ["run", model, "--driver", "docker"])
    assert absent.exit_code == 4
    assert "no Docker engine is running" in absent.stderr
    assert len(absent.stderr.strip().splitlines()) == 1


def test_cleanup_keeps_a_run_it_cannot_tell_is_over_and_removes_a_named_one(
    client: docker.DockerClient,
) -> None:
    # no owner labels (an older kcheck's run): its process cannot be checked, so it stays
    client.api.create_network("kcheck-leftover", labels={RUN_LABEL: "earlier"})
    kept = CliRunner().invoke(main, ["run", "--cleanup"])
    assert kept.exit_code == 0, kept.output
    assert "removed 0 containers and 0 networks" in kept.stdout
    assert "kept run earlier: it carries no owner labels" in kept.stdout
    assert "kcheck run --cleanup --run-id earlier" in kept.stdout
    named = CliRunner().invoke(main, ["run", "--cleanup", "--run-id", "earlier"])
    assert named.exit_code == 0, named.output
    assert named.stdout == "removed 0 containers and 1 networks of run earlier\n"


class SocketProxy:
    """A Docker socket that forwards to the real one and can be cut, so the engine seems to
    die mid-run while the real engine lives on to check what was left behind."""

    def __init__(self, path: str, target: str = "/var/run/docker.sock") -> None:
        self.path = path
        self.target = target
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(64)
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
            self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        os.unlink(self.path)  # new connections fail...
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)  # ...the accept loop ends...
        self.server.close()
        for s in self.open:  # ...and open ones break
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(KCHECK), "run", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        preexec_fn=default_sigint,
    )


def _run_ids(client: docker.DockerClient) -> set[str]:
    return {c["Labels"][RUN_LABEL] for c in client.api.containers(filters={"label": RUN_LABEL})}


def _wait_for_pods(client: docker.DockerClient, n: int, before: set[str]) -> None:
    """Until one run started after `before` was taken has n running containers (so that what an
    earlier test left behind cannot count)."""
    for _ in range(600):
        counts: dict[str, int] = {}
        for c in client.api.containers(filters={"label": RUN_LABEL}):
            run = c["Labels"][RUN_LABEL]
            if run not in before:
                counts[run] = counts.get(run, 0) + 1
        if any(k >= n for k in counts.values()):
            return
        time.sleep(0.05)
    raise AssertionError(f"the run never had {n} running containers")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_removes_everything(client: docker.DockerClient, sig: int) -> None:
    model = str(MODELS / "replicaset.kdsl")
    before = _run_ids(client)
    proc = _cli(model, "--driver", "docker", "--faults", "off", "--hold", "120", "--settle", "240")
    try:
        _wait_for_pods(client, 2, before)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted; removed everything the run created" in err
    assert leftovers(client) == (0, 0)


def test_an_engine_that_dies_mid_run_is_one_line_exit_4(
    client: docker.DockerClient, tmp_path: Path
) -> None:
    proxy = SocketProxy(str(tmp_path / "docker.sock"))
    model = str(MODELS / "replicaset.kdsl")
    env = {"DOCKER_HOST": f"unix://{tmp_path / 'docker.sock'}"}
    before = _run_ids(client)
    proc = _cli(
        model, "--driver", "docker", "--faults", "off", "--hold", "120", "--settle", "240", env=env
    )
    try:
        _wait_for_pods(client, 2, before)
        proxy.cut()
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 4, err
    lines = err.strip().splitlines()
    assert lines[-1] == "kcheck: error: the Docker engine stopped answering", err
    # what it left, by name, and how to remove it
    (run_id,) = _run_ids(client) - before
    assert f"could not remove everything run {run_id} created" in lines[0]
    assert f"containers kcheck-{run_id}-pod-" in lines[0]
    assert f"network kcheck-{run_id} may be left" in lines[0]
    assert f"`kcheck run --cleanup --run-id {run_id}` once the engine answers" in lines[0]
    assert "Traceback" not in err
    # what the dead engine could not remove, --cleanup does once it is back: its process is gone
    result = CliRunner().invoke(main, ["run", "--cleanup"])
    assert result.exit_code == 0
    assert "removed 2 containers and 1 networks" in result.stdout, result.stdout


def test_node_failure_pauses_and_partition_cuts_the_nodes_containers(
    client: docker.DockerClient,
) -> None:
    model = compiled("run_node_faults")
    driver = DockerDriver(client, resolve(model.layout), new_run_id())
    seen: dict[str, list[dict[str, object]]] = {}

    def containers_of(node: str) -> list[dict[str, object]]:
        listed = client.api.containers(
            all=True, filters={"label": [f"{RUN_LABEL}={driver.run_id}", f"kcheck.node={node}"]}
        )
        return [client.api.inspect_container(c["Id"]) for c in listed]

    def look(event: Event) -> None:
        # the sink runs right after the step was carried out: the world must show it now
        if event.reason in ("Fail", "Cut", "Heal"):
            seen[event.reason] = containers_of(event.object)

    config = RunConfig(seed=1, fault_every=0.5, settle=60)
    try:
        outcome = Interpreter(model, driver, config, look).run()
    finally:
        driver.close()
    assert outcome.result.verdict == HOLDS, outcome.result.to_json()["properties"]
    assert seen.keys() == {"Fail", "Cut", "Heal"}
    assert seen["Fail"] and all(c["State"]["Paused"] for c in seen["Fail"])  # type: ignore[index]
    network = driver.network
    assert seen["Cut"] and all(network not in c["NetworkSettings"]["Networks"] for c in seen["Cut"])  # type: ignore[index]
    assert seen["Heal"] and all(network in c["NetworkSettings"]["Networks"] for c in seen["Heal"])  # type: ignore[index]


def test_controller_caches_stay_in_the_store_and_the_stale_cache_bug_is_caught_live(
    client: docker.DockerClient,
) -> None:
    model = compiled("replicaset_stale_cache")
    driver = DockerDriver(client, resolve(model.layout), new_run_id())
    internal = {
        k.slot_base(slot) + f.offset
        for k in model.layout.kinds
        for slot in range(k.slots)
        for f in k.fields
        if "@" in f.name or "@" in k.name
    }
    assert internal
    s = model.initial()[0]
    for i in internal:  # no cache value changes what the containers are expected to show
        changed = tuple(1 - v if j == i else v for j, v in enumerate(s))
        assert driver.view(changed) == driver.view(s)
    try:
        outcome = Interpreter(model, driver, RunConfig(seed=0), lambda e: None).run()
    finally:
        driver.close()
    broken = next(p for p in outcome.result.properties if p.status == VIOLATED)
    assert broken.name == "never_too_many_live"


HERE_MODELS = Path(__file__).resolve().parent / "models"
TERMINATING = HERE_MODELS / "terminating_not_ready.kdsl"
SHORT_RUN = ("--driver", "docker", "--fault-every", "0.3", "--hold", "0.5", "--settle", "20")


def _terminating_variant(tmp_path: Path, name: str, *edits: tuple[str, str]) -> Path:
    text = TERMINATING.read_text()
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / f"{name}.kdsl"
    path.write_text(text)
    return path


def _run_to_the_end(model: Path) -> tuple[int, str]:
    proc = _cli(str(model), *SHORT_RUN, "-q")
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out + err


@pytest.mark.parametrize("ready_while_terminating", [False, True])
def test_a_kubernetes_true_model_conforms_whatever_its_terminating_pods_ready_field_says(
    tmp_path: Path, ready_while_terminating: bool
) -> None:
    # issue 12, point 4: `Terminating` was read as ready, a false `running -> running+ready`.
    # A model may also keep the Ready condition true while the pod terminates (as the
    # kubelet does until its containers stop): a terminating pod's readiness is not read back
    model = TERMINATING
    if ready_while_terminating:
        model = _terminating_variant(
            tmp_path,
            "ready_condition",
            ("    p.ready := false\n", ""),
            ("invariant terminating_not_ready:", "invariant anything: true or ("),
            ("implies not p.ready", "implies not p.ready)"),
        )
    code, output = _run_to_the_end(model)
    assert code == 0, output
    assert "verdict: holds" in output


# Readiness set by a controller, not by a process the world performs: a running container is
# read as ready, and no step of the kubelet explains it unless `ready` is left unbound.
READY_BY_A_CONTROLLER = (
    (
        "  action probe_pass for p in Pod where p.phase == Running and not p.ready {\n"
        "    p.ready := true\n  }\n",
        "",
    ),
    (
        "invariant terminating_not_ready",
        "controller endpoints {\n"
        "  action probe_pass for p in Pod where p.phase == Running and not p.ready {\n"
        "    p.ready := true\n  }\n}\n\ninvariant terminating_not_ready",
    ),
)


def test_a_divergence_names_the_binding_rules_and_the_docker_block_that_fixes_it(
    tmp_path: Path,
) -> None:
    code, output = _run_to_the_end(_terminating_variant(tmp_path, "ready", *READY_BY_A_CONTROLLER))
    assert code == 1, output
    (reason,) = [line for line in output.splitlines() if line.startswith("  observed Pod#")]
    # the kubelet's start (Pending -> Running) explains a running container, not a ready one
    assert "Pod#0 waiting -> running+ready: no step of the model explains it" in reason
    assert "Pod#0 is Pending, so it has no container yet, or one not started" in reason
    assert "Pod.ready is the Ready condition: a running container is read as ready" in reason
    assert "Pod.phase and Pod.ready are bound by name, as the model has no docker block" in reason
    assert "a `docker { pod Pod { ... } }` block binds exactly what it lists" in reason
    assert 'and in a --binding file [pod] ready = "" unbinds one key' in reason
    # what the message says: a block that leaves `ready` out unbinds it, and the run conforms
    fixed = _terminating_variant(
        tmp_path,
        "fixed",
        *READY_BY_A_CONTROLLER,
        (
            "invariant terminating_not_ready",
            "docker { pod Pod { phase: phase } }\n\ninvariant terminating_not_ready",
        ),
    )
    code, output = _run_to_the_end(fixed)
    assert code == 0, output
    assert "verdict: holds" in output


def _resources_by_run(client: docker.DockerClient) -> dict[str, int]:
    """Containers and networks of every run (by run id)."""
    out: dict[str, int] = {}
    for c in client.api.containers(all=True, filters={"label": RUN_LABEL}):
        out[c["Labels"][RUN_LABEL]] = out.get(c["Labels"][RUN_LABEL], 0) + 1
    for n in client.api.networks(filters={"label": RUN_LABEL}):
        out[n["Labels"][RUN_LABEL]] = out.get(n["Labels"][RUN_LABEL], 0) + 1
    return out


def _run_of(client: docker.DockerClient, proc: subprocess.Popen[str], pods: int) -> str:
    """The run id of `proc`'s run (its containers carry its pid), once it has `pods` running."""
    for _ in range(600):
        assert proc.poll() is None, proc.communicate()
        running = client.api.containers(filters={"label": f"{PID_LABEL}={proc.pid}"})
        if len(running) >= pods:
            return str(running[0]["Labels"][RUN_LABEL])
        time.sleep(0.05)
    raise AssertionError(f"the run never had {pods} running containers")


def test_cleanup_removes_a_killed_run_and_spares_a_concurrent_live_one(
    client: docker.DockerClient,
) -> None:
    # issue 12, point 5: --cleanup removed every run, turning a live one red
    model = str(MODELS / "replicaset.kdsl")
    killed = _cli(model, "--driver", "docker", "--faults", "off", "--hold", "120", "-q")
    live_run = _cli(model, "--driver", "docker", "--faults", "off", "--hold", "8", "-q")
    try:
        dead_id = _run_of(client, killed, 2)
        live_id = _run_of(client, live_run, 2)
        killed.kill()  # SIGKILL: nothing of it is removed...
        killed.wait(timeout=30)
        result = CliRunner().invoke(main, ["run", "--cleanup"])  # ...until --cleanup
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(
            f"removed 2 containers and 1 networks of earlier kcheck runs whose process is gone"
            f" ({dead_id})\n"
        )
        assert f"kept run {live_id}: its process (pid {live_run.pid} on this host)" in result.stdout
        assert dead_id not in _resources_by_run(client)
        assert live_run.poll() is None  # still running, with all it had
        assert _resources_by_run(client)[live_id] == 3
        out, err = live_run.communicate(timeout=120)
        assert live_run.returncode == 0, out + err
        assert "verdict: holds" in out
    finally:
        for proc in (killed, live_run):
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)


# Each trial: (seconds after the run's network exists, signal), then more signals each a
# short delay after the one before, most landing in the teardown the first one started.
SIGNAL_TRIALS = 5


def test_stop_signals_at_random_points_never_leave_a_container(
    client: docker.DockerClient,
) -> None:
    # issue 12, point 9: a signal during the teardown (a double Ctrl-C, a SIGTERM after
    # Ctrl-C, or one at the end of a run) interrupted it and leaked the pods
    rng = random.Random(12)
    model = str(MODELS / "run_service.kdsl")
    deferred = 0
    for trial in range(SIGNAL_TRIALS):
        before = set(_resources_by_run(client))
        # the run ends on its own about 4 s after its network exists: the first signal falls
        # before, during or after its converging, and its probe and teardown
        plan = [(rng.uniform(0.0, 5.0), rng.choice([signal.SIGINT, signal.SIGTERM]))]
        plan += [
            (rng.uniform(0.0, 0.3), rng.choice([signal.SIGINT, signal.SIGTERM]))
            for _ in range(rng.choice([0, 1, 2]) if trial % 2 == 0 else rng.choice([1, 2]))
        ]
        proc = _cli(
            model, "--driver", "docker", "--fault-every", "0.3", "--hold", "0.5", "--chaos", "3",
            "--seed", str(trial), "-q",
        )  # fmt: skip
        try:
            for _ in range(600):  # until the run has created its network
                if set(_resources_by_run(client)) - before or proc.poll() is not None:
                    break
                time.sleep(0.02)
            for delay, sig in plan:
                time.sleep(delay)
                if proc.poll() is None:
                    proc.send_signal(sig)
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        where = f"trial {trial}, plan {plan}: exit {proc.returncode}\n{err}"
        assert "Traceback" not in err, where
        # 0: the run had reached its verdict; 130: stopped; killed by the signal: it came
        # after the teardown, as the process printed its result or exited (its work was done)
        assert proc.returncode in (0, 130, -signal.SIGINT, -signal.SIGTERM), where
        if proc.returncode == 130 and "kcheck: stopping" in err:
            assert "interrupted; removed everything the run created (run " in err, where
        elif proc.returncode == 0:
            assert "verdict: holds" in out, where
        deferred += "still removing what the run created; please wait" in err
        assert set(_resources_by_run(client)) - before == set(), where
    assert deferred  # some signal did come during a teardown: the guard tested what it guards


def _etcd_dirs() -> set[Path]:
    return set(Path(os.environ.get("TMPDIR", "/tmp")).glob("kcheck-etcd-*"))


def _etcd_of(pid: int) -> int | None:
    """The etcd child of a kcheck process (once it has exec'ed: its own command line)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    for child in children:
        with contextlib.suppress(OSError):
            if b"--listen-client-urls" in Path(f"/proc/{child}/cmdline").read_bytes():
                return int(child)
    return None


def test_docker_world_with_its_objects_in_a_real_etcd_catches_the_stale_cache_bug(
    client: docker.DockerClient, tmp_path: Path
) -> None:
    # the pods in Docker, every object in etcd, the replicaset's cache fed by a real watch
    before = _etcd_dirs()
    out = tmp_path / "run.json"
    proc = _cli(
        str(MODELS / "replicaset_stale_cache.kdsl"), "--driver", "docker", "--store", "etcd",
        "--format", "json", "-o", str(out), "--settle", "60",
    )  # fmt: skip
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 1, err
    result = json.loads(out.read_text())
    assert result["engine"] == "run:docker+etcd"
    broken = [p["name"] for p in result["properties"] if p["status"] == VIOLATED]
    assert broken == ["never_too_many_live"], err
    assert "caches fed by watches" in err and "Traceback" not in err
    assert _etcd_dirs() == before  # etcd's data dir is gone with the run


def test_killing_etcd_mid_docker_run_is_exit_4_and_leaves_no_container_or_etcd(
    client: docker.DockerClient,
) -> None:
    before, dirs = _run_ids(client), _etcd_dirs()
    proc = _cli(
        str(MODELS / "replicaset.kdsl"), "--driver", "docker", "--store", "etcd",
        "--faults", "off", "--hold", "120", "--settle", "240",
    )  # fmt: skip
    try:
        _wait_for_pods(client, 2, before)
        etcd = _etcd_of(proc.pid)
        assert etcd is not None
        os.kill(etcd, signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 4, err
    assert f"etcd (pid {etcd}" in err and "killed by signal 9" in err, err
    assert "Traceback" not in err
    assert leftovers(client) == (0, 0)  # the run's containers and network are removed
    assert _etcd_dirs() == dirs
    assert (
        not Path(f"/proc/{etcd}/cmdline").exists()
        or b"etcd" not in Path(f"/proc/{etcd}/cmdline").read_bytes()
    )
