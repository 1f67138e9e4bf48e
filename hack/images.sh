#!/usr/bin/env bash
# Builds the two images (`make images`): bookstore:<version> (the services)
# and bookstore-operator:<version>, with Docker or podman (DOCKER=podman).
# The version is the charts' appVersion. docs/images.md explains the images.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
DOCKER="${DOCKER:-docker}"
version="${BOOKSTORE_VERSION:-$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' charts/bookstore/Chart.yaml)}"
"$DOCKER" build -t "bookstore:$version" .
"$DOCKER" build -t "bookstore-operator:$version" --target operator .
echo "built bookstore:$version bookstore-operator:$version"
