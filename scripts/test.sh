#!/usr/bin/env bash
# The whole test suite: the machine's packages and Docker engine (scripts/system.sh), the venv,
# then lint, type-check, the models' formatting, and pytest (including the live Docker tests, and
# the VS Code extension's .vsix, built by tests/editors/test_vsix.py with scripts/build-vsix.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system.sh
bash scripts/setup.sh
.venv/bin/kcheck image >/dev/null      # the pod image of the live tests, built locally
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy (strict)"
.venv/bin/mypy
echo "== kcheck fmt --check models/"
.venv/bin/kcheck fmt --check models
echo "== pytest"
# every core (pytest-xdist; KCHECK_TEST_WORKERS=0 runs in this process), work-stealing because
# a few files (the engine agreement campaigns) take minutes and most take a second
.venv/bin/pytest -n "${KCHECK_TEST_WORKERS:-auto}" --dist worksteal --durations=15 "$@"
