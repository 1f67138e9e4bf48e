#!/usr/bin/env bash
# metrics-server (METRICS_SERVER_VERSION, sigs.k8s.io/metrics-server from the Go module proxy:
# its release image cannot be pulled here) beside the running node as a host process on
# NODE_IP:METRICS_SERVER_PORT, registered as the APIService v1beta1.metrics.k8s.io through a
# selectorless Service whose endpoint is the node IP (the API server routes to endpoints:
# --enable-aggregator-routing). It scrapes the kubelet's /metrics/resource, so
# `kubectl top` and the HorizontalPodAutoscalers work. make cluster-down stops it.
#   hack/cluster/metrics-server.sh build   # .cache/metrics-server/<version>/metrics-server (cached)
#   hack/cluster/metrics-server.sh start   # on the running cluster; waits until metrics are served
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$ROOT/hack/cluster/lib.sh"
: "${METRICS_SERVER_VERSION:?METRICS_SERVER_VERSION missing from hack/versions.env}"
OUT="$CACHE/metrics-server/$METRICS_SERVER_VERSION"
BIN="$OUT/metrics-server"

build() {
  [ -x "$BIN" ] && return
  need go "the Go toolchain builds metrics-server"
  log "building metrics-server v$METRICS_SERVER_VERSION (go install, module proxy)"
  mkdir -p "$OUT"
  (cd "$OUT" && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 GOBIN="$OUT" \
    go install "sigs.k8s.io/metrics-server/cmd/metrics-server@v$METRICS_SERVER_VERSION")
}

start_ms() {
  build
  mkdir -p "$CL_RUN/metrics-server"
  start metrics-server "$BIN" --kubeconfig "$ADMIN_KUBECONFIG" \
    --authentication-kubeconfig "$ADMIN_KUBECONFIG" --authorization-kubeconfig "$ADMIN_KUBECONFIG" \
    --bind-address "$NODE_IP" --secure-port "$METRICS_SERVER_PORT" --cert-dir "$CL_RUN/metrics-server" \
    --kubelet-insecure-tls --kubelet-preferred-address-types InternalIP --metric-resolution 15s
  kubectl_ apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Service
metadata: {name: metrics-server, namespace: kube-system, labels: {app.kubernetes.io/name: metrics-server}}
spec: {ports: [{name: https, port: 443, targetPort: $METRICS_SERVER_PORT, protocol: TCP}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: metrics-server, namespace: kube-system}
subsets: [{addresses: [{ip: "$NODE_IP"}], ports: [{name: https, port: $METRICS_SERVER_PORT, protocol: TCP}]}]
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.metrics.k8s.io}
spec:
  service: {name: metrics-server, namespace: kube-system, port: 443}
  group: metrics.k8s.io
  version: v1beta1
  insecureSkipTLSVerify: true
  groupPriorityMinimum: 100
  versionPriority: 100
YAML
  until_ok 180 "metrics.k8s.io serving node metrics (see $CL_LOGS/metrics-server.log)" \
    kubectl_ get --raw "/apis/metrics.k8s.io/v1beta1/nodes/$NODE_NAME"
  log "metrics-server v$METRICS_SERVER_VERSION serves metrics.k8s.io ($NODE_IP:$METRICS_SERVER_PORT)"
}

case "${1:-}" in
build) build ;;
start) start_ms ;;
*) die "usage: hack/cluster/metrics-server.sh build|start" ;;
esac
