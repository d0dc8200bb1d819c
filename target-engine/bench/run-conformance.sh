#!/usr/bin/env bash
# libiscsi's conformance suite (iscsi-test-cu) against the target engine and Debian's tgtd on the
# same LUN configuration, one table per target, so README's comparison can be reproduced.
#
# Each target exports a thin 16 MiB data LUN and a read-only 16 MiB LUN, granted to two initiator
# names; the suite runs the SCSI and iSCSI families on the data LUN (the same LUN given twice:
# the MultipathIO tests use the second URL as a second path) and SCSI.ReadOnly on the read-only
# LUN, exactly as LibiscsiConformanceTest does in CI for the engine. tgtd's LUN 0 is its
# controller, so its data LUN is LUN 1 and its read-only LUN is LUN 2. 16 MiB stays below 65536
# blocks: on larger LUNs WriteSame16.Unmap issues one 32 MiB WRITE(16), beyond the 8 MiB MAXIMUM
# TRANSFER LENGTH the engine reports, and the engine refuses it as SBC-3 requires.
#
# Needs root (tgtd), tgt, libiscsi-bin and a built target-engine (./mvnw -pl target-engine -am
# package -DskipTests). Environment (optional):
#   PORT_BASE=13650   engine iSCSI +0, tgtd iSCSI +1
#   TGT_CONTROL=13691 tgtd's control port index (tgtd -C / tgtadm -C), not a TCP port
#   FAMILIES="SCSI iSCSI"  families to run on the data LUN
#   KEEP=1            keep the work directory (every suite's full output) for reading
set -euo pipefail

here=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
module=$(cd -P "$here/.." && pwd)
repo=$(cd -P "$module/.." && pwd)
PORT_BASE=${PORT_BASE:-13650}
TGT_CONTROL=${TGT_CONTROL:-13691}
FAMILIES=${FAMILIES:-SCSI iSCSI}
KEEP=${KEEP:-0}
ENGINE_PORT=$PORT_BASE
TGT_PORT=$((PORT_BASE + 1))
LUN_BYTES=$((16 << 20))
IQN=iqn.2026-11.org.iscsicsi:conformance
INIT1=iqn.2026-11.org.iscsicsi:conformance-init1
INIT2=iqn.2026-11.org.iscsicsi:conformance-init2

[[ $PORT_BASE =~ ^[0-9]+$ ]] && ((PORT_BASE > 1023 && PORT_BASE < 65534)) \
  || { echo "PORT_BASE must be 1024-65533" >&2; exit 2; }
[[ $TGT_CONTROL =~ ^[0-9]+$ ]] || { echo "TGT_CONTROL must be a number" >&2; exit 2; }
for f in $FAMILIES; do
  [[ $f =~ ^[A-Za-z][A-Za-z0-9.]*$ ]] || { echo "bad family name: $f" >&2; exit 2; }
done
for tool in tgtd tgtadm iscsi-test-cu awk timeout; do
  command -v "$tool" >/dev/null || {
    echo "missing $tool (Debian: tgt libiscsi-bin)" >&2
    exit 2
  }
done
[ "$(id -u)" = 0 ] || { echo "tgtd needs root (it creates /var/run/tgtd); run as root" >&2; exit 2; }
. "$repo/bin/java-home.sh" || { echo "no JDK 25 found under /usr/lib/jvm (set JAVA_HOME)" >&2; exit 2; }
[ -f "$module/target/target-engine.jar" ] \
  || { echo "target-engine is not built: ./mvnw -pl target-engine -am package -DskipTests" >&2; exit 2; }

work=$(mktemp -d /var/tmp/iscsi-conformance.XXXXXX)
engine_pid=
tgtd_pid=
. "$here/targets.sh"
cleanup() {
  set +e
  stop_tgtd
  stop_engine
  wait 2>/dev/null
  if [ "$KEEP" = 1 ]; then echo "outputs kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ------------------------------------------------------------------ the engine
log "starting the engine (portal 127.0.0.1:$ENGINE_PORT)"
export TARGET_ENGINE_ADMIN="unix:$work/engine-admin.sock"
"$module/bin/target-engine" serve --state-dir "$work/engine" --portal "127.0.0.1:$ENGINE_PORT" \
  --admin "$TARGET_ENGINE_ADMIN" >"$work/engine.log" 2>&1 &
engine_pid=$!
engine() { "$module/bin/target-engine" "$@" >/dev/null; }
for _ in $(seq 150); do
  "$module/bin/target-engine" info >/dev/null 2>&1 && break
  kill -0 "$engine_pid" 2>/dev/null || { cat "$work/engine.log" >&2; exit 1; }
  sleep 0.2
done
engine target create "$IQN"
engine lun create "$IQN" --lun 0 --size "$LUN_BYTES"
engine lun create "$IQN" --lun 1 --size "$LUN_BYTES" --read-only
engine acl add "$IQN" "$INIT1"
engine acl add "$IQN" "$INIT2"

# ------------------------------------------------------------------ tgtd
log "starting tgtd (portal 127.0.0.1:$TGT_PORT, control port index $TGT_CONTROL)"
truncate -s "$LUN_BYTES" "$work/tgtd-data.img" "$work/tgtd-ro.img"
start_tgtd "$TGT_PORT"
tgt() { tgtadm -C "$TGT_CONTROL" --lld iscsi "$@"; }
tgt --mode target --op new --tid 1 --targetname "$IQN"
tgt --mode logicalunit --op new --tid 1 --lun 1 --backing-store "$work/tgtd-data.img"
tgt --mode logicalunit --op new --tid 1 --lun 2 --backing-store "$work/tgtd-ro.img"
tgt --mode logicalunit --op update --tid 1 --lun 2 --params readonly=1
tgt --mode target --op bind --tid 1 --initiator-name "$INIT1"
tgt --mode target --op bind --tid 1 --initiator-name "$INIT2"

# ------------------------------------------------------------------ the suite
# run NAME FAMILY URL: iscsi-test-cu's output in $work/NAME-FAMILY.log
run() {
  local out="$work/$1-$2.log"
  log "iscsi-test-cu --test=$2 against $1 ($3)"
  timeout 900 iscsi-test-cu --dataloss --test="$2" -i "$INIT1" -I "$INIT2" "$3" "$3" \
    >"$out" 2>&1 </dev/null || true
}
engine_url() { echo "iscsi://127.0.0.1:$ENGINE_PORT/$IQN/$1"; }
tgtd_url() { echo "iscsi://127.0.0.1:$TGT_PORT/$IQN/$1"; }
for f in $FAMILIES; do
  run engine "$f" "$(engine_url 0)"
  run tgtd "$f" "$(tgtd_url 1)"
done
run engine SCSI.ReadOnly "$(engine_url 1)"
run tgtd SCSI.ReadOnly "$(tgtd_url 2)"

# CUnit's basic output: "Suite: S", "  Test: T ...passed" or "...FAILED" followed by failure records
# "    1. file.c:123  - condition"; libiscsi's own skips print "[SKIPPED]" (CUnit counts them as
# passed). classify LOG prints one "<state> <suite>.<test>" line per test: failed, skipped, passed.
classify() {
  awk '
    function flush() { if (test != "") print (failed ? "failed" : skipped ? "skipped" : "passed"), test }
    /^Suite: / { flush(); test = ""; suite = substr($0, 8); next }
    /^ +Test: / { flush(); test = suite "." $2; failed = 0; skipped = 0 }
    /\[SKIPPED\]/ { skipped = 1 }
    /^ +[0-9]+\. [^ ]+:[0-9]+ +- / { failed = 1 }
    /^Run Summary/ { flush(); test = "" }
    END { flush() }' "$1"
}
# summary LOG: "tests ran exercised skipped failed"
summary() {
  local counts
  counts=$(awk '/^ +tests +[0-9]/ { print $2, $3 }' "$1")
  [ -n "$counts" ] || { echo "- - - - -"; return; }
  classify "$1" | awk -v counts="$counts" '
    { n[$1]++ }
    END { split(counts, c, " "); printf "%d %d %d %d %d\n", c[1], c[2], n["passed"], n["skipped"], n["failed"] }'
}

for target in engine tgtd; do
  echo
  echo "libiscsi iscsi-test-cu against $target"
  printf '%-14s %6s %6s %18s %20s %7s\n' family tests ran "passed (exercised)" "skipped by libiscsi" failed
  for f in $FAMILIES SCSI.ReadOnly; do
    read -r total ran passed skipped failed < <(summary "$work/$target-$f.log")
    printf '%-14s %6s %6s %18s %20s %7s\n' "$f" "$total" "$ran" "$passed" "$skipped" "$failed"
  done
  for f in $FAMILIES SCSI.ReadOnly; do
    list=$(classify "$work/$target-$f.log" | awk '$1 == "failed" { print "    " $2 }')
    [ -z "$list" ] || { echo "  failed in $f:"; echo "$list"; }
  done
done
