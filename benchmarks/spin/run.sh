#!/bin/sh
# Reproduce the Spin side of benchmarks/RESULTS.md: verify replicaset.pml (a Promela translation
# of models/replicaset.kdsl at the size the comparison uses) with Spin's safety search, with and
# without partial-order reduction, and then kcheck on the same configuration without symmetry.
#
#   sh benchmarks/spin/run.sh
#
# Needs spin and gcc (Debian: apt-get install -y spin gcc).  All build artifacts (pan.c, pan,
# trails) go to a temporary directory that is removed afterwards; nothing is written to the repo.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

command -v spin >/dev/null || { echo "spin not found (apt-get install -y spin)" >&2; exit 2; }
command -v gcc >/dev/null || { echo "gcc not found" >&2; exit 2; }
spin -V

cp "$here/replicaset.pml" "$tmp/"
cd "$tmp"
spin -a replicaset.pml

# -w: hash table of 2^W slots.  pan's default (-w24, 128 MiB) dwarfs a 485-state model, so it is
# run both ways: default, and -w12 (4096 slots), which is ample here.
for reduce in "" "-DNOREDUCE"; do
  gcc -O2 -DSAFETY $reduce -o pan pan.c
  for w in "" "-w12"; do
    echo
    echo "== gcc -O2 -DSAFETY ${reduce:-(partial-order reduction on)}; ./pan -m100000 $w"
    /usr/bin/time -f "wall %e s, peak RSS %M KiB" ./pan -m100000 $w 2>&1 \
      | grep -E "errors:|states, stored|states, matched|transitions|total actual memory|elapsed time|wall|Partial Order|assertion viol"
  done
done

echo
echo "== kcheck on the same configuration, symmetry off"
cd "$root"
# models/replicaset.kdsl has grown a user scale-up fault and more consts since the translation
# was written; SCALE_UPS=0 disables that fault and replicas=3 gives the translated size
# (MAX_PODS = REPLICASETS * MAX_REPLICAS + CRASHES = 5, pods_fit == the old `bounded`).
/usr/bin/time -f "wall %e s, peak RSS %M KiB" .venv/bin/kcheck verify models/replicaset.kdsl \
  -D REPLICASETS=1 -D MAX_REPLICAS=3 -D CRASHES=2 -D SCALE_UPS=0 -D replicas=3 --no-symmetry
