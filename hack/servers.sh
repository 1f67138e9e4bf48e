#!/usr/bin/env bash
# Starts and stops real PostgreSQL, Redis and Kafka (KRaft) as local processes on 127.0.0.1.
#
#   hack/servers.sh start|stop|status [test|dev|faults]
#   hack/servers.sh kill|revive postgres|redis|kafka [test|dev|faults]
#
# Profile "test" (default) uses ports 55432/56379/59092 and writes .cache/testservers.env;
# profile "dev" uses 54432/54379/54092 and writes .cache/devservers.env; profile "faults"
# (make faults) uses 53432/53379/53092 and writes .cache/faultsservers.env. Data lives in a
# temporary directory that `stop` removes; no process is left behind.
# `kill` crashes one running server (SIGKILL; PostgreSQL: `pg_ctl -m immediate`) and `revive`
# starts it again on the same data (the fault harness, faults/, injects faults this way).
# BOOKSTORE_PORT_OFFSET (default 0) shifts every port, e.g. to run two checkouts side by side.
# Kafka authenticates every client (SASL/SCRAM-SHA-512, passwords generated at each start) and
# authorizes it with the ACLs of internal/platform/kafkaacl: the env file holds the super user
# (admin, for tests that make their own topics) and each service's own user.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

cmd=${1:-status}
profile=${2:-test}
server=""
if [ "$cmd" = kill ] || [ "$cmd" = revive ]; then server=${2:-}; profile=${3:-test}; fi
case "$profile" in
  test) PG_PORT=55432 REDIS_PORT=56379 KAFKA_PORT=59092 KAFKA_CTRL_PORT=59093 ;;
  dev)  PG_PORT=54432 REDIS_PORT=54379 KAFKA_PORT=54092 KAFKA_CTRL_PORT=54093 ;;
  faults) PG_PORT=53432 REDIS_PORT=53379 KAFKA_PORT=53092 KAFKA_CTRL_PORT=53093 ;;
  *) die "unknown profile '$profile' (test, dev or faults)" ;;
esac
off=${BOOKSTORE_PORT_OFFSET:-0}
[[ "$off" =~ ^[0-9]+$ ]] || die "BOOKSTORE_PORT_OFFSET must be a number, not '$off'"
PG_PORT=$((PG_PORT + off)) REDIS_PORT=$((REDIS_PORT + off)) KAFKA_PORT=$((KAFKA_PORT + off)) KAFKA_CTRL_PORT=$((KAFKA_CTRL_PORT + off))
STATE="$CACHE/run/$profile"
ENV_FILE="$CACHE/${profile}servers.env"

as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# die_log LOG MESSAGE: die, printing LOG's last lines first. Callers that stop the servers on
# exit (make test, make faults) remove the data directory, and the log with it.
die_log() { tail -n 20 "$1" >&2 2>/dev/null || true; die "$2 (the last lines of $1 are above)"; }

start_postgres() {
  local dir="$DATA/postgres"
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
  as_postgres "$PG_BIN/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --no-instructions >"$DATA/initdb.log" 2>&1 \
    || die_log "$DATA/initdb.log" "initdb failed"
  revive_postgres
}

# revive_postgres starts PostgreSQL on its existing data directory (after a crash: WAL replay).
revive_postgres() {
  local dir="$DATA/postgres" extra=()
  # Tests throw their data away: durability settings off make them faster. The fault
  # harness keeps them on (a crash must lose nothing committed).
  # `make dev` keeps them on and loads pg_stat_statements, which `make bench` reads (statements per order).
  case "$profile" in
    test) extra=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off) ;;
    dev) extra=(-c shared_preload_libraries=pg_stat_statements) ;;
  esac
  as_postgres "$PG_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start -o \
    "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $dir -c max_connections=400 -c shared_buffers=256MB ${extra[*]}" >/dev/null \
    || die_log "$dir/server.log" "PostgreSQL did not start"
}

# kill_postgres: an immediate shutdown (every backend dies at once, no checkpoint: like a crash).
kill_postgres() {
  as_postgres "$PG_BIN/pg_ctl" -D "$DATA/postgres" -m immediate -w -t 30 stop >/dev/null || die "pg_ctl -m immediate stop failed"
}

start_redis() { revive_redis; }

kill_redis() { kill_pidfile "$STATE/redis.pid"; }
kill_kafka() { kill_pidfile "$STATE/kafka.pid"; }

# kill_pidfile FILE: SIGKILL the process and wait until it is gone.
kill_pidfile() {
  pid_alive "$1" || die "no live process in $1"
  local pid; pid=$(cat "$1")
  kill -9 "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  die "process $pid survived SIGKILL"
}

# revive_redis starts Redis on its data directory: it loads the append-only file.
revive_redis() {
  # AOF (fsync every second): revoked token ids survive a Redis crash or restart; every
  # deployment path runs Redis this way (docker-compose.yml, the operator's managed Redis).
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec \
    --daemonize yes --pidfile "$STATE/redis.pid" --logfile "$DATA/redis.log" --dir "$DATA" \
    || die_log "$DATA/redis.log" "redis-server did not start"
  wait_port 127.0.0.1 "$REDIS_PORT" 10 || die "Redis is not listening on $REDIS_PORT"
}

KAFKA_USERS=(user token inventory order)

# gen_password: 24 random characters of [A-Za-z0-9] (no quoting needed anywhere).
gen_password() { head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24; }

start_kafka() {
  [ -f "$KAFKA_HOME/.complete" ] || die "Kafka $KAFKA_VERSION is not installed: run hack/install-servers.sh"
  local dir="$DATA/kafka"
  mkdir -p "$dir/logs"
  ADMIN_PW=$(gen_password) CTRL_PW=$(gen_password)
  declare -gA KAFKA_PW=()
  local scram=(--add-scram "SCRAM-SHA-512=[name=admin,password=$ADMIN_PW]")
  for u in "${KAFKA_USERS[@]}"; do
    KAFKA_PW[$u]=$(gen_password)
    scram+=(--add-scram "SCRAM-SHA-512=[name=$u,password=${KAFKA_PW[$u]}]")
  done
  # Clients (and the broker itself) use SCRAM on BROKER; the controller listener, on loopback,
  # uses PLAIN with a static user (SCRAM credentials live in the metadata the controller serves).
  ( umask 077; cat >"$DATA/kafka.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CTRL_PORT
listeners=BROKER://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CTRL_PORT
advertised.listeners=BROKER://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=BROKER
listener.security.protocol.map=BROKER:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.broker.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.broker.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$ADMIN_PW";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$CTRL_PW" user_admin="$CTRL_PW";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin
log.dirs=$dir/data
auto.create.topics.enable=false
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
  )
  cat >"$DATA/log4j2.properties" <<PROPS
rootLogger.level=INFO
rootLogger.appenderRef.file.ref=file
appender.file.type=File
appender.file.name=file
appender.file.fileName=$DATA/kafka.log
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
PROPS
  local java; kafka_java
  "${java[@]}" kafka.tools.StorageTool format -t "bookstore-$profile-cluster0" -c "$DATA/kafka.properties" "${scram[@]}" >"$DATA/kafka-format.log" 2>&1 \
    || die_log "$DATA/kafka-format.log" "formatting Kafka storage failed"
  revive_kafka
  # The services' ACLs, once (they live in the metadata log, kept across a revive). Unprefixed
  # topics: make dev; the e2e harness's services use prefixes and add theirs (events.ApplyACLs).
  local acls="$CACHE/bin/bookstore-kafka-acls"
  (cd "$ROOT" && go build -o "$acls" ./cmd/bookstore-kafka-acls) || die "building cmd/bookstore-kafka-acls failed"
  BOOKSTORE_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT" BOOKSTORE_KAFKA_SASL_USERNAME=admin BOOKSTORE_KAFKA_SASL_PASSWORD="$ADMIN_PW" \
    "$acls" >"$DATA/kafka-acls.log" 2>&1 || die_log "$DATA/kafka-acls.log" "creating the Kafka ACLs failed"
}

# kafka_java sets the array java to the broker's JVM command. Test servers stop the JIT at C1:
# they start faster and live for one suite. The dev stack (make dev, make bench) gets the full JIT:
# C1-only code costs the broker several times more CPU per message under load.
kafka_java() {
  java=(java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true)
  [ "$profile" = dev ] || java+=(-XX:TieredStopAtLevel=1)
  java+=("-Dlog4j2.configurationFile=$DATA/log4j2.properties" -cp "$KAFKA_HOME/libs/*")
}

# revive_kafka starts the broker on its existing log dirs and waits until it has started.
revive_kafka() {
  local java; kafka_java
  local started; started=$(grep -c "Kafka Server started" "$DATA/kafka.log" 2>/dev/null || true)
  nohup "${java[@]}" kafka.Kafka "$DATA/kafka.properties" >>"$DATA/kafka.out" 2>&1 &
  echo $! >"$STATE/kafka.pid"
  # Bounds of 180 s: on a loaded 2-core machine the JVM has taken more than 60 s to listen.
  wait_port 127.0.0.1 "$KAFKA_PORT" 180 || die_log "$DATA/kafka.log" "Kafka is not listening on $KAFKA_PORT"
  # The port opens before the broker has registered with the controller; wait for that line.
  local deadline=$((SECONDS + 180))
  until [ "$(grep -c "Kafka Server started" "$DATA/kafka.log" 2>/dev/null || true)" -gt "${started:-0}" ]; do
    [ $SECONDS -ge $deadline ] && die_log "$DATA/kafka.log" "Kafka did not finish starting"
    pid_alive "$STATE/kafka.pid" || { tail -n 20 "$DATA/kafka.out" >&2 2>/dev/null; die_log "$DATA/kafka.log" "Kafka exited"; }
    sleep 0.2
  done
}

do_start() {
  if [ -f "$STATE/datadir" ]; then
    if pid_alive "$STATE/kafka.pid" && pid_alive "$STATE/redis.pid"; then
      log "$profile servers already running ($ENV_FILE)"; return 0
    fi
    log "stale $profile servers found: stopping them first"; do_stop
  fi
  [ -x "$PG_BIN/pg_ctl" ] && command -v redis-server >/dev/null && [ -f "$KAFKA_HOME/.complete" ] \
    || "$ROOT/hack/install-servers.sh"
  for p in "$PG_PORT" "$REDIS_PORT" "$KAFKA_PORT" "$KAFKA_CTRL_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      die "port $p is already in use by a process this script did not start (a server left over from an earlier run? see: ss -ltnp | grep :$p)"
    fi
  done
  mkdir -p "$STATE"
  DATA=$(mktemp -d "${TMPDIR:-/tmp}/bookstore-$profile-XXXXXX")
  chmod 755 "$DATA"
  echo "$DATA" >"$STATE/datadir"
  local t0=$SECONDS
  start_postgres
  start_redis
  start_kafka
  local kube_assets=""
  [ -x "$KUBE_ASSETS/kube-apiserver" ] && kube_assets="$KUBE_ASSETS"
  local kafka_users=""
  for u in "${KAFKA_USERS[@]}"; do kafka_users+="export BOOKSTORE_TEST_KAFKA_${u^^}_PASSWORD=${KAFKA_PW[$u]}"$'\n'; done
  ( umask 077; cat >"$ENV_FILE" <<ENV
export BOOKSTORE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable
export BOOKSTORE_TEST_REDIS_ADDR=127.0.0.1:$REDIS_PORT
export BOOKSTORE_TEST_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
export BOOKSTORE_TEST_KAFKA_SASL_USERNAME=admin
export BOOKSTORE_TEST_KAFKA_SASL_PASSWORD=$ADMIN_PW
${kafka_users}export BOOKSTORE_PG_PORT=$PG_PORT
export BOOKSTORE_REDIS_PORT=$REDIS_PORT
export BOOKSTORE_KAFKA_PORT=$KAFKA_PORT
${kube_assets:+export KUBEBUILDER_ASSETS=$kube_assets}
ENV
  )
  log "$profile servers up in $((SECONDS - t0))s: postgres 127.0.0.1:$PG_PORT, redis 127.0.0.1:$REDIS_PORT, kafka 127.0.0.1:$KAFKA_PORT (env: $ENV_FILE)"
}

do_stop() {
  [ -f "$STATE/datadir" ] || { log "$profile servers are not running"; return 0; }
  DATA=$(cat "$STATE/datadir")
  if pid_alive "$STATE/kafka.pid"; then
    local pid; pid=$(cat "$STATE/kafka.pid"); kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  if pid_alive "$STATE/redis.pid"; then
    local pid; pid=$(cat "$STATE/redis.pid"); kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  if [ -f "$DATA/postgres/postmaster.pid" ]; then
    as_postgres "$PG_BIN/pg_ctl" -D "$DATA/postgres" -m fast -w -t 30 stop >/dev/null 2>&1 \
      || kill -9 "$(head -1 "$DATA/postgres/postmaster.pid")" 2>/dev/null || true
  fi
  rm -rf "$DATA" "$STATE" "$ENV_FILE"
  log "$profile servers stopped"
}

case "$cmd" in
  start) do_start ;;
  kill|revive)
    [ -f "$STATE/datadir" ] || die "$profile servers are not running"
    DATA=$(cat "$STATE/datadir")
    case "$server" in postgres|redis|kafka) "${cmd}_$server" ;; *) die "usage: hack/servers.sh $cmd postgres|redis|kafka [profile]" ;; esac ;;
  stop) do_stop ;;
  status)
    if [ -f "$STATE/datadir" ] && pid_alive "$STATE/kafka.pid"; then cat "$ENV_FILE"; else log "$profile servers are not running"; exit 1; fi ;;
  *) die "usage: hack/servers.sh start|stop|status [test|dev]" ;;
esac
