"""The Z3 engine (spec/smt.md): encode.py turns the compiled model into Z3 terms, bmc.py
unrolls it to find invariant violations up to a depth."""
