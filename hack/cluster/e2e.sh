#!/usr/bin/env bash
# `make e2e`: make cluster-up, the end-to-end tests of e2e/cluster (build tag
# e2e) against its KUBECONFIG and BOOKSTORE_URL, make cluster-down, the last
# also when a step fails. E2E_KEEP=1 keeps the cluster for a look; E2E_RUN=<regexp>
# runs only the matching tests (go test -run). docs/e2e.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$ROOT/hack/cluster/lib.sh"
cd "$ROOT"
t0=$SECONDS
down() {
  local rc=$?
  if [ "${E2E_KEEP:-}" = 1 ]; then
    log "E2E_KEEP=1: the cluster keeps running (make cluster-down)"
  else
    bash "$ROOT/hack/cluster/down.sh" || rc=1
  fi
  log "make e2e finished in $((SECONDS - t0))s (rc $rc)"
  exit $rc
}
trap down EXIT
bash "$ROOT/hack/cluster/up.sh"
up=$((SECONDS - t0))
log "cluster up in ${up}s; go test -tags e2e ./e2e/..."
set -a
# shellcheck disable=SC1090
source "$CL_ENV"
set +a
go vet -tags e2e ./e2e/...
if ! go test -tags e2e -count=1 -p 1 -timeout 30m -v ${E2E_RUN:+-run "$E2E_RUN"} ./e2e/... "$@" 2>&1 | tee "$CACHE/e2e.log"; then
  diagnose
  exit 1
fi
log "tests done in $((SECONDS - t0 - up))s"
