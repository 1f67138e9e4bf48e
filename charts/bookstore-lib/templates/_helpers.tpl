{{/*
Effective values of a service chart: the chart's own values overlaid with the
non-empty entries of .Values.global.bookstore (set once by the umbrella chart
for everything the four services share: image, redis, kafka, jwt, labels, ...).
*/}}
{{- define "bookstore-lib.values" -}}
{{- $own := fromYaml (toYaml .Values) -}}
{{- $global := dict -}}
{{- if and .Values.global (kindIs "map" .Values.global) -}}
{{- $global = include "bookstore-lib.prune" (.Values.global.bookstore | default dict) | fromYaml -}}
{{- end -}}
{{- toYaml (mustMergeOverwrite $own $global) -}}
{{- end -}}

{{/*
A map without its empty entries ("", null, empty maps and lists), recursively,
as YAML: an empty global entry must leave the service's own value alone
(mergeOverwrite would copy an empty string over it).
*/}}
{{- define "bookstore-lib.prune" -}}
{{- $out := dict -}}
{{- range $k, $v := . -}}
{{- if kindIs "map" $v -}}
{{- $p := include "bookstore-lib.prune" $v | fromYaml -}}
{{- if $p -}}{{- $_ := set $out $k $p -}}{{- end -}}
{{- else if or (kindIs "bool" $v) (kindIs "float64" $v) (kindIs "int64" $v) (kindIs "int" $v) -}}
{{- $_ := set $out $k $v -}}
{{- else if $v -}}
{{- $_ := set $out $k $v -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* Chart name, overridable with nameOverride. */}}
{{- define "bookstore-lib.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Fully qualified name of a chart's objects: fullnameOverride, else the release
name if it already contains the chart name, else <release>-<name>.
Called with (dict "root" $ "name" <name> "override" <fullnameOverride>).
*/}}
{{- define "bookstore-lib.fullnameFor" -}}
{{- if .override -}}
{{- .override | trunc 63 | trimSuffix "-" -}}
{{- else if contains .name .root.Release.Name -}}
{{- .root.Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .root.Release.Name .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "bookstore-lib.fullname" -}}
{{- include "bookstore-lib.fullnameFor" (dict "root" . "name" (include "bookstore-lib.name" .) "override" .Values.fullnameOverride) -}}
{{- end -}}

{{/* Selector labels: stable across versions (selectors are immutable). */}}
{{- define "bookstore-lib.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bookstore-lib.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: api
{{- end -}}

{{/* Labels of every object; commonLabels last so a caller can add its own. */}}
{{- define "bookstore-lib.labels" -}}
{{- $v := include "bookstore-lib.values" . | fromYaml -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "bookstore-lib.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ include "bookstore-lib.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ $v.managedBy | default .Release.Service }}
app.kubernetes.io/part-of: bookstore
{{- with $v.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "bookstore-lib.imageTag" -}}
{{- $v := include "bookstore-lib.values" . | fromYaml -}}
{{- $v.image.tag | default .Chart.AppVersion | toString -}}
{{- end -}}

{{- define "bookstore-lib.image" -}}
{{- $v := include "bookstore-lib.values" . | fromYaml -}}
{{- if $v.image.digest -}}
{{- printf "%s@%s" $v.image.repository $v.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $v.image.repository (include "bookstore-lib.imageTag" .) -}}
{{- end -}}
{{- end -}}

{{/*
One environment variable from a plain value or an existing Secret: the plain
value wins when set; otherwise the Secret key; neither is an error.
Called with (dict "env" NAME "value" <string> "secret" <{name,key}> "what" <path for the error>).
*/}}
{{- define "bookstore-lib.envFrom" -}}
{{- if .value }}
- name: {{ .env }}
  value: {{ .value | toString | quote }}
{{- else if and .secret .secret.name }}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret.name }}
      key: {{ .secret.key }}
{{- else if .required }}
{{- fail (printf "%s: set either the plain value or existingSecret.name" .what) }}
{{- end }}
{{- end -}}

{{/*
The service's environment: the chart's variables (the runtime contract of
docs/architecture.md), then the extra env of the values. An extra variable
with the name of one of the chart's replaces it: a name twice in one
container is refused by server-side apply ("duplicate entries for key").
*/}}
{{- define "bookstore-lib.env" -}}
{{- $v := include "bookstore-lib.values" . | fromYaml -}}
{{- $extra := $v.env | default list -}}
{{- $names := list -}}
{{- range $extra }}{{ $names = append $names .name }}{{ end -}}
{{- $out := list -}}
{{- range (include "bookstore-lib.chartEnv" . | fromYamlArray) }}
{{- if not (has .name $names) }}{{ $out = append $out . }}{{ end }}
{{- end -}}
{{ toYaml (concat $out $extra) }}
{{- end -}}

{{/* The chart's own variables of the service's environment (see bookstore-lib.env). */}}
{{- define "bookstore-lib.chartEnv" -}}
{{- $v := include "bookstore-lib.values" . | fromYaml -}}
- name: BOOKSTORE_HTTP_ADDR
  value: {{ printf ":%v" $v.httpPort | quote }}
- name: BOOKSTORE_LOG_LEVEL
  value: {{ $v.logLevel | quote }}
- name: BOOKSTORE_SHUTDOWN_DELAY
  value: {{ $v.shutdownDelay | quote }}
- name: BOOKSTORE_SHUTDOWN_TIMEOUT
  value: {{ $v.shutdownTimeout | quote }}
{{- include "bookstore-lib.envFrom" (dict "env" "BOOKSTORE_DATABASE_URL" "value" $v.database.url "secret" $v.database.existingSecret "required" true "what" "database") }}
{{- include "bookstore-lib.envFrom" (dict "env" "BOOKSTORE_REDIS_URL" "value" $v.redis.url "secret" $v.redis.existingSecret "required" true "what" "redis") }}
{{- include "bookstore-lib.envFrom" (dict "env" "BOOKSTORE_KAFKA_BROKERS" "value" $v.kafka.brokers "secret" $v.kafka.existingSecret "required" true "what" "kafka") }}
{{- with $v.kafka.securityProtocol }}
- name: BOOKSTORE_KAFKA_SECURITY_PROTOCOL
  value: {{ . | quote }}
{{- end }}
{{- with $v.kafka.sasl }}
{{- with .mechanism }}
- name: BOOKSTORE_KAFKA_SASL_MECHANISM
  value: {{ . | quote }}
{{- end }}
{{- $sec := .existingSecret | default dict }}
{{- include "bookstore-lib.envFrom" (dict "env" "BOOKSTORE_KAFKA_SASL_USERNAME" "value" .username "secret" (dict "name" $sec.name "key" $sec.usernameKey)) }}
{{- include "bookstore-lib.envFrom" (dict "env" "BOOKSTORE_KAFKA_SASL_PASSWORD" "value" .password "secret" (dict "name" $sec.name "key" $sec.passwordKey)) }}
{{- end }}
- name: BOOKSTORE_KAFKA_TOPIC_PARTITIONS
  value: {{ $v.kafka.topicPartitions | quote }}
- name: BOOKSTORE_KAFKA_TOPIC_REPLICATION
  value: {{ $v.kafka.topicReplication | quote }}
- name: BOOKSTORE_JWT_PUBLIC_KEY_FILE
  value: {{ printf "%s/public.pem" $v.jwt.mountPath | quote }}
{{- if $v.jwt.signing }}
- name: BOOKSTORE_JWT_PRIVATE_KEY_FILE
  value: {{ printf "%s/private.pem" $v.jwt.mountPath | quote }}
{{- with $v.jwt.ttl }}
- name: BOOKSTORE_JWT_TTL
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- if and $v.admin $v.admin.existingSecret }}
- name: BOOKSTORE_ADMIN_EMAIL
  valueFrom:
    secretKeyRef:
      name: {{ $v.admin.existingSecret }}
      key: {{ $v.admin.emailKey | default "email" }}
- name: BOOKSTORE_ADMIN_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $v.admin.existingSecret }}
      key: {{ $v.admin.passwordKey | default "password" }}
{{- end }}
{{- with $v.trustedProxies }}
- name: BOOKSTORE_TRUSTED_PROXIES
  value: {{ . | quote }}
{{- end }}
{{- if hasKey $v "inventoryURL" }}
- name: BOOKSTORE_INVENTORY_URL
  value: {{ $v.inventoryURL | default (printf "http://%s:%v" (include "bookstore-lib.fullnameFor" (dict "root" . "name" "inventory")) $v.service.port) | quote }}
{{- end }}
{{- end -}}

{{/* Volumes holding the JWT key(s): the public key always, the private key only for the signer. */}}
{{- define "bookstore-lib.volumes" -}}
{{- $v := include "bookstore-lib.values" . | fromYaml -}}
- name: jwt
  secret:
    secretName: {{ $v.jwt.existingSecret }}
    defaultMode: 0440
    items:
      - key: public.pem
        path: public.pem
{{- if $v.jwt.signing }}
      - key: private.pem
        path: private.pem
{{- end }}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end -}}

{{- define "bookstore-lib.volumeMounts" -}}
{{- $v := include "bookstore-lib.values" . | fromYaml -}}
- name: jwt
  mountPath: {{ $v.jwt.mountPath }}
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* Pod-level scheduling and security shared by the Deployment and the migration Job. */}}
{{- define "bookstore-lib.podCommon" -}}
{{- $v := include "bookstore-lib.values" . | fromYaml -}}
automountServiceAccountToken: false
enableServiceLinks: false
{{- with $v.imagePullSecrets }}
imagePullSecrets:
{{ toYaml . }}
{{- end }}
securityContext:
{{ toYaml $v.podSecurityContext | indent 2 }}
{{- with $v.nodeSelector }}
nodeSelector:
{{ toYaml . | indent 2 }}
{{- end }}
{{- with $v.tolerations }}
tolerations:
{{ toYaml . }}
{{- end }}
{{- with $v.affinity }}
affinity:
{{ toYaml . | indent 2 }}
{{- end }}
{{- end -}}

{{/* Seconds in a Go duration string ("5s", "1m30s", "500ms"), as a float. */}}
{{- define "bookstore-lib.seconds" -}}
{{- $total := 0.0 -}}
{{- range regexFindAll "[0-9.]+(ns|us|ms|s|m|h)" . -1 -}}
{{- $unit := regexFind "(ns|us|ms|s|m|h)$" . -}}
{{- $n := trimSuffix $unit . | float64 -}}
{{- $mult := get (dict "h" 3600.0 "m" 60.0 "s" 1.0 "ms" 0.001 "us" 0.000001 "ns" 0.000000001) $unit -}}
{{- $total = addf $total (mulf $n $mult) -}}
{{- end -}}
{{- $total -}}
{{- end -}}
