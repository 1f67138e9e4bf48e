#!/bin/bash
# kafka-server-start.sh server.properties [--override k=v ...]: starts a Kafka
# node in the foreground, as Apache Kafka's script of the same name.
[ $# -ge 1 ] || { echo "USAGE: $0 server.properties [--override property=value]*" >&2; exit 1; }
export KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx1G -Xms1G}"
exec "$(dirname "$0")/kafka-run-class.sh" kafka.Kafka "$@"
