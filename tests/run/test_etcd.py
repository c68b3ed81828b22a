"""`kcheck run --store etcd` against a real etcd (Debian's etcd-server): the objects live in
etcd, every step is a transaction guarded by mod revisions, a second writer makes a real 409
Conflict, and a killed etcd stops the run with exit 4 leaving no process and no temp dir. In CI
(KCHECK_CI or CI set, as .ci/run does) etcd must be installed: these tests never skip there."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from kcheck.cli.main import main
from kcheck.lang.frontend import load
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel, State
from kcheck.result import VIOLATED
from kcheck.run.driver import Divergence, DriverError
from kcheck.run.etcd_store import EtcdClient, EtcdDriver, EtcdServer, encode_objects
from kcheck.run.interpreter import Interpreter, RunConfig, RunOutcome
from kcheck.run.sim import SimDriver
from tests.terminal_signals import default_sigint

MODELS = Path(__file__).resolve().parents[2] / "models"
IN_CI = bool(os.environ.get("KCHECK_CI") or os.environ.get("CI"))

if shutil.which("etcd") is None:
    if IN_CI:
        raise RuntimeError("CI must have etcd (scripts/system.sh installs etcd-server)")
    pytest.skip("etcd is not installed (Debian: etcd-server)", allow_module_level=True)

FOREVER = """model forever

kind Light[1] {
  on: bool = false
}

init {
  create Light {}
}

controller flipper {
  action flip for l in Light {
    l.on := not l.on
  }
}

invariant fine: true
"""


@pytest.fixture(scope="module")
def etcd() -> Iterator[EtcdServer]:
    server = EtcdServer()
    yield server
    assert server.stop() is None


def compiled(name: str) -> CompiledModel:
    return compile_model(load(str(MODELS / f"{name}.kdsl")).symbols, symmetry=False)


def run_on(model: CompiledModel, driver: object, seed: int = 0) -> RunOutcome:
    return Interpreter(model, driver, RunConfig(seed=seed), lambda e: None).run()  # type: ignore[arg-type]


def verdicts(outcome: RunOutcome) -> list[tuple[str, str]]:
    return [(p.name, p.status) for p in outcome.result.properties]


@pytest.mark.parametrize("name", ["replicaset", "replicaset_stale_cache", "job_failures_coalesced"])
@pytest.mark.parametrize("seed", [0, 1])
def test_etcd_store_gives_the_memory_stores_verdicts_and_holds_the_final_objects(
    etcd: EtcdServer, name: str, seed: int
) -> None:
    model = compiled(name)
    memory = run_on(model, SimDriver(), seed)
    driver = EtcdDriver(EtcdClient(etcd.url), f"t-{name}-{seed}")
    stored = run_on(model, driver, seed)
    assert verdicts(stored) == verdicts(memory)
    assert stored.trace == memory.trace  # the same steps, the same states
    # what etcd holds is the model's last state, object for object
    want = encode_objects(model, stored.final_state, driver.prefix)
    assert driver.read() == {k[len(driver.prefix) :]: v for k, v in want.items()}
    assert driver.stats.transactions >= 1
    assert driver.close() is None  # someone else's etcd: only the run's keys go
    assert driver.read() == {}


def test_the_stale_cache_bug_is_found_with_etcd_as_the_store(etcd: EtcdServer) -> None:
    r = CliRunner().invoke(
        main,
        ["run", str(MODELS / "replicaset_stale_cache.kdsl"), "--store", "etcd", "--etcd",
         etcd.url, "-q", "--format", "json"],
    )  # fmt: skip
    assert r.exit_code == 1, r.output + r.stderr
    result = json.loads(r.stdout)
    assert result["engine"] == "run:sim+etcd"
    published = resources.files("kcheck").joinpath("schemas", "report.schema.json")
    assert list(Draft202012Validator(json.loads(published.read_text())).iter_errors(result)) == []
    broken = [p["name"] for p in result["properties"] if p["status"] == VIOLATED]
    assert broken == ["never_too_many_live"]
    assert EtcdClient(etcd.url).range_prefix("/kcheck/")[1] == {}  # the run left no key


def test_a_second_writer_makes_a_real_conflict_and_the_step_is_retried(etcd: EtcdServer) -> None:
    model = compiled("replicaset")
    other = EtcdClient(etcd.url)
    driver = EtcdDriver(EtcdClient(etcd.url), "t-conflict")
    rewrites: list[int] = []

    def rewrite_same(expect: dict[str, int]) -> None:
        # another writer rewrites a key the step touches with the value it has: its mod
        # revision moves, so the step's transaction fails its compare (a 409)
        key = next((k for k, rev in expect.items() if rev), None)
        if key is None or len(rewrites) >= 3:
            return
        _, rows = other.range_prefix(key)
        ok, _ = other.txn({key: rows[key][1]}, {key: rows[key][0]}, [])
        assert ok
        rewrites.append(1)

    driver.between = rewrite_same
    outcome = run_on(model, driver)
    assert driver.stats.conflicts == len(rewrites) == 3  # each one a failed compare, retried
    assert verdicts(outcome) == verdicts(run_on(model, SimDriver()))
    driver.close()


def test_a_second_writer_that_changes_an_object_is_a_conformance_violation(
    etcd: EtcdServer,
) -> None:
    model = compiled("replicaset")
    other = EtcdClient(etcd.url)
    driver = EtcdDriver(EtcdClient(etcd.url), "t-divergence")
    done: list[str] = []

    def change(expect: dict[str, int]) -> None:
        key = next((k for k, rev in expect.items() if rev), None)
        if key is None or done:
            return
        _, rows = other.range_prefix(key)
        fields = json.loads(rows[key][0])
        fields["kcheck_test"] = 1  # a field no step of the model writes
        assert other.txn({key: rows[key][1]}, {key: json.dumps(fields)}, [])[0]
        done.append(key)

    driver.between = change
    outcome = run_on(model, driver)
    driver.close()
    assert driver.stats.conflicts == 1
    assert outcome.result.verdict == VIOLATED
    broken = [p for p in outcome.result.properties if p.status == VIOLATED]
    assert [p.kind for p in broken] == ["conformance"]
    assert "after a 409 Conflict" in (broken[0].reason or "")
    assert "another writer changed the store" in (broken[0].reason or "")


def _etcd_child(pid: int) -> int | None:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    for child in children:
        # a child forked but not yet exec'ed shows kcheck's own command line ("--store etcd")
        if b"--listen-client-urls" in Path(f"/proc/{child}/cmdline").read_bytes():
            return int(child)
    return None


def _start_forever(tmp_path: Path) -> tuple[subprocess.Popen[str], int, str, Path]:
    """A run that never ends by itself, its etcd, its data dir, once steps are stored."""
    model = tmp_path / "forever.kdsl"
    model.write_text(FOREVER)
    temp = tmp_path / "tmp"
    temp.mkdir()
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "kcheck"), "run", str(model), "--store", "etcd",
         "--faults", "off", "--settle", "1000000", "--timeout", "1000000", "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TMPDIR": str(temp)},
        preexec_fn=default_sigint,  # the test sends it SIGINT (tests/terminal_signals.py)
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        child = _etcd_child(proc.pid)
        dirs = list(temp.glob("kcheck-etcd-*"))
        if child is not None and dirs:
            cmd = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            url = cmd[cmd.index(b"--listen-client-urls") + 1].decode()
            try:
                if EtcdClient(url).range_prefix("/kcheck/")[1]:
                    return proc, child, url, dirs[0]
            except DriverError:
                pass  # not answering yet
        time.sleep(0.1)
    proc.kill()
    proc.communicate(timeout=30)
    raise AssertionError("the run did not store anything within 60 s")


def _gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z" or "etcd" not in stat


def test_killing_etcd_mid_run_stops_it_with_exit_4_and_leaves_nothing(tmp_path: Path) -> None:
    proc, etcd_pid, _, data_dir = _start_forever(tmp_path)
    os.kill(etcd_pid, signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 4, err
    assert f"etcd (pid {etcd_pid}" in err and "stopped answering" in err
    assert "killed by signal 9" in err
    assert "Traceback" not in err
    assert _gone(etcd_pid)
    assert not data_dir.exists()
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_store_that_dies_while_the_run_is_at_rest_is_noticed() -> None:
    # a run at rest (a Docker world waiting for `eventually always` to hold) makes no request
    # of the store: it went on reporting convergence on a dead etcd (CI saw a Docker run outlive
    # its killed etcd by 120 s); now its idle pause looks at the store each second
    model = compiled("replicaset")
    server = EtcdServer()
    driver = EtcdDriver(EtcdClient(server.url, server), "at-rest", server=server)
    try:
        driver.start(model, model.initial()[0])
        driver.pause()  # alive: nothing to say
        os.kill(server.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10  # HEALTH_EVERY is 1 s
        with pytest.raises(DriverError) as caught:
            while time.monotonic() < deadline:
                driver.pause()
                time.sleep(0.05)
    finally:
        driver.close()
    assert f"etcd (pid {server.pid}" in str(caught.value), caught.value
    assert "killed by signal 9" in str(caught.value), caught.value


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_mid_run_stops_etcd_and_removes_its_data_dir(
    tmp_path: Path, sig: signal.Signals
) -> None:
    proc, etcd_pid, _, data_dir = _start_forever(tmp_path)
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # it did not stop: the test fails, and leaves no run behind
            proc.kill()
            proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted; removed everything the run created" in err
    assert _gone(etcd_pid)
    assert not data_dir.exists()
    assert list((tmp_path / "tmp").iterdir()) == []


def test_etcd_dies_with_a_killed_kcheck(tmp_path: Path) -> None:
    proc, etcd_pid, _, data_dir = _start_forever(tmp_path)
    proc.kill()  # SIGKILL: no teardown runs; the kernel ends etcd (PR_SET_PDEATHSIG)
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 30
    while not _gone(etcd_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(etcd_pid)
    shutil.rmtree(data_dir)  # (what a killed run leaves: spec/run.md says so)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--etcd", "http://127.0.0.1:1"], "--etcd goes with --store etcd"),
        (
            ["--store", "etcd", "--etcd", "localhost:2379"],
            "give etcd's client URL, http://HOST:PORT",
        ),
    ],
)
def test_store_options_misused_are_usage_errors(args: list[str], message: str) -> None:
    r = CliRunner().invoke(main, ["run", str(MODELS / "replicaset.kdsl"), *args])
    assert r.exit_code == 2
    assert message in r.stderr


def test_an_etcd_url_that_does_not_answer_is_exit_4() -> None:
    r = CliRunner().invoke(
        main,
        ["run", str(MODELS / "replicaset.kdsl"), "--store", "etcd", "--etcd", "http://127.0.0.1:1"],
    )
    assert r.exit_code == 4
    assert "etcd at http://127.0.0.1:1 stopped answering" in r.stderr
    assert "Traceback" not in r.output + r.stderr


def test_a_missing_etcd_binary_names_the_package() -> None:
    with pytest.raises(DriverError, match="etcd-server"):
        EtcdServer("kcheck-no-such-etcd")


def _successor(model: CompiledModel, s: State, label: str) -> State:
    return next(
        t for aid, _, t in model.labelled_successors(s) if model.actions[aid].label == label
    )


@pytest.mark.parametrize(
    ("name", "cache"),
    [("replicaset_stale_cache", "replicaset@Pod"), ("job_failures_coalesced", "job@Pod")],
)
def test_every_cache_is_fed_by_a_real_watch(etcd: EtcdServer, name: str, cache: str) -> None:
    model = compiled(name)
    driver = EtcdDriver(EtcdClient(etcd.url), f"t-watch-{name}")
    outcome = run_on(model, driver)
    assert list(driver.feeds) == [cache]
    assert driver.caches is not None
    fed = driver.caches.stats
    assert fed.objects > 0  # cached objects decoded from what the watch delivered
    if name == "replicaset_stale_cache":
        assert fed.syncs > 0 and fed.behind > 0 and fed.notifications == 0
    else:
        assert fed.syncs == 0 and fed.notifications > 0 and fed.events >= fed.notifications
    # the run went on from the fed states: they are the memory store's, step for step
    memory = run_on(compiled(name), SimDriver())
    assert outcome.states == memory.states
    driver.close()
    assert not driver.feeds[cache].thread.is_alive()


def _take(model: CompiledModel, s: State, label: str, args: tuple[int, ...] = ()) -> State:
    return next(
        t
        for aid, a, t in model.labelled_successors(s)
        if model.actions[aid].label == label and (a == args or not args)
    )


def _drive(
    driver: EtcdDriver, model: CompiledModel, steps: list[tuple[str, tuple[int, ...]]]
) -> State:
    """Carry `steps` out on the driver from the model's first initial state; the state after."""
    info = {a.label: a for a in model.actions}
    s = model.initial()[0]
    driver.start(model, s)
    for label, args in steps:
        t = _take(model, s, label, args)
        held = driver.apply(s, t, info[label], args)
        assert held == t  # fed from the watch, and what the model's step puts in the cache
        s = held
    return s


def test_a_notification_carries_every_watch_event_it_coalesces(etcd: EtcdServer) -> None:
    # Pod#0 fails and is deleted before the job controller hears of it: its one notification
    # carries three real watch events (the initial add, the update, the delete); Pod#1's, one
    model = compiled("job_failures_coalesced")
    driver = EtcdDriver(EtcdClient(etcd.url), "t-coalesce")
    _drive(
        driver,
        model,
        [("kubelet.fail", (0,)), ("podgc.collect", (0,)), ("job.observe", (0,)),
         ("job.observe", (1,))],
    )  # fmt: skip
    assert driver.caches is not None
    fed = driver.caches.stats
    assert (fed.notifications, fed.events, fed.coalesced) == (2, 4, 1)
    driver.close()


def test_a_stale_cache_syncs_as_far_behind_as_the_watch_says(etcd: EtcdServer) -> None:
    model = compiled("replicaset_stale_cache")
    driver = EtcdDriver(EtcdClient(etcd.url), "t-behind")
    _drive(
        driver,
        model,
        [("replicaset.scale_up", ()), ("kubelet.start", ()), ("replicaset.sync@Pod", ())],
    )
    assert driver.caches is not None
    assert (driver.caches.stats.syncs, driver.caches.stats.behind) == (1, 2)
    driver.close()


def test_a_watch_that_delivers_no_object_of_the_model_is_a_divergence(
    etcd: EtcdServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kcheck.run.etcd_watch import WatchFeed

    real = WatchFeed.caught_up

    def garbled(self: WatchFeed, rows: dict[str, tuple[str, int]], revision: int) -> dict[str, str]:
        return {
            k: v.replace('"Pending"', '"Sleeping"') for k, v in real(self, rows, revision).items()
        }

    monkeypatch.setattr(WatchFeed, "caught_up", garbled)
    model = compiled("replicaset_stale_cache")
    driver = EtcdDriver(EtcdClient(etcd.url), "t-garbled")
    with pytest.raises(
        Divergence, match=r"delivered Pod#0 as .*Sleeping.*which is no Pod of the model"
    ):
        _drive(driver, model, [("replicaset.scale_up", ()), ("replicaset.sync@Pod", ())])
    driver.close()


def test_a_cache_the_watch_did_not_deliver_is_a_divergence(etcd: EtcdServer) -> None:
    # the model's step claims its cache got a state etcd never held: the watch says so
    model = compiled("replicaset_stale_cache")
    driver = EtcdDriver(EtcdClient(etcd.url), "t-watch-forged")
    s0 = model.initial()[0]
    driver.start(model, s0)
    s1 = _successor(model, s0, "replicaset.scale_up")  # a Pending pod, not in the cache
    info = {a.label: a for a in model.actions}
    driver.apply(s0, s1, info["replicaset.scale_up"], ())
    s2 = _successor(model, s1, "kubelet.start")  # (not sent to etcd)
    forged = _successor(model, s2, "replicaset.sync@Pod")  # the cache has the pod Running
    with pytest.raises(
        Divergence, match=r"replicaset's cache of Pod#0 .* its etcd watch delivered"
    ):
        driver.apply(s1, forged, info["replicaset.sync@Pod"], ())
    driver.close()


def test_a_watch_that_misses_an_event_stops_the_run_within_its_bound(
    etcd: EtcdServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kcheck.run.etcd_watch as etcd_watch

    monkeypatch.setattr(etcd_watch, "WATCH_WAIT", 0.5)
    model = compiled("replicaset_stale_cache")
    driver = EtcdDriver(EtcdClient(etcd.url), "t-watch-deaf")
    s0 = model.initial()[0]
    driver.start(model, s0)
    feed = driver.feeds["replicaset@Pod"]
    feed.close()  # the watch stops delivering; the store goes on
    feed.closing = False
    info = {a.label: a for a in model.actions}
    s1 = _successor(model, s0, "replicaset.scale_up")
    driver.apply(s0, s1, info["replicaset.scale_up"], ())
    s2 = _successor(model, s1, "replicaset.sync@Pod")
    with pytest.raises(DriverError, match="watch of /kcheck/t-watch-deaf/Pod/ broke"):
        driver.apply(s1, s2, info["replicaset.sync@Pod"], ())
    driver.close()


NOTED = """model noted

enum Phase { Up, Down }

kind Pod[1] {
  phase: Phase = Up
  noted: bool = false
}

init {
  create Pod {}
}

controller watcher watches Pod coalesced {
  action note on p in Pod {
    if (exists q in Pod: q == p) and not p.noted {
      p.noted := true
    }
  }
}

invariant fine: true
"""


def test_a_handler_retried_after_a_conflict_counts_its_notification_once(
    etcd: EtcdServer, tmp_path: Path
) -> None:
    path = tmp_path / "noted.kdsl"
    path.write_text(NOTED, encoding="utf-8")
    model = compile_model(load(str(path)).symbols, symmetry=False)
    other = EtcdClient(etcd.url)
    driver = EtcdDriver(EtcdClient(etcd.url), "t-retry-feed")
    bumped: list[int] = []

    def rewrite_same(expect: dict[str, int]) -> None:
        if bumped:
            return
        (key,) = expect
        _, rows = other.range_prefix(key)
        assert other.txn({key: rows[key][1]}, {key: rows[key][0]}, [])[0]
        bumped.append(1)

    driver.between = rewrite_same
    _drive(driver, model, [("watcher.note", (0,))])  # the initial add, and the write of `noted`
    assert driver.caches is not None and driver.stats.conflicts == 1
    # one notification (not one per attempt), carrying two real events: the initial add and
    # the other writer's rewrite, which the watch delivered before the retry
    fed = driver.caches.stats
    assert (fed.notifications, fed.events, fed.coalesced) == (1, 2, 1)
    driver.close()
