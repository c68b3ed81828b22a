#!/usr/bin/env bash
# Creates .venv and installs kcheck with the pinned dependencies of requirements.lock.
# Idempotent: a second run only checks that everything is in place.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "kcheck needs Python >= 3.11 (found: $("$PY" --version 2>&1))" >&2
  exit 2
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.kcheck-installed
if [ ! -f "$stamp" ] || [ requirements.lock -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setting up .venv (pinned dependencies from requirements.lock)..." >&2
  log=$(mktemp)
  if ! { .venv/bin/python -m pip install --disable-pip-version-check -r requirements.lock &&
         .venv/bin/python -m pip install --disable-pip-version-check --no-deps -e . ; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "setup failed: pip could not install the dependencies (log above)" >&2
    rm -f "$log"
    exit 2
  fi
  rm -f "$log"
  touch "$stamp"
fi
