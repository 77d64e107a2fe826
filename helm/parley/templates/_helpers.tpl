{{/* Names and labels shared by every resource. */}}
{{- define "parley.fullname" -}}
{{- if contains "parley" .Release.Name -}}{{ .Release.Name | trunc 40 | trimSuffix "-" }}{{- else -}}{{ printf "%s-parley" .Release.Name | trunc 40 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "parley.labels" -}}
app.kubernetes.io/part-of: parley
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "parley.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}{{ default (include "parley.fullname" .) .Values.serviceAccount.name }}{{- else -}}{{ default "default" .Values.serviceAccount.name }}{{- end -}}
{{- end -}}

{{/*
The workloads: which image each runs, which secrets and which ports it takes.
Every one scales out: replicas split the Kafka partitions of their consumer
groups, and the work only one may do at a time runs under leases in the log.
*/}}
{{- define "parley.workloads" -}}
history:
  image: history
  grpc: true
  secrets: [mongoUrl, masterKey, tokenSecrets, identitySecrets]
  env:
    PARLEY_HISTORY_GRPC_ADDRESS: "0.0.0.0:{{ .Values.services.history.grpcPort }}"
    PARLEY_HISTORY_HTTP_PORT: "{{ .Values.services.history.httpPort }}"
routing:
  image: routing
  grpc: true
  secrets: [mongoUrl, masterKey, tokenSecrets]
  env:
    PARLEY_ROUTING_GRPC_ADDRESS: "0.0.0.0:{{ .Values.services.routing.grpcPort }}"
    PARLEY_ROUTING_HTTP_PORT: "{{ .Values.services.routing.httpPort }}"
ingress:
  image: ingress
  grpc: false
  public: true
  secrets: [mongoUrl, masterKey, identitySecrets, channels]
  env:
    PARLEY_INGRESS_HTTP_PORT: "{{ .Values.services.ingress.httpPort }}"
availability:
  image: availability
  grpc: true
  secrets: [mongoUrl, masterKey, tokenSecrets]
  env:
    PARLEY_AVAILABILITY_GRPC_ADDRESS: "0.0.0.0:{{ .Values.services.availability.grpcPort }}"
    PARLEY_AVAILABILITY_HTTP_PORT: "{{ .Values.services.availability.httpPort }}"
{{- end -}}

{{- define "parley.secretEnv" -}}
{{- $names := dict "mongoUrl" "PARLEY_MONGO_URL" "masterKey" "PARLEY_MASTER_KEY" "tokenSecrets" "PARLEY_TOKEN_SECRETS" "identitySecrets" "PARLEY_IDENTITY_SECRETS" "channels" "PARLEY_CHANNELS" -}}
{{- range .secrets }}
{{- $ref := index $.root.Values.secrets . }}
- name: {{ index $names . }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.name }}
      key: {{ $ref.key }}
{{- end }}
{{- end -}}

{{/* The Kafka topics Parley uses, with their partitions (dead letters: one). */}}
{{- define "parley.topics" -}}
{{- range (list "conversation" "customer" "identity" "agent" "queue" "targeting" "visitor" "routing" "workspace") }}
- { name: parley.{{ . }}.events, deadLetter: false }
{{- end }}
- { name: parley.conversation.events.dead-letter, deadLetter: true }
- { name: parley.agent.events.dead-letter, deadLetter: true }
- { name: parley.routing.work, deadLetter: false }
# Heartbeats are news for a minute, not history: an hour is kept.
- { name: parley.presence.heartbeats, deadLetter: false, retentionMs: 3600000 }
# Which ingress replica holds which widget connections: news for seconds.
- { name: parley.live.connections, deadLetter: false, retentionMs: 3600000 }
- { name: parley.routing.work.dead-letter, deadLetter: true }
# Accepted webhooks on their way to the log (message text in the clear): a day is kept.
- { name: parley.ingress.inbound, deadLetter: false, retentionMs: 86400000 }
- { name: parley.ingress.inbound.dead-letter, deadLetter: true }
- { name: parley.channel.inbound, deadLetter: false }
- { name: parley.channel.inbound.dead-letter, deadLetter: true }
# Profiles and orders from the brand's systems (personal data in the clear): a week is kept, they are in the log by then.
- { name: parley.customer.context, deadLetter: false, retentionMs: 604800000 }
- { name: parley.customer.context.dead-letter, deadLetter: true }
{{- range (list "sms" "email" "custom") }}
- { name: parley.channel.outbound.{{ . }}, deadLetter: false }
{{- end }}
{{- end -}}
