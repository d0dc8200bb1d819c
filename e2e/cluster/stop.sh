#!/usr/bin/env bash
# Stops every process start.sh started for RUN_DIR (by the pid files it wrote), sidecars and the
# controller first, then the pool's engines, etcd last: SIGTERM, then SIGKILL after 10 s.
# Idempotent.
# Usage: stop.sh RUN_DIR [--keep]   (without --keep, etcd's data and the engine state are removed)
set -uo pipefail
RUN="${1:?usage: stop.sh RUN_DIR [--keep]}"
PIDS="$RUN/pids"
[[ -d "$PIDS" ]] || exit 0
FIRST=(csi-provisioner csi-attacher csi-resizer csi-snapshotter snapshot-controller controller)
LAST=(kube-scheduler kube-controller-manager kube-apiserver etcd)
stop_one() {
  local f="$PIDS/$1.pid"
  [[ -f "$f" ]] || return 0
  local pid; pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$f"
}
for name in "${FIRST[@]}"; do stop_one "$name"; done
for f in "$PIDS"/engine-*.pid; do [[ -f "$f" ]] && stop_one "$(basename "$f" .pid)"; done
for name in "${LAST[@]}"; do stop_one "$name"; done
for f in "$PIDS"/*.pid; do [[ -f "$f" ]] && stop_one "$(basename "$f" .pid)"; done
if [[ "${2:-}" != --keep ]]; then rm -rf "$RUN/etcd" "$RUN/state" "$RUN/engines" "$RUN/csi.sock"; fi
exit 0
