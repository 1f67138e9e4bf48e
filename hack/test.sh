#!/usr/bin/env bash
# `make test`: installs what the tests need, starts real servers as local processes,
# runs go vet and every Go test (unit, integration, envtest), stops the servers.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

t0=$SECONDS
"$ROOT/hack/install-servers.sh"
# The storefront's browser test (services/e2e/storefront_test.go) drives Debian's Chromium
# headless; without it that test skips (and fails with CI=true).
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt_install chromium
  else log "chromium is not installed: the storefront's browser test will skip (sudo apt-get install chromium)"; fi
fi
"$ROOT/hack/install-tools.sh" >&2
"$ROOT/hack/install-k8s.sh" >&2
"$ROOT/hack/install-haproxy-ingress.sh" >&2 # the entry-point controller (charts/controller_test.go)
log "tools and servers installed in $((SECONDS - t0))s"

# Servers someone else started (a developer's open session) are reused and left running;
# servers started here are stopped on exit, leaving no process behind.
if "$ROOT/hack/servers.sh" status test >/dev/null 2>&1; then
  log "reusing the running test servers"
else
  trap '"$ROOT/hack/servers.sh" stop test' EXIT
  "$ROOT/hack/servers.sh" start test
fi
source "$CACHE/testservers.env"
export KUBEBUILDER_ASSETS="$KUBE_ASSETS"
export TMPDIR="${TMPDIR:-/tmp}"

log "gofmt"
bad=$(gofmt -l $(git ls-files '*.go') 2>/dev/null || true)
[ -z "$bad" ] || die "not gofmt-clean: $bad"
log "go vet ./..."
go vet ./...
log "golangci-lint (.golangci.yml)"
GOLANGCI_LINT_CACHE="$CACHE/golangci-lint" "$ROOT/bin/golangci-lint" run --timeout 15m ./...
if [ -x "$ROOT/hack/verify-generated.sh" ]; then
  log "generated code up to date"
  "$ROOT/hack/verify-generated.sh"
fi
if [ -x "$ROOT/hack/build.sh" ]; then
  log "image binaries compile (hack/build.sh, the same build the Dockerfile runs)"
  "$ROOT/hack/build.sh" "$CACHE/build"
fi

log "go test ./..."
# Two packages at a time: the machine has 2 cores and the integration tests share servers.
"$ROOT/bin/gotestsum" --format pkgname-and-test-fails --jsonfile "$CACHE/test.json" -- \
  -count=1 -p 2 -timeout 20m ./... "$@"

log "fuzz targets, ${FUZZTIME:-200x} each (hack/fuzz.sh; FUZZTIME=0 skips)"
"$ROOT/hack/fuzz.sh"

log "Go benchmarks of the hot paths, one iteration each (they must keep compiling and running)"
go test -count=1 -run '^$' -bench . -benchtime 1x ./internal/platform/auth/ ./internal/gateway/ ./internal/platform/events/
