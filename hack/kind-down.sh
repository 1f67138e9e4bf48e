#!/usr/bin/env bash
# `make kind-down`: deletes the kind cluster hack/kind-up.sh created.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER="${KIND_CLUSTER_NAME:-bookstore}"
if [ "$(basename "${DOCKER:-docker}")" = podman ]; then
	export KIND_EXPERIMENTAL_PROVIDER="${KIND_EXPERIMENTAL_PROVIDER:-podman}"
fi
KIND="${KIND:-$(command -v kind || echo "$root/bin/kind")}"
"$KIND" delete cluster --name "$CLUSTER"
