#!/usr/bin/env bash
# The one place the release binaries are built: the Dockerfile runs it inside
# the golang:bookworm builder, CI (make test) runs it on the host, so CI proves
# the image binaries compile with exactly the image's flags.
#
#   hack/build.sh <outdir> [services|operator|all]   (default: all)
#
# services: user token inventory order gateway - cgo on (confluent-kafka-go
#           links its bundled librdkafka, built against glibc: no musl tag).
# operator: bookstore-operator - pure Go, CGO_ENABLED=0.
set -euo pipefail
out="${1:?usage: hack/build.sh <outdir> [services|operator|all]}"
what="${2:-all}"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p "$out"
out="$(cd "$out" && pwd)"

flags=(-trimpath -buildvcs=false -ldflags="-s -w")

build_services() {
	CGO_ENABLED=1 go build "${flags[@]}" -o "$out/" \
		./cmd/user ./cmd/token ./cmd/inventory ./cmd/order ./cmd/gateway
}

build_operator() {
	CGO_ENABLED=0 go build "${flags[@]}" -o "$out/bookstore-operator" ./operator/cmd
}

case "$what" in
services) build_services ;;
operator) build_operator ;;
all) build_services && build_operator ;;
*) echo "hack/build.sh: unknown target $what (services|operator|all)" >&2; exit 2 ;;
esac
