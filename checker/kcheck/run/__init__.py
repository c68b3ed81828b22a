"""`kcheck run`: the compiled model executed live. The interpreter (interpreter.py) fires the
model's own compiled actions and checks its invariants on every observed state; a driver
carries the steps out, in-process on a simulated clock (sim.py) or on a real Docker engine
(docker_driver.py). See spec/run.md."""
