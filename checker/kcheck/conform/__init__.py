"""`kcheck conform`: trace validation. Is a recorded run (kcheck run's own JSON event log,
Kubernetes events, an audit log) a behaviour of the model? A bounded search keeps the model
states consistent with the log so far (spec/testing.md)."""
