"""Engine dispatch (spec/smt.md, "Engines"): one call, `kcheck.engines.dispatch.check`, runs the
engine a command asked for on a compiled model and returns its answer with every selected
property accounted for. Commands (verify, ci, graph) call it; they never pick engines
themselves."""
