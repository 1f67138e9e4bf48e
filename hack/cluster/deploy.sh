#!/usr/bin/env bash
# Bookstore on the running local cluster, as a user installs it: the CRD and
# operator (kubectl apply -k manifests/, the operator image at this version),
# the entry-point controller, the sample, then
# kubectl wait --for=condition=Ready bookstore/demo. Adds BOOKSTORE_URL to
# .cache/cluster/env.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$ROOT/hack/cluster/lib.sh"
cd "$ROOT"
version="${BOOKSTORE_VERSION:-$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' charts/bookstore/Chart.yaml)}"
# the operator and the sample at this version (only the image tags and spec.version change)
overlay="$CL_RUN/overlay"
bash "$ROOT/hack/versioned-manifests.sh" "$overlay" "$version"
SAMPLE="${CLUSTER_SAMPLE:-$overlay/bookstore.yaml}"
# The Gateway API CRDs (GATEWAY_API_VERSION, standard channel) from the module cache, as
# envtest's (internal/testenv.GatewayAPICRDs) and kind-up install them: before the operator,
# which looks for them at start, and before the entry point, which then also serves HTTPRoutes.
gwdir="$(go mod download -json "sigs.k8s.io/gateway-api@v$GATEWAY_API_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')/config/crd/standard"
[ -f "$gwdir/gateway.networking.k8s.io_httproutes.yaml" ] || die "no Gateway API CRDs in $gwdir (go mod download sigs.k8s.io/gateway-api@v$GATEWAY_API_VERSION)"
log "Gateway API v$GATEWAY_API_VERSION CRDs (standard channel)"
kubectl_ apply --server-side -f "$gwdir" >/dev/null
kubectl_ wait --for=condition=Established crd/gatewayclasses.gateway.networking.k8s.io crd/gateways.gateway.networking.k8s.io crd/httproutes.gateway.networking.k8s.io --timeout=60s >/dev/null

log "kubectl apply -k manifests/ (operator bookstore-operator:$version)"
kubectl_ apply -k "$overlay" >/dev/null
kubectl_ wait --for=condition=Established crd/bookstores.bookstore.dev --timeout=60s >/dev/null
kubectl_ -n bookstore-system rollout status deployment/bookstore-operator --timeout=180s >/dev/null ||
  die "the operator did not start (kubectl -n bookstore-system logs deploy/bookstore-operator)"

# The entry point: the Ingress controller beside the cluster (hack/ingress-controller.sh)
# listening on 127.0.0.1:ENTRY_PORT.
if [ -x "$ROOT/hack/ingress-controller.sh" ]; then
  log "entry point on 127.0.0.1:$ENTRY_PORT (hack/ingress-controller.sh)"
  KUBECTL="$KUBECTL_BIN" bash "$ROOT/hack/ingress-controller.sh" start "$ADMIN_KUBECONFIG" "$ENTRY_PORT" >&2
  touch "$CL_RUN/ingress-controller.started"
else
  log "no entry-point controller (hack/ingress-controller.sh) yet: BOOKSTORE_URL is not served"
fi

# metrics-server, for the sample's HorizontalPodAutoscaler (CLUSTER_METRICS_SERVER=0: none)
if [ "${CLUSTER_METRICS_SERVER:-1}" != 0 ]; then
  bash "$ROOT/hack/cluster/metrics-server.sh" start
fi

log "applying $SAMPLE and waiting for Ready (the first start initialises PostgreSQL and Kafka)"
kubectl_ apply -f "$SAMPLE" >/dev/null
if ! kubectl_ wait --for=condition=Ready -f "$SAMPLE" --timeout="${CLUSTER_READY_TIMEOUT:-600s}" >/dev/null; then
  kubectl_ get -f "$SAMPLE" -o yaml | sed -n '/^status:/,$p' >&2
  diagnose
  die "the sample Bookstore did not become Ready"
fi
# the Ingress names a host (no DNS for it here): clients send it as Host
host="$(kubectl_ get -f "$SAMPLE" -o jsonpath='{.spec.ingress.host}')"
{
  echo "BOOKSTORE_URL=http://127.0.0.1:$ENTRY_PORT"
  echo "BOOKSTORE_HOST=$host"
  echo "BOOKSTORE_SAMPLE=$SAMPLE"
} >>"$CL_ENV"
kubectl_ get -f "$SAMPLE" >&2
