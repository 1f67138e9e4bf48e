#!/usr/bin/env bash
# Builds the two images (`make images`): bookstore:<version> (the services)
# and bookstore-operator:<version>, with Docker or podman (DOCKER=podman).
# The version is the charts' appVersion. docs/images.md explains the images.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
DOCKER="${DOCKER:-docker}"
version="${BOOKSTORE_VERSION:-$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' charts/bookstore/Chart.yaml)}"
# BuildKit (docker buildx, Docker's default builder) adds provenance and SBOM attestation
# manifests, which `kind load docker-image` cannot import on Docker's containerd image store
# (kind#3795): build plain single-platform images. podman builds them plain already.
flags=()
if [ "$(basename "$DOCKER")" = docker ] && "$DOCKER" buildx version >/dev/null 2>&1; then
  flags=(--provenance=false --sbom=false)
fi
"$DOCKER" build "${flags[@]}" -t "bookstore:$version" .
"$DOCKER" build "${flags[@]}" -t "bookstore-operator:$version" --target operator .
echo "built bookstore:$version bookstore-operator:$version"
