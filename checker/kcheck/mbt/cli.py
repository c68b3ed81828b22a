"""`kcheck test`: click glue over the generated Hypothesis test. Prints the failure as a kcheck
trace (or JSON), the coverage of the model's actions, and the command that replays the run.
Exit codes: 0 no failure in the examples run (testing, not proof), 1 a failure found, 2 bad
input (the model, the adapter), 3 inconclusive."""

from __future__ import annotations

import json
import secrets
import shlex
import sys
from pathlib import Path
from typing import Any

import click

from kcheck.cli.common import (
    EXIT_HOLDS,
    EXIT_INCONCLUSIVE,
    EXIT_USAGE,
    EXIT_VIOLATED,
    fail,
    guard,
    load_model,
)
from kcheck.cli.outputs import check_outputs, check_picture_name
from kcheck.mbt.adapter import AdapterError, load_class
from kcheck.mbt.machine import Failure
from kcheck.mbt.runner import TestConfig, TestOutcome, run_test
from kcheck.report.text import format_trace, state_lines


@click.command("test")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--adapter", required=True, metavar="MODULE:CLASS",
              help="The adapter class: module:Class or path/to/file.py:Class.")  # fmt: skip
@click.option(
    "-D", "defines", multiple=True, metavar="NAME=VALUE", help="Override a const or param."
)
@click.option("--examples", type=click.IntRange(1, 100_000), default=100, show_default=True,
              help="Test cases to generate.")  # fmt: skip
@click.option("--steps", type=click.IntRange(1, 10_000), default=30, show_default=True,
              help="Most steps per test case.")  # fmt: skip
@click.option("--seed", type=click.IntRange(0, 2**63), default=None,
              help="Seed of the generation (default: a fresh one, printed).")  # fmt: skip
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--graph", "graph_path", type=click.Path(dir_okay=False),
              help="Draw the failing run (.svg, .png, .pdf or .dot).")  # fmt: skip
def test(**options: Any) -> None:
    """Test an implementation against MODEL: a Hypothesis state machine built from the model
    drives it through an adapter (kcheck docs testing).

    Exit codes: 0 no failure in the examples run (testing, not proof), 1 a failure found
    (shrunk), 2 bad input (model, adapter), 3 inconclusive.
    """
    guard(_test)(**options)


def _test(
    model: str, adapter: str, defines: tuple[str, ...], examples: int, steps: int,
    seed: int | None, fmt: str, graph_path: str | None,
) -> None:  # fmt: skip
    from kcheck.model.compile import compile_model

    try:
        import hypothesis  # noqa: F401
    except ImportError:
        fail("kcheck test needs Hypothesis: pip install 'kcheck[test]'", EXIT_USAGE)
    if graph_path:
        check_picture_name("--graph", graph_path)
        check_outputs(model, {"--graph": graph_path})
    checked = load_model(model, defines)
    compiled = compile_model(checked.symbols, symmetry=False)
    chosen = seed if seed is not None else secrets.randbelow(2**32)
    try:
        cls = load_class(adapter, Path.cwd())
        outcome = run_test(compiled, cls, TestConfig(examples, steps, chosen))
    except AdapterError as err:
        fail(str(err), EXIT_USAGE)
    replay = shlex.join(
        ["kcheck", "test", model, "--adapter", adapter,
         *[x for d in defines for x in ("-D", d)],
         "--examples", str(examples), "--steps", str(steps), "--seed", str(chosen)]
    )  # fmt: skip
    actions = [a.label for a in compiled.actions]
    if fmt == "json":
        click.echo(json.dumps(_json(compiled.name, outcome, actions, chosen, replay), indent=2))
    else:
        click.echo(_text(compiled.name, model, outcome, actions, chosen, replay, examples, steps))
    if graph_path:
        _draw(compiled, outcome.failure, graph_path)
    if outcome.failure is not None:
        sys.exit(EXIT_VIOLATED)
    if outcome.inconclusive is not None:
        sys.exit(EXIT_INCONCLUSIVE)
    sys.exit(EXIT_HOLDS)


def _draw(compiled: Any, failure: Failure | None, path: str) -> None:
    """The failing run as `kcheck verify --graph` draws a counterexample."""
    from kcheck.report import dot
    from kcheck.result import VIOLATED, PropertyResult

    if failure is None:
        click.echo(f"{path}: no failure to draw", err=True)
        return
    name = failure.invariant or failure.kind
    kind = "invariant" if failure.invariant else "conformance"
    prop = PropertyResult(name, kind, VIOLATED, trace=failure.trace)
    try:
        dot.render(dot.trace_graph(prop, dot.actor_kinds_of(compiled)), path)
    except dot.ReportError as err:
        fail(err.message)
    click.echo(f"drew the failing run in {path}", err=True)


def _coverage(outcome: TestOutcome, actions: list[str]) -> list[dict[str, Any]]:
    return [
        {"action": a, "fired": outcome.fired.get(a, 0), "enabled": outcome.enabled.get(a, 0)}
        for a in actions
    ]


def _json(
    name: str, outcome: TestOutcome, actions: list[str], seed: int, replay: str
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "model": name,
        "verdict": "failed" if outcome.failure else "inconclusive" if outcome.inconclusive
        else "passed",
        "seed": seed,
        "examples": outcome.examples,
        "steps": outcome.steps,
        "coverage": _coverage(outcome, actions),
        "observed": list(outcome.observed_fields),
        "replay": replay,
    }  # fmt: skip
    if outcome.inconclusive:
        out["reason"] = outcome.inconclusive
    f = outcome.failure
    if f is not None:
        out["failure"] = {
            "kind": f.kind,
            "message": f.message,
            "trace": f.trace.to_json(),
            "observed": f.observed,
            "allowed": list(f.allowed),
        }
    return out


def _text(
    name: str, path: str, outcome: TestOutcome, actions: list[str], seed: int, replay: str,
    examples: int, steps: int,
) -> str:  # fmt: skip
    lines = [
        f"model {name} ({path}): {outcome.examples} test cases, {outcome.steps} steps"
        f" (up to {examples} cases of up to {steps} steps), seed {seed}"
    ]
    f = outcome.failure
    if f is not None:
        lines += ["", click.style(f"FAILED: {f.message}", bold=True), ""]
        lines += _failure(f)
        lines += ["", f"replay: {replay}"]
    lines += ["", "coverage of the model's actions (fired / states where enabled):"]
    for row in _coverage(outcome, actions):
        note = "  never fired" if row["fired"] == 0 else ""
        if row["enabled"] == 0:
            note = "  never enabled"
        lines.append(f"  {row['action']:<36} {row['fired']:>6} / {row['enabled']:<6}{note}")
    lines.append(f"observed: {', '.join(outcome.observed_fields) or '(nothing)'}")
    lines.append("")
    if f is not None:
        lines.append("verdict: failed (a shrunk failing run is shown above)")
    elif outcome.inconclusive:
        lines.append(f"verdict: inconclusive: {outcome.inconclusive}")
    else:
        lines.append(
            f"verdict: passed: no failure in {outcome.examples} test cases. This is testing,"
            " not proof: `kcheck verify` covers every behaviour of the model, this covers the"
            " runs it tried."
        )
    return "\n".join(lines)


def _failure(f: Failure) -> list[str]:
    lines = format_trace(f.trace)
    if f.kind == "invariant":
        lines.append(f"  the last state violates {f.invariant}")
    if f.observed is not None:
        lines.append("  the implementation shows:")
        lines += [f"    {x}" for x in state_lines(f.observed)]
        for i, allowed in enumerate(f.allowed):
            shown = {k: v for k, v in allowed.items() if k in f.observed}
            lines.append("  the model allows:" if i == 0 else "  or:")
            lines += [f"    {x}" for x in state_lines(shown)]
    return lines
