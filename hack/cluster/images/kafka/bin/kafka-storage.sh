#!/bin/bash
# kafka-storage.sh format|info|random-uuid ...: KRaft storage tool, as Apache Kafka's script of the same name.
exec "$(dirname "$0")/kafka-run-class.sh" kafka.tools.StorageTool "$@"
