"""The Z3 engine (spec/smt.md), in pipeline order:

refuse.py     what is not encoded, refused before anything is (never skipped silently)
terms.py      the terms every stage shares: Term, Branch, Instance, constant-folding and/or/ite
sets.py       sets as bitmasks built from one Bool per element
expr.py       expressions as (value, error) pairs, state access, binders' domains
stmt.py       statements: branches in, branches out, every failure recorded
scheduler.py  the scheduler's bind step (filters, maximal weighted score, ties)
encode.py     the Encoder: initial states, action instances, invariants
system.py     numbered copies of the state and the step relation between them
wellformed.py what every state the model can build looks like (proved before it is assumed)
solver.py     seeded solvers with resource limits and a deadline; unknown is passed on
bmc.py        bounded model checking: shortest counterexamples, replayed
prover.py     the k-induction prover: base and step case per goal, lemmas assumed once proved
params.py     symbolic params: the smallest failing configuration, proofs for all of them
induction.py  k-induction of a model's invariants, lemmas and "no step fails"; the report
temporal.py   temporal properties' state formulas per binding, fairness terms, the lasso check
lasso.py      bounded fair lassos of temporal properties (BMC), replayed
liveness.py   proofs of temporal properties: liveness to safety over the fault-free steps
describe.py   concrete states in words (counterexamples to induction)
auto.py       --engine auto: the explicit search within a budget, then induction and BMC
"""
