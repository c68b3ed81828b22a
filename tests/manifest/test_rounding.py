"""Rolling-update percentages are rounded as the Deployment controller rounds them: maxSurge up,
maxUnavailable down, and when both come to 0, maxUnavailable is 1 (ResolveFenceposts). The
reader is compared with that rule written out in integers."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from kcheck.lang.diagnostics import Source
from kcheck.lang.manifest.fill import ManifestError, fill
from kcheck.lang.parser import parse

MODEL = """model m
param replicas: 0..1000 = 1
param surge: 0..1000 = 0
param unavailable: 0..1000 = 0
var v: 0..1 = 0
process p {
  action a { v := 1 - v }
}
manifest {
  Deployment {
    replicas = spec.replicas
    surge = spec.strategy.rollingUpdate.maxSurge
    unavailable = spec.strategy.rollingUpdate.maxUnavailable
  }
}
"""
SOURCE = Source("m.kdsl", MODEL)
PROGRAM = parse(SOURCE)


def expected(replicas: int, surge: str, unavailable: str) -> tuple[int, int]:
    def scaled(v: str, up: bool) -> int:
        if not v.endswith("%"):
            return int(v)
        n = int(v[:-1]) * replicas
        return -(-n // 100) if up else n // 100

    s, u = scaled(surge, True), scaled(unavailable, False)
    return s, (1 if s == 0 and u == 0 else u)


value = st.one_of(st.integers(0, 10).map(str), st.integers(0, 100).map(lambda p: f"{p}%"))


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 40), value, value)
def test_percentages_round_as_the_deployment_controller_rounds_them(
    replicas: int, surge: str, unavailable: str
) -> None:
    text = (
        f"kind: Deployment\nspec:\n  replicas: {replicas}\n  strategy:\n    rollingUpdate:\n"
        f'      maxSurge: "{surge}"\n      maxUnavailable: "{unavailable}"\n'
    )
    both_zero = surge.rstrip("%") == "0" and unavailable.rstrip("%") == "0"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "d.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            got = fill(SOURCE, PROGRAM, [str(path)], {}).overrides
        except ManifestError as err:  # the apiserver rejects 0 and 0, and so does kcheck
            assert both_zero, err
            assert "may not be 0 when maxSurge is 0" in err.render()
            return
    assert not both_zero
    assert (got["surge"], got["unavailable"]) == expected(replicas, surge, unavailable)
    assert got["replicas"] == replicas
