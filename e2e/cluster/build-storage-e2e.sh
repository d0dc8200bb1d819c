#!/usr/bin/env bash
# Builds Kubernetes' storage e2e suite for an external CSI driver (test/e2e/storage/external) as
# one test binary, storage-e2e.test, from storage-e2e/storage_test.go in build.sh's scratch
# module (the same Kubernetes release and libraries as the cluster), through the Go module proxy.
#
# Idempotent like build.sh: cached under ${ISCSI_CSI_CACHE:-$HOME/.cache/iscsi-csi}/k8s/<key>
# (<key>: build.sh's key and a hash of the test source); prints the directory holding
# storage-e2e.test on its last stdout line; ISCSI_CSI_BUILD_CHECK_ONLY=1 only answers (exit 0
# with the directory when built, else 3). Needs build.sh to have run. A cold build compiles the
# e2e framework and the storage test suites: about 5 minutes on 2 cores with build.sh's packages
# in the Go build cache.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
log() { echo "[build-storage-e2e.sh $(date -u +%T)] $*" >&2; }

k8s_out=$(ISCSI_CSI_BUILD_CHECK_ONLY=1 GO="$GO" "$HERE/build.sh" 2>/dev/null | tail -n 1) || {
  log "build.sh has not run: build the cluster's binaries first"; exit 3; }
k8s_key=$(basename "$k8s_out")
ROOT="${ISCSI_CSI_CACHE:-$HOME/.cache/iscsi-csi}/k8s"
SCRATCH="$ROOT/work/$k8s_key"
SRC_HASH=$(sha256sum <"$HERE/storage-e2e/storage_test.go" | cut -c1-8)
KEY="storage-e2e_${k8s_key}_src-${SRC_HASH}"
OUT="$ROOT/$KEY"

# shellcheck source=cache.sh
source "$(dirname "${BASH_SOURCE[0]}")/cache.sh"
cached_or_exit "$OUT"
[[ -f "$SCRATCH/go.mod" ]] || { log "build.sh's scratch module $SCRATCH is missing"; exit 1; }

# The same environment as build.sh: modules from the proxy, checksums from the built modules'
# go.sum (sum.golang.org is not reachable here), the toolchain build.sh chose.
[[ $k8s_key =~ _(go[0-9.]+)_bins ]] || { log "no Go version in build.sh's key $k8s_key"; exit 1; }
want=${BASH_REMATCH[1]}
if [[ "$("$GO" env GOVERSION)" != "$want" ]]; then export GOTOOLCHAIN=$want; fi
export GOTOOLCHAIN=${GOTOOLCHAIN:-local} GOFLAGS=-mod=mod GOPROXY=${GOPROXY:-https://proxy.golang.org}
export GOSUMDB=${GOSUMDB_OVERRIDE:-off} CGO_ENABLED=0

MOD="$ROOT/work/$KEY"
rm -rf "$OUT" "$MOD"
mkdir -p "$OUT" "$MOD/storagee2e"
cp "$SCRATCH/go.mod" "$SCRATCH/go.sum" "$MOD/"
cp "$HERE/storage-e2e/storage_test.go" "$MOD/storagee2e/"
cd "$MOD"
log "building storage-e2e.test (cold: about 5 minutes)"
T0=$SECONDS
"$GO" test -c -trimpath -gcflags=all=-dwarf=false -ldflags "-s -w" \
  -o "$OUT/storage-e2e.test" ./storagee2e
[[ -x "$OUT/storage-e2e.test" ]] || { log "storage-e2e.test missing after the build"; exit 1; }
echo "built $(date -u +%FT%TZ) in $((SECONDS - T0)) s" >"$OUT/build-times.txt"
touch "$OUT/.complete"
rm -rf "$MOD"
log "built $OUT in $((SECONDS - T0)) s"
echo "$OUT"
