"""The terminal report: a verdict per property and each counterexample step by step, showing
for every step the action, its arguments and only the fields that changed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kcheck.result import (
    HOLDS,
    INCONCLUSIVE,
    NOT_CHECKED,
    VIOLATED,
    CheckResult,
    Coverage,
    PropertyResult,
)
from kcheck.trace import (
    Trace,
    changed_fields,
    loop_renaming,
    show_value,
    stutter_reason,
    times,
)

_MARK = {HOLDS: "ok", VIOLATED: "FAIL", INCONCLUSIVE: "??", NOT_CHECKED: "--"}
_COLOUR = {HOLDS: "green", VIOLATED: "red", INCONCLUSIVE: "yellow", NOT_CHECKED: "bright_black"}


def lookup(state: Mapping[str, Any], path: str) -> Any:
    if "." in path and path.split(".", 1)[0].split("#")[0] in state:
        obj, field = path.split(".", 1)
        return state[obj.split("#")[0]][obj][field]
    return state.get(path)


def state_lines(state: dict[str, Any]) -> list[str]:
    out: list[str] = []
    scalars = [f"{k} = {show_value(v)}" for k, v in state.items() if not isinstance(v, dict)]
    if scalars:
        out.append(", ".join(scalars))
    for k, objs in state.items():
        if isinstance(objs, dict):
            if not objs:
                out.append(f"{k}: (none)")
            for oid, fields in objs.items():
                fs = ", ".join(f"{f}={show_value(v)}" for f, v in fields.items())
                out.append(f"{oid} {{{fs}}}")
    return out


def format_trace(trace: Trace, style: Any = None) -> list[str]:
    st = style or (lambda text, **kw: text)
    lines: list[str] = []
    prev: dict[str, Any] | None = None
    clock = times(trace)
    for i, step in enumerate(trace.steps):
        at = f"t={clock[i]}  " if clock is not None else ""  # ticks so far, in a timed trace
        if step.action is None:
            lines.append(f"  {i:>3}  " + at + st("initial state", bold=True))
            lines.extend(f"         {x}" for x in state_lines(step.state or {}))
        else:
            args = ", ".join(f"{k}={show_value(v)}" for k, v in step.args.items())
            where = f"   (line {step.line})" if step.line else ""
            lines.append(f"  {i:>3}  " + at + st(f"{step.action}({args})", bold=True) + where)
            if step.error is not None:
                lines.append("         " + st(f"error: {step.error}", fg="red"))
            elif step.state is not None and prev is not None:
                changes = changed_fields(prev, step.state)
                for path in changes:
                    if path.endswith(" created"):
                        oid = path[: -len(" created")]
                        fields = step.state[oid.split("#")[0]][oid]
                        fs = ", ".join(f"{f}={show_value(v)}" for f, v in fields.items())
                        lines.append(f"         + {oid} {{{fs}}}")
                    elif path.endswith(" deleted"):
                        lines.append(f"         - {path[: -len(' deleted')]}")
                    else:
                        before, after = lookup(prev, path), lookup(step.state, path)
                        lines.append(
                            f"         {path}: {show_value(before)} -> {show_value(after)}"
                        )
                if not changes:
                    lines.append("         (no change)")
        if step.state is not None:
            prev = step.state
    if trace.loop_start is not None:
        k, n = trace.loop_start, len(trace.steps) - 1
        if k == n:
            lines.append(
                f"  from step {k} the behaviour stays in this state forever ({stutter_reason(trace)})"
            )
        else:
            lines.append(
                f"  then steps {k + 1}-{n} repeat forever"
                f" (state {n} is state {k} again{loop_renaming(trace)})"
            )
    return lines


def _reason(action: str) -> str:
    """`replicaset.scale_up` -> `ScaleUp`, the way Kubernetes names event reasons."""
    name = action.split(".", 1)[-1]
    return "".join(part[:1].upper() + part[1:] for part in name.split("_")) or name


def format_events(trace: Trace, actor_kinds: Mapping[str, str]) -> list[str]:
    """The trace as `kubectl describe` shows events: one row per object an action touched."""
    rows: list[tuple[str, str, str, str, str, str]] = []
    prev = trace.steps[0].state if trace.steps else None
    for i, step in enumerate(trace.steps[1:], start=1):
        assert step.action is not None
        actor = step.action.split(".", 1)[0]
        kind = actor_kinds.get(actor, "")
        warning = kind == "fault" or step.error is not None
        etype = "Warning" if warning else "Normal"
        reason = (
            "Scheduled"
            if kind == "scheduler" and step.action.endswith(".bind")
            else _reason(step.action)
        )
        if step.error is not None:
            rows.append((str(i), "Warning", "Failed" + reason, actor, "-", step.error))
            continue
        if kind == "scheduler" and step.action.endswith(".bind"):
            pod, node = step.args.get("pod"), step.args.get("node")
            rows.append(
                (str(i), etype, reason, actor, str(pod), f"Successfully assigned {pod} to {node}")
            )
            prev = step.state
            continue
        per_object: dict[str, list[str]] = {}
        for path in changed_fields(prev, step.state):
            if path.endswith(" created"):
                oid = path[: -len(" created")]
                fields = (step.state or {})[oid.split("#")[0]][oid]
                per_object.setdefault(oid, []).append(
                    "created: " + ", ".join(f"{f}={show_value(v)}" for f, v in fields.items())
                )
            elif path.endswith(" deleted"):
                per_object.setdefault(path[: -len(" deleted")], []).append("deleted")
            else:
                before = lookup(prev or {}, path)
                after = lookup(step.state or {}, path)
                obj, _, field = path.rpartition(".")
                change = f"{field or path}: {show_value(before)} -> {show_value(after)}"
                per_object.setdefault(obj or "-", []).append(change)
        if not per_object:
            rows.append((str(i), etype, reason, actor, "-", "(no change)"))
        for obj, changes in per_object.items():
            rows.append((str(i), etype, reason, actor, obj, "; ".join(changes)))
        prev = step.state
    head = ("Step", "Type", "Reason", "From", "Object", "Message")
    widths = [max(len(r[c]) for r in [head, *rows]) for c in range(5)]
    out = ["  Events:"]
    for r in [head, *rows]:
        cells = [r[c].ljust(widths[c]) for c in range(5)]
        out.append("    " + "  ".join(cells) + "  " + r[5])
    if trace.loop_start is not None:
        k, n = trace.loop_start, len(trace.steps) - 1
        out.append(
            f"    (from step {k} nothing more happens, forever)"
            if k == n
            else f"    (steps {k + 1}-{n} repeat forever)"
        )
    return out


def format_result(
    result: CheckResult,
    path: str,
    symmetry: bool,
    colour: bool,
    view: str = "trace",
    actor_kinds: Mapping[str, str] | None = None,
) -> str:
    import click

    def st(text: str, **kw: Any) -> str:
        return click.style(text, **kw) if colour else text

    from kcheck.lang.diagnostics import printable

    path = printable(path)  # a file name can hold terminal escape sequences
    s = result.stats
    head = (
        f"model {result.model} ({path}): {s.states:,} distinct states"
        f" (symmetry {'on' if symmetry else 'off'}), {s.transitions:,} transitions,"
        f" depth {s.depth}, {s.seconds:.2f} s"
    )
    if result.engine == "bmc":
        head = (
            f"model {result.model} ({path}): Z3 bounded model checking to depth {s.depth},"
            f" {s.seconds:.2f} s"
        )
    elif result.engine == "induction":
        head = (
            f"model {result.model} ({path}): Z3 k-induction (deepest k tried: {s.depth}),"
            f" {s.seconds:.2f} s"
        )
    elif result.coverage is not None and result.engine == "simulate":
        cov = result.coverage
        head = (
            f"model {result.model} ({path}): random simulation, {cov.traces:,} traces of up to"
            f" {cov.depth} steps (seed {cov.seed}), {s.states:,} distinct states,"
            f" {s.transitions:,} steps, {s.seconds:.2f} s"
        )
    elif result.complete and any(p.kind == "bound" for p in result.properties):
        head += ", every state reachable within the model's bounds explored"
    elif result.complete:
        head += ", every reachable state explored"
    elif result.limit:
        head += f", stopped at {result.limit}"
    else:
        head += ", stopped once every invariant was violated"
    lines = [head]
    lines.extend(f"note: {n}" for n in result.notes)
    lines.append("")
    lines.append(verdict_table(result, colour))
    if result.coverage is not None:
        cov = result.coverage
        title = "coverage:"
        if cov.exhaustive:
            how = "every reachable state" if cov.complete else "stopped before every state"
            title = f"coverage of the reachable graph ({how}, {cov.states:,} states):"
        lines += ["", title, coverage_table(cov, colour)]
    for p in result.properties:
        if p.trace is not None:
            lines.append("")
            lines.extend(_counterexample(p, st, view, actor_kinds or {}))
    lines.append("")
    v = result.verdict
    lines.append(st(f"verdict: {v}", fg=_COLOUR[v], bold=True))
    return "\n".join(lines)


def verdict_table(result: CheckResult, colour: bool) -> str:
    """The verdict per property in kcheck's table style (report/table.py); colours and the
    box-drawing rule only when asked (on a terminal), plain ASCII otherwise."""
    from rich.text import Text

    from kcheck.report.table import new_table, render

    table = new_table()
    table.add_column("", justify="right")
    table.add_column("kind")
    table.add_column("property")
    table.add_column("verdict", overflow="fold")
    for p in result.properties:
        detail = p.status
        if p.trace is not None and p.status == VIOLATED:
            detail += f" (counterexample of {len(p.trace)} step{'s' if len(p.trace) != 1 else ''})"
        if p.reason:
            detail += f": {p.reason}"
        style = f"bold {_COLOUR[p.status]}"
        table.add_row(Text(_MARK[p.status], style=style), p.kind, p.name, Text(detail))
    return "\n".join("  " + line for line in render(table, colour).split("\n"))


def coverage_table(cov: Coverage, colour: bool) -> str:
    """A simulation's coverage per action, in kcheck's table style: how often its walks fired
    it, passed it over while it was enabled, and the deepest step it fired at."""
    from rich.text import Text

    from kcheck.report.table import new_table, render

    table = new_table()
    table.add_column("action")
    table.add_column("fired" if not cov.exhaustive else "transitions", justify="right")
    if not cov.exhaustive:  # a complete pass takes every enabled step: none is passed over
        table.add_column("enabled, not taken", justify="right")
    table.add_column("deepest step", justify="right")
    for a in cov.actions:
        fired = Text(str(a.fired)) if a.fired else Text("never", style="bold red")
        passed = [] if cov.exhaustive else [str(a.passed)]
        table.add_row(a.action, fired, *passed, str(a.deepest) if a.fired else "-")
    out = "\n".join("  " + line for line in render(table, colour).split("\n"))
    if cov.branches:
        out += "\n\n" + branch_table(cov, colour)
    return out


def branch_table(cov: Coverage, colour: bool) -> str:
    """Per guard conjunct, how often it held and failed where it was evaluated; per branch,
    how many steps taken went through it and the deepest (spec/simulate.md "Coverage")."""
    from rich.text import Text

    from kcheck.report.table import new_table, render

    table = new_table()
    for name, right in (("action", False), ("at", False), ("kind", False), ("code", False),
                        ("held / taken", True), ("failed", True), ("deepest step", True)):  # fmt: skip
        table.add_column(name, justify="right" if right else "left", overflow="fold")
    for b in cov.branches:
        count = Text(str(b.count)) if b.count else Text("never", style="bold red")
        failed = str(b.failed) if b.guard else ""
        deepest = "" if b.guard else (str(b.deepest) if b.count else "-")
        table.add_row(b.action, f"{b.line}:{b.col}", b.kind, b.text, count, failed, deepest)
    return "\n".join("  " + line for line in render(table, colour).split("\n"))


def _counterexample(
    p: PropertyResult, st: Any, view: str, actor_kinds: Mapping[str, str]
) -> list[str]:
    assert p.trace is not None
    where = f" (line {p.line})" if p.line else ""
    n = len(p.trace)
    title = f"counterexample for {p.kind} {p.name}{where}, {n} step{'s' if n != 1 else ''}:"
    lines = [st(title, bold=True)]
    if view == "events":
        first = p.trace.steps[0].state or {}
        lines.append("  initial state:")
        lines.extend(f"    {x}" for x in state_lines(first))
        lines.extend(format_events(p.trace, actor_kinds))
    else:
        lines.extend(format_trace(p.trace, st))
    if p.kind == "invariant":
        lines.append(f"  the last state violates {p.name}" + (":" if p.explanation else ""))
        lines.extend(f"    {x}" for x in p.explanation)
    return lines
