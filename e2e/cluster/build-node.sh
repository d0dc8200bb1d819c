#!/usr/bin/env bash
# Builds the container runtime of the test cluster's node from source through the Go module
# proxy: containerd, its runc shim (containerd-shim-runc-v2) and ctr, which the VM node
# (e2e/cluster/vm-node.sh) runs beside kubelet. runc and the CNI plugins come from Debian.
#
# Idempotent like build.sh: the result lives in ${ISCSI_CSI_CACHE:-$HOME/.cache/iscsi-csi}/node/<key>
# (<key> names the pinned version and the Go toolchain) and is reused when complete. Prints the
# directory holding bin/ on its last stdout line; ISCSI_CSI_BUILD_CHECK_ONLY=1 only answers
# (exit 0 with the directory when built, else 3).
#
# containerd's module has no replace directives, so `go install pkg@version` builds it as
# released. cgo is on (gcc and libc6-dev) as in containerd's own release builds; the btrfs
# snapshotter, which needs btrfs headers and which the node does not use, is left out.
set -euo pipefail

CONTAINERD_VERSION=2.4.2    # containerd 2.x, a CRI v1 runtime for Kubernetes 1.37

GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
gover=$("$GO" env GOVERSION 2>/dev/null) || { echo "build-node.sh: no Go toolchain at $GO" >&2; exit 1; }
KEY="containerd-${CONTAINERD_VERSION}_${gover}"
ROOT="${ISCSI_CSI_CACHE:-$HOME/.cache/iscsi-csi}/node"
OUT="$ROOT/$KEY"
BIN="$OUT/bin"
M=github.com/containerd/containerd/v2
COMMANDS=(containerd containerd-shim-runc-v2 ctr)

log() { echo "[build-node.sh $(date -u +%T)] $*" >&2; }

# shellcheck source=cache.sh
source "$(dirname "${BASH_SOURCE[0]}")/cache.sh"
cached_or_exit "$OUT"
command -v gcc >/dev/null || { log "gcc missing (containerd builds with cgo)"; exit 1; }

# GOTOOLCHAIN=auto: containerd's go.mod may ask for a newer Go, which the go command then
# fetches through the module proxy. sum.golang.org is not reachable here: checksums come from
# containerd's own go.sum (go install uses it), the module itself is trusted from the proxy.
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto} GOPROXY=${GOPROXY:-https://proxy.golang.org}
export GOSUMDB=${GOSUMDB_OVERRIDE:-off} CGO_ENABLED=1 GOFLAGS=
rm -rf "$OUT"
mkdir -p "$BIN"
LOAD0=$(cut -d" " -f1-3 /proc/loadavg)
T0=$SECONDS
pkgs=(); for c in "${COMMANDS[@]}"; do pkgs+=("$M/cmd/$c@v$CONTAINERD_VERSION"); done
LD="-s -w -X $M/version.Version=v$CONTAINERD_VERSION -X $M/version.Package=$M"
log "building ${COMMANDS[*]} $CONTAINERD_VERSION (a cold build takes several minutes)"
GOBIN="$BIN" "$GO" install -trimpath -tags no_btrfs -gcflags=all=-dwarf=false -ldflags "$LD" "${pkgs[@]}"
for c in "${COMMANDS[@]}"; do [[ -x "$BIN/$c" ]] || { log "missing $c"; exit 1; }; done
{
  echo "built $(date -u +%FT%TZ) on $(nproc) cores, load average before: $LOAD0"
  echo "total: $((SECONDS - T0)) s"
  du -sh "$BIN" | awk '{print "binaries " $1}'
} >"$OUT/build-times.txt"
touch "$OUT/.complete"
log "done: $OUT"; cat "$OUT/build-times.txt" >&2
echo "$OUT"
