# Sourced by the bench scripts: starting and stopping tgtd and the engine the same way in each.
# Needs TGT_CONTROL (tgtd's control port index, not a TCP port) and $work (the work directory).

# start_tgtd PORT: tgtd on 127.0.0.1:PORT in the foreground of a background job; sets tgtd_pid
start_tgtd() {
  tgtd -f -C "$TGT_CONTROL" --iscsi "portal=127.0.0.1:$1" >"$work/tgtd.log" 2>&1 &
  tgtd_pid=$!
  for _ in $(seq 100); do
    tgtadm -C "$TGT_CONTROL" --op show --mode system >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "tgtd did not answer on control port index $TGT_CONTROL:" >&2
  cat "$work/tgtd.log" >&2
  return 1
}

# stop_tgtd: tgtd ignores SIGTERM, so remove its target, then ask it to exit; SIGKILL at last
stop_tgtd() {
  [ -n "${tgtd_pid:-}" ] || return 0
  timeout 20 tgtadm -C "$TGT_CONTROL" --lld iscsi --mode target --op delete --force --tid 1 \
    >/dev/null 2>&1
  timeout 20 tgtadm -C "$TGT_CONTROL" --op delete --mode system >/dev/null 2>&1
  for _ in $(seq 50); do kill -0 "$tgtd_pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$tgtd_pid" 2>/dev/null
  tgtd_pid=
}

# stop_engine: SIGTERM, 10 s to exit, then SIGKILL
stop_engine() {
  [ -n "${engine_pid:-}" ] || return 0
  kill "$engine_pid" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$engine_pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$engine_pid" 2>/dev/null
  engine_pid=
}
