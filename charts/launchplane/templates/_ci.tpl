{{/*
CI identity: GitHub Actions OIDC tokens authenticated by the API server (structured
authentication configuration) and authorized by RBAC (ciGrants). docs/ci-identity.md.

Names, with P the prefix (ciIdentity.prefix, "github-actions:" by default) and W the workflow
file qualified by its repository ("acme/shop/.github/workflows/deploy.yml"):
  user name  P + workflow_ref          github-actions:acme/shop/.github/workflows/deploy.yml@refs/heads/main
  groups     P repository:<repository>  any workflow of the repository
             P workflow:W               that workflow, any ref
             P workflow:W@<ref>         that workflow on that ref
             P workflow:W:environment:<environment>          (jobs with an environment only)
             P workflow:W@<ref>:environment:<environment>
A grant binds the one group that says exactly what it requires. The names cannot be forged
from another workflow's claims: W is checked to hold neither '@' nor ':' (a token whose
workflow path holds one is refused), git refs hold no ':', repository names neither '@' nor
':', and the environment comes last.
*/}}

{{/* ciIdentity.prefix, refused when it would reach the API server's own system: names. */}}
{{- define "launchplane.ciPrefix" -}}
{{- $p := .Values.ciIdentity.prefix -}}
{{- if hasPrefix "system:" $p -}}
{{- fail (printf "ciIdentity.prefix %q starts with \"system:\", which Kubernetes reserves for its own users and groups (system:masters is cluster-admin): choose another, e.g. \"github-actions:\"" $p) -}}
{{- end -}}
{{- $p -}}
{{- end }}

{{/* The RBAC group a ciGrants entry binds: dict "grant" <entry> "prefix" <prefix>. */}}
{{- define "launchplane.ciGrantGroup" -}}
{{- $g := .grant -}}
{{- $group := printf "%sworkflow:%s/%s" .prefix $g.repository $g.workflow -}}
{{- if $g.ref }}{{ $group = printf "%s@%s" $group $g.ref }}{{ end -}}
{{- if $g.environment }}{{ $group = printf "%s:environment:%s" $group $g.environment }}{{ end -}}
{{- $group -}}
{{- end }}

{{/* Labels and annotations of a grant's Role and RoleBinding: dict "root" $ "grant" <entry>. */}}
{{- define "launchplane.ciGrantMeta" -}}
{{- $g := .grant -}}
labels:
  helm.sh/chart: {{ include "launchplane.chart" .root }}
  {{- include "launchplane.selectorLabels" .root | nindent 2 }}
  app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
  app.kubernetes.io/component: ci-grant
  app.kubernetes.io/part-of: launchplane
  app.kubernetes.io/managed-by: {{ .root.Release.Service }}
annotations:
  launchplane.dev/ci-repository: {{ $g.repository | quote }}
  launchplane.dev/ci-workflow: {{ $g.workflow | quote }}
  {{- with $g.ref }}
  launchplane.dev/ci-ref: {{ . | quote }}
  {{- end }}
  {{- with $g.environment }}
  launchplane.dev/ci-environment: {{ . | quote }}
  {{- end }}
{{- end }}

{{/*
The GitHub owners whose tokens may authenticate, as a JSON list (also a CEL list literal):
ciIdentity.repositoryOwners, or the owners of the ciGrants' repositories. Fails when a grant
names a repository whose owner is not allowed (its tokens could never authenticate).
*/}}
{{- define "launchplane.ciOwners" -}}
{{- $owners := .Values.ciIdentity.repositoryOwners | default list -}}
{{- $derived := list -}}
{{- range $i, $g := .Values.ciGrants -}}
{{- $owner := first (splitList "/" $g.repository) -}}
{{- if and $owners (not (has $owner $owners)) -}}
{{- fail (printf "ciGrants[%d].repository %q: its owner %q is not in ciIdentity.repositoryOwners %v, so its tokens could never authenticate; add %q to ciIdentity.repositoryOwners or fix the repository" $i $g.repository $owner $owners $owner) -}}
{{- end -}}
{{- $derived = append $derived $owner -}}
{{- end -}}
{{- $owners | default ($derived | uniq) | toJson -}}
{{- end }}

{{/* W from the claims: workflow_ref without its "@<ref>" suffix. Valid only when workflow_ref ends with "@" + ref. */}}
{{- define "launchplane.ciWorkflowExpr" -}}
claims.workflow_ref.substring(0, size(claims.workflow_ref) - size(claims.ref) - 1)
{{- end }}

{{/* The AuthenticationConfiguration for kube-apiserver --authentication-config. */}}
{{- define "launchplane.ciAuthenticationConfig" -}}
{{- $ci := .Values.ciIdentity -}}
{{- $p := include "launchplane.ciPrefix" . -}}
{{- $owners := include "launchplane.ciOwners" . -}}
{{- if eq $owners "[]" -}}
{{- fail "ciIdentity.enabled is true, but ciIdentity.repositoryOwners is empty and no ciGrants name a repository: set ciIdentity.repositoryOwners to the GitHub organizations or users whose workflows may authenticate" -}}
{{- end -}}
{{- $w := include "launchplane.ciWorkflowExpr" . -}}
{{- $shape := "claims.workflow_ref.endsWith('@' + claims.ref)" -}}
{{- $env := "(has(claims.environment) ? ':environment:' + claims.environment : '')" -}}
apiVersion: {{ $ci.apiVersion }}
kind: AuthenticationConfiguration
jwt:
  - issuer:
      url: {{ $ci.issuer.url | quote }}
      audiences:
        {{- toYaml $ci.audiences | nindent 8 }}
      audienceMatchPolicy: MatchAny
      {{- with $ci.issuer.certificateAuthority }}
      certificateAuthority: |
        {{- . | trim | nindent 8 }}
      {{- end }}
    # Refused (401) before RBAC is asked, with these messages in the API server's log.
    claimValidationRules:
      - expression: "claims.repository_owner in {{ $owners | replace "\"" "'" }}"
        message: "the token's repository_owner is not one of the owners allowed by ciIdentity.repositoryOwners"
      - expression: "claims.workflow_ref.startsWith(claims.repository + '/.github/workflows/') && {{ $shape }}"
        message: "workflow_ref is not <repository>/.github/workflows/<file>@<ref>"
      - expression: "!({{ $shape }}) || !({{ $w }}.contains('@') || {{ $w }}.contains(':'))"
        message: "the workflow file's path holds '@' or ':', which would make the group names ambiguous"
    claimMappings:
      username:
        expression: "'{{ $p }}' + claims.workflow_ref"
      # Empty when workflow_ref has an unexpected shape; the validation rule above then refuses the token.
      groups:
        expression: >-
          {{ $shape }} ? [
          '{{ $p }}repository:' + claims.repository,
          '{{ $p }}workflow:' + {{ $w }},
          '{{ $p }}workflow:' + {{ $w }} + '@' + claims.ref
          ] + (has(claims.environment) ? [
          '{{ $p }}workflow:' + {{ $w }} + ':environment:' + claims.environment,
          '{{ $p }}workflow:' + {{ $w }} + '@' + claims.ref + ':environment:' + claims.environment
          ] : []) : []
      # For the audit log: which run, commit, person and reusable workflow made the request.
      extra:
        - key: launchplane.dev/github-run-id
          valueExpression: "has(claims.run_id) ? string(claims.run_id) : ''"
        - key: launchplane.dev/github-sha
          valueExpression: "has(claims.sha) ? claims.sha : ''"
        - key: launchplane.dev/github-actor
          valueExpression: "has(claims.actor) ? claims.actor : ''"
        - key: launchplane.dev/github-event
          valueExpression: "has(claims.event_name) ? claims.event_name : ''"
        - key: launchplane.dev/github-job-workflow-ref
          valueExpression: "has(claims.job_workflow_ref) ? claims.job_workflow_ref : ''"
{{- end }}
