"""`kcheck conform`: click glue over the log readers, the mapping and the search. Exit codes:
0 the log is a behaviour of the model, 1 it is not (the first entry no behaviour explains is
shown), 2 bad input (a malformed log line or mapping, located), 3 inconclusive (a bound hit)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Any

import click

from kcheck.cli.common import EXIT_USAGE, fail, guard, load_model
from kcheck.conform.log import Entry, LogError, RunStep, read
from kcheck.conform.mapping import apply, load_mapping, lookup
from kcheck.conform.search import Conformance, Observation, conform
from kcheck.report.text import format_trace, state_lines

_EXIT = {"conforms": 0, "does not conform": 1, "inconclusive": 3}
_TABLE = {"k8s-events": "event", "audit": "audit", "watch": "watch"}  # the mapping's table


@click.command("conform")
@click.argument("model", type=click.Path(dir_okay=False))
@click.argument("log", type=click.Path(dir_okay=False))
@click.option(
    "--format", "log_format", type=click.Choice(["kcheck-run", "k8s-events", "audit", "watch"]),
    default="kcheck-run", show_default=True, help="What LOG is.",
)  # fmt: skip
@click.option("--mapping", type=click.Path(dir_okay=False),
              help="TOML mapping of Kubernetes entries to the model's actions.")  # fmt: skip
@click.option(
    "-D", "defines", multiple=True, metavar="NAME=VALUE", help="Override a const or param."
)
@click.option("--max-gap", type=click.IntRange(0, 1000), default=8, show_default=True,
              help="Most steps the log does not show before an entry.")  # fmt: skip
@click.option("--max-states", type=click.IntRange(1, 10_000_000), default=100_000,
              show_default=True, help="Most model states kept per entry.")  # fmt: skip
@click.option(
    "--output-format", "fmt", type=click.Choice(["text", "json"]), default="text",
    show_default=True,
)  # fmt: skip
def conform_command(**options: Any) -> None:
    """Is the recorded run LOG a behaviour of MODEL? (kcheck docs testing)

    Exit codes: 0 it conforms, 1 it does not (the first entry no behaviour explains is
    shown), 2 bad input (a malformed log or mapping, located), 3 inconclusive (a bound hit).
    """
    guard(_conform)(**options)


def _conform(
    model: str, log: str, log_format: str, mapping: str | None, defines: tuple[str, ...],
    max_gap: int, max_states: int, fmt: str,
) -> None:  # fmt: skip
    from kcheck.model.compile import compile_model

    if log_format == "kcheck-run" and mapping:
        fail("--mapping is for --format k8s-events, audit or watch; a kcheck run log needs none")
    if log_format != "kcheck-run" and not mapping:
        fail(f"--format {log_format} needs --mapping FILE (kcheck docs testing)")
    checked = load_model(model, defines)
    compiled = compile_model(checked.symbols, symmetry=False)
    try:
        _, entries = read(log, log_format)
        rules = load_mapping(mapping, compiled) if mapping else []
    except LogError as err:
        click.echo(err.render(_read(err.path)), err=True)
        sys.exit(EXIT_USAGE)
    except (OSError, UnicodeDecodeError) as err:
        fail(f"cannot read {getattr(err, 'filename', None) or log}: {err}")
    skipped: Counter[str] = Counter()
    observations: list[Observation] = []
    last = 0
    for e in entries:
        if isinstance(e, RunStep) and not e.events:
            summary = f"the end of the run, after step {e.step}"
            observations.append(
                Observation(e.line, summary, events=(), gap=e.step - last, end=True)
            )
        elif isinstance(e, RunStep):
            first = e.events[0]
            more = f" (and {len(e.events) - 1} more)" if len(e.events) > 1 else ""
            summary = f"step {e.step}: {first[1]} {first[3]} ({first[2]}): {first[4]}{more}"
            observations.append(
                Observation(e.line, summary, events=e.events, gap=e.step - last - 1)
            )
            last = e.step
        else:
            assert isinstance(e, Entry)
            rule = apply(rules, _TABLE[log_format], e)
            if rule is None or rule.ignore:
                key = (
                    e.fields.get("reason")
                    or (e.fields.get("verb") and f"{e.fields['verb']} {e.fields.get('resource')}")
                    or f"{e.fields.get('type')} {e.fields.get('kind')}"
                )
                skipped[("ignored: " if rule else "no mapping: ") + str(key)] += 1
                continue
            state = []
            for field, where in rule.state:
                value = lookup(e, where)
                if value is None:
                    click.echo(LogError(log, e.line, 1, f"the entry has no {where}",
                               f"the mapping's state reads {field} from it; record the audit "
                               "log at level RequestResponse").render(_read(log)), err=True)  # fmt: skip
                    sys.exit(EXIT_USAGE)
                state.append((field, value))
            # a watch shows objects as they are: a change the model does not model (a pod's
            # IP) is an entry its state already explains, with no step
            observations.append(
                Observation(e.line, e.summary, actions=rule.actions, kind=rule.kind,
                            name=e.fields.get("name"), state=tuple(state),
                            settled=log_format == "watch")
            )  # fmt: skip
    table = _TABLE.get(log_format, "")
    mapped = frozenset(a for rule in rules if rule.table == table for a in rule.actions)
    hidden = frozenset(range(len(compiled.actions))) - mapped
    result = conform(compiled, observations, max_gap, max_states, hidden)
    if fmt == "json":
        click.echo(json.dumps(_json(compiled.name, log, log_format, result, skipped), indent=2))
    else:
        click.echo(_text(compiled.name, model, log, log_format, result, skipped, observations))
    sys.exit(_EXIT[result.verdict])


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return ""


def _json(
    name: str, log: str, log_format: str, r: Conformance, skipped: Counter[str]
) -> dict[str, Any]:
    return {
        "model": name,
        "log": log,
        "format": log_format,
        "verdict": r.verdict,
        "matched": r.matched,
        "entries": r.total,
        "skipped": dict(sorted(skipped.items())),
        "failed_at": None
        if r.failed is None
        else {"line": r.failed.line, "entry": r.failed.summary},
        "possible_before": r.possible,
        "states_before": list(r.before),
        "reason": r.reason or None,
        "trace": r.trace.to_json() if r.trace is not None else None,
    }


def _text(
    name: str, path: str, log: str, log_format: str, r: Conformance, skipped: Counter[str],
    observations: list[Observation],
) -> str:  # fmt: skip
    lines = [f"model {name} ({path}), log {log} ({log_format}): {r.total} entries to explain"]
    if skipped:
        lines.append("skipped: " + ", ".join(f"{k} x{n}" for k, n in sorted(skipped.items())))
    upto = (
        f" (lines {observations[0].line}-{observations[r.matched - 1].line})" if r.matched else ""
    )
    if r.verdict == "conforms":
        lines.append(f"matched: all {r.total} entries{upto}")
        lines.append("")
        lines.append("verdict: conforms: the log is a behaviour of the model")
        return "\n".join(lines)
    assert r.failed is not None
    lines.append(f"matched: {r.matched} of {r.total} entries{upto}")
    lines.append("")
    head = "no behaviour of the model explains" if r.verdict == "does not conform" else "stopped at"
    lines.append(f"{head} line {r.failed.line}: {r.failed.summary}")
    if r.reason:
        lines.append(f"  a bound was hit: {r.reason}")
    lines.append(f"the model's states possible just before it ({len(r.before)} of {r.possible}):")
    for i, shown in enumerate(r.before, start=1):
        lines.append(f"  state {i}:")
        lines += [f"    {x}" for x in state_lines(shown)]
    if r.trace is not None and len(r.trace.steps) > 1:
        lines.append("a behaviour of the model that explains the log up to there:")
        steps = format_trace(r.trace)
        lines += steps if len(steps) <= 40 else ["    ...", *steps[-40:]]
    lines.append("")
    if r.verdict == "inconclusive":
        lines.append("verdict: inconclusive (raise the bound, or shorten the log)")
    else:
        lines.append(f"verdict: does not conform (from line {r.failed.line})")
    return "\n".join(lines)
