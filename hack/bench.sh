#!/usr/bin/env bash
# `make bench`: load-tests the running `make dev` stack through the gateway and measures
# pgbench (simple-update) on the same PostgreSQL for the same duration as the ceiling.
# Start `make dev` in another terminal first. Tunables (environment):
#   BENCH_DURATION (20s)  BENCH_USERS (50)  BENCH_BOOKS (50)  BENCH_CONCURRENCY (32)
#   BENCH_WARMUP (3s: flat out before measuring; a fresh `make dev` broker's JIT needs minutes
#   of traffic, so the first run after starting `make dev` measures a colder Kafka)
#   BENCH_WAIT (25s: each order is placed with Prefer: wait=25, so its POST answers with the
#   decision; BENCH_ARGS=-prefer=false reads it with GET /api/orders/{id}?wait= instead; 0 polls)
#   BENCH_ARGS (extra flags for bookstore-load, e.g. "-rate 100" instead of -auto)
# It prints, last, the PostgreSQL commits/statements and the CPU (per process tree,
# from /proc) per completed order, and the ratio of completed orders/s to pgbench tps.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

off=${BOOKSTORE_PORT_OFFSET:-0}
PORT=${BOOKSTORE_HTTP_PORT:-$((8080 + off))}
[ -f "$CACHE/devservers.env" ] || die "no dev servers: start \`make dev\` in another terminal first"
source "$CACHE/devservers.env"
wait_port 127.0.0.1 "$PORT" 1 || die "nothing listens on 127.0.0.1:$PORT: start \`make dev\` first"
need pgbench "the commit-rate ceiling (apt-get install postgresql-client)"

# The process trees whose CPU per completed order is reported: the stack's
# servers (from their pid files) and the services and gateway `make dev`
# started from this checkout (found by executable path).
pids=()
state="$CACHE/run/dev"
[ -f "$state/datadir" ] && pg_pid=$(head -1 "$(cat "$state/datadir")/postgres/postmaster.pid" 2>/dev/null) && pids+=("postgres=$pg_pid")
[ -f "$state/kafka.pid" ] && pids+=("kafka=$(cat "$state/kafka.pid")")
[ -f "$state/redis.pid" ] && pids+=("redis=$(cat "$state/redis.pid")")
for exe in /proc/[0-9]*/exe; do
  bin=$(readlink "$exe" 2>/dev/null) || continue
  case "$bin" in
    "$CACHE/dev/bin/"*) p=${exe#/proc/}; pids+=("$(basename "$bin")=${p%/exe}") ;;
  esac
done
cpu_pids=$(IFS=,; echo "${pids[*]}")

mkdir -p "$CACHE/bench"
go build -o "$CACHE/bench/bookstore-load" ./cmd/bookstore-load
# shellcheck disable=SC2086
"$CACHE/bench/bookstore-load" \
  -url "http://127.0.0.1:$PORT" \
  -admin-email "${BOOKSTORE_ADMIN_EMAIL:-admin@bookstore.local}" \
  -admin-password "${BOOKSTORE_ADMIN_PASSWORD:-admin-dev-password}" \
  -duration "${BENCH_DURATION:-20s}" -users "${BENCH_USERS:-50}" -books "${BENCH_BOOKS:-50}" \
  -concurrency "${BENCH_CONCURRENCY:-32}" -wait "${BENCH_WAIT:-25s}" -warmup "${BENCH_WARMUP:-3s}" -cpu-pids "$cpu_pids" \
  -pgbench-dsn "postgres://postgres@127.0.0.1:$BOOKSTORE_PG_PORT/postgres?sslmode=disable" \
  ${BENCH_ARGS:--auto}
