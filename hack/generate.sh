#!/usr/bin/env bash
# Generates the operator's code and manifests from the kubebuilder markers:
#   operator/api/v1alpha1/zz_generated.deepcopy.go  (controller-gen object)
#   manifests/crd/bookstore.dev_bookstores.yaml     (controller-gen crd)
#   manifests/rbac/role.yaml                         (controller-gen rbac)
# Usage: hack/generate.sh [output root]   (default: the repository; verify-generated.sh uses a copy)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT}"
CONTROLLER_GEN="$ROOT/bin/controller-gen"
[ -x "$CONTROLLER_GEN" ] || "$ROOT/hack/install-tools.sh" >&2
[ -x "$CONTROLLER_GEN" ] || { echo "generate: $CONTROLLER_GEN missing (hack/install-tools.sh failed)" >&2; exit 1; }

cd "$OUT"
"$CONTROLLER_GEN" object:headerFile="$ROOT/hack/boilerplate.go.txt" paths=./operator/api/...
"$CONTROLLER_GEN" crd paths=./operator/api/... output:crd:artifacts:config=manifests/crd
"$CONTROLLER_GEN" rbac:roleName=bookstore-operator paths=./operator/internal/controller/... output:rbac:artifacts:config=manifests/rbac
# docker-compose.yml's Kafka runs the operator's managed-Kafka start.sh and ACL list (copies).
(cd "$ROOT" && BOOKSTORE_UPDATE_GENERATED="$OUT" go test -count=1 -run '^TestComposeKafkaFiles$' ./operator/internal/render >/dev/null)
