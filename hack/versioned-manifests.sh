#!/usr/bin/env bash
# Writes what a cluster install applies at one Bookstore version, so that
# BOOKSTORE_VERSION changes every tag the cluster pulls:
#   OUTDIR/kustomization.yaml  an overlay of manifests/ with the operator image bookstore-operator:VERSION
#   OUTDIR/bookstore.yaml      manifests/samples/bookstore.yaml with spec.version VERSION
#                              (the services' image bookstore:VERSION and their migration Jobs)
# Used by hack/kind-up.sh and hack/cluster/deploy.sh (kubectl apply -k OUTDIR; -f OUTDIR/bookstore.yaml).
#   hack/versioned-manifests.sh OUTDIR VERSION
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 OUTDIR VERSION" >&2; exit 2; }
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out=$1 version=$2
[[ "$version" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ ]] || { echo "versioned-manifests: '$version' is not an image tag" >&2; exit 2; }
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cat >"$out/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [$(realpath --relative-to="$out" "$root/manifests")]
images: [{name: bookstore-operator, newTag: "$version"}]
YAML
sample="$root/manifests/samples/bookstore.yaml"
grep -q '^  version: ' "$sample" || { echo "versioned-manifests: no spec.version line in $sample" >&2; exit 1; }
sed "s/^  version: .*/  version: \"$version\"/" "$sample" >"$out/bookstore.yaml"
