#!/usr/bin/env bash
# Builds the test cluster's Kubernetes binaries from source through the Go module proxy:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and the CSI sidecars
# (external-provisioner, external-attacher, external-resizer, csi-snapshotter,
# snapshot-controller), plus the snapshot CRDs from the external-snapshotter module source.
#
# Idempotent: the result lives in ${ISCSI_CSI_CACHE:-$HOME/.cache/iscsi-csi}/k8s/<key>, where
# <key> names every pinned version; a complete cache entry is reused in milliseconds.
# Prints the directory holding bin/ and crds/ on its last stdout line. With
# ISCSI_CSI_BUILD_CHECK_ONLY=1 it only answers: exit 0 (and the directory) when built, else 3.
#
# Why scratch main modules: `go install pkg@version` refuses modules with replace directives,
# and k8s.io/kubernetes replaces every k8s.io/* staging module with a local path that is not
# part of its module zip. A scratch main module requires the staging modules at the matching
# v0.x release, so minimal version selection overrides the v0.0.0 requirements.
set -euo pipefail

K8S_VERSION=1.34.4          # kube-apiserver, -controller-manager, -scheduler, kubectl
ETCD_VERSION=3.6.4          # the etcd release Kubernetes 1.34 pins in its go.mod
PROVISIONER_VERSION=6.3.0   # oldest sidecar releases the module proxy here serves
ATTACHER_VERSION=4.12.0
RESIZER_VERSION=2.2.0
SNAPSHOTTER_VERSION=8.4.0   # built against client-go 0.34, the same minor as the cluster

GO=${GO:-/usr/local/go/bin/go}
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KEY="k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_prov-${PROVISIONER_VERSION}_att-${ATTACHER_VERSION}_rsz-${RESIZER_VERSION}_snap-${SNAPSHOTTER_VERSION}_$("$GO" env GOVERSION)"
ROOT="${ISCSI_CSI_CACHE:-$HOME/.cache/iscsi-csi}/k8s"
OUT="$ROOT/$KEY"
BIN="$OUT/bin"
WORK="$ROOT/work"
TIMES="$OUT/build-times.txt"

BINARIES=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl
  csi-provisioner csi-attacher csi-resizer csi-snapshotter snapshot-controller)

log() { echo "[build.sh] $*" >&2; }

if [[ -f "$OUT/.complete" ]]; then
  log "cache hit: $OUT"
  echo "$OUT"
  exit 0
fi
if [[ -n "${ISCSI_CSI_BUILD_CHECK_ONLY:-}" ]]; then
  log "not built yet: $OUT"
  exit 3
fi

export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=${GOPROXY:-https://proxy.golang.org}
# sum.golang.org is not reachable here; checksums come from the modules' own go.sum files
# (copied below) and the proxy for the rest.
export GOSUMDB=${GOSUMDB_OVERRIDE:-off}
export CGO_ENABLED=0
mkdir -p "$BIN" "$WORK" "$OUT/crds"
: >"$TIMES.partial"

# timed NAME CMD... : runs CMD, records the wall time of NAME.
timed() {
  local name=$1; shift
  if [[ -x "$BIN/$name" ]]; then log "$name: already built"; return; fi
  local t0=$SECONDS
  log "building $name ..."
  "$@"
  echo "$name $((SECONDS - t0))s" | tee -a "$TIMES.partial" >&2
}

# scratch DIR MODULE@VERSION...: a main module requiring each MODULE@VERSION, with their own
# non-local replace directives copied over, and their local-path replaces (sub-modules such as
# external-snapshotter's ./client) turned into requirements of the same tag. Several modules in
# one scratch module share one build list, so their common packages compile once.
scratch() {
  local dir=$1; shift
  rm -rf "$dir"; mkdir -p "$dir"
  (cd "$dir"
    printf 'module scratch.local/build\n\ngo 1.24\n' >go.mod
    : >go.sum.all
    local mv mod ver gomod src
    for mv in "$@"; do
      mod=${mv%@*}; ver=${mv#*@}
      "$GO" mod edit -require="$mod@$ver"
      gomod=$("$GO" mod download -json "$mod@$ver" | jq -r .GoMod)
      "$GO" mod edit -json "$gomod" |
        jq -r '.Replace[]? | [.Old.Path, (.New.Path), (.New.Version // "")] | @tsv' |
        while IFS=$'\t' read -r old new newver; do
          if [[ -n "$newver" ]]; then
            "$GO" mod edit -replace="$old=$new@$newver"
          elif [[ "$new" == ./* && "$new" != *FORBIDDEN* ]]; then
            "$GO" mod edit -require="$old@$ver"
          fi
        done
      # The dependency's go.sum pins the checksums of its whole build list.
      src=$("$GO" mod download -json "$mod@$ver" | jq -r .Dir)
      [[ -f "$src/go.sum" ]] && cat "$src/go.sum" >>go.sum.all
    done
    sort -u go.sum.all >go.sum; rm go.sum.all
    true)
}

LDK="-s -w -X k8s.io/component-base/version.gitVersion=v${K8S_VERSION} \
 -X k8s.io/component-base/version.gitMajor=${K8S_VERSION%%.*} \
 -X k8s.io/component-base/version.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2) \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/client-go/pkg/version.gitVersion=v${K8S_VERSION}"

build_kubernetes() {
  local dir="$WORK/kubernetes-$K8S_VERSION"
  if [[ ! -f "$dir/.ready" ]]; then
    rm -rf "$dir"; mkdir -p "$dir"
    (cd "$dir"
      printf 'module scratch.local/build\n\ngo 1.24\n' >go.mod
      "$GO" mod edit -require="k8s.io/kubernetes@v$K8S_VERSION"
      local src
      src=$("$GO" mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | jq -r .Dir)
      cp "$src/go.sum" go.sum; chmod u+w go.sum
      local staging
      staging=$("$GO" mod edit -json "$src/go.mod" |
        jq -r '.Replace[] | select(.New.Path | startswith("./staging/")) | .Old.Path')
      # Only the staging modules k8s.io/kubernetes requires; the replace list also names
      # examples (sample-cli-plugin, sample-controller) that nothing requires and the proxy
      # does not serve.
      local required
      required=$("$GO" mod edit -json "$src/go.mod" | jq -r '.Require[].Path')
      for m in $staging; do
        if grep -qx "$m" <<<"$required"; then
          "$GO" mod edit -require="$m@v0.${K8S_VERSION#1.}"
        fi
      done
      touch .ready)
  fi
  for cmd in "$@"; do
    timed "$cmd" bash -c "cd '$dir' && '$GO' build -trimpath -ldflags '$LDK' -o '$BIN/$cmd' k8s.io/kubernetes/cmd/$cmd"
  done
}

build_etcd() {
  local dir="$WORK/etcd-$ETCD_VERSION"
  if [[ ! -f "$dir/.ready" ]]; then
    scratch "$dir" "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
    touch "$dir/.ready"
  fi
  # server/v3's root package is the etcd main package.
  timed etcd bash -c "cd '$dir' && '$GO' build -trimpath -ldflags '-s -w' -o '$BIN/etcd' go.etcd.io/etcd/server/v3"
}

# sidecars SCRATCH_NAME "MODULE@VERSION..." NAME=PACKAGE...: builds several sidecars from one
# scratch module.
sidecars() {
  local dir="$WORK/$1" mods=$2; shift 2
  if [[ ! -f "$dir/.ready" ]]; then
    # shellcheck disable=SC2086
    scratch "$dir" $mods
    touch "$dir/.ready"
  fi
  local np
  for np in "$@"; do
    timed "${np%%=*}" bash -c "cd '$dir' && '$GO' build -trimpath -ldflags '-s -w' -o '$BIN/${np%%=*}' '${np#*=}'"
  done
}

T0=$SECONDS
build_kubernetes kube-apiserver kube-controller-manager kube-scheduler
build_etcd
# provisioner, attacher and resizer pin the same Kubernetes libraries (v0.36): one build list.
P=github.com/kubernetes-csi
sidecars "sidecars-prov-$PROVISIONER_VERSION-att-$ATTACHER_VERSION-rsz-$RESIZER_VERSION" \
  "$P/external-provisioner/v6@v$PROVISIONER_VERSION $P/external-attacher/v4@v$ATTACHER_VERSION $P/external-resizer/v2@v$RESIZER_VERSION" \
  "csi-provisioner=$P/external-provisioner/v6/cmd/csi-provisioner" \
  "csi-attacher=$P/external-attacher/v4/cmd/csi-attacher" \
  "csi-resizer=$P/external-resizer/v2/cmd/csi-resizer"
sidecars "snapshotter-$SNAPSHOTTER_VERSION" "$P/external-snapshotter/v8@v$SNAPSHOTTER_VERSION" \
  "csi-snapshotter=$P/external-snapshotter/v8/cmd/csi-snapshotter" \
  "snapshot-controller=$P/external-snapshotter/v8/cmd/snapshot-controller"

build_kubernetes kubectl

# The snapshot CRDs ship in the source of external-snapshotter's client module (client/ has its
# own go.mod, so it is a module of its own, tagged client/vX.Y.Z).
snapsrc=$("$GO" mod download -json "github.com/kubernetes-csi/external-snapshotter/client/v8@v$SNAPSHOTTER_VERSION" | jq -r .Dir)
cp "$snapsrc"/config/crd/snapshot.storage.k8s.io_*.yaml "$OUT/crds/"
chmod u+w "$OUT"/crds/*.yaml

for b in "${BINARIES[@]}"; do [[ -x "$BIN/$b" ]] || { log "missing $b"; exit 1; }; done
echo "total $((SECONDS - T0))s (this run)" >>"$TIMES.partial"
cat "$TIMES.partial" >>"$TIMES"; rm -f "$TIMES.partial"
du -sh "$OUT" | awk '{print "cache " $1}' >>"$TIMES"
touch "$OUT/.complete"
log "done: $OUT ($(du -sh "$OUT" | cut -f1))"
echo "$OUT"
