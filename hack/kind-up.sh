#!/usr/bin/env bash
# `make kind-up`: a kind cluster with the Gateway API CRDs (GATEWAY_API_VERSION), haproxy-ingress
# (HAPROXY_INGRESS_VERSION, deploy/kind/haproxy-ingress.yaml: Ingress class and GatewayClass
# haproxy) and metrics-server, the Bookstore images,
# the operator (kubectl apply -k manifests/) and the sample Bookstore, waited
# for until Ready; BOOKSTORE_VERSION sets the images' tags, the operator's and the
# sample's spec.version (hack/versioned-manifests.sh), KIND_NODE_IMAGE the node image
# (default kindest/node:v$KUBERNETES_VERSION). Needs docker (or podman: DOCKER=podman, which also sets
# KIND_EXPERIMENTAL_PROVIDER=podman) and kubectl; installs kind into bin/ when missing. Undo with hack/kind-down.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=versions.env
source hack/versions.env

CLUSTER="${KIND_CLUSTER_NAME:-bookstore}"
DOCKER="${DOCKER:-docker}"
if [ "$(basename "$DOCKER")" = podman ]; then
	export KIND_EXPERIMENTAL_PROVIDER="${KIND_EXPERIMENTAL_PROVIDER:-podman}"
fi
KUBECTL="${KUBECTL:-kubectl}"
version="${BOOKSTORE_VERSION:-$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' charts/bookstore/Chart.yaml)}"
# The node image of the pinned Kubernetes version (kind's default follows kind's release instead).
NODE_IMAGE="${KIND_NODE_IMAGE:-kindest/node:v$KUBERNETES_VERSION}"
# manifests/ and the sample at this version: BOOKSTORE_VERSION changes every tag the cluster runs.
work="${KIND_WORKDIR:-$root/.cache/kind}"
bash hack/versioned-manifests.sh "$work/manifests" "$version"
SAMPLE="$work/manifests/bookstore.yaml"

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

KIND="${KIND:-$(command -v kind || true)}"
if [ -z "$KIND" ]; then
	KIND="$root/bin/kind"
	if [ ! -x "$KIND" ]; then
		log "installing kind v$KIND_VERSION into bin/"
		GOBIN="$root/bin" go install "sigs.k8s.io/kind@v$KIND_VERSION"
	fi
fi

if "$KIND" get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
	log "kind cluster $CLUSTER exists"
else
	log "creating kind cluster $CLUSTER (kind-config.yaml, $NODE_IMAGE)"
	"$KIND" create cluster --name "$CLUSTER" --config kind-config.yaml --image "$NODE_IMAGE" --wait 120s
fi
ctx=(--context "kind-$CLUSTER")

# The entry point: haproxy-ingress serves the sample's Ingress and HTTPRoutes alike (the
# same controller the real-node e2e runs, hack/ingress-controller.sh). The Gateway API CRDs
# first: its GatewayClass is one of them, and the controller watches Gateway API objects.
log "installing the Gateway API v$GATEWAY_API_VERSION CRDs (standard channel)"
"$KUBECTL" "${ctx[@]}" apply --server-side -f "https://github.com/kubernetes-sigs/gateway-api/releases/download/v$GATEWAY_API_VERSION/standard-install.yaml"
"$KUBECTL" "${ctx[@]}" wait --for=condition=Established crd/gatewayclasses.gateway.networking.k8s.io crd/httproutes.gateway.networking.k8s.io --timeout=60s
log "installing haproxy-ingress v$HAPROXY_INGRESS_VERSION"
"$KUBECTL" "${ctx[@]}" apply -f deploy/kind/haproxy-ingress.yaml

# The sample autoscales the order service: the HorizontalPodAutoscaler needs
# CPU metrics, which kind does not serve without metrics-server. kind's
# kubelets have self-signed serving certificates, hence --kubelet-insecure-tls.
log "installing metrics-server v$METRICS_SERVER_VERSION"
"$KUBECTL" "${ctx[@]}" apply -f "https://github.com/kubernetes-sigs/metrics-server/releases/download/v$METRICS_SERVER_VERSION/components.yaml"
if ! "$KUBECTL" "${ctx[@]}" -n kube-system get deployment metrics-server \
	-o jsonpath='{.spec.template.spec.containers[0].args}' | grep -q -- --kubelet-insecure-tls; then
	"$KUBECTL" "${ctx[@]}" -n kube-system patch deployment metrics-server --type=json \
		-p '[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--kubelet-insecure-tls"}]'
fi

log "building the images"
DOCKER="$DOCKER" BOOKSTORE_VERSION="$version" hack/images.sh
images=("bookstore:$version" "bookstore-operator:$version")
log "loading ${images[*]} into the cluster"
if [ "$(basename "$DOCKER")" = docker ]; then
	"$KIND" load docker-image --name "$CLUSTER" "${images[@]}"
else
	# `kind load docker-image` always runs the docker CLI, so save with $DOCKER
	# and load the archives. podman names a local image localhost/<name>, which
	# the kubelet would not match with the pods' "bookstore:<version>"
	# (docker.io/library/bookstore:<version>): save it under the full name, one
	# image per archive (`podman save a b` would save a tagged b).
	archives="$(mktemp -d)"
	for img in "${images[@]}"; do
		"$DOCKER" tag "$img" "docker.io/library/$img"
		"$DOCKER" save -o "$archives/${img%%:*}.tar" "docker.io/library/$img"
		"$KIND" load image-archive --name "$CLUSTER" "$archives/${img%%:*}.tar"
	done
	rm -rf "$archives"
fi

# The Deployment's rollout, not `kubectl wait pod -l ...`, which fails at once
# while the controller pod does not exist yet.
"$KUBECTL" "${ctx[@]}" -n haproxy-ingress rollout status daemonset/haproxy-ingress --timeout=300s

log "installing the operator (kubectl apply -k manifests/, bookstore-operator:$version)"
"$KUBECTL" "${ctx[@]}" apply -k "$work/manifests"
"$KUBECTL" "${ctx[@]}" wait --for=condition=Established crd/bookstores.bookstore.dev --timeout=60s
"$KUBECTL" "${ctx[@]}" -n bookstore-system rollout status deployment/bookstore-operator --timeout=300s

log "applying manifests/samples/bookstore.yaml (spec.version $version) and waiting for Ready"
"$KUBECTL" "${ctx[@]}" apply -f "$SAMPLE"
"$KUBECTL" "${ctx[@]}" wait --for=condition=Ready -f "$SAMPLE" --timeout=20m

url="$("$KUBECTL" "${ctx[@]}" get -f "$SAMPLE" -o jsonpath='{.status.url}' 2>/dev/null || true)"
url="${url:-http://localhost/}"
url="${url%/}"
log "Bookstore is ready: $url/ (try curl $url/api/books; Swagger UI under $url/docs/<service>/swagger/)"
"$KUBECTL" "${ctx[@]}" get -f "$SAMPLE"
