"""The Z3 transition relation against the compiled model's, state by state: on every state the
explicit engine reaches (without symmetry, up to a bound), the encoder's action instances, with
the state's values as Z3 constants, simplify to exactly the compiled model's outcomes: the same
successors for each action instance, and a failure exactly where the compiled step raises. This
pins the encoding of what controllers remember (caches, handlers, `step`, `restart`), whose
hidden state the two engines share slot for slot."""

from __future__ import annotations

from collections import defaultdict

import z3  # type: ignore[import-untyped]

from kcheck.lang.symbols import Symbols
from kcheck.model.ir import CompiledModel, State, StepError
from kcheck.smt.encode import Encoder

Key = tuple[int, tuple[int, ...]]


def reachable(model: CompiledModel, limit: int) -> list[State]:
    """The states reachable from the initial ones, breadth first, at most `limit`."""
    seen: dict[State, None] = dict.fromkeys(model.initial())
    frontier = list(seen)
    while frontier and len(seen) < limit:
        nxt: list[State] = []
        for s in frontier:
            for _, _, t in model.labelled_successors(s):
                if t not in seen and len(seen) < limit:
                    seen[t] = None
                    nxt.append(t)
        frontier = nxt
    return list(seen)


def _const(t: object) -> int | bool:
    v = z3.simplify(t)
    if z3.is_true(v) or z3.is_false(v):
        return bool(z3.is_true(v))
    assert z3.is_int_value(v), v
    return int(v.as_long())


def encoded(enc: Encoder, s: State) -> dict[Key, tuple[set[State], bool]]:
    """Per action instance: (its successors, whether it fails), from the Z3 terms."""
    st = tuple(z3.IntVal(int(v)) for v in s)
    out: dict[Key, tuple[set[State], bool]] = {}
    for inst in enc.instances(st):
        succ = {tuple(int(_const(x)) for x in br.state) for br in inst.branches if _const(br.ok)}
        out[(inst.action, inst.args)] = (succ, bool(_const(inst.fail)))
    return out


def compiled(model: CompiledModel, s: State) -> tuple[dict[Key, set[State]], set[Key], set[int]]:
    """(successors per instance, instances that raise, actions whose generator stopped)."""
    succ: dict[Key, set[State]] = defaultdict(set)
    fails: set[Key] = set()
    stopped: set[int] = set()
    for aid, outcomes in enumerate(model.action_outcomes):
        for a, args, t in outcomes(s):
            if isinstance(t, StepError):
                fails.add((a, args))
                stopped.add(aid)
            else:
                succ[(a, args)].add(tuple(t))
    return succ, fails, stopped


def assert_same_steps(model: CompiledModel, sym: Symbols, limit: int = 400) -> int:
    """Check every reachable state (up to `limit`); returns how many were checked."""
    enc = Encoder(model, sym)
    states = reachable(model, limit)
    init_terms = enc.fresh_state("i")
    ok, _fail = enc.initial(init_terms)
    solver = z3.Solver()
    solver.add(ok)
    inits: set[State] = set()
    while solver.check() == z3.sat and len(inits) <= 64:  # the initial states, enumerated
        m = solver.model()
        s0 = tuple(m.eval(v, model_completion=True).as_long() for v in init_terms)
        inits.add(s0)
        solver.add(z3.Or(*[v != x for v, x in zip(init_terms, s0, strict=True)]))
    assert inits == set(model.initial()), (inits, model.initial())
    for s in states:
        z = encoded(enc, s)
        succ, fails, stopped = compiled(model, s)
        for key in fails:
            assert z.get(key, (set(), False))[1], (s, key, "compiled fails, Z3 does not")
        for key, (zs, zf) in z.items():
            if key[0] in stopped:
                continue
            assert not zf, (s, key, "Z3 fails, compiled does not")
            assert zs == succ.get(key, set()), (s, key, zs, succ.get(key))
        for key in succ:
            if key[0] not in stopped:
                assert key in z, (s, key, "no Z3 instance")
    return len(states)
