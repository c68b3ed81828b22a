"""Slots that never change, as constants (spec/smt.md, "Frozen slots are constants").

A slot that every initial state gives the same value and that no branch of any action instance
writes holds that value in every reachable state: a node's capacity, its labels and taints, the
presence of objects only `init` creates. The induction engine and Houdini give every state they
create that value in that slot (`Encoder.pin`): in the step case that assumes the fact
"slot = value", which is itself proved by the two facts above, so nothing unproved is assumed,
and counterexamples to induction show the slot as `init` set it.

"No branch writes it" is read off the encoded instances of the template state, not off the model's
text: the slot is frozen when every branch's next-state term for it is the template's own term for
it, so whatever the encoding does (a delete clearing references, a create picking a slot, a
scheduler's bind, an informer's sync) is what is read.
"""

from __future__ import annotations

from collections.abc import Sequence

import z3  # type: ignore[import-untyped]

from kcheck.model.ir import Layout, State
from kcheck.smt.encode import Encoder


def frozen_slots(enc: Encoder, inits: Sequence[State]) -> dict[int, int]:
    """slot -> value for every slot that all of `inits` agree on and no branch of any action
    instance changes; empty without initial states."""
    if not inits:
        return {}
    tmpl, _ = enc.template()
    agreed = [i for i in range(len(tmpl)) if len({s[i] for s in inits}) == 1]
    if not agreed:
        return {}
    written: set[int] = set()
    for inst in enc.instances(tmpl):
        for br in inst.branches:
            if z3.is_false(br.ok):
                continue
            written.update(i for i in agreed if not br.state[i].eq(tmpl[i]))
    return {i: inits[0][i] for i in agreed if i not in written}


def describe_frozen(layout: Layout, frozen: dict[int, int]) -> str:
    """The frozen slots for a note: the vars, budgets and kinds' fields they are (`exists`:
    the presence flag), a field frozen in only some of its kind's slots with their numbers."""
    names: dict[str, None] = {}
    for v in layout.vars:
        if v.index in frozen:
            names[v.name] = None
    for b in layout.budgets:
        if b.index in frozen:
            names[f"budget.{b.fault}"] = None
    for k in layout.kinds:
        for label, offset in [("exists", 0), *[(f.name, f.offset) for f in k.fields]]:
            slots = [n for n in range(k.slots) if k.slot_base(n) + offset in frozen]
            if not slots:
                continue
            which = "" if len(slots) == k.slots else " of " + ", ".join(f"#{n}" for n in slots)
            names[f"{k.name}.{label}{which}"] = None
    return ", ".join(names)
