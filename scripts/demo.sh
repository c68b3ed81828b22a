#!/usr/bin/env bash
# The main job: set up, then verify the ReplicaSet model exhaustively (no Docker needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/kcheck verify models/replicaset.kdsl "$@"
