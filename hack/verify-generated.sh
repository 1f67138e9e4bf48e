#!/usr/bin/env bash
# Fails when the generated operator files differ from what hack/generate.sh
# produces from the current markers: it regenerates into a temporary copy of
# the inputs and diffs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

cp "$ROOT/go.mod" "$ROOT/go.sum" "$TMP/"
mkdir -p "$TMP/operator" "$TMP/manifests" "$TMP/hack"
cp -r "$ROOT/operator/api" "$ROOT/operator/internal" "$TMP/operator/"
cp -r "$ROOT/manifests/crd" "$ROOT/manifests/rbac" "$TMP/manifests/"
# packages the controller imports must resolve inside the copy
cp -r "$ROOT/charts" "$TMP/charts"
[ -d "$ROOT/internal" ] && cp -r "$ROOT/internal" "$TMP/internal"

"$ROOT/hack/generate.sh" "$TMP"

status=0
for p in operator/api/v1alpha1/zz_generated.deepcopy.go manifests/crd manifests/rbac; do
  if ! diff -ruN "$ROOT/$p" "$TMP/$p"; then
    status=1
  fi
done
if [ "$status" -ne 0 ]; then
  echo "verify-generated: generated files are out of date; run hack/generate.sh and commit the result" >&2
  exit 1
fi
echo "verify-generated: operator generated files are up to date"
