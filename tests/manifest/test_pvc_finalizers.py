"""pvc_finalizers reads its initial claims from `kubectl get pvc -o yaml` (spec/manifests.md §6):
each claim's `metadata.finalizers`, in order, through the section's map of finalizer strings to
the `Finalizer` enum, fills the bounded list `finalizers: list<Finalizer, 2>` (the reader writes
it as a list literal in the claim's `create`), and a set `deletionTimestamp` is `deleting`. The
example is the model's default instance; a changed manifest is the instance of the same edit of
the model's `init`; and what the list cannot hold (a finalizer the map lacks, one written
twice, more than the bound) is a located error in the YAML."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kcheck.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "pvc_finalizers.kdsl"
EXAMPLE = ROOT / "examples" / "manifests" / "postgres-pvcs.yaml"
INIT = """init {
  for i in 1..2 {
    create PVC { finalizers: [PvcProtection] }
  }
}"""
# the second claim's finalizers, as the example writes them
SECOND = """    creationTimestamp: "2026-11-30T09:13:02Z"
    finalizers:
    - kubernetes.io/pvc-protection
"""


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output + result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"the CLI raised {result.exception!r}") from result.exception
    return result


def outcome(result: Result) -> tuple[object, ...]:
    doc = json.loads(result.stdout)
    stats = doc["stats"]
    props = tuple((p["name"], p["status"], len(p.get("trace") or ())) for p in doc["properties"])
    return result.exit_code, doc["verdict"], stats["states"], stats["transitions"], props


def verify(model: Path, *args: str) -> Result:
    return run("verify", str(model), *args, "-q", "--format", "json")


def edited_model(init: str, tmp_path: Path) -> Path:
    text = MODEL.read_text(encoding="utf-8")
    assert text.count(INIT) == 1
    out = tmp_path / "pvc_finalizers.kdsl"
    out.write_text(text.replace(INIT, init), encoding="utf-8")
    return out


def edited_example(old: str, new: str, tmp_path: Path, name: str = "pvcs.yaml") -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert text.count(old) == 1
    out = tmp_path / name
    out.write_text(text.replace(old, new), encoding="utf-8")
    return out


def test_the_example_is_the_model_s_own_instance() -> None:
    got = verify(MODEL, "--manifest", str(EXAMPLE))
    assert "from the manifests: 2 PVC objects" in got.stderr
    assert "KC06" not in got.stderr  # every object read, nothing refused
    assert outcome(got) == outcome(verify(MODEL))
    assert outcome(got)[:4] == (0, "holds", 91, 221)


SNAPSHOT_DELETING = """    creationTimestamp: "2026-11-30T09:13:02Z"
    deletionGracePeriodSeconds: 30
    deletionTimestamp: "2026-12-01T08:00:00Z"
    finalizers:
    - kubernetes.io/pvc-protection
    - snapshot.storage.kubernetes.io/pvc-as-source-protection
"""
SNAPSHOT_FIRST = """    creationTimestamp: "2026-11-30T09:13:02Z"
    finalizers:
    - snapshot.storage.kubernetes.io/pvc-as-source-protection
    - kubernetes.io/pvc-protection
"""
NO_FINALIZERS = """    creationTimestamp: "2026-11-30T09:13:02Z"
"""


@pytest.mark.parametrize(
    ("second", "written"),
    [
        # deleting, the snapshot source after the protection: a list of two, in this order
        (
            SNAPSHOT_DELETING,
            "create PVC { finalizers: [PvcProtection, SnapshotSource], deleting: true }",
        ),
        # the other order is another list (a list is ordered)
        (SNAPSHOT_FIRST, "create PVC { finalizers: [SnapshotSource, PvcProtection] }"),
        # a claim without the protection (its finalizer removed by hand): the invariant breaks at once, as
        # the same create in its init does
        (NO_FINALIZERS, "create PVC { finalizers: [] }"),
    ],
    ids=["deleting-with-snapshot", "snapshot-first", "no-finalizers"],
)
def test_a_changed_claim_is_the_same_create_in_the_model(
    second: str, written: str, tmp_path: Path
) -> None:
    manifest = edited_example(SECOND, second, tmp_path)
    hand = edited_model(
        f"init {{\n  create PVC {{ finalizers: [PvcProtection] }}\n  {written}\n}}", tmp_path
    )
    got = verify(MODEL, "--manifest", str(manifest))
    assert outcome(got) == outcome(verify(hand))
    assert outcome(got) != outcome(verify(MODEL))  # the manifest's values were used


def test_no_finalizers_break_the_invariant_that_the_protection_stays(tmp_path: Path) -> None:
    """The changed instance whose verdict changes: a claim without the protection finalizer
    (removed by hand) goes against `protected_while_kept` in its initial state."""
    manifest = edited_example(SECOND, NO_FINALIZERS, tmp_path)
    code, verdict, _, _, props = outcome(verify(MODEL, "--manifest", str(manifest)))
    assert (code, verdict) == (1, "violated")
    assert ("protected_while_kept", "violated", 1) in props


def test_one_claim_is_the_model_with_one_create(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    item = "- apiVersion: v1\n  kind: PersistentVolumeClaim\n"
    cut = text.index(item, text.index(item) + 1)  # the second claim
    head, second = text[:cut], text[cut:]
    assert "data-postgres-1" in second and "data-postgres-1" not in head
    one = tmp_path / "one.yaml"
    one.write_text(head, encoding="utf-8")
    hand = edited_model("init {\n  create PVC { finalizers: [PvcProtection] }\n}", tmp_path)
    got = verify(MODEL, "--manifest", str(one))
    assert "from the manifests: 1 PVC objects" in got.stderr
    assert outcome(got) == outcome(verify(hand))
    assert outcome(got) != outcome(verify(MODEL))


def _line_col(path: Path, text: str) -> str:
    """`file:line:col` of the first `text` in the file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    line = next(i for i, s in enumerate(lines, 1) if text in s)
    return f"{path}:{line}:{lines[line - 1].index(text) + 1}"


def test_a_finalizer_the_map_lacks_is_located_in_the_yaml(tmp_path: Path) -> None:
    unknown = edited_example(SECOND, SECOND + "    - example.com/backup-hook\n", tmp_path)
    got = run("verify", str(MODEL), "--manifest", str(unknown))
    assert got.exit_code == 2
    at = _line_col(unknown, "example.com/backup-hook")
    assert f"{at}: error[KC0606]: `example.com/backup-hook` is not in the model's map for " in (
        got.stderr
    )
    assert "help: add it to the map in the model's `manifest` section" in got.stderr


def test_a_finalizer_written_twice_is_located_at_the_second(tmp_path: Path) -> None:
    twice = edited_example(SECOND, SECOND + "    - kubernetes.io/pvc-protection\n", tmp_path)
    got = run("verify", str(MODEL), "--manifest", str(twice))
    assert got.exit_code == 2
    lines = twice.read_text(encoding="utf-8").splitlines()
    second = [i for i, s in enumerate(lines, 1) if "- kubernetes.io/pvc-protection" in s][2]
    assert (
        f"{twice}:{second}:7: error[KC0608]: PersistentVolumeClaim `data-postgres-1`: `kubernetes.io/pvc-protection` "
        "is twice in `metadata.finalizers`; the model's list holds distinct elements"
    ) in got.stderr


# the model with a third finalizer and the list's bound as a const, so that a claim can hold more
# distinct finalizers than the list does
WIDER = [
    ("enum Finalizer { PvcProtection, SnapshotSource }",
     "enum Finalizer { PvcProtection, SnapshotSource, BackupHook }\nconst FINALIZERS = 2"),
    ("list<Finalizer, 2>", "list<Finalizer, FINALIZERS>"),
    ('"snapshot.storage.kubernetes.io/pvc-as-source-protection": SnapshotSource }',
     '"snapshot.storage.kubernetes.io/pvc-as-source-protection": SnapshotSource, '
     '"example.com/backup-hook": BackupHook }'),
]  # fmt: skip


def test_more_finalizers_than_the_bound_are_refused_with_the_define_that_widens_it(
    tmp_path: Path,
) -> None:
    text = MODEL.read_text(encoding="utf-8")
    for old, new in WIDER:
        assert text.count(old) == 1
        text = text.replace(old, new)
    wider = tmp_path / "wider.kdsl"
    wider.write_text(text, encoding="utf-8")
    three = edited_example(
        SECOND,
        SECOND
        + "    - snapshot.storage.kubernetes.io/pvc-as-source-protection\n"
        + "    - example.com/backup-hook\n",
        tmp_path,
    )
    got = run("verify", str(wider), "--manifest", str(three))
    assert got.exit_code == 2
    at = _line_col(three, "example.com/backup-hook")
    assert (
        f"{at}: error[KC0607]: PersistentVolumeClaim `data-postgres-1`: 3 finalizers exceed the model's bound 2 "
        "(`finalizers: list<Finalizer, FINALIZERS>`)"
    ) in got.stderr
    assert "help: pass -D FINALIZERS=3 or narrow the manifest" in got.stderr
    widened = verify(wider, "--manifest", str(three), "-D", "FINALIZERS=3")
    assert widened.exit_code in (0, 1)
    assert "from the manifests: 2 PVC objects" in widened.stderr
