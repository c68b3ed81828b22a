"""The Z3 engine (spec/smt.md), in pipeline order:

refuse.py     what is not encoded, refused before anything is (never skipped silently)
encode.py     the compiled model's expressions, statements and actions over Z3 terms
scheduler.py  the scheduler's bind step (filters, maximal weighted score, ties)
sets.py       sets as bitmasks built from one Bool per element
system.py     numbered copies of the state and the step relation between them
wellformed.py what every state the model can build looks like (proved before it is assumed)
solver.py     seeded solvers with resource limits and a deadline; unknown is passed on
bmc.py        bounded model checking: shortest counterexamples, replayed
induction.py  k-induction: proofs for every depth, lemmas, counterexamples to induction
params.py     symbolic params: the smallest failing configuration, proofs for all of them
describe.py   concrete states in words (counterexamples to induction)
auto.py       --engine auto: the explicit search within a budget, then induction and BMC
"""
