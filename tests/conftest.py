"""Settings for the whole suite."""

from __future__ import annotations

from hypothesis import Phase, settings

# Hypothesis' explain phase re-runs a failing example under a line tracer to say which lines
# made it fail; on the engine agreement tests that took half an hour for one failure (CI ran
# out of time before printing it). The shrunk example and its blob are what we read.
settings.register_profile(
    "kcheck", phases=[p for p in Phase if p is not Phase.explain], print_blob=True
)
settings.load_profile("kcheck")
