#!/usr/bin/env bash
# `make dev`: the whole system as local processes, no Docker needed.
# Starts PostgreSQL, Redis and Kafka (KRaft), creates one database per service, runs the
# migrations (`<service> migrate`), starts the four services and the gateway on
# http://127.0.0.1:${BOOKSTORE_HTTP_PORT:-8080}. A service that dies is restarted with a
# backoff (and a log line). Ctrl-C stops everything. BOOKSTORE_REPLICAS=N (1..4, default 1) runs
# N processes of each service (replica i > 0 on the service's port + 10*i, logs <service>-<i>.log),
# which share their database and consumer group; the gateway spreads requests over them.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

# BOOKSTORE_PORT_OFFSET (default 0) shifts every port, as in hack/servers.sh, so two checkouts can run side by side.
off=${BOOKSTORE_PORT_OFFSET:-0}
[[ "$off" =~ ^[0-9]+$ ]] || die "BOOKSTORE_PORT_OFFSET must be a number, not '$off'"
PORT=${BOOKSTORE_HTTP_PORT:-$((8080 + off))}
REPLICAS=${BOOKSTORE_REPLICAS:-1}
[[ "$REPLICAS" =~ ^[1-4]$ ]] || die "BOOKSTORE_REPLICAS must be 1 to 4, not '$REPLICAS'"
DEV="$CACHE/dev"
mkdir -p "$DEV/bin" "$DEV/logs" "$DEV/jwt"
SERVICES=(user token inventory order)
declare -A SVC_PORT=([user]=$((8091 + off)) [token]=$((8092 + off)) [inventory]=$((8093 + off)) [order]=$((8094 + off)))
PIDS=()
OWN_SERVERS=false

cleanup() {
  trap - EXIT INT TERM
  log "stopping services"
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if $OWN_SERVERS; then "$ROOT/hack/servers.sh" stop dev; fi
}
trap cleanup EXIT INT TERM

# replica_ports SERVICE: the ports of its replicas.
replica_ports() { local i; for ((i = 0; i < REPLICAS; i++)); do echo $((SVC_PORT[$1] + 10 * i)); done; }
# upstreams SERVICE: the gateway's comma-separated URLs of its replicas.
upstreams() { replica_ports "$1" | sed 's|^|http://127.0.0.1:|' | paste -sd, -; }
for p in "$PORT" $(for s in "${SERVICES[@]}"; do replica_ports "$s"; done); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    die "port $p is already in use (is another \`make dev\` running?); set BOOKSTORE_HTTP_PORT for the gateway"
  fi
done

log "building the services"
go build -o "$DEV/bin/" ./cmd/user ./cmd/token ./cmd/inventory ./cmd/order ./cmd/gateway

# Servers left running by someone else are reused and left running.
if ! "$ROOT/hack/servers.sh" status dev >/dev/null 2>&1; then
  OWN_SERVERS=true
  "$ROOT/hack/servers.sh" start dev
fi
source "$CACHE/devservers.env"

# A dev Ed25519 key pair for JWTs (kept across runs; on Kubernetes it comes from a Secret).
if [ ! -f "$DEV/jwt/private.pem" ]; then
  need openssl "generates the dev JWT signing key"
  openssl genpkey -algorithm ED25519 -out "$DEV/jwt/private.pem"
  openssl pkey -in "$DEV/jwt/private.pem" -pubout -out "$DEV/jwt/public.pem"
fi

export BOOKSTORE_REDIS_URL="redis://127.0.0.1:$BOOKSTORE_REDIS_PORT/0"
export BOOKSTORE_KAFKA_BROKERS="127.0.0.1:$BOOKSTORE_KAFKA_PORT"
export BOOKSTORE_JWT_PUBLIC_KEY_FILE="$DEV/jwt/public.pem"
export BOOKSTORE_ADMIN_EMAIL="${BOOKSTORE_ADMIN_EMAIL:-admin@bookstore.local}"
export BOOKSTORE_ADMIN_PASSWORD="${BOOKSTORE_ADMIN_PASSWORD:-admin-dev-password}"
export BOOKSTORE_INVENTORY_URL="http://127.0.0.1:${SVC_PORT[inventory]}"
# The gateway (127.0.0.1) sets X-Forwarded-For; every dev client is on loopback, so the
# per-client login/register limits are raised for `make bench` (per-account ones stay).
export BOOKSTORE_TRUSTED_PROXIES="${BOOKSTORE_TRUSTED_PROXIES:-127.0.0.1}"
export BOOKSTORE_LOGIN_LIMIT_CLIENT="${BOOKSTORE_LOGIN_LIMIT_CLIENT:-1000/1m}"
export BOOKSTORE_REGISTER_LIMIT_CLIENT="${BOOKSTORE_REGISTER_LIMIT_CLIENT:-1000/1m}"

for s in "${SERVICES[@]}"; do
  db="bookstore_$s"
  psql -q -h 127.0.0.1 -p "$BOOKSTORE_PG_PORT" -U postgres -d postgres -tc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 \
    || psql -q -h 127.0.0.1 -p "$BOOKSTORE_PG_PORT" -U postgres -d postgres -c "CREATE DATABASE $db" >/dev/null
  BOOKSTORE_DATABASE_URL="postgres://postgres@127.0.0.1:$BOOKSTORE_PG_PORT/$db?sslmode=disable" \
    "$DEV/bin/$s" migrate 2>>"$DEV/logs/$s.log" || die "migrations of $s failed (see $DEV/logs/$s.log)"
done
log "migrations applied"

# supervise NAME CMD...: runs CMD (output to logs/NAME.log) and, like Kubernetes and compose,
# restarts it when it dies, with a log line and a backoff of 1 s doubling to 30 s (back to 1 s
# after a minute of running). TERM (Ctrl-C, cleanup) stops the command and its supervisor.
supervise() {
  local name=$1; shift
  (
    child=0
    trap 'kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' TERM INT
    backoff=1
    while true; do
      started=$SECONDS
      "$@" >>"$DEV/logs/$name.log" 2>&1 &
      child=$!
      wait "$child" && rc=0 || rc=$?
      [ $((SECONDS - started)) -ge 60 ] && backoff=1
      log "$name exited with status $rc; restarting it in ${backoff}s (see $DEV/logs/$name.log)"
      sleep "$backoff" &
      child=$!
      wait "$child" || true
      backoff=$((backoff * 2 > 30 ? 30 : backoff * 2))
    done
  ) &
  PIDS+=($!)
}

# No load balancer in front of the dev processes: stop at once on Ctrl-C (see BOOKSTORE_SHUTDOWN_DELAY).
export BOOKSTORE_SHUTDOWN_DELAY="${BOOKSTORE_SHUTDOWN_DELAY:-0s}"
for s in "${SERVICES[@]}"; do
  extra=()
  [ "$s" = user ] && extra=(BOOKSTORE_JWT_PRIVATE_KEY_FILE="$DEV/jwt/private.pem")
  # Each service is its own Kafka user (hack/servers.sh made the users and their ACLs); the
  # password goes through the environment, never a command line.
  pw_var="BOOKSTORE_TEST_KAFKA_${s^^}_PASSWORD"
  i=0
  for p in $(replica_ports "$s"); do
    name=$s; [ "$i" -gt 0 ] && name=$s-$i
    BOOKSTORE_KAFKA_SASL_USERNAME="$s" BOOKSTORE_KAFKA_SASL_PASSWORD="${!pw_var}" \
    supervise "$name" env BOOKSTORE_HTTP_ADDR="127.0.0.1:$p" \
      BOOKSTORE_DATABASE_URL="postgres://postgres@127.0.0.1:$BOOKSTORE_PG_PORT/bookstore_$s?sslmode=disable" \
      "${extra[@]}" "$DEV/bin/$s"
    i=$((i + 1))
  done
done
supervise gateway env BOOKSTORE_HTTP_ADDR="127.0.0.1:$PORT" \
  BOOKSTORE_GATEWAY_USER_URL="$(upstreams user)" BOOKSTORE_GATEWAY_TOKEN_URL="$(upstreams token)" \
  BOOKSTORE_GATEWAY_INVENTORY_URL="$(upstreams inventory)" BOOKSTORE_GATEWAY_ORDER_URL="$(upstreams order)" \
  "$DEV/bin/gateway"

for s in "${SERVICES[@]}"; do
  for p in $(replica_ports "$s"); do
    deadline=$((SECONDS + 60))
    until curl -fsS "http://127.0.0.1:$p/readyz" >/dev/null 2>&1; do
      [ $SECONDS -ge $deadline ] && die "$s on :$p is not ready after 60s (see $DEV/logs/)"
      sleep 0.3
    done
  done
done
wait_port 127.0.0.1 "$PORT" 10 || die "the gateway is not listening on $PORT (see $DEV/logs/gateway.log)"

cat <<INFO

  Bookstore is running: http://127.0.0.1:$PORT   (the storefront; log in with the admin account below)
    API:        /api/users  /api/tokens  /api/books  /api/orders
    Swagger UI: http://127.0.0.1:$PORT/docs/user/swagger/   .../docs/token/swagger/   .../docs/inventory/swagger/   .../docs/order/swagger/
    Admin:      $BOOKSTORE_ADMIN_EMAIL / $BOOKSTORE_ADMIN_PASSWORD   (dev values; override with BOOKSTORE_ADMIN_EMAIL/PASSWORD)
    Services:   user :${SVC_PORT[user]}  token :${SVC_PORT[token]}  inventory :${SVC_PORT[inventory]}  order :${SVC_PORT[order]}  (each has /healthz /readyz /metrics; $REPLICAS replica(s) each, replica i on +10*i)
    Servers:    postgres 127.0.0.1:$BOOKSTORE_PG_PORT  redis 127.0.0.1:$BOOKSTORE_REDIS_PORT  kafka 127.0.0.1:$BOOKSTORE_KAFKA_PORT
    Logs:       $DEV/logs/

  Ctrl-C stops everything.
INFO

# A process that dies is restarted by its supervisor; Ctrl-C stops everything.
wait "${PIDS[@]}" || true
