"""Loading a `kcheck ci` job: its model checked with the job's parameters, its selection
resolved against the names the model declares; compiled only when it is needed."""

from __future__ import annotations

from typing import Any

from kcheck.ci.plan import Job, LoadFailure
from kcheck.explore.timelock import TIMELOCK
from kcheck.lang.diagnostics import KcheckError, Source, render_all, suggest
from kcheck.lang.time import TIME_ACTOR


class Loaded:
    """A job's model, checked, and what a run of it reports. It is compiled only when needed
    (to explore it, or to replay a cached counterexample): compiling is most of the cost of a
    cached run, and a cached "holds" needs only the names."""

    def __init__(
        self,
        symbols: Any,  # kcheck.lang.symbols.Symbols
        symmetry: bool,
        invariants: list[str] | None,
        properties: list[str] | None,
    ) -> None:
        self.symbols = symbols
        self.symmetry = symmetry
        self.inv_names = [i.name for i in symbols.invariants]
        self.prop_names = [p.name for p in symbols.properties]
        self.names = (*self.inv_names, *self.prop_names)
        self.invariants = invariants
        self.properties = properties
        self._model: Any = None

    def model(self) -> Any:  # CompiledModel
        from kcheck.model.compile import compile_model

        if self._model is None:
            self._model = compile_model(self.symbols, symmetry=self.symmetry)
        return self._model


def load_job(job: Job) -> Loaded | LoadFailure:
    from kcheck.lang.frontend import check_source

    source = Source(job.path, job.text)
    overrides: dict[str, int | str] = dict(job.overrides)
    rewrite = None
    try:
        if job.manifest is not None:
            from kcheck.lang.manifest.fill import ManifestError, fill
            from kcheck.lang.parser import parse

            try:
                filled = fill(
                    source, parse(source), [str(f) for f in job.manifest_files], job.overrides
                )
            except ManifestError as bad:
                return LoadFailure(job.path, job.params, bad.render())
            overrides, rewrite = filled.overrides, filled.rewrite
        checked = check_source(source, overrides, rewrite)
    except KcheckError as err:
        return LoadFailure(job.path, job.params, render_all(err.diagnostics, source))
    inv_names = [i.name for i in checked.symbols.invariants]
    prop_names = [p.name for p in checked.symbols.properties]
    names = (*inv_names, *prop_names)
    invariants, properties = job.selection()
    if job.expectation.origin == "expect line" and invariants == properties == [
        *job.expectation.statuses
    ]:
        # the expect line's NAME: check it as whichever sort the model declares it
        invariants = [n for n in invariants if n in inv_names]
        properties = [n for n in properties if n in prop_names]
    problems = [
        f"{sort} {n!r}: the model has no {sort} `{n}`"
        + (f"; {h}" if (h := suggest(n, pool)) else "")
        for sort, chosen, pool in (
            ("invariant", invariants, inv_names),
            ("property", properties, prop_names),
        )
        for n in chosen or ()
        if n not in pool
    ]
    # a model with time has the built-in check `time_passes` (spec/explorer.md, "Timelocks")
    timed = any(a.name == TIME_ACTOR for a in checked.symbols.actors)
    checks = (*names, TIMELOCK) if timed else names
    problems += [
        _unknown_expectation(n, checks)
        for n in job.expectation.statuses
        if n not in checks and not n.startswith("bound: ")
    ]
    if problems:
        return LoadFailure(job.path, job.params, "\n".join(f"{job.label}: {p}" for p in problems))
    return Loaded(checked.symbols, job.settings.symmetry, invariants, properties)


def _unknown_expectation(name: str, checks: tuple[str, ...]) -> str:
    if name == TIMELOCK:
        return (
            f"expect {name!r}: the model has no time (no `within`), so time cannot stop and"
            " there is no timelock to expect"
        )
    hint = suggest(name, checks)
    return f"expect {name!r}: the model has no invariant or property `{name}`" + (
        f"; {hint}" if hint else ""
    )
