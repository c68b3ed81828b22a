"""The compiled model: the state layout, the actions, the invariants. Engine-neutral: the explorer,
the Z3 engine and the live interpreter all consume this.

A state is one flat tuple of small ints: global vars, then one spent-budget counter per fault,
then each kind's slots at fixed offsets (a presence flag followed by the fields). Enums are
their member index, bools 0/1, references the slot index of the target (`none` is -1), and
sets bitmasks over enum members or slots. Absent slots are all zeros, so equal worlds have
equal tuples.

Controllers' own memory is state too, kept in hidden fields and vars whose names contain `@`
(spec/faults.md): the informer cache of a controller X that `watches K stale` is a copy of each
K field in K's own blocks (`@X` is the cached presence flag, `f@X` the cached f), so that
symmetry moves an object and its cached copy together; an action split by `step` keeps its
position and its locals (`X:A@step`, `X:A@name`) in the block of the object it works on, or in
vars when it has no binder. A cached object may outlive the real one, so a block whose real
presence flag is 0 is not necessarily all zeros: each field names the flag that guards it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from kcheck.lang.types import TBool, TEnum, TInt, TRef, TSet, Type
from kcheck.result import Asked

if TYPE_CHECKING:  # a distributed search's worker imports this module: its start-up time
    from kcheck.lang import ast
    from kcheck.model.coverage import CoverCode

State: TypeAlias = tuple[int, ...]


class StepError(Exception):
    """A step left the model's bounds: no free slot, a value out of range, a `none`
    dereference, a dangling reference, or a division by zero. Raised by generated code."""

    def __init__(self, code: str, message: str, action: int, args: tuple[int, ...], line: int):
        super().__init__(message)
        self.code = code
        self.message = message
        self.action = action
        self.args = args
        self.line = line


@dataclass(frozen=True)
class VarLayout:
    name: str
    type: Type
    index: int


@dataclass(frozen=True)
class FieldLayout:
    name: str
    type: Type
    offset: int  # within the object's block; the presence flag is offset 0
    presence: int = 0  # offset of the flag that says whether this field holds a value

    @property
    def hidden(self) -> bool:
        """A controller's cache or in-flight state, not a field of the model's kind."""
        return "@" in self.name


@dataclass(frozen=True)
class KindLayout:
    name: str
    base: int
    slots: int
    stride: int
    fields: tuple[FieldLayout, ...]
    symmetric: bool  # slots may be permuted by symmetry reduction

    def slot_base(self, slot: int) -> int:
        return self.base + slot * self.stride

    def field(self, name: str) -> FieldLayout:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


@dataclass(frozen=True)
class BudgetLayout:
    fault: str
    index: int
    budget: int


@dataclass(frozen=True)
class Layout:
    width: int
    vars: tuple[VarLayout, ...]
    budgets: tuple[BudgetLayout, ...]
    kinds: tuple[KindLayout, ...]
    enums: dict[str, tuple[str, ...]]
    # positions that no step can change, whatever `init` put there (model/layout.py): the
    # packed store keeps them out of every stored state
    fixed: frozenset[int] = frozenset()

    def kind(self, name: str) -> KindLayout:
        for k in self.kinds:
            if k.name == name:
                return k
        raise KeyError(name)

    def show_value(self, ty: Type, v: int) -> Any:
        """A state value as JSON shows it."""
        match ty:
            case TBool():
                return bool(v)
            case TEnum(name=e):
                members = self.enums[e]
                return members[v] if 0 <= v < len(members) else v
            case TRef(kind=k):
                return None if v < 0 else f"{k}#{v}"
            case TSet(elem=e):
                if e in self.enums:
                    return [m for i, m in enumerate(self.enums[e]) if v >> i & 1]
                return [f"{e}#{i}" for i in range(v.bit_length()) if v >> i & 1]
            case TInt():
                return v
        return v

    def decode(self, s: State) -> dict[str, Any]:
        """The readable form of a state: vars by name, each kind's live objects by id; then
        each controller's cache (`X@K`: its copy of K's objects) and its in-flight actions
        (`X:A`: where each stopped, and its locals)."""
        # here, not at the top: lang.lists imports the syntax tree, which a distributed worker,
        # that never displays a state, does without (tests/cli/test_startup.py)
        from kcheck.lang.lists import fold_lists

        out: dict[str, Any] = {}
        hidden: dict[str, dict[str, dict[str, Any]]] = {}
        for var in self.vars:
            if var.name.endswith("@step"):
                group = var.name[: -len("@step")]
                if s[var.index]:
                    hidden.setdefault(group, {})[f"{group}#-"] = self._in_flight(
                        s, group, [(v.name, v.type, v.index) for v in self.vars]
                    )
            elif var.name.endswith("@changed"):  # `unchanged(x)`'s set, by its cache
                ctl, _, kname = var.name[: -len("@changed")].partition(".")
                out[f"{ctl}@{kname}@changed"] = self.show_value(var.type, s[var.index])
            elif var.name.endswith("@writes"):  # `seen_own_writes(K)`'s bit, by its cache
                ctl, _, kname = var.name[: -len("@writes")].partition(".")
                out[f"{ctl}@{kname}@unseen_writes"] = bool(s[var.index])
            elif "@" not in var.name:
                out[var.name] = self.show_value(var.type, s[var.index])
        for b in self.budgets:
            out[f"budget.{b.fault}"] = b.budget - s[b.index]
        for k in self.kinds:
            real = [f for f in k.fields if not f.hidden]
            objs: dict[str, dict[str, Any]] = {}
            for slot in range(k.slots):
                sb = k.slot_base(slot)
                if s[sb]:
                    # a list's length and slots show as one value (lang/lists.py)
                    objs[f"{k.name}#{slot}"] = fold_lists(
                        {f.name: self.show_value(f.type, s[sb + f.offset]) for f in real}
                    )
                fields = [(f.name, f.type, sb + f.offset) for f in k.fields]
                for f in k.fields:
                    if f.name.startswith("@") and s[sb + f.offset]:
                        x = f.name[1:]
                        hidden.setdefault(f"{x}@{k.name}", {})[f"{x}@{k.name}#{slot}"] = {
                            g.name: self.show_value(g.type, s[sb + c.offset])
                            for g in real
                            for c in k.fields
                            if c.name == f"{g.name}@{x}"
                        }
                    elif f.name.endswith("@step") and s[sb + f.offset]:
                        group = f.name[: -len("@step")]
                        hidden.setdefault(group, {})[f"{group}#{k.name}#{slot}"] = self._in_flight(
                            s, group, fields
                        )
            out[k.name] = objs
            for f in k.fields:  # a coalesced watch's own writes not delivered yet, by object
                if f.name.startswith("+own@"):
                    mask = sum(1 << i for i in range(k.slots) if s[k.slot_base(i) + f.offset])
                    out[f"{f.name[5:]}@{k.name}@unseen_writes"] = self.show_value(
                        TSet(k.name), mask
                    )
            for f in k.fields:  # a cache shows even when empty: "it has seen nothing yet"
                if f.name.startswith("@"):
                    hidden.setdefault(f"{f.name[1:]}@{k.name}", {})
        out.update(sorted(hidden.items()))
        return out

    def _in_flight(
        self, s: State, group: str, cells: list[tuple[str, Type, int]]
    ) -> dict[str, Any]:
        """An action stopped at a `step`: the step it runs next (1 is the first) and its
        locals."""
        shown: dict[str, Any] = {}
        for name, ty, index in cells:
            if name == f"{group}@step":
                shown["next_step"] = s[index] + 1
            elif name.startswith(f"{group}@"):
                shown[name[len(group) + 1 :]] = self.show_value(ty, s[index])
        return shown


@dataclass(frozen=True)
class ActionInfo:
    id: int
    actor: str
    actor_kind: str  # "controller", "process", "scheduler" or "fault"
    name: str
    fairness: str  # "weak", "strong" or "unfair"
    params: tuple[tuple[str, Type], ...]  # the header's binders, which label each instance
    span: ast.Span

    @property
    def label(self) -> str:
        return f"{self.actor}.{self.name}"


@dataclass(frozen=True)
class DeadlineInfo:
    """An action with `within` (spec/language.md, "Time"): `due(s)` is true when its deadline
    blocks the tick in `s` (enabled for its N ticks, or enabled at all for `within 0`)."""

    label: str  # ACTOR.action
    due: Callable[[State], bool]


@dataclass(frozen=True)
class InvariantInfo:
    name: str
    span: ast.Span
    holds: Callable[[State], bool]
    lemma: bool = False  # declared `lemma`: checked as an invariant, assumable once proved
    # `holds`, evaluated so that a failure names the error the spec says (the first by cause,
    # not by slot: spec/language.md section 7); slower, for explaining failures only
    careful: Callable[[State], bool] | None = None

    def error(self, s: State) -> StepError | None:
        """Why the invariant cannot be evaluated in `s`, or None if it can."""
        try:
            (self.careful or self.holds)(s)
        except StepError as err:
            return err
        return None


@dataclass(frozen=True)
class PropertyInfo:
    """A temporal property and its state formulas: (P,) for `eventually always P`,
    `always eventually P` and `always P`; (P, Q) for `P leads_to Q`."""

    name: str
    span: ast.Span
    shape: str  # "eventually always", "always eventually", "leads_to", "always"
    predicates: tuple[Callable[[State], bool], ...] = ()
    quantified: bool = False  # under `forall`: checked once per binding, without symmetry
    # (binding label, predicates) per binding of the `forall` binders; empty when the
    # property cannot be checked binding by binding (see properties.instances)
    instances: tuple[tuple[str, tuple[Callable[[State], bool], ...]], ...] = ()
    # per binding, the predicates evaluated so that a failure names the error the spec says
    # (the first by cause, not by slot: spec/language.md section 7), for explaining only
    careful: tuple[tuple[Callable[[State], bool], ...], ...] = ()


Successors: TypeAlias = Callable[[State], list[State]]
LabelledSuccessors: TypeAlias = Callable[[State], Iterator[tuple[int, tuple[int, ...], State]]]
# Per action: every outcome of every instance in a state, a next state or the StepError of an
# instance (or choice) that fails; the others are still enumerated.
Outcomes: TypeAlias = Callable[[State], Iterator[tuple[int, tuple[int, ...], "State | StepError"]]]


@dataclass(frozen=True)
class BoundSource:
    """A bound the model declares: a kind's number of slots (`what` is the kind) or the upper end
    of a var's or field's range (`what` is `x` or `Kind.field`), and what sets it."""

    what: str
    written: str  # the declaration's bound as written: `PODS`, `4`, `MAX_REPLICAS + 1`
    line: int
    value: int  # the number of slots, or the range's upper end
    name: str | None  # the const it is, when it is exactly one: `-D NAME=...` raises it
    names: tuple[
        str, ...
    ]  # every const the bound is computed from (sizes and ranges take no param)


@dataclass(frozen=True)
class CompiledModel:
    name: str
    layout: Layout
    actions: tuple[ActionInfo, ...]
    initial: Callable[[], list[State]]
    successors: Successors
    # Up to symmetry the same successors, fewer duplicates: valid only for a search that
    # canonicalises every state it stores.
    symmetric_successors: Successors
    # The same two, as (action id, next state) pairs: liveness needs to know which action
    # took each step.
    tagged_successors: Callable[[State], list[tuple[int, State]]]
    tagged_symmetric_successors: Callable[[State], list[tuple[int, State]]]
    action_outcomes: tuple[Outcomes, ...]
    invariants: tuple[InvariantInfo, ...]
    properties: tuple[PropertyInfo, ...]
    canonicalize: Callable[[State], State] | None
    symmetry_notes: tuple[str, ...]
    python_source: str = field(repr=False)
    # where each declared bound comes from, to tell a user how to raise it (model/bounds.py)
    bounds: tuple[BoundSource, ...] = ()
    # the guard and branch counting form, compiled only when asked (model/coverage.py)
    coverage: CoverCode | None = field(default=None, repr=False)
    # the actions with `within`, in declaration order (empty in a model without time)
    deadlines: tuple[DeadlineInfo, ...] = ()

    @property
    def timed(self) -> bool:
        """Has the model time, the generated `time.tick` (kcheck/lang/time.py)?"""
        return any(a.actor == "time" and a.name == "tick" for a in self.actions)

    @property
    def action_steps(self) -> tuple[LabelledSuccessors, ...]:
        """Per action, its successors (action id, args, next state); raises the StepError of
        the first instance that fails."""
        return tuple(_raising(outcomes) for outcomes in self.action_outcomes)

    def labelled_successors(self, s: State) -> Iterator[tuple[int, tuple[int, ...], State]]:
        """Every successor of `s` with its action and arguments; failing steps are left out."""
        for outcomes in self.action_outcomes:
            for aid, args, t in outcomes(s):
                if not isinstance(t, StepError):
                    yield aid, args, t

    def invariant(self, name: str) -> InvariantInfo:
        for inv in self.invariants:
            if inv.name == name:
                return inv
        raise KeyError(name)

    def asked(
        self, invariants: Sequence[str] | None, properties: Sequence[str] | None
    ) -> list[Asked]:
        """What a run selecting these invariants and properties (None: all of that sort) is
        asked about: every engine's answer must account for each (CheckResult.account_for)."""
        return [
            Asked(p.name, kind, p.span.line)
            for kind, declared, chosen in (
                ("invariant", self.invariants, invariants),
                ("property", self.properties, properties),
            )
            for p in declared
            if chosen is None or p.name in chosen
        ]

    def describe_args(self, action: int, args: Sequence[int]) -> dict[str, Any]:
        info = self.actions[action]
        return {
            name: self.layout.show_value(ty, v)
            for (name, ty), v in zip(info.params, args, strict=False)
        }


def _raising(outcomes: Outcomes) -> LabelledSuccessors:
    def step(s: State) -> Iterator[tuple[int, tuple[int, ...], State]]:
        for aid, args, t in outcomes(s):
            if isinstance(t, StepError):
                raise t
            yield aid, args, t

    return step
