#!/bin/sh
# Reproduce the Spin comparison in benchmarks/RESULTS.md ("## Spin comparison"): for each size,
# generate the Promela translation of models/replicaset.kdsl with gen_replicaset.py, verify it
# with Spin's safety search, then run kcheck on the same configuration without symmetry (same
# state graph) and with symmetry (kcheck's default; Spin has no counterpart here).
#
#   sh benchmarks/spin/run.sh                  # all sizes in the table (about 2.5 minutes)
#   SIZES="3:2 5:4" sh benchmarks/spin/run.sh  # REPLICAS:BUDGET pairs; pod slots = REPLICAS+BUDGET
#
# Needs spin, gcc, python3 and GNU time (/usr/bin/time).  All build artifacts (the .pml files,
# pan.c, pan, trails) go to a temporary directory that is removed afterwards; nothing is written
# to the repo.  Runs are strictly sequential: run nothing else CPU-heavy alongside.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
kcheck="$root/.venv/bin/kcheck"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

command -v spin >/dev/null || { echo "spin not found (apt-get install -y spin)" >&2; exit 2; }
command -v gcc >/dev/null || { echo "gcc not found" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "GNU time not found (apt-get install -y time)" >&2; exit 2; }
spin -V
gcc --version | head -1

# The default size is the one replicaset.pml is checked in at: regenerating it must be a no-op.
python3 "$here/gen_replicaset.py" > "$tmp/default.pml"
cmp -s "$tmp/default.pml" "$here/replicaset.pml" \
  || echo "WARNING: replicaset.pml differs from gen_replicaset.py's default output" >&2

# Smallest w with 2^w >= the number of states pan will store (known from kcheck's count).
wbits() { python3 -c "import sys; n=int(sys.argv[1]); print(max(10, (n-1).bit_length()))" "$1"; }

timed() {  # timed LOG CMD... : run CMD under GNU time -v, stdout to LOG.out, time to LOG.time
  log=$1; shift
  /usr/bin/time -v "$@" > "$log.out" 2> "$log.time"
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log.time")
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log.time")
  echo "   wall $wall, peak RSS $rss KiB"
}

kcheck_row() {  # kcheck_row LABEL R B [--no-symmetry]
  label=$1; r=$2; b=$3; shift 3
  echo "-- kcheck $label"
  echo "   kcheck verify models/replicaset.kdsl -D REPLICASETS=1 -D MAX_REPLICAS=$r -D CRASHES=$b -D SCALE_UPS=0 -D SCALE_DOWNS=0 -D replicas=$r $* -q --format json"
  (cd "$root" && timed "$tmp/kcheck" "$kcheck" verify models/replicaset.kdsl \
      -D REPLICASETS=1 -D MAX_REPLICAS=$r -D CRASHES=$b -D SCALE_UPS=0 -D SCALE_DOWNS=0 -D replicas=$r \
      "$@" -q --format json)
  python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
s = d["stats"]
print("   verdict %s, complete %s: %d states, %d transitions, depth %d, search %.3f s"
      % (d["verdict"], d["complete"], s["states"], s["transitions"], s["depth"], s["seconds"]))
' "$tmp/kcheck.out"
}

pan_row() {  # pan_row LABEL W GCC-FLAGS...
  label=$1; w=$2; shift 2
  echo "-- Spin $label: gcc -O2 $*; ./pan -m100000 -w$w"
  gcc -O2 "$@" -o pan pan.c
  timed "$tmp/pan" ./pan -m100000 -w"$w"
  grep -E "errors:|states, stored|states, matched|transitions \(|total actual memory|elapsed time|assertion viol" \
    "$tmp/pan.out" | grep -v "^	" | sed 's/^ */   /'
}

for size in ${SIZES:-3:2 5:4 7:4 7:5}; do
  r=${size%:*}; b=${size#*:}; n=$((r + b))
  echo
  echo "==================== REPLICAS=$r BUDGET=$b (pod slots N=$n)"
  # kcheck first: its no-symmetry count sizes pan's hash table (2^w >= states).
  kcheck_row "--no-symmetry" "$r" "$b" --no-symmetry
  states=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stats"]["states"])' "$tmp/kcheck.out")
  kcheck_row "with symmetry (default)" "$r" "$b"
  w=$(wbits $((states + 1)))

  python3 "$here/gen_replicaset.py" --slots "$n" --replicas "$r" --budget "$b" -o "$tmp/replicaset_$n.pml"
  (cd "$tmp" && spin -a "replicaset_$n.pml" > /dev/null)
  cd "$tmp"
  pan_row "POR on (default)" "$w" -DSAFETY
  pan_row "-DNOREDUCE" "$w" -DSAFETY -DNOREDUCE
  pan_row "-DCOLLAPSE (extra row)" "$w" -DSAFETY -DCOLLAPSE
  cd "$root"
done
