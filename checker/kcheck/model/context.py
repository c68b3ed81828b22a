"""What the code-generation stages share (expr, stmt, actions, scheduler, controller_codegen,
properties): the generated source being accumulated, the model's facts every stage reads (its
symbols, state layout, stale watches, split actions), and the few switches that say how the code
being emitted right now is to be generated. compile.py builds one `CompileContext` per model and
hands it to each stage; no stage owns another's state.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from kcheck.lang.symbols import Symbols
from kcheck.model.controller_state import Split
from kcheck.model.coverage import Cover
from kcheck.model.env import Ctx, Env
from kcheck.model.ir import BudgetLayout, KindLayout, Layout, VarLayout
from kcheck.model.runtime import RAISING


class Source:
    """Accumulates generated Python source with indentation."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 0
        self.counter = itertools.count()

    def fresh(self, stem: str) -> str:
        # hidden locals have names no model can write (`for@9:5`, lang/steps.py)
        return f"{stem.replace('@', '_').replace(':', '_')}_{next(self.counter)}"

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)

    def source(self) -> str:
        return "\n".join(self.lines) + "\n"


@dataclass(frozen=True)
class Watches:
    """How controllers see the world (from controller_state): the kinds each reads through a
    cache, stale or coalesced, and its actions split by `step`."""

    stale: dict[str, tuple[str, ...]]  # controller -> kinds it reads through a cache
    coalesced: set[tuple[str, str]]
    unsynced: set[tuple[str, str]]
    watchers: dict[str, tuple[str, ...]]  # kind -> controllers that cache it
    splits: dict[tuple[str, str], Split]


@dataclass
class CompileContext:
    """One model's code generation: its facts (fixed once the layout is known) and the switches
    that the stages set around the code they emit."""

    sym: Symbols
    gen: Source
    layout: Layout
    watches: Watches
    # kinds that a real reference may name after the object is gone (a dangling reference,
    # spec/language.md section 7): reads through such references are checked
    dangling: set[str]
    # symmetric kinds that nothing refers to: twin objects' action instances may be pruned
    prunable: set[str] = field(default_factory=set)
    hoist: dict[str, str] | None = None  # code -> local, while emitting a hot function
    hoist_lines: dict[str, list[str]] = field(default_factory=dict)  # local -> its statements
    copies: int = 1  # how many unrolled copies of the code being generated there will be
    deleted: set[str] = field(default_factory=set)  # kinds this step may have deleted from
    # In the per-action generators a failing instance or choice yields its StepError and the
    # enumeration goes on, so every step that does not fail is still found.
    tolerant: bool = False
    tagged: bool = False  # hot successors as (action id, state) pairs, for liveness
    # While emitting the labelled (per-action) form: binding forms evaluate their terms one
    # by one and report the first error by cause (runtime._terms), so the error of a step,
    # not only whether it fails, is the same whatever the slot order. The hot forms only
    # need to fail exactly when some term fails; they never report the error.
    careful: bool = False
    # While compiling a controller that watches kinds stale: kind -> that controller, whose
    # cache its reads of the kind go through (its writes still go to the real objects).
    view: dict[str, str] = field(default_factory=dict)
    # While emitting the coverage form (model/coverage.py): its points and current path; the
    # labelled steps then also yield their path. None for every other form.
    cover: Cover | None = None

    def __post_init__(self) -> None:
        self.budget_index: dict[str, BudgetLayout] = {b.fault: b for b in self.layout.budgets}

    @property
    def stale(self) -> dict[str, tuple[str, ...]]:
        return self.watches.stale

    @property
    def coalesced(self) -> set[tuple[str, str]]:
        return self.watches.coalesced

    @property
    def unsynced(self) -> set[tuple[str, str]]:
        return self.watches.unsynced

    @property
    def splits(self) -> dict[tuple[str, str], Split]:
        return self.watches.splits

    @contextmanager
    def unrolled(self, n: int) -> Iterator[None]:
        saved = self.copies
        self.copies = saved * max(n, 1)
        try:
            yield
        finally:
            self.copies = saved

    def var(self, name: str) -> VarLayout:
        for v in self.layout.vars:
            if v.name == name:
                return v
        raise KeyError(name)

    # ---- the reading view: a stale controller reads its cache of a kind
    def pres_off(self, kname: str) -> int:
        """Offset of the presence flag that reads of `kname` see."""
        x = self.view.get(kname)
        return 0 if x is None else self.layout.kind(kname).field(f"@{x}").offset

    def field_off(self, k: KindLayout, fname: str) -> int:
        x = self.view.get(k.name)
        return k.field(fname if x is None else f"{fname}@{x}").offset

    # ---- control flow shared by actions, statements and the scheduler
    def emit_clauses(self, clauses: str, where: str | None, tolerant: bool = False) -> int | None:
        """Turn comprehension clauses `for v in X if t for w in Y` into nested loop headers.
        With `tolerant`, the tests go inside a `try` in the innermost loop (so that one value
        whose test fails does not end the loop); returns the depth to close it at."""
        g = self.gen
        parts = clauses.split(" for ")
        tests = []
        for i, part in enumerate(parts):
            part = part if i == 0 else "for " + part
            head, _, test = part.partition(" if ")
            g.emit(head + ":")
            g.depth += 1
            if test and not tolerant:
                g.emit(f"if not ({test}): continue")
            elif test:
                tests.append(test)
        if where and tolerant:
            tests.append(where)
        elif where:
            g.emit(f"if not ({where}): continue")
        if not tolerant:
            return None
        depth = self.open_try()
        for test in tests:
            g.emit(f"if not ({test}): continue")
        return depth

    def open_try(self) -> int:
        self.gen.emit("try:")
        self.gen.depth += 1
        return self.gen.depth - 1

    def close_try(self, depth: int) -> None:
        g = self.gen
        g.depth = depth
        g.emit("except StepError as _e:")
        path = "" if self.cover is None else f", {self.cover.path}"
        g.emit(f"    yield (_e.action, _e.args, _e{path})")

    def result(self, labelled: bool, aid: int, args: str) -> Callable[[Env, Ctx], None]:
        """The end of a step: yield it labelled, or append it to the hot function's list."""

        def emit(env: Env, ctx: Ctx) -> None:
            if labelled:
                path = "" if self.cover is None else f", {self.cover.path}"
                self.gen.emit(f"yield ({aid}, {args}, tuple({ctx.sv}){path})")
            elif self.tagged:
                self.gen.emit(f"_ap(({aid}, tuple({ctx.sv})))")
            else:
                self.gen.emit(f"_ap(tuple({ctx.sv}))")

        return emit

    def twin_guard(self, kname: str, slot: str) -> str | None:
        """When pruning, the condition that object `slot` is not a twin of the one before it.

        Two objects of a symmetric kind that nothing refers to, with identical blocks, can be
        swapped without changing the state; so an action instance on the second gives a
        permutation of what the same instance on the first gives, and only the first is
        needed. In a canonical state twins are adjacent, so comparing neighbours finds them."""
        if kname not in self.prunable or not is_const(slot) or int(slot) == 0:
            return None
        k = self.layout.kind(kname)
        a, b = k.slot_base(int(slot)), k.slot_base(int(slot) - 1)
        return " or ".join(f"s[{a + o}] != s[{b + o}]" for o in range(k.stride))


def is_const(code: str) -> bool:
    return code.lstrip("-").isdigit()


def index(base: int, slot: str, stride: int, offset: int = 0) -> str:
    """Code for the state index of the cell at `offset` in the object at `slot`."""
    if is_const(slot):
        return str(base + int(slot) * stride + offset)
    return f"{base + offset} + ({slot}) * {stride}"


def raises(code: str) -> bool:
    """Whether generated code may raise StepError."""
    return any(h in code for h in RAISING)
