#!/usr/bin/env bash
# Starts a Kubernetes control plane on loopback with the iscsi-csi controller and the CSI
# sidecars (no kubelet runs here: with --kubelet, the VM node's joins). Usage: start.sh RUN_DIR
#
#   etcd :B (peer :B+1), kube-apiserver :B+2, kube-controller-manager :B+3, kube-scheduler :B+4,
#   the controller's iSCSI portal 127.0.0.1:B+10, where B is ISCSI_CSI_PORT_BASE (13500 by
#   default: 13500-13510; the ports below as 1352i and so on are B+20+i, B+30+i, B+40+i).
#
# RUN_DIR receives the certificates, RUN_DIR/kubeconfig (cluster admin), RUN_DIR/sidecars.kubeconfig
# (the chart's controller ServiceAccount), logs in RUN_DIR/logs, pid files in RUN_DIR/pids and the
# engine's state in RUN_DIR/state. stop.sh RUN_DIR ends every process started here; this script
# calls it itself when a step fails.
#
# Objects applied: the snapshot CRDs (external-snapshotter module source), the chart's IscsiVolume
# CRD, namespace, ServiceAccounts, RBAC, CSIDriver, StorageClasses and VolumeSnapshotClass
# (deploy/iscsi-csi.yaml, the chart rendered with default values), and (register-node.sh) Node
# "$NODE_NAME" with a CSINode whose driver node id is "$NODE_IQN" and the topology label and key
# kubelet would register from the node plugin's NodeGetInfo ("$DRIVER/node" = node name).
#
# The controller runs with the chart's flags (--leader-election on a Lease in the chart's
# namespace, --sync-crd, per-volume CHAP Secrets in the chart's namespace named as the chart's
# StorageClasses name them) as the chart's controller ServiceAccount (RUN_DIR/sidecars.kubeconfig),
# so the chart's RBAC is what it gets, like the sidecars.
#
#   start.sh RUN_DIR --no-node           everything but the node (the test registers its VM).
#   start.sh RUN_DIR --kubelet           no node either: a real kubelet registers the VM node
#       "$VM_NODE_NAME" (e2e/cluster/node/start-node.sh) with the credentials written to
#       RUN_DIR/node/ (ca.crt, node.crt/key as system:node:$VM_NODE_NAME, kubelet.kubeconfig for
#       the guest, which reaches the apiserver as 10.0.2.2), and kube-controller-manager also
#       runs what a node with a kubelet needs: node lifecycle (Ready, the not-ready taints), taint
#       eviction, the root CA publisher (kube-root-ca.crt for projected service account
#       volumes), generic ephemeral volumes, pod garbage collection and the TTL controller.
#   start.sh RUN_DIR --controller-only   (re)starts only the controller (after a kill).
#   start.sh RUN_DIR --pool N            pool mode (docs/pools.md) without the node-1 node: the
#       cluster objects of the chart rendered with engines.mode=pool from RUN_DIR/chart-pool.yaml
#       (the IscsiEngine CRD, the engines' ServiceAccount and RBAC included), N storage nodes
#       node-a, node-b, ... (label iscsi.csi.iscsicsi.org/storage-node=true, zones a, b, ... as
#       topology.kubernetes.io/zone, the CSINode key), on each a `target-engine serve
#       --kubernetes` process (run from the controller's jars, as the chart's engines.command
#       runs it in the controller image) as the chart's engine ServiceAccount (portal 127.0.0.1:1352i,
#       admin API 127.0.0.1:1353i with mutual TLS from RUN_DIR/tls/engine/), and the controller
#       with --pool and the client certificate of RUN_DIR/tls/controller/ (no embedded engine);
#       the provisioner tracks capacity (--enable-capacity, CSIStorageCapacity in the namespace).
#       Each engine also serves replica streams on 127.0.0.1:1354i (the chart's --replication,
#       mutual TLS with the engines' key pair), so StorageClasses may ask for `replicas`.
#   start.sh RUN_DIR --pool N --kubelet  pool mode with the VM node's kubelet (as --kubelet): the
#       engines advertise their portals as $ISCSI_CSI_ENGINE_HOST:1352i (10.0.2.2 for a qemu
#       guest) and report no zone (the VM node has none; an engine without zones is reachable
#       from every node), the storage nodes are registered without zones.
#   start.sh RUN_DIR --engine NODE       (re)starts the pool engine of storage node NODE (after a
#       kill), as the pool start ran it.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
RUN="${1:?usage: start.sh RUN_DIR [--controller-only|--no-node|--kubelet|--pool N [--kubelet]|--engine NODE]}"
mkdir -p "$RUN"
RUN="$(cd "$RUN" && pwd)"
MODE="${2:-all}"
POOL_ENGINES=0
# KUBELET=1: the VM node's kubelet joins (--kubelet, alone or after --pool N)
KUBELET=0
[[ "$MODE" == --kubelet ]] && KUBELET=1
# the host name engines advertise their portals under (pool mode with --kubelet)
ENGINE_HOST=127.0.0.1
if [[ "$MODE" == --pool ]]; then
  POOL_ENGINES="${3:?--pool needs the number of engines}"
  [[ "$POOL_ENGINES" =~ ^[1-9]$ ]] || { echo "--pool N: 1 to 9 engines, not $POOL_ENGINES" >&2; exit 2; }
  for f in "$RUN/chart-pool.yaml" "$RUN"/tls/{engine,controller}/{tls.crt,tls.key,ca.crt}; do
    [[ -f "$f" ]] || { echo "--pool needs $f (the chart rendered with engines.mode=pool)" >&2; exit 2; }
  done
  if [[ "${4:-}" == --kubelet ]]; then
    KUBELET=1
    ENGINE_HOST="${ISCSI_CSI_ENGINE_HOST:?--pool N --kubelet needs ISCSI_CSI_ENGINE_HOST}"
  elif [[ -n "${4:-}" ]]; then
    echo "--pool N takes only --kubelet after it, not $4" >&2; exit 2
  fi
  echo "$POOL_ENGINES" >"$RUN/pool.engines"
  echo "$KUBELET $ENGINE_HOST" >"$RUN/pool.node"
elif [[ "$MODE" == --controller-only || "$MODE" == --engine ]] && [[ -f "$RUN/pool.engines" ]]; then
  POOL_ENGINES=$(cat "$RUN/pool.engines")
  read -r KUBELET ENGINE_HOST <"$RUN/pool.node"
fi
# Every port derives from one base, so two clusters on one machine can use two blocks
# (the tests' PortBlock claims a free one; the playground's default is 13500).
PORT_BASE=${ISCSI_CSI_PORT_BASE:-13500}
[[ "$PORT_BASE" =~ ^[0-9]{4,5}$ ]] && ((PORT_BASE >= 1024 && PORT_BASE <= 65000)) \
  || { echo "ISCSI_CSI_PORT_BASE must be a port from 1024 to 65000" >&2; exit 2; }
ENGINE_PORTAL_BASE=$((PORT_BASE + 20)); ENGINE_ADMIN_BASE=$((PORT_BASE + 30))
ENGINE_REPLICATION_BASE=$((PORT_BASE + 40))
ZONE_KEY=topology.kubernetes.io/zone
ZONES=(a b c d e f g h i)

ETCD_PORT=$PORT_BASE; ETCD_PEER_PORT=$((PORT_BASE + 1)); API_PORT=$((PORT_BASE + 2))
KCM_PORT=$((PORT_BASE + 3)); SCHED_PORT=$((PORT_BASE + 4)); PORTAL_PORT=$((PORT_BASE + 10))
DRIVER=iscsi.csi.iscsicsi.org
NAMESPACE=iscsi-csi
NODE_NAME=${NODE_NAME:-node-1}
NODE_IQN=${NODE_IQN:-iqn.2026-11.org.iscsicsi.test:node-1}
VM_NODE_NAME=${VM_NODE_NAME:-vm-node-1}
[[ "$VM_NODE_NAME" =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$ ]] || { echo "bad VM_NODE_NAME" >&2; exit 2; }
# The portal address volumes carry: a guest behind qemu's user networking reaches the host's
# loopback as 10.0.2.2 (ISCSI_CSI_ADVERTISE=10.0.2.2:PORTAL_PORT).
ADVERTISE=${ISCSI_CSI_ADVERTISE:-127.0.0.1:$PORTAL_PORT}
SYNC_INTERVAL=${ISCSI_CSI_SYNC_INTERVAL:-2}

LOGS="$RUN/logs"; PIDS="$RUN/pids"
mkdir -p "$LOGS" "$PIDS" "$RUN/state"
log() { echo "[start.sh $(date -u +%T)] $*" >&2; }

# spawn NAME CMD...: a background process with its own log and pid file.
spawn() {
  local name=$1; shift
  "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$PIDS/$name.pid"
}

# supervise NAME CMD...: like spawn, but restarts CMD a second after it exits, as kubelet restarts
# a container: the CSI sidecars exit on purpose when they lose the driver's socket (a controller
# restart). SIGTERM to the supervisor ends the child too.
supervise() {
  local name=$1; shift
  (
    child=
    trap 'if [[ -n "$child" ]]; then kill -TERM "$child" 2>/dev/null; wait "$child"; fi; exit 0' TERM INT
    while true; do
      "$@" &
      child=$!
      wait "$child" || true
      echo "[supervise] $name exited; restarting in 1s"
      sleep 1
    done
  ) >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$PIDS/$name.pid"
}

# wait_for WHAT SECONDS CMD...: polls CMD every 0.5 s.
wait_for() {
  local what=$1 limit=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "timed out after ${limit}s waiting for $what; see $LOGS"
      return 1
    fi
    sleep 0.5
  done
}

start_controller() {
  local jar="$REPO/controller/target/controller.jar"
  [[ -f "$jar" ]] || { log "$jar missing: ./mvnw -pl controller -am package"; return 1; }
  rm -f "$RUN/csi.sock"
  # The chart's flags: leader election on a Lease in the release namespace and the IscsiVolume
  # sync, as the chart's controller ServiceAccount. Every start is a new identity (a new pod), so
  # a restart after a SIGKILL has to wait for the dead holder's Lease to expire.
  local n; n=$(( $(cat "$RUN/controller.starts" 2>/dev/null || echo 0) + 1 ))
  echo "$n" >"$RUN/controller.starts"
  local engine=(--state-dir "$RUN/state" --portal "127.0.0.1:$PORTAL_PORT" --advertise "$ADVERTISE")
  if ((POOL_ENGINES > 0)); then
    # the chart's pool-mode flags: no embedded engine, the engines' admin API over mutual TLS
    engine=(--pool --engine-tls-cert "$RUN/tls/controller/tls.crt"
      --engine-tls-key "$RUN/tls/controller/tls.key" --engine-tls-ca "$RUN/tls/controller/ca.crt")
  fi
  KUBECONFIG="$RUN/sidecars.kubeconfig" POD_NAMESPACE="$NAMESPACE" POD_NAME="controller-$n" \
  spawn controller "$REPO/controller/bin/controller" serve --endpoint "unix://$RUN/csi.sock" \
    "${engine[@]}" --driver-name "$DRIVER" \
    --leader-election --leader-election-namespace "$NAMESPACE" \
    --sync-crd --sync-interval "$SYNC_INTERVAL" \
    --chap-secret-namespace "$NAMESPACE" --chap-secret-prefix iscsi-csi-chap- --overcommit-ratio 1
  wait_for "the controller's CSI socket" 120 test -S "$RUN/csi.sock"
}

# start_engine I: the engine of storage node I (0-based) as the chart's engines.command runs it
# in the controller image (the engine's CLI from the controller's jars), as the chart's engine
# ServiceAccount; replica streams on its replication port with the engines' key pair.
start_engine() {
  local i=$1 node="node-${ZONES[$1]}"
  local zoned=(--topology-keys "$ZONE_KEY")
  ((KUBELET)) && zoned=()
  mkdir -p "$RUN/engines/$node"
  KUBECONFIG="$RUN/engine.kubeconfig" \
  spawn "engine-$node" "$REPO/bin/run-java" "$REPO/controller" controller \
    org.iscsicsi.target.cli.TargetEngineCli serve --kubernetes \
    --node "$node" --namespace "$NAMESPACE" "${zoned[@]}" \
    --state-dir "$RUN/engines/$node" --portal "127.0.0.1:$((ENGINE_PORTAL_BASE + i))" \
    --advertise "$ENGINE_HOST:$((ENGINE_PORTAL_BASE + i))" \
    --admin "127.0.0.1:$((ENGINE_ADMIN_BASE + i))" \
    --admin-tls-cert "$RUN/tls/engine/tls.crt" --admin-tls-key "$RUN/tls/engine/tls.key" \
    --admin-tls-client-ca "$RUN/tls/engine/ca.crt" \
    --replication "127.0.0.1:$((ENGINE_REPLICATION_BASE + i))" \
    --replication-tls-ca "$RUN/tls/engine/ca.crt"
}

if [[ "$MODE" == --engine ]]; then
  node="${3:?--engine needs a storage node name}"
  for i in $(seq 0 $((POOL_ENGINES - 1))); do
    if [[ "$node" == "node-${ZONES[$i]}" ]]; then
      start_engine "$i"
      log "engine of $node started (pid $(cat "$PIDS/engine-$node.pid"))"
      exit 0
    fi
  done
  echo "--engine: no storage node $node in this pool" >&2; exit 2
fi

if [[ "$MODE" == --controller-only ]]; then
  start_controller
  log "controller restarted (pid $(cat "$PIDS/controller.pid"))"
  exit 0
fi

trap 'log "start failed"; "$HERE/stop.sh" "$RUN"' ERR
T0=$(date +%s.%N)
K8S="${ISCSI_CSI_K8S_DIR:-$("$HERE/build.sh" | tail -1)}"
BIN="$K8S/bin"
export PATH="$BIN:$PATH"
KUBECTL=("$BIN/kubectl" --kubeconfig "$RUN/kubeconfig")

# --- certificates (openssl): a CA, the API server's serving cert, an admin client cert, and the
# service-account signing key pair. Regenerated per run dir, kept when present.
PKI="$RUN/pki"
if [[ ! -f "$PKI/admin.crt" || ! -f "$PKI/node.crt" ]]; then
  mkdir -p "$PKI"; (
  cd "$PKI"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 \
    -subj "/CN=iscsi-csi-test-ca" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr \
    -subj "/CN=kube-apiserver" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n' >apiserver.ext
  openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out apiserver.crt -days 2 -extfile apiserver.ext 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr \
    -subj "/O=system:masters/CN=test-admin" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' >client.ext
  openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out admin.crt -days 2 -extfile client.ext 2>/dev/null
  # the apiserver's client certificate towards kubelet (logs, exec), and the VM node's kubelet
  openssl req -newkey rsa:2048 -nodes -keyout kubelet-client.key -out kubelet-client.csr \
    -subj "/O=system:masters/CN=kube-apiserver-kubelet-client" 2>/dev/null
  openssl x509 -req -in kubelet-client.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out kubelet-client.crt -days 2 -extfile client.ext 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout node.key -out node.csr \
    -subj "/O=system:nodes/CN=system:node:$VM_NODE_NAME" 2>/dev/null
  openssl x509 -req -in node.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out node.crt -days 2 -extfile client.ext 2>/dev/null
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  chmod 600 ./*.key)
fi

cat >"$RUN/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority: $PKI/ca.crt
users:
- name: admin
  user:
    client-certificate: $PKI/admin.crt
    client-key: $PKI/admin.key
contexts:
- name: test
  context: {cluster: test, user: admin}
current-context: test
KC
chmod 600 "$RUN/kubeconfig"

# The VM node's kubelet: the guest reaches the host's loopback as 10.0.2.2 (qemu's user
# network), which the serving certificate does not name, so it checks the name "kubernetes".
mkdir -p "$RUN/node"
cp "$PKI/ca.crt" "$PKI/node.crt" "$PKI/node.key" "$RUN/node/"
cat >"$RUN/node/kubelet.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: https://10.0.2.2:$API_PORT
    certificate-authority: /ctl/cluster/ca.crt
    tls-server-name: kubernetes
users:
- name: node
  user:
    client-certificate: /ctl/cluster/node.crt
    client-key: /ctl/cluster/node.key
contexts:
- name: test
  context: {cluster: test, user: node}
current-context: test
KC

# --- etcd
spawn etcd "$BIN/etcd" --name test --data-dir "$RUN/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "test=http://127.0.0.1:$ETCD_PEER_PORT" \
  --unsafe-no-fsync --quota-backend-bytes 1073741824
wait_for etcd 60 curl -sf "http://127.0.0.1:$ETCD_PORT/health"

# With --kubelet the apiserver reaches kubelet (logs, exec) through the test's tunnel
# (KubeletTunnel): an HTTP CONNECT proxy on the unix socket RUN_DIR/kubelet-tunnel.sock that
# opens only the node's kubelet port, forwarded into the VM; the node's address (10.0.2.15)
# exists only inside the VM. (The apiserver's TCP transport to a proxy always speaks TLS.)
EGRESS=()
if ((KUBELET)); then
  cat >"$RUN/egress.yaml" <<EG
apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      uds:
        udsName: $RUN/kubelet-tunnel.sock
EG
  EGRESS=(--egress-selector-config-file "$RUN/egress.yaml")
fi

# --- kube-apiserver. No endpoint reconciler: it publishes the advertise address as the
# "kubernetes" Service's endpoint, which 1.37 refuses for loopback, and nothing runs in-cluster.
spawn kube-apiserver "$BIN/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
  --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
  --client-ca-file "$PKI/ca.crt" \
  --service-account-issuer https://kubernetes.default.svc \
  --service-account-key-file "$PKI/sa.pub" \
  --service-account-signing-key-file "$PKI/sa.key" \
  --service-cluster-ip-range 10.0.0.0/24 \
  --authorization-mode Node,RBAC --allow-privileged=true \
  --enable-priority-and-fairness=false \
  --endpoint-reconciler-type none \
  --kubelet-client-certificate "$PKI/kubelet-client.crt" --kubelet-client-key "$PKI/kubelet-client.key" \
  "${EGRESS[@]}" \
  --profiling=false
wait_for kube-apiserver 120 "${KUBECTL[@]}" get --raw /readyz

# --- kube-controller-manager: PV binding, attach/detach, expansion, protection finalizers,
# namespaces and garbage collection. No node lifecycle unless a kubelet sends heartbeats.
CONTROLLERS=namespace-controller,serviceaccount-controller,garbage-collector-controller,persistentvolume-binder-controller,persistentvolume-attach-detach-controller,persistentvolume-expander-controller,persistentvolumeclaim-protection-controller,persistentvolume-protection-controller
if ((KUBELET)); then
  CONTROLLERS+=,node-lifecycle-controller,taint-eviction-controller,root-ca-certificate-publisher-controller,ephemeral-volume-controller,pod-garbage-collector-controller,ttl-controller
fi
spawn kube-controller-manager "$BIN/kube-controller-manager" \
  --kubeconfig "$RUN/kubeconfig" \
  --authentication-kubeconfig "$RUN/kubeconfig" --authorization-kubeconfig "$RUN/kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$KCM_PORT" --leader-elect=false \
  --controllers "$CONTROLLERS" \
  --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
  --profiling=false
# --- kube-scheduler
spawn kube-scheduler "$BIN/kube-scheduler" \
  --kubeconfig "$RUN/kubeconfig" \
  --authentication-kubeconfig "$RUN/kubeconfig" --authorization-kubeconfig "$RUN/kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$SCHED_PORT" --leader-elect=false --profiling=false
wait_for kube-controller-manager 90 curl -skf "https://127.0.0.1:$KCM_PORT/healthz"
wait_for kube-scheduler 90 curl -skf "https://127.0.0.1:$SCHED_PORT/healthz"

# --- snapshot CRDs, then the chart's cluster objects (no workloads: the processes run here)
"${KUBECTL[@]}" apply --server-side -f "$K8S/crds/" >/dev/null
"${KUBECTL[@]}" wait --for condition=established --timeout=60s \
  crd/volumesnapshotclasses.snapshot.storage.k8s.io crd/volumesnapshots.snapshot.storage.k8s.io \
  crd/volumesnapshotcontents.snapshot.storage.k8s.io >/dev/null
"${KUBECTL[@]}" apply --server-side -f "$REPO/deploy/namespace.yaml" >/dev/null
# keep only ServiceAccounts, RBAC, CSIDriver, StorageClasses and the VolumeSnapshotClass
CHART="$REPO/deploy/iscsi-csi.yaml"
CRDS=(crd/iscsivolumes.iscsi.csi.iscsicsi.org)
if ((POOL_ENGINES > 0)); then
  CHART="$RUN/chart-pool.yaml"
  CRDS+=(crd/iscsiengines.iscsi.csi.iscsicsi.org)
fi
awk -v RS='\n---\n' -v ORS='\n---\n' \
  '/\nkind: (CustomResourceDefinition|ServiceAccount|ClusterRole|ClusterRoleBinding|Role|RoleBinding|CSIDriver|StorageClass|VolumeSnapshotClass)\n/' \
  "$CHART" >"$RUN/chart-objects.yaml"
"${KUBECTL[@]}" apply --server-side -f "$RUN/chart-objects.yaml" >/dev/null
"${KUBECTL[@]}" wait --for condition=established --timeout=60s "${CRDS[@]}" >/dev/null

# --- the node: no kubelet, so the Node, its status and its CSINode are written here (skipped with
# --no-node: the test registers the node-plugin VM itself once it knows its node id).
if [[ "$MODE" == all ]]; then
  ISCSI_CSI_K8S_DIR="$K8S" "$HERE/register-node.sh" "$RUN" "$NODE_NAME" "$NODE_IQN" \
    "$DRIVER/node=$NODE_NAME" >/dev/null
fi

# --- the sidecars talk to the API server as the chart's controller ServiceAccount, so the
# chart's RBAC is what they get.
TOKEN=$("${KUBECTL[@]}" -n "$NAMESPACE" create token iscsi-csi-controller --duration 24h)
cat >"$RUN/sidecars.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "https://127.0.0.1:$API_PORT", certificate-authority: $PKI/ca.crt}
users:
- name: sa
  user: {token: $TOKEN}
contexts:
- name: test
  context: {cluster: test, user: sa, namespace: $NAMESPACE}
current-context: test
KC
chmod 600 "$RUN/sidecars.kubeconfig"

# --- pool mode: the storage nodes (their node plugins would report the zone: --topology-keys)
# and an engine per node, as the chart's engine ServiceAccount.
if ((POOL_ENGINES > 0)); then
  ENGINE_TOKEN=$("${KUBECTL[@]}" -n "$NAMESPACE" create token iscsi-csi-engine --duration 24h)
  sed -e "s|token: .*}|token: $ENGINE_TOKEN}|" "$RUN/sidecars.kubeconfig" >"$RUN/engine.kubeconfig"
  chmod 600 "$RUN/engine.kubeconfig"
  for i in $(seq 0 $((POOL_ENGINES - 1))); do
    zone=${ZONES[$i]}
    node="node-$zone"
    zoned=("$ZONE_KEY=$zone")
    ((KUBELET)) && zoned=()
    ISCSI_CSI_K8S_DIR="$K8S" "$HERE/register-node.sh" "$RUN" "$node" \
      "iqn.2026-11.org.iscsicsi.test:$node" "${zoned[@]}" >/dev/null
    "${KUBECTL[@]}" label node "$node" iscsi.csi.iscsicsi.org/storage-node=true >/dev/null
    start_engine "$i"
  done
fi

start_controller

SC=(--kubeconfig "$RUN/sidecars.kubeconfig" --csi-address "$RUN/csi.sock" --leader-election=false)
CAPACITY=()
if ((POOL_ENGINES > 0)); then
  # the chart's capacity tracking (pool.topologyKeys); no pod owns the objects here
  CAPACITY=(--enable-capacity --capacity-ownerref-level=-1 --capacity-poll-interval=10s)
fi
NAMESPACE="$NAMESPACE" \
supervise csi-provisioner "$BIN/csi-provisioner" "${SC[@]}" --timeout=300s \
  --feature-gates=Topology=true --extra-create-metadata --default-fstype=ext4 \
  --retry-interval-start=1s --retry-interval-max=10s "${CAPACITY[@]}"
supervise csi-attacher "$BIN/csi-attacher" "${SC[@]}" --timeout=60s \
  --retry-interval-start=1s --retry-interval-max=10s
supervise csi-resizer "$BIN/csi-resizer" "${SC[@]}" --timeout=120s \
  --handle-volume-inuse-error=false --retry-interval-start=1s --retry-interval-max=10s
supervise csi-snapshotter "$BIN/csi-snapshotter" "${SC[@]}" --timeout=300s --extra-create-metadata \
  --retry-interval-start=1s --retry-interval-max=10s
# snapshot-controller is a cluster component (its RBAC is not the chart's): admin kubeconfig.
spawn snapshot-controller "$BIN/snapshot-controller" --kubeconfig "$RUN/kubeconfig" \
  --leader-election=false --retry-interval-start=1s --retry-interval-max=10s

sleep 1
for p in "$PIDS"/*.pid; do
  kill -0 "$(cat "$p")" 2>/dev/null || { log "$(basename "$p" .pid) exited; see $LOGS"; false; }
done
trap - ERR
T1=$(date +%s.%N)
log "cluster up in $(awk -v a="$T0" -v b="$T1" 'BEGIN{printf "%.1f", b-a}')s: kubectl --kubeconfig $RUN/kubeconfig"
echo "$RUN/kubeconfig"
