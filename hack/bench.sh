#!/usr/bin/env bash
# `make bench`: load-tests the running `make dev` stack through the gateway and measures
# pgbench (simple-update) on the same PostgreSQL for the same duration as the ceiling.
# Start `make dev` in another terminal first. Tunables (environment):
#   BENCH_DURATION (20s)  BENCH_USERS (50)  BENCH_BOOKS (50)  BENCH_CONCURRENCY (32)
#   BENCH_ARGS (extra flags for bookstore-load, e.g. "-rate 100" instead of -auto)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

PORT=${BOOKSTORE_HTTP_PORT:-8080}
[ -f "$CACHE/devservers.env" ] || die "no dev servers: start \`make dev\` in another terminal first"
source "$CACHE/devservers.env"
wait_port 127.0.0.1 "$PORT" 1 || die "nothing listens on 127.0.0.1:$PORT: start \`make dev\` first"
need pgbench "the commit-rate ceiling (apt-get install postgresql-client)"

mkdir -p "$CACHE/bench"
go build -o "$CACHE/bench/bookstore-load" ./cmd/bookstore-load
# shellcheck disable=SC2086
"$CACHE/bench/bookstore-load" \
  -url "http://127.0.0.1:$PORT" \
  -admin-email "${BOOKSTORE_ADMIN_EMAIL:-admin@bookstore.local}" \
  -admin-password "${BOOKSTORE_ADMIN_PASSWORD:-admin-dev-password}" \
  -duration "${BENCH_DURATION:-20s}" -users "${BENCH_USERS:-50}" -books "${BENCH_BOOKS:-50}" \
  -concurrency "${BENCH_CONCURRENCY:-32}" \
  -pgbench-dsn "postgres://postgres@127.0.0.1:$BOOKSTORE_PG_PORT/postgres?sslmode=disable" \
  ${BENCH_ARGS:--auto}
