"""Frozen slots as constants (smt/frozen.py): a slot is only called frozen when it truly holds
one value in every reachable state, held to explicit search on every model in models/ and on
generated ones; terms about a state with pinned slots are the terms built for it with those
slots' values substituted; and pinning changes no BMC answer."""

from __future__ import annotations

from collections import deque
from pathlib import Path

import pytest
import z3  # type: ignore[import-untyped]
from hypothesis import HealthCheck, given, note, settings

from kcheck.lang.diagnostics import Source
from kcheck.lang.frontend import check_source, load
from kcheck.lang.symbols import Symbols
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel, State
from kcheck.smt.bmc import bmc
from kcheck.smt.encode import Encoder, Unsupported
from kcheck.smt.frozen import describe_frozen, frozen_slots
from kcheck.smt.induction import induction
from kcheck.smt.template import instance_terms
from tests.smt.setgen import set_models

MODELS = sorted((Path(__file__).resolve().parents[2] / "models").glob("*.kdsl"))
SEEN = 3000  # states of each model's explicit search the claim is checked on


def _reached(model: CompiledModel, limit: int) -> list[State]:
    """Up to `limit` states reachable in `model`, breadth-first, with no symmetry reduction
    (a canonical representative may hold a slot's value in another slot)."""
    inits = list(dict.fromkeys(model.initial()))
    seen = dict.fromkeys(inits)
    queue = deque(inits)
    while queue and len(seen) < limit:
        for _, _, t in model.labelled_successors(queue.popleft()):
            if t not in seen:
                seen[t] = None
                queue.append(t)
    return list(seen)


def _encoder(text: str | None, path: Path | None = None) -> tuple[Encoder, CompiledModel] | None:
    checked = (
        load(str(path), {}) if path is not None else check_source(Source("m.kdsl", text or ""))
    )
    model = compile_model(checked.symbols, symmetry=False)
    try:
        return Encoder(model, checked.symbols), model
    except Unsupported:
        return None


def _assert_frozen_holds(enc: Encoder, model: CompiledModel) -> dict[int, int]:
    frozen = frozen_slots(enc, model.initial())
    for s in _reached(model, SEEN):
        wrong = {i: s[i] for i, v in frozen.items() if s[i] != v}
        assert not wrong, f"slots called frozen change in a reachable state: {wrong}"
    return frozen


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_a_frozen_slot_holds_its_value_in_every_state_reached(path: Path) -> None:
    made = _encoder(None, path)
    if made is None:
        pytest.skip("the Z3 engines refuse this model")
    _assert_frozen_holds(*made)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(set_models())
def test_a_frozen_slot_holds_its_value_with_sets(text: str) -> None:
    note(text)
    made = _encoder(text)
    assert made is not None
    _assert_frozen_holds(*made)


CLUSTER = """
model m
kind Node[2] {
  cpu: 1..8
  cordoned: bool = false
}
kind Pod[6] {
  node: Node? = none
}
init {
  create Node { cpu: 4 }
  create Node { cpu: 2 }
}
process admin {
  action cordon for n in Node where not n.cordoned { n.cordoned := true }
}
process placer {
  action place for n in Node where (count p in Pod where p.node == n) < n.cpu {
    create Pod { node: n }
  }
}
invariant fits: forall n in Node: (count p in Pod where p.node == n) <= n.cpu
"""


def test_what_only_init_writes_is_frozen_and_what_a_step_writes_is_not() -> None:
    made = _encoder(CLUSTER)
    assert made is not None
    enc, model = made
    frozen = _assert_frozen_holds(enc, model)
    node = model.layout.kind("Node")
    cpu, cordoned = node.field("cpu").offset, node.field("cordoned").offset
    for n in range(node.slots):
        base = node.slot_base(n)
        assert frozen[base] == 1  # present: nothing deletes a node
        assert frozen[base + cpu] == (4, 2)[n]
        assert base + cordoned not in frozen  # the admin writes it
    pod = model.layout.kind("Pod")
    assert not any(pod.slot_base(0) <= i < pod.slot_base(0) + pod.slots * pod.stride
                   for i in frozen)  # fmt: skip
    # initial states that disagree on a slot leave it unfrozen
    two = CLUSTER.replace("create Node { cpu: 2 }", "choose c in 1..2 { create Node { cpu: c } }")
    made = _encoder(two)
    assert made is not None
    frozen = _assert_frozen_holds(*made)
    assert node.slot_base(1) + cpu not in frozen and node.slot_base(0) + cpu in frozen
    assert describe_frozen(model.layout, frozen) == "Node.exists, Node.cpu of #0"


def test_induction_says_what_it_held_as_constants() -> None:
    checked = check_source(Source("m.kdsl", CLUSTER))
    model = compile_model(checked.symbols)
    result = induction(model, checked.symbols, max_k=2, timeout_s=60)
    assert (
        "held as constants, as init sets them and no step writes them (4 slots): "
        "Node.exists, Node.cpu" in result.notes
    )


def test_pinned_terms_are_the_built_terms_with_the_values_substituted() -> None:
    made = _encoder(None, next(p for p in MODELS if p.stem == "scheduler_plugins"))
    assert made is not None
    enc, model = made
    frozen = frozen_slots(enc, model.initial())
    assert frozen
    enc.instances(enc.fresh_state("s1"))  # builds the template
    enc.pin(frozen)
    pinned = enc.fresh_state("s2")
    assert all(pinned[i].eq(enc.pinned[i][0]) for i in frozen)
    renamed = instance_terms(enc.instances(pinned))
    free = enc.fresh_state("s2", pin=False)  # the same constants, and the pinned slots free
    built = instance_terms(enc.build_instances(free))
    assert renamed is not None and built is not None
    pairs = [(free[i], pinned[i]) for i in frozen if i not in enc.set_slots]
    for i in frozen:
        if i in enc.set_slots:
            bits, values = enc.sets.known_bits(free[i]), enc.pinned[i][1]
            assert bits is not None
            pairs += list(zip(bits, values, strict=True))
    assert len(renamed) == len(built)
    # a whole set slot is its mask's numeral when pinned and the sum of its substituted bits
    # when built: equal once simplified
    for r, b in zip(renamed, built, strict=True):
        assert z3.simplify(r).eq(z3.simplify(z3.substitute(b, *pairs)))


def test_pinning_changes_no_bmc_answer() -> None:
    """BMC (which does not pin: no gain measured there) with pinned states finds the same
    violations at the same depths: the pinned encoding loses no path and adds none."""
    checked = load(
        str(next(p for p in MODELS if p.stem == "scheduler_plugins_ignores_noexecute")), {}
    )
    model = compile_model(checked.symbols)
    free = bmc(model, checked.symbols, 5, properties=[])
    pin = Encoder.pin
    made: list[dict[int, int]] = []

    def pinned_encoder(m: CompiledModel, sym: Symbols) -> Encoder:
        enc = Encoder(m, sym)
        made.append(frozen_slots(enc, m.initial()))
        pin(enc, made[-1])
        return enc

    pinned = bmc(model, checked.symbols, 5, properties=[], encoder=pinned_encoder)
    assert made and made[0]
    assert [(p.name, p.status, p.trace and len(p.trace.steps)) for p in pinned.properties] == [
        (p.name, p.status, p.trace and len(p.trace.steps)) for p in free.properties
    ]
    assert any(p.status == "violated" for p in pinned.properties)
