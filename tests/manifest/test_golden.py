"""Golden renderings of bad manifests: every problem at its place in the YAML file, as a user
reads it. Regenerate with `KCHECK_UPDATE_GOLDEN=1 pytest tests/manifest/test_golden.py`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kcheck.lang.diagnostics import Source
from kcheck.lang.manifest.fill import ManifestError, fill
from kcheck.lang.parser import parse

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "manifests"
MODEL = ROOT / "examples" / "pdb" / "rollout_vs_pdb.kdsl"


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.yaml")), ids=lambda p: p.stem)
def test_golden_manifest_diagnostics(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(GOLDEN)  # paths in the rendering are as the user typed them
    source = Source(str(MODEL), MODEL.read_text(encoding="utf-8"))
    with pytest.raises(ManifestError) as err:
        fill(source, parse(source), [path.name], {})
    actual = err.value.render() + "\n"
    expected = path.with_suffix(".expected")
    if os.environ.get("KCHECK_UPDATE_GOLDEN") == "1":
        expected.write_text(actual, encoding="utf-8")
    assert expected.exists(), f"run with KCHECK_UPDATE_GOLDEN=1 to create {expected.name}"
    assert actual == expected.read_text(encoding="utf-8")
