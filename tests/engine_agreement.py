"""The engine-agreement check that the feature tests share (records, actor locals, nested
steps, conflicts): on one generated model, the explicit engine reaches exactly the states, and
fails with exactly the causes, that the reference interpreter (tests/reference.py) reaches;
symmetry reduction keeps every verdict and counterexample length and never adds states; every
trace replays; optionally the Z3 encoding takes exactly the compiled steps from the reachable
states (tests/smt/agree.py) and BMC gives the explicit verdicts and shortest lengths
(tests/smt/test_bmc.py `_agree`). Each test file keeps its own generator and its own planted
bug; only the comparison lives here, so that a check added to it covers every feature."""

from __future__ import annotations

from kcheck.explore.bfs import explore
from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source
from kcheck.model.compile import compile_model
from tests.explore.test_dangling import _by_name
from tests.explore.test_reference_agreement import assert_replays, reachable_and_errors
from tests.reference import enumerate_reachable
from tests.smt.agree import assert_same_steps
from tests.smt.test_bmc import _agree


def assert_engines_agree(
    text: str,
    *,
    filename: str = "generated.kdsl",
    reference_states: int = 20_000,
    complete: bool = False,
    replay_symmetric: bool = False,
    z3_steps: int | None = None,
    bmc_depth: int | None = 4,
) -> None:
    """Check `text` in every engine named above. `complete`: the reference interpreter must
    enumerate every state within `reference_states` (else a truncated enumeration skips the
    state comparison); `replay_symmetric`: replay the symmetric search's traces too;
    `z3_steps`: compare the Z3 steps on at most that many reachable states (None: not at all);
    `bmc_depth`: BMC's depth (None: no BMC)."""
    checked = check_source(Source(filename, text))
    model = compile_model(checked.symbols, symmetry=False)
    ref = enumerate_reachable(checked.symbols, model.layout, max_states=reference_states)
    states, codes = reachable_and_errors(model)
    assert not (complete and ref.truncated), "the reference interpreter did not finish"
    if not ref.truncated:
        assert states == ref.states
        assert codes == {e for e in ref.errors if not e.startswith("invariant:")}
    off = explore(model, symmetry=False)
    on = explore(compile_model(checked.symbols), symmetry=True)
    assert on.stats.states <= off.stats.states
    assert {k: v[:2] for k, v in _by_name(on).items()} == {
        k: v[:2] for k, v in _by_name(off).items()
    }
    for p in [*off.properties, *(on.properties if replay_symmetric else [])]:
        if p.trace is not None:
            assert_replays(model, p.trace)
    if z3_steps is not None:
        assert assert_same_steps(model, checked.symbols, z3_steps) >= 1
    if bmc_depth is not None:
        _agree(text, bmc_depth)
