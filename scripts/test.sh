#!/usr/bin/env bash
# The whole test suite: set up, lint, type-check, check the models' formatting, run pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy (strict)"
.venv/bin/mypy
echo "== kcheck fmt --check models/"
.venv/bin/kcheck fmt --check models/*.kdsl
echo "== pytest"
.venv/bin/pytest "$@"
