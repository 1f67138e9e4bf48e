#!/usr/bin/env bash
# `make faults`: the real-process fault harness (faults/, docs/reliability.md). Builds the
# service binaries (hack/build.sh, as make test does: cached), starts fresh PostgreSQL, Redis
# and Kafka (hack/servers.sh start faults), and runs the harness: the four services and the
# gateway as processes under ~10 orders/s, killed, terminated and restarted, the servers
# crashed and restarted, the invariants checked after each scenario. Budget: about 5 minutes
# warm. Stops every process it started. Extra arguments go to `go test` (e.g. -run TestFaults/kill).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

t0=$SECONDS
"$ROOT/hack/install-servers.sh"
log "building the service binaries into .cache/build"
nice -n 10 "$ROOT/hack/build.sh" "$CACHE/build" services
# Each run starts from empty servers: earlier topics or dead letters would prove nothing.
if "$ROOT/hack/servers.sh" status faults >/dev/null 2>&1; then "$ROOT/hack/servers.sh" stop faults; fi
trap '"$ROOT/hack/servers.sh" stop faults' EXIT
"$ROOT/hack/servers.sh" start faults
source "$CACHE/faultsservers.env"
log "fault harness (servers up after $((SECONDS - t0))s)"
BOOKSTORE_FAULTS_BIN="$CACHE/build" nice -n 10 go test -tags faults -count=1 -v -timeout 20m ./faults/ "$@"
log "make faults finished in $((SECONDS - t0))s (matrix: .cache/faults/matrix.md, logs: .cache/faults/logs/)"
