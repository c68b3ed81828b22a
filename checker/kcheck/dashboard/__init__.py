"""`kcheck explore MODEL`: a local web dashboard over a compiled model (spec/dashboard.md).
session.py owns the walk through states, picture.py the cluster picture of a state, explain.py
the values of an invariant's terms, counterexample.py opening a `kcheck verify --format json`
report, search.py finding a state by an expression, coverage.py which actions fire, check.py
checking from the page, live.py following a `kcheck run --log-json` log, app.py the web
application (Starlette, static/ the page), serve.py the command (loading, the port, uvicorn)."""
