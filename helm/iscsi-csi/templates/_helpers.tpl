{{/* Chart name, truncated to DNS label length. */}}
{{- define "iscsi-csi.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name when it contains the chart name, else release-chart. */}}
{{- define "iscsi-csi.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "iscsi-csi.controllerName" -}}{{ include "iscsi-csi.fullname" . }}-controller{{- end }}
{{- define "iscsi-csi.nodeName" -}}{{ include "iscsi-csi.fullname" . }}-node{{- end }}
{{- define "iscsi-csi.portalServiceName" -}}{{ include "iscsi-csi.fullname" . }}-portal{{- end }}
{{- define "iscsi-csi.engineName" -}}{{ include "iscsi-csi.fullname" . }}-engine{{- end }}

{{/* "true" in pool mode: target engines as a DaemonSet, no embedded engine. */}}
{{- define "iscsi-csi.pool" -}}{{ if eq .Values.engines.mode "pool" }}true{{ end }}{{- end }}

{{/*
TLS of the engines' admin (and replication) API: the engines' key pair (server and client, DNS
SAN engine.iscsi.csi.iscsicsi.org, which clients verify whatever node IP they dial) and the
controller's client key pair (CN controller), each with the CA that signed both.
*/}}
{{- define "iscsi-csi.engineServerName" -}}engine.iscsi.csi.iscsicsi.org{{- end }}
{{- define "iscsi-csi.engineTlsSecret" -}}
{{ .Values.engines.tls.existingSecret | default (printf "%s-tls" (include "iscsi-csi.engineName" .)) }}
{{- end }}
{{- define "iscsi-csi.controllerTlsSecret" -}}
{{ .Values.engines.tls.existingControllerSecret | default (printf "%s-tls" (include "iscsi-csi.controllerName" .)) }}
{{- end }}
{{- define "iscsi-csi.engineTlsDir" -}}/etc/iscsi-csi/tls{{- end }}
{{- define "iscsi-csi.controllerTlsDir" -}}/etc/iscsi-csi/engine-tls{{- end }}

{{/*
A P-256 private key from sprig's genPrivateKey "ecdsa" (SEC 1, "EC PRIVATE KEY") as PKCS#8
("PRIVATE KEY"), the only form the engine's and the controller's TLS (netty) read. SEC 1 of a
P-256 key with its curve and public key is always 121 bytes, so the PKCS#8 wrapping is a fixed
29-byte prefix: SEQUENCE(147) { INTEGER 0, AlgorithmIdentifier { id-ecPublicKey, prime256v1 },
OCTET STRING(121) }.
*/}}
{{- define "iscsi-csi.ecKeyPkcs8" -}}
{{- $sec1 := . | replace "-----BEGIN EC PRIVATE KEY-----" "" | replace "-----END EC PRIVATE KEY-----" "" | nospace | b64dec }}
{{- if ne (len $sec1) 121 }}
{{- fail (printf "internal: a generated P-256 key is %d bytes, not 121" (len $sec1)) }}
{{- end }}
{{- $prefix := b64dec "MIGTAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBHk=" -}}
-----BEGIN PRIVATE KEY-----
{{ regexReplaceAll "(.{64})" (printf "%s%s" $prefix $sec1 | b64enc) "${1}\n" | trimSuffix "\n" }}
-----END PRIVATE KEY-----
{{ end }}

{{/* Labels on every object. */}}
{{- define "iscsi-csi.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "iscsi-csi.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: iscsi-csi
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component (controller, node, test). */}}
{{- define "iscsi-csi.selectorLabels" -}}
app.kubernetes.io/name: {{ include "iscsi-csi.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "iscsi-csi.controllerImage" -}}
{{ .Values.controller.image.repository }}:{{ .Values.controller.image.tag | default .Chart.AppVersion }}
{{- end }}
{{/* The engine image: engines.image, or the controller's image, which carries the engine. */}}
{{- define "iscsi-csi.engineImage" -}}
{{- if .Values.engines.image.repository -}}
{{ .Values.engines.image.repository }}:{{ .Values.engines.image.tag | default .Chart.AppVersion }}
{{- else -}}
{{ include "iscsi-csi.controllerImage" . }}
{{- end }}
{{- end }}
{{- define "iscsi-csi.nodeImage" -}}
{{ .Values.node.image.repository }}:{{ .Values.node.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* kubelet's plugin directory of this driver (the node socket lives there). */}}
{{- define "iscsi-csi.pluginDir" -}}
{{ .Values.node.kubeletDir }}/plugins/{{ .Values.driverName }}
{{- end }}

{{/*
Environment variable that kubelet injects for the portal Service (service links): the
controller advertises $(<NAME>_SERVICE_HOST), the Service's ClusterIP.
*/}}
{{- define "iscsi-csi.portalServiceHostVar" -}}
{{ include "iscsi-csi.portalServiceName" . | upper | replace "-" "_" }}_SERVICE_HOST
{{- end }}

{{/* The address the target advertises in SendTargets discovery and publish_context. */}}
{{- define "iscsi-csi.advertise" -}}
{{- if .Values.portal.advertise -}}
{{ .Values.portal.advertise }}
{{- else if eq .Values.portal.mode "hostNetwork" -}}
$(HOST_IP):{{ .Values.portal.port }}
{{- else -}}
$({{ include "iscsi-csi.portalServiceHostVar" . }}):{{ .Values.portal.port }}
{{- end }}
{{- end }}

{{/* Fail early on values that cannot work. */}}
{{- define "iscsi-csi.validate" -}}
{{- if not (has .Values.portal.mode (list "service" "hostNetwork")) }}
{{- fail (printf "portal.mode must be service or hostNetwork, not %q" .Values.portal.mode) }}
{{- end }}
{{- if not (has .Values.controller.storage.type (list "pvc" "hostPath")) }}
{{- fail (printf "controller.storage.type must be pvc or hostPath, not %q" .Values.controller.storage.type) }}
{{- end }}
{{- if and (eq .Values.controller.storage.type "hostPath") (not .Values.controller.nodeSelector) (not .Values.controller.affinity) }}
{{- fail "controller.storage.type hostPath needs controller.nodeSelector (or affinity) to pin the controller to the node that holds the LUN files" }}
{{- end }}
{{- if not (has .Values.engines.mode (list "embedded" "pool")) }}
{{- fail (printf "engines.mode must be embedded or pool, not %q" .Values.engines.mode) }}
{{- end }}
{{- include "iscsi-csi.validateBackends" . }}
{{- if and .Values.pool.topologyKeys (ne .Values.engines.mode "pool") }}
{{- fail "pool.topologyKeys needs engines.mode pool (the embedded engine serves every node)" }}
{{- end }}
{{- if ne (empty .Values.engines.tls.existingSecret) (empty .Values.engines.tls.existingControllerSecret) }}
{{- fail "engines.tls.existingSecret and engines.tls.existingControllerSecret go together: the engines' and the controller's key pairs, signed by one CA" }}
{{- end }}
{{- $ports := .Values.engines.ports }}
{{- if ne (len (uniq (list (int $ports.portal) (int $ports.admin) (int $ports.replication)))) 3 }}
{{- fail (printf "engines.ports must differ (portal %v, admin %v, replication %v): the engines share their node's network" $ports.portal $ports.admin $ports.replication) }}
{{- end }}
{{- if not .Values.csiDriver.attachRequired }}
{{- fail "csiDriver.attachRequired must be true: ControllerPublishVolume grants the node's initiator" }}
{{- end }}
{{- range .Values.storageClasses }}
{{- $fs := (.parameters | default dict).fsType | default "" }}
{{- if and $fs (not (has $fs (list "ext4" "xfs"))) }}
{{- fail (printf "storageClasses %s: fsType must be ext4 or xfs, not %q" .name $fs) }}
{{- end }}
{{- $params := .parameters | default dict }}
{{- if and .chap (eq (toString ($params.chap | default "true")) "false") }}
{{- fail (printf "storageClasses %s: chap: true (the chart's CHAP Secret) contradicts parameters.chap \"false\"" .name) }}
{{- end }}
{{- if and (eq (toString ($params.chap | default "true")) "false") (eq (toString ($params.mutualChap | default "false")) "true") }}
{{- fail (printf "storageClasses %s: mutualChap needs CHAP; drop parameters.chap \"false\"" .name) }}
{{- end }}
{{- $prov := (.parameters | default dict).provisioning | default "thin" }}
{{- if not (has $prov (list "thin" "thick")) }}
{{- fail (printf "storageClasses %s: provisioning must be thin or thick, not %q" .name $prov) }}
{{- end }}
{{- end }}
{{- if .Values.chap.create }}
{{- if or (not .Values.chap.username) (not .Values.chap.password) }}
{{- fail "chap.create needs chap.username and chap.password" }}
{{- end }}
{{- if or (lt (len .Values.chap.password) 12) (gt (len .Values.chap.password) 16) }}
{{- fail "chap.password must be 12 to 16 characters (open-iscsi and most targets accept that range)" }}
{{- end }}
{{- if and .Values.chap.usernameIn (not .Values.chap.passwordIn) }}
{{- fail "chap.usernameIn needs chap.passwordIn (mutual CHAP)" }}
{{- end }}
{{- if and .Values.chap.passwordIn (eq .Values.chap.passwordIn .Values.chap.password) }}
{{- fail "chap.passwordIn must differ from chap.password (RFC 7143 12.1.3: the secrets of each direction must differ)" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Name prefix of the per-volume CHAP Secrets; the rest is the PV name. */}}
{{- define "iscsi-csi.chapSecretPrefix" -}}{{ include "iscsi-csi.fullname" . }}-chap-{{- end }}

{{/* "true" when a StorageClass (the dict given) turns CHAP off. */}}
{{- define "iscsi-csi.chapOff" -}}
{{- if eq (toString ((.parameters | default dict).chap | default "true")) "false" }}true{{ end }}
{{- end }}

{{/* "true" when any enabled StorageClass turns CHAP off. */}}
{{- define "iscsi-csi.anyChapOff" -}}
{{- range .Values.storageClasses }}{{ if and .enabled (include "iscsi-csi.chapOff" .) }}true{{ end }}{{ end }}
{{- end }}

{{/* "true" when any enabled StorageClass uses the chart's CHAP Secret. */}}
{{- define "iscsi-csi.anyChap" -}}
{{- range .Values.storageClasses }}{{ if and .enabled .chap }}true{{ end }}{{ end }}
{{- end }}

{{/*
NetworkPolicy peers of the nodes' addresses (kernel initiators, kubelet's probes):
networkPolicy.portalFrom, each range without the pod ranges of its address family.
*/}}
{{- define "iscsi-csi.nodeAddresses" -}}
{{- range $cidr := .Values.networkPolicy.portalFrom }}
{{- $v6 := contains ":" $cidr }}
{{- $except := list }}
{{- range $.Values.networkPolicy.podCIDRs }}
{{- if eq $v6 (contains ":" .) }}{{ $except = append $except . }}{{ end }}
{{- end }}
- ipBlock:
    cidr: {{ $cidr | quote }}
    {{- with $except }}
    except:
      {{- range . }}
      - {{ . | quote }}
      {{- end }}
    {{- end }}
{{- end }}
{{- end }}

{{/*
engines.backends: each one's `serve --backend` value, checked here so a wrong entry fails the
render naming it rather than an engine at its start on every storage node.
*/}}
{{- define "iscsi-csi.validateBackends" -}}
{{- $seen := dict }}
{{- range .Values.engines.backends }}
{{- if ne $.Values.engines.mode "pool" }}
{{- fail (printf "engines.backends %s needs engines.mode pool (the embedded engine serves fileio only)" .name) }}
{{- end }}
{{- if hasKey $seen .name }}
{{- fail (printf "engines.backends: the name %s repeats" .name) }}
{{- end }}
{{- $_ := set $seen .name true }}
{{- if eq .type "fileio" }}
{{- if .source }}
{{- fail (printf "engines.backends %s: fileio takes no source (its files go to engines.dataDir)" .name) }}
{{- end }}
{{- else if not .source }}
{{- fail (printf "engines.backends %s: type %s needs a source" .name .type) }}
{{- end }}
{{- if and (eq .type "lvm-thin") (ne (len (splitList "/" .source)) 2) }}
{{- fail (printf "engines.backends %s: lvm-thin's source is VG/POOL, not %q" .name .source) }}
{{- end }}
{{- if and (eq .type "lvm") (contains "/" .source) }}
{{- fail (printf "engines.backends %s: lvm's source is a volume group name, not %q" .name .source) }}
{{- end }}
{{- if and (has .type (list "blockio" "disk")) (not (hasPrefix "/dev/" .source)) }}
{{- fail (printf "engines.backends %s: %s's source is a device under /dev/, not %q" .name .type .source) }}
{{- end }}
{{- if and .thin (ne .type "disk") }}
{{- fail (printf "engines.backends %s: thin applies to type disk only (lvm-thin is thin, lvm and blockio thick)" .name) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The `--backend` value of one engines.backends entry: NAME=TYPE[:SOURCE][,thin]. */}}
{{- define "iscsi-csi.backendFlag" -}}
{{- .name }}={{ .type }}{{ if .source }}:{{ .source }}{{ end }}{{ if .thin }},thin{{ end }}
{{- end }}

{{/* "true" when an engines.backends entry needs block devices (anything but fileio). */}}
{{- define "iscsi-csi.engineNeedsDevices" -}}
{{- range .Values.engines.backends }}{{ if ne .type "fileio" }}true{{ end }}{{ end }}
{{- end }}
