#!/usr/bin/env bash
# Scale benchmark of the target engine (docs/performance.md): many LUNs on one engine, heap and
# RSS per LUN and per idle session, login latency p50/p99, and how evenly concurrent sessions
# share throughput (one libiscsi iscsi-perf per session). Engine only; no tgtd.
#
# Environment (optional): TARGETS=200 LUNS_PER_TARGET=5 (1000 LUNs, 200 sessions), IO_SECONDS=10,
# PORT=13620, BENCH_DIR=/var/tmp, SKIP_BUILD=1, TARGET_ENGINE_JAVA_OPTS.
set -euo pipefail
here=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
module=$(cd -P "$here/.." && pwd)
repo=$(cd -P "$module/.." && pwd)
TARGETS=${TARGETS:-200}
LUNS_PER_TARGET=${LUNS_PER_TARGET:-5}
IO_SECONDS=${IO_SECONDS:-10}
PORT=${PORT:-13620}
BENCH_DIR=${BENCH_DIR:-/var/tmp}
for v in TARGETS LUNS_PER_TARGET IO_SECONDS PORT; do
  [[ ${!v} =~ ^[1-9][0-9]{0,4}$ ]] || { echo "$v must be a positive number" >&2; exit 2; }
done
command -v iscsi-perf >/dev/null || { echo "missing iscsi-perf (libiscsi-bin)" >&2; exit 2; }
. "$repo/bin/java-home.sh" || { echo "no JDK 25 found under /usr/lib/jvm (set JAVA_HOME)" >&2; exit 2; }
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
# ScaleBench lives in the test jar: benchmark code stays out of the engine's production jar
if [ ! -f "$module/target/target-engine.jar" ] || [ ! -f "$module/target/target-engine-tests.jar" ]; then
  [ "${SKIP_BUILD:-0}" = 1 ] && { echo "build target-engine first" >&2; exit 2; }
  (cd "$repo" && ./mvnw -B -q -pl target-engine -am package -DskipTests)
fi
work=$(mktemp -d "$BENCH_DIR/iscsi-scale.XXXXXX")
trap 'rm -rf "$work"' EXIT
ulimit -n 65536 2>/dev/null || true
# shellcheck disable=SC2086
"$java" ${TARGET_ENGINE_JAVA_OPTS:-} -XX:+IgnoreUnrecognizedVMOptions \
  --sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED \
  -Dtarget.engine.log=WARN \
  -cp "$module/target/target-engine.jar:$module/target/target-engine-tests.jar:$module/target/lib/*" \
  org.iscsicsi.target.bench.ScaleBench "$work/state" "$PORT" "$TARGETS" "$LUNS_PER_TARGET" \
  "$IO_SECONDS"
echo "(load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores)"
