#!/usr/bin/env bash
# Builds the controller and node-plugin container images as OCI image tarballs, without a
# Docker daemon and without any container registry:
#   1. a Debian root filesystem from Debian's packages (mmdebstrap, variant essential, docs,
#      man pages and locales left out; the node image adds open-iscsi, multipath-tools,
#      e2fsprogs, xfsprogs, util-linux and mount; the controller image, which pool engines
#      also run from, adds lvm2 and thin-provisioning-tools for the LVM backends);
#   2. a Java runtime jlinked from $JAVA_HOME (JDK 25);
#   3. the module's launcher and jars (<module>/bin/<module>, <module>/target/<module>.jar and
#      <module>/target/lib/), laid out under /opt/iscsi-csi/<module>/ as in the repository.
# Layers are assembled with umoci into an OCI layout; each image is written as
#   $OUT/<image>-oci.tar     (an OCI layout, tags "base" and $VERSION; podman load, ctr import)
#   $OUT/<image>-docker.tar  (docker-archive, when skopeo is installed; docker load)
# Tag "base" is rootfs + JRE (no app); tag $VERSION adds the app and is built only when the
# module's launcher and jars exist (./mvnw -pl <module> -am package), or fails with --require-app.
#
# Root filesystems and the JRE are cached in $CACHE (keyed by their inputs), so a rebuild after
# a code change only re-creates the app layer.
#
# Usage: deploy/images/build.sh [--out DIR] [--cache DIR] [--version V] [--require-app]
#                               [--app-root DIR] [controller|node-plugin ...]
# --app-root: where <module>/bin and <module>/target are read from (default: the repository).
# Needs: mmdebstrap, umoci (Debian packages), a JDK with jlink; skopeo optional.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$REPO/target/images
CACHE=${ISCSI_CSI_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iscsi-csi/images}
VERSION=0.1.0
REQUIRE_APP=false
APP_ROOT=$REPO
SUITE=bookworm
SOURCES=${DEBIAN_SOURCES:-}
. "$REPO/bin/java-home.sh" || { echo "no JDK 25 found under /usr/lib/jvm (set JAVA_HOME)" >&2; exit 1; }
# Modules the controller and node plugin need: `jdeps --print-module-deps` of both apps
# (jdk.httpserver: the controller's metrics endpoint; java.desktop: java.beans users) plus
# what their libraries load reflectively (grpc-netty-shaded, logback, picocli, fabric8).
# ContainerImageTest starts both apps in the images, so a missing module fails a test.
JRE_MODULES=java.base,java.desktop,java.logging,java.management,java.naming,java.net.http,java.security.jgss,java.sql,java.xml,jdk.crypto.ec,jdk.httpserver,jdk.jfr,jdk.management,jdk.unsupported,jdk.zipfs
NODE_PACKAGES=open-iscsi,multipath-tools,e2fsprogs,xfsprogs,util-linux,mount
# The engine's lvm, lvm-thin and disk backends run lvm's commands (lvcreate, lvs, ...), which run
# thin_check and friends when they activate a thin pool; blkid (util-linux) is essential.
CONTROLLER_PACKAGES=lvm2,thin-provisioning-tools
IMAGES=()

die() { echo "build.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$2; shift 2 ;;
    --cache) CACHE=$2; shift 2 ;;
    --version) VERSION=$2; shift 2 ;;
    --require-app) REQUIRE_APP=true; shift ;;
    --app-root) APP_ROOT=$(cd "$2" && pwd); shift 2 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    controller|node-plugin) IMAGES+=("$1"); shift ;;
    *) die "unknown argument: $1 (try --help)" ;;
  esac
done
[ ${#IMAGES[@]} -gt 0 ] || IMAGES=(controller node-plugin)
[[ $VERSION =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "bad --version: $VERSION"
for tool in mmdebstrap umoci tar sha256sum; do
  command -v "$tool" >/dev/null || die "$tool not found (apt-get install mmdebstrap umoci)"
done
[ -x "$JAVA_HOME/bin/jlink" ] || die "no jlink in JAVA_HOME=$JAVA_HOME"
if [ -z "$SOURCES" ]; then
  for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    if [ -s "$f" ]; then SOURCES=$f; break; fi
  done
fi
[ -n "$SOURCES" ] || die "no apt sources found: set DEBIAN_SOURCES to a sources.list"
# merged /usr without the usrmerge package (and the perl it pulls in).
MERGED_USR_HOOK=
[ -d /usr/share/mmdebstrap/hooks/maybe-merged-usr ] && MERGED_USR_HOOK=/usr/share/mmdebstrap/hooks/maybe-merged-usr
mkdir -p "$OUT" "$CACHE"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/iscsi-csi-images.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*"; }

# A cached Debian root filesystem tarball with the given extra packages.
rootfs() {
  local packages=$1
  local key
  key=$(printf '%s\n' "v3" "$SUITE" "$packages" "$(cat "$SOURCES")" | sha256sum | cut -c1-16)
  local tarball=$CACHE/rootfs-$SUITE-$key.tar
  if [ ! -s "$tarball" ]; then
    log "mmdebstrap $SUITE essential ${packages:++ $packages}" >&2
    mmdebstrap --quiet --format=tar --variant=essential ${packages:+--include=$packages} \
      --aptopt='APT::Install-Recommends "false"' \
      ${MERGED_USR_HOOK:+--hook-dir=$MERGED_USR_HOOK} \
      --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      --dpkgopt='path-exclude=/usr/share/info/*' \
      --customize-hook='rm -f "$1"/etc/iscsi/initiatorname.iscsi "$1"/etc/machine-id' \
      --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/*' \
      "$SUITE" "$tarball.tmp" "$SOURCES" >&2
    mv "$tarball.tmp" "$tarball"
  fi
  echo "$tarball"
}

# A cached jlinked Java runtime directory.
jre() {
  local release key dir
  release=$(sed -n 's/^JAVA_RUNTIME_VERSION="\(.*\)"/\1/p' "$JAVA_HOME/release")
  key=$(printf '%s\n' "v1" "$release" "$JRE_MODULES" | sha256sum | cut -c1-16)
  dir=$CACHE/jre-$key
  if [ ! -x "$dir/bin/java" ]; then
    log "jlink $release: $JRE_MODULES" >&2
    rm -rf "$dir.tmp"
    "$JAVA_HOME/bin/jlink" --add-modules "$JRE_MODULES" --strip-debug --no-man-pages \
      --no-header-files --compress=zip-6 --output "$dir.tmp" >&2
    mv "$dir.tmp" "$dir"
  fi
  echo "$dir"
}

build_image() {
  local module=$1 packages user
  case "$module" in
    controller) packages=$CONTROLLER_PACKAGES; user=10001:10001 ;;
    node-plugin) packages=$NODE_PACKAGES; user=0:0 ;;
  esac
  local start=$SECONDS
  local launcher=$APP_ROOT/$module/bin/$module jar=$APP_ROOT/$module/target/$module.jar
  local have_app=false
  if [ -x "$launcher" ] && [ -f "$jar" ] && [ -d "$APP_ROOT/$module/target/lib" ]; then
    have_app=true
  elif [ "$REQUIRE_APP" = true ]; then
    die "$module: $launcher, $jar or target/lib missing: ./mvnw -pl $module -am package"
  fi
  local rootfs_tar jre_dir
  rootfs_tar=$(rootfs "$packages")
  jre_dir=$(jre)
  local layout=$WORK/$module-layout bundle=$WORK/$module-bundle
  log "$module: assembling layers"
  umoci init --layout "$layout"
  umoci new --image "$layout:base"
  umoci unpack --image "$layout:base" "$bundle" >/dev/null
  tar -C "$bundle/rootfs" -xf "$rootfs_tar"
  umoci repack --image "$layout:base" --history.created_by "mmdebstrap $SUITE essential $packages" "$bundle"
  rm -rf "$bundle"
  umoci insert --image "$layout:base" --history.created_by "jlink $JRE_MODULES" "$jre_dir" /opt/java
  umoci config --image "$layout:base" \
    --config.env PATH=/opt/java/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --config.env JAVA_HOME=/opt/java --config.env LANG=C.UTF-8 \
    --config.user "$user" --config.workingdir / \
    --clear=config.entrypoint --config.entrypoint java --config.cmd -version \
    --config.label org.opencontainers.image.title="iscsi-csi $module base" \
    --config.label org.opencontainers.image.version="$VERSION"

  if [ "$have_app" = true ]; then
    local app=$WORK/$module-app
    # Laid out as in the repository: /opt/iscsi-csi/bin/run-java (found by the launcher as
    # ../../bin/run-java) and /opt/iscsi-csi/<module>/{bin,target}.
    mkdir -p "$app/bin" "$app/$module/bin" "$app/$module/target"
    cp "$REPO/bin/run-java" "$app/bin/"
    cp "$launcher" "$app/$module/bin/"
    cp "$jar" "$app/$module/target/"
    cp -r "$APP_ROOT/$module/target/lib" "$app/$module/target/lib"
    umoci tag --image "$layout:base" "$VERSION"
    umoci insert --image "$layout:$VERSION" --history.created_by "iscsi-csi $module $VERSION" \
      "$app" "/opt/iscsi-csi"
    umoci config --image "$layout:$VERSION" \
      --clear=config.entrypoint --config.entrypoint "/opt/iscsi-csi/$module/bin/$module" \
      --clear=config.cmd --config.cmd --help \
      --config.label org.opencontainers.image.title="iscsi-csi $module"
  else
    log "$module: no launcher/jars yet ($module/bin/$module, target/$module.jar): tag base only"
  fi
  umoci gc --layout "$layout"
  tar -C "$layout" --sort=name --owner=0 --group=0 --numeric-owner -cf "$OUT/$module-oci.tar.tmp" .
  mv "$OUT/$module-oci.tar.tmp" "$OUT/$module-oci.tar"
  if command -v skopeo >/dev/null; then
    local tag=base
    [ -f "$layout/index.json" ] && grep -q "\"$VERSION\"" "$layout/index.json" && tag=$VERSION
    rm -f "$OUT/$module-docker.tar"
    skopeo --insecure-policy copy --quiet "oci:$layout:$tag" \
      "docker-archive:$OUT/$module-docker.tar:localhost/iscsi-csi/$module:$tag"
  fi
  log "$module: $(du -h "$OUT/$module-oci.tar" | cut -f1) in $((SECONDS - start)) s -> $OUT/$module-oci.tar"
}

for image in "${IMAGES[@]}"; do build_image "$image"; done
