"""The mutation campaign (issue 13, "Soundness first"; spec/smt.md, "How the Z3 answers are
checked"): correct models mutated at the source level the way a real bug would change them,
each mutant judged by the explicit engine and then by the Z3 engines, which must never
contradict it.

Mutations (each one edit of the model's text, found through the parsed tree's spans):
- `cmp`: a comparison flipped (`<` and `<=`, `>` and `>=`, `==` and `!=`);
- `conjunct`: one side of an `and` dropped;
- `guard`: an action's `when`/`where`, an `if`, `choose` or `for` condition made `true`;
- `swap`: two neighbouring statements of a block swapped;
- `const`: an integer literal changed by one, up or down;
- `delete`: an assignment deleted.
Mutants the front end rejects are counted and dropped; the others are "accepted".

`compare` runs one mutant: the explicit search, then `--engine induction` (plain), optionally
`--engine induction --infer`, then `--engine bmc` at the depth of the longest shortest
counterexample the explicit search found. What must never happen is listed in `Comparison.
wrong`: induction `holds` (or a proof "for the states within bounds") for an invariant the
explicit search finds violated, induction `violated` where the complete explicit search says
holds, induction proving that no step leaves the bounds where the explicit search finds one that
does, BMC missing a violation within its depth (unless Z3 said unknown), or a trace of either
Z3 engine that does not replay on the model (explore/replay.py)."""

from __future__ import annotations

import random
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, is_dataclass
from itertools import pairwise
from pathlib import Path

from kcheck.engines.dispatch import EngineFailure, EngineOptions, Refused, check
from kcheck.explore.bfs import Limits
from kcheck.explore.replay import TraceMismatch, check_counterexample
from kcheck.lang import ast
from kcheck.lang.diagnostics import KcheckError, Source
from kcheck.lang.frontend import check_source
from kcheck.lang.parser import parse
from kcheck.model.compile import compile_model
from kcheck.model.ir import CompiledModel
from kcheck.result import HOLDS, VIOLATED, CheckResult, PropertyResult

MODELS = Path(__file__).resolve().parents[2] / "models"
FLIP = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "=="}
# the declarations whose text is mutated: the system, its lemmas and invariants (a false lemma
# must not prove anything); not temporal properties (the Z3 engines do not check them) or the
# manifest and docker mappings
MUTATED = (
    ast.Const, ast.Def, ast.Init, ast.Controller, ast.Process, ast.Fault, ast.Scheduler,
    ast.Invariant,
)  # fmt: skip


@dataclass(frozen=True)
class Mutant:
    model: str  # the file's stem
    op: str  # cmp, conjunct, guard, swap, const, delete
    line: int  # where the edit starts
    part: str  # "system", "lemma" or "invariant": the declaration the edit lands in
    text: str  # the whole mutated model

    @property
    def label(self) -> str:
        return f"{self.model}:{self.line} {self.op} ({self.part})"


def correct_models() -> list[Path]:
    """The models that say `// expect: holds` (the smt_*.kdsl ones among them)."""
    return sorted(p for p in MODELS.glob("*.kdsl") if "// expect: holds" in p.read_text())


def mutants(path: Path) -> list[Mutant]:
    """Every mutant of the model at `path`, in source order, each text once."""
    text = path.read_text()
    program = parse(Source(str(path), text))
    starts = [0]
    for line in text.split("\n"):
        starts.append(starts[-1] + len(line) + 1)

    def off(line: int, col: int) -> int:
        return starts[line - 1] + col - 1

    def cut(span: ast.Span) -> tuple[int, int]:
        return off(span.line, span.col), off(span.end_line, span.end_col)

    seen = {text}
    out: list[Mutant] = []

    def add(op: str, line: int, part: str, edits: list[tuple[int, int, str]]) -> None:
        new = text
        for a, b, rep in sorted(edits, reverse=True):
            new = new[:a] + rep + new[b:]
        if new not in seen:
            seen.add(new)
            out.append(Mutant(path.stem, op, line, part, new))

    for decl in program.decls:
        if not isinstance(decl, MUTATED):
            continue
        part = "system"
        if isinstance(decl, ast.Invariant):
            part = "lemma" if decl.lemma else "invariant"
        for node in _nodes(decl):
            if isinstance(node, ast.Binary) and node.op in FLIP:
                a, b = cut(node.op_span)
                add("cmp", node.op_span.line, part, [(a, b, FLIP[node.op])])
            if isinstance(node, ast.Binary) and node.op == "and":
                a, b = cut(node.span)
                for keep in (node.left, node.right):
                    ka, kb = cut(keep.span)
                    add("conjunct", node.span.line, part, [(a, b, f"({text[ka:kb]})")])
            if isinstance(node, ast.IntLit) and not isinstance(decl, ast.Invariant):
                a, b = cut(node.span)
                for d in (1, -1):
                    if node.value + d >= 0:
                        add("const", node.span.line, part, [(a, b, str(node.value + d))])
            guards: list[ast.Expr | None] = []
            if isinstance(node, ast.Action):
                guards = [node.where, node.when]
            elif isinstance(node, ast.If):
                guards = [node.cond]
            elif isinstance(node, ast.Choose | ast.For):
                guards = [node.where]
            for g in guards:
                if g is not None and not isinstance(g, ast.BoolLit):
                    a, b = cut(g.span)
                    add("guard", g.span.line, part, [(a, b, "true")])
            if isinstance(node, ast.Block):
                stmts = node.stmts
                for s, t in pairwise(stmts):
                    (a, b), (c, d) = cut(s.span), cut(t.span)
                    add("swap", s.span.line, part, [(a, b, text[c:d]), (c, d, text[a:b])])
                for s in stmts:
                    if isinstance(s, ast.Assign | ast.AssignAny):
                        a, b = cut(s.span)
                        add("delete", s.span.line, part, [(a, b, "")])
    return out


def _nodes(node: object) -> Iterator[object]:
    """`node` and every AST node under it, depth first."""
    yield node
    if isinstance(node, tuple):
        for x in node:
            yield from _nodes(x)
        return
    if not is_dataclass(node) or isinstance(node, ast.Span):
        return
    for f in fields(node):
        if "span" not in f.name:
            yield from _nodes(getattr(node, f.name))


def sample(pool: list[Mutant], n: int, seed: int) -> list[Mutant]:
    """`n` of `pool` (all when fewer), chosen by `seed`, in a stable order."""
    if len(pool) <= n:
        return list(pool)
    return random.Random(seed).sample(pool, n)


# --------------------------------------------------------------------------- one comparison


@dataclass(frozen=True)
class Budget:
    max_states: int = 200_000  # the explicit search; past it only its violations are used
    explicit_s: float = 20.0
    z3_s: float = 20.0  # each Z3 run
    max_k: int = 3
    max_depth: int = 12  # BMC never deeper than this
    infer: bool = True
    # run the Z3 engines on mutants the explicit search does not refute too (a proof there is
    # checked against a complete search only)
    z3_on_unrefuted: bool = True


@dataclass
class Comparison:
    mutant: Mutant
    accepted: bool = False  # the front end and the explicit engine took it
    violated: dict[str, int] = field(default_factory=dict)  # by explicit: shortest length
    explicit_complete: bool = False
    refused: str = ""  # why the Z3 engines refused it
    proved: list[str] = field(default_factory=list)  # invariants induction (plain) proved
    proved_inferred: list[str] = field(default_factory=list)  # ... with --infer
    infer_tried: bool = False
    unproved_violated: int = 0  # violated invariants induction did not prove (as it must)
    bmc_caught: int = 0
    bmc_unknown: int = 0  # Z3 gave up before the depth
    wrong: list[str] = field(default_factory=list)  # every soundness failure, in words
    crash: str = ""  # an exception no engine should raise on a model the front end took
    seconds: float = 0.0


def compare(m: Mutant, budget: Budget) -> Comparison:
    t0 = time.monotonic()
    out = Comparison(m)
    try:
        _compare(m, budget, out)
    except Exception as err:  # a crash is a finding, reported with its mutant
        out.crash = "".join(traceback.format_exception_only(err)).strip()
    finally:
        out.seconds = time.monotonic() - t0
    return out


def _compare(m: Mutant, budget: Budget, out: Comparison) -> None:
    source = Source(f"{m.model}.mutant.kdsl", m.text)
    try:
        checked = check_source(source)
    except KcheckError:
        return
    model = compile_model(checked.symbols)
    limits = Limits(max_states=budget.max_states, timeout=budget.explicit_s)
    try:
        # the invariants and bounds only: the Z3 engines do not check temporal properties
        explicit = check(model, checked.symbols, None, [], EngineOptions("explicit", limits))
    except Refused:
        return
    out.accepted = True
    out.explicit_complete = explicit.limit is None
    invariants = {i.name for i in checked.symbols.invariants}
    for p in explicit.properties:
        if p.kind == "invariant" and p.status == VIOLATED and p.trace is not None:
            out.violated[p.name] = len(p.trace)
    if not out.violated and not budget.z3_on_unrefuted:
        return
    z3_limits = Limits(timeout=budget.z3_s)
    names = sorted(invariants)
    try:
        plain = check(model, checked.symbols, names, [],
                      EngineOptions("induction", z3_limits, max_k=budget.max_k))  # fmt: skip
    except Refused as err:
        out.refused = str(err)
        return
    except EngineFailure as err:
        out.wrong.append(f"induction: a trace that does not replay: {err}")
        return
    out.proved = _judge("induction", model, plain, explicit, out)
    # --infer where a wrong proof would matter: a mutant the explicit search refutes
    if budget.infer and out.violated and plain.verdict != HOLDS:
        from kcheck.engines.infer import with_inferred

        out.infer_tried = True
        try:
            inferred = with_inferred(plain, source, None, budget.max_k, budget.z3_s)
        except Refused as err:
            out.wrong.append(f"--infer refused what plain induction took: {err}")
        else:
            out.proved_inferred = _judge("induction --infer", model, inferred, explicit, out)
    proved = set(out.proved) | set(out.proved_inferred)
    out.unproved_violated = len([n for n in out.violated if n not in proved])
    if not out.violated:
        return
    depth = min(budget.max_depth, max(out.violated.values()))
    try:
        bmc = check(model, checked.symbols, names, [],
                    EngineOptions("bmc", z3_limits, depth=depth))  # fmt: skip
    except EngineFailure as err:
        out.wrong.append(f"bmc: a trace that does not replay: {err}")
        return
    _judge("bmc", model, bmc, explicit, out)
    by_name = {p.name: p for p in bmc.properties}
    for name, length in out.violated.items():
        if length > depth:
            continue
        p = by_name[name]
        if p.status == VIOLATED:
            out.bmc_caught += 1
            if p.trace is not None and len(p.trace) != length:
                out.wrong.append(f"bmc: {name} in {len(p.trace)} steps, explicit in {length}")
        elif (p.reason or "").startswith("Z3 answered unknown"):
            out.bmc_unknown += 1
        else:
            out.wrong.append(f"bmc depth {depth} missed {name} (explicit: {length} steps)")


def _judge(
    engine: str,
    model: CompiledModel,
    z3: CheckResult,
    explicit: CheckResult,
    out: Comparison,
) -> list[str]:
    """The invariants `z3` proved; every contradiction of the explicit result into out.wrong."""
    theirs = {p.name: p for p in explicit.properties}
    complete = explicit.limit is None
    proved = []
    for p in z3.properties:
        if p.status == VIOLATED:
            _replays(engine, model, p, out)
        if p.kind != "invariant":
            continue
        e = theirs[p.name]
        if p.status == HOLDS:
            proved.append(p.name)
        if e.status == VIOLATED and (p.status == HOLDS or p.proof is not None):
            out.wrong.append(f"{engine}: {p.name} {p.status} ({p.reason}), but the explicit "
                             f"search violates it in {len(e.trace or ())} steps")  # fmt: skip
        elif p.status == HOLDS and complete and e.status != HOLDS:
            out.wrong.append(f"{engine}: {p.name} holds, explicit says {e.status} ({e.reason})")
        elif p.status == VIOLATED and complete and e.status == HOLDS:
            out.wrong.append(f"{engine}: {p.name} violated, the complete explicit search "
                             "says it holds")  # fmt: skip
        elif (
            p.status == VIOLATED and e.status == VIOLATED and engine != "bmc"
            and p.trace is not None and e.trace is not None and len(p.trace) != len(e.trace)
        ):  # fmt: skip
            out.wrong.append(f"{engine}: {p.name} in {len(p.trace)} steps, explicit in "
                             f"{len(e.trace)}")  # fmt: skip
    hit = [p.name for p in explicit.properties if p.kind == "bound" and p.status == VIOLATED]
    if hit and engine != "bmc" and not [p for p in z3.properties if p.kind == "bound"]:
        out.wrong.append(f"{engine}: proved that no step leaves the bounds, but the explicit "
                         f"search finds {hit[0]}")  # fmt: skip
    if z3.verdict == HOLDS and explicit.verdict != HOLDS and complete:
        out.wrong.append(f"{engine}: the run holds, explicit says {explicit.verdict}")
    return proved


def _replays(engine: str, model: CompiledModel, p: PropertyResult, out: Comparison) -> None:
    try:
        check_counterexample(model, p)
    except TraceMismatch as err:
        out.wrong.append(f"{engine}: {p.name}'s trace does not replay: {err}")
