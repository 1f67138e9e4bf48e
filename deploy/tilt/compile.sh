#!/usr/bin/env bash
# Compiles the service binaries for Tilt into bin/tilt/ with hack/build.sh
# (the release build). By default inside golang:<go>-bookworm, so the
# binaries link the same glibc as deploy/tilt/Dockerfile on any host (macOS
# included); BOOKSTORE_TILT_COMPILE=host builds on a Linux host directly.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out=bin/tilt
if [ "${BOOKSTORE_TILT_COMPILE:-docker}" = host ]; then
	exec hack/build.sh "$out" services
fi
go_version="$(sed -n 's/^go \([0-9]*\.[0-9]*\).*/\1/p' go.mod)"
exec "${DOCKER:-docker}" run --rm \
	-v "$root:/src" -w /src \
	-v bookstore-go-mod:/go/pkg/mod \
	-v bookstore-go-build:/root/.cache/go-build \
	"golang:${go_version}-bookworm" hack/build.sh "$out" services
