{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "roost.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified name: the release name, with the chart name unless it already contains it. */}}
{{- define "roost.fullname" -}}
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

{{- define "roost.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Standard labels (app.kubernetes.io/*). */}}
{{- define "roost.labels" -}}
helm.sh/chart: {{ include "roost.chart" . }}
{{ include "roost.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: roost
{{- end }}

{{/* Labels that select this release's pods; a component label narrows them. */}}
{{- define "roost.selectorLabels" -}}
app.kubernetes.io/name: {{ include "roost.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "roost.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "roost.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "roost.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Whether the web nodes terminate TLS themselves. */}}
{{- define "roost.tlsOn" -}}
{{- if ne .Values.config.tls "off" }}true{{ end }}
{{- end }}

{{- define "roost.dataClaim" -}}
{{- default (printf "%s-data" (include "roost.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}

{{/*
Secrets from the existing Secret, one secretKeyRef each: the URLs are
required (a pod without them does not start), the rest optional.
*/}}
{{- define "roost.secretEnv" -}}
{{- $k := .Values.secret.keys }}
- name: ROOST_DATABASE_URL
  valueFrom:
    secretKeyRef: {name: {{ .Values.secret.name | quote }}, key: {{ $k.databaseURL | quote }}}
- name: ROOST_REDIS_URL
  valueFrom:
    secretKeyRef: {name: {{ .Values.secret.name | quote }}, key: {{ $k.redisURL | quote }}}
{{- range $env, $key := dict "ROOST_ACME_EMAIL" $k.acmeEmail "ROOST_STRIPE_SECRET_KEY" $k.stripeSecretKey "ROOST_STRIPE_WEBHOOK_SECRET" $k.stripeWebhookSecret "ROOST_MEDIA_S3_ACCESS_KEY" $k.s3AccessKey "ROOST_MEDIA_S3_SECRET_KEY" $k.s3SecretKey }}
- name: {{ $env }}
  valueFrom:
    secretKeyRef: {name: {{ $.Values.secret.name | quote }}, key: {{ $key | quote }}, optional: true}
{{- end }}
{{- end }}

{{/* Volumes and mounts shared by web nodes and workers. */}}
{{- define "roost.volumes" -}}
- name: data
{{- if .Values.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ include "roost.dataClaim" . }}
{{- else }}
  emptyDir: {}
{{- end }}
- name: tmp
  emptyDir: {}
{{- end }}

{{- define "roost.volumeMounts" -}}
- name: data
  mountPath: /var/lib/roost
- name: tmp
  mountPath: /tmp
{{- end }}

{{/*
Soft anti-affinity and spread (preferred, never blocking scheduling) unless
the component sets its own. Argument: dict "root" $ "component" "web".
*/}}
{{- define "roost.placement" -}}
{{- $c := index .root.Values .component }}
{{- $sel := merge (dict "app.kubernetes.io/component" .component) (include "roost.selectorLabels" .root | fromYaml) }}
affinity:
{{- if $c.affinity }}
  {{- toYaml $c.affinity | nindent 2 }}
{{- else }}
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- toYaml $sel | nindent 14 }}
{{- end }}
topologySpreadConstraints:
{{- if $c.topologySpreadConstraints }}
  {{- toYaml $c.topologySpreadConstraints | nindent 2 }}
{{- else }}
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- toYaml $sel | nindent 8 }}
{{- end }}
{{- with $c.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
