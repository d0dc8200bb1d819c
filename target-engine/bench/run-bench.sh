#!/usr/bin/env bash
# Side-by-side benchmark of the target engine and Debian's tgtd on loopback (docs/performance.md).
#
# Both targets export one LUN backed by a preallocated file of the same size in the same directory
# and are driven by the same clients: qemu-img bench and qemu-io (iscsi:// URLs, libiscsi inside
# qemu-block-extra) and libiscsi's iscsi-perf. Runs are interleaved (engine, tgtd, engine, ...) so
# that background load hits both alike; the table shows medians. iperf3 gives the loopback ceiling.
#
# Environment (all optional):
#   RUNS=3            measured runs per target (median reported)
#   LUN_SIZE=1G       size of each LUN file
#   BENCH_DIR=/var/tmp  where the work directory (LUN files, engine state) is made
#   PORT_BASE=13600   engine iSCSI +0, tgtd iSCSI +1, engine admin +2, iperf3 +3, metrics +4
#   TGT_CONTROL=13690 tgtd's control port index (tgtd -C / tgtadm -C), not a TCP port
#   PROFILE=1         profile the engine during the measured runs: perf (package linux-perf) with
#                     a JIT symbol map when present, else a JFR recording; prints a summary
#   SKIP_BUILD=1      do not build target-engine when its jar is missing
#   WARMUP=3          unmeasured rounds per target first, so that the engine's JIT compiler
#                     has done most of its work (a target runs for months; tgtd needs none)
#   METRICS="..."     measure only these (default all): seq_read seq_write rand_read_perf
#                     rand_read_qemu rand_write latency
#   TARGET_ENGINE_JAVA_OPTS  extra JVM options for the engine
set -euo pipefail

here=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
module=$(cd -P "$here/.." && pwd)
repo=$(cd -P "$module/.." && pwd)
RUNS=${RUNS:-3}
WARMUP=${WARMUP:-3}
LUN_SIZE=${LUN_SIZE:-1G}
BENCH_DIR=${BENCH_DIR:-/var/tmp}
PORT_BASE=${PORT_BASE:-13600}
TGT_CONTROL=${TGT_CONTROL:-13690}
PROFILE=${PROFILE:-0}
ALL_METRICS="seq_read seq_write rand_read_perf rand_read_qemu rand_write latency"
METRICS=${METRICS:-$ALL_METRICS}
ENGINE_PORT=$PORT_BASE
TGT_PORT=$((PORT_BASE + 1))
ADMIN_PORT=$((PORT_BASE + 2))
IPERF_PORT=$((PORT_BASE + 3))
ENGINE_IQN=iqn.2026-11.org.iscsicsi:bench-engine
TGT_IQN=iqn.2026-11.org.iscsicsi:bench-tgtd
ENGINE_URL="iscsi://127.0.0.1:$ENGINE_PORT/$ENGINE_IQN/0"
TGT_URL="iscsi://127.0.0.1:$TGT_PORT/$TGT_IQN/1" # tgtd's LUN 0 is its controller

[[ $RUNS =~ ^[1-9][0-9]?$ ]] || { echo "RUNS must be 1-99" >&2; exit 2; }
[[ $WARMUP =~ ^[0-9]$ ]] || { echo "WARMUP must be 0-9" >&2; exit 2; }
for m in $METRICS; do
  [[ " $ALL_METRICS " == *" $m "* ]] || { echo "unknown metric $m (known: $ALL_METRICS)" >&2; exit 2; }
done
wanted() { [[ " $METRICS " == *" $1 "* ]]; }
[[ $PORT_BASE =~ ^[0-9]+$ ]] && ((PORT_BASE > 1023 && PORT_BASE < 65530)) \
  || { echo "PORT_BASE must be 1024-65529" >&2; exit 2; }
for tool in tgtd tgtadm qemu-img qemu-io iscsi-perf iperf3 awk timeout; do
  command -v "$tool" >/dev/null || {
    echo "missing $tool (Debian: tgt qemu-utils qemu-block-extra libiscsi-bin iperf3)" >&2
    exit 2
  }
done
if [ "$(id -u)" != 0 ]; then
  echo "tgtd needs root (it creates /var/run/tgtd); run as root" >&2
  exit 2
fi
. "$repo/bin/java-home.sh" || { echo "no JDK 25 found under /usr/lib/jvm (set JAVA_HOME)" >&2; exit 2; }
if [ ! -f "$module/target/target-engine.jar" ]; then
  if [ "${SKIP_BUILD:-0}" = 1 ]; then
    echo "target-engine is not built: ./mvnw -pl target-engine -am package" >&2
    exit 2
  fi
  (cd "$repo" && ./mvnw -B -q -pl target-engine -am package -DskipTests)
fi

work=$(mktemp -d "$BENCH_DIR/iscsi-bench.XXXXXX")
engine_pid=
tgtd_pid=
iperf_pid=
. "$here/targets.sh"
cleanup() {
  set +e
  stop_tgtd
  stop_engine
  [ -n "$iperf_pid" ] && kill "$iperf_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

engine() { "$module/bin/target-engine" "$@"; }
log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ------------------------------------------------------------------ targets
log "work directory $work (LUN files of $LUN_SIZE each)"
fallocate -l "$LUN_SIZE" "$work/tgtd.img"
size_bytes=$(stat -c %s "$work/tgtd.img")

log "starting tgtd (portal 127.0.0.1:$TGT_PORT, control port index $TGT_CONTROL)"
start_tgtd "$TGT_PORT"
tgtadm -C "$TGT_CONTROL" --lld iscsi --mode target --op new --tid 1 --targetname "$TGT_IQN"
tgtadm -C "$TGT_CONTROL" --lld iscsi --mode logicalunit --op new --tid 1 --lun 1 \
  --backing-store "$work/tgtd.img"
tgtadm -C "$TGT_CONTROL" --lld iscsi --mode target --op bind --tid 1 --initiator-address ALL

log "starting the engine (portal 127.0.0.1:$ENGINE_PORT)"
use_perf=0
serve_opts=${TARGET_ENGINE_JAVA_OPTS:-}
if [ "$PROFILE" = 1 ] && command -v perf >/dev/null; then
  use_perf=1 # perf resolves JIT-compiled frames through /tmp/perf-<pid>.map, written at exit
  serve_opts="$serve_opts -XX:+UnlockDiagnosticVMOptions -XX:+DumpPerfMapAtExit \
    -XX:+PreserveFramePointer"
fi
export TARGET_ENGINE_ADMIN="127.0.0.1:$ADMIN_PORT"
TARGET_ENGINE_JAVA_OPTS="$serve_opts" "$module/bin/target-engine" serve --state-dir "$work/engine" \
  --portal "127.0.0.1:$ENGINE_PORT" --admin "$TARGET_ENGINE_ADMIN" >"$work/engine.log" 2>&1 &
engine_pid=$!
for _ in $(seq 120); do
  engine info >/dev/null 2>&1 && break
  kill -0 "$engine_pid" 2>/dev/null || { cat "$work/engine.log" >&2; exit 1; }
  sleep 0.5
done
engine target create "$ENGINE_IQN" >/dev/null
engine lun create "$ENGINE_IQN" --lun 0 --size "$size_bytes" --thick >/dev/null
engine acl add "$ENGINE_IQN" ALL >/dev/null

# ------------------------------------------------------------------ measurements
# Each prints one number.
bench_secs() { # qemu-img bench ARGS... -> seconds
  timeout 300 qemu-img bench -f raw "$@" 2>&1 | awk '/Run completed in/{print $4}'
}
seq_read_mbs() {
  local n=$((size_bytes / 1048576))
  bench_secs -c "$n" -d 16 -s 1M "$1" | awk -v b=$((n * 1048576)) '{printf "%.0f", b / $1 / 1e6}'
}
seq_write_mbs() {
  local n=$((size_bytes / 1048576))
  bench_secs -t none -w -c "$n" -d 16 -s 1M "$1" \
    | awk -v b=$((n * 1048576)) '{printf "%.0f", b / $1 / 1e6}'
}
# 4 KiB "random" with qemu-img bench: a stride of 7919 blocks wraps around the LUN, so
# consecutive requests never touch neighbouring blocks
rand_write_iops() {
  bench_secs -t none -w -c 40000 -d 32 -s 4k -S $((4096 * 7919)) "$1" \
    | awk '{printf "%.0f", 40000 / $1}'
}
rand_read_iops_qemu() {
  bench_secs -c 40000 -d 32 -s 4k -S $((4096 * 7919)) "$1" | awk '{printf "%.0f", 40000 / $1}'
}
rand_read_iops_perf() { # iscsi-perf: truly random LBAs, 8 x 512-byte blocks, 32 in flight
  timeout 60 iscsi-perf -m 32 -b 8 -r -t 5 "$1" | tr '\r' '\n' \
    | awk '/iops average/{v=$3} END{print v}'
}
# qemu-io, one 4 KiB read at a time; each read reports its own rate: latency = 1 / (ops/s)
latency_us() { # URL -> "p50 p99" in microseconds
  local blocks=$((size_bytes / 4096))
  for i in $(seq 0 1999); do echo "read -C $(((i * 7919) % blocks * 4096)) 4k"; done \
    | timeout 120 qemu-io -f raw "$1" \
    | awk -F, 'NF == 5 && $5 > 0 {print 1e6 / $5}' | sort -g \
    | awk '{v[NR] = $1} END {printf "%.0f %.0f", v[int(NR * 0.50)], v[int(NR * 0.99)]}'
}
iperf_mbs() {
  timeout 20 iperf3 -c 127.0.0.1 -p "$IPERF_PORT" -t 3 -J | grep -A12 '"sum_received"' \
    | awk -F: '/"bits_per_second"/ {gsub(/[ ,]/, "", $2); printf "%.0f", $2 / 8 / 1e6; exit}'
}

declare -A results # "metric target" -> space-separated values
record() { results["$1 $2"]="${results["$1 $2"]:-} $3"; }

# CPU time the target process used (user + system, in clock ticks): throughput on a shared
# 2-core machine swings with whatever else runs, the CPU a target spends per byte much less.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
clk_tck=$(getconf CLK_TCK)
# measure_cpu METRIC NAME PID UNITS FUNCTION URL: records FUNCTION's figure as METRIC and the
# target's CPU per unit (UNITS units of work per run) as METRIC_cpu, in microseconds
measure_cpu() {
  local metric=$1 name=$2 pid=$3 units=$4 fn=$5 url=$6 c0 v
  c0=$(cpu_ticks "$pid")
  v=$("$fn" "$url")
  record "$metric" "$name" "$v"
  record "${metric}_cpu" "$name" "$(awk -v d="$(($(cpu_ticks "$pid") - c0))" -v t="$clk_tck" \
    -v u="$units" 'BEGIN {printf "%.1f", d / t * 1e6 / u}')"
}

measure() { # NAME URL PID
  local name=$1 url=$2 pid=$3 lat mib=$((size_bytes / 1048576))
  if wanted seq_write; then measure_cpu seq_write "$name" "$pid" "$mib" seq_write_mbs "$url"; fi
  if wanted seq_read; then measure_cpu seq_read "$name" "$pid" "$mib" seq_read_mbs "$url"; fi
  if wanted rand_write; then
    measure_cpu rand_write "$name" "$pid" 40000 rand_write_iops "$url"
  fi
  if wanted rand_read_qemu; then
    measure_cpu rand_read_qemu "$name" "$pid" 40000 rand_read_iops_qemu "$url"
  fi
  if wanted rand_read_perf; then record rand_read_perf "$name" "$(rand_read_iops_perf "$url")"; fi
  if wanted latency; then
    lat=$(latency_us "$url")
    record lat_p50 "$name" "${lat% *}"
    record lat_p99 "$name" "${lat#* }"
  fi
}

log "warming up both targets ($WARMUP rounds: JIT, page cache)"
for _ in $(seq "$WARMUP"); do
  for url in "$ENGINE_URL" "$TGT_URL"; do
    seq_write_mbs "$url" >/dev/null
    seq_read_mbs "$url" >/dev/null
    rand_write_iops "$url" >/dev/null
    rand_read_iops_qemu "$url" >/dev/null
  done
done

perf_pid=
if [ "$use_perf" = 1 ]; then
  perf record -F 499 -g -p "$engine_pid" -o "$work/perf.data" >/dev/null 2>&1 &
  perf_pid=$!
elif [ "$PROFILE" = 1 ]; then
  "$JAVA_HOME/bin/jcmd" "$engine_pid" JFR.start name=bench settings=profile \
    filename="$work/engine.jfr" >/dev/null
fi
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
iperf3 -s -p "$IPERF_PORT" >/dev/null 2>&1 &
iperf_pid=$!
sleep 0.5
for run in $(seq "$RUNS"); do
  log "run $run of $RUNS: engine"
  measure engine "$ENGINE_URL" "$engine_pid"
  log "run $run of $RUNS: tgtd"
  measure tgtd "$TGT_URL" "$tgtd_pid"
  record iperf loopback "$(iperf_mbs)"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------------------------------ report
median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{v[NR]=$1} END {
  if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2 }'; }
ceiling=$(echo "${results["iperf loopback"]}" | median)
echo
echo "iSCSI on loopback, $(nproc) cores, LUN $LUN_SIZE, medians of $RUNS runs after $WARMUP" \
  "warm-up rounds" \
  "(load average before: $load_before, after: $load_after)"
printf '%-46s %10s %10s %9s\n' "measure" "engine" "tgtd" "engine/tgtd"
row() { # METRIC LABEL LOWER_IS_BETTER
  local e t
  [ -n "${results["$1 engine"]:-}" ] || return 0 # not measured (METRICS)
  e=$(echo "${results["$1 engine"]}" | median)
  t=$(echo "${results["$1 tgtd"]}" | median)
  awk -v l="$2" -v e="$e" -v t="$t" -v inv="$3" 'BEGIN {
    r = (t + 0 > 0 && e + 0 > 0) ? (inv ? t / e : e / t) : 0
    printf "%-46s %10s %10s %8.2fx\n", l, e, t, r }'
}
row seq_read "1 MiB seq read, QD16, MB/s (qemu-img)" 0
row seq_write "1 MiB seq write, QD16, MB/s (qemu-img)" 0
row rand_read_perf "4 KiB random read, QD32, IOPS (iscsi-perf)" 0
row rand_read_qemu "4 KiB strided read, QD32, IOPS (qemu-img)" 0
row rand_write "4 KiB strided write, QD32, IOPS (qemu-img)" 0
row seq_read_cpu "target CPU per 1 MiB read, us" 1
row seq_write_cpu "target CPU per 1 MiB write, us" 1
row rand_read_qemu_cpu "target CPU per 4 KiB strided read, us" 1
row rand_write_cpu "target CPU per 4 KiB strided write, us" 1
row lat_p50 "4 KiB read latency p50, QD1, us (qemu-io)" 1
row lat_p99 "4 KiB read latency p99, QD1, us (qemu-io)" 1
printf '%-46s %10s\n' "loopback TCP ceiling, MB/s (iperf3)" "$ceiling"
if wanted seq_read; then
  awk -v e="$(echo "${results["seq_read engine"]}" | median)" -v c="$ceiling" 'BEGIN {
    if (c > 0) printf "engine 1 MiB seq read = %.0f%% of the loopback ceiling\n", 100 * e / c }'
fi
echo "(latency and CPU ratios: tgtd/engine, so above 1x means the engine is faster or cheaper)"
echo "raw runs:"
for k in "${!results[@]}"; do echo "  $k:${results[$k]}"; done | sort

if [ "$use_perf" = 1 ]; then
  # SIGTERM: a non-interactive shell starts background jobs with SIGINT ignored
  kill -TERM "$perf_pid"
  wait "$perf_pid" 2>/dev/null || true
  kill "$engine_pid" # the JIT symbol map is written as the engine exits
  wait "$engine_pid" 2>/dev/null || true
  perf_map="/tmp/perf-$engine_pid.map"
  engine_pid=
  echo
  echo "engine profile (perf, on-CPU samples by thread, then by function):"
  perf report -i "$work/perf.data" --no-children --sort comm --stdio -g none 2>&1 \
    | grep "%" | head -8 || true
  perf report -i "$work/perf.data" --no-children --sort dso,sym --stdio -g none 2>&1 \
    | grep "%" | head -30 || true
  cp "$work/perf.data" "$BENCH_DIR/iscsi-bench-engine.perf.data"
  cp "$perf_map" "$BENCH_DIR/iscsi-bench-engine.perf.map" 2>/dev/null || true
  rm -f "$perf_map"
  echo "full profile: $BENCH_DIR/iscsi-bench-engine.perf.data (perf report -i ...; JIT symbols"
  echo "  in iscsi-bench-engine.perf.map: copy it back to $perf_map to resolve them)"
elif [ "$PROFILE" = 1 ]; then
  "$JAVA_HOME/bin/jcmd" "$engine_pid" JFR.stop name=bench >/dev/null
  echo
  echo "engine profile (JFR execution samples, top frames):"
  "$JAVA_HOME/bin/jfr" view --width 160 hot-methods "$work/engine.jfr" | head -30 || true
  cp "$work/engine.jfr" "${BENCH_DIR}/iscsi-bench-engine.jfr"
  echo "full recording: ${BENCH_DIR}/iscsi-bench-engine.jfr"
fi
