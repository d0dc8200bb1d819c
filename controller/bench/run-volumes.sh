#!/usr/bin/env bash
# The controller's volume benchmark (controller/README.md, Figures): CreateVolume and DeleteVolume
# of N thin volumes, one call at a time over the CSI unix socket, against the embedded engine;
# p50, p99, max, volumes per second and the heap after GC. 50 volumes are created and deleted
# first to warm the JIT (not measured).
#
# Usage: controller/bench/run-volumes.sh [VOLUMES (1000)] [SIZE_BYTES (1 GiB, thin)]
# Environment (optional): BENCH_DIR=/var/tmp, SKIP_BUILD=1, RUN_JAVA_OPTS.
set -euo pipefail
here=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
module=$(cd -P "$here/.." && pwd)
repo=$(cd -P "$module/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp}
# VolumeBench lives in the test classes: benchmark code stays out of the controller's jar
if [ ! -f "$module/target/controller.jar" ] ||
   [ ! -f "$module/target/test-classes/org/iscsicsi/controller/bench/VolumeBench.class" ]; then
  [ "${SKIP_BUILD:-0}" = 1 ] && { echo "build the controller first" >&2; exit 2; }
  (cd "$repo" && . bin/java-home.sh && ./mvnw -B -q -pl controller -am package -DskipTests)
fi
work=$(mktemp -d "$BENCH_DIR/iscsi-volumes.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "(load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores)"
RUN_JAVA_CLASSPATH="$module/target/controller.jar:$module/target/test-classes:$module/target/lib/*" \
  "$repo/bin/run-java" "$module" controller org.iscsicsi.controller.bench.VolumeBench \
  "$work/state" "$@"
echo "(load average after: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores)"
