{{/*
bookstore.routes: the route table (routes.yaml) resolved for this release, as YAML
{routes: [{name, backend, port, paths: [{path, match}], docs: [{path, match}]}]}:
each service's API path and, with docs.enabled, its Swagger UI / OpenAPI paths. The
Ingress and the HTTPRoutes are rendered from this and nothing else.
*/}}
{{- define "bookstore.routes" -}}
{{- $table := .Files.Get "routes.yaml" | fromYaml -}}
{{- $out := list -}}
{{- range $table.services -}}
{{- $sub := index $.Values .name | default dict -}}
{{- $svc := $sub.service | default dict -}}
{{- $docs := list -}}
{{- if $.Values.docs.enabled -}}
{{- $prefix := .docs -}}
{{- range $table.docs -}}
{{- $docs = append $docs (dict "path" (printf "%s%s" $prefix .path) "match" .match) -}}
{{- end -}}
{{- end -}}
{{- $paths := list (dict "path" .api "match" "Prefix") -}}
{{- range .site -}}
{{- $paths = append $paths (dict "path" .path "match" .match) -}}
{{- end -}}
{{- $out = append $out (dict
  "name" .name
  "backend" (include "bookstore-lib.fullnameFor" (dict "root" $ "name" ($sub.nameOverride | default .name) "override" $sub.fullnameOverride))
  "port" ($svc.port | default 8080 | int)
  "paths" $paths
  "docs" $docs) -}}
{{- end -}}
{{- dict "routes" $out | toYaml -}}
{{- end -}}

{{/* bookstore.entryName: the Ingress / HTTPRoute / Gateway name; "-docs" for the docs routes. */}}
{{- define "bookstore.entryName" -}}
{{- include "bookstore-lib.fullnameFor" (dict "root" .root "name" .root.Chart.Name "override" .root.Values.fullnameOverride) | trunc (int (sub 63 (len .suffix))) | trimSuffix "-" -}}{{ .suffix }}
{{- end -}}
