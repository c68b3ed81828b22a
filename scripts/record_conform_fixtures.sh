#!/usr/bin/env bash
# Re-records tests/fixtures/conform/replicaset_docker_overshoot.jsonl: a real `kcheck run
# --driver docker` of the planted-bug ReplicaSet controller (replicaset_planted_overshoot.kdsl,
# models/replicaset.kdsl with a controller that counts only Running pods), on the Docker engine
# of this machine with the busybox pod image (`kcheck image` builds it). The run stops at the
# overshoot; `kcheck conform models/replicaset.kdsl` of its log then reports the extra pod's
# creation as the first entry no behaviour explains (tests/conform/test_docker_recording.py).
# Usage: bash scripts/record_conform_fixtures.sh [SEED]   (the fixture was recorded with seed 3)
set -euo pipefail
cd "$(dirname "$0")/.."
KCHECK=${KCHECK:-.venv/bin/kcheck}
SEED=${1:-3}
FIX=tests/fixtures/conform
OUT=$FIX/replicaset_docker_overshoot.jsonl
set +e
"$KCHECK" run "$FIX/replicaset_planted_overshoot.kdsl" --driver docker --seed "$SEED" \
    --timeout 120 --log-json "$OUT" >/dev/null
rc=$?
set -e
if [ "$rc" -ne 1 ]; then
    echo "expected the run to find the overshoot (exit 1), it exited $rc" >&2
    exit 1
fi
echo "recorded $OUT ($(wc -l <"$OUT") lines); conform against models/replicaset.kdsl:"
"$KCHECK" conform models/replicaset.kdsl "$OUT" | grep -E '^(matched|no behaviour|verdict)' || true
