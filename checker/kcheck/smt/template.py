"""Terms about a state by renaming (spec/smt.md, "Unrolling"): every state an unrolling asks
about is a tuple of fresh constants, and the encoder's terms depend on a state only through
them, so the action instances of state i (and a property's formulas in it) are those of one
template state with its constants renamed. Building them is Python walking the model (about a
second a state for the scheduler_plugins models); renaming is one Z3 `substitute` over every
distinct term at once, packed as the arguments of one application, so that the terms they
share are renamed once. The renamed terms are the very terms a direct encoding builds (Z3
shares equal terms; tests/smt/test_template.py holds every model in models/ to that).

A state that is not made of distinct fresh constants (a concrete state, a term) is encoded
directly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import z3  # type: ignore[import-untyped]

from kcheck.smt.sets import Bits
from kcheck.smt.terms import Branch, Instance, Term


def state_constants(
    st: tuple[Term, ...], sets: Bits, pinned: dict[int, tuple[Term, list[Term]]] | None = None
) -> list[Term] | None:
    """The fresh constants `st` is made of, in order (a set slot: its Bools), or None when it
    is not made only of distinct ones. A slot of `pinned` (slot -> its term, what stands for
    its constants) that holds its pinned term stands for the template's constants with those
    values (smt/frozen.py)."""
    out: list[Term] = []
    for i, x in enumerate(st):
        pin = pinned.get(i) if pinned else None
        if pin is not None and x.eq(pin[0]):
            out.extend(pin[1])
            continue
        if _constant(x):
            out.append(x)
            continue
        bits = sets.known_bits(x)
        if bits is None or not all(_constant(b) for b in bits):
            return None
        out.extend(bits)
    named = [x for x in out if _constant(x)]  # not the pinned values, which may repeat
    if len({x.get_id() for x in named}) != len(named):
        return None
    return out


def _constant(x: Term) -> bool:
    return bool(z3.is_const(x)) and x.decl().kind() == z3.Z3_OP_UNINTERPRETED


class Renaming:
    """Terms built over the template state `state` (made of `constants`), renamed onto others."""

    def __init__(self, state: tuple[Term, ...], constants: list[Term], terms: Sequence[Term]):
        self.constants = constants
        self.own = {x.get_id(): i for i, x in enumerate(state)}  # a slot's term as it is
        self.distinct: list[Term] = []  # the distinct terms that are not one of those
        self.slot: dict[int, int] = {}
        for t in terms:
            if t.get_id() not in self.own and t.get_id() not in self.slot:
                self.slot[t.get_id()] = len(self.distinct)
                self.distinct.append(t)
        sorts = [t.sort() for t in self.distinct]
        self.pack = z3.Function("_kcheck_pack", *sorts, z3.BoolSort()) if sorts else None

    def onto(self, st: tuple[Term, ...], constants: list[Term]) -> Callable[[Term], Term]:
        """The renaming onto state `st` (made of `constants`) of each term given at the start."""
        renamed: list[Term] = []
        if self.pack is not None:
            pairs = list(zip(self.constants, constants, strict=True))
            app = z3.substitute(self.pack(*self.distinct), *pairs)
            renamed = [app.arg(i) for i in range(app.num_args())]

        def new(t: Term) -> Term:
            i = self.own.get(t.get_id())
            return st[i] if i is not None else renamed[self.slot[t.get_id()]]

        return new


def rename_instances(
    insts: list[Instance], renaming: Renaming, st: tuple[Term, ...], constants: list[Term]
) -> list[Instance]:
    """The template state's instances `insts` (whose terms `renaming` was made from) in `st`."""
    new = renaming.onto(st, constants)
    return [
        Instance(
            inst.action,
            inst.args,
            tuple(
                Branch(
                    new(b.ok),
                    tuple(new(x) for x in b.state),
                    {k: (new(v), ty) for k, (v, ty) in b.env.items()},
                )
                for b in inst.branches
            ),
            new(inst.fail),
        )
        for inst in insts
    ]


def instance_terms(insts: list[Instance]) -> list[Term] | None:
    """Every term of `insts`, or None when a branch's local holds something other than a Z3
    term (which renaming would leave as it is)."""
    out: list[Term] = []
    for inst in insts:
        out.append(inst.fail)
        for b in inst.branches:
            out.append(b.ok)
            out.extend(b.state)
            for v, _ in b.env.values():
                if not isinstance(v, z3.ExprRef):
                    return None
                out.append(v)
    return out
