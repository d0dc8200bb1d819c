#!/usr/bin/env bash
# State benchmark of the target engine (docs/performance.md): cost of a configuration change with
# 10 / 1 000 / 10 000 volumes, concurrent volume creation with 10 000 volumes, and restart-to-
# serving after SIGKILL with 1 000 LUNs. Engine only. About 3 minutes.
#
# Environment (optional): BENCH_DIR=/var/tmp, SKIP_BUILD=1, TARGET_ENGINE_JAVA_OPTS.
set -euo pipefail
here=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
module=$(cd -P "$here/.." && pwd)
repo=$(cd -P "$module/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp}
. "$repo/bin/java-home.sh" || { echo "no JDK 25 found under /usr/lib/jvm (set JAVA_HOME)" >&2; exit 2; }
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
# StateBench lives in the test jar: benchmark code stays out of the engine's production jar
if [ ! -f "$module/target/target-engine.jar" ] || [ ! -f "$module/target/target-engine-tests.jar" ]; then
  [ "${SKIP_BUILD:-0}" = 1 ] && { echo "build target-engine first" >&2; exit 2; }
  (cd "$repo" && ./mvnw -B -q -pl target-engine -am package -DskipTests)
fi
# 10 000 open LUNs need more descriptors than the usual soft limit; raise it to the hard one
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
work=$(mktemp -d "$BENCH_DIR/iscsi-state.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "(load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores)"
# shellcheck disable=SC2086
"$java" ${TARGET_ENGINE_JAVA_OPTS:-} -XX:+IgnoreUnrecognizedVMOptions \
  --sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED \
  -Dtarget.engine.log=WARN \
  -cp "$module/target/target-engine.jar:$module/target/target-engine-tests.jar:$module/target/lib/*" \
  org.iscsicsi.target.bench.StateBench "$work" "$module/bin/target-engine"
echo "(load average after: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores)"
