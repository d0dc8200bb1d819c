#!/usr/bin/env bash
# Builds the test cluster's Kubernetes binaries from source through the Go module proxy:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kubelet (the VM node's,
# beside build-node.sh's containerd) and the CSI sidecars
# (external-provisioner, external-attacher, external-resizer, csi-snapshotter,
# snapshot-controller), plus the snapshot CRDs from the external-snapshotter client module.
#
# Idempotent: the result lives in ${ISCSI_CSI_CACHE:-$HOME/.cache/iscsi-csi}/k8s/<key>, where
# <key> names every pinned version and the set of binaries; a complete cache entry is reused in milliseconds.
# Prints the directory holding bin/ and crds/ on its last stdout line. With
# ISCSI_CSI_BUILD_CHECK_ONLY=1 it only answers: exit 0 (and the directory) when built, else 3.
#
# One scratch main module, one `go build`: `go install pkg@version` refuses modules with replace
# directives, and k8s.io/kubernetes replaces every k8s.io/* staging module with a local path that
# is not part of its module zip. The scratch module requires the staging modules at the matching
# v0.x release, so minimal version selection overrides the v0.0.0 requirements. The sidecars and
# etcd go into the same module: the versions below are chosen so that they all build against
# the same Kubernetes libraries (0.37) and etcd (3.7) that Kubernetes uses, so every shared
# package compiles once and all ten binaries come out of one compiler run (measured in
# e2e/cluster/README.md; separate builds of the same binaries took about three times as long).
set -euo pipefail

K8S_VERSION=1.37.2          # kube-apiserver, -controller-manager, -scheduler, kubectl
ETCD_VERSION=3.7.3          # the etcd minor Kubernetes 1.37 builds against
PROVISIONER_VERSION=6.4.0   # sidecars on Kubernetes libraries 0.37
ATTACHER_VERSION=4.13.0
RESIZER_VERSION=2.3.0
SNAPSHOTTER_VERSION=8.7.0

GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
GO_MIN=1.26                 # Kubernetes 1.37's go.mod
GO_FALLBACK=go1.26.8        # fetched through the module proxy when the local Go is older
gover=$("$GO" env GOVERSION 2>/dev/null) || { echo "build.sh: no Go toolchain at $GO" >&2; exit 1; }
if [[ "$(printf '%s\n' "go$GO_MIN" "$gover" | sort -V | head -1)" != "go$GO_MIN" ]]; then
  # e.g. Debian's golang-go: the go command downloads and verifies the newer toolchain itself
  echo "build.sh: $GO is $gover, Kubernetes $K8S_VERSION needs Go $GO_MIN: using $GO_FALLBACK" >&2
  export GOTOOLCHAIN=$GO_FALLBACK
  gover=$(GOPROXY=${GOPROXY:-https://proxy.golang.org} "$GO" env GOVERSION) ||
    { echo "build.sh: could not fetch $GO_FALLBACK" >&2; exit 1; }
fi

P=github.com/kubernetes-csi
# binary name = package
PACKAGES=(
  kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver
  kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager
  kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler
  kubectl=k8s.io/kubernetes/cmd/kubectl
  kubelet=k8s.io/kubernetes/cmd/kubelet
  etcd=go.etcd.io/etcd/server/v3
  csi-provisioner=$P/external-provisioner/v6/cmd/csi-provisioner
  csi-attacher=$P/external-attacher/v4/cmd/csi-attacher
  csi-resizer=$P/external-resizer/v2/cmd/csi-resizer
  csi-snapshotter=$P/external-snapshotter/v8/cmd/csi-snapshotter
  snapshot-controller=$P/external-snapshotter/v8/cmd/snapshot-controller
)
# module@version: every module whose commands are built, and their go.sum files pin checksums.
MODULES=(
  "k8s.io/kubernetes@v$K8S_VERSION"
  "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
  "$P/external-provisioner/v6@v$PROVISIONER_VERSION"
  "$P/external-attacher/v4@v$ATTACHER_VERSION"
  "$P/external-resizer/v2@v$RESIZER_VERSION"
  "$P/external-snapshotter/v8@v$SNAPSHOTTER_VERSION"
)

# The set of binaries is part of the key: adding one builds a new entry (the Go build cache keeps
# the packages already compiled for the old one).
BINS=$(printf '%s\n' "${PACKAGES[@]}" | sha256sum | cut -c1-8)
KEY="k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_prov-${PROVISIONER_VERSION}_att-${ATTACHER_VERSION}_rsz-${RESIZER_VERSION}_snap-${SNAPSHOTTER_VERSION}_${gover}_bins-${BINS}"
ROOT="${ISCSI_CSI_CACHE:-$HOME/.cache/iscsi-csi}/k8s"
OUT="$ROOT/$KEY"
BIN="$OUT/bin"
MOD="$ROOT/work/$KEY"
TIMES="$OUT/build-times.txt"

log() { echo "[build.sh $(date -u +%T)] $*" >&2; }

# shellcheck source=cache.sh
source "$(dirname "${BASH_SOURCE[0]}")/cache.sh"
cached_or_exit "$OUT"

export GOTOOLCHAIN=${GOTOOLCHAIN:-local} GOFLAGS=-mod=mod GOPROXY=${GOPROXY:-https://proxy.golang.org}
# sum.golang.org is not reachable here: checksums come from the built modules' own go.sum
# files (concatenated below, so a module the proxy serves differently fails the build), the
# rest is trusted from the proxy.
export GOSUMDB=${GOSUMDB_OVERRIDE:-off}
export CGO_ENABLED=0
rm -rf "$OUT" "$MOD"
mkdir -p "$BIN" "$OUT/crds" "$MOD"
LOAD0=$(cut -d" " -f1-3 /proc/loadavg)
T0=$SECONDS

# --- the scratch main module
cd "$MOD"
printf 'module scratch.local/build\n\ngo 1.26\n' >go.mod
: >go.sum.all
for mv in "${MODULES[@]}"; do
  "$GO" mod edit -require="$mv"
  src=$("$GO" mod download -json "$mv" | jq -r .Dir)
  if [[ -f "$src/go.sum" ]]; then cat "$src/go.sum" >>go.sum.all; fi
done
ksrc=$("$GO" mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | jq -r .Dir)
required=$("$GO" mod edit -json "$ksrc/go.mod" | jq -r '.Require[].Path')
# The staging modules k8s.io/kubernetes requires, at their release tag (the replace list also
# names examples such as sample-controller that nothing requires and the proxy does not serve).
for m in $("$GO" mod edit -json "$ksrc/go.mod" |
    jq -r '.Replace[] | select(.New.Path | startswith("./staging/")) | .Old.Path'); do
  if grep -qx "$m" <<<"$required"; then "$GO" mod edit -require="$m@v0.${K8S_VERSION#1.}"; fi
done
# etcd's server module replaces its sibling modules with local paths: require them at its tag.
for m in api/v3 client/pkg/v3 client/v3 pkg/v3; do
  "$GO" mod edit -require="go.etcd.io/etcd/$m@v$ETCD_VERSION"
done
# external-snapshotter replaces its client module (./client) the same way.
"$GO" mod edit -require="$P/external-snapshotter/client/v8@v$SNAPSHOTTER_VERSION"
sort -u go.sum.all >go.sum; rm go.sum.all
log "scratch module ready ($((SECONDS - T0)) s)"

# --- one compiler run for all binaries
pkgs=(); for np in "${PACKAGES[@]}"; do pkgs+=("${np#*=}"); done
LDK="-s -w -X k8s.io/component-base/version.gitVersion=v${K8S_VERSION} \
 -X k8s.io/component-base/version.gitMajor=${K8S_VERSION%%.*} \
 -X k8s.io/component-base/version.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2) \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/client-go/pkg/version.gitVersion=v${K8S_VERSION}"
mkdir -p "$MOD/out"
log "building ${#pkgs[@]} binaries (a cold build takes a while; see e2e/cluster/README.md)"
T1=$SECONDS
TIMEFORMAT='%R %U %S'
# DWARF is neither compiled nor linked: nobody debugs these binaries, and it costs build time.
{ time "$GO" build -trimpath -gcflags=all=-dwarf=false -ldflags "$LDK" -o "$MOD/out/" \
    "${pkgs[@]}" 2>&3; } 3>&2 2>"$MOD/time.txt"
read -r real user sys <"$MOD/time.txt"
# go build names a binary after its package's last path element (before a /vN suffix).
for np in "${PACKAGES[@]}"; do
  name=${np%%=*} pkg=${np#*=}
  base=$pkg; if [[ $base =~ /v[0-9]+$ ]]; then base=${base%/*}; fi; base=${base##*/}
  mv "$MOD/out/$base" "$BIN/$name"
done

# The snapshot CRDs ship in the source of external-snapshotter's client module.
snapsrc=$("$GO" mod download -json "$P/external-snapshotter/client/v8@v$SNAPSHOTTER_VERSION" | jq -r .Dir)
cp "$snapsrc"/config/crd/snapshot.storage.k8s.io_*.yaml "$OUT/crds/"
chmod u+w "$OUT"/crds/*.yaml

for np in "${PACKAGES[@]}"; do [[ -x "$BIN/${np%%=*}" ]] || { log "missing ${np%%=*}"; exit 1; }; done
{
  echo "built $(date -u +%FT%TZ) on $(nproc) cores, load average before: $LOAD0"
  echo "go build: wall ${real%.*} s, cpu user ${user%.*} s + sys ${sys%.*} s"
  echo "total (modules, build, CRDs): $((SECONDS - T0)) s"
  du -sh "$BIN" | awk '{print "binaries " $1}'
} >"$TIMES"
rm -rf "$MOD/out"
touch "$OUT/.complete"
log "done: $OUT"; cat "$TIMES" >&2
echo "$OUT"
