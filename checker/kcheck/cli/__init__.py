"""The command line (spec/cli.md). `main.py` is the entry point and lists the commands; each
command lives in a module of its name (verify.py for `kcheck verify`) and is only glue: it parses
options, calls the passes and the engine dispatch, prints, and picks the exit code. What several
commands share is in common.py (errors, loading, progress) and outputs.py (report files)."""
