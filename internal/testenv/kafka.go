package testenv

import (
	"os"
	"strings"
	"testing"

	"github.com/bookstore-platform/bookstore/internal/platform/config"
)

// Kafka credentials written by hack/servers.sh: the super user, and each
// service's own user (BOOKSTORE_TEST_KAFKA_<SERVICE>_PASSWORD; its name is
// the service's name).
const (
	EnvKafkaUsername = "BOOKSTORE_TEST_KAFKA_SASL_USERNAME"
	EnvKafkaPassword = "BOOKSTORE_TEST_KAFKA_SASL_PASSWORD"
)

// KafkaConfig returns the connection settings of the test Kafka as its
// super user (tests create their own prefixed topics and groups). The
// Docker fallback runs Kafka without authentication.
func KafkaConfig(t testing.TB, partitions int) config.Kafka {
	t.Helper()
	k := config.Kafka{Brokers: []string{Kafka(t)}, TopicPartitions: partitions, TopicReplication: 1}
	if u := os.Getenv(EnvKafkaUsername); u != "" {
		withSASL(&k, u, os.Getenv(EnvKafkaPassword))
	}
	return k
}

// KafkaServiceConfig returns the settings of service's own Kafka user, which
// the ACLs of internal/platform/kafkaacl bind (for prefixed topics the test
// creates them with events.ApplyACLs). Skips (fails with CI=true) when the
// servers were not started by hack/servers.sh.
func KafkaServiceConfig(t testing.TB, service string, partitions int) config.Kafka {
	t.Helper()
	k := config.Kafka{Brokers: []string{Kafka(t)}, TopicPartitions: partitions, TopicReplication: 1}
	pw := os.Getenv("BOOKSTORE_TEST_KAFKA_" + strings.ToUpper(service) + "_PASSWORD")
	if pw == "" {
		missing(t, "Kafka user "+service, "no BOOKSTORE_TEST_KAFKA_"+strings.ToUpper(service)+"_PASSWORD")
	}
	withSASL(&k, service, pw)
	return k
}

func withSASL(k *config.Kafka, user, password string) {
	k.SecurityProtocol, k.SASLMechanism = "SASL_PLAINTEXT", "SCRAM-SHA-512"
	k.SASLUsername, k.SASLPassword = user, password
}
