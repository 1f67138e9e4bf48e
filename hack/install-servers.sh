#!/usr/bin/env bash
# Installs the servers the tests and `make dev` run as local processes:
# PostgreSQL and Redis from Debian's packages, Apache Kafka (KRaft) as jars from Maven Central.
# Idempotent: what is installed already is left alone.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

apt_install "postgresql-$POSTGRES_MAJOR" redis-server
[ -x "$PG_BIN/initdb" ] || die "PostgreSQL $POSTGRES_MAJOR not found in $PG_BIN (package postgresql-$POSTGRES_MAJOR)"
need redis-server "Debian package redis-server"
need java "a Java 17+ runtime for Kafka $KAFKA_VERSION"

# kafka-tools (AclCommand: the operator's start script runs kafka-acls.sh, tested against these
# jars) came later: a cache without it is completed in place (a running broker keeps its jars).
if [ ! -f "$KAFKA_HOME/.complete" ] || [ ! -f "$KAFKA_HOME/libs/kafka-tools-$KAFKA_VERSION.jar" ]; then
  need mvn "Apache Maven resolves the Kafka jars from Maven Central"
  log "resolving Apache Kafka $KAFKA_VERSION (Scala $KAFKA_SCALA) from Maven Central"
  [ -f "$KAFKA_HOME/.complete" ] || rm -rf "$KAFKA_HOME"
  mkdir -p "$KAFKA_HOME/libs"
  mvn -q -B -f "$ROOT/hack/kafka/pom.xml" dependency:copy-dependencies \
    -Dkafka.version="$KAFKA_VERSION" -Dscala.binary="$KAFKA_SCALA" \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_HOME/libs" >&2 \
    || die "could not resolve org.apache.kafka:kafka_$KAFKA_SCALA:$KAFKA_VERSION from Maven Central"
  [ -f "$KAFKA_HOME/libs/kafka_$KAFKA_SCALA-$KAFKA_VERSION.jar" ] || die "kafka_$KAFKA_SCALA-$KAFKA_VERSION.jar missing after resolution"
  touch "$KAFKA_HOME/.complete"
fi
log "servers installed: PostgreSQL $POSTGRES_MAJOR, $(redis-server --version | cut -d' ' -f3), Kafka $KAFKA_VERSION"
