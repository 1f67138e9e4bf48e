#!/bin/bash
# kafka-acls.sh --bootstrap-server ... --command-config ... --add|--list ...: ACL tool, as Apache Kafka's script of the same name
# (the operator's managed-Kafka start.sh adds the services' ACLs with it; kafka-tools jar from hack/kafka/pom.xml).
exec "$(dirname "$0")/kafka-run-class.sh" org.apache.kafka.tools.AclCommand "$@"
