#!/bin/sh
# The VM node's guest script (run as /ctl/guest.sh by node-plugin/vm/guest/init): a Kubernetes
# node of the test cluster with kubelet, containerd and the node plugin, registered with kubelet
# through the plugin registration protocol, as the chart's DaemonSet runs it.
#
# From the host: /node (e2e/cluster/vm-node.sh's directory: binaries, modules, images), /repo
# (this repository: configuration, the node plugin), /ctl (the control directory) and, once the
# test wrote it, /ctl/cluster/ (ca.crt, kubelet.kubeconfig and the node's client certificate;
# the file "ready" last). Environment: NODE_NAME. Logs go to /ctl/logs/.
#
# Then it runs the shell files the host drops as /ctl/cmd.N (output /ctl/out.N, exit code
# /ctl/rc.N; node-plugin's NodePluginGuest protocol) until /ctl/stop appears.
# `sh /repo/e2e/cluster/node/start-node.sh restart-kubelet` in such a command restarts kubelet.
set -u
CFG=/repo/e2e/cluster/node
LOGS=/ctl/logs
DRIVER=iscsi.csi.iscsicsi.org
KUBELET_DIR=/var/lib/kubelet
up() { cut -d' ' -f1 /proc/uptime; }
say() { echo "vm-node: $* (at $(up) s)"; }

start_kubelet() {
  /node/bin/kubelet --config "$CFG/kubelet.yaml" --kubeconfig /ctl/cluster/kubelet.kubeconfig \
    --hostname-override "$NODE_NAME" --node-ip 10.0.2.15 --root-dir "$KUBELET_DIR" \
    --cert-dir /var/lib/kubelet-pki --v=2 >>"$LOGS/kubelet.log" 2>&1 </dev/null &
  echo $! >/run/kubelet.pid
}

if [ "${1:-}" = restart-kubelet ]; then
  pid=$(cat /run/kubelet.pid)
  kill "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  start_kubelet
  say "kubelet restarted (pid $(cat /run/kubelet.pid))"
  exit 0
fi

mkdir -p "$LOGS"
# --- the node's file systems (the root is the initramfs), cgroup v2. What a node keeps across
# a reboot (kubelet's pods and volumes, the node plugin's state, iscsid's node records) is on
# the VM's own disk when the test gives one (/dev/vda, ext4, made on first use), else on tmpfs;
# the rest is tmpfs, so images and containers start afresh as after a real reboot's cleanup.
KEPT="/var/lib/kubelet /var/lib/kubelet-pki /var/lib/iscsi-csi /etc/iscsi/nodes"
modprobe -a -q virtio_blk ext4 2>/dev/null
if [ -b /dev/vda ]; then
  blkid /dev/vda >/dev/null 2>&1 || mkfs.ext4 -q -L node-state /dev/vda ||
    { say "mkfs of the node's disk failed"; exit 1; }
  mkdir -p /state
  mount -t ext4 /dev/vda /state || { say "the node's disk does not mount"; exit 1; }
  for d in $KEPT; do
    mkdir -p "$d" "/state$d"; mount --bind "/state$d" "$d"
  done
  say "node disk: $(ls /state/var/lib/kubelet/pods 2>/dev/null | wc -l) pod directories kept"
else
  for d in $KEPT; do mkdir -p "$d"; mount -t tmpfs -o mode=755 tmpfs "$d"; done
fi
for d in /var/lib/containerd /var/log /var/lib/cni; do
  mkdir -p "$d"; mount -t tmpfs -o mode=755 tmpfs "$d"
done
mount --make-rshared / 2>/dev/null || say "/ stays private (initramfs)"
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
  echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || say "controller $c not enabled"
done
for m in /node/modules/*.ko; do insmod "$m" || say "insmod $m failed"; done
echo 1 >/proc/sys/net/ipv4/ip_forward
cp /node/lib/* /usr/lib/x86_64-linux-gnu/
cp /node/bin/runc /usr/sbin/runc
mkdir -p /etc/cni/net.d /etc/containerd /opt/cni
cp "$CFG/cni.conflist" /etc/cni/net.d/10-pods.conflist
: >/etc/resolv.conf
# cadvisor names the machine by its id
echo 6973637369637369637369637369637a >/etc/machine-id
grep -q "$NODE_NAME" /etc/hosts || echo "10.0.2.15 $NODE_NAME" >>/etc/hosts
say "cgroups: $(cat /sys/fs/cgroup/cgroup.subtree_control)"

# --- containerd, and the images from their OCI archives (no registry is reachable)
/node/bin/containerd --config "$CFG/containerd.toml" >>"$LOGS/containerd.log" 2>&1 </dev/null &
CONTAINERD=$!
i=0
until /node/bin/ctr version >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -lt 600 ] || { say "containerd did not start"; exit 1; }; sleep 0.2
done
say "containerd up"
for ref in $(cat /node/images/refs); do
  name=${ref%:*}
  /node/bin/ctr -n k8s.io images import --base-name "$name" "/node/images/${name##*/}.tar" \
    >>"$LOGS/containerd.log" 2>&1 || say "import of $ref failed"
done
# Kubernetes' storage e2e suite (StorageE2eTest) runs its pods from this name
# (test/utils/image/manifest.go); the same busybox-static image serves it, since no registry is
# reachable and its pods only use busybox's applets.
/node/bin/ctr -n k8s.io images tag docker.io/library/busybox:1.35 \
  registry.k8s.io/e2e-test-images/busybox:1.37.0-2 >>"$LOGS/containerd.log" 2>&1 ||
  say "tagging busybox for the storage e2e suite failed"
say "images: $(/node/bin/ctr -n k8s.io images ls -q | tr '\n' ' ')"

# --- the node plugin, registering itself with kubelet (no node-driver-registrar)
export NODE_PLUGIN_JAVA_OPTS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
/repo/node-plugin/bin/node-plugin serve \
  --endpoint "unix://$KUBELET_DIR/plugins/$DRIVER/csi.sock" --node-name "$NODE_NAME" \
  --kubelet-registration-dir "$KUBELET_DIR/plugins_registry" \
  --state-dir /var/lib/iscsi-csi/state --gc-interval 0s --device-wait-timeout 30s \
  --iscsiadm-timeout 20s --login-timeout 10s >>"$LOGS/node-plugin.log" 2>&1 </dev/null &
PLUGIN=$!

# --- kubelet, once the test handed over its credentials
i=0
until [ -e /ctl/cluster/ready ]; do
  i=$((i + 1)); [ $i -lt 6000 ] || { say "no /ctl/cluster/ready"; exit 1; }; sleep 0.2
done
start_kubelet
say "kubelet started"

i=0
while [ ! -e /ctl/stop ]; do
  if [ -e /ctl/cmd.$i ]; then
    sh /ctl/cmd.$i > /ctl/out.$i.tmp 2>&1; echo $? > /ctl/rc.$i.tmp
    mv /ctl/out.$i.tmp /ctl/out.$i; mv /ctl/rc.$i.tmp /ctl/rc.$i
    i=$((i + 1))
  fi
  sleep 0.1
done
kill "$(cat /run/kubelet.pid)" "$PLUGIN"
wait "$PLUGIN"
kill "$CONTAINERD"
# only what this script started and stopped: a prelude's helpers (VmNode.bootWithMultipath:
# multipathd, the udev stub loop) run until the VM powers off
wait "$CONTAINERD" "$(cat /run/kubelet.pid)" 2>/dev/null
say "node stopped"
exit 0
