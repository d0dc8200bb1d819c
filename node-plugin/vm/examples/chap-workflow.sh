#!/bin/sh
# Guest script: what an administrator does by hand with open-iscsi against a CHAP-protected target.
# Runs inside the VM (run-vm.sh); the target runs on the host, reached as 10.0.2.2.
#   PORTAL  host:port of the target as the guest reaches it (e.g. 10.0.2.2:13460)
#   TARGET  target IQN;  CHAP_USER, CHAP_SECRET  the right credentials
#   TOKEN   text written to the volume and read back after a fresh login
# Prints "WORKFLOW <step> ok" lines and facts as "KEY=value"; exits non-zero at the first failure
# with a "WORKFLOW FAILED: ..." line. Never prints the secret.
set -u
: "${PORTAL:?}" "${TARGET:?}" "${CHAP_USER:?}" "${CHAP_SECRET:?}" "${TOKEN:?}"

now() { cut -d' ' -f1 /proc/uptime; }
fail() { echo "WORKFLOW FAILED: $*"; exit 1; }
ok() { echo "WORKFLOW $1 ok at $(now) s"; }
node() { iscsiadm -m node -T "$TARGET" -p "$PORTAL" "$@"; }
set_secret() {
  node -o update -n node.session.auth.authmethod -v CHAP >/dev/null || fail "set authmethod"
  node -o update -n node.session.auth.username -v "$CHAP_USER" >/dev/null || fail "set username"
  node -o update -n node.session.auth.password -v "$1" >/dev/null || fail "set password"
}
session_count() { iscsiadm -m session 2>/dev/null | grep -c "$TARGET"; }
wait_disk() { # prints the device behind the by-path link of LUN 1
  link="/dev/disk/by-path/ip-$PORTAL-iscsi-$TARGET-lun-1"
  i=0
  while [ ! -e "$link" ]; do
    i=$((i + 1)); [ $i -le 150 ] || fail "no $link after 30 s"
    sleep 0.2
  done
  readlink -f "$link"
}
start="$(now)"
echo "WORKFLOW_START=$start"

# Discovery (SendTargets). The target may advertise an address the guest cannot reach (tgtd says
# 127.0.0.1), so the node record is then created for the portal we know.
iscsiadm -m discovery -t sendtargets -p "$PORTAL" >/tmp/discovery || fail "discovery"
grep -q " $TARGET\$" /tmp/discovery || fail "discovery did not list $TARGET: $(cat /tmp/discovery)"
ok discovery
iscsiadm -m node -o delete >/dev/null 2>&1
node -o new >/dev/null || fail "node record"
node -o update -n node.startup -v manual >/dev/null || fail "node.startup"

# A wrong secret is refused (open-iscsi exit code 24) and leaves no session.
set_secret "wrong-$CHAP_SECRET"
node --login >/tmp/login 2>&1
echo "WRONG_CHAP_EXIT=$?"
echo "SESSIONS_AFTER_WRONG_CHAP=$(session_count)"
ok wrong-chap

set_secret "$CHAP_SECRET"
node --login >/dev/null || fail "login with the right secret"
dev="$(wait_disk)"
echo "DISK=$dev"
ok login
mkfs.ext4 -q -F "$dev" || fail "mkfs.ext4"
uuid="$(blkid -o value -s UUID "$dev")"
[ -n "$uuid" ] || fail "blkid found no UUID"
echo "FS_UUID=$uuid"
mkdir -p /mnt/vol
mount UUID="$uuid" /mnt/vol || fail "mount UUID=$uuid"
echo "$TOKEN" >/mnt/vol/token || fail "write"
sync
umount /mnt/vol || fail "umount"
ok format-mount-write
node --logout >/dev/null || fail "logout"
echo "SESSIONS_AFTER_LOGOUT=$(session_count)"
ok logout

node --login >/dev/null || fail "second login"
dev="$(wait_disk)"
mount UUID="$uuid" /mnt/vol || fail "mount UUID=$uuid after relogin"
echo "READ_BACK=$(cat /mnt/vol/token)"
umount /mnt/vol || fail "umount after relogin"
node --logout >/dev/null || fail "second logout"
ok relogin-verify
echo "WORKFLOW_SECONDS=$(echo "$(now) $start" | awk '{printf "%.2f", $1 - $2}')"
