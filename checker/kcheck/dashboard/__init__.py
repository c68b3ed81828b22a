"""`kcheck explore MODEL`: a local web dashboard over a compiled model (spec/dashboard.md).
session.py owns the walk through states, picture.py the cluster picture of a state,
counterexample.py opening a `kcheck verify --format json` report, search.py finding a state by
an expression, app.py the web application, serve.py the command (loading, the port, the server)."""
