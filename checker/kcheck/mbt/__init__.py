"""`kcheck test`: model-based testing of a user's implementation. A Hypothesis state machine
built from the compiled model (one rule per action, guards as preconditions) drives the
implementation through an adapter and checks every state it shows against the model's own
successors and invariants (spec/testing.md)."""
