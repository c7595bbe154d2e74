{{/*
The webhook receiver's names and labels. Its pods carry another app.kubernetes.io/name than the
controller's (`<name>-webhooks`): the controller's Deployment, Service and NetworkPolicy select
on name and instance, and must never pick up a receiver pod.
*/}}
{{- define "launchplane.webhooks.fullname" -}}
{{- printf "%s-webhooks" (include "launchplane.fullname" . | trunc 54 | trimSuffix "-") }}
{{- end }}

{{- define "launchplane.webhooks.selectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-webhooks" (include "launchplane.name" . | trunc 54 | trimSuffix "-") }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "launchplane.webhooks.labels" -}}
helm.sh/chart: {{ include "launchplane.chart" . }}
{{ include "launchplane.webhooks.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: webhooks
app.kubernetes.io/part-of: launchplane
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "launchplane.webhooks.serviceAccountName" -}}
{{- if .Values.webhooks.serviceAccount.create }}
{{- default (include "launchplane.webhooks.fullname" .) .Values.webhooks.serviceAccount.name }}
{{- else }}
{{- required "webhooks.serviceAccount.name is required when webhooks.serviceAccount.create is false" .Values.webhooks.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding the resync's GitHub token: its own name, else the webhook secret's. */}}
{{- define "launchplane.webhooks.tokenSecretName" -}}
{{- default .Values.webhooks.githubSecret.name .Values.webhooks.resync.tokenSecret.name }}
{{- end }}

{{/*
The receiver's rights where it serves (the ClusterRole, or the Role in watchNamespace); the
calls are in controller/src/webhooks/store.rs:
  - products: list (the Products naming a repository); get for kubectl-style reads;
  - previews: list (a namespace's Previews, to decide), create, patch (server-side apply over
    the object decided on) and delete (with a uid precondition). It never updates (PUT) or
    watches, and it only patches or deletes Previews labelled as its own: RBAC cannot express
    a label, the decision in launchplane_core::pull_request does;
  - providerconfigs: get (the notification's token reference), patch (the poll-requested
    annotation, a merge patch);
  - secrets: get, only by the names in webhooks.notificationTokenSecrets (the Dokploy
    notification tokens, in the ProviderConfigs' namespaces).
*/}}
{{- define "launchplane.webhooks.rules" -}}
- apiGroups: ["launchplane.dev"]
  resources: ["products"]
  verbs: ["get", "list"]
- apiGroups: ["launchplane.dev"]
  resources: ["previews"]
  verbs: ["get", "list", "create", "patch", "delete"]
- apiGroups: ["launchplane.dev"]
  resources: ["providerconfigs"]
  verbs: ["get", "patch"]
{{- with .Values.webhooks.notificationTokenSecrets }}
- apiGroups: [""]
  resources: ["secrets"]
  resourceNames: {{ toJson (uniq .) }}
  verbs: ["get"]
{{- end }}
{{- end }}

{{/* The receiver's own Secrets (release namespace), by name. */}}
{{- define "launchplane.webhooks.ownSecrets" -}}
{{- $names := list .Values.webhooks.githubSecret.name }}
{{- if .Values.webhooks.resync.intervalSeconds }}
{{- $names = append $names (include "launchplane.webhooks.tokenSecretName" .) }}
{{- end }}
{{- toJson (uniq $names) }}
{{- end }}
