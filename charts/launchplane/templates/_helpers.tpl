{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "launchplane.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: the release name, unless it already holds the chart name. */}}
{{- define "launchplane.fullname" -}}
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

{{- define "launchplane.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "launchplane.selectorLabels" -}}
app.kubernetes.io/name: {{ include "launchplane.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "launchplane.labels" -}}
helm.sh/chart: {{ include "launchplane.chart" . }}
{{ include "launchplane.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: controller
app.kubernetes.io/part-of: launchplane
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "launchplane.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "launchplane.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository@digest when a digest is set, else repository:tag (tag defaults to appVersion). */}}
{{- define "launchplane.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* "true" when the controller must elect a leader: several replicas, or forced on. */}}
{{- define "launchplane.leaderElection" -}}
{{- if or (gt (int .Values.replicaCount) 1) .Values.leaderElection.enabled }}true{{ end }}
{{- end }}

{{/*
The controller's permissions on its own kinds and on what it reads, shared by the ClusterRole
(whole cluster) and the Role (watchNamespace). Leases are granted separately, in the release
namespace only. Per kind:
  - read only (spec written by users or GitOps): providerconfigs, providertargets, products,
    lanes, promotions, artifacts, backupgates, approvals, databootstraps, notificationpolicies;
  - previews: also patch/update, to add and remove the teardown finalizer, and delete, for
    previews whose spec.ttl has passed;
  - runtimeidentities, deploymentrecords: children the controller creates, applies (SSA patch)
    and deletes (old DeploymentRecords beyond retention);
  - every kind: /status get/patch/update;
  - owners of children or finalizers (lanes, previews, promotions): /finalizers update, which
    ownerReferences with blockOwnerDeletion need;
  - secrets and configmaps: read only (Dokploy API keys, lane runtime env refs);
  - events.k8s.io events: create, and patch for kube's Recorder event series.
*/}}
{{- define "launchplane.rules" -}}
- apiGroups: ["launchplane.dev"]
  resources:
    - providerconfigs
    - providertargets
    - products
    - lanes
    - artifacts
    - backupgates
    - approvals
    - databootstraps
    - notificationpolicies
  verbs: ["get", "list", "watch"]
# Promotions: created by the controller for lanes with promotion.auto.
- apiGroups: ["launchplane.dev"]
  resources: ["promotions"]
  verbs: ["get", "list", "watch", "create"]
- apiGroups: ["launchplane.dev"]
  resources: ["previews"]
  verbs: ["get", "list", "watch", "patch", "update", "delete"]
- apiGroups: ["launchplane.dev"]
  resources: ["runtimeidentities", "deploymentrecords"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
# Incidents: written by the controller only (created when a failure starts, deleted when a
# pending one clears before it opens).
- apiGroups: ["launchplane.dev"]
  resources: ["incidents"]
  verbs: ["get", "list", "watch", "create", "delete"]
- apiGroups: ["launchplane.dev"]
  resources:
    - providerconfigs/status
    - providertargets/status
    - products/status
    - lanes/status
    - previews/status
    - runtimeidentities/status
    - artifacts/status
    - deploymentrecords/status
    - promotions/status
    - backupgates/status
    - approvals/status
    - incidents/status
    - databootstraps/status
    - notificationpolicies/status
  verbs: ["get", "patch", "update"]
- apiGroups: ["launchplane.dev"]
  resources: ["lanes/finalizers", "previews/finalizers", "promotions/finalizers"]
  verbs: ["update"]
- apiGroups: [""]
  resources: ["secrets", "configmaps"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/*
The approval admission policy and its binding share this name. Both are cluster-scoped, so the
release namespace is part of it: two namespace-mode installs with the same release name in
different namespaces must not claim the same object.
*/}}
{{- define "launchplane.approvalPolicyName" -}}
{{- printf "%s-%s-approver-is-creator" (include "launchplane.fullname" .) .Release.Namespace | trunc 253 | trimSuffix "-" }}
{{- end }}
