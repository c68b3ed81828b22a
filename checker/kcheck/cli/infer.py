"""`kcheck infer`: infer the lemmas that prove a model's invariants by k-induction
(kcheck.engines.infer, spec/smt.md "Invariant inference") and print them as `lemma` lines a user
can paste into the model, or write them to a file."""

from __future__ import annotations

import sys

import click

from kcheck.cli.common import (
    EXIT_FOR,
    EXIT_HOLDS,
    EXIT_INCONCLUSIVE,
    EXIT_USAGE,
    fail,
    finite,
    guard,
    load_model,
    parse_defines,
)
from kcheck.cli.outputs import write_file
from kcheck.result import HOLDS


@click.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option(
    "-D", "defines", multiple=True, metavar="NAME=VALUE", help="Override a const or param."
)
@click.option(
    "--max-k",
    type=click.IntRange(min=1),
    default=6,
    show_default=True,
    help="The largest k of the final k-induction proof.",
)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the lemma lines here.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1.0),
    default=300.0,
    show_default=True,
    callback=lambda ctx, param, value: finite(param, value),
    help="Seconds for the whole inference.",
)
@guard
def infer(
    model: str, defines: tuple[str, ...], max_k: int, output: str | None, timeout: float | None
) -> None:
    """Infer lemmas that prove MODEL's invariants for every depth (kcheck docs smt).

    Exit 0 when every invariant is proved with the lemmas printed, 1 when one is violated,
    3 when not proved (the counterexample to induction left is shown)."""
    from kcheck.engines.dispatch import Refused
    from kcheck.engines.infer import infer as run

    checked = load_model(model, defines)  # reports a model that does not check, exit 2
    try:
        found = run(checked.source, parse_defines(defines), max_k, timeout or 300.0)
    except Refused as err:
        fail(f"{model}: {err}", EXIT_USAGE)
    text = "".join(line + "\n" for line in found.lemmas)
    head = (
        f"// kcheck infer: {found.generated} candidates, {found.held} true in all "
        f"{found.states} reachable states, {found.kept} inductive together, "
        f"{len(found.lemmas)} used\n"
    )
    if output is not None:
        write_file(output, head + text)
    else:
        sys.stdout.write(head + text)
    for note in found.notes:
        print(f"note: {note}", file=sys.stderr)
    for p in found.result.properties:
        if p.kind == "property":
            continue
        reason = f": {p.reason}" if p.reason else ""
        print(f"{p.kind} {p.name}: {p.status}{reason}", file=sys.stderr)
    verdict = found.verdict
    if verdict != HOLDS:
        for name, cti in sorted(found.open.items()):
            print(f"not inductive with the lemmas: {name}: counterexample to induction: {cti}",
                  file=sys.stderr)  # fmt: skip
    sys.exit(EXIT_HOLDS if verdict == HOLDS else EXIT_FOR.get(verdict, EXIT_INCONCLUSIVE))
