"""`kcheck ci`: the gate a repository's CI runs (docs/ci.md). Its stages, in order:

- `config`: reads and validates `kcheck.toml` (or `[tool.kcheck]` in `pyproject.toml`);
- `plan`: every model file times every parameter set of its sweeps, with its expectation;
- `load`: checks a job's model and its selection, compiled only when needed;
- `verdict_cache`: the cache of past results, keyed on kcheck's code, believed only after checks;
- `runner`: runs one job (from the cache, or through kcheck.engines.dispatch.check);
- `gate`: compares each property's status with what is expected;
- `reports`: the summary table, JUnit, SARIF, Markdown and the cache file written for CI;
- `progress`: the progress line on a terminal while the jobs run;
- `command`: `run_ci`, which ties them together, talks to the terminal and picks the exit code.
"""
