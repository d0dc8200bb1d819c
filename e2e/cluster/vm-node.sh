#!/usr/bin/env bash
# Assembles (once) and caches what the VM node runs beside the node plugin's guest
# (node-plugin/vm/prepare-guest.sh): kubelet (build.sh), containerd, its runc shim and ctr
# (build-node.sh), Debian's runc with libseccomp and the CNI plugins, the kernel modules the
# guest's initramfs leaves out (overlay for containerd's snapshotter, veth for the pods'
# network), and the pause and busybox images as OCI archives built offline with umoci. The test
# shares the directory into the guest at /node (read-only); e2e/cluster/node/start-node.sh
# starts the node from it. Its state lives in the guest's tmpfs, so every boot starts clean,
# unless the test gives the VM a disk of its own (start-node.sh keeps the node's state there).
#
# Usage: vm-node.sh    prints the node directory on its last stdout line
#   ISCSI_CSI_CACHE          cache root (default ~/.cache/iscsi-csi); the result is under .../node
#   ISCSI_CSI_BUILD_CHECK_ONLY=1  only answers: exit 0 (and the directory) when ready, else 3
#   ISCSI_CSI_K8S_DIR, ISCSI_CSI_NODE_DIR  build.sh's and build-node.sh's results (default: ask them)
#
# The key hashes this script, e2e/cluster/node/pause.c, the Debian package versions, the guest's
# kernel and the two builds it copies from, so any change assembles a new directory.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CACHE="${ISCSI_CSI_CACHE:-$HOME/.cache/iscsi-csi}"
ROOT="$CACHE/node"
PACKAGES=(runc libseccomp2 containernetworking-plugins busybox-static)
CNI_PLUGINS=(ptp host-local loopback)
MODULES=(kernel/fs/overlayfs/overlay.ko kernel/drivers/net/veth.ko)
PAUSE_IMAGE=registry.k8s.io/pause:3.10.2   # containerd's pinned sandbox image (node/containerd.toml)
BUSYBOX_IMAGE=docker.io/library/busybox:1.35

log() { echo "[vm-node.sh $(date -u +%T)] $*" >&2; }
die() { log "error: $*"; exit 1; }

check=${ISCSI_CSI_BUILD_CHECK_ONLY:-}
built() { # SCRIPT: the directory a build prints, or fail (only checks in check-only mode)
  ISCSI_CSI_BUILD_CHECK_ONLY=$check "$HERE/$1" | tail -1
}
K8S="${ISCSI_CSI_K8S_DIR:-$(built build.sh)}" || { log "build.sh has not built kubelet"; exit 3; }
RUNTIME="${ISCSI_CSI_NODE_DIR:-$(built build-node.sh)}" || { log "build-node.sh has not run"; exit 3; }
GUEST="$("$REPO/node-plugin/vm/prepare-guest.sh")" || die "node-plugin/vm/prepare-guest.sh failed"
KVER=$(cat "$GUEST/kernel-version")
KPKG=$(grep "^linux-image-$KVER=" "$GUEST/packages.txt") || die "no kernel package in $GUEST"

versions=$(apt-cache policy "${PACKAGES[@]}" 2>/dev/null |
  awk '/^[^ ]/{sub(":$", "", $1); p=$1} /^ +Candidate:/{print p "=" $2}')
if [[ "$(grep -c "=[^(]" <<<"$versions")" -ne ${#PACKAGES[@]} ]]; then
  [[ -z "$check" && $EUID -eq 0 ]] || die "apt lists lack ${PACKAGES[*]}"
  apt-get update -q >&2
  versions=$(apt-cache policy "${PACKAGES[@]}" |
    awk '/^[^ ]/{sub(":$", "", $1); p=$1} /^ +Candidate:/{print p "=" $2}')
fi
key=$( { cat "$HERE/vm-node.sh" "$HERE/node/pause.c"; echo "$versions"; echo "$KPKG";
  basename "$K8S"; basename "$RUNTIME"; } | sha256sum | cut -c1-16)
OUT="$ROOT/vm-node-$key"
# shellcheck source=cache.sh
source "$(dirname "${BASH_SOURCE[0]}")/cache.sh"
cached_or_exit "$OUT"
for t in umoci gcc dpkg-deb apt-get; do command -v "$t" >/dev/null || die "$t missing"; done
[[ -x "$K8S/bin/kubelet" ]] || die "$K8S/bin/kubelet missing (build.sh builds it)"

T0=$SECONDS
debs="$ROOT/debs"
mkdir -p "$debs"
want=("${KPKG}")
while IFS= read -r pv; do want+=("$pv"); done <<<"$versions"
missing=()
for pv in "${want[@]}"; do
  p=${pv%%=*} v=${pv#*=}
  if compgen -G "$CACHE/vm/debs/${p}_${v//:/%3a}_*.deb" >/dev/null; then
    cp -n "$CACHE/vm/debs/${p}_${v//:/%3a}_"*.deb "$debs/"
  fi
  compgen -G "$debs/${p}_${v//:/%3a}_*.deb" >/dev/null || missing+=("$pv")
done
if ((${#missing[@]})); then
  log "downloading ${missing[*]}"
  (cd "$debs" && apt-get download -q "${missing[@]}" >&2) || die "apt-get download failed"
fi

work=$(mktemp -d "$ROOT/work.XXXXXX")
trap 'rm -rf "$work"' EXIT
pkg="$work/pkg"
mkdir -p "$pkg" "$work/out"/{bin,lib,cni,modules,images}
for pv in "${want[@]}"; do
  p=${pv%%=*} v=${pv#*=}
  dpkg-deb -x "$(compgen -G "$debs/${p}_${v//:/%3a}_*.deb" | head -1)" "$pkg"
done
o="$work/out"
cp "$K8S/bin/kubelet" "$RUNTIME"/bin/{containerd,containerd-shim-runc-v2,ctr} "$o/bin/"
cp "$pkg/usr/sbin/runc" "$o/bin/runc"
cp -L "$pkg"/usr/lib/x86_64-linux-gnu/libseccomp.so.2 "$o/lib/" 2>/dev/null ||
  cp -L "$pkg"/lib/x86_64-linux-gnu/libseccomp.so.2 "$o/lib/"
for c in "${CNI_PLUGINS[@]}"; do cp "$pkg/usr/lib/cni/$c" "$o/cni/"; done
for m in "${MODULES[@]}"; do cp "$pkg/lib/modules/$KVER/$m" "$o/modules/"; done

# --- images: OCI layouts from a root file system each, archived for `ctr images import`
image() { # NAME:TAG ROOTFS_DIR ENTRYPOINT... -> $o/images/<name>.tar
  local ref=$1 rootfs=$2; shift 2
  local name=${ref%:*} tag=${ref##*:} layout="$work/layout-${ref//[\/:]/_}"
  umoci init --layout "$layout"
  umoci new --image "$layout:$tag"
  umoci unpack --image "$layout:$tag" "$work/bundle"
  cp -a "$rootfs/." "$work/bundle/rootfs/"
  umoci repack --image "$layout:$tag" "$work/bundle"
  local ep=(); for e in "$@"; do ep+=(--config.entrypoint "$e"); done
  umoci config --image "$layout:$tag" --os linux --architecture amd64 "${ep[@]}"
  umoci gc --layout "$layout"
  rm -rf "$work/bundle"
  tar -C "$layout" -cf "$o/images/$(basename "$name").tar" .
  echo "$ref" >>"$o/images/refs"
}
mkdir -p "$work/pause-root"
gcc -static -Os -s -o "$work/pause-root/pause" "$HERE/node/pause.c"
image "$PAUSE_IMAGE" "$work/pause-root" /pause
mkdir -p "$work/busybox-root"/{bin,tmp,etc}
cp "$pkg/bin/busybox" "$work/busybox-root/bin/busybox"
for a in $("$pkg/bin/busybox" --list); do
  [[ "$a" == busybox ]] || ln -s busybox "$work/busybox-root/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' \
  >"$work/busybox-root/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' >"$work/busybox-root/etc/group"
chmod 1777 "$work/busybox-root/tmp"
image "$BUSYBOX_IMAGE" "$work/busybox-root" /bin/sh

printf '%s\n' "${want[@]}" >"$o/packages.txt"
{ echo "kubelet from $(basename "$K8S")"; echo "containerd from $(basename "$RUNTIME")"; } >>"$o/packages.txt"
rm -rf "$OUT"
mv "$o" "$OUT"
touch "$OUT/.complete"
# keep the three newest assemblies (other branches may use theirs)
for old in $(ls -1dt "$ROOT"/vm-node-* 2>/dev/null | tail -n +4); do rm -rf "$old"; done
log "node ready in $((SECONDS - T0)) s: $OUT ($(du -sh "$OUT" | cut -f1))"
echo "$OUT"
