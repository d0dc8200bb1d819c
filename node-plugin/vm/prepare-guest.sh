#!/usr/bin/env bash
# Prepares (once) and caches the guest for the qemu test tier: Debian bookworm's kernel and a small
# initramfs with busybox, open-iscsi, e2fsprogs, xfsprogs, util-linux, multipath-tools and
# sg3-utils. Nothing is installed on
# the host: packages are fetched with `apt-get download` and unpacked with `dpkg-deb -x`.
#
# Usage: prepare-guest.sh        prints the guest directory (vmlinuz, initramfs.cpio.gz) on stdout
#   ISCSI_CSI_CACHE   cache root (default ~/.cache/iscsi-csi); the guest is kept under .../vm
#   ISCSI_VM_OFFLINE=1  never run apt-get update (fail if the lists lack a package)
#
# The cache key is a hash of this script, guest/ and the exact package versions, so a change to any
# of them builds a new guest and an unchanged setup reuses the old one without touching apt.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${ISCSI_CSI_CACHE:-$HOME/.cache/iscsi-csi}/vm"
ARCH=amd64
MULTIARCH=x86_64-linux-gnu

# Tools copied into the guest; each is searched in the unpacked packages' bin/sbin directories.
TOOL_PACKAGES=(busybox-static dash open-iscsi e2fsprogs xfsprogs util-linux mount kmod libc6 zlib1g
  libgcc-s1 libstdc++6)
# dm-multipath with ALUA (the replication tests): multipathd and its plugins, sg_rtpg and friends.
TOOL_PACKAGES+=(multipath-tools sg3-utils)
TOOLS=(dash iscsid iscsiadm iscsi-iname
  mke2fs mkfs.ext4 mkfs.ext3 e2fsck fsck.ext4 resize2fs tune2fs dumpe2fs e2label
  mkfs.xfs xfs_growfs xfs_admin xfs_db xfs_repair xfs_info xfs_io
  blkid mount umount findmnt lsblk blockdev wipefs fsck losetup nsenter flock
  kmod)
TOOLS+=(multipath multipathd sg_rtpg sg_inq sg_turs)
# Kernel modules (with their dependencies from modules.dep): PRELOAD at boot, ON_DEMAND left to
# the kernel's autoloading through kmod's modprobe (mount -t xfs asks for fs-xfs), because loading
# the large file-system modules under emulation costs seconds.
PRELOAD=(virtio_pci virtio_net 9p 9pnet_virtio crc32c_generic libcrc32c
  scsi_mod sd_mod sg scsi_transport_iscsi libiscsi libiscsi_tcp iscsi_tcp loop)
ON_DEMAND=(virtio_blk ext4 xfs)
# Loaded by the multipath tests themselves (modprobe), so other runs boot as fast as before.
ON_DEMAND+=(dm_mod dm_multipath dm_service_time dm_round_robin scsi_dh_alua)

log() { printf '[prepare-guest] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Resolves the candidate version of every package (and the real kernel package behind the
# linux-image-amd64 metapackage). Prints "name=version" lines, or fails.
resolve_versions() {
  local kernel_pkg
  kernel_pkg="$(apt-cache depends linux-image-amd64 2>/dev/null \
    | awk '/^ *Depends: linux-image-[0-9]/{print $2; exit}')"
  [[ -n "$kernel_pkg" ]] || return 1
  local pkgs=("$kernel_pkg" "${TOOL_PACKAGES[@]}")
  # Library closure of the tools: follow Depends through lib* packages only.
  declare -A seen=()
  local queue=("${pkgs[@]}") p d deps
  for p in "${queue[@]}"; do seen[$p]=1; done
  while ((${#queue[@]})); do
    deps="$(apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks \
      --no-replaces --no-enhances "${queue[@]}" 2>/dev/null \
      | awk '/^ *\|?(Pre)?Depends: [^<]/{print $NF}' | sort -u)"
    queue=()
    for d in $deps; do
      [[ $d == lib* && $d != *-perl && $d != libperl* && $d != libpython* ]] || continue
      [[ -n "${seen[$d]:-}" ]] && continue
      seen[$d]=1
      queue+=("$d")
    done
  done
  local out
  out="$(apt-cache policy $(printf '%s\n' "${!seen[@]}" | sort) 2>/dev/null \
    | awk '/^[^ ]/{sub(":$", "", $1); p=$1} /^ +Candidate:/{print p "=" $2}')"
  [[ "$(grep -c . <<<"$out")" -eq "${#seen[@]}" && "$out" != *"=(none)"* ]] || return 1
  echo "$out"
}

# Fast path: the package versions are a function of apt's lists and preferences, so an unchanged
# script and unchanged lists map straight to the guest built last time, without running apt.
inputs_signature() {
  { cat "$HERE/prepare-guest.sh"; find "$HERE/guest" -type f | sort | xargs cat
    stat -c '%n %Y %s' /var/lib/apt/lists/*_Packages* /etc/apt/preferences* \
      /etc/apt/sources.list* 2>/dev/null || true; } | sha256sum | cut -c1-16
}

command -v apt-get >/dev/null || die "apt-get is required (Debian bookworm host)"
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock -w 1800 9 || die "timed out waiting for another preparation ($CACHE/.lock)"

signature="$(inputs_signature)"
if [[ -f "$CACHE/inputs-$signature" ]]; then
  out="$(cat "$CACHE/inputs-$signature")"
  if [[ -f "$out/ready" ]]; then
    log "cached guest $out"
    echo "$out"
    exit 0
  fi
fi

if ! versions="$(resolve_versions)"; then
  [[ "${ISCSI_VM_OFFLINE:-0}" == 1 ]] && die "packages missing from the apt lists (offline)"
  [[ $EUID -eq 0 ]] || die "apt lists lack the guest packages; run as root (apt-get update)"
  log "apt-get update"
  apt-get update -q >&2
  versions="$(resolve_versions)" || die "cannot resolve guest packages from apt"
  signature="$(inputs_signature)"
fi

key="$( { cat "$HERE/prepare-guest.sh"; find "$HERE/guest" -type f | sort | xargs cat;
  echo "$versions"; } | sha256sum | cut -c1-16)"
out="$CACHE/guest-$key"
if [[ -f "$out/ready" ]]; then
  echo "$out" >"$CACHE/inputs-$signature"
  log "cached guest $out"
  echo "$out"
  exit 0
fi

start=$SECONDS
log "building guest $key"
debs="$CACHE/debs"
mkdir -p "$debs"
missing=()
while IFS='=' read -r p v; do
  compgen -G "$debs/${p}_${v//:/%3a}_*.deb" >/dev/null || missing+=("$p=$v")
done <<<"$versions"
if ((${#missing[@]})); then
  log "downloading ${#missing[@]} packages"
  if ! (cd "$debs" && apt-get download -q "${missing[@]}" >&2); then
    # Stale lists may name versions the mirror no longer has: update once and start over, since
    # the versions (and so the key) change.
    [[ "${ISCSI_VM_OFFLINE:-0}" != 1 && $EUID -eq 0 && -z "${ISCSI_VM_RETRIED:-}" ]] \
      || die "apt-get download failed"
    apt-get update -q >&2
    exec 9>&-
    ISCSI_VM_RETRIED=1 exec "$HERE/prepare-guest.sh"
  fi
fi

work="$(mktemp -d "$CACHE/work.XXXXXX")"
trap 'rm -rf "$work"' EXIT
pkgroot="$work/pkgroot"
root="$work/root"
mkdir -p "$pkgroot" "$root"
while IFS='=' read -r p v; do
  dpkg-deb -x "$(compgen -G "$debs/${p}_${v//:/%3a}_*.deb" | head -1)" "$pkgroot"
done <<<"$versions"

# Merged-/usr layout in the guest.
mkdir -p "$root"/usr/{bin,sbin,lib/$MULTIARCH,lib64} "$root"/{proc,sys,dev,run,tmp,mnt,root} \
  "$root"/etc/iscsi "$root"/var/lib/iscsi/{nodes,send_targets,ifaces,isns,static,slp} \
  "$root"/var/lock "$root"/var/run
ln -s usr/bin "$root/bin"
ln -s usr/sbin "$root/sbin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
chmod 1777 "$root/tmp"

libdirs="$pkgroot/lib/$MULTIARCH:$pkgroot/usr/lib/$MULTIARCH:$pkgroot/lib:$pkgroot/usr/lib"
declare -A copied=()
copy_lib() { # soname
  local name="$1" src=""
  [[ -n "${copied[$name]:-}" ]] && return 0
  for d in ${libdirs//:/ }; do
    if [[ -e "$d/$name" ]]; then src="$d/$name"; break; fi
  done
  [[ -n "$src" ]] || die "library $name not found in the downloaded packages"
  cp -L "$src" "$root/usr/lib/$MULTIARCH/$name"
  copied[$name]=1
}
copy_elf_deps() { # file
  local line lib
  # ldd runs the host's loader in trace mode; LD_LIBRARY_PATH makes it resolve from the packages.
  while read -r line; do
    case "$line" in
      *"not found"*) die "ldd: $1: $line" ;;
      *"=> "/*) lib="${line#*=> }"; lib="${lib%% (*}"; copy_lib "$(basename "$lib")" ;;
    esac
  done < <(LD_LIBRARY_PATH="$libdirs" ldd "$1" 2>/dev/null || true)
}

find_tool() {
  local t="$1" d
  for d in usr/sbin sbin usr/bin bin; do
    if [[ -e "$pkgroot/$d/$t" ]]; then echo "$d/$t"; return 0; fi
  done
  return 1
}

cp "$pkgroot/bin/busybox" "$root/usr/bin/busybox"
for t in "${TOOLS[@]}"; do
  rel="$(find_tool "$t")" || die "tool $t not found in the packages"
  case "$rel" in *sbin/*) dst="usr/sbin/$t" ;; *) dst="usr/bin/$t" ;; esac
  if [[ -L "$pkgroot/$rel" ]]; then
    target="$(readlink "$pkgroot/$rel")"
    # Tool links (mkfs.ext4 -> mke2fs) stay links to the copied tool's name.
    ln -sf "$(basename "$target")" "$root/$dst"
    continue
  fi
  cp "$pkgroot/$rel" "$root/$dst"
  if head -c4 "$root/$dst" | grep -q 'ELF'; then copy_elf_deps "$root/$dst"; fi
done
# /bin/sh is dash: Debian's static busybox prefers its own applets inside its shell, which would
# hide the real mount, blkid, modprobe and friends from every guest script.
ln -sf dash "$root/usr/bin/sh"
ln -sf kmod "$root/usr/sbin/modprobe"
ln -sf kmod "$root/usr/sbin/insmod"
ln -sf kmod "$root/usr/sbin/lsmod"
ln -sf kmod "$root/usr/sbin/rmmod"
ln -sf kmod "$root/usr/sbin/depmod"
rm -f "$root/usr/bin/kmod"; cp "$pkgroot/bin/kmod" "$root/usr/sbin/kmod"

# multipath-tools' checkers and prioritizers are plugins it dlopens: copy the whole directory
# with the libraries they need.
# Bookworm's are in /lib/multipath (its compiled-in multipath_dir), /usr/lib/multipath here.
for rel in lib/multipath usr/lib/multipath lib/$MULTIARCH/multipath usr/lib/$MULTIARCH/multipath; do
  [[ -d "$pkgroot/$rel" ]] || continue
  dst="$root/usr/${rel#usr/}"
  mkdir -p "$dst"
  for so in "$pkgroot/$rel"/*.so; do
    cp -L "$so" "$dst/"
    copy_elf_deps "$so"
  done
done

# glibc in full (the shared JDK needs libm, librt, libdl, libpthread), plus its loader.
for f in "$pkgroot"/lib/$MULTIARCH/lib{c,m,dl,pthread,rt,resolv,util,anl}.so.* \
  "$pkgroot"/lib/$MULTIARCH/libnss_{files,dns}.so.* "$pkgroot"/lib/$MULTIARCH/libgcc_s.so.1 \
  "$pkgroot"/usr/lib/$MULTIARCH/libstdc++.so.6 "$pkgroot"/lib/$MULTIARCH/libz.so.1; do
  [[ -e "$f" ]] && copy_lib "$(basename "$f")"
done
cp -L "$pkgroot/lib/$MULTIARCH/ld-linux-x86-64.so.2" "$root/usr/lib/$MULTIARCH/"
ln -sf "../lib/$MULTIARCH/ld-linux-x86-64.so.2" "$root/usr/lib64/ld-linux-x86-64.so.2"

# busybox applets for everything the real tools above do not provide.
while read -r applet; do
  name="$(basename "$applet")"
  [[ "$name" == busybox ]] && continue
  case "$applet" in *sbin/*) dst="usr/sbin/$name" ;; *) dst="usr/bin/$name" ;; esac
  [[ -e "$root/usr/sbin/$name" || -e "$root/usr/bin/$name" || -L "$root/usr/sbin/$name" \
    || -L "$root/usr/bin/$name" ]] && continue
  ln -s /usr/bin/busybox "$root/$dst"
done < <("$root/usr/bin/busybox" --list-full)

# Kernel and modules (the package's own modules.* indexes; only the needed .ko files).
kver="$(basename "$(compgen -G "$pkgroot/lib/modules/*" | head -1)")"
[[ -n "$kver" ]] || die "no kernel modules in the kernel package"
kmods="$pkgroot/lib/modules/$kver"
# The package ships no modules.dep (depmod runs at install): run the package's own depmod, through
# the host's loader, on the unpacked tree, and later again on the guest's subset.
ln -s "$pkgroot/bin/kmod" "$work/depmod"
depmod() { LD_LIBRARY_PATH="$libdirs" "$work/depmod" "$@"; }
depmod -b "$pkgroot" "$kver" || die "depmod failed on the kernel package"
mkdir -p "$root/usr/lib/modules/$kver"
cp "$kmods"/modules.{builtin,builtin.modinfo,order} "$root/usr/lib/modules/$kver/"
declare -A modcopied=()
copy_module() { # name
  local name="$1" n1 n2 entry path deps d
  n1="${name//-/_}"; n2="${name//_/-}"
  entry="$(grep -E "/(${n1}|${n2})\.ko(\.[a-z]+)?:" "$kmods/modules.dep" | head -1 || true)"
  if [[ -z "$entry" ]]; then
    if grep -qE "/(${n1}|${n2})\.ko\$" "$kmods/modules.builtin"; then return 0; fi
    die "kernel module $name neither in modules.dep nor built in"
  fi
  path="${entry%%:*}"
  deps="${entry#*:}"
  [[ -n "${modcopied[$path]:-}" ]] && return 0
  modcopied[$path]=1
  mkdir -p "$root/usr/lib/modules/$kver/$(dirname "$path")"
  cp "$kmods/$path" "$root/usr/lib/modules/$kver/$path"
  for d in $deps; do copy_module "$(basename "${d%%.ko*}")"; done
}
loadable=()
for m in "${PRELOAD[@]}" "${ON_DEMAND[@]}"; do
  n1="${m//-/_}"; n2="${m//_/-}"
  if grep -qE "/(${n1}|${n2})\.ko(\.[a-z]+)?:" "$kmods/modules.dep"; then
    copy_module "$m"
    [[ " ${PRELOAD[*]} " == *" $m "* ]] && loadable+=("$m")
  elif grep -qE "/(${n1}|${n2})\.ko\$" "$kmods/modules.builtin"; then
    : # built into the kernel
  else
    die "kernel module $m not found"
  fi
done
depmod -b "$root" "$kver" || die "depmod failed on the guest's modules"
printf '%s\n' "${loadable[@]}" >"$root/etc/vm-modules"
cp "$pkgroot/boot/vmlinuz-$kver" "$work/vmlinuz"
# Also the uncompressed kernel: qemu boots it straight through its PVH entry point, which skips
# the BIOS and the XZ self-decompression (seconds under emulation). Optional: run-vm.sh falls back
# to the bzImage when it is missing.
xz_at="$(LC_ALL=C grep -obUaP '\xFD7zXZ\x00' "$work/vmlinuz" | head -1 | cut -d: -f1 || true)"
if [[ -n "$xz_at" ]]; then
  # xz complains about the bytes after the stream; the kernel image before them is complete.
  tail -c +$((xz_at + 1)) "$work/vmlinuz" | xz -dc >"$work/vmlinux" 2>/dev/null || true
  if [[ "$(head -c4 "$work/vmlinux" | od -An -c | tr -d ' ')" != '177ELF' ]]; then
    rm -f "$work/vmlinux"
    log "could not unpack the kernel; the VM boots the bzImage"
  fi
fi

# Configuration and init.
cp "$pkgroot/etc/iscsi/iscsid.conf" "$root/etc/iscsi/iscsid.conf"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\ndisk:x:6:\n' >"$root/etc/group"
printf '127.0.0.1 localhost\n10.0.2.15 iscsi-vm\n10.0.2.2 host\n' >"$root/etc/hosts"
printf 'iscsi-vm\n' >"$root/etc/hostname"
printf 'hosts: files\npasswd: files\ngroup: files\n' >"$root/etc/nsswitch.conf"
cp -r "$HERE/guest/." "$root/"
chmod 755 "$root/init" "$root"/usr/lib/iscsi-vm/*
printf '%s\n' "$versions" >"$work/packages.txt"
echo "$kver" >"$work/kernel-version"

log "packing initramfs"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort \
  | "$root/usr/bin/busybox" cpio -o -H newc 2>/dev/null) \
  | gzip -6 >"$work/initramfs.cpio.gz"

mkdir -p "$out.tmp"
[[ -f "$work/vmlinux" ]] && mv "$work/vmlinux" "$out.tmp/"
mv "$work/vmlinuz" "$work/initramfs.cpio.gz" "$work/packages.txt" "$work/kernel-version" "$out.tmp/"
rm -rf "$out"
mv "$out.tmp" "$out"
touch "$out/ready"
echo "$out" >"$CACHE/inputs-$signature"
# Drop downloaded packages that this build did not use (older versions).
for deb in "$debs"/*.deb; do
  name="$(basename "$deb")"
  grep -qxF "${name%%_*}=$(v="${name#*_}"; v="${v%_*}"; echo "${v//%3a/:}")" <<<"$versions" \
    || rm -f "$deb"
done
# Keep the five newest guests (clones on other branches may still use theirs); drop the rest.
for old in $(ls -1dt "$CACHE"/guest-* | tail -n +6); do
  rm -rf "$old"
  grep -lxF "$old" "$CACHE"/inputs-* 2>/dev/null | xargs -r rm -f
done
log "guest ready in $((SECONDS - start)) s: $out ($(du -sh "$out" | cut -f1))"
echo "$out"
