#!/usr/bin/env bash
# QoS benchmark of the target engine (docs/performance.md): each per-LUN limit (read/write IOPS,
# read/write bytes per second) against what passes, how fast a change takes hold, and the
# latency cost of the limiter with no limit set. Engine only, in one JVM; clients are libiscsi's
# iscsi-perf, qemu-img bench and qemu-io.
#
# Environment (optional): WARMUP=3 (unmeasured rounds first: the JIT compiler), RUNS=3 (median
# reported), SECONDS_PER_RUN=5, PORT=13640 (0: any free port), BENCH_DIR=/var/tmp, SKIP_BUILD=1,
# TARGET_ENGINE_JAVA_OPTS.
set -euo pipefail
here=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
module=$(cd -P "$here/.." && pwd)
repo=$(cd -P "$module/.." && pwd)
WARMUP=${WARMUP:-3}
RUNS=${RUNS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
PORT=${PORT:-13640}
BENCH_DIR=${BENCH_DIR:-/var/tmp}
[[ $WARMUP =~ ^[0-9]$ ]] || { echo "WARMUP must be 0-9" >&2; exit 2; }
[[ $PORT =~ ^[0-9]{1,5}$ ]] || { echo "PORT must be a port number" >&2; exit 2; }
for v in RUNS SECONDS_PER_RUN; do
  [[ ${!v} =~ ^[1-9][0-9]{0,4}$ ]] || { echo "$v must be a positive number" >&2; exit 2; }
done
for tool in iscsi-perf qemu-img qemu-io; do
  command -v "$tool" >/dev/null || { echo "missing $tool (libiscsi-bin, qemu-utils, qemu-block-extra)" >&2; exit 2; }
done
. "$repo/bin/java-home.sh" || { echo "no JDK 25 found under /usr/lib/jvm (set JAVA_HOME)" >&2; exit 2; }
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
# QosBench lives in the test jar: benchmark code stays out of the engine's production jar
if [ ! -f "$module/target/target-engine.jar" ] || [ ! -f "$module/target/target-engine-tests.jar" ]; then
  [ "${SKIP_BUILD:-0}" = 1 ] && { echo "build target-engine first" >&2; exit 2; }
  (cd "$repo" && ./mvnw -B -q -pl target-engine -am package -DskipTests)
fi
work=$(mktemp -d "$BENCH_DIR/iscsi-qos.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "(load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores)"
# shellcheck disable=SC2086
"$java" ${TARGET_ENGINE_JAVA_OPTS:-} -XX:+IgnoreUnrecognizedVMOptions \
  --sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED \
  -Dtarget.engine.log=WARN -Dio.netty.leakDetection.level=disabled \
  -cp "$module/target/target-engine.jar:$module/target/target-engine-tests.jar:$module/target/lib/*" \
  org.iscsicsi.target.bench.QosBench "$work/state" "$PORT" "$WARMUP" "$RUNS" "$SECONDS_PER_RUN"
echo "(load average after: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores)"
