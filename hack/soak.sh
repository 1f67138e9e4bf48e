#!/usr/bin/env bash
# `make soak`: the soak run of issue 13 against the running `make dev` stack (start it first in
# another terminal). bookstore-load measures the maximum for SOAK_PROBE (20s), then places orders
# at half of it for SOAK_DURATION (10m) and prints, per minute, completed/failed/errors and p50/p99
# (placed→final), and per service RSS and goroutines (from its /metrics) at start and end. It exits
# non-zero when any order ended in an error. Bounded: SOAK_PROBE + SOAK_DURATION. Not in CI.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

off=${BOOKSTORE_PORT_OFFSET:-0}
PORT=${BOOKSTORE_HTTP_PORT:-$((8080 + off))}
wait_port 127.0.0.1 "$PORT" 1 || die "nothing listens on 127.0.0.1:$PORT: start \`make dev\` first"
metrics=()
for s in user token inventory order; do
  case $s in user) p=8091 ;; token) p=8092 ;; inventory) p=8093 ;; order) p=8094 ;; esac
  metrics+=("$s=http://127.0.0.1:$((p + off))")
done
mkdir -p "$CACHE/bench"
go build -o "$CACHE/bench/bookstore-load" ./cmd/bookstore-load
"$CACHE/bench/bookstore-load" \
  -url "http://127.0.0.1:$PORT" \
  -admin-email "${BOOKSTORE_ADMIN_EMAIL:-admin@bookstore.local}" \
  -admin-password "${BOOKSTORE_ADMIN_PASSWORD:-admin-dev-password}" \
  -users "${SOAK_USERS:-50}" -books "${SOAK_BOOKS:-50}" -concurrency "${SOAK_CONCURRENCY:-32}" -wait 25s \
  -duration "${SOAK_PROBE:-20s}" -soak "${SOAK_DURATION:-10m}" -metrics "$(IFS=,; echo "${metrics[*]}")"
