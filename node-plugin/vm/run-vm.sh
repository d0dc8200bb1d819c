#!/usr/bin/env bash
# Boots the iSCSI test VM (qemu, software emulation) and runs one guest command in it; exits with
# that command's exit code. See README.md.
#
# Usage: run-vm.sh [options] (--script FILE | -- COMMAND [ARG...])
#   --share HOSTDIR:GUESTPATH[:ro|rw]  share a host directory over 9p (repeatable; default ro)
#   --no-default-shares     do not share the repository (/repo, ro) and the JDK (/jdk, ro)
#   --hostfwd HOSTPORT:GUESTPORT       forward 127.0.0.1:HOSTPORT to a guest TCP port (repeatable)
#   --disk FILE             attach FILE (a raw image) as the guest's virtio disk /dev/vda, kept
#                           across boots: a node's own disk, as a reboot test needs it
#   --timeout SECONDS       hard limit for the whole run (default 300): qemu is killed, exit 124
#   --memory MB             guest memory (default 1024)
#   --cpus N                virtual CPUs (default 1)
#   --iqn IQN               the guest's initiator name (default iqn.2026-11.org.iscsicsi:vm)
#   --ctl DIR               the control directory shared at /ctl (default: a new temporary one,
#                           removed afterwards); holds guest.sh, exit-code and console.log
#   --log FILE              write the console to FILE (default: console.log in the ctl directory)
#   --quiet                 do not copy the console to stdout
# Exit codes: the guest command's; 124 timeout; 125 the VM did not report one (boot failure).
# Env: JAVA_HOME or ISCSI_VM_JDK (the JDK to share), ISCSI_CSI_CACHE (see prepare-guest.sh),
#   ISCSI_VM_BZIMAGE=1 (boot the compressed kernel through the BIOS instead of its PVH entry),
#   ISCSI_VM_ACCEL=kvm (hardware virtualization where /dev/kvm works; default tcg).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

usage() { awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "${BASH_SOURCE[0]}" >&2
  exit 125; }
die() { echo "run-vm: error: $*" >&2; exit 125; }

shares=()
fwds=()
disk=""
timeout_s=300
memory=1024
cpus=1
iqn="iqn.2026-11.org.iscsicsi:vm"
ctl=""
log=""
quiet=0
default_shares=1
script=""
command=()
while (($#)); do
  case "$1" in
    --share) [[ $# -ge 2 ]] || usage; shares+=("$2"); shift 2 ;;
    --no-default-shares) default_shares=0; shift ;;
    --hostfwd) [[ $# -ge 2 ]] || usage; fwds+=("$2"); shift 2 ;;
    --disk) [[ $# -ge 2 ]] || usage; disk="$2"; shift 2 ;;
    --timeout) [[ $# -ge 2 ]] || usage; timeout_s="$2"; shift 2 ;;
    --memory) [[ $# -ge 2 ]] || usage; memory="$2"; shift 2 ;;
    --cpus) [[ $# -ge 2 ]] || usage; cpus="$2"; shift 2 ;;
    --iqn) [[ $# -ge 2 ]] || usage; iqn="$2"; shift 2 ;;
    --ctl) [[ $# -ge 2 ]] || usage; ctl="$2"; shift 2 ;;
    --log) [[ $# -ge 2 ]] || usage; log="$2"; shift 2 ;;
    --quiet) quiet=1; shift ;;
    --script) [[ $# -ge 2 ]] || usage; script="$2"; shift 2 ;;
    --) shift; command=("$@"); break ;;
    -h|--help) usage ;;
    *) die "unknown option $1 (try --help)" ;;
  esac
done
[[ -n "$script" || ${#command[@]} -gt 0 ]] || die "give --script FILE or -- COMMAND"
[[ -z "$script" || ${#command[@]} -eq 0 ]] || die "give either --script or a command, not both"
[[ "$timeout_s" =~ ^[0-9]+$ && "$timeout_s" -gt 0 ]] || die "--timeout must be a positive integer"
[[ "$memory" =~ ^[0-9]+$ && "$memory" -ge 256 ]] || die "--memory must be an integer >= 256 (MB)"
[[ "$cpus" =~ ^[0-9]+$ && "$cpus" -ge 1 ]] || die "--cpus must be a positive integer"
[[ "$iqn" =~ ^(iqn\.[0-9]{4}-[0-9]{2}\.[a-z0-9.-]+(:[A-Za-z0-9._:-]+)?|eui\.[0-9A-Fa-f]{16})$ ]] \
  || die "--iqn is not an iSCSI name: $iqn"
command -v qemu-system-x86_64 >/dev/null \
  || die "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"

guest="$("$HERE/prepare-guest.sh")" || die "guest preparation failed"

own_ctl=0
if [[ -z "$ctl" ]]; then
  ctl="$(mktemp -d "${TMPDIR:-/tmp}/iscsi-vm.XXXXXX")"
  own_ctl=1
fi
mkdir -p "$ctl"
ctl="$(cd "$ctl" && pwd)"
rm -f "$ctl/exit-code"
if [[ -n "$script" ]]; then
  [[ -f "$script" ]] || die "no such script: $script"
  [[ "$(cd "$(dirname "$script")" && pwd)/$(basename "$script")" == "$ctl/guest.sh" ]] \
    || cp "$script" "$ctl/guest.sh"
else
  { printf '#!/bin/sh\nexec'; printf ' %q' "${command[@]}"; printf '\n'; } >"$ctl/guest.sh"
fi

if ((default_shares)); then
  jdk="${ISCSI_VM_JDK:-${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}}"
  shares=("$REPO:/repo:ro" "${shares[@]}")
  [[ -x "$jdk/bin/java" ]] && shares+=("$jdk:/jdk:ro")
fi

# The uncompressed kernel boots through its PVH entry (no BIOS, no self-decompression).
kernel="$guest/vmlinux"
[[ -f "$kernel" && "${ISCSI_VM_BZIMAGE:-0}" != 1 ]] || kernel="$guest/vmlinuz"
# Software emulation by default (works anywhere); ISCSI_VM_ACCEL=kvm where /dev/kvm is usable.
accel="${ISCSI_VM_ACCEL:-tcg}"
[[ "$accel" == tcg || "$accel" == kvm ]] || die "ISCSI_VM_ACCEL must be tcg or kvm"
cpu=max; [[ "$accel" == kvm ]] && cpu=host
qemu=(qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -smp "$cpus" -m "$memory" -no-reboot
  -kernel "$kernel" -initrd "$guest/initramfs.cpio.gz")
share_arg="ctl:/ctl:rw"
qemu+=(-virtfs "local,path=$ctl,mount_tag=ctl,security_model=none,multidevs=remap")
n=0
for s in "${shares[@]}"; do
  IFS=':' read -r hostdir guestpath mode <<<"$s"
  mode="${mode:-ro}"
  [[ -d "$hostdir" ]] || die "share: no such directory: $hostdir"
  [[ "$guestpath" =~ ^/[A-Za-z0-9._/-]+$ ]] || die "share: bad guest path: $guestpath"
  [[ "$mode" == ro || "$mode" == rw ]] || die "share: mode must be ro or rw: $s"
  tag="share$n"; n=$((n + 1))
  ro=""; [[ "$mode" == ro ]] && ro=",readonly=on"
  qemu+=(-virtfs "local,path=$hostdir,mount_tag=$tag,security_model=none,multidevs=remap$ro")
  share_arg+=",$tag:$guestpath:$mode"
done
if [[ -n "$disk" ]]; then
  [[ -f "$disk" && -w "$disk" ]] || die "disk: not a writable file: $disk"
  [[ "$disk" != *,* ]] || die "disk: a comma in the path cannot be passed to qemu: $disk"
  qemu+=(-drive "file=$disk,format=raw,if=virtio,cache=writeback")
fi
netdev="user,id=n0"
for f in "${fwds[@]}"; do
  [[ "$f" =~ ^([0-9]+):([0-9]+)$ ]] || die "--hostfwd wants HOSTPORT:GUESTPORT, got $f"
  netdev+=",hostfwd=tcp:127.0.0.1:${BASH_REMATCH[1]}-:${BASH_REMATCH[2]}"
done
qemu+=(-netdev "$netdev" -device virtio-net-pci,netdev=n0,romfile=)
qemu+=(-append "console=ttyS0 panic=-1 quiet loglevel=3 iscsivm.shares=$share_arg iscsivm.iqn=$iqn")

qpid=""
cleanup() {
  if [[ -n "$qpid" ]]; then kill "$qpid" 2>/dev/null || true; fi
  if ((own_ctl)); then rm -rf "$ctl"; fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

start=$SECONDS
console="${log:-$ctl/console.log}"
: >"$console"
# The serial console goes to a file that is streamed to stdout while qemu runs.
tpid=""
qemu+=(-display none -monitor none -serial "file:$console")
# timeout forwards TERM to qemu and KILLs it 5 s later if it lingers.
timeout -k 5 "$timeout_s" "${qemu[@]}" </dev/null >"$ctl/qemu.err" 2>&1 &
qpid=$!
if ((!quiet)); then
  tail -s 0.2 -n +1 -f --pid="$qpid" "$console" &
  tpid=$!
fi
set +e
wait "$qpid"
qrc=$?
[[ -n "$tpid" ]] && wait "$tpid"
set -e
qpid=""
[[ -s "$ctl/qemu.err" ]] && sed 's/^/run-vm: qemu: /' "$ctl/qemu.err" >&2
if [[ -f "$ctl/exit-code" ]]; then
  rc="$(tr -dc '0-9' <"$ctl/exit-code")"
elif line="$(tr -d '\r' <"$console" | grep -a '^ISCSI-VM-EXIT-CODE=' | tail -1)"; then
  rc="${line#*=}"
elif ((qrc == 124 || qrc == 137)); then
  echo "run-vm: timed out after ${timeout_s} s" >&2
  rc=124
else
  echo "run-vm: the VM reported no exit code (qemu exit $qrc); console: $console" >&2
  rc=125
fi
echo "run-vm: guest exit code $rc after $((SECONDS - start)) s" >&2
exit "${rc:-125}"
