{{/* The service's Deployment. Without autoscaling it owns .spec.replicas; with autoscaling the HPA does and the field is left out. */}}
{{- define "bookstore-lib.deployment" -}}
{{- $v := include "bookstore-lib.values" . | fromYaml -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "bookstore-lib.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "bookstore-lib.labels" . | nindent 4 }}
spec:
  {{- if not $v.autoscaling.enabled }}
  replicas: {{ $v.replicaCount }}
  {{- end }}
  revisionHistoryLimit: {{ $v.revisionHistoryLimit }}
  selector:
    matchLabels:
      {{- include "bookstore-lib.selectorLabels" . | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  template:
    metadata:
      labels:
        {{- include "bookstore-lib.labels" . | nindent 8 }}
        app.kubernetes.io/component: api
        {{- with $v.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- if or $v.podAnnotations $v.metrics.scrapeAnnotations }}
      annotations:
        {{- if $v.metrics.scrapeAnnotations }}
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ $v.httpPort | quote }}
        prometheus.io/path: /metrics
        {{- end }}
        {{- with $v.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- end }}
    spec:
      {{- include "bookstore-lib.podCommon" . | nindent 6 }}
      {{- $budget := addf (include "bookstore-lib.seconds" $v.shutdownDelay | float64) (include "bookstore-lib.seconds" $v.shutdownTimeout | float64) }}
      {{- if le (float64 $v.terminationGracePeriodSeconds) $budget }}
      {{- fail (printf "terminationGracePeriodSeconds (%v) must exceed shutdownDelay + shutdownTimeout (%vs): the kubelet would kill the pod mid-drain" $v.terminationGracePeriodSeconds $budget) }}
      {{- end }}
      terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
      {{- with $v.topologySpreadConstraints }}
      topologySpreadConstraints:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ $v.component }}
          image: {{ include "bookstore-lib.image" . | quote }}
          imagePullPolicy: {{ $v.image.pullPolicy }}
          {{- if not $v.useImageEntrypoint }}
          command: [{{ printf "/usr/local/bin/%s" $v.component | quote }}]
          {{- end }}
          ports:
            - name: http
              containerPort: {{ $v.httpPort }}
              protocol: TCP
          env:
            {{- include "bookstore-lib.env" . | nindent 12 }}
          {{- with $v.envFrom }}
          envFrom:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          startupProbe:
            httpGet:
              path: /healthz
              port: http
            periodSeconds: 2
            failureThreshold: 60
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
            periodSeconds: 10
            timeoutSeconds: 2
            failureThreshold: 3
          readinessProbe:
            httpGet:
              path: /readyz
              port: http
            periodSeconds: 5
            timeoutSeconds: 2
            failureThreshold: 2
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          securityContext:
            {{- toYaml $v.securityContext | nindent 12 }}
          volumeMounts:
            {{- include "bookstore-lib.volumeMounts" . | nindent 12 }}
      volumes:
        {{- include "bookstore-lib.volumes" . | nindent 8 }}
{{- end -}}

{{- define "bookstore-lib.service" -}}
{{- $v := include "bookstore-lib.values" . | fromYaml -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "bookstore-lib.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "bookstore-lib.labels" . | nindent 4 }}
  {{- with $v.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ $v.service.type }}
  selector:
    {{- include "bookstore-lib.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ $v.service.port }}
      targetPort: http
      protocol: TCP
{{- end -}}

{{- define "bookstore-lib.hpa" -}}
{{- $v := include "bookstore-lib.values" . | fromYaml -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "bookstore-lib.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "bookstore-lib.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "bookstore-lib.fullname" . }}
  minReplicas: {{ $v.autoscaling.minReplicas }}
  maxReplicas: {{ $v.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $v.autoscaling.targetCPUUtilizationPercentage }}
    {{- with $v.autoscaling.targetMemoryUtilizationPercentage }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ . }}
    {{- end }}
{{- end -}}

{{- define "bookstore-lib.pdb" -}}
{{- $v := include "bookstore-lib.values" . | fromYaml -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "bookstore-lib.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "bookstore-lib.labels" . | nindent 4 }}
spec:
  {{- if $v.pdb.maxUnavailable }}
  maxUnavailable: {{ $v.pdb.maxUnavailable }}
  {{- else }}
  minAvailable: {{ $v.pdb.minAvailable }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "bookstore-lib.selectorLabels" . | nindent 6 }}
{{- end -}}

{{/*
The migration Job: `<service> migrate`. By default a Helm hook run before
install and upgrade; with migration.hook=false a plain Job named
<fullname>-<migration.nameSuffix> (the operator: one Job per version).
*/}}
{{- define "bookstore-lib.migration" -}}
{{- $v := include "bookstore-lib.values" . | fromYaml -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ printf "%s-%s" (include "bookstore-lib.fullname" .) $v.migration.nameSuffix | trunc 63 | trimSuffix "-" }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "bookstore-lib.labels" . | nindent 4 }}
    app.kubernetes.io/component: migration
  {{- if $v.migration.hook }}
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-weight: "0"
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
  {{- end }}
spec:
  backoffLimit: {{ $v.migration.backoffLimit }}
  activeDeadlineSeconds: {{ $v.migration.activeDeadlineSeconds }}
  {{- if kindIs "float64" $v.migration.ttlSecondsAfterFinished }}
  ttlSecondsAfterFinished: {{ $v.migration.ttlSecondsAfterFinished }}
  {{- end }}
  template:
    metadata:
      labels:
        {{- include "bookstore-lib.labels" . | nindent 8 }}
        app.kubernetes.io/component: migration
    spec:
      {{- include "bookstore-lib.podCommon" . | nindent 6 }}
      restartPolicy: Never
      containers:
        - name: migrate
          image: {{ include "bookstore-lib.image" . | quote }}
          imagePullPolicy: {{ $v.image.pullPolicy }}
          command: [{{ printf "/usr/local/bin/%s" $v.component | quote }}, "migrate"]
          env:
            {{- include "bookstore-lib.env" . | nindent 12 }}
          {{- with $v.envFrom }}
          envFrom:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          resources:
            {{- toYaml ($v.migration.resources | default $v.resources) | nindent 12 }}
          securityContext:
            {{- toYaml $v.securityContext | nindent 12 }}
          volumeMounts:
            {{- include "bookstore-lib.volumeMounts" . | nindent 12 }}
      volumes:
        {{- include "bookstore-lib.volumes" . | nindent 8 }}
{{- end -}}

{{/* Everything a service chart renders; each service chart's only template includes this. */}}
{{- define "bookstore-lib.all" -}}
{{- $v := include "bookstore-lib.values" . | fromYaml -}}
{{- if $v.migration.enabled }}
---
{{ include "bookstore-lib.migration" . }}
{{- end }}
{{- if $v.deployment.enabled }}
---
{{ include "bookstore-lib.service" . }}
---
{{ include "bookstore-lib.deployment" . }}
{{- if $v.autoscaling.enabled }}
---
{{ include "bookstore-lib.hpa" . }}
{{- end }}
{{- if $v.pdb.enabled }}
---
{{ include "bookstore-lib.pdb" . }}
{{- end }}
{{- end }}
{{- end -}}
