#!/usr/bin/env bash
# Registers a node as kubelet does when it starts and when the driver's node-driver-registrar
# hands it the node plugin's NodeGetInfo: the Node (Ready, the attach/detach annotation, the
# topology labels), its status, and the CSINode with the driver's node id and topology keys.
# Usage: register-node.sh RUN_DIR NODE_NAME NODE_ID [KEY=VALUE ...]   (KEY=VALUE: topology)
#
# The annotation volumes.kubernetes.io/controller-managed-attach-detach is the one kubelet sets
# and without which the attach/detach controller ignores a node.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RUN="${1:?usage: register-node.sh RUN_DIR NODE_NAME NODE_ID [KEY=VALUE ...]}"
NODE_NAME="${2:?node name}"
NODE_ID="${3:?node id}"
shift 3
DRIVER=iscsi.csi.iscsicsi.org
NAME_RE='^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$'
[[ "$NODE_NAME" =~ $NAME_RE ]] || { echo "bad node name: $NODE_NAME" >&2; exit 2; }
[[ "$NODE_ID" =~ ^[A-Za-z0-9.:_-]+$ ]] || { echo "bad node id: $NODE_ID" >&2; exit 2; }
LABELS="kubernetes.io/hostname: $NODE_NAME, kubernetes.io/os: linux"
KEYS=""
for kv in "$@"; do
  [[ "$kv" =~ ^[A-Za-z0-9./_-]+=[A-Za-z0-9._-]+$ ]] || { echo "bad topology: $kv" >&2; exit 2; }
  LABELS="$LABELS, ${kv%%=*}: ${kv#*=}"
  KEYS="${KEYS:+$KEYS, }${kv%%=*}"
done
K8S="${ISCSI_CSI_K8S_DIR:-$("$HERE/build.sh" | tail -1)}"
KUBECTL=("$K8S/bin/kubectl" --kubeconfig "$RUN/kubeconfig")

"${KUBECTL[@]}" apply --server-side -f - >/dev/null <<YAML
apiVersion: v1
kind: Node
metadata:
  name: $NODE_NAME
  labels: {$LABELS}
  annotations:
    volumes.kubernetes.io/controller-managed-attach-detach: "true"
    csi.volume.kubernetes.io/nodeid: '{"$DRIVER":"$NODE_ID"}'
YAML
NOW=$(date -u +%FT%TZ)
"${KUBECTL[@]}" patch node "$NODE_NAME" --subresource=status --type=merge -p "$(cat <<JSON
{"status":{"capacity":{"cpu":"4","memory":"8Gi","pods":"110"},
 "allocatable":{"cpu":"4","memory":"8Gi","pods":"110"},
 "conditions":[{"type":"Ready","status":"True","reason":"KubeletReady",
   "message":"no kubelet: set by register-node.sh","lastHeartbeatTime":"$NOW",
   "lastTransitionTime":"$NOW"}]}}
JSON
)" >/dev/null
# The API server's admission (TaintNodesByCondition) gives a new node the not-ready NoSchedule
# taint; the node-lifecycle controller removes it once the node is Ready. That controller does not
# run here (no kubelet sends heartbeats), so the Ready node loses the taint here, and the
# scheduler can place pods on it.
"${KUBECTL[@]}" patch node "$NODE_NAME" --type=merge -p '{"spec":{"taints":null}}' >/dev/null
NODE_UID=$("${KUBECTL[@]}" get node "$NODE_NAME" -o jsonpath='{.metadata.uid}')
"${KUBECTL[@]}" apply --server-side -f - >/dev/null <<YAML
apiVersion: storage.k8s.io/v1
kind: CSINode
metadata:
  name: $NODE_NAME
  ownerReferences: [{apiVersion: v1, kind: Node, name: $NODE_NAME, uid: $NODE_UID}]
spec:
  drivers:
  - name: $DRIVER
    nodeID: $NODE_ID
    topologyKeys: [$KEYS]
YAML
echo "node $NODE_NAME registered with node id $NODE_ID"
